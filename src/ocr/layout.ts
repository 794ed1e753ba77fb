// Classical layout analysis for printed text: find the text lines of an image, in reading order,
// and cut each into crops that a line-reading model (32×384-style input) reads well. Pure
// JavaScript over RawImage pixels, so the browser runs the same code.
//
// Why these steps:
// - Lines are found from *horizontal* intensity steps (|dx|), not from a binarised image. Text
//   has many vertical stroke edges in every row it occupies, whatever its colour or its
//   background's; the top and bottom of a filled box, a rule or a coloured header bar have none,
//   so dark bars, buttons and mixed-polarity pages need no global threshold.
// - The row profile of those edges gives bands; tall bands made of two touching lines are split
//   at a valley between two dense parts; thin bands (an i's dot, an accent, an underscore) join
//   their neighbour.
// - Each band is binarised on its own (Otsu) and its polarity read from its border rows, which
//   are background: light text on dark comes out dark on white, as the models were trained.
// - A line far wider than the model's input would be shrunk to illegibility, so it is cut at
//   its widest gaps into chunks of at most `maxAspect` width/height, which the reader joins
//   (see joints below). A receipt row with its price far right stays one line, but is read
//   as two chunks: a gap of two line heights is a column's, never a word's, and a model trained
//   on running text writes something into such a gap ("Region - Norway").
// - A cut is not always a space: a URL or an e-mail address wider than maxAspect has no space to
//   cut at, so it is cut at its widest gap between letters, and joining its chunks with a space
//   wrote "harborstack .dev" (13 of the 61 wrong lines of one held-out set). Gap widths cannot
//   tell: between words they measured 0.25–0.64 line heights, inside those addresses 0.21–0.46.
//   So each such cut also gets a joint, a small crop around the gap, and the reader lets the
//   model say what the gap holds: a space, nothing, or a thin mark that is in neither chunk (a
//   hyphen has no vertical strokes, so it is no segment of its own: "oakridge-clinic" was read
//   "oakridge" + "clinic").

import { RawImage } from '../processing/image.js';
import { clearVerticalRuns, textRegions } from './columns.js';

export type Box = [x0: number, y0: number, x1: number, y1: number];

export interface TextLine {
  /** The line's ink, [x0, y0, x1, y1) in image pixels. */
  box: Box;
  /** Pieces of the line, left to right, each at most maxAspect wide (in units of the line's height). */
  chunks: Box[];
  /**
   * Between chunks k and k+1: null at a column gap (surely a space), else a crop across the gap
   * whose reading says what is in it. Absent: all spaces.
   */
  joints?: Array<Joint | null>;
  /** Light text on a dark background (the crops are inverted). */
  inverted: boolean;
  /** The text's slope, dy/dx (a scan or photo a degree or two off); its crops are levelled. 0 when level. */
  skew: number;
}

/** A crop across the gap where a line was cut, read to learn what the gap holds. */
export interface Joint {
  box: Box;
  /**
   * The gap is a line height or wider: a space unless a mark is read in it. Across such a gap
   * small text's joints were read without a space ("thehad") where there is one.
   */
  wide: boolean;
  /** Where the cut's middle lies across the box, from 0 (left end) to 1 (right end). */
  at: number;
}

export interface LayoutOptions {
  /** Widest chunk, as width / height of its crop (default 10). */
  maxAspect?: number;
  /** Lowest band height in pixels still read as text (default 5). */
  minHeight?: number;
}

/**
 * Luma of an image (ITU-R 601, as PIL's convert('L')), one byte a pixel. A grey image's own
 * pixels are returned as they are, not copied: the layout only reads them.
 */
export function toGray(image: RawImage): Uint8Array {
  const { data, width, height, channels } = image;
  const n = width * height;
  if (channels === 1) return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(n);
  if (channels === 2) {
    for (let i = 0; i < n; i++) out[i] = data[i * 2]!;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    out[i] = (data[p]! * 19595 + data[p + 1]! * 38470 + data[p + 2]! * 7471 + 0x8000) >> 16;
  }
  return out;
}

/** Otsu's threshold of a 256-bin histogram: the level that best separates two classes (≤ t, > t). */
export function otsuThreshold(hist: ArrayLike<number>): number {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    total += hist[i]!;
    sum += i * hist[i]!;
  }
  let w0 = 0;
  let s0 = 0;
  let best = -1;
  let t = 127;
  for (let i = 0; i < 255; i++) {
    w0 += hist[i]!;
    s0 += i * hist[i]!;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = s0 / w0;
    const m1 = (sum - s0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      t = i;
    }
  }
  return t;
}

