// BART, mBART and TrOCR decoders against the Python fixtures: logits (with and without a padding
// mask), loss, gradients of every decoder weight, cached step-by-step decoding with precomputed
// cross-attention K/V, the declared weight names, and random initialisation; plus other
// configurations (untied head, other activations, odd sizes) checked for self-consistency.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { grad } from '../src/graph/autodiff.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { Ctx, ParamStore, type AnyConfig } from '../src/models/modeling_utils.js';
import { type DecoderArch, type DecoderOutputs, type KV } from '../src/models/architectures.js';
import { BART } from '../src/models/bart.js';
import { MBART } from '../src/models/mbart.js';
import { TROCR } from '../src/models/trocr.js';
import { loadCase, maxRelErr, subWeights, type ModelCase } from './model_helpers.js';

const f32 = (t: Tensor) => t.data as Float32Array;
const i64 = (values: number[], dims: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const ints = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);

/** labels shifted right: start token first, -100 → pad (VisionEncoderDecoderModel's shift_tokens_right). */
function shiftRight(labels: Tensor, start: number, pad: number): Tensor {
  const [B, T] = labels.dims as [number, number];
  const l = ints(labels);
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out.push(t === 0 ? start : l[b * T + t - 1] === -100 ? pad : l[b * T + t - 1]!);
  return i64(out, [B, T]);
}

/** The encoder states the decoder sees: enc_to_dec_proj applied when the checkpoint has it. */
function encoderStates(c: ModelCase): Tensor {
  const enc = c.io.get('encoder_last_hidden_state')!;
  const w = c.weights.get('enc_to_dec_proj.weight');
  if (!w) return enc;
  const b = f32(c.weights.get('enc_to_dec_proj.bias')!);
  const [B, S, Din] = enc.dims as [number, number, number];
  const Dout = w.dims[0]!;
  const x = f32(enc);
  const W = f32(w);
  const out = new Float32Array(B * S * Dout);
  for (let r = 0; r < B * S; r++) {
    for (let o = 0; o < Dout; o++) {
      let acc = b[o]!;
      for (let i = 0; i < Din; i++) acc += x[r * Din + i]! * W[o * Din + i]!;
      out[r * Dout + o] = acc;
    }
  }
  return new Tensor('float32', out, [B, S, Dout]);
}

/** x[:, from:to] of a [B, T, ...] tensor. */
function sliceT(x: Tensor, from: number, to: number): Tensor {
  const [B, T] = x.dims as [number, number];
  const inner = x.dims.slice(2).reduce((a, b) => a * b, 1);
  const Ctor = x.data.constructor as { new (n: number): Float32Array | BigInt64Array };
  const out = new Ctor(B * (to - from) * inner);
  for (let b = 0; b < B; b++) out.set((x.data as Float32Array).subarray((b * T + from) * inner, (b * T + to) * inner) as never, b * (to - from) * inner);
  return new Tensor(x.type, out, [B, to - from, ...x.dims.slice(2)]);
}

interface Built {
  g: Graph;
  out: DecoderOutputs;
}

/** A full decoder forward over input_ids [batch, seq] and encoder states [batch, enc, kvDim]. */
function buildForward(arch: DecoderArch, config: AnyConfig, store: ParamStore, kvDim: number, opts: { mask?: boolean; paramMode?: 'initializer' | 'input'; embeds?: boolean; outputs?: boolean } = {}): Built {
  const g = new Graph({ paramMode: opts.paramMode ?? 'initializer' });
  const ctx = new Ctx(g, store);
  const encoder_hidden_states = g.input('encoder_hidden_states', 'float32', ['batch', 'enc', kvDim]);
  const attention_mask = opts.mask ? g.input('attention_mask', 'int64', ['batch', 'seq']) : null;
  const input_ids = opts.embeds ? null : g.input('input_ids', 'int64', ['batch', 'seq']);
  const inputs_embeds = opts.embeds ? g.input('inputs_embeds', 'float32', ['batch', 'seq', config.d_model]) : null;
  const out = arch.forward(ctx, config, {
    input_ids,
    inputs_embeds,
    encoder_hidden_states,
    attention_mask,
    output_hidden_states: opts.outputs,
    output_attentions: opts.outputs,
  });
  return { g, out };
}

