// The auxiliary CTC loss (training/ctc.ts): the loss against a sum over every path, its gradient
// against finite differences, no alignment when the line has more characters than columns; and
// the model's encoder_hidden_grad hook: the gradient it adds is that of sum(states · seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoConfig, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { Tensor } from '../src/runtime/tensor.js';
import { ctcLoss, CtcHead } from '../src/training/ctc.js';
import { SeededRandom } from '../src/training/random.js';

function logSoftmax(z: Float64Array, T: number, C: number): Float32Array {
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, z[t * C + k]!);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[t * C + k]! - m);
    for (let k = 0; k < C; k++) out[t * C + k] = z[t * C + k]! - m - Math.log(s);
  }
  return out;
}

/** -log of the summed probability of every frame path that collapses to `target`. */
function bruteForce(logp: Float32Array, T: number, C: number, target: number[], blank: number): number {
  let total = 0;
  const path: number[] = [];
  const walk = (t: number, logProb: number): void => {
    if (t === T) {
      const out: number[] = [];
      let prev = -1;
      for (const k of path) {
        if (k !== prev && k !== blank) out.push(k);
        prev = k;
      }
      if (out.join() === target.join()) total += Math.exp(logProb);
      return;
    }
    for (let k = 0; k < C; k++) {
      path.push(k);
      walk(t + 1, logProb + logp[t * C + k]!);
      path.pop();
    }
  };
  walk(0, 0);
  return -Math.log(total);
}

test('ctcLoss: equals the sum over all paths; gradient = finite differences; null without an alignment', () => {
  const rng = new SeededRandom(7);
  const T = 6;
  const C = 4;
  for (const [target, blank] of [[[1, 1, 3], 0], [[2, 3], 0], [[0, 2, 2, 0], 1], [[3], 2]] as Array<[number[], number]>) {
    const z = Float64Array.from({ length: T * C }, () => rng.normal(0, 1.5));
    const r = ctcLoss(logSoftmax(z, T, C), T, C, target, blank)!;
    const brute = bruteForce(logSoftmax(z, T, C), T, C, target, blank);
    assert.ok(Math.abs(r.loss - brute) <= 1e-5 * brute, `target ${target}: loss ${r.loss} vs all paths ${brute}`);
    for (let i = 0; i < T * C; i++) {
      const h = 1e-3;
      const up = Float64Array.from(z);
      up[i] += h;
      const down = Float64Array.from(z);
      down[i] -= h;
      const fd = (ctcLoss(logSoftmax(up, T, C), T, C, target, blank)!.loss - ctcLoss(logSoftmax(down, T, C), T, C, target, blank)!.loss) / (2 * h);
      assert.ok(Math.abs(fd - r.grad[i]!) <= 2e-3 * Math.max(1, Math.abs(fd)), `target ${target}, logit ${i}: gradient ${r.grad[i]} vs finite difference ${fd}`);
    }
  }
  // "aab" needs a blank between the a's: 4 frames; 3 are too few.
  const z = Float64Array.from({ length: 3 * C }, () => rng.normal());
  assert.equal(ctcLoss(logSoftmax(z, 3, C), 3, C, [1, 1, 2], 0), null);
  assert.ok(ctcLoss(logSoftmax(Float64Array.from({ length: 4 * C }, () => rng.normal()), 4, C), 4, C, [1, 1, 2], 0) !== null);
});

function tinyModel(): VisionEncoderDecoderModel {
  const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
    AutoConfig.for_model('vit', { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, image_size: [8, 32], patch_size: [8, 4] }),
    AutoConfig.for_model('gpt2', { n_embd: 16, n_layer: 1, n_head: 2, vocab_size: 12, n_positions: 16, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }),
    { decoder_start_token_id: 0, pad_token_id: 1, eos_token_id: 2 },
  );
  return new VisionEncoderDecoderModel({ config, seed: 3 });
}

