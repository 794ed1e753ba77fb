// The crops a line-reading model sees, cut from a page along the lines src/ocr/layout.ts found:
// grey, the background stretched to white and the ink to black (light-on-dark text inverted),
// levelled when the text slants, with underlines erased.

import { RawImage } from '../processing/image.js';
import { cropMargin, histogram, minorityIsBright, otsuThreshold, toGray, type Box, type TextLine } from './layout.js';

/**
 * The crop a line-reading model sees: the box plus a margin, grey, dark ink on white with the
 * background stretched to 255 and the ink to 0 (light-on-dark text inverted), as RGB.
 */
export function lineCrop(image: RawImage, box: Box, options: { inverted?: boolean; skew?: number } = {}): RawImage {
  const gray = toGray(image);
  return cropGray(gray, image.width, image.height, box, options.inverted, options.skew ?? 0);
}

function cropGray(gray: ArrayLike<number>, w: number, h: number, box: Box, inverted?: boolean, skew = 0): RawImage {
  // The crop is always the box plus the full margin: where that leaves the image, background is
  // added, so a line reads the same whether it was cut tight or found on a page.
  const m = cropMargin(box[3] - box[1]);
  const hist = histogram(gray, w, h, box[0] - m, box[1] - m, box[2] + m, box[3] + m);
  const t = otsuThreshold(hist);
  if (inverted === undefined) inverted = minorityIsBright(hist, t);
  // Background and ink levels: medians of the two Otsu classes.
  const lo = classMedian(hist, 0, t);
  const hi = classMedian(hist, t + 1, 255);
  const bg = inverted ? lo : hi;
  let ink = inverted ? hi : lo;
  // With the crop a flat background (no ink), keep it white rather than stretch noise.
  if (Math.abs(bg - ink) < 16) ink = inverted ? bg + 255 : bg - 255;
  const scale = 255 / (bg - ink);
  const stretch = (v: number): number => {
    const s = Math.round((v - ink) * scale);
    return s < 0 ? 0 : s > 255 ? 255 : s;
  };
  if (skew === 0) {
    const x0 = box[0] - m;
    const y0 = box[1] - m;
    const cw = box[2] - box[0] + 2 * m;
    const ch = box[3] - box[1] + 2 * m;
    const out = new Uint8Array(cw * ch * 3).fill(255);
    for (let y = 0; y < ch; y++) {
      const sy = y0 + y;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < cw; x++) {
        const sx = x0 + x;
        if (sx < 0 || sx >= w) continue;
        const o = (y * cw + x) * 3;
        out[o] = out[o + 1] = out[o + 2] = stretch(gray[sy * w + sx]!);
      }
    }
    eraseUnderlines(out, cw, ch, m, box[3] - box[1]);
    return new RawImage(out, cw, ch, 3);
  }
  // Skewed: each column is moved up or down by skew × its distance from the box's centre, so the
  // text runs level, and the crop is cut to the levelled ink's rows (the box, the union of a
  // slanted line's rows, is taller than the text).
  const cx = (box[0] + box[2]) / 2;
  const isInk = (v: number) => (inverted ? v > t : v <= t);
  const lift = Math.ceil(Math.abs(skew) * (box[2] - box[0]));
  const counts = new Uint32Array(box[3] - box[1] + 2 * lift + 2);
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) if (isInk(gray[y * w + x]!)) counts[Math.round(y - box[1] - skew * (x - cx)) + lift]!++;
  }
  let top = 0;
  while (top < counts.length - 1 && counts[top]! < 2) top++;
  let bottom = counts.length - 1;
  while (bottom > top && counts[bottom]! < 2) bottom--;
  const ty0 = box[1] + top - lift;
  const th = bottom - top + 1;
  const tm = cropMargin(th);
  const cw = box[2] - box[0] + 2 * tm;
  const ch = th + 2 * tm;
  const out = new Uint8Array(cw * ch * 3).fill(255);
  for (let x = 0; x < cw; x++) {
    const sx = box[0] - tm + x;
    if (sx < 0 || sx >= w) continue;
    const shift = skew * (sx - cx);
    for (let y = 0; y < ch; y++) {
      // Linear between the two source rows the levelled row falls between; outside, background.
      const fy = ty0 - tm + y + shift;
      const ya = Math.floor(fy);
      const f = fy - ya;
      const a = ya >= 0 && ya < h ? gray[ya * w + sx]! : bg;
      const b = ya + 1 >= 0 && ya + 1 < h ? gray[(ya + 1) * w + sx]! : bg;
      const o = (y * cw + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = stretch(a + f * (b - a));
    }
  }
  eraseUnderlines(out, cw, ch, tm, th);
  return new RawImage(out, cw, ch, 3);
}

