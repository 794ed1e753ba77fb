// The auxiliary CTC loss (training/ctc.ts), built into a graph: against a float64 forward-backward
// reference (here), which is checked against the sum over every path and finite differences; no
// alignment when the line has more characters than columns; and the model's auxiliary_loss hook:
// the gradient it adds is that of the loss it builds (sum(states · seed) here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoConfig, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { Tensor } from '../src/runtime/tensor.js';
import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { grad } from '../src/graph/autodiff.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { CtcHead } from '../src/training/ctc.js';
import { SeededRandom } from '../src/training/random.js';

const NEG_INF = -Infinity;

function logAddExp(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * The reference: CTC's negative log-likelihood of `target` under per-frame log-probabilities
 * `logp` ([T, C]) in float64, and its gradient with respect to the logits that gave them by
 * log-softmax (softmax − state occupancy, from alpha and beta). null when no alignment exists.
 */
function ctcLoss(logp: ArrayLike<number>, T: number, C: number, target: readonly number[], blank: number): { loss: number; grad: Float64Array } | null {
  const L = target.length;
  const S = 2 * L + 1;
  const ext = new Int32Array(S).fill(blank);
  for (let i = 0; i < L; i++) ext[2 * i + 1] = target[i]!;
  const skip = (s: number) => s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2];
  const alpha = new Float64Array(T * S).fill(NEG_INF);
  const beta = new Float64Array(T * S).fill(NEG_INF);
  alpha[0] = logp[blank]!;
  if (S > 1) alpha[1] = logp[ext[1]!]!;
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let a = alpha[(t - 1) * S + s]!;
      if (s >= 1) a = logAddExp(a, alpha[(t - 1) * S + s - 1]!);
      if (skip(s)) a = logAddExp(a, alpha[(t - 1) * S + s - 2]!);
      alpha[t * S + s] = a === NEG_INF ? NEG_INF : a + logp[t * C + ext[s]!]!;
    }
  }
  beta[(T - 1) * S + S - 1] = 0;
  if (S > 1) beta[(T - 1) * S + S - 2] = 0;
  for (let t = T - 2; t >= 0; t--) {
    for (let s = 0; s < S; s++) {
      let b = beta[(t + 1) * S + s]! + logp[(t + 1) * C + ext[s]!]!;
      if (s + 1 < S) b = logAddExp(b, beta[(t + 1) * S + s + 1]! + logp[(t + 1) * C + ext[s + 1]!]!);
      if (s + 2 < S && skip(s + 2)) b = logAddExp(b, beta[(t + 1) * S + s + 2]! + logp[(t + 1) * C + ext[s + 2]!]!);
      beta[t * S + s] = b;
    }
  }
  const logP = S > 1 ? logAddExp(alpha[(T - 1) * S + S - 1]!, alpha[(T - 1) * S + S - 2]!) : alpha[(T - 1) * S]!;
  if (!Number.isFinite(logP)) return null;
  const g = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < C; k++) g[t * C + k] = Math.exp(logp[t * C + k]!);
    for (let s = 0; s < S; s++) {
      const ab = alpha[t * S + s]! + beta[t * S + s]!;
      if (ab !== NEG_INF) g[t * C + ext[s]!] -= Math.exp(ab - logP);
    }
  }
  return { loss: -logP, grad: g };
}

