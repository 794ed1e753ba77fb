// Renders the 36-class single-character set of glyph_baselines.py (0-9, A-Z cycled, 2000 lines,
// the synthetic renderer's fonts and noise), processes it to 32x32 like the probes do (mean and
// std 0.5) and writes OUT/glyphs.safetensors: x [2000, 3, 32, 32] and the class ids y.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const L = await import(new URL('../../dist/src/index.js', import.meta.url).href);
const OUT = process.env.OUT ?? '.tmp-torch-reference';
const dir = join(OUT, 'glyphs');
mkdirSync(dir, { recursive: true });
const chars = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
await L.generateTextLines({ out: dir, count: 2000, seed: 5, height: 40, texts: chars, overwrite: true });
const rows = readFileSync(join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ip = new L.ViTImageProcessor({ size: { height: 32, width: 32 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
const { pixel_values } = await ip.preprocess(rows.map((r) => join(dir, r.file_name)));
const y = new L.Tensor('float32', Float32Array.from(rows.map((r) => chars.indexOf(r.text))), [rows.length]);
L.saveSafetensorsSync(join(OUT, 'glyphs.safetensors'), { x: pixel_values, y });
console.log(`${rows.length} images of ${chars.length} classes in ${OUT}/glyphs.safetensors`);