/** Grey-level histogram of the rectangle [x0, x1) × [y0, y1), clipped to the image. */
export function histogram(gray: ArrayLike<number>, w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint32Array {
  const hist = new Uint32Array(256);
  for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(w, x1); x++) hist[gray[y * w + x]!]!++;
  }
  return hist;
}

/** Of the pixels of `rows` between x0 and x1, how many are brighter than t, and how many there are. */
function brightCount(gray: Uint8Array, w: number, rows: readonly number[], x0: number, x1: number, t: number): { bright: number; total: number } {
  let bright = 0;
  for (const y of rows) for (let x = x0; x < x1; x++) if (gray[y * w + x]! > t) bright++;
  return { bright, total: rows.length * (x1 - x0) };
}

/**
 * The levels a pixel step must exceed to be an edge, to try in turn: well above the image's noise.
 * First 6× the median |dx| (edges are sparse, so the median is the background's). In a tight crop
 * of small or blurred text the text's own steps are most of the image and the median is theirs
 * (a 26×17 "39%" had a median of 10: a level of 60 found no line), so when that level finds
 * nothing, 12× the lower quartile is tried, which is background even then. Both keep the same
 * margin over Gaussian noise of σ (|dx| has a median of 0.95σ and a lower quartile of 0.45σ).
 */
function edgeThresholds(gray: Uint8Array, w: number, h: number): number[] {
  const hist = new Uint32Array(256);
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x + 1 < w; x++) hist[Math.abs(gray[r + x + 1]! - gray[r + x]!)]!++;
  }
  const quantile = (q: number): number => {
    const at = q * h * (w - 1);
    let acc = 0;
    let v = 0;
    for (; v < 255; v++) if ((acc += hist[v]!) >= at) break;
    return v;
  };
  const first = Math.max(12, 6 * quantile(0.5));
  const second = Math.max(12, 12 * quantile(0.25));
  return second < first ? [first, second] : [first];
}

/** Edge map of steps along x (|G(x+1,y) − G(x,y)| > t), or along y with `vertical`. */
function edgeMap(gray: Uint8Array, w: number, h: number, t: number, vertical = false): Uint8Array {
  const edges = new Uint8Array(w * h);
  const step = vertical ? w : 1;
  const xEnd = vertical ? w : w - 1;
  const yEnd = vertical ? h - 1 : h;
  for (let y = 0; y < yEnd; y++) {
    const r = y * w;
    for (let x = 0; x < xEnd; x++) if (Math.abs(gray[r + x + step]! - gray[r + x]!) > t) edges[r + x] = 1;
  }
  return edges;
}

/**
 * Clear from the |dx| map vertical rules and the sides of frames: input boxes, buttons, cards,
 * chat bubbles. Their sides give a few edges in every row of the frame, so the frame would be one
 * band as tall as itself, swallowing the label above it, and the sides would widen line boxes.
 * A frame is a connected outline (|dx| and |dy| edges, 8-neighbours) at least 1.5× wider than
 * tall, whose |dx| edges are almost all near its left and right ends and cover most of its rows
 * there (straight or rounded sides); text touches no frame it is inside, so its edges are apart.
 * Underlined text fails the test: its letters' edges lie between the ends.
 */