async function run(g: Graph, outputs: Record<string, Sym>, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const cg = await CompiledGraph.create(g, outputs, { threads: 1 });
  try {
    return await cg.run(feeds);
  } finally {
    await cg.dispose();
  }
}

/**
 * Decoding in chunks with the self-attention cache and cross K/V computed once (arch.crossKV):
 * returns the logits of every chunk joined along the sequence axis.
 */
async function stepwiseLogits(arch: DecoderArch, config: AnyConfig, store: ParamStore, ids: Tensor, enc: Tensor, chunks: number[], mask?: Tensor): Promise<Tensor> {
  const { layers, heads, head_dim } = arch.cacheShape(config);
  const kvDim = enc.dims[2]!;

  const gc = new Graph();
  const encIn = gc.input('encoder_hidden_states', 'float32', ['batch', 'enc', kvDim]);
  const kvs = arch.crossKV(new Ctx(gc, store), config, encIn);
  assert.equal(kvs.length, layers);
  const crossOut: Record<string, Sym> = {};
  kvs.forEach((kv, i) => {
    crossOut[`cross_key_${i}`] = kv.key;
    crossOut[`cross_value_${i}`] = kv.value;
  });
  const cross = await run(gc, crossOut, { encoder_hidden_states: enc });

  const g = new Graph();
  const input_ids = g.input('input_ids', 'int64', ['batch', 'step']);
  const attention_mask = g.input('attention_mask', 'int64', ['batch', 'total']);
  const past: KV[] = [];
  const crossIn: KV[] = [];
  for (let i = 0; i < layers; i++) {
    past.push({ key: g.input(`past_key_${i}`, 'float32', ['batch', heads, 'past', head_dim]), value: g.input(`past_value_${i}`, 'float32', ['batch', heads, 'past', head_dim]) });
    crossIn.push({ key: g.input(`cross_key_${i}`, 'float32', ['batch', heads, 'enc', head_dim]), value: g.input(`cross_value_${i}`, 'float32', ['batch', heads, 'enc', head_dim]) });
  }
  const out = arch.forward(new Ctx(g, store), config, { input_ids, attention_mask, past, cross: crossIn });
  const outputs: Record<string, Sym> = { logits: out.logits };
  out.present.forEach((kv, i) => {
    outputs[`present_key_${i}`] = kv.key;
    outputs[`present_value_${i}`] = kv.value;
  });
  const cg = await CompiledGraph.create(g, outputs, { threads: 1 });

  const B = ids.dims[0]!;
  let cache: Record<string, Tensor> = {};
  for (let i = 0; i < layers; i++) {
    cache[`past_key_${i}`] = Tensor.zeros('float32', [B, heads, 0, head_dim]);
    cache[`past_value_${i}`] = Tensor.zeros('float32', [B, heads, 0, head_dim]);
  }
  const parts: Tensor[] = [];
  let at = 0;
  for (const n of chunks) {
    const m = mask ? sliceT(mask, 0, at + n) : i64(new Array(B * (at + n)).fill(1), [B, at + n]);
    const res = await cg.run({ input_ids: sliceT(ids, at, at + n), attention_mask: m, ...cache, ...cross });
    parts.push(res.logits!);
    cache = {};
    for (let i = 0; i < layers; i++) {
      assert.deepEqual(res[`present_key_${i}`]!.dims, [B, heads, at + n, head_dim]);
      cache[`past_key_${i}`] = res[`present_key_${i}`]!;
      cache[`past_value_${i}`] = res[`present_value_${i}`]!;
    }
    at += n;
  }
  await cg.dispose();
  // Join along the sequence axis.
  const V = parts[0]!.dims[2]!;
  const out2 = new Float32Array(B * at * V);
  let t0 = 0;
  for (const p of parts) {
    const n = p.dims[1]!;
    for (let b = 0; b < B; b++) out2.set(f32(p).subarray(b * n * V, (b + 1) * n * V), (b * at + t0) * V);
    t0 += n;
  }
  return new Tensor('float32', out2, [B, at, V]);
}