function logSoftmax(z: Float64Array, T: number, C: number): Float64Array {
  const out = new Float64Array(T * C);
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
function bruteForce(logp: Float64Array, T: number, C: number, target: number[], blank: number): number {
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

test('the reference ctcLoss: equals the sum over all paths; gradient = finite differences; null without an alignment', () => {
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

test('compute_gradients with an auxiliary_loss adds its gradient: sum(encoder states · seed)', async () => {
  const model = tinyModel();
  const rng = new SeededRandom(11);
  const pixel_values = new Tensor('float32', Float32Array.from({ length: 2 * 3 * 8 * 32 }, () => rng.normal()), [2, 3, 8, 32]);
  const labels = new Tensor('int64', BigInt64Array.from([3, 4, 5, 2, 6, 7, 2, -100].map(BigInt)), [2, 4]);
  const seed = new Tensor('float32', Float32Array.from({ length: 2 * 9 * 16 }, () => rng.normal()), [2, 9, 16]);
  const plain = await model.compute_gradients({ pixel_values, labels });
  const auxiliary_loss = {
    key: 'seed',
    build: (graph: Graph, h: Sym) => {
      const s = graph.input('seed', 'float32', ['batch', 9, 16]);
      const sum = F.reduceSum(F.mul(h, s), [0, 1, 2], false);
      return { loss: sum, weights: { seed: s }, outputs: { sum } };
    },
    feeds: { seed },
  };
  const withSeed = await model.compute_gradients({ pixel_values, labels, auxiliary_loss });
  assert.equal(withSeed.loss, plain.loss, 'the reported loss is the decoder cross-entropy alone');
  assert.deepEqual(Object.keys(plain.auxiliary_outputs), []);

  // The seed's own gradient is the states; the sum comes back as an output.
  const states = (await model.forward({ pixel_values, decoder_input_ids: new Tensor('int64', new BigInt64Array([0n, 0n]), [2, 1]) })).encoder_last_hidden_state.data as Float32Array;
  const dseed = withSeed.grads.get('seed')!.data as Float32Array;
  let sum = 0;
  states.forEach((v, i) => {
    sum += v * (seed.data[i] as number);
    assert.ok(Math.abs(dseed[i]! - v) <= 1e-5 * Math.max(1, Math.abs(v)), `d sum / d seed[${i}]`);
  });
  assert.ok(Math.abs((withSeed.auxiliary_outputs['sum']!.data[0] as number) - sum) <= 1e-4 * Math.max(1, Math.abs(sum)));

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

/** The CTC head's graph alone, on given encoder states: the weighted loss, the lines' losses and the gradients. */
async function headGraph(head: CtcHead, h: Tensor, labels: Tensor, scale: number) {
  const aux = head.auxiliaryLoss(labels, scale);
  const graph = new Graph({ paramMode: 'input' });
  const hs = graph.input('h', 'float32', ['batch', ...h.dims.slice(1)]);
  const built = aux.build(graph, hs);
  const [dh, dw, db] = grad(built.loss, [hs, built.weights['ctc_head.weight']!, built.weights['ctc_head.bias']!]);
  const cg = await CompiledGraph.create(graph, { loss: built.loss, ctc_losses: built.outputs!['ctc_losses']!, dh: dh!, dw: dw!, db: db! });
  const r = await cg.run({ h, ...aux.feeds });
  return { loss: r['loss']!.data[0] as number, losses: r['ctc_losses']!.data as Float32Array, ...aux.result(r), dh: r['dh']!.data as Float32Array, dw: r['dw']!.data as Float32Array, db: r['db']!.data as Float32Array };
}

test('CtcHead: the graph\'s loss and gradients equal the float64 forward-backward reference, lines without an alignment add nothing', async () => {
  const rng = new SeededRandom(5);
  const d = 6;
  const C = 7;
  const [rows, T] = [2, 5];
  const blank = 1;
  const head = new CtcHead({ hidden_size: d, vocab_size: C, blank, special_ids: [0, 2], prefix_tokens: 1, grid: [rows, T], init_std: 0.5, seed: 1 });
  const B = 4;
  const N = 1 + rows * T;
  const h = new Tensor('float32', Float32Array.from({ length: B * N * d }, () => rng.normal()), [B, N, d]);
  // Targets: 3 4 | 4 3 3 (a repeat: needs 4 of the 5 columns) | 5 5 5 (needs 5) | 3 4 5 6 4 5 (6 > 5 columns: no alignment).
  const rowsOfLabels = [[3, 4, 2, -100, -100, -100, -100], [4, 3, 3, 2, -100, -100, -100], [5, 5, 5, 2, -100, -100, -100], [3, 4, 5, 6, 4, 5, 2]];
  const labels = new Tensor('int64', BigInt64Array.from(rowsOfLabels.flat().map(BigInt)), [B, 7]);
  const targets = rowsOfLabels.map((r) => r.filter((k) => k > 2));
  const scale = 0.3;
  const got = await headGraph(head, h, labels, scale);
  assert.equal(got.examples, 3);

  // The reference: columns, logits and log-softmax in float64, then ctcLoss per line; the chain rule by hand.
  const W = head.weight.data as Float32Array;
  const bias = head.bias.data as Float32Array;
  const hd = h.data as Float32Array;
  let lossSum = 0;
  const dW = new Float64Array(C * d);
  const dB = new Float64Array(C);
  const dH = new Float64Array(B * N * d);
  for (let b = 0; b < B; b++) {
    const col = new Float64Array(T * d);
    for (let r = 0; r < rows; r++) for (let c = 0; c < T; c++) for (let k = 0; k < d; k++) col[c * d + k] += hd[(b * N + 1 + r * T + c) * d + k]! / rows;
    const z = new Float64Array(T * C);
    for (let c = 0; c < T; c++) for (let j = 0; j < C; j++) {
      let v = bias[j]!;
      for (let k = 0; k < d; k++) v += col[c * d + k]! * W[j * d + k]!;
      z[c * C + j] = v;
    }
    const r = ctcLoss(logSoftmax(z, T, C), T, C, targets[b]!, blank);
    assert.equal(r === null, b === 3, `line ${b}: alignment`);
    if (!r) continue;
    lossSum += r.loss;
    assert.ok(Math.abs(got.losses[b]! - r.loss) <= 1e-5 * r.loss, `line ${b}: loss ${got.losses[b]} vs reference ${r.loss}`);
    for (let c = 0; c < T; c++) for (let j = 0; j < C; j++) {
      const gz = scale * r.grad[c * C + j]!;
      dB[j] += gz;
      for (let k = 0; k < d; k++) {
        dW[j * d + k] += gz * col[c * d + k]!;
        for (let rr = 0; rr < rows; rr++) dH[(b * N + 1 + rr * T + c) * d + k] += (gz * W[j * d + k]!) / rows;
      }
    }
  }
  assert.ok(Math.abs(got.loss_sum - lossSum) <= 1e-5 * lossSum, `loss sum ${got.loss_sum} vs ${lossSum}`);
  assert.ok(Math.abs(got.loss - scale * lossSum) <= 1e-5 * lossSum, `weighted loss ${got.loss} vs ${scale * lossSum}`);
  const close = (a: Float32Array, want: Float64Array, what: string) => {
    const top = Math.max(...want.map(Math.abs));
    want.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) <= 1e-5 * top, `${what}[${i}]: ${a[i]} vs reference ${v}`));
  };
  close(got.dw, dW, 'd weight');
  close(got.db, dB, 'd bias');
  close(got.dh, dH, 'd states');
  // The CLS token is not a column, and the line without an alignment gives nothing.
  assert.ok(got.dh.subarray(0, d).every((v) => v === 0));
  assert.ok(got.dh.subarray(3 * N * d).every((v) => v === 0));

  // And the graph's own loss against finite differences.
  for (const k of [6, 20, 40, 100, 130]) {
    const e = 1e-2;
    const x = h.data as Float32Array;
    const keep = x[k]!;
    x[k] = keep + e;
    const up = (await headGraph(head, h, labels, scale)).loss;
    x[k] = keep - e;
    const down = (await headGraph(head, h, labels, scale)).loss;
    x[k] = keep;
    const fd = (up - down) / (2 * e);
    assert.ok(Math.abs(got.dh[k]! - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `states[${k}]: ${got.dh[k]} vs finite difference ${fd}`);
  }
});