function clearFrames(dx: Uint8Array, dy: Uint8Array, w: number, h: number): void {
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  const members: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || !(dx[start] || dy[start])) continue;
    seen[start] = 1;
    stack.push(start);
    members.length = 0;
    let x0 = w;
    let x1 = -1;
    let y0 = h;
    let y1 = -1;
    while (stack.length) {
      const p = stack.pop()!;
      members.push(p);
      const py = (p / w) | 0;
      const px = p - py * w;
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
      for (let ny = Math.max(0, py - 1); ny <= Math.min(h - 1, py + 1); ny++) {
        for (let nx = Math.max(0, px - 1); nx <= Math.min(w - 1, px + 1); nx++) {
          const q = ny * w + nx;
          if (!seen[q] && (dx[q] || dy[q])) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    const fw = x1 - x0 + 1;
    const fh = y1 - y0 + 1;
    if (fh >= 40 && fw <= Math.max(3, 0.08 * fh)) {
      // A vertical rule (a page's or a column's border): far taller than thin, unlike any stem.
      for (const p of members) dx[p] = 0;
      continue;
    }
    if (fh < 10 || fw < 1.5 * fh) continue;
    // Rounded ends reach in by up to half the height (a pill-shaped button).
    const reach = Math.min(Math.ceil(fh / 2), Math.floor(fw / 4));
    const left = new Uint8Array(fh);
    const right = new Uint8Array(fh);
    let sides = 0;
    let inside = 0;
    for (const p of members) {
      if (!dx[p]) continue;
      const py = (p / w) | 0;
      const px = p - py * w;
      if (px <= x0 + reach) {
        left[py - y0] = 1;
        sides++;
      } else if (px >= x1 - reach) {
        right[py - y0] = 1;
        sides++;
      } else inside++;
    }
    const covered = (rows: Uint8Array) => rows.reduce((a, v) => a + v, 0) >= 0.7 * fh;
    if (!covered(left) || !covered(right)) continue;
    if (inside <= 0.1 * (sides + inside)) {
      for (const p of members) dx[p] = 0;
      continue;
    }
    clearStraightSides(dx, dy, w, members, x0, x1, y0, y1, reach);
  }
  // A rule joined to other shapes (a page border meeting a header bar) is no thin component:
  // clear straight runs longer than the tallest stem of 60-px text.
  clearVerticalRuns(dx, dx, w, h, 80);
}

/**
 * A frame whose text touches it (a URL typed up to an input box's right side) is one outline with
 * the text: its edges lie between the ends, and the whole is no frame. Its straight sides can
 * still be told from the text: columns near the ends with |dx| edges in most of its rows, which
 * no letter shorter than the frame has, between a top and a bottom border (rows near its top and
 * bottom with |dy| edges across most of its width), with no other |dx| edges near those borders
 * (the box's padding). Only those columns and the corners (three rows at the top and bottom) are
 * cleared; the letters beside them keep their edges.
 */
function clearStraightSides(dx: Uint8Array, dy: Uint8Array, w: number, members: readonly number[], x0: number, x1: number, y0: number, y1: number, reach: number): void {
  const fw = x1 - x0 + 1;
  const fh = y1 - y0 + 1;
  const colEdges = new Uint32Array(fw);
  const rowBorder = new Uint32Array(fh);
  for (const p of members) {
    const py = (p / w) | 0;
    const px = p - py * w;
    if (dx[p]) colEdges[px - x0]!++;
    if (dy[p]) rowBorder[py - y0]!++;
  }
  const border = (from: number, to: number) => {
    for (let r = Math.max(0, from); r <= Math.min(fh - 1, to); r++) if (rowBorder[r]! >= 0.8 * fw) return true;
    return false;
  };
  if (!border(0, 2) || !border(fh - 3, fh - 1)) return;
  const sides: number[] = [];
  for (let c = 0; c < fw; c++) if ((c <= reach || c >= fw - 1 - reach) && colEdges[c]! >= 0.7 * fh) sides.push(c + x0);
  if (!sides.some((x) => x <= x0 + reach) || !sides.some((x) => x >= x1 - reach)) return;
  const side = new Set(sides);
  // The text inside keeps clear of the borders (a box's padding): a word whose letters make one
  // outline with straight-looking ends ("USD", "HOME") has its edges in its top and bottom rows.
  const pad = Math.max(3, Math.round(0.1 * fh));
  for (const p of members) {
    const py = (p / w) | 0;
    if (dx[p] && !side.has(p - py * w) && (py - y0 < pad || y1 - py < pad)) {
      const px = p - py * w;
      // Corners bend the sides into the borders within a few pixels of the ends.
      if (px - x0 > reach && x1 - px > reach) return;
    }
  }
  // The sides, and the corners where they bend into the borders.
  for (const p of members) {
    const py = (p / w) | 0;
    if (side.has(p - py * w) || py - y0 < 3 || y1 - py < 3) dx[p] = 0;
  }
}

interface Band {
  y0: number;
  y1: number;
}

function rowProfile(edges: Uint8Array, w: number, h: number): Float64Array {
  const p = new Float64Array(h);
  for (let y = 0; y < h; y++) {
    let c = 0;
    const r = y * w;
    for (let x = 0; x < w; x++) c += edges[r + x]!;
    p[y] = c;
  }
  return p;
}

/** Runs of rows with text edges, small dots and accents joined to their line, touching lines split. */
function findBands(profile: Float64Array, w: number, minHeight: number): Band[] {
  const h = profile.length;
  // A row is text when it has a few stroke edges; a vertical rule or a box's sides give 1–2.
  const rowThreshold = Math.max(3, Math.min(8, w * 0.002));
  let bands: Band[] = [];
  for (let y = 0; y < h; ) {
    if (profile[y]! < rowThreshold) {
      y++;
      continue;
    }
    let y1 = y;
    while (y1 < h && profile[y1]! >= rowThreshold) y1++;
    const last = bands[bands.length - 1];
    // A faint or noisy line can have a row inside it short of the threshold (a low-contrast
    // italic "$21.93" came out as two lines of 5 and 6 rows). One such row, with edges in it,
    // between two bands both too short to be lines of their own (under 8 rows: a line's ink is
    // taller), joins them; two real lines one row apart are taller, and stay apart.
    if (last && last.y1 === y - 1 && profile[y - 1]! > 0 && last.y1 - last.y0 < 8 && y1 - y < 8) last.y1 = y1;
    else bands.push({ y0: y, y1 });
    y = y1;
  }
  // `core`: a band's height before any join. Thinness is judged against it, not against the
  // band as joins have grown it: otherwise a grown band makes its next neighbour look thin and
  // swallows it, and the join cascades (a dark chat page of ten lines came out as one band).
  const peak = (b: Band) => {
    let m = 0;
    for (let y = b.y0; y < b.y1; y++) m = Math.max(m, profile[y]!);
    return m;
  };
  let cores = bands.flatMap((b) => splitTouching(profile, b)).map((b) => ({ ...b, core: b.y1 - b.y0, peak: peak(b) }));
  // Lines cut off by the image's top or bottom: a crop of one line out of a page takes the
  // bottom of the line above and the top of the one below (16 px Times in a crop with a third of
  // its height to spare: 2 and 4 rows). Joined to the line as if accents, or read as lines of
  // their own, they were read as invented text ("Mon, 10 Jul 19 Serves for please ... 2.2. The
  // source XML files"). Such a piece has ink in the edge row itself, is short beside a whole
  // line, and its rows carry the strokes of letters, where a row of i-dots or accents (which a
  // tight crop can put at its top too) has a few. At the bottom, below the baseline, no mark has
  // as many edges as the tops of the next line's tall letters (a fifth of a line's densest row).
  const tallest = cores.reduce((m, b) => (b.core > m.core ? b : m), cores[0] ?? { y0: 0, y1: 0, core: 0, peak: 0 });
  cores = cores.filter((b) => {
    if (b === tallest || b.core >= 0.6 * tallest.core) return true;
    if (b.y0 === 0 && profile[0]! > 0 && b.peak >= 0.35 * tallest.peak) return false;
    return !(b.y1 === h && profile[h - 1]! > 0 && b.peak >= 0.15 * tallest.peak);
  });
  // Join thin bands (i-dots, accents, commas' tails, underscores) to the nearest line close by.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < cores.length; i++) {
      const b = cores[i]!;
      const height = b.y1 - b.y0;
      const prev = cores[i - 1];
      const next = cores[i + 1];
      const near = (o: (Band & { core: number }) | undefined): number => {
        if (!o) return Infinity;
        const oh = o.core;
        const gap = o.y0 >= b.y1 ? o.y0 - b.y1 : b.y0 - o.y1;
        return height < 0.45 * oh && gap <= Math.max(2, 0.45 * oh) ? gap : Infinity;
      };
      const gp = near(prev);
      const gn = near(next);
      if (gp === Infinity && gn === Infinity) continue;
      if (gp <= gn) {
        prev!.y1 = b.y1;
        cores.splice(i, 1);
      } else {
        next!.y0 = b.y0;
        cores.splice(i, 1);
      }
      changed = true;
      break;
    }
  }
  return cores.filter((b) => b.y1 - b.y0 >= minHeight).map(({ y0, y1 }) => ({ y0, y1 }));
}