/**
 * Underlines out of a crop (RGB, ink dark on 255): links in a web page are underlined, and the
 * model never saw a line drawn under text. In the Debian manuals Chromium drew (scripts/
 * ocr-docs.mjs), underlined links were read "qed0rq I DejG'" for "getting help". An underline is
 * a run of ink, in the band's lower half or just below it, longer than 2 line heights, with
 * letters above a third of it or more (underscores have none above them: "Name: ____" keeps its
 * line) and background just above most of it (the feet of small letters, blurred or not, run
 * together in their own row: at 1.2 line heights "2022" lost its feet and read "2007"). Its
 * rows are whitened along the run, except where a stroke crosses it (ink just above and just
 * below: a descender).
 */
function eraseUnderlines(out: Uint8Array, cw: number, ch: number, top: number, height: number): void {
  const ink = (x: number, y: number) => y >= 0 && y < ch && out[(y * cw + x) * 3]! < 128;
  const minRun = Math.max(8, 2 * height);
  const runs: Array<{ y: number; x0: number; x1: number }> = [];
  for (let y = top + Math.ceil(0.5 * height); y < ch; y++) {
    for (let x = 0; x < cw; ) {
      if (!ink(x, y)) {
        x++;
        continue;
      }
      let e = x;
      while (e < cw && ink(e, y)) e++;
      if (e - x >= minRun) {
        let above = 0;
        let gap = 0;
        for (let c = x; c < e; c++) {
          if (!ink(c, y - 1)) gap++;
          for (let yy = Math.max(0, y - Math.round(0.6 * height)); yy < y - 1; yy++) {
            if (ink(c, yy)) {
              above++;
              break;
            }
          }
        }
        // Apart from the letters (a row of background above most of it, broken only by
        // descenders): small blurred text's letters run together at their feet into runs as long.
        if (above >= 0.3 * (e - x) && gap >= 0.7 * (e - x)) {
          runs.push({ y, x0: x, x1: e });
          // A thicker underline's next rows.
          for (let yy = y + 1; yy <= y + 2 && yy < ch; yy++) {
            let n = 0;
            for (let c = x; c < e; c++) if (ink(c, yy)) n++;
            if (n < 0.8 * (e - x)) break;
            runs.push({ y: yy, x0: x, x1: e });
          }
        }
      }
      x = e;
    }
  }
  if (runs.length === 0) return;
  // Each column of an underline: its rows are the run's rows there (a thick or antialiased
  // underline spans two or three), whitened unless a stroke passes through.
  const rowsAt = new Map<number, number[]>();
  for (const r of runs) for (let x = r.x0; x < r.x1; x++) (rowsAt.get(x) ?? rowsAt.set(x, []).get(x)!).push(r.y);
  for (const [x, ys] of rowsAt) {
    const y0 = Math.min(...ys);
    const y1 = Math.max(...ys);
    if (ink(x, y0 - 1) && ink(x, y1 + 1)) continue;
    for (let y = Math.max(0, y0 - 1); y <= Math.min(ch - 1, y1 + 1); y++) {
      // The antialiased rows beside the run go too, unless they are ink themselves.
      if (y < y0 || y > y1) {
        if (ink(x, y)) continue;
      }
      const o = (y * cw + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = 255;
    }
  }
}

function classMedian(hist: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) n += hist[i]!;
  if (n === 0) return from === 0 ? to : from;
  let acc = 0;
  for (let i = from; i <= to; i++) if ((acc += hist[i]!) * 2 >= n) return i;
  return to;
}

/** Every chunk of every line as the crop to read, with its line's index. */
export function lineCrops(image: RawImage, lines: readonly TextLine[]): Array<{ line: number; crop: RawImage }> {
  const gray = toGray(image);
  const out: Array<{ line: number; crop: RawImage }> = [];
  lines.forEach((l, i) => {
    for (const c of l.chunks) out.push({ line: i, crop: cropGray(gray, image.width, image.height, c, l.inverted, l.skew) });
  });
  return out;
}

/** Every joint of every line (see TextLine.joints) as a crop, with its line's and its own index. */
export function jointCrops(image: RawImage, lines: readonly TextLine[]): Array<{ line: number; joint: number; crop: RawImage }> {
  const gray = toGray(image);
  const out: Array<{ line: number; joint: number; crop: RawImage }> = [];
  lines.forEach((l, i) => {
    (l.joints ?? []).forEach((j, k) => {
      if (j) out.push({ line: i, joint: k, crop: cropGray(gray, image.width, image.height, j.box, l.inverted, l.skew) });
    });
  });
  return out;
}
