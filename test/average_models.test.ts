// scripts/average-models.mjs: the weighted mean of models of one architecture (checkpoint
// averaging, or a soup of runs from one start), which the OCR recipe measures at a round's end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tensor } from '../src/runtime/tensor.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { FIXTURES, ROOT, rng } from './helpers.js';

const avg = (await import(pathToFileURL(join(ROOT, 'scripts', 'average-models.mjs')).href)) as {
  averageModels(models: VisionEncoderDecoderModel[], weights?: number[]): VisionEncoderDecoderModel;
};
const DIR = join(FIXTURES, 'hf', 'models', 'vit-trocr', 'model');
const inputs = () => ({
  pixel_values: new Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.25), [1, 3, 32, 32]),
  decoder_input_ids: new Tensor('int64', BigInt64Array.from([2n, 5n, 9n]), [1, 3]),
});
const logits = async (m: VisionEncoderDecoderModel) => [...((await m.forward(inputs())).logits.data as Float32Array)];

test('average-models: each weight is the weighted mean, and the forward pass uses it', async () => {
  const a = await VisionEncoderDecoderModel.from_pretrained(DIR);
  const b = await VisionEncoderDecoderModel.from_pretrained(DIR);
  const original = new Map([...a.state_dict()].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
  const r = rng(5);
  for (const t of b.state_dict().values()) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] += r() - 0.5;
  }
  b.weights_changed();
  const other = new Map([...b.state_dict()].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
  const before = await logits(a); // sessions built from the old weights
  const mean = avg.averageModels([a, b], [3, 1]);
  assert.equal(mean, a, 'written into the first model');
  let worst = 0;
  for (const [k, t] of mean.state_dict()) {
    const d = t.data as Float32Array;
    const x = original.get(k)!;
    const y = other.get(k)!;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - (0.75 * x[i] + 0.25 * y[i])));
  }
  assert.ok(worst < 1e-6, `weights are 0.75 a + 0.25 b, worst error ${worst}`);
  // The sessions were built before the change: they must now run the mean.
  const after = await logits(a);
  const fresh = await VisionEncoderDecoderModel.from_pretrained(DIR);
  const sd = fresh.state_dict();
  for (const [k, t] of mean.state_dict()) (sd.get(k)!.data as Float32Array).set(t.data as Float32Array);
  fresh.weights_changed();
  const expected = await logits(fresh);
  const gap = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
  assert.ok(gap(after, expected) < 1e-5, `logits as a fresh model with the mean's weights, gap ${gap(after, expected)}`);
  assert.ok(gap(after, before) > 1e-3, 'and not the first model’s old logits');
});

test('average-models: a different architecture or bad weights is refused by name', async () => {
  const a = await VisionEncoderDecoderModel.from_pretrained(DIR);
  const other = await VisionEncoderDecoderModel.from_pretrained(join(FIXTURES, 'hf', 'models', 'vit-gpt2', 'model'));
  assert.throws(() => avg.averageModels([a]), /at least two models/);
  assert.throws(() => avg.averageModels([a, a], [1, -1]), /--weights needs 2 numbers ≥ 0/);
  assert.throws(() => avg.averageModels([a, other]), /average-models: model 2 (has|lacks) weight|is \[/);
});