function sortedKeys(m: Iterable<string>): string[] {
  return [...m].sort();
}

/** Random initialisation: every checkpoint weight is created, with the statistics of HF's _init_weights. */
function checkRandomInit(arch: DecoderArch, config: AnyConfig, expected: Map<string, Tensor>, kvDim: number): void {
  const store = new ParamStore(undefined, 7);
  buildForward(arch, config, store, kvDim);
  assert.deepEqual(sortedKeys(store.created), sortedKeys(expected.keys()), 'random init creates exactly the checkpoint weights');
  const std: number = config.init_std;
  for (const name of store.created) {
    const t = store.tensors.get(name)!;
    assert.deepEqual(t.dims, expected.get(name)!.dims, name);
    const d = f32(t);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    if (/layer_?norm[^.]*\.weight$/.test(name)) assert.ok(d.every((v) => v === 1), `${name} is ones`);
    else if (name.endsWith('.bias')) assert.ok(d.every((v) => v === 0), `${name} is zeros`);
    else {
      assert.ok(Math.abs(mean) < 4 * std / Math.sqrt(d.length) + 1e-3 * std, `${name}: mean ${mean}`);
      const rows = name.endsWith('embed_tokens.weight') ? (d.length - t.dims[1]!) / d.length : 1;
      assert.ok(Math.abs(sd / Math.sqrt(rows) - std) < 0.25 * std, `${name}: std ${sd}, want ${std}`);
    }
    if (name.endsWith('embed_tokens.weight') && config.pad_token_id !== null) {
      const D = t.dims[1]!;
      assert.ok(d.subarray(config.pad_token_id * D, (config.pad_token_id + 1) * D).every((v) => v === 0), 'padding row zeroed');
    }
  }
}

