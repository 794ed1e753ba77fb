// Held-out OCR sets drawn by a second renderer: Pango and FreeType through libvips (sharp's
// `text` input), in the same system fonts, colours and conditions as scripts/ocr-heldout.mjs
// draws with Chromium (Skia). The OCR model's training lines all come from Chromium; text drawn
// by another engine (a GTK application's screenshot, a PDF rasterised by a Pango-based tool) has
// other hinting, anti-aliasing and spacing, and this set measures whether reading survives that.
//
//   node scripts/ocr-heldout-pango.mjs OUT [--seed N] [--lines N] [--random-lines N] [--pages N]
//
// OUT/lines and OUT/pages as scripts/ocr-heldout.mjs writes them (the same metadata fields), so
// `npm run bench:ocr -- --renderer pango` reads them the same way.
//
// How it is built:
// - Each line's conditions come from the same lineSpec as the Chromium set's (font, size, bold,
//   italic, polarity, background, padding, degradation), from a random stream of its own.
// - libvips crops its text image to the glyphs' ink, which would put every line's baseline
//   somewhere else. An invisible bar (alpha 1/65535) at each end of the text makes the image's
//   height the font's bar height, ascender to descender, as a text box on screen has; the
//   image is then cut to the visible columns and the line's padding added around it.
// - Families are those fontconfig lists (fc-list); Pango would silently substitute a missing one.
// - Pages are laid out here, line by line (documents, receipts, settings lists), so each line's
//   box and text are known exactly.
// Deterministic for a seed: rerunning gave byte-identical files.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ITEMS, LAST, Rng, DARK_TEXT, FONTS, degrade, esc, lineRecord, lineSpec, money, paddingPx, randomCharacters, sentence } from './heldout-common.mjs';

function parseArgs(argv) {
  const o = { out: null, seed: 1, lines: 200, randomLines: 40, pages: 24 };
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') o.seed = num(a, argv[++i]);
    else if (a === '--lines') o.lines = num(a, argv[++i]);
    else if (a === '--random-lines') o.randomLines = num(a, argv[++i]);
    else if (a === '--pages') o.pages = num(a, argv[++i]);
    else if (!a.startsWith('--') && o.out === null) o.out = a;
    else throw new Error(`unknown argument '${a}'; usage: node scripts/ocr-heldout-pango.mjs OUT [--seed N] [--lines N] [--random-lines N] [--pages N]`);
  }
  if (o.out === null) throw new Error('usage: node scripts/ocr-heldout-pango.mjs OUT [--seed N] [--lines N] [--random-lines N] [--pages N]');
  return o;
}

/** The FONTS families fontconfig has. */
function availableFonts() {
  const listed = new Set(
    execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' })
      .split('\n')
      .flatMap((l) => l.split(','))
      .map((f) => f.trim()),
  );
  const ok = [];
  for (const [family, kind, seen] of FONTS) {
    if (listed.has(family)) ok.push({ family, kind, seen });
    else console.error(`font ${family}: not installed (fc-list does not list it), left out`);
  }
  return ok;
}

const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

/** An RGB background of w × h: a flat colour, or the CSS linear-gradient the line spec names. */
function background(css, w, h) {
  const out = Buffer.alloc(w * h * 3);
  const m = /^linear-gradient\((\d+)deg, (#[0-9a-f]{6}), (#[0-9a-f]{6})\)$/i.exec(css);
  const [a, b, deg] = m ? [hex(m[2]), hex(m[3]), Number(m[1])] : [hex(css), hex(css), 0];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // 90deg runs left to right, 180deg top to bottom, 135deg top-left to bottom-right.
      const t = deg === 90 ? x / Math.max(1, w - 1) : deg === 180 ? y / Math.max(1, h - 1) : deg === 135 ? (x + y) / Math.max(1, w + h - 2) : 0;
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = Math.round(a[c] + t * (b[c] - a[c]));
    }
  }
  return out;
}

