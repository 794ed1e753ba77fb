import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageTextDataset, parseCsv } from '../src/training/datasets.js';

let dir: string;
let png: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ved-datasets-'));
  png = await sharp({ create: { width: 7, height: 3, channels: 3, background: { r: 200, g: 10, b: 30 } } }).png().toBuffer();
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with `n` images img0.png.. and the given metadata file. */
function makeFolder(name: string, n: number, metaName: string | null, meta: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(d, `img${i}.png`), png);
  if (metaName) writeFileSync(join(d, metaName), meta);
  return d;
}

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

test('jsonl imagefolder: rows, absolute image paths, texts', async () => {
  const d = makeFolder('plain', 3, 'metadata.jsonl', jsonl([0, 1, 2].map((i) => ({ file_name: `img${i}.png`, text: `line ${i}` }))));
  const ds = await loadImageTextDataset(d);
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.get(1), { image_path: join(d, 'img1.png'), text: 'line 1' });
  assert.deepEqual(ds.texts(), ['line 0', 'line 1', 'line 2']);
  assert.equal(ds.bad_rows.length, 0);
  assert.throws(() => ds.get(3), /index 3 out of range for 3/);
  await assert.rejects(loadImageTextDataset(d, { split: 'test' }), /no 'test' split/);
});

test('bad rows: reported with file and line, skipped with one summary warning, or fatal', async () => {
  const lines = [
    JSON.stringify({ file_name: 'img0.png', text: 'good' }), // 1
    '', // 2: blank, ignored
    '{"file_name": "img1.png", "text": ', // 3: malformed JSON
    JSON.stringify({ file_name: 'img1.png' }), // 4: no text
    JSON.stringify({ file_name: 'nope.png', text: 'x' }), // 5: missing file
    JSON.stringify({ file_name: 'img2.png', text: '  ' }), // 6: empty text
    JSON.stringify(['img2.png', 'a list']), // 7: not an object
    JSON.stringify({ file_name: 'img2.png', text: 'also good' }), // 8
  ];
  const d = makeFolder('bad', 3, 'metadata.jsonl', lines.join('\n'));
  const warnings: string[] = [];
  const ds = await loadImageTextDataset(d, { warn: (m) => warnings.push(m) });
  assert.deepEqual(ds.texts(), ['good', 'also good']);
  assert.deepEqual(ds.bad_rows.map((b) => [b.line, b.kind]), [
    [3, 'malformed row'], [4, 'missing column'], [5, 'missing image'], [6, 'empty text'], [7, 'malformed row'],
  ]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /metadata\.jsonl: skipped 5 of 7 rows \(2 malformed row, 1 missing column, 1 missing image, 1 empty text\)/);
  assert.match(warnings[0]!, /line 3: malformed JSON/);
  await assert.rejects(loadImageTextDataset(d, { on_bad_row: 'error' }), (e: Error) => {
    assert.ok(e.message.startsWith(join(d, 'metadata.jsonl') + ':3: malformed JSON'), e.message);
    return true;
  });
});

test('metadata.csv with RFC-4180 quoting; line numbers count quoted line breaks', async () => {
  const csv = 'file_name,text\r\n' + // 1
    'img0.png,"Hello, world"\r\n' + // 2
    'img1.png,"She said ""hi""\nand left"\r\n' + // 3-4
    'img2.png,too,many\r\n' + // 5: three fields
    'img2.png,plain text\r\n'; // 6
  const d = makeFolder('csv', 3, 'metadata.csv', csv);
  const ds = await loadImageTextDataset(d, { warn: () => {} });
  assert.deepEqual(ds.texts(), ['Hello, world', 'She said "hi"\nand left', 'plain text']);
  assert.deepEqual(ds.bad_rows.map((b) => b.line), [5]);
  assert.match(ds.bad_rows[0]!.reason, /expected 2 fields as in the header, found 3/);
});

test('a CSV file given directly, with another text column; missing columns are named', async () => {
  const d = makeFolder('direct', 2, null, '');
  writeFileSync(join(d, 'labels.csv'), 'id,file_name,transcription\n1,img0.png,abc\n2,img1.png,"d,e"\n');
  const ds = await loadImageTextDataset(join(d, 'labels.csv'), { text_column: 'transcription' });
  assert.deepEqual(ds.texts(), ['abc', 'd,e']);
  assert.equal(ds.get(0).image_path, join(d, 'img0.png'));
  await assert.rejects(loadImageTextDataset(join(d, 'labels.csv')), /labels\.csv:1: header has no 'text' column \(columns: id, file_name, transcription\)/);
});

test('parseCsv: quotes, CR/LF variants, blank lines, unclosed quote', () => {
  assert.deepEqual(parseCsv('\uFEFFa,b\n\n"x""y",\r"1\r\n2",3'), [
    { fields: ['a', 'b'], line: 1 },
    { fields: ['x"y', ''], line: 3 },
    { fields: ['1\r\n2', '3'], line: 4 },
  ]);
  const r = parseCsv('a,b\n1,"open\n2,3\n');
  assert.equal(r.length, 2);
  assert.equal(r[1]!.line, 2);
  assert.match(r[1]!.error!, /opened on line 2 is never closed/);
  assert.match(parseCsv('"ab"c,d')[0]!.error!, /after a closing quote/);
  assert.deepEqual(parseCsv('a"b,c')[0]!.fields, ['a"b', 'c']); // a stray quote is kept, as Python's csv
});