/** Split a band at a valley that has a dense part (a line's x-height) on both sides. */
function splitTouching(profile: Float64Array, band: Band): Band[] {
  const { y0, y1 } = band;
  const n = y1 - y0;
  if (n < 12) return [band];
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    let c = 0;
    for (let k = -1; k <= 1; k++) {
      const j = i + k;
      if (j >= 0 && j < n) {
        acc += profile[y0 + j]!;
        c++;
      }
    }
    s[i] = acc / c;
  }
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, s[i]!);
  let bestI = -1;
  let bestV = Infinity;
  for (let i = 4; i < n - 4; i++) {
    if (s[i]! >= bestV) continue;
    let above = 0;
    let below = 0;
    for (let j = 0; j < i; j++) above = Math.max(above, s[j]!);
    for (let j = i + 1; j < n; j++) below = Math.max(below, s[j]!);
    // Both sides must hold a real line (half the band's densest rows), and the valley be deep.
    if (above < 0.5 * peak || below < 0.5 * peak) continue;
    if (s[i]! > 0.3 * Math.min(above, below)) continue;
    bestI = i;
    bestV = s[i]!;
  }
  if (bestI < 0) return [band];
  const cut = y0 + bestI;
  return [...splitTouching(profile, { y0, y1: cut }), ...splitTouching(profile, { y0: cut + 1, y1 })];
}

interface BandInk {
  /** Otsu's level over the band: ink is ≤ it, or > it when inverted. */
  threshold: number;
  inverted: boolean;
}

