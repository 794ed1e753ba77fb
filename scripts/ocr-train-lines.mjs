// Training lines for the bundled OCR model drawn by a real browser, in the @fontsource families
// this package depends on (never the system fonts the held-out sets use), in the conditions
// people meet: light text on dark and coloured backgrounds, low contrast, 10–64 px text, bold
// and italic, tight and generous padding, borders, underlines; then screenshot-like resampling,
// blur, noise, JPEG and a degree or two of skew. Each line goes through the library's own
// layout analysis and crop normalisation (src/ocr/layout.ts), so the model trains on exactly
// what OCRReader gives it at inference; lines the layout would not read as one chunk are left out
// (and counted), or with --chunks kept as the chunks it cuts them into.
//
//   node scripts/ocr-train-lines.mjs OUT COUNT SEED [--random-chars FRACTION] [--dictionary FRACTION]
//                                    [--jpeg FRACTION] [--italic FRACTION] [--long FRACTION] [--small FRACTION] [--chunks]
//
// --random-chars: the share of lines of random characters (default 0.25), text no language
// model can guess. --dictionary: the share of the other lines drawn from the 274,000 words of
// the `word-list` package (dev dependency) — phrases in any casing, URLs, e-mail addresses, file
// names — rather than the package's small corpus (default 0, as the sets of run 5 were made):
// with only the corpus a model learns its words and guesses them, where a user's text has any.
// --jpeg, --italic: the share of lines saved as JPEG at quality 25–75 (default 0.2) and drawn in
// an italic face where the family has one (default 0.18); the defaults reproduce the older sets.
// --long: the share of the other lines that are long, 41 to 64 characters (words, sentences and
// dictionary phrases run together; default 0). The sets up to c34 have nothing over 44 characters
// (corpus texts end at 34, dictionary ones at 40), and the model trained on them stopped early on
// the held-out sets' single-chunk lines of 42–45 characters ("…the attic window agai"). A long
// line the layout would cut into chunks is left out like any other, so those kept are the ones
// drawn narrow enough to stay one chunk: condensed faces, small letter spacing.
// --small: the share of lines drawn at 10–16 px (log-uniform there) instead of 10–64 px (default
// 0, which draws every set up to c38 exactly as before). Small text was the largest error left
// after round 8: 10–13 px read 2–3% on the held-out sets, twice the sets as a whole, where the
// log-uniform draw gives it 16% of the lines.
// --chunks: a line the layout cuts into chunks (a line wider than 10 × its height, a receipt row
// with its price far right) is kept as its chunks' crops, each with its own text: the characters
// whose boxes (Chromium's, carried through the scaling and rotation) fall in that chunk. Those are
// exactly the crops OCRReader reads for such a line; without --chunks they are left out (a
// quarter of the lines drawn, and every long one).
//
// Needs Debian's chromium and the dev dependencies (playwright-core, @fontsource/*); after
// npm install (dist/ built). Deterministic for a seed and count (same texts, styles and
// augmentations; Chromium's own rasteriser is the only outside party). Writes OUT/images/*.png
// and OUT/metadata.jsonl (imagefolder, with the style of each line) atomically per file.
import { mkdirSync, readdirSync, existsSync, writeFileSync, renameSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { SeededRandom } from '../dist/src/training/random.js';
import { randomText } from '../dist/src/training/synthetic.js';
import { RawImage } from '../dist/src/processing/image.js';
import { lineCrops } from '../dist/src/ocr/crops.js';
import { findTextLines } from '../dist/src/ocr/layout.js';
import wordListPath from 'word-list';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const randomFraction = Number(flag('--random-chars', '0.25'));
const dictionaryFraction = Number(flag('--dictionary', '0'));
const jpegFraction = Number(flag('--jpeg', '0.2'));
const italicFraction = Number(flag('--italic', '0.18'));
const longFraction = Number(flag('--long', '0'));
const smallFraction = Number(flag('--small', '0'));
const keepChunks = args.includes('--chunks');
if (keepChunks) args.splice(args.indexOf('--chunks'), 1);
const [out, countArg, seedArg] = args;
const count = Number(countArg);
const seed = Number(seedArg);
const fraction = (v) => v >= 0 && v <= 1;
if (!out || !(Number.isInteger(count) && count > 0) || !Number.isInteger(seed) || ![randomFraction, dictionaryFraction, jpegFraction, italicFraction, longFraction, smallFraction].every(fraction)) {
  console.error('usage: node scripts/ocr-train-lines.mjs OUT COUNT SEED [--random-chars FRACTION] [--dictionary FRACTION] [--jpeg FRACTION] [--italic FRACTION] [--long FRACTION] [--small FRACTION] [--chunks]');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Fonts: every @fontsource family installed, with the weights and styles it ships (latin subset).
const require = createRequire(import.meta.url);
const fontRoot = join(dirname(require.resolve('@fontsource/roboto/package.json')), '..');
const families = [];
for (const pkg of readdirSync(fontRoot).sort()) {
  const files = join(fontRoot, pkg, 'files');
  if (!existsSync(files)) continue;
  const faces = [];
  for (const f of readdirSync(files).sort()) {
    const m = /^(.*)-latin-(\d+)-(normal|italic)\.woff2$/.exec(f);
    if (m) faces.push({ file: join(files, f), weight: Number(m[2]), style: m[3] });
  }
  if (faces.some((f) => f.weight === 400 && f.style === 'normal')) families.push({ name: `fs-${pkg}`, pkg, faces });
}
const fontCss = families
  .flatMap((fam) => fam.faces.map((f) => `@font-face{font-family:'${fam.name}';src:url('file://${f.file}') format('woff2');font-weight:${f.weight};font-style:${f.style};font-display:block}`))
  .join('\n');

// ---------------------------------------------------------------------------------------------
// Texts and styles, all from SeededRandom(seed, i): line i is the same whatever the count.
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const PUNCT = '.,:;-/()#$%&@!?\'"+*=_[]<>|~^{}';
function randomChars(rng) {
  const n = rng.int(2, 26);
  let t = '';
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    t += u < 0.12 && t && !t.endsWith(' ') && i < n - 1 ? ' ' : rng.pick([...(u < 0.45 ? LOWER : u < 0.65 ? UPPER : u < 0.88 ? DIGITS : PUNCT)]);
  }
  return t.trim() || 'x';
}

// Words of 2 to 12 letters, lower case; drawn uniformly, so mostly words no small corpus has.
const WORDS = readFileSync(wordListPath, 'utf8').split('\n').filter((w) => /^[a-z]{2,12}$/.test(w));
const TLDS = ['com', 'org', 'net', 'io', 'dev', 'edu', 'gov', 'co.uk', 'de', 'fr', 'app', 'info', 'ca', 'com.au', 'nl'];
const EXTENSIONS = ['pdf', 'txt', 'png', 'jpg', 'csv', 'docx', 'xlsx', 'zip', 'json', 'md', 'html', 'ts', 'py'];
const word = (rng) => WORDS[rng.int(0, WORDS.length - 1)];
const cap = (w) => w[0].toUpperCase() + w.slice(1);
function dictionaryText(rng) {
  const kind = rng.weighted([['phrase', 60], ['url', 15], ['email', 12], ['file', 8], ['handle', 5]]);
  if (kind === 'phrase') {
    const n = rng.int(1, 5);
    const casing = rng.weighted([['lower', 40], ['first', 30], ['title', 20], ['upper', 10]]);
    const ws = [];
    for (let k = 0; k < n; k++) {
      let w = word(rng);
      if (casing === 'upper') w = w.toUpperCase();
      else if (casing === 'title' || (casing === 'first' && k === 0)) w = cap(w);
      if (k < n - 1 && rng.chance(0.08)) w += rng.pick([',', ':', ';', ' -', ' &']);
      if (rng.chance(0.06)) w = rng.chance(0.5) ? `${rng.int(1, 999)} ${w}` : `${w} ${rng.int(1, 99)}`;
      ws.push(w);
    }
    let t = ws.join(' ');
    if (rng.chance(0.3)) t += rng.pick(['.', '.', '!', '?', ':', '...', ')']);
    if (rng.chance(0.05)) t = `"${t}"`;
    return t;
  }
  const host = () => (rng.chance(0.3) ? `${word(rng)}-${word(rng)}` : word(rng)) + '.' + rng.pick(TLDS);
  if (kind === 'url') {
    let t = (rng.chance(0.6) ? rng.pick(['https://', 'http://']) : '') + (rng.chance(0.3) ? 'www.' : '') + host();
    for (let k = rng.int(0, 2); k > 0; k--) t += '/' + (rng.chance(0.2) ? rng.int(1, 2030) : word(rng));
    if (rng.chance(0.15)) t += `?${word(rng)}=${rng.chance(0.5) ? word(rng) : rng.int(1, 9999)}`;
    return t;
  }
  if (kind === 'email') return `${word(rng)}${rng.pick(['.', '_', '', ''])}${rng.chance(0.5) ? word(rng) : ''}${rng.chance(0.3) ? rng.int(1, 99) : ''}@${host()}`;
  if (kind === 'file') return `${rng.chance(0.3) ? '/' + word(rng) + '/' : ''}${word(rng)}${rng.pick(['_', '-', ''])}${rng.chance(0.5) ? word(rng) : rng.int(1, 2030)}.${rng.pick(EXTENSIONS)}`;
  return `${rng.pick(['@', '#'])}${word(rng)}${rng.chance(0.4) ? rng.pick(['_', '']) + word(rng) : ''}${rng.chance(0.3) ? rng.int(1, 99) : ''}`;
}

/** A line of 41–64 characters: corpus texts and dictionary phrases run together, cut at a word. */
function longText(rng) {
  const target = rng.int(41, 64);
  let t = '';
  while (t.length < target) {
    const piece = dictionaryFraction > 0 && rng.chance(0.5) ? dictionaryText(rng) : randomText(rng, { min_length: 1, max_length: 34 });
    t = t ? `${t}${rng.pick([' ', ' ', ' ', ', ', '; ', ' - ', ': '])}${piece}` : piece;
  }
  const cut = t.slice(0, target + 1).lastIndexOf(' ');
  return (cut > 40 ? t.slice(0, cut) : t.slice(0, target)).trim();
}

const hsl = (h, s, l) => `hsl(${h.toFixed(0)} ${s.toFixed(0)}% ${l.toFixed(0)}%)`;
function style(rng) {
  const fam = families[rng.int(0, families.length - 1)];
  // Weight: the regular face most often, bold a quarter of the time, others now and then.
  const uprights = fam.faces.filter((f) => f.style === 'normal');
  const r = rng.next();
  const want = r < 0.55 ? 400 : r < 0.8 ? 700 : rng.pick(uprights).weight;
  const weight = uprights.reduce((a, f) => (Math.abs(f.weight - want) < Math.abs(a - want) ? f.weight : a), 400);
  const italic = rng.chance(italicFraction) && fam.faces.some((f) => f.style === 'italic');
  // Size: 10–64 px, small sizes as common as large ones (log-uniform); with --small, that share
  // of lines at 10–16 px. No draw without it, so the older sets' random streams stay as they were.
  const top = smallFraction > 0 && rng.chance(smallFraction) ? 16 : 64;
  const size = Math.round(Math.exp(rng.uniform(Math.log(10), Math.log(top))));
  // Colours: a third light on dark; backgrounds from paper white to saturated and dark UI colours.
  const dark = rng.chance(0.33);
  const hue = rng.uniform(0, 360);
  const sat = rng.chance(0.5) ? rng.uniform(0, 15) : rng.uniform(15, 90);
  const bgL = dark ? rng.uniform(3, 40) : rng.chance(0.5) ? rng.uniform(92, 100) : rng.uniform(55, 95);
  // Ink at least this far in lightness from the background; low contrast now and then.
  const minGap = rng.chance(0.15) ? rng.uniform(22, 35) : rng.uniform(40, 90);
  const inkL = dark ? Math.min(100, bgL + minGap + rng.uniform(0, 100 - bgL - minGap > 0 ? 100 - bgL - minGap : 0)) : Math.max(0, bgL - minGap - rng.uniform(0, Math.max(0, bgL - minGap)));
  const inkHue = rng.chance(0.6) ? hue : rng.uniform(0, 360);
  const inkSat = rng.chance(0.6) ? rng.uniform(0, 20) : rng.uniform(20, 90);
  let background = hsl(hue, sat, bgL);
  if (rng.chance(0.12)) background = `linear-gradient(${rng.int(0, 359)}deg, ${hsl(hue, sat, bgL)}, ${hsl(hue + rng.uniform(-40, 40), sat, Math.max(0, Math.min(100, bgL + rng.uniform(-12, 12))))})`;
  const pad = () => (rng.chance(0.25) ? 0 : rng.chance(0.7) ? rng.uniform(0.1, 0.8) : rng.uniform(0.8, 3));
  const css = [
    `font-family:'${fam.name}'`,
    `font-size:${size}px`,
    `font-weight:${weight}`,
    `font-style:${italic ? 'italic' : 'normal'}`,
    `color:${hsl(inkHue, inkSat, inkL)}`,
    `background:${background}`,
    `padding:${pad().toFixed(2)}em ${pad().toFixed(2)}em ${pad().toFixed(2)}em ${pad().toFixed(2)}em`,
    `line-height:${rng.uniform(1.0, 1.6).toFixed(2)}`,
  ];
  if (rng.chance(0.15)) css.push(`letter-spacing:${rng.uniform(-0.03, 0.15).toFixed(3)}em`);
  if (rng.chance(0.06)) css.push('text-decoration:underline');
  if (rng.chance(0.1)) css.push(`border:1px solid ${hsl(hue, sat, dark ? bgL + 20 : bgL - 25)};border-radius:${rng.int(0, 8)}px`);
  if (rng.chance(0.05)) css.push('text-shadow:0 1px 1px rgba(0,0,0,0.35)');
  return { css: css.join(';'), font: `${fam.pkg} ${weight}${italic ? ' italic' : ''}`, size, dark };
}

function augment(rng) {
  return {
    scale: rng.chance(0.2) ? rng.uniform(0.6, 1.4) : 1, // screenshot scaled by a viewer
    blur: rng.chance(0.2) ? rng.uniform(0.35, 1.0) : 0,
    rotate: rng.chance(0.15) ? rng.uniform(-2, 2) : 0,
    noise: rng.chance(0.2) ? rng.uniform(3, 14) : 0,
    jpeg: rng.chance(jpegFraction) ? rng.int(25, 75) : 0,
  };
}

/**
 * The text of each chunk of a line cut into chunks, or null when the characters do not fall
 * cleanly into them. A character's box centre is carried from the page (relative to the line's
 * box) through degrade()'s scaling and rotation into the image the layout cut; it belongs to the
 * chunk it falls in (within 3 px of its ends). Every visible character must belong to one, in
 * order, and every chunk must get one; a chunk's text runs from its first character to its last.
 */
function chunkTexts(text, boxes, [left, top, width, height], image, a, chunks) {
  if (!boxes || boxes.length !== text.length) return null;
  const sw = a.scale !== 1 ? Math.max(4, Math.round(width * a.scale)) / width : 1;
  const sh = a.scale !== 1 ? Math.max(4, Math.round(height * a.scale)) / height : 1;
  const theta = (a.rotate * Math.PI) / 180;
  const [cos, sin] = [Math.cos(theta), Math.sin(theta)];
  const [w1, h1] = [width * sw, height * sh];
  const toX = (x, y) => {
    if (!a.rotate) return x;
    // sharp turns the image clockwise about its centre into a canvas that holds it all.
    return (x - w1 / 2) * cos - (y - h1 / 2) * sin + image.width / 2;
  };
  const first = new Array(chunks.length).fill(-1);
  const last = new Array(chunks.length).fill(-1);
  let prev = 0;
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i])) continue;
    const [l, t, r, b] = boxes[i];
    const x = toX(((l + r) / 2 - left) * sw, ((t + b) / 2 - top) * sh);
    const k = chunks.findIndex(([x0, , x1]) => x >= x0 - 3 && x <= x1 + 3);
    if (k < 0 || k < prev) return null;
    prev = k;
    if (first[k] < 0) first[k] = i;
    last[k] = i;
  }
  if (first.some((f) => f < 0)) return null;
  return chunks.map((_, k) => text.slice(first[k], last[k] + 1).trim());
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function degrade(png, a, rng) {
  let img = sharp(png);
  const meta = await sharp(png).metadata();
  if (a.scale !== 1) img = sharp(await img.resize(Math.max(4, Math.round(meta.width * a.scale)), Math.max(4, Math.round(meta.height * a.scale)), { kernel: 'linear' }).png().toBuffer());
  if (a.rotate) {
    // Corners filled with the edge colour, as a rotated scan of a larger page would be.
    const { data, info } = await img.clone().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const fill = (c) => { const v = []; for (let x = 0; x < info.width; x++) v.push(data[x * 3 + c]); v.sort((p, q) => p - q); return v[v.length >> 1]; };
    img = sharp(await img.removeAlpha().rotate(a.rotate, { background: { r: fill(0), g: fill(1), b: fill(2), alpha: 1 } }).png().toBuffer());
  }
  if (a.blur) img = sharp(await img.blur(a.blur).png().toBuffer());
  let { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (a.noise) {
    data = Buffer.from(data);
    for (let p = 0; p < data.length; p += 3) {
      const n = rng.normal(0, a.noise);
      for (let c = 0; c < 3; c++) data[p + c] = Math.max(0, Math.min(255, Math.round(data[p + c] + n)));
    }
  }
  if (a.jpeg) {
    const jpg = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: a.jpeg }).toBuffer();
    ({ data, info } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true }));
  }
  return new RawImage(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, info.channels);
}

