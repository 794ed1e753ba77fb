// Renders text lines with a real browser (headless Chromium) in common system fonts, as a test
// set from a different renderer than the one the bundled OCR model was trained on
// (src/training/synthetic.ts draws glyph outlines with opentype.js + librsvg).
//
//   node scripts/browser-lines.mjs TEXTS.jsonl OUT [COUNT]
//
// TEXTS.jsonl: rows with a "text" field (e.g. a held-out synthetic set's metadata.jsonl).
// Needs Debian's chromium, fonts-dejavu-core and fonts-liberation. Writes OUT/images/*.png and
// OUT/metadata.jsonl (an imagefolder dataset for `ved eval`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const [textsFile, out, countArg] = process.argv.slice(2);
if (!textsFile || !out) {
  console.error('usage: node scripts/browser-lines.mjs TEXTS.jsonl OUT [COUNT]');
  process.exit(2);
}
const count = Number(countArg ?? 100);
const texts = readFileSync(textsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text).slice(0, count);
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'Liberation Sans', 'Liberation Serif', 'Liberation Mono', 'Liberation Sans Narrow'];
const ROW = 64;
const WIDTH = 1600;
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const rows = texts.map((t, i) => {
  const font = FONTS[i % FONTS.length];
  const size = 20 + ((i * 7) % 13); // 20-32 px
  const weight = i % 5 === 0 ? 'bold' : 'normal';
  const style = i % 7 === 3 ? 'italic' : 'normal';
  return { t, font, size, weight, style, html: `<div style="height:${ROW}px;line-height:${ROW}px;font-family:'${font}';font-size:${size}px;font-weight:${weight};font-style:${style};padding-left:12px;white-space:pre">${esc(t)}</div>` };
});
const page = `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#fff;color:#111">${rows.map((r) => r.html).join('')}</body>`;
const dir = mkdtempSync(join(tmpdir(), 'browser-lines-'));
writeFileSync(join(dir, 'page.html'), page);
const shot = join(dir, 'page.png');
execFileSync('chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--hide-scrollbars',
  `--window-size=${WIDTH},${ROW * rows.length}`, `--screenshot=${shot}`, `file://${join(dir, 'page.html')}`,
], { stdio: 'ignore' });
mkdirSync(join(out, 'images'), { recursive: true });
const meta = [];
for (let i = 0; i < rows.length; i++) {
  const name = `images/${String(i).padStart(4, '0')}.png`;
  // Cut the row, trim the white around the text, keep a small margin as a scanned line would have.
  const row = await sharp(shot).extract({ left: 0, top: i * ROW, width: WIDTH, height: ROW }).png().toBuffer();
  const trimmed = await sharp(row).trim({ background: '#ffffff', threshold: 10 }).png().toBuffer();
  await sharp(trimmed).extend({ top: 6, bottom: 6, left: 8, right: 8, background: '#ffffff' }).png().toFile(join(out, name));
  meta.push(JSON.stringify({ file_name: name, text: rows[i].t, font: `${rows[i].font} ${rows[i].size}px ${rows[i].weight} ${rows[i].style}` }));
}
writeFileSync(join(out, 'metadata.jsonl'), meta.join('\n') + '\n');
console.log(`${rows.length} browser-rendered lines in ${out}`);