/** Binarise a band with Otsu; the side its top and bottom border rows fall on is the background. */
function bandInk(gray: Uint8Array, w: number, h: number, band: Band): BandInk {
  const pad = Math.max(1, Math.round(0.15 * (band.y1 - band.y0)));
  const ya = Math.max(0, band.y0 - pad);
  const yb = Math.min(h, band.y1 + pad);
  const hist = histogram(gray, w, h, 0, ya, w, yb);
  const t = otsuThreshold(hist);
  // Border rows: the rows just outside the band (or its first/last rows at the image edge).
  const border = [ya, yb - 1, band.y0 > 0 ? band.y0 - 1 : band.y0, band.y1 < h ? band.y1 : band.y1 - 1];
  const { bright, total } = brightCount(gray, w, border, 0, w, t);
  // No border evidence (a tie): the minority class is the ink.
  const inverted = bright === total / 2 ? minorityIsBright(hist, t) : bright < total / 2;
  return { threshold: t, inverted };
}

/** Runs of columns with ink in the band, letters' own gaps (under a fifth of the height) closed. */
function inkSegments(gray: Uint8Array, w: number, band: Band, { threshold: t, inverted }: BandInk): Array<[number, number]> {
  const bh = band.y1 - band.y0;
  const columns = new Uint32Array(w);
  for (let y = band.y0; y < band.y1; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) {
      const v = gray[r + x]!;
      if (inverted ? v > t : v <= t) columns[x]!++;
    }
  }
  // Specks of one pixel in a column are noise at this height.
  const minInk = bh >= 12 ? 2 : 1;
  const segments: Array<[number, number]> = [];
  for (let x = 0; x < w; ) {
    if (columns[x]! < minInk) {
      x++;
      continue;
    }
    let x1 = x;
    let gap = 0;
    let end = x;
    while (x1 < w) {
      if (columns[x1]! >= minInk) {
        end = x1 + 1;
        gap = 0;
      } else if (++gap > Math.max(1, 0.2 * bh)) break;
      x1++;
    }
    segments.push([x, end]);
    x = end + gap;
  }
  return segments;
}

/**
 * Ink with no text edges in it is a filled shape or a frame's side, not text: a bubble or a
 * button whose fill Otsu counted as ink is cut back to the text's edges, a box's side dropped.
 * Ends move only by more than the segment gap, so ordinary lines keep the boxes their ink gives.
 */