/** The text in `fg` as RGBA, the height of the font's bar and cut to its visible columns. */
async function drawText(text, { family, size, bold = false, italic = false, fg }) {
  const style = `${bold ? 'Bold ' : ''}${italic ? 'Italic ' : ''}`;
  const bar = '<span fgalpha="1">|</span>';
  const { data, info } = await sharp({ text: { text: `${bar}<span foreground="${fg}">${esc(text)}</span>${bar}`, font: `${family}, ${style}${size}px`, rgba: true, dpi: 72 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let x0 = info.width;
  let x1 = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[(y * info.width + x) * 4 + 3] > 0) {
        if (x < x0) x0 = x;
        if (x + 1 > x1) x1 = x + 1;
      }
    }
  }
  if (x1 <= x0) throw new Error(`Pango drew nothing visible for '${text}' in ${family}`);
  const width = x1 - x0;
  const cut = Buffer.alloc(width * info.height * 4);
  for (let y = 0; y < info.height; y++) data.copy(cut, y * width * 4, (y * info.width + x0) * 4, (y * info.width + x1) * 4);
  return { data: cut, width, height: info.height };
}

async function drawLine(spec) {
  const t = await drawText(spec.text, { family: spec.font, size: spec.size_px, bold: spec.bold, italic: spec.italic, fg: spec.fg });
  const [py, px] = paddingPx(spec);
  const w = t.width + 2 * px;
  const h = t.height + 2 * py;
  const png = await sharp(background(spec.bg, w, h), { raw: { width: w, height: h, channels: 3 } })
    .composite([{ input: t.data, raw: { width: t.width, height: t.height, channels: 4 }, left: px, top: py }])
    .png()
    .toBuffer();
  return degrade(png, spec);
}

async function renderLines(rng, fonts, count, dir, { start = 0, random = false } = {}) {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const rows = [];
  for (let i = 0; i < count; i++) {
    const spec = lineSpec(rng, fonts);
    if (random) Object.assign(spec, { text: randomCharacters(rng), text_kind: 'random characters' });
    const file_name = `images/${String(start + i).padStart(4, '0')}.png`;
    writeFileSync(join(dir, file_name), await drawLine(spec));
    rows.push(lineRecord(file_name, spec));
  }
  return rows;
}

const SETTINGS = [
  ['Display', 'Automatic'], ['Sound', '70%'], ['Night light', 'Sunset to sunrise'], ['Mouse speed', 'Fast'],
  ['Printer', 'Office laser (idle)'], ['Updates', 'Checked today'], ['Firewall', 'Active'], ['Disk', '118 GB free'],
  ['Region', 'Norway'], ['Clock', '24-hour'], ['Proxy', 'None'], ['Theme', 'Adwaita dark'], ['Scaling', '125%'], ['Power button', 'Suspend'],
];

/** A page: its kind, font, polarity and lines, each [left text, right text or null]. */
function pageSpec(rng, fonts, kind) {
  const unseen = fonts.filter((f) => !f.seen && f.kind !== 'display');
  const font = rng.pick(kind === 'receipt' && rng.chance(0.5) ? unseen.filter((f) => f.kind === 'mono') : unseen);
  const size = rng.int(13, 22);
  const polarity = rng.chance(0.25) ? 'light-on-dark' : 'dark-on-light';
  let rows;
  if (kind === 'document') rows = Array.from({ length: rng.int(4, 9) }, () => [sentence(rng), null]);
  else if (kind === 'receipt') {
    rows = [[`${rng.pick(LAST)} Market`, null], ...Array.from({ length: rng.int(3, 7) }, () => [rng.pick(ITEMS), money(rng)]), ['Total', money(rng)]];
  } else rows = rng.shuffle(SETTINGS).slice(0, rng.int(4, 8)).map(([k, v]) => [k, v]);
  return {
    kind,
    font: font.family,
    seen_design: font.seen,
    size_px: size,
    polarity,
    rows,
    fg: polarity === 'dark-on-light' ? rng.pick(DARK_TEXT) : rng.pick(['#ffffff', '#e8eaed', '#f5f5f5']),
    bg: polarity === 'dark-on-light' ? rng.pick(['#ffffff', '#fdfdf8', '#f4f6f8']) : rng.pick(['#121212', '#202124', '#263238']),
    leading: rng.uniform(1.4, 1.9),
    margin: rng.int(12, 40),
  };
}

