// The vision encoders (ViT, DeiT, BEiT) against Python transformers' fixtures: encoder states,
// the exact set of checkpoint weights the code declares, hidden states / attentions as Python
// returns them, random initialisation as each model's _init_weights, and gradients (autodiff
// against finite differences). Configurations the fixtures do not cover (non-square images,
// rectangular patches, qkv_bias false, other activations, BEiT's options) are checked against a
// plain-loop float64 reference written here from transformers' modeling files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { grad } from '../src/graph/autodiff.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { Ctx, ParamStore, type AnyConfig } from '../src/models/modeling_utils.js';
import { type EncoderArch } from '../src/models/architectures.js';
import { ViTModel, type VisionEncoderOutputs } from '../src/models/vit.js';
import { DeiTModel } from '../src/models/deit.js';
import { BeitModel, relativePositionIndex, relativeTableResize } from '../src/models/beit.js';
import { referenceForward, type ReferenceOutputs } from './vision_reference.js';
import { loadCase, maxRelErr, subWeights } from './model_helpers.js';
import { rng } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function uniform(dims: number[], seed: number, scale = 1): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('float32', Float32Array.from({ length: n }, () => scale * (2 * r() - 1)), dims);
}

interface Built {
  g: Graph;
  store: ParamStore;
  out: ReturnType<EncoderArch['forward']>;
  pixel: Sym;
}

function build(arch: EncoderArch, config: AnyConfig, weights: Map<string, Tensor> | undefined, pixelDims: (number | string)[], opts: { training?: boolean; paramMode?: 'input' | 'initializer'; output_hidden_states?: boolean; output_attentions?: boolean; seed?: number } = {}): Built {
  const store = new ParamStore(weights, opts.seed ?? 0);
  const g = new Graph({ paramMode: opts.paramMode ?? 'initializer', training: opts.training ?? false });
  const pixel = g.input('pixel_values', 'float32', pixelDims);
  const out = arch.forward(new Ctx(g, store), config, pixel, { output_hidden_states: opts.output_hidden_states, output_attentions: opts.output_attentions });
  return { g, store, out, pixel };
}

async function run(b: Built, outputs: Record<string, Sym>, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const cg = await CompiledGraph.create(b.g, outputs, { threads: 1 });
  try {
    // Only what the outputs need (a weight the outputs do not use is not an input).
    return await cg.run(Object.fromEntries(cg.inputNames.map((n) => [n, feeds[n]!])));
  } finally {
    await cg.dispose();
  }
}

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const d = t.data as Float32Array;
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of d) {
    s += v;
    s2 += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / d.length - mean * mean)), min, max };
}

