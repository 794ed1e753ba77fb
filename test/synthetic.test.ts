import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import sharp from 'sharp';
import { generateTextLines, listFontFaces, randomText, renderTextLine } from '../src/training/synthetic.js';
import { SeededRandom } from '../src/training/random.js';
import { loadImageTextDataset } from '../src/training/datasets.js';
import { ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ved-synthetic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Grey levels of a PNG (luma for RGB). */
async function gray(png: Buffer | string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

test('fonts: every face is read from an npm font package, all kinds of face present', () => {
  const faces = listFontFaces();
  const families = new Set(faces.map((f) => f.family));
  assert.ok(families.size >= 15, `${families.size} families`);
  for (const cat of ['serif', 'sans', 'mono', 'condensed', 'slab']) assert.ok(faces.some((f) => f.category === cat), cat);
  for (const style of ['regular', 'bold', 'italic', 'bold-italic']) assert.ok(faces.some((f) => f.style === style), style);
  for (const f of faces) assert.ok(f.file.includes(`${sep}@fontsource${sep}`) && f.file.endsWith('.woff'), f.file);
});

test('randomText: seeded, 1-40 characters, no stray spaces, varied content', () => {
  const a = Array.from({ length: 400 }, (_, i) => randomText(new SeededRandom(3, i)));
  const b = Array.from({ length: 400 }, (_, i) => randomText(new SeededRandom(3, i)));
  assert.deepEqual(a, b);
  for (const t of a) {
    assert.ok(t.length >= 1 && t.length <= 40, JSON.stringify(t));
    assert.equal(t, t.trim());
    assert.ok(!t.includes('  '), JSON.stringify(t));
  }
  assert.ok(a.some((t) => /^\d{4}-\d\d-\d\d$/.test(t)), 'ISO dates');
  assert.ok(a.some((t) => /[$€£]\d/.test(t)), 'prices');
  assert.ok(a.some((t) => /^[a-z]+$/.test(t)) && a.some((t) => /^[A-Z ]+$/.test(t)), 'lower and upper case words');
  assert.ok(a.some((t) => t.length >= 30), 'long lines');
  assert.ok(a.some((t) => t.length <= 3), 'short lines');
  assert.ok(new Set(a).size > 350);
  const short = Array.from({ length: 100 }, (_, i) => randomText(new SeededRandom(4, i), { min_length: 5, max_length: 12 }));
  for (const t of short) assert.ok(t.length >= 5 && t.length <= 12, JSON.stringify(t));
});

test('generateTextLines: a seeded run is byte-identical twice and readable as a dataset', async () => {
  const opts = { count: 20, seed: 11, height: 32 };
  const r1 = await generateTextLines({ ...opts, out: join(dir, 'a') });
  await generateTextLines({ ...opts, out: join(dir, 'b'), concurrency: 1 }); // order of rendering does not matter
  await generateTextLines({ ...opts, seed: 12, out: join(dir, 'c') });
  assert.equal(r1.count, 20);
  const files = readdirSync(join(dir, 'a', 'images')).sort();
  assert.equal(files.length, 20);
  assert.deepEqual(readdirSync(join(dir, 'b', 'images')).sort(), files);
  for (const f of files) {
    assert.ok(readFileSync(join(dir, 'a', 'images', f)).equals(readFileSync(join(dir, 'b', 'images', f))), f);
  }
  const meta = readFileSync(join(dir, 'a', 'metadata.jsonl'), 'utf8');
  assert.equal(meta, readFileSync(join(dir, 'b', 'metadata.jsonl'), 'utf8'));
  assert.notEqual(meta, readFileSync(join(dir, 'c', 'metadata.jsonl'), 'utf8'));

  const rows = meta.trim().split('\n').map((l) => JSON.parse(l) as { file_name: string; text: string; font: string });
  assert.deepEqual(rows.map((r) => r.file_name), files.map((f) => `images/${f}`));
  const ds = await loadImageTextDataset(join(dir, 'a'));
  assert.equal(ds.length, 20);
  assert.deepEqual(ds.texts(), rows.map((r) => r.text));
  const batch = await ds.loadBatch([...Array(20).keys()]);
  assert.equal(batch.failed.length, 0);
  for (const ex of batch.examples) {
    const img = ex.image!;
    assert.equal(img.height, 32);
    assert.ok(img.width >= 16);
  }
  assert.ok(new Set(rows.map((r) => r.font.replace(/ (regular|bold|italic|bold-italic)$/, ''))).size >= 8, 'many families');
  await assert.rejects(generateTextLines({ ...opts, out: join(dir, 'a') }), /already exists; pass overwrite: true/);
});

test('rendered lines carry ink: dark text pixels well below the paper', async () => {
  const out = join(dir, 'ink');
  await generateTextLines({ out, count: 20, seed: 5, height: 40, color: 'gray', texts: ['Hamburg 1920', 'x', 'Total: $45.20'] });
  for (const f of readdirSync(join(out, 'images'))) {
    const meta = await sharp(join(out, 'images', f)).metadata();
    assert.equal(meta.channels, 1, `${f} is grey`);
    const { data } = await gray(join(out, 'images', f));
    const sorted = Uint8Array.from(data).sort();
    const paper = sorted[Math.floor(sorted.length / 2)]!;
    const inked = data.filter((v) => v < paper - 40).length / data.length;
    assert.ok(inked > 0.004, `${f}: only ${(inked * 100).toFixed(2)}% of pixels are ink`);
  }
});

test('the chosen font file really draws the glyphs: monospaced vs proportional widths', async () => {
  const width = async (text: string, font: string) =>
    (await renderTextLine(text, new SeededRandom(1), { height: 40, fonts: [font] })).width;
  // Same seed → same size, spacing and margins; only the glyphs' advances differ.
  const mono = (await width('MMMMMMMM', 'Courier Prime')) / (await width('iiiiiiii', 'Courier Prime'));
  const prop = (await width('MMMMMMMM', 'Roboto')) / (await width('iiiiiiii', 'Roboto'));
  assert.ok(mono > 0.9 && mono < 1.25, `Courier Prime M/i width ratio ${mono}`);
  assert.ok(prop > 1.8, `Roboto M/i width ratio ${prop}`);

  const a = await renderTextLine('Quick brown fox', new SeededRandom(2), { height: 40, fonts: ['Tinos'] });
  const b = await renderTextLine('Quick brown fox', new SeededRandom(2), { height: 40, fonts: ['Barlow Condensed'] });
  assert.match(a.font, /^Tinos/);
  assert.match(b.font, /^Barlow Condensed/);
  assert.ok(b.width < a.width, 'the condensed face is narrower');
  await assert.rejects(renderTextLine('x', new SeededRandom(0), { fonts: ['Comic Sans'] }), /no font matches \["Comic Sans"\]/);
});

test('fixed canvas width and RGB output', async () => {
  const line = await renderTextLine('A fairly long line of printed text, 2024', new SeededRandom(9), { height: 32, width: 160 });
  const meta = await sharp(line.png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [160, 32, 3]);
});

test('examples/: the shipped line images are a readable dataset with their true texts', async () => {
  const ds = await loadImageTextDataset(join(ROOT, 'examples'));
  assert.ok(ds.length >= 4);
  const readme = readFileSync(join(ROOT, 'examples', 'README.md'), 'utf8');
  const batch = await ds.loadBatch([...Array(ds.length).keys()]);
  assert.equal(batch.failed.length, 0);
  for (const ex of batch.examples) {
    assert.ok(readme.includes('`' + ex.text + '`'), `README lists ${ex.text}`);
    assert.equal(ex.image!.height, 48);
  }
});
