// Columns of a page, read one after another: a menu or a table of contents beside the text, two
// columns of a manual. The line finder (layout.ts) cuts a page into rows across its whole width,
// so without this step a menu entry and the text line level with it became one line read across
// the gap ("Installation The source XML files are ..."), and where the two columns' lines did
// not sit level, rows of both ran together into bands the reader made nothing of.
//
// A column gap is a vertical strip with no text edges, over a line height wide, running through
// several lines of text on both sides of it (a recursive XY cut on the |dx| edge map the line
// finder uses). It is no column gap when the two sides' lines sit level, row for row (a
// receipt's items and prices, a table's cells: read across, as rows), when they take turns (a
// chat's bubbles, left and right), when most lines of one side have nothing beside them (a C
// prototype's parameters below its name), or when one side is a list's bullets.
//
// Worked out on the pages of Debian's HTML manuals drawn by Chromium (scripts/ocr-docs.mjs,
// sets 1 and 2: page CER 27.7% -> 14.0% and 16.6% -> 6.1%), checked on a third set drawn after
// (23.7% -> 16.5%; Tesseract 24.2%); the held-out pages of seeds 1-4 read the same as without.

import type { Box } from './layout.js';

/** A strip with no edges: columns [x0, x1), rows [y0, y1). */
interface Gutter {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The widest gap between words is under a line height (0.25–0.64 measured); a column's is wider. */
const MIN_GUTTER_LINES = 1.2;
/** A gap must run past at least this many line heights of text (three lines or so). */
const MIN_RUN_LINES = 4;
/** Runs of text rows sitting level with one on the other side, above this share: a table, not columns. */
const LEVEL_SHARE = 0.6;
/** Runs of text rows with nothing beside them on the other side, above this share: not columns. */
const ALONE_SHARE = 0.4;
/** Rows of text on the side with fewer that have text on the other side too: at least this share. */
const SIDE_SHARE = 0.5;
/** Rows of text each side of a column gap must have, in line heights. */
const MIN_LINES = 3;
/** A vertical run of edges this many line heights long is a rule, not a letter. */
const RULE_LINES = 2;
/** Nested columns deeper than this are not looked for. */
const MAX_DEPTH = 4;

/**
 * The regions of the page to find lines in, in reading order: the whole page when it has no
 * columns; else what is above the columns, each column left to right, and what is below (each
 * region split again where it has columns of its own).
 */
export function textRegions(edges: Uint8Array, w: number, h: number): Box[] {
  const whole: Box = [0, 0, w, h];
  const lh = lineHeight(edges, w, h);
  if (lh === 0) return [whole];
  return split(whole, prefixSums(withoutRules(edges, w, h, lh), w, h), w, lh, 0);
}

/**
 * The page's typical line height in rows: the median height of the runs of rows with edges in
 * vertical slices of the page (an eighth of its width, at least 64 px: a dozen letters, so most
 * slices of a line hold an ascender or a descender). Across the whole width, two columns' lines
 * that do not sit level run together into bands several lines tall. 0 when there are none.
 */
function lineHeight(edges: Uint8Array, w: number, h: number): number {
  const slice = Math.max(64, Math.ceil(w / 8));
  const heights: number[] = [];
  for (let x0 = 0; x0 < w; x0 += slice) {
    const x1 = Math.min(w, x0 + slice);
    let run = 0;
    for (let y = 0; y <= h; y++) {
      let any = false;
      if (y < h) {
        const r = y * w;
        for (let x = x0; x < x1 && !any; x++) any = edges[r + x] === 1;
      }
      if (any) run++;
      else {
        if (run >= 3) heights.push(run);
        run = 0;
      }
    }
  }
  if (heights.length === 0) return 0;
  heights.sort((a, b) => a - b);
  return heights[heights.length >> 1]!;
}

/**
 * The edge map without vertical rules: runs of edges down one column over RULE_LINES line
 * heights long, which no letter's stroke is. A table layout draws its cells' borders between the
 * menu and the text (Debian's libxslt manuals), and the gap between them is only empty without.
 */
function withoutRules(edges: Uint8Array, w: number, h: number, lh: number): Uint8Array {
  const out = edges.slice();
  clearVerticalRuns(edges, out, w, h, Math.round(RULE_LINES * lh));
  return out;
}

/** In `out`, zero every run of `edges` down one column that is `long` rows or longer (`out` may be `edges`). */
export function clearVerticalRuns(edges: Uint8Array, out: Uint8Array, w: number, h: number, long: number): void {
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; ) {
      if (!edges[y * w + x]) {
        y++;
        continue;
      }
      let e = y;
      while (e < h && edges[e * w + x]) e++;
      if (e - y >= long) for (let yy = y; yy < e; yy++) out[yy * w + x] = 0;
      y = e;
    }
  }
}

/**
 * Running counts of edges along each row (row: edges of row y in [x0, x1) = row[y*(w+1)+x1] −
 * row[y*(w+1)+x0]) and down each column (col: edges of column x in rows [y0, y1) =
 * col[y1*w+x] − col[y0*w+x]), so that any strip's count is two reads.
 */