// ---------------------------------------------------------------------------------------------
mkdirSync(join(out, 'images'), { recursive: true });
const metaPath = join(out, 'metadata.jsonl');
// The rows written so far (a line kept as chunks has one per chunk), and the lines they are of.
const rows = existsSync(metaPath) ? readFileSync(metaPath, 'utf8').split('\n').filter(Boolean) : [];
const done = new Set(rows.map((l) => JSON.parse(l).index));
const profile = mkdtempSync(join(tmpdir(), 'ocr-train-lines-'));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--font-render-hinting=none', '--allow-file-access-from-files'],
});
const page = await browser.newPage({ viewport: { width: 2400, height: 1000 }, deviceScaleFactor: 1 });
const cdp = await page.context().newCDPSession(page);
const PER_PAGE = 48;
const t0 = Date.now();
// Lines the layout left out, so that a resumed run does not draw them again: drawn again on a page
// of other lines, a line's pixels move a little and the layout may then keep it (c33 kept one so).
const leftOutPath = join(out, 'left-out.json');
const leftOut = new Set(existsSync(leftOutPath) ? JSON.parse(readFileSync(leftOutPath, 'utf8')) : []);
for (let start = 0; start < count; start += PER_PAGE) {
  const items = [];
  for (let i = start; i < Math.min(count, start + PER_PAGE); i++) {
    if (done.has(i) || leftOut.has(i)) continue;
    const rng = new SeededRandom(seed, i);
    // The dictionary draw comes last, and only when asked for, so that sets made without it
    // (run 5's) come out the same as before it existed.
    const chars = rng.chance(randomFraction);
    let text = chars ? randomChars(rng) : randomText(rng, { min_length: 1, max_length: 34 });
    if (!chars && dictionaryFraction > 0 && rng.chance(dictionaryFraction)) text = dictionaryText(rng).slice(0, 40).trim();
    if (!chars && longFraction > 0 && rng.chance(longFraction)) text = longText(rng);
    items.push({ i, text, style: style(rng), aug: augment(rng), rng });
  }
  if (items.length === 0) continue;
  const html = `<!doctype html><meta charset="utf-8"><style>${fontCss}\nbody{margin:0;padding:8px;background:#808080}div.s{display:block;width:max-content;white-space:pre;margin:0 0 6px 0}</style><body>` +
    items.map((it) => `<div class="s" style="${it.style.css}">${esc(it.text)}</div>`).join('') + '</body>';
  const file = join(profile, 'page.html');
  writeFileSync(file, html);
  await page.goto(`file://${file}`);
  await page.evaluate(() => document.fonts.ready);
  const rects = await page.evaluate(() => [...document.querySelectorAll('div.s')].map((d) => { const r = d.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }));
  // Each character's box (by UTF-16 index, as the text's own), for the text of each chunk.
  const charBoxes = keepChunks
    ? await page.evaluate(() =>
        [...document.querySelectorAll('div.s')].map((d) => {
          const node = d.firstChild;
          const range = document.createRange();
          const out = [];
          for (let i = 0; node && i < node.length; i++) {
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const r = range.getBoundingClientRect();
            out.push([r.left, r.top, r.right, r.bottom]);
          }
          return out;
        }),
      )
    : null;
  // The DevTools capture with optimizeForSpeed (a faster zlib level, still lossless), clipped to
  // the lines: Playwright's full-page PNG of the whole 2400-px-wide page took most of the time.
  const right = Math.ceil(Math.max(...rects.map((r) => r[2]))) + 8;
  const bottom = Math.ceil(Math.max(...rects.map((r) => r[3]))) + 8;
  const { data: b64 } = await cdp.send('Page.captureScreenshot', { format: 'png', optimizeForSpeed: true, captureBeyondViewport: true, clip: { x: 0, y: 0, width: right, height: bottom, scale: 1 } });
  const shot = Buffer.from(b64, 'base64');
  // Decoded once: cutting 48 boxes out of the PNG would decode the whole page 48 times.
  const { data: pagePx, info: pageInfo } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const W = pageInfo.width, H = pageInfo.height;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    const [l, t, r, b] = rects[k];
    // Rounded inwards: a row or column of the page's grey around the box would be a frame.
    const left = Math.max(0, Math.ceil(l)), top = Math.max(0, Math.ceil(t));
    const width = Math.min(W, Math.floor(r)) - left, height = Math.min(H, Math.floor(b)) - top;
    const box = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) pagePx.copy(box, y * width * 3, ((top + y) * W + left) * 3, ((top + y) * W + left + width) * 3);
    const png = await sharp(box, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const image = await degrade(png, it.aug, it.rng);
    const lines = findTextLines(image);
    if (process.env.OCR_LINES_DEBUG) await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).png().toFile(join(out, `debug-${it.i}.png`)).then(() => console.log(it.i, JSON.stringify(lines)));
    const texts =
      lines.length !== 1 ? null : lines[0].chunks.length === 1 ? [it.text] : keepChunks ? chunkTexts(it.text, charBoxes[k], [left, top, width, height], image, it.aug, lines[0].chunks) : null;
    if (!texts) {
      leftOut.add(it.i);
      continue;
    }
    const crops = lineCrops(image, lines);
    for (let c = 0; c < crops.length; c++) {
      const { crop } = crops[c];
      const name = `images/${String(it.i).padStart(7, '0')}${crops.length > 1 ? `-${c}` : ''}.png`;
      const tmp = join(out, `${name}.tmp`);
      await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } }).greyscale().png().toFile(tmp);
      renameSync(tmp, join(out, name));
      const chunk = crops.length > 1 ? { chunk: c, chunks: crops.length } : {};
      rows.push(JSON.stringify({ index: it.i, file_name: name, text: texts[c], ...chunk, font: it.style.font, size_px: it.style.size, dark: it.style.dark, ...it.aug }));
    }
  }
  // metadata.jsonl is rewritten whole after each page: a stopped run resumes where it was.
  writeFileSync(metaPath + '.tmp', rows.join('\n') + '\n');
  renameSync(metaPath + '.tmp', metaPath);
  writeFileSync(leftOutPath + '.tmp', JSON.stringify([...leftOut].sort((a, b) => a - b)));
  renameSync(leftOutPath + '.tmp', leftOutPath);
  if ((start / PER_PAGE) % 20 === 0) process.stderr.write(`${Math.min(count, start + PER_PAGE)}/${count} lines, ${leftOut.size} left out, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
await browser.close();
rmSync(profile, { recursive: true, force: true });
console.log(`${rows.length} lines in ${resolve(out)} (${leftOut.size} left out by the layout), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