function segmentsWithText(segments: Array<[number, number]>, edgeCols: Uint32Array, bh: number): Array<[number, number]> {
  const slack = Math.max(1, 0.2 * bh);
  const out: Array<[number, number]> = [];
  for (const [s, e] of segments) {
    let first = -1;
    let last = -1;
    for (let x = Math.max(0, s - 1); x < e; x++) {
      if (!edgeCols[x]) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    out.push([first + 1 - s > slack ? first + 1 : s, e - (last + 1) > slack ? last + 1 : e]);
  }
  return out;
}

/**
 * Where the line ends with a final period or comma: a dot of small or light text has too little
 * ink for a segment (one pixel a column), and the crop's margin, a fifth of the line height, cut
 * it off ("lanterns" for "lanterns."). It has edges, though, in the lower half of the band only,
 * just after the last segment: the end moves past them. Anything with edges higher up is more
 * than a dot and left as it is.
 */
function trailingMark(edges: Uint8Array, w: number, band: Band, end: number): number {
  const bh = band.y1 - band.y0;
  const mid = band.y0 + Math.ceil(bh / 2);
  const maxGap = Math.max(2, Math.round(0.35 * bh));
  let last = end;
  // Column `end` holds the last letter's own right edge (an edge is marked left of its step).
  for (let x = end + 1; x < Math.min(w, end + Math.round(0.6 * bh)) && x - last <= maxGap; x++) {
    let above = 0;
    let below = 0;
    for (let y = band.y0; y < mid; y++) above += edges[y * w + x]!;
    for (let y = mid; y < band.y1; y++) below += edges[y * w + x]!;
    if (above > 0) return end;
    // An edge at x is the step from x to x + 1: the mark's ink reaches x + 1 (the end is exclusive).
    if (below > 0) last = x + 2;
  }
  return Math.min(w, last);
}

/**
 * Find the text lines of an image, top to bottom. Each line's chunks are the crops to read
 * (normalised by `lineCrop`); an image of one line gives one line.
 */
export function findTextLines(image: RawImage, options: LayoutOptions = {}): TextLine[] {
  const maxAspect = options.maxAspect ?? 10;
  const minHeight = options.minHeight ?? 5;
  const { width: w, height: h } = image;
  const gray = toGray(image);
  const levels = edgeThresholds(gray, w, h);
  for (let i = 0; i < levels.length; i++) {
    const lines = linesAt(gray, w, h, levels[i]!, maxAspect, minHeight);
    if (lines.length === 0) continue;
    // Only small text can have missed rows there (grownBySmallText): larger lines skip the second pass.
    if (i + 1 < levels.length && lines.every((l) => l.box[3] - l.box[1] < SMALL_BAND)) {
      const next = levels[i + 1]!;
      const lower = linesAt(gray, w, h, next, maxAspect, minHeight);
      if (lower.length === lines.length) {
        const profile = rowProfile(edgeMap(gray, w, h, next), w, h);
        if (lower.every((l, k) => grownBySmallText(lines[k]!.box, l.box, profile))) return lower;
      }
    }
    return lines;
  }
  return [];
}

/**
 * Whether the line found at the next, lower edge level is the line found at the first with the
 * rows of small text that the first missed. In a tight crop of small light-on-dark text under
 * JPEG, the median |dx| was the text's own steps (23), the first level 138, and the hairline
 * ascenders of "oluwaseun27@harborstack.dev" (17 px FreeSerif) stepped less: its band was the
 * x-height, 6 rows of the 11 the text spans, and the reader made dates of it. So the next level's
 * band must hold the first's and be 1.3–2.2× as tall (x-height to ascenders and descenders), and
 * its extra rows carry strokes: at the lower level, a tenth of the edges a row of the first band
 * has or more. Rows of noise joined to the band carry fewer (0.06: "Ferreira, Kenji", 10 px with
 * noise, grew by 7 such rows and read "Kergi"), and a band reaching the image's edge is noise too.
 * Only bands under 12 rows: thicker strokes keep their steps, and on larger text the next level's
 * extra rows were JPEG ringing and blur that made the crops worse.
 */
const SMALL_BAND = 12;

function grownBySmallText(first: Box, next: Box, profile: Float64Array): boolean {
  const a = first[3] - first[1];
  const b = next[3] - next[1];
  if (a >= SMALL_BAND || next[1] > first[1] || next[3] < first[3] || b < 1.3 * a || b > 2.2 * a) return false;
  if (next[1] === 0 || next[3] === profile.length) return false;
  let inBand = 0;
  let extra = 0;
  for (let y = next[1]; y < next[3]; y++) {
    if (y >= first[1] && y < first[3]) inBand += profile[y]!;
    else extra += profile[y]!;
  }
  return extra / (b - a) >= 0.1 * (inBand / a);
}

/** The text lines found with edges above level t. */
function linesAt(gray: Uint8Array, w: number, h: number, t: number, maxAspect: number, minHeight: number, columns = true): TextLine[] {
  const edges = edgeMap(gray, w, h, t);
  clearFrames(edges, edgeMap(gray, w, h, t, true), w, h);
  const bands = findBands(rowProfile(edges, w, h), w, minHeight);
  if (columns && bands.length >= 4) {
    const regions = textRegions(edges, w, h);
    if (regions.length > 1) return regions.flatMap((r) => linesInRegion(gray, w, r, t, maxAspect, minHeight));
  }
  const lines: TextLine[] = [];
  for (const band of bands) {
    const bh = band.y1 - band.y0;
    const edgeCols = new Uint32Array(w);
    for (let y = band.y0; y < band.y1; y++) for (let x = 0; x < w; x++) edgeCols[x]! += edges[y * w + x]!;
    const ink = bandInk(gray, w, h, band);
    const all = inkSegments(gray, w, band, ink);
    let segments = segmentsWithText(all, edgeCols, bh);
    if (segments.length === 0) {
      // Three levels across the band (a dark page, a blue bubble, white text): Otsu split page
      // from bubble and called the page ink. The other side holds the text.
      segments = segmentsWithText(inkSegments(gray, w, band, { ...ink, inverted: !ink.inverted }), edgeCols, bh);
      if (segments.length === 0) segments = all;
    }
    if (segments.length === 0) continue;
    // Text is not a lone thin sliver the height of the band (a box side or a rule's end).
    const inkWidth = segments.reduce((a, [s, e]) => a + e - s, 0);
    if (inkWidth < Math.max(3, 0.3 * bh)) continue;
    if (segments.length > 1 && isBullet(gray, w, band, segments[0]!, segments[1]![0], ink)) segments.shift();
    segments[segments.length - 1]![1] = trailingMark(edges, w, band, segments[segments.length - 1]![1]);
    const x0 = segments[0]![0];
    const x1 = segments[segments.length - 1]![1];
    const inverted = localPolarity(gray, w, h, band, x0, x1) ?? ink.inverted;
    const box: Box = [x0, band.y0, x1, band.y1];
    lines.push({ box, ...chunkLine(segments, band, maxAspect), inverted, skew: estimateSkew(gray, w, h, box, inverted) });
  }
  return lines;
}

/** The lines of one region of the page (a column: textRegions), found in it alone, in page coordinates. */
function linesInRegion(gray: Uint8Array, w: number, region: Box, t: number, maxAspect: number, minHeight: number): TextLine[] {
  const [x0, y0, x1, y1] = region;
  const rw = x1 - x0;
  const rh = y1 - y0;
  const sub = new Uint8Array(rw * rh);
  for (let y = 0; y < rh; y++) sub.set(gray.subarray((y0 + y) * w + x0, (y0 + y) * w + x1), y * rw);
  const move = (b: Box): Box => [b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0];
  return linesAt(sub, rw, rh, t, maxAspect, minHeight, false).map((l) => ({
    ...l,
    box: move(l.box),
    chunks: l.chunks.map(move),
    ...(l.joints ? { joints: l.joints.map((j) => (j ? { ...j, box: move(j.box) } : null)) } : {}),
  }));
}

/**
 * Whether a line's first segment is a list's bullet: a small solid blob (a disc, a square, a
 * triangle) at the middle of the line's height, as wide as tall, a space or more before the text.
 * A list marker drawn by the page is no text of the line (the Debian manuals' true lines have
 * none), and the model, which never saw one, read it as "*", "#", "e" or "w": about 400 of them
 * on each docs set's 30 pages. A dash is no bullet (flat), nor an o (hollow), nor a letter.
 */
function isBullet(gray: Uint8Array, w: number, band: Band, [s, e]: [number, number], next: number, { threshold: t, inverted }: BandInk): boolean {
  const bh = band.y1 - band.y0;
  const sw = e - s;
  if (sw < 2 || sw > 0.45 * bh || next - e < 0.25 * bh) return false;
  let y0 = -1;
  let y1 = -1;
  let inked = 0;
  for (let y = band.y0; y < band.y1; y++) {
    let row = 0;
    for (let x = s; x < e; x++) {
      const v = gray[y * w + x]!;
      if (inverted ? v > t : v <= t) row++;
    }
    if (row === 0) continue;
    if (y0 < 0) y0 = y;
    y1 = y + 1;
    inked += row;
  }
  const rh = y1 - y0;
  if (y0 < 0 || rh < 2 || rh > 0.45 * bh || sw / rh < 0.6 || sw / rh > 1.6) return false;
  // At mid-height, where a bullet sits (the middle of the x-height, about 0.55 of a band from
  // ascenders to descenders) and no accent, period or comma does (a period's middle is near 0.75).
  const mid = (y0 + y1) / 2 - band.y0;
  if (y0 - band.y0 < 0.15 * bh || band.y1 - y1 < 0.1 * bh || mid < 0.3 * bh || mid > 0.65 * bh) return false;
  return inked >= 0.45 * sw * rh;
}

/**
 * The polarity the line's own surroundings show: Otsu over its box and the rows just above and
 * below it, and the side most of those rows fall on, when clearly most. The band's border spans
 * the whole image, where a light page around a dark tag outvotes the tag, and its threshold may
 * part the page from a bubble rather than the bubble from its text.
 */
function localPolarity(gray: Uint8Array, w: number, h: number, band: Band, x0: number, x1: number): boolean | undefined {
  const t = otsuThreshold(histogram(gray, w, h, x0, band.y0 - 1, x1, band.y1 + 1));
  const rows = [band.y0 - 1, band.y1].filter((y) => y >= 0 && y < h);
  const { bright, total } = brightCount(gray, w, rows, x0, x1, t);
  if (total === 0) return undefined;
  if (bright >= 0.75 * total) return false;
  if (bright <= 0.25 * total) return true;
  return undefined;
}

/**
 * The slope of a line's text: the vertical shear under which its ink's row profile is sharpest
 * (baseline, x-height and cap rows line up), searched to ±3.4° in steps that move the line's ends
 * by half a pixel. Level (0) unless the best shear moves the ends by 2 px or more and sharpens
 * the profile by a tenth, so a level line's crop is exactly what it was without this step; lines
 * shorter than 4× their height have too little ink to say.
 */
function estimateSkew(gray: Uint8Array, w: number, h: number, box: Box, inverted: boolean): number {
  const [x0, y0, x1, y1] = box;
  const bw = x1 - x0;
  const bh = y1 - y0;
  if (bw < 4 * bh) return 0;
  const t = otsuThreshold(histogram(gray, w, h, x0, y0, x1, y1));
  const xs: number[] = [];
  const ys: number[] = [];
  const cx = (x0 + x1) / 2;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = gray[y * w + x]!;
      if (inverted ? v > t : v <= t) {
        xs.push(x - cx);
        ys.push(y - y0);
      }
    }
  }
  if (xs.length === 0) return 0;
  const maxShift = Math.ceil(0.06 * bw);
  const rows = new Float64Array(bh + 2 * maxShift + 2);
  const sharpness = (slope: number): number => {
    rows.fill(0);
    for (let i = 0; i < xs.length; i++) rows[Math.round(ys[i]! - slope * xs[i]!) + maxShift]! += 1;
    let sq = 0;
    for (const r of rows) sq += r * r;
    return sq;
  };
  const step = 1 / bw;
  const level = sharpness(0);
  let best = 0;
  let bestScore = level;
  for (let k = 1; k * step <= 0.06; k++) {
    for (const slope of [k * step, -k * step]) {
      const score = sharpness(slope);
      if (score > bestScore) {
        bestScore = score;
        best = slope;
      }
    }
  }
  return Math.abs(best) * bw >= 2 && bestScore >= 1.1 * level ? best : 0;
}