/** Every check against one Python fixture. */
async function checkFixture(caseName: string, arch: DecoderArch): Promise<void> {
  const c = loadCase(caseName);
  const config = c.config.decoder as AnyConfig;
  const weights = subWeights(c.weights, 'decoder.');
  const enc = encoderStates(c);
  const kvDim = enc.dims[2]!;
  const labels = c.io.get('labels')!;
  const ids = shiftRight(labels, c.case.decoder_start_token_id, c.case.pad_token_id);
  const V: number = config.vocab_size;
  const tol = 1e-4;

  // Logits from the labels shifted right.
  const full = buildForward(arch, config, new ParamStore(weights), kvDim);
  const logits = (await run(full.g, { logits: full.out.logits }, { input_ids: ids, encoder_hidden_states: enc })).logits!;
  const eLogits = maxRelErr(logits, c.io.get('logits')!);
  assert.ok(eLogits <= tol, `${caseName} logits: max rel err ${eLogits}`);

  // Padded decoder inputs with their attention mask.
  const masked = buildForward(arch, config, new ParamStore(weights), kvDim, { mask: true });
  const lm = (await run(masked.g, { logits: masked.out.logits }, {
    input_ids: c.io.get('decoder_input_ids')!,
    attention_mask: c.io.get('decoder_attention_mask')!,
    encoder_hidden_states: enc,
  })).logits!;
  const eMasked = maxRelErr(lm, c.io.get('logits_masked')!);
  assert.ok(eMasked <= tol, `${caseName} logits_masked: max rel err ${eMasked}`);

  // Loss and the gradient of every decoder weight (weights fed as graph inputs).
  const store = new ParamStore(weights);
  const tr = buildForward(arch, config, store, kvDim, { paramMode: 'input' });
  const labelsIn = tr.g.input('labels', 'int64', ['batch', 'seq']);
  const loss = F.crossEntropy(F.reshape(tr.out.logits, [-1, V]), F.reshape(labelsIn, [-1]));
  const names = [...tr.g.params.keys()];
  const grads = grad(loss, names.map((n) => tr.g.params.get(n)!.sym));
  const outs: Record<string, Sym> = { loss };
  names.forEach((n, i) => {
    assert.ok(grads[i], `no gradient reaches ${n}`);
    outs[`grad:${n}`] = grads[i]!;
  });
  const feeds: Record<string, Tensor> = { input_ids: ids, labels, encoder_hidden_states: enc };
  for (const n of names) feeds[n] = tr.g.params.get(n)!.tensor;
  const res = await run(tr.g, outs, feeds);
  const eLoss = maxRelErr(res.loss!.reshape([1]), c.io.get('loss')!);
  assert.ok(eLoss <= tol, `${caseName} loss: ${f32(res.loss!)[0]} vs ${f32(c.io.get('loss')!)[0]}`);
  const expectedGrads = subWeights(c.grads, 'decoder.');
  assert.deepEqual(sortedKeys(names), sortedKeys(expectedGrads.keys()), 'the gradient covers every decoder weight');
  // Gradients that are zero in exact arithmetic (K biases: softmax ignores a per-query constant)
  // are float noise on both sides: measure those against the largest gradient of the model.
  let globalMax = 0;
  for (const t of expectedGrads.values()) for (const v of f32(t)) globalMax = Math.max(globalMax, Math.abs(v));
  let eGrad = 0;
  for (const n of names) {
    const want = expectedGrads.get(n)!;
    const e = f32(want).every((v) => Math.abs(v) < 1e-6 * globalMax)
      ? f32(res[`grad:${n}`]!).reduce((m, v, i) => Math.max(m, Math.abs(v - f32(want)[i]!)), 0) / globalMax
      : maxRelErr(res[`grad:${n}`]!, want);
    assert.ok(e <= 1e-3, `${caseName} grad ${n}: max rel err ${e}`);
    eGrad = Math.max(eGrad, e);
  }

  // Declared weights = the checkpoint's decoder weights, tied aliases excluded.
  assert.deepEqual(store.created, [], 'nothing created over a full checkpoint');
  assert.deepEqual(sortedKeys(store.used), sortedKeys(weights.keys()), 'the model uses exactly the checkpoint weights');
  for (const k of arch.tiedKeys(config)) assert.ok(!weights.has(k) && !store.used.has(k), `${k} is a tied alias`);

  // Cached decoding: three tokens, then one at a time, equals the full forward. Chunked matmuls
  // sum in another order, so the difference is float32 noise of a few ulps of the largest logit:
  // measured relative to 1% of that (maxRelErr's default 0.1% floor sits at that noise level).
  const steps = await stepwiseLogits(arch, config, new ParamStore(weights), ids, enc, [3, 1, 1, 1, 1]);
  const eSteps = maxRelErr(steps, c.io.get('logits')!, 1e-2);
  assert.ok(eSteps <= tol, `${caseName} cached decoding: max rel err ${eSteps}`);
  // ... and with the padding mask of the masked case.
  const stepsMasked = await stepwiseLogits(arch, config, new ParamStore(weights), c.io.get('decoder_input_ids')!, enc, [2, 2, 1, 1], c.io.get('decoder_attention_mask')!);
  const eStepsMasked = maxRelErr(stepsMasked, c.io.get('logits_masked')!, 1e-2);
  assert.ok(eStepsMasked <= tol, `${caseName} cached decoding with mask: max rel err ${eStepsMasked}`);

  checkRandomInit(arch, config, weights, kvDim);
  console.log(`${caseName}: logits ${eLogits.toExponential(2)}, masked ${eMasked.toExponential(2)}, loss ${eLoss.toExponential(2)}, grads ${eGrad.toExponential(2)}, cached ${eSteps.toExponential(2)} / ${eStepsMasked.toExponential(2)}`);
}