test('compute_gradients with encoder_hidden_grad adds the gradient of sum(encoder states · seed)', async () => {
  const model = tinyModel();
  const rng = new SeededRandom(11);
  const pixel_values = new Tensor('float32', Float32Array.from({ length: 2 * 3 * 8 * 32 }, () => rng.normal()), [2, 3, 8, 32]);
  const labels = new Tensor('int64', BigInt64Array.from([3, 4, 5, 2, 6, 7, 2, -100].map(BigInt)), [2, 4]);
  const seed = new Tensor('float32', Float32Array.from({ length: 2 * 9 * 16 }, () => rng.normal()), [2, 9, 16]);
  const plain = await model.compute_gradients({ pixel_values, labels });
  const withSeed = await model.compute_gradients({ pixel_values, labels, encoder_hidden_grad: seed });
  assert.equal(withSeed.loss, plain.loss, 'the reported loss is the decoder cross-entropy alone');

  // The final LayerNorm's bias adds straight onto the states: its extra gradient is the seed summed.
  const db = withSeed.grads.get('encoder.layernorm.bias')!.data as Float32Array;
  const db0 = plain.grads.get('encoder.layernorm.bias')!.data as Float32Array;
  for (let k = 0; k < 16; k++) {
    let want = 0;
    for (let i = 0; i < 2 * 9; i++) want += seed.data[i * 16 + k] as number;
    assert.ok(Math.abs(db[k]! - db0[k]! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `layernorm.bias[${k}]`);
  }
  // Deeper in: the patch projection's bias, against finite differences of sum(states · seed).
  const objective = async (): Promise<number> => {
    const h = (await model.forward({ pixel_values, decoder_input_ids: new Tensor('int64', new BigInt64Array([0n, 0n]), [2, 1]) })).encoder_last_hidden_state.data as Float32Array;
    let s = 0;
    for (let i = 0; i < h.length; i++) s += h[i]! * (seed.data[i] as number);
    return s;
  };
  const name = 'encoder.embeddings.patch_embeddings.projection.bias';
  const w = model.named_parameters().get(name)!.data as Float32Array;
  const extra = (k: number) => (withSeed.grads.get(name)!.data as Float32Array)[k]! - (plain.grads.get(name)!.data as Float32Array)[k]!;
  for (const k of [0, 5, 11]) {
    const h = 1e-2;
    const keep = w[k]!;
    w[k] = keep + h;
    model.weights_changed();
    const up = await objective();
    w[k] = keep - h;
    model.weights_changed();
    const down = await objective();
    w[k] = keep;
    model.weights_changed();
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(extra(k) - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `${name}[${k}]: ${extra(k)} vs finite difference ${fd}`);
  }
});

test('CtcHead: gradients of the batch loss against finite differences, for the head and the encoder states', async () => {
  const rng = new SeededRandom(5);
  const head = new CtcHead({ hidden_size: 6, vocab_size: 5, blank: 1, special_ids: [0, 2], prefix_tokens: 1, grid: [2, 4], init_std: 0.5, seed: 1 });
  const B = 2;
  const N = 1 + 2 * 4;
  const h = new Tensor('float32', Float32Array.from({ length: B * N * 6 }, () => rng.normal()), [B, N, 6]);
  // Row 0 → targets 3 4 (eos and padding left out); row 1 → 4 3 3 (needs 4 columns: it fits).
  const labels = new Tensor('int64', BigInt64Array.from([3, 4, 2, -100, 4, 3, 3, 2].map(BigInt)), [B, 4]);
  const r = await head.lossAndGradients(h, labels, 1);
  assert.equal(r.examples, 2);
  const lossAt = async () => (await head.lossAndGradients(h, labels, 1)).loss_sum;
  const check = async (data: Float32Array, grad: Float32Array, what: string, idx: number[]) => {
    for (const k of idx) {
      const e = 1e-2;
      const keep = data[k]!;
      data[k] = keep + e;
      const up = await lossAt();
      data[k] = keep - e;
      const down = await lossAt();
      data[k] = keep;
      const fd = (up - down) / (2 * e);
      assert.ok(Math.abs(grad[k]! - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `${what}[${k}]: ${grad[k]} vs finite difference ${fd}`);
    }
  };
  await check(head.weight.data as Float32Array, r.grads.get('ctc_head.weight')!.data as Float32Array, 'weight', [0, 7, 13, 29]);
  await check(head.bias.data as Float32Array, r.grads.get('ctc_head.bias')!.data as Float32Array, 'bias', [0, 1, 3, 4]);
  await check(h.data as Float32Array, r.encoder_hidden_grad.data as Float32Array, 'states', [6, 20, 40, 60, 100]);
  // The CLS token is not a column: no gradient.
  assert.ok((r.encoder_hidden_grad.data as Float32Array).subarray(0, 6).every((v) => v === 0));
});