async function drawPage(spec) {
  const style = { family: spec.font, size: spec.size_px, fg: spec.fg };
  const drawn = [];
  for (const [left, right] of spec.rows) drawn.push([await drawText(left, style), right === null ? null : await drawText(right, style)]);
  // Rows with a right part are as wide as the widest row plus a gap; the right part is flush right.
  const gap = Math.round(2.5 * spec.size_px);
  const inner = Math.max(...drawn.map(([l, r]) => l.width + (r ? gap + r.width : 0)));
  const step = Math.round(spec.leading * spec.size_px);
  const w = inner + 2 * spec.margin;
  const h = 2 * spec.margin + step * (drawn.length - 1) + drawn[drawn.length - 1][0].height;
  const layers = [];
  const lines = [];
  drawn.forEach(([l, r], k) => {
    const top = spec.margin + k * step;
    const x0 = spec.margin;
    layers.push({ input: l.data, raw: { width: l.width, height: l.height, channels: 4 }, left: x0, top });
    let x1 = x0 + l.width;
    let text = spec.rows[k][0];
    if (r) {
      x1 = spec.margin + inner;
      layers.push({ input: r.data, raw: { width: r.width, height: r.height, channels: 4 }, left: x1 - r.width, top });
      text += ` ${spec.rows[k][1]}`;
    }
    lines.push({ text, box: [x0, top, x1, top + l.height] });
  });
  const png = await sharp(background(spec.bg, w, h), { raw: { width: w, height: h, channels: 3 } }).composite(layers).png().toBuffer();
  return { png, lines };
}

const PAGE_KINDS = ['document', 'receipt', 'settings'];

async function renderPages(rng, fonts, count, dir) {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const rows = [];
  for (let i = 0; i < count; i++) {
    const spec = pageSpec(rng, fonts, PAGE_KINDS[i % PAGE_KINDS.length]);
    const { png, lines } = await drawPage(spec);
    const file_name = `images/${String(i).padStart(3, '0')}-${spec.kind}.png`;
    writeFileSync(join(dir, file_name), png);
    rows.push(JSON.stringify({ file_name, kind: spec.kind, font: spec.font, seen_design: spec.seen_design, polarity: spec.polarity, lines }));
  }
  return rows;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const fonts = availableFonts();
  const linesDir = join(o.out, 'lines');
  // Streams of their own, apart from the Chromium set's (seed * 2 + 1, + 2, + 1001).
  const rows = await renderLines(new Rng(o.seed * 2 + 5001), fonts, o.lines, linesDir);
  rows.push(...(await renderLines(new Rng(o.seed * 2 + 6001), fonts, o.randomLines, linesDir, { start: o.lines, random: true })));
  writeFileSync(join(linesDir, 'metadata.jsonl'), rows.join('\n') + '\n');
  const pagesDir = join(o.out, 'pages');
  const pages = await renderPages(new Rng(o.seed * 2 + 5002), fonts, o.pages, pagesDir);
  writeFileSync(join(pagesDir, 'metadata.jsonl'), pages.join('\n') + '\n');
  console.log(`${o.lines} + ${o.randomLines} random-character lines and ${o.pages} pages in ${o.out} (Pango, seed ${o.seed}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
  console.error(`ocr-heldout-pango: ${e.message}`);
  process.exit(1);
});