/** inputs_embeds (the scaled lookup done outside) give the same logits as input_ids; hidden states and attentions come back as Python returns them. */
async function checkEmbedsAndOutputs(caseName: string, arch: DecoderArch): Promise<void> {
  const c = loadCase(caseName);
  const config = c.config.decoder as AnyConfig;
  const weights = subWeights(c.weights, 'decoder.');
  const enc = encoderStates(c);
  const kvDim = enc.dims[2]!;
  const ids = c.io.get('decoder_input_ids')!;
  const [B, T] = ids.dims as [number, number];
  const D: number = config.d_model;
  const table = f32(weights.get('model.decoder.embed_tokens.weight')!);
  const scale = config.scale_embedding ? Math.fround(Math.sqrt(D)) : 1;
  const emb = new Float32Array(B * T * D);
  ints(ids).forEach((id, r) => {
    for (let d = 0; d < D; d++) emb[r * D + d] = Math.fround(table[id * D + d]! * scale);
  });
  const attention_mask = c.io.get('decoder_attention_mask')!;
  const a = buildForward(arch, config, new ParamStore(weights), kvDim, { outputs: true, mask: true });
  const outA: Record<string, Sym> = { logits: a.out.logits };
  a.out.hidden_states!.forEach((h, i) => (outA[`h${i}`] = h));
  a.out.attentions!.forEach((h, i) => (outA[`a${i}`] = h));
  a.out.cross_attentions!.forEach((h, i) => (outA[`c${i}`] = h));
  const ra = await run(a.g, outA, { input_ids: ids, attention_mask, encoder_hidden_states: enc });
  const b = buildForward(arch, config, new ParamStore(weights), kvDim, { embeds: true, mask: true });
  const rb = await run(b.g, { logits: b.out.logits }, { inputs_embeds: new Tensor('float32', emb, [B, T, D]), attention_mask, encoder_hidden_states: enc });
  // Sinusoidal positions come from input_ids (padding keeps the padding position): compare rows without padding.
  const noPad = ints(ids).every((v) => v !== c.case.pad_token_id);
  const cmpA = config.use_learned_position_embeddings === false && !noPad ? sliceT(ra.logits!, 0, ints(ids).slice(T, 2 * T).indexOf(c.case.pad_token_id)) : ra.logits!;
  const cmpB = config.use_learned_position_embeddings === false && !noPad ? sliceT(rb.logits!, 0, cmpA.dims[1]!) : rb.logits!;
  // Same numbers through another graph (ORT fuses differently): float32 noise only.
  assert.ok(maxRelErr(cmpB, cmpA, 1e-2) <= 1e-4, `${caseName}: inputs_embeds logits differ (${maxRelErr(cmpB, cmpA, 1e-2)})`);

  const { layers, heads } = arch.cacheShape(config);
  assert.equal(a.out.hidden_states!.length, layers + 1);
  assert.equal(a.out.attentions!.length, layers);
  assert.equal(a.out.cross_attentions!.length, layers);
  for (let i = 0; i <= layers; i++) assert.deepEqual(ra[`h${i}`]!.dims, [B, T, D]);
  for (let i = 0; i < layers; i++) {
    const sa = ra[`a${i}`]!;
    const ca = ra[`c${i}`]!;
    assert.deepEqual(sa.dims, [B, heads, T, T]);
    assert.deepEqual(ca.dims, [B, heads, T, enc.dims[1]!]);
    const p = f32(sa);
    const mask = ints(attention_mask);
    for (let bb = 0; bb < B; bb++) {
      for (let h = 0; h < heads; h++) {
        for (let q = 0; q < T; q++) {
          let sum = 0;
          for (let k = 0; k < T; k++) {
            const v = p[((bb * heads + h) * T + q) * T + k]!;
            sum += v;
            if (k > q || mask[bb * T + k] === 0) assert.ok(v === 0, 'masked keys get no attention');
          }
          assert.ok(Math.abs(sum - 1) < 1e-5);
        }
      }
    }
  }
}