/** A gap this many line heights wide or wider parts columns (item and price), not words. */
const COLUMN_GAP = 2;

/**
 * Cut a line at its column gaps, then at its widest gaps until every piece's crop is at most
 * maxAspect × its height wide; with a joint for each cut that may not be a space.
 */
function chunkLine(segments: Array<[number, number]>, band: Band, maxAspect: number): { chunks: Box[]; joints: Array<Joint | null> } {
  const bh = band.y1 - band.y0;
  const margin = cropMargin(bh);
  const limit = maxAspect * (bh + 2 * margin) - 2 * margin;
  const chunks: Box[] = [];
  // Per cut, in order: whether it gets a joint (not at a column gap); made once the chunks are.
  const read: boolean[] = [];
  const cut = (from: number, to: number): void => {
    const x0 = segments[from]![0];
    const x1 = segments[to]![1];
    if (x1 - x0 <= limit || from === to) {
      chunks.push([x0, band.y0, x1, band.y1]);
      return;
    }
    let best = from;
    let widest = -1;
    for (let i = from; i < to; i++) {
      const gap = segments[i + 1]![0] - segments[i]![1];
      // Prefer wide gaps; among equals, the one nearest the middle keeps pieces balanced.
      const mid = Math.abs((segments[i]![1] + segments[i + 1]![0]) / 2 - (x0 + x1) / 2) / (x1 - x0);
      const score = gap - 0.5 * mid;
      if (score > widest) {
        widest = score;
        best = i;
      }
    }
    cut(from, best);
    read.push(true);
    cut(best + 1, to);
  };
  // Each side of a column gap must be wider than the line is high: a speck of noise beside a
  // word is not a column.
  const last = segments[segments.length - 1]![1];
  let from = 0;
  for (let i = 0; i + 1 < segments.length; i++) {
    const wide = segments[i]![1] - segments[from]![0] >= bh && last - segments[i + 1]![0] >= bh;
    if (wide && segments[i + 1]![0] - segments[i]![1] >= COLUMN_GAP * bh) {
      cut(from, i);
      read.push(false);
      from = i + 1;
    }
  }
  cut(from, segments.length - 1);
  const joints = read.map((r, k) => (r ? joint(chunks[k]!, chunks[k + 1]!, band) : null));
  return { chunks, joints };
}