interface Sums {
  row: Uint32Array;
  col: Uint32Array;
}

function prefixSums(edges: Uint8Array, w: number, h: number): Sums {
  const row = new Uint32Array(h * (w + 1));
  const col = new Uint32Array((h + 1) * w);
  for (let y = 0; y < h; y++) {
    const r = y * w;
    const o = y * (w + 1);
    for (let x = 0; x < w; x++) {
      row[o + x + 1] = row[o + x]! + edges[r + x]!;
      col[r + w + x] = col[r + x]! + edges[r + x]!;
    }
  }
  return { row, col };
}

function count(p: Sums, w: number, y: number, x0: number, x1: number): number {
  const o = y * (w + 1);
  return p.row[o + x1]! - p.row[o + x0]!;
}

function columnCount(p: Sums, w: number, x: number, y0: number, y1: number): number {
  return p.col[y1 * w + x]! - p.col[y0 * w + x]!;
}

function split(box: Box, p: Sums, w: number, lh: number, depth: number): Box[] {
  if (depth >= MAX_DEPTH) return [box];
  const g = findGutter(box, p, w, lh);
  if (!g) return [box];
  const [bx0, by0, bx1, by1] = box;
  // The columns end where something crosses the gap (a heading, a paragraph, a table). The gap's
  // first row lies just below the crossing line's last row in the gap, but the line's
  // descenders may reach lower elsewhere, and the columns' own first lines may begin a row
  // above it. So each end is cut at the row empty across the whole region nearest to the gap's
  // end, above or below: no line is cut through, and the line that crosses stays whole outside.
  const top = g.y0 === by0 ? by0 : nearestBlankRow(p, w, bx0, bx1, g.y0, by0, g.y1);
  const bottom = g.y1 === by1 ? by1 : nearestBlankRow(p, w, bx0, bx1, g.y1, top, by1);
  if (bottom - top < MIN_RUN_LINES * lh) return [box];
  const mid = Math.round((g.x0 + g.x1) / 2);
  const parts: Box[] = [];
  if (top > by0) parts.push([bx0, by0, bx1, top]);
  parts.push([bx0, top, mid, bottom], [mid, top, bx1, bottom]);
  if (bottom < by1) parts.push([bx0, bottom, bx1, by1]);
  return parts.filter((b) => hasEdges(b, p, w)).flatMap((b) => split(b, p, w, lh, depth + 1));
}

function hasEdges(b: Box, p: Sums, w: number): boolean {
  for (let y = b[1]; y < b[3]; y++) if (count(p, w, y, b[0], b[2]) > 0) return true;
  return false;
}

/** The row empty across [x0, x1) nearest to row y within [lo, hi), the upper one of two as near; y when none. */
function nearestBlankRow(p: Sums, w: number, x0: number, x1: number, y: number, lo: number, hi: number): number {
  for (let d = 0; y - d >= lo || y + d < hi; d++) {
    if (y - d >= lo && count(p, w, y - d, x0, x1) === 0) return y - d;
    if (y + d < hi && count(p, w, y + d, x0, x1) === 0) return y + d;
  }
  return y;
}

/**
 * The column gap of a region: of the strips MIN_GUTTER_LINES line heights wide with no edges,
 * the one empty through the most rows that have text on both sides, widened to every empty
 * column beside it; null when none runs MIN_RUN_LINES line heights or its sides sit level.
 */
function findGutter(box: Box, p: Sums, w: number, lh: number): Gutter | null {
  const [bx0, by0, bx1, by1] = box;
  const gw = Math.max(6, Math.round(MIN_GUTTER_LINES * lh));
  const minRun = MIN_RUN_LINES * lh;
  let best: Gutter | null = null;
  let bestRun = 0;
  // Neighbouring strips widen to the same gap: each is judged once.
  const judged = new Set<string>();
  const step = Math.max(1, Math.floor(gw / 4));
  for (let x = bx0 + 1; x + gw < bx1; x += step) {
    // The longest run of rows empty in [x, x + gw) (rows empty everywhere count, for they join
    // a column's paragraphs) that has text left and right of the strip.
    let runStart = -1;
    for (let y = by0; y <= by1; y++) {
      const blank = y < by1 && count(p, w, y, x, x + gw) === 0;
      if (blank) {
        if (runStart < 0) runStart = y;
        continue;
      }
      if (runStart >= 0) {
        const run = y - runStart;
        if (run >= minRun && run > bestRun) {
          const g = shared(widen({ x0: x, x1: x + gw, y0: runStart, y1: y }, p, w, bx0, bx1), p, w, bx0, bx1, minRun);
          const key = g ? `${g.x0},${g.x1},${g.y0},${g.y1}` : '';
          if (g && !judged.has(key)) {
            judged.add(key);
            if (textBothSides(g, p, w, bx0, bx1, lh)) {
              best = g;
              bestRun = run;
            }
          }
        }
        runStart = -1;
      }
    }
  }
  return best;
}