function layerNormRows(x: Tensor, w: Tensor, b: Tensor, eps: number): Float64Array {
  const d = x.dims[x.dims.length - 1]!;
  const xs = x.data as Float32Array;
  const out = new Float64Array(xs.length);
  for (let r = 0; r < xs.length / d; r++) {
    let m = 0;
    for (let i = 0; i < d; i++) m += xs[r * d + i]!;
    m /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (xs[r * d + i]! - m) ** 2;
    v /= d;
    for (let i = 0; i < d; i++) out[r * d + i] = ((xs[r * d + i]! - m) / Math.sqrt(v + eps)) * (w.data as Float32Array)[i]! + (b.data as Float32Array)[i]!;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ---------------------------------------------------------------------------------------------
// The fixture checks, shared by every architecture

interface FixtureExpectations {
  /** Sequence length: patches + special tokens. */
  seq: number;
  /** Name of the weight feeding the final layer norm (null when the model has none, e.g. BEiT with mean pooling). */
  finalNorm: string | null;
}

async function checkFixture(arch: EncoderArch, caseName: string, expect: FixtureExpectations): Promise<void> {
  const c = loadCase(caseName);
  const config = c.config.encoder;
  assert.equal(config.model_type, arch.model_type);
  const weights = subWeights(c.weights, 'encoder.');
  const pixel_values = c.io.get('pixel_values')!;
  const expected = c.io.get('encoder_last_hidden_state')!;
  const [B, C, H, W] = pixel_values.dims as [number, number, number, number];
  const L: number = config.num_hidden_layers;
  const heads: number = config.num_attention_heads;
  const D: number = config.hidden_size;

  // 1. Parity, with every checkpoint weight declared and nothing made up.
  const b = build(arch, config, weights, ['batch', C, H, W], { output_hidden_states: true, output_attentions: true });
  assert.deepEqual(b.store.created, [], `${caseName}: the code asked for weights the checkpoint does not have`);
  assert.deepEqual([...b.store.used].sort(), [...weights.keys()].sort(), `${caseName}: declared weights = checkpoint weights`);
  const outputs: Record<string, Sym> = { last: b.out.last_hidden_state };
  b.out.hidden_states!.forEach((h, i) => (outputs[`h${i}`] = h));
  b.out.attentions!.forEach((a, i) => (outputs[`a${i}`] = a));
  const res = await run(b, outputs, { pixel_values });
  // Relative error, with elements under 1% of the largest compared against that 1%: float32
  // rounding alone (PyTorch's or ORT's against a float64 evaluation) is ~1e-4 on the smallest
  // elements after a LayerNorm, ~1e-5 under this measure.
  const err = maxRelErr(res['last']!, expected, 1e-2);
  assert.ok(err <= 1e-4, `${caseName}: encoder_last_hidden_state max relative error ${err}`);
  console.log(`# ${caseName}: encoder_last_hidden_state max rel err ${err.toExponential(2)} (floor 1e-3: ${maxRelErr(res['last']!, expected).toExponential(2)})`);

  // 2. hidden_states: the embeddings and one per layer; attentions: one per layer, rows summing to 1.
  assert.equal(b.out.hidden_states!.length, L + 1);
  assert.equal(b.out.attentions!.length, L);
  for (let i = 0; i <= L; i++) assert.deepEqual(res[`h${i}`]!.dims, [B, expect.seq, D]);
  for (let i = 0; i < L; i++) {
    const a = res[`a${i}`]!;
    assert.deepEqual(a.dims, [B, heads, expect.seq, expect.seq]);
    const d = a.data as Float32Array;
    for (let r = 0; r < d.length / expect.seq; r++) {
      let s = 0;
      for (let j = 0; j < expect.seq; j++) s += d[r * expect.seq + j]!;
      assert.ok(Math.abs(s - 1) < 1e-5, `attention row ${r} of layer ${i} sums to ${s}`);
    }
  }
  // The last hidden state is the last layer's output through the final layer norm.
  if (expect.finalNorm) {
    const ln = layerNormRows(res[`h${L}`]!, weights.get(`${expect.finalNorm}.weight`)!, weights.get(`${expect.finalNorm}.bias`)!, config.layer_norm_eps);
    assert.ok(maxAbsDiff(ln, res['last']!.data as Float32Array) < 1e-4, 'last_hidden_state = layernorm(hidden_states[-1])');
  }
  // Without the flags, no lists.
  const plain = build(arch, config, weights, ['batch', C, H, W]);
  assert.equal(plain.out.hidden_states, undefined);
  assert.equal(plain.out.attentions, undefined);

  // 3. Random initialisation creates exactly the checkpoint's weights, with its shapes.
  const fresh = build(arch, config, undefined, ['batch', C, H, W], { seed: 7 });
  assert.deepEqual([...fresh.store.created].sort(), [...weights.keys()].sort(), `${caseName}: random init creates every checkpoint weight`);
  for (const [k, t] of weights) assert.deepEqual(fresh.store.tensors.get(k)!.dims, t.dims, `${caseName}: shape of ${k}`);
  const rnd = await run(fresh, { last: fresh.out.last_hidden_state }, { pixel_values });
  assert.deepEqual(rnd['last']!.dims, expected.dims);
  assert.ok((rnd['last']!.data as Float32Array).every(Number.isFinite));

  // 4. Gradients of sum(out * R) for every parameter; finite differences on a few weights. DeiT
  // and BEiT initialise their tokens to zero, and a zero [CLS] row is a degenerate point of the
  // first LayerNorm (variance 0: d/dx = 1/sqrt(eps) = 1e6) where finite differences mean nothing,
  // so zero embedding tensors get small random values here.
  const gw = new Map(weights);
  for (const [k, t] of weights) {
    if (k.startsWith('embeddings.') && (t.data as Float32Array).every((v) => v === 0)) gw.set(k, uniform(t.dims, k.length, 0.1));
  }
  await checkGradients(arch, config, gw, pixel_values, caseName);
}

async function checkGradients(arch: EncoderArch, config: AnyConfig, weights: Map<string, Tensor>, pixel_values: Tensor, label: string, picks?: string[]): Promise<void> {
  const [, C, H, W] = pixel_values.dims as [number, number, number, number];
  const b = build(arch, config, weights, ['batch', C, H, W], { paramMode: 'input' });
  const out = b.out.last_hidden_state;
  const R = b.g.input('R', 'float32', out.shape);
  let loss = F.reduceSum(F.reshape(F.mul(out, R), [-1]), [0], false);
  // The pooler's output too, so that its weights get a gradient.
  const pooled = (b.out as VisionEncoderOutputs).pooler_output;
  const R2 = pooled ? b.g.input('R2', 'float32', pooled.shape) : null;
  if (pooled) loss = F.add(loss, F.reduceSum(F.reshape(F.mul(pooled, R2!), [-1]), [0], false));
  const params = [...b.g.params.entries()];
  const grads = grad(loss, params.map(([, p]) => p.sym));
  const outputs: Record<string, Sym> = { loss };
  // Every weight gets a gradient, except BEiT's mask token (declared for checkpoints; used only
  // with bool_masked_pos, which the encoder-decoder never passes).
  const unused = params.filter(([name]) => name.endsWith('mask_token'));
  const trained = params.filter(([name]) => !name.endsWith('mask_token'));
  unused.forEach(([name]) => assert.equal(grads[params.findIndex(([n]) => n === name)], null, `${label}: ${name} is not used`));
  params.forEach(([name], i) => {
    if (name.endsWith('mask_token')) return;
    assert.ok(grads[i], `${label}: no gradient reaches ${name}`);
    outputs[`grad:${name}`] = grads[i]!;
  });
  const cg = await CompiledGraph.create(b.g, outputs, { threads: 1 });
  const outDims = out.shape.map((d) => (typeof d === 'number' ? d : pixel_values.dims[0]!));
  const feeds: Record<string, Tensor> = { pixel_values, R: uniform(outDims, 99) };
  if (pooled) feeds['R2'] = uniform(pooled.shape.map((d) => (typeof d === 'number' ? d : pixel_values.dims[0]!)), 98);
  // Feed copies, so the finite differences below never touch the fixture's tensors.
  for (const [name, p] of trained) feeds[name] = new Tensor('float32', Float32Array.from(p.tensor.data as Float32Array), p.tensor.dims);
  const res = await cg.run(feeds);
  for (const [name, p] of trained) {
    const g = res[`grad:${name}`]!;
    assert.deepEqual(g.dims, p.tensor.dims, `${label}: gradient of ${name} has its shape`);
    assert.ok((g.data as Float32Array).every(Number.isFinite), `${label}: gradient of ${name} is finite`);
  }
  const names = picks ?? trained.map(([n]) => n).filter((n) => /patch_embeddings\.projection\.weight|layer\.0\.attention\.attention\.query\.weight|layer\.1\.intermediate\.dense\.weight|cls_token|distillation_token|position_embeddings|relative_position_bias_table|lambda_1/.test(n));
  const eps = 1e-2;
  for (const name of names) {
    const x = feeds[name]!.data as Float32Array;
    const an = res[`grad:${name}`]!.data as Float32Array;
    // The element with the largest gradient, and one more at random.
    let best = 0;
    for (let i = 1; i < an.length; i++) if (Math.abs(an[i]!) > Math.abs(an[best]!)) best = i;
    for (const i of [best, Math.floor(rng(name.length)() * x.length)]) {
      const orig = x[i]!;
      x[i] = orig + eps;
      const lp = (await cg.run(feeds, ['loss']))['loss']!.data[0] as number;
      x[i] = orig - eps;
      const lm = (await cg.run(feeds, ['loss']))['loss']!.data[0] as number;
      x[i] = orig;
      const fd = (lp - lm) / (2 * eps);
      assert.ok(Math.abs(fd - an[i]!) <= 2e-2 * Math.max(0.1, Math.abs(fd)), `${label}: d loss/d ${name}[${i}]: autodiff ${an[i]} vs finite difference ${fd}`);
    }
  }
  await cg.dispose();
}

// ---------------------------------------------------------------------------------------------
// ViT

const VIT_CASES = ['vit-gpt2', 'vit48-bert', 'vit-trocr', 'vit-mbart40'];
for (const name of VIT_CASES) {
  test(`ViT ${name}: parity, weights, outputs, init shapes, gradients`, async () => {
    await checkFixture(ViTModel, name, { seq: 17, finalNorm: 'layernorm' });
  });
}

// ---------------------------------------------------------------------------------------------
// Random initialisation statistics, as each model's _init_weights

type InitRule = { std: number } | { value: number };

function checkInitStats(store: ParamStore, rule: (name: string) => InitRule, label: string): void {
  for (const name of store.created) {
    const t = store.tensors.get(name)!;
    const st = stats(t);
    const r = rule(name);
    if ('value' in r) {
      assert.ok(st.min === Math.fround(r.value) && st.max === Math.fround(r.value), `${label}: ${name} should be all ${r.value}, got [${st.min}, ${st.max}]`);
    } else {
      const n = t.data.length;
      // The sample std of n normal draws is within ~3/sqrt(2n) of the true one, relatively.
      const tol = Math.max(0.06, 4 / Math.sqrt(2 * n));
      assert.ok(Math.abs(st.std / r.std - 1) <= tol, `${label}: ${name} (${n} values) std ${st.std}, expected ${r.std}`);
      assert.ok(Math.abs(st.mean) <= (4 * r.std) / Math.sqrt(n), `${label}: ${name} mean ${st.mean}`);
    }
  }
}

/** ViTPreTrainedModel._init_weights: trunc_normal(initializer_range) for Linear, Conv2d, cls_token and position_embeddings. */
function vitInitRule(config: AnyConfig): (name: string) => InitRule {
  return (name) => {
    if (/layernorm[^.]*\.weight$/.test(name)) return { value: 1 };
    if (name.endsWith('.bias')) return { value: 0 };
    return { std: config.initializer_range };
  };
}

async function runVariant(arch: EncoderArch, config: AnyConfig, pixelDims: [number, number, number, number], seed: number, label: string): Promise<{ store: ParamStore; ref: ReferenceOutputs }> {
  const b = build(arch, config, undefined, ['batch', ...pixelDims.slice(1)], { output_hidden_states: true, seed });
  const pixel_values = uniform(pixelDims, seed + 1);
  const outputs: Record<string, Sym> = { last: b.out.last_hidden_state };
  const pooled = (b.out as VisionEncoderOutputs).pooler_output;
  if (pooled) outputs['pooled'] = pooled;
  b.out.hidden_states!.forEach((h, i) => (outputs[`h${i}`] = h));
  const res = await run(b, outputs, { pixel_values });
  const ref = referenceForward(config, b.store.tensors, pixel_values);
  const asTensor = (rows: Float64Array[][] | Float64Array[], dims: number[]) => new Tensor('float32', Float32Array.from((rows.flat() as Float64Array[]).flatMap((a) => Array.from(a))), dims);
  const err = maxRelErr(res['last']!, asTensor(ref.last_hidden_state, res['last']!.dims), 1e-2);
  assert.ok(err <= 1e-4, `${label}: last_hidden_state vs float64 reference: ${err}`);
  b.out.hidden_states!.forEach((_, i) => {
    const e = maxRelErr(res[`h${i}`]!, asTensor(ref.hidden_states.map((hs) => hs[i]!), res[`h${i}`]!.dims), 1e-2);
    assert.ok(e <= 1e-4, `${label}: hidden_states[${i}] vs float64 reference: ${e}`);
  });
  if (pooled) {
    const e = maxRelErr(res['pooled']!, asTensor(ref.pooler_output!, res['pooled']!.dims), 1e-2);
    assert.ok(e <= 1e-4, `${label}: pooler_output vs float64 reference: ${e}`);
  }
  console.log(`# ${label}: max rel err vs float64 reference ${err.toExponential(2)}`);
  return { store: b.store, ref };
}

test('ViT: random init follows _init_weights; other configurations match a float64 reference', async () => {
  const base = loadCase('vit-gpt2').config.encoder;
  const big = { ...base, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, initializer_range: 0.02 };
  const b = build(ViTModel, big, undefined, ['batch', 3, 32, 32], { seed: 3 });
  checkInitStats(b.store, vitInitRule(big), 'ViT');

  // Non-square image, rectangular patches, no qkv bias, another activation, 3 layers, a pooler of another width.
  const odd = {
    ...base,
    image_size: [24, 40],
    patch_size: [8, 10],
    qkv_bias: false,
    hidden_act: 'gelu_new',
    num_hidden_layers: 3,
    hidden_size: 24,
    num_attention_heads: 2,
    intermediate_size: 36,
    pooler_output_size: 20,
    pooler_act: 'relu',
  };
  const { store } = await runVariant(ViTModel, odd, [2, 3, 24, 40], 11, 'ViT 24x40 patch 8x10 qkv_bias=false gelu_new');
  assert.ok(!store.tensors.has('encoder.layer.0.attention.attention.query.bias'));
  assert.deepEqual(store.tensors.get('embeddings.position_embeddings')!.dims, [1, 13, 24]);
  assert.deepEqual(store.tensors.get('pooler.dense.weight')!.dims, [20, 24]);
  await runVariant(ViTModel, { ...base, num_channels: 1, hidden_act: 'relu', image_size: 16, patch_size: 4 }, [1, 1, 16, 16], 12, 'ViT 1 channel relu');
  // An image whose size is not a multiple of the patch: the conv drops the remainder, as torch does.
  await runVariant(ViTModel, { ...base, image_size: [20, 30], patch_size: 8 }, [2, 3, 20, 30], 13, 'ViT 20x30 patch 8');
});

test('ViT: pixel_values are checked against the config', () => {
  const base = loadCase('vit-gpt2').config.encoder;
  assert.throws(() => build(ViTModel, base, undefined, ['batch', 1, 32, 32]), /num_channels is 3.*\[B, 3, 32, 32\]/);
  assert.throws(() => build(ViTModel, base, undefined, ['batch', 3, 32]), /must be \[batch_size, num_channels, height, width\]/);
  assert.throws(() => build(ViTModel, base, undefined, ['batch', 3, 32, 48]), /input image size \(32\*48\) doesn't match model \(32\*32\)/);
  assert.throws(() => build(ViTModel, { ...base, num_attention_heads: 5 }, undefined, ['batch', 3, 32, 32]), /hidden_size \(32\) must be a multiple of num_attention_heads \(5\)/);
  assert.throws(() => build(ViTModel, { ...base, hidden_act: 'swiglu' }, undefined, ['batch', 3, 32, 32]), /activation 'swiglu' is not supported/);
  assert.throws(() => build(ViTModel, { ...base, patch_size: [8] }, undefined, ['batch', 3, 32, 32]), /patch_size must be a positive integer or a pair/);
});

// ---------------------------------------------------------------------------------------------
// DeiT

test('DeiT deit24-bart24: parity, weights, outputs, init shapes, gradients', async () => {
  await checkFixture(DeiTModel, 'deit24-bart24', { seq: 18, finalNorm: 'layernorm' });
});

test('DeiT: random init follows _init_weights; other configurations match a float64 reference', async () => {
  const base = loadCase('deit24-bart24').config.encoder;
  const big = { ...base, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 1, initializer_range: 0.02 };
  const b = build(DeiTModel, big, undefined, ['batch', 3, 24, 24], { seed: 4 });
  // DeiTPreTrainedModel: ViT's rule, but the tokens and position embeddings start at zero.
  const vit = vitInitRule(big);
  checkInitStats(b.store, (n) => (n.startsWith('embeddings.') && !n.includes('patch_embeddings') ? { value: 0 } : vit(n)), 'DeiT');
  assert.ok(b.store.created.includes('embeddings.distillation_token'));

  const odd = { ...base, image_size: [18, 30], patch_size: [6, 5], qkv_bias: false, hidden_act: 'gelu_new', num_hidden_layers: 3, pooler_output_size: 10 };
  const { store } = await runVariant(DeiTModel, odd, [2, 3, 18, 30], 21, 'DeiT 18x30 patch 6x5 qkv_bias=false');
  assert.deepEqual(store.tensors.get('embeddings.position_embeddings')!.dims, [1, 3 * 6 + 2, 24]);
  // Random init leaves the tokens at zero; give them values so the reference checks their places.
  const w = new Map(store.tensors);
  for (const k of ['embeddings.cls_token', 'embeddings.distillation_token', 'embeddings.position_embeddings']) w.set(k, uniform(w.get(k)!.dims, k.length, 0.5));
  const bb = build(DeiTModel, odd, w, ['batch', 3, 18, 30]);
  const pixel_values = uniform([2, 3, 18, 30], 31);
  const res = await run(bb, { last: bb.out.last_hidden_state }, { pixel_values });
  const ref = referenceForward(odd, w, pixel_values);
  const refT = new Tensor('float32', Float32Array.from(ref.last_hidden_state.flat().flatMap((a) => Array.from(a))), res['last']!.dims);
  assert.ok(maxRelErr(res['last']!, refT, 1e-2) <= 1e-4);
  assert.throws(() => build(DeiTModel, base, undefined, ['batch', 3, 24, 30]), /input image size \(24\*30\) doesn't match model \(24\*24\)/);
});

// ---------------------------------------------------------------------------------------------
// BEiT

test('BEiT beit40-roberta40: parity, weights, outputs, init shapes, gradients', async () => {
  await checkFixture(BeitModel, 'beit40-roberta40', { seq: 21, finalNorm: 'layernorm' });
});

/** BeitPreTrainedModel._init_weights: normal(initializer_range) for Linear and Conv2d, zeros for the tokens, positions and bias tables, layer_scale_init_value for lambdas. */
function beitInitRule(config: AnyConfig): (name: string) => InitRule {
  return (name) => {
    if (/lambda_[12]$/.test(name)) return { value: config.layer_scale_init_value };
    if (/^embeddings\.(cls_token|mask_token|position_embeddings)$|relative_position_bias_table$/.test(name)) return { value: 0 };
    if (/layernorm[^.]*\.weight$/.test(name)) return { value: 1 };
    if (name.endsWith('.bias')) return { value: 0 };
    return { std: config.initializer_range };
  };
}

/** Random init leaves the bias tables, tokens and positions at zero: give them values, so the reference checks where they go. */
function enliven(store: ParamStore): Map<string, Tensor> {
  const w = new Map(store.tensors);
  for (const [k, t] of w) {
    if (/relative_position_bias_table|cls_token|position_embeddings|lambda_/.test(k)) w.set(k, uniform(t.dims, k.length * 7 + t.data.length, k.includes('lambda') ? 1 : 0.5));
  }
  return w;
}

async function compareWithReference(arch: EncoderArch, config: AnyConfig, w: Map<string, Tensor>, pixelDims: [number, number, number, number], label: string): Promise<Built> {
  const b = build(arch, config, w, ['batch', ...pixelDims.slice(1)], { output_hidden_states: true });
  assert.deepEqual(b.store.created, [], `${label}: every weight given`);
  const pixel_values = uniform(pixelDims, pixelDims[2] * 31 + pixelDims[3]);
  const pooled = (b.out as VisionEncoderOutputs).pooler_output!;
  const res = await run(b, { last: b.out.last_hidden_state, pooled }, { pixel_values });
  const ref = referenceForward(config, w, pixel_values);
  const last = new Tensor('float32', Float32Array.from(ref.last_hidden_state.flat().flatMap((a) => Array.from(a))), res['last']!.dims);
  const pool = new Tensor('float32', Float32Array.from(ref.pooler_output!.flatMap((a) => Array.from(a))), res['pooled']!.dims);
  const err = maxRelErr(res['last']!, last, 1e-2);
  assert.ok(err <= 1e-4, `${label}: last_hidden_state vs float64 reference ${err}`);
  assert.ok(maxRelErr(res['pooled']!, pool, 1e-2) <= 1e-4, `${label}: pooler_output vs float64 reference`);
  console.log(`# ${label}: max rel err vs float64 reference ${err.toExponential(2)}`);
  return b;
}

test('BEiT: relative position index and the bias table resize follow transformers', () => {
  // Window 2x2: 3x3 relative offsets + 3 [CLS] entries = 12 rows.
  const idx = Array.from(relativePositionIndex([2, 2]), Number);
  assert.deepEqual(idx.slice(0, 5), [11, 9, 9, 9, 9]); // [CLS] row: cls→cls, then cls→patch
  assert.deepEqual([idx[5], idx[10], idx[15], idx[20]], [10, 10, 10, 10]); // patch→cls
  assert.deepEqual(idx.slice(6, 10), [4, 3, 1, 0]); // patch (0,0) to (0,0), (0,1), (1,0), (1,1): (dy+1)*3 + (dx+1)
  // Square windows at the config's size: no resize.
  assert.equal(relativeTableResize([3, 3], [3, 3]), null);
  // Window (2, 3): Python views the 3x5 table as [5, 3] and resizes it bilinearly to [3, 5]. Output
  // (0, 0): source row (0 + .5)·5/3 - .5 = 1/3 between rows 0 and 1, column max(0, .5·3/5 - .5) = 0:
  // 2/3 of view[0][0] (table row 0) + 1/3 of view[1][0] (table row 3).
  const m = relativeTableResize([2, 3], [2, 3])!;
  const oldRows = 3 * 5 + 3;
  const row0 = Array.from(m.subarray(0, oldRows));
  assert.ok(Math.abs(row0[0]! - 2 / 3) < 1e-6 && Math.abs(row0[3]! - 1 / 3) < 1e-6 && row0.filter((v) => v !== 0).length === 2, `row 0: ${row0}`);
  for (let r = 0; r < 18; r++) {
    const sum = m.subarray(r * oldRows, (r + 1) * oldRows).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, `resize row ${r} sums to ${sum}`);
  }
  for (let k = 0; k < 3; k++) assert.equal(m[(15 + k) * oldRows + 15 + k], 1, 'the [CLS] entries are carried over');
});

test('BEiT: random init follows _init_weights; every option matches a float64 reference', async () => {
  const base = loadCase('beit40-roberta40').config.encoder;
  const big = { ...base, hidden_size: 64, num_attention_heads: 4, intermediate_size: 128, num_hidden_layers: 1, initializer_range: 0.02, use_mask_token: true, use_absolute_position_embeddings: true, image_size: 32, use_shared_relative_position_bias: true };
  const b = build(BeitModel, big, undefined, ['batch', 3, 32, 32], { seed: 5 });
  checkInitStats(b.store, beitInitRule(big), 'BEiT');
  for (const k of ['embeddings.mask_token', 'embeddings.position_embeddings', 'encoder.relative_position_bias.relative_position_bias_table', 'encoder.layer.0.lambda_1']) {
    assert.ok(b.store.created.includes(k), `declares ${k}`);
  }
  assert.ok(!b.store.created.includes('encoder.layer.0.attention.attention.key.bias'), 'the key has no bias');

  // The fixture's config (non-square 4x5 window) with non-zero bias tables.
  const fixtureStore = build(BeitModel, base, undefined, ['batch', 3, 32, 40], { seed: 6 }).store;
  await compareWithReference(BeitModel, base, enliven(fixtureStore), [2, 3, 32, 40], 'BEiT fixture config, non-zero tables');
  // Another input size than image_size: the tables are resized to the input's window (3x6).
  await compareWithReference(BeitModel, base, enliven(fixtureStore), [2, 3, 24, 48], 'BEiT 32x40 model on a 24x48 input');

  // Shared + per-layer bias, mean pooling (no final layernorm; pooler.layernorm), no layer scale,
  // absolute positions, the mask token, three layers, another activation.
  const opts = {
    ...base,
    image_size: 24,
    patch_size: 6,
    use_shared_relative_position_bias: true,
    use_relative_position_bias: true,
    use_mean_pooling: true,
    layer_scale_init_value: 0,
    use_absolute_position_embeddings: true,
    use_mask_token: true,
    num_hidden_layers: 3,
    hidden_act: 'gelu_new',
  };
  const ob = build(BeitModel, opts, undefined, ['batch', 3, 24, 24], { seed: 8 });
  const names = new Set(ob.store.created);
  for (const k of ['pooler.layernorm.weight', 'embeddings.mask_token', 'encoder.relative_position_bias.relative_position_bias_table', 'encoder.layer.2.attention.attention.relative_position_bias.relative_position_bias_table']) assert.ok(names.has(k), k);
  for (const k of ['layernorm.weight', 'encoder.layer.0.lambda_1']) assert.ok(!names.has(k), `no ${k}`);
  const built = await compareWithReference(BeitModel, opts, enliven(ob.store), [2, 3, 24, 24], 'BEiT shared+layer bias, mean pooling, absolute positions');
  assert.ok(built.store.used.has('embeddings.mask_token'), 'the mask token is declared');
  // Only the shared table, no per-layer tables, no relative bias at all.
  await compareWithReference(BeitModel, { ...opts, use_relative_position_bias: false }, enliven(build(BeitModel, { ...opts, use_relative_position_bias: false }, undefined, ['batch', 3, 24, 24], { seed: 9 }).store), [1, 3, 24, 24], 'BEiT shared bias only');
  await compareWithReference(BeitModel, { ...opts, use_relative_position_bias: false, use_shared_relative_position_bias: false, use_mean_pooling: false }, enliven(build(BeitModel, { ...opts, use_relative_position_bias: false, use_shared_relative_position_bias: false, use_mean_pooling: false }, undefined, ['batch', 3, 24, 24], { seed: 10 }).store), [1, 3, 24, 24], 'BEiT no relative bias');
  // Gradients through the shared table, the mean pooler and absolute positions.
  await checkGradients(BeitModel, opts, enliven(ob.store), uniform([2, 3, 24, 24], 3), 'BEiT options', ['encoder.relative_position_bias.relative_position_bias_table', 'encoder.layer.1.attention.attention.relative_position_bias.relative_position_bias_table', 'embeddings.position_embeddings', 'pooler.layernorm.weight', 'encoder.layer.0.attention.attention.key.weight']);
  // ... and through the resize of the fixture's non-square window.
  await checkGradients(BeitModel, base, enliven(fixtureStore), uniform([2, 3, 32, 40], 4), 'BEiT resized tables', ['encoder.layer.0.attention.attention.relative_position_bias.relative_position_bias_table', 'encoder.layer.1.lambda_2']);

  assert.throws(() => build(BeitModel, opts, undefined, ['batch', 3, 24, 30]), /use_absolute_position_embeddings needs a square image/);
  assert.throws(() => build(BeitModel, base, undefined, ['batch', 4, 32, 40]), /num_channels is 3/);
});

test('BEiT: drop path drops whole residual branches per sample in training, and is off in eval', async () => {
  const base = { ...loadCase('beit40-roberta40').config.encoder, drop_path_rate: 0.5 };
  const w = enliven(build(BeitModel, base, undefined, ['batch', 3, 32, 40], { seed: 12 }).store);
  const pixel_values = uniform([2, 3, 32, 40], 13);
  // Eval: no noise inputs, the same as the reference without drop path.
  const ev = build(BeitModel, base, w, ['batch', 3, 32, 40]);
  assert.equal(ev.g.inputs.length, 1);
  // Training: layer 0 has rate 0 (linspace from 0), layer 1 rate 0.5 on both branches.
  const g = new Graph({ training: true });
  const ctx = new Ctx(g, new ParamStore(w));
  const px = g.input('pixel_values', 'float32', ['batch', 3, 32, 40]);
  const out = BeitModel.forward(ctx, base, px);
  assert.equal(ctx.noiseInputs.length, 2);
  for (const n of ctx.noiseInputs) assert.deepEqual(n.shape, ['batch', 1, 1]);
  // Sample 0 keeps its branches (noise 0.9 ≥ 0.5, scaled by 1/(1-0.5) = 2: like doubling layer 1's
  // lambdas); sample 1 drops them (noise 0.1: layer 1 is the identity).
  const feeds: Record<string, Tensor> = { pixel_values };
  for (const n of ctx.noiseInputs) feeds[n.name] = new Tensor('float32', new Float32Array([0.9, 0.1]), [2, 1, 1]);
  const res = await run({ g, store: ctx.store, out, pixel: px }, { last: out.last_hidden_state }, feeds);
  const doubled = new Map(w);
  for (const k of ['encoder.layer.1.lambda_1', 'encoder.layer.1.lambda_2']) doubled.set(k, new Tensor('float32', (w.get(k)!.data as Float32Array).map((v) => 2 * v), w.get(k)!.dims));
  const keep = referenceForward(base, doubled, pixel_values).last_hidden_state[0]!;
  const oneLayer = referenceForward({ ...base, num_hidden_layers: 1 }, w, pixel_values).last_hidden_state[1]!;
  const got = res['last']!.data as Float32Array;
  const half = got.length / 2;
  assert.ok(maxAbsDiff(got.subarray(0, half), Float64Array.from(keep.flatMap((r) => Array.from(r)))) < 1e-4, 'kept sample = branches scaled by 2');
  assert.ok(maxAbsDiff(got.subarray(half), Float64Array.from(oneLayer.flatMap((r) => Array.from(r)))) < 1e-4, 'dropped sample skips layer 1');
});

// ---------------------------------------------------------------------------------------------
// Training graphs

for (const [arch, caseName, H, W] of [[ViTModel, 'vit-gpt2', 32, 32], [DeiTModel, 'deit24-bart24', 24, 24], [BeitModel, 'beit40-roberta40', 32, 40]] as const) {
  test(`${arch.model_type}: a training graph has a dropout site wherever Python has one`, async () => {
    const base = { ...loadCase(caseName).config.encoder, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.2 };
    const store = new ParamStore(undefined, 1);
    const g = new Graph({ training: true, paramMode: 'input' });
    const px = g.input('pixel_values', 'float32', ['batch', 3, H, W]);
    const ctx = new Ctx(g, store);
    const out = arch.forward(ctx, base, px);
    // embeddings + per layer: attention probabilities, attention output, MLP output; BEiT adds drop
    // path on both branches of every layer whose rate (linear from 0) is not 0.
    const L: number = base.num_hidden_layers;
    const dropPath = arch === BeitModel ? 2 * (L - 1) : 0;
    assert.equal(ctx.noiseInputs.length, 1 + 3 * L + dropPath);
    const feeds: Record<string, Tensor> = { pixel_values: uniform([2, 3, H, W], 5) };
    for (const [name, p] of g.params) feeds[name] = p.tensor;
    // Uniform noise in [0, 1): each site keeps what is at or above its p.
    ctx.noiseInputs.forEach((n, i) => {
      const dims = n.shape.map((d) => (typeof d === 'number' ? d : 2));
      feeds[n.name] = new Tensor('float32', (uniform(dims, 100 + i).data as Float32Array).map((v) => 0.5 + v / 2), dims);
    });
    const res = await run({ g, store, out, pixel: px }, { last: out.last_hidden_state }, feeds);
    assert.ok((res['last']!.data as Float32Array).every(Number.isFinite));
  });
}