/**
 * The crop that shows what a cut holds: up to two line heights of ink on each side, within the
 * two chunks it parts: enough letters for the reader to line the joint's text up with the two
 * chunks' ends (joinChunks). In a monospaced face every letter is a segment of its own, and a
 * joint reaching one segment each side showed two letters apart ("l i" across "billing"). Gaps
 * of a line height or more are read too: in a monospaced face a hyphen leaves one ("2880-8804").
 */
function joint(left: Box, right: Box, band: Band): Joint {
  const bh = band.y1 - band.y0;
  const reach = 2 * bh;
  const x0 = Math.max(left[0], left[2] - reach);
  const x1 = Math.min(right[2], right[0] + reach);
  return { box: [x0, band.y0, x1, band.y1], wide: right[0] - left[2] >= bh, at: ((left[2] + right[0]) / 2 - x0) / (x1 - x0) };
}

/** White space kept around a crop: a fifth of the line's height, as in the training lines. */
export function cropMargin(lineHeight: number): number {
  return Math.max(2, Math.round(0.2 * lineHeight));
}

export function minorityIsBright(hist: Uint32Array, t: number): boolean {
  let low = 0;
  let high = 0;
  for (let i = 0; i < 256; i++) (i <= t ? (low += hist[i]!) : (high += hist[i]!));
  return low > high;
}