/**
 * Another configuration, randomly initialised: cached decoding equals the full forward (with a
 * padding mask), and the declared weights are what the config implies (untied heads included).
 */
async function checkVariant(arch: DecoderArch, config: AnyConfig, kvDim: number, expectNames: (names: string[]) => void): Promise<void> {
  const store = new ParamStore(undefined, 3);
  const full = buildForward(arch, config, store, kvDim, { mask: true });
  expectNames(sortedKeys(store.created));
  const B = 2;
  const T = 6;
  const S = 5;
  const idsArr = [2, 5, 9, 4, 7, 3, 2, 8, 6, 11, 4, 5];
  const ids = i64(idsArr, [B, T]);
  const mask = i64([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [B, T]);
  const encData = new Float32Array(B * S * kvDim).map((_, i) => Math.sin(i * 0.37) * 0.8);
  const enc = new Tensor('float32', encData, [B, S, kvDim]);
  const ref = (await run(full.g, { logits: full.out.logits }, { input_ids: ids, attention_mask: mask, encoder_hidden_states: enc })).logits!;
  assert.ok(f32(ref).every(Number.isFinite));
  const steps = await stepwiseLogits(arch, config, store, ids, enc, [1, 3, 2], mask);
  const e = maxRelErr(steps, ref, 1e-2);
  assert.ok(e <= 1e-4, `${config.model_type} variant: cached decoding differs from the full forward (${e})`);
}

/**
 * torch.nn.Embedding(padding_idx): the padding row takes no gradient from the lookup. With an
 * untied head, the row's whole gradient is zero even where a padding token's output is in the loss.
 */
async function checkPaddingRowGradient(arch: DecoderArch, config: AnyConfig, kvDim: number): Promise<void> {
  assert.equal(config.tie_word_embeddings, false);
  const store = new ParamStore(undefined, 5);
  const tr = buildForward(arch, config, store, kvDim, { paramMode: 'input' });
  const labels = tr.g.input('labels', 'int64', ['batch', 'seq']);
  const loss = F.crossEntropy(F.reshape(tr.out.logits, [-1, config.vocab_size]), F.reshape(labels, [-1]));
  const name = 'model.decoder.embed_tokens.weight';
  const [dEmb] = grad(loss, [tr.g.params.get(name)!.sym]);
  const feeds: Record<string, Tensor> = {
    input_ids: i64([2, 5, 1, 4, 1, 3], [1, 6]),
    labels: i64([5, 1, 4, 1, 3, 7], [1, 6]),
    encoder_hidden_states: new Tensor('float32', new Float32Array(3 * kvDim).map((_, i) => Math.cos(i)), [1, 3, kvDim]),
  };
  for (const [n, p] of tr.g.params) feeds[n] = p.tensor;
  const d = f32((await run(tr.g, { d: dEmb! }, feeds)).d!);
  const D: number = config.d_model;
  const pad: number = config.pad_token_id;
  assert.ok(d.subarray(pad * D, (pad + 1) * D).every((v) => v === 0), 'the padding row gets no gradient');
  assert.ok(d.subarray(5 * D, 6 * D).some((v) => v !== 0), 'other rows do');
}

const bartVariant: AnyConfig = {
  model_type: 'bart',
  vocab_size: 30,
  d_model: 16,
  decoder_attention_heads: 2,
  decoder_ffn_dim: 20,
  decoder_layers: 3,
  max_position_embeddings: 20,
  activation_function: 'relu',
  scale_embedding: true,
  tie_word_embeddings: false,
  init_std: 0.2,
  pad_token_id: 1,
};

test('BART decoder (BartForCausalLM) matches Python: deit24-bart24', async () => {
  await checkFixture('deit24-bart24', BART);
  await checkEmbedsAndOutputs('deit24-bart24', BART);
});

test('BART decoder: untied lm_head, relu, scaled embeddings, 3 layers', async () => {
  await checkVariant(BART, bartVariant, 16, (names) => {
    assert.ok(names.includes('lm_head.weight'));
    assert.ok(names.includes('model.decoder.layers.2.fc2.bias'));
    assert.ok(!names.some((n) => n.includes('layers.3')));
  });
  assert.deepEqual(BART.tiedKeys(bartVariant), []);
  await checkPaddingRowGradient(BART, bartVariant, 16);
  assert.deepEqual(BART.tiedKeys({ ...bartVariant, tie_word_embeddings: true }), ['lm_head.weight']);
  assert.deepEqual(BART.cacheShape(bartVariant), { layers: 3, heads: 2, head_dim: 8 });
  assert.throws(() => BART.cacheShape({ ...bartVariant, decoder_attention_heads: 3 }), /d_model \(16\) must be a multiple of decoder_attention_heads \(3\)/);
  const g = new Graph();
  assert.throws(
    () => BART.forward(new Ctx(g, new ParamStore()), { ...bartVariant, activation_function: 'nope' }, { input_ids: g.input('i', 'int64', ['b', 't']), encoder_hidden_states: g.input('e', 'float32', ['b', 's', 16]) }),
    /activation_function/,
  );
});

test('mBART decoder (MBartForCausalLM) matches Python: vit-mbart40', async () => {
  await checkFixture('vit-mbart40', MBART);
  await checkEmbedsAndOutputs('vit-mbart40', MBART);
});

test('mBART decoder: untied lm_head, silu, unscaled embeddings, 1 layer', async () => {
  const config: AnyConfig = { ...bartVariant, model_type: 'mbart', decoder_layers: 1, activation_function: 'silu', scale_embedding: false, d_model: 12, decoder_attention_heads: 3 };
  await checkVariant(MBART, config, 12, (names) => {
    assert.ok(names.includes('lm_head.weight'));
    assert.ok(names.includes('model.decoder.layer_norm.weight'));
    assert.ok(!names.some((n) => n.includes('layers.1')));
  });
  await checkPaddingRowGradient(MBART, config, 12);
  assert.deepEqual(MBART.tiedKeys({ model_type: 'mbart' }), ['lm_head.weight']);
  assert.deepEqual(MBART.cacheShape({ model_type: 'mbart' }), { layers: 12, heads: 16, head_dim: 64 });
});

test('TrOCR decoder (TrOCRForCausalLM, learned positions) matches Python: vit-trocr', async () => {
  await checkFixture('vit-trocr', TROCR);
  await checkEmbedsAndOutputs('vit-trocr', TROCR);
});

// Python could not reload this checkpoint (fixtures README): its outputs come from the in-memory
// model that was saved, i.e. from exactly these weights.
test('TrOCR decoder (sinusoidal positions) matches Python: donutswin3-trocrsin12', async () => {
  await checkFixture('donutswin3-trocrsin12', TROCR);
  await checkEmbedsAndOutputs('donutswin3-trocrsin12', TROCR);
});

const trocrVariant: AnyConfig = {
  model_type: 'trocr',
  vocab_size: 40,
  d_model: 15,
  decoder_attention_heads: 3,
  decoder_ffn_dim: 24,
  decoder_layers: 2,
  max_position_embeddings: 16,
  activation_function: 'gelu_new',
  scale_embedding: true,
  use_learned_position_embeddings: false,
  layernorm_embedding: false,
  cross_attention_hidden_size: 10,
  tie_word_embeddings: false,
  init_std: 0.2,
  pad_token_id: 1,
};

test('TrOCR decoder: sinusoidal positions with odd d_model, cross_attention_hidden_size, no layernorm_embedding, untied output_projection', async () => {
  await checkVariant(TROCR, trocrVariant, 10, (names) => {
    assert.ok(names.includes('output_projection.weight'));
    assert.ok(!names.some((n) => n.includes('layernorm_embedding') || n.includes('embed_positions')));
    assert.ok(names.includes('model.decoder.layers.1.encoder_attn.k_proj.weight'));
  });
  // The cross-attention K/V projections take cross_attention_hidden_size inputs.
  const store = new ParamStore(undefined, 1);
  buildForward(TROCR, trocrVariant, store, 10);
  assert.deepEqual(store.tensors.get('model.decoder.layers.0.encoder_attn.k_proj.weight')!.dims, [15, 10]);
  assert.deepEqual(store.tensors.get('model.decoder.layers.0.encoder_attn.q_proj.weight')!.dims, [15, 15]);
  await checkPaddingRowGradient(TROCR, trocrVariant, 10);
  // Learned positions and layernorm_embedding in the same configuration.
  await checkVariant(TROCR, { ...trocrVariant, use_learned_position_embeddings: true, layernorm_embedding: true, tie_word_embeddings: true }, 10, (names) => {
    assert.ok(names.includes('model.decoder.embed_positions.weight') && names.includes('model.decoder.layernorm_embedding.weight'));
    assert.ok(!names.includes('output_projection.weight'));
  });
  assert.deepEqual(TROCR.tiedKeys({ model_type: 'trocr' }), ['output_projection.weight']);
  assert.deepEqual(TROCR.tiedKeys(trocrVariant), []);
  assert.throws(() => TROCR.cacheShape({ ...trocrVariant, pad_token_id: null }), /need pad_token_id/);
});

test('TrOCR sinusoidal positions: padding keeps padding_idx (zero vector), others count from padding_idx + 1', async () => {
  // hidden_states[0] is embeddings + positions (no layernorm_embedding in this config). A padding
  // token in the middle does not advance the positions after it (create_position_ids_from_input_ids).
  const config = { ...trocrVariant, tie_word_embeddings: true };
  const store = new ParamStore(undefined, 11);
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const enc = g.input('encoder_hidden_states', 'float32', ['batch', 'enc', 10]);
  const out = TROCR.forward(new Ctx(g, store), config, { input_ids: ids, encoder_hidden_states: enc, output_hidden_states: true });
  const e = new Tensor('float32', new Float32Array(2 * 3 * 10).map((_, i) => Math.sin(i)), [2, 3, 10]);
  // Row 0: [2, 1, 5] (padding in the middle), row 1: [2, 5, 1]. Token 5 sits at position 2 + pad in
  // row 0 (the padding token does not count) and at position 2 + pad in row 1 too.
  const r = await run(g, { h0: out.hidden_states![0]!, logits: out.logits }, { input_ids: i64([2, 1, 5, 2, 5, 1], [2, 3]), encoder_hidden_states: e });
  const h = f32(r.h0!);
  const D = 15;
  const row = (b: number, t: number) => Array.from(h.subarray((b * 3 + t) * D, (b * 3 + t + 1) * D));
  assert.deepEqual(row(0, 2), row(1, 1), 'token 5 gets the same position in both rows');
  const table = f32(store.tensors.get('model.decoder.embed_tokens.weight')!);
  const scale = Math.fround(Math.sqrt(D));
  // A padding token: its embedding row plus a zero position vector.
  row(0, 1).forEach((v, d) => assert.ok(Math.abs(v - Math.fround(table[1 * D + d]! * scale)) < 1e-6));
  // Token 2 at position pad + 1 = 2: sin(2 f_i), cos(2 f_i), then the zero column of odd d_model.
  const f = Array.from({ length: 7 }, (_, i) => Math.exp((i * -Math.log(10000)) / 6));
  const want = [...f.map((x) => Math.sin(2 * x)), ...f.map((x) => Math.cos(2 * x)), 0];
  row(0, 0).forEach((v, d) => assert.ok(Math.abs(v - table[2 * D + d]! * scale - want[d]!) < 1e-5, `dim ${d}`));
});