/** The strip widened over the empty columns beside it; null when that reaches the region's side (a margin). */
function widen(g: Gutter, p: Sums, w: number, bx0: number, bx1: number): Gutter | null {
  const empty = (x: number) => columnCount(p, w, x, g.y0, g.y1) === 0;
  let x0 = g.x0;
  while (x0 > bx0 && empty(x0 - 1)) x0--;
  let x1 = g.x1;
  while (x1 < bx1 && empty(x1)) x1++;
  if (x0 <= bx0 || x1 >= bx1) return null;
  return { ...g, x0, x1 };
}

/**
 * The strip cut to the rows where both sides have text, from the later of their first rows to the
 * earlier of their last; null when that is under `minRun` rows. A page's title beside its logos
 * left an empty strip from the page's top to its bottom, the title two lines of it: the title is
 * not a column as tall as the page, and the menu and text below are read after it, not before.
 */
function shared(g: Gutter | null, p: Sums, w: number, bx0: number, bx1: number, minRun: number): Gutter | null {
  if (!g) return null;
  const extent = (x0: number, x1: number): [number, number] => {
    let a = g.y0;
    while (a < g.y1 && count(p, w, a, x0, x1) === 0) a++;
    let b = g.y1;
    while (b > a && count(p, w, b - 1, x0, x1) === 0) b--;
    return [a, b];
  };
  const [la, lb] = extent(bx0, g.x0);
  const [ra, rb] = extent(g.x1, bx1);
  const y0 = Math.max(la, ra);
  const y1 = Math.min(lb, rb);
  return y1 - y0 >= minRun ? { ...g, y0, y1 } : null;
}

/**
 * Whether the strip parts two columns: text on both sides (MIN_LINES line heights of rows with
 * edges each) side by side but not level. Of the side with fewer such rows, most must have text
 * on the other side in the same row (a chat's bubbles, left and right, take turns and share
 * none), and of the runs of text rows (lines, or a paragraph's lines run together), not most of
 * the side with fewer may sit level with one on the other side (a receipt's items
 * and prices, a table's cells: read across, as rows).
 */
function textBothSides(g: Gutter, p: Sums, w: number, bx0: number, bx1: number, lh: number): boolean {
  const left = new Uint8Array(g.y1 - g.y0);
  const right = new Uint8Array(g.y1 - g.y0);
  for (let y = g.y0; y < g.y1; y++) {
    left[y - g.y0] = count(p, w, y, bx0, g.x0) > 0 ? 1 : 0;
    right[y - g.y0] = count(p, w, y, g.x1, bx1) > 0 ? 1 : 0;
  }
  // Runs at either end of the strip are the parts of lines that cross it (the strip begins below
  // a line's letters and above its descenders): only the runs wholly beside it count.
  const l = runs(left, lh);
  const r = runs(right, lh);
  const rows = (rs: Array<[number, number]>) => rs.reduce((a, [s, e]) => a + e - s, 0);
  const nl = rows(l);
  const nr = rows(r);
  if (nl < MIN_LINES * lh || nr < MIN_LINES * lh) return false;
  let both = 0;
  for (const [s, e] of nl <= nr ? l : r) for (let i = s; i < e; i++) if (left[i] && right[i]) both++;
  if (both < SIDE_SHARE * Math.min(nl, nr)) return false;
  const [few, many] = l.length <= r.length ? [l, r] : [r, l];
  if (few.length < 2) return true;
  // Each run of the side with fewer: level with one on the other side (tops within a fifth of a
  // line: a receipt's item and its price, a C prototype's name and its first parameter, share
  // their row's top to a pixel or two; not bottoms, for an underlined link reaches lower), beside
  // one without being level (a menu beside text: 4 px off in 18), or alone (a prototype's second
  // parameter, below its first). A table's rows are mostly level, or level and alone; columns
  // beside each other can sit level by chance where their spacing is the same, but seldom alone.
  const tol = Math.max(2, 0.2 * lh);
  let level = 0;
  let alone = 0;
  for (const [a0, a1] of few) {
    const over = many.filter(([b0, b1]) => Math.min(a1, b1) > Math.max(a0, b0));
    if (over.length === 0) alone++;
    else if (over.some(([b0]) => Math.abs(a0 - b0) <= tol)) level++;
  }
  return level <= LEVEL_SHARE * few.length && alone <= ALONE_SHARE * few.length;
}

/**
 * Runs of marked rows half a line tall or taller (a line of text; not a dot, a dash, an
 * underscore or a list's bullet: a bulleted list's bullets and items are no columns), that do
 * not touch either end.
 */
function runs(marked: Uint8Array, lh: number): Array<[number, number]> {
  const min = Math.max(3, 0.5 * lh);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < marked.length; ) {
    if (!marked[i]) {
      i++;
      continue;
    }
    let e = i;
    while (e < marked.length && marked[e]) e++;
    if (e - i >= min && i > 0 && e < marked.length) out.push([i, e]);
    i = e;
  }
  return out;
}