test('split subfolders win; otherwise a seeded validation fraction, disjoint and repeatable', async () => {
  const root = join(dir, 'splits');
  makeFolder('splits/train', 4, 'metadata.jsonl', jsonl([0, 1, 2, 3].map((i) => ({ file_name: `img${i}.png`, text: `t${i}` }))));
  makeFolder('splits/validation', 1, 'metadata.jsonl', jsonl([{ file_name: 'img0.png', text: 'v0' }]));
  const train = await loadImageTextDataset(root, { validation_fraction: 0.5 });
  assert.deepEqual(train.texts(), ['t0', 't1', 't2', 't3']); // explicit validation/ wins over the fraction
  const val = await loadImageTextDataset(root, { split: 'validation' });
  assert.deepEqual(val.texts(), ['v0']);
  await assert.rejects(loadImageTextDataset(root, { split: 'test' }), /has no 'test' split; it has 'train', 'validation'/);

  const n = 20;
  const d = makeFolder('fraction', n, 'metadata.jsonl', jsonl(Array.from({ length: n }, (_, i) => ({ file_name: `img${i}.png`, text: `r${i}` }))));
  const opts = { validation_fraction: 0.25, seed: 7 };
  const tr = await loadImageTextDataset(d, opts);
  const va = await loadImageTextDataset(d, { ...opts, split: 'validation' });
  assert.equal(va.length, 5);
  assert.equal(tr.length, 15);
  assert.deepEqual([...tr.texts(), ...va.texts()].sort(), Array.from({ length: n }, (_, i) => `r${i}`).sort());
  assert.deepEqual((await loadImageTextDataset(d, { ...opts, split: 'validation' })).texts(), va.texts());
  const other = await loadImageTextDataset(d, { validation_fraction: 0.25, seed: 8, split: 'validation' });
  assert.notDeepEqual(other.texts(), va.texts());
  await assert.rejects(loadImageTextDataset(d, { split: 'validation' }), /pass validation_fraction/);
  await assert.rejects(loadImageTextDataset(d, { validation_fraction: 1.5 }), /between 0 and 1/);

  // only train/ present: the fraction carves validation from it
  makeFolder('trainonly/train', n, 'metadata.jsonl', jsonl(Array.from({ length: n }, (_, i) => ({ file_name: `img${i}.png`, text: `r${i}` }))));
  const tv = await loadImageTextDataset(join(dir, 'trainonly'), { ...opts, split: 'validation' });
  assert.deepEqual(tv.texts(), va.texts());
});

test('shuffle and train_test_split are seeded permutations', async () => {
  const n = 30;
  const d = makeFolder('shuffle', n, 'metadata.jsonl', jsonl(Array.from({ length: n }, (_, i) => ({ file_name: `img${i % 3}.png`, text: `s${i}` }))));
  const ds = await loadImageTextDataset(d);
  const a = ds.shuffle(1).texts();
  assert.deepEqual(ds.shuffle(1).texts(), a);
  assert.notDeepEqual(ds.shuffle(2).texts(), a);
  assert.notDeepEqual(a, ds.texts());
  assert.deepEqual([...a].sort(), [...ds.texts()].sort());
  const { train, test: held } = ds.train_test_split(0.1, 3);
  assert.equal(held.length, 3);
  assert.equal(train.length, 27);
  assert.equal(new Set([...train.texts(), ...held.texts()]).size, n);
  assert.deepEqual(ds.select([2, 0]).texts(), ['s2', 's0']);
  assert.deepEqual([...ds.select([0, 1, 2, 3, 4]).batches(2)], [[0, 1], [2, 3], [4]]);
  assert.deepEqual([...ds.select([0, 1, 2, 3, 4]).batches(2, { drop_last: true })], [[0, 1], [2, 3]]);
});

test('loadBatch decodes lazily and reports unreadable images by path without throwing', async () => {
  const d = makeFolder('batch', 3, 'metadata.jsonl', jsonl([0, 1, 2].map((i) => ({ file_name: `img${i}.png`, text: `b${i}` }))));
  const warnings: string[] = [];
  const ds = await loadImageTextDataset(d, { warn: (m) => warnings.push(m) });
  writeFileSync(join(d, 'img1.png'), Buffer.from('this is not a PNG'));
  unlinkSync(join(d, 'img2.png')); // removed after loading: found at batch time
  const batch = await ds.loadBatch([2, 0, 1]);
  assert.deepEqual(batch.examples.map((e) => [e.index, e.text]), [[0, 'b0']]);
  const img = batch.examples[0]!.image!;
  assert.deepEqual([img.width, img.height, img.channels], [7, 3, 3]);
  assert.deepEqual([...img.data.subarray(0, 3)], [200, 10, 30]);
  assert.deepEqual(batch.failed.map((f) => [f.index, f.image_path]), [[2, join(d, 'img2.png')], [1, join(d, 'img1.png')]]);
  assert.match(batch.failed[0]!.reason, /file not found/);
  assert.equal(warnings.length, 2);
  assert.ok(warnings.some((w) => w.includes(join(d, 'img1.png'))));
  // known failures are skipped without another read or warning
  const again = await ds.shuffle(5).loadBatch([0, 1, 2], { decode: false });
  assert.equal(again.examples.length, 1);
  assert.equal(again.examples[0]!.image, undefined);
  assert.equal(again.examples[0]!.bytes.length, png.length);
  assert.equal(warnings.length, 2);
});
