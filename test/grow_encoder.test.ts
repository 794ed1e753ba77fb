// scripts/grow-encoder.mjs deepens a trained encoder without changing what the model computes:
// the bundled OCR model's next round starts from the last one's weights this way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tensor } from '../src/runtime/tensor.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { FIXTURES, ROOT, rng } from './helpers.js';

const grow = (await import(pathToFileURL(join(ROOT, 'scripts', 'grow-encoder.mjs')).href)) as {
  grownPositions(from: number, to: number): number[];
  growEncoder(model: VisionEncoderDecoderModel, layers: number, o?: { seed?: number }): Promise<VisionEncoderDecoderModel>;
};

test('grow-encoder: old layers spread over the new stack; fewer layers is refused', () => {
  assert.deepEqual(grow.grownPositions(4, 8), [0, 2, 4, 6]);
  assert.deepEqual(grow.grownPositions(2, 3), [0, 1]);
  assert.deepEqual(grow.grownPositions(3, 3), [0, 1, 2]);
  assert.throws(() => grow.grownPositions(4, 3), /--layers must be an integer ≥ the encoder's 4 layers, got 3/);
});

test('grow-encoder: the grown model gives the same logits, and its new layers learn', async () => {
  const model = await VisionEncoderDecoderModel.from_pretrained(join(FIXTURES, 'hf', 'models', 'vit-trocr', 'model'));
  const grown = await grow.growEncoder(model, 5, { seed: 3 });
  assert.equal(grown.config.encoder.num_hidden_layers, 5);
  assert.equal(model.config.encoder.num_hidden_layers, 2, 'the original config is left alone');
  const r = rng(7);
  const pixel_values = new Tensor('float32', Float32Array.from({ length: 2 * 3 * 32 * 32 }, () => r() * 2 - 1), [2, 3, 32, 32]);
  const decoder_input_ids = new Tensor('int64', BigInt64Array.from([2n, 5n, 9n, 2n, 7n, 4n]), [2, 3]);
  const a = await model.forward({ pixel_values, decoder_input_ids });
  const b = await grown.forward({ pixel_values, decoder_input_ids });
  const x = a.logits.data as Float32Array;
  const y = b.logits.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / (Math.abs(x[i]) + 1e-3));
  assert.ok(worst < 1e-5, `logits within 1e-5 relative, worst ${worst}`);
  // The zeroed projections of a new layer (layer 1: old layers went to 0 and 2) get gradient at once.
  const labels = new Tensor('int64', BigInt64Array.from([5n, 9n, 2n, 4n, 2n, 2n]), [2, 3]);
  const { grads } = await grown.compute_gradients({ pixel_values, labels });
  for (const name of ['encoder.encoder.layer.1.attention.output.dense.weight', 'encoder.encoder.layer.1.output.dense.weight']) {
    const w = grown.state_dict().get(name)!.data as Float32Array;
    assert.ok(w.every((v) => v === 0), `${name} starts at zero`);
    const g = grads.get(name)!.data as Float32Array;
    assert.ok(g.some((v) => Math.abs(v) > 1e-8), `${name} has gradient`);
  }
});
