// Swin and Donut-Swin encoders against Python transformers' fixtures (swin-bert, donutswin3-trocrsin12):
// encoder states, the exact set of checkpoint weights (and Donut's persistent relative_position_index),
// hidden states / attentions as Python returns them, random initialisation as _init_weights, and
// gradients (autodiff against finite differences). The fixtures' relative position tables are zero
// (HF initialises them so), so the bias lookup, shifted-window masks, paddings, odd patch merges,
// rectangular patches and non-square images are also checked against a plain-loop float64 Swin
// written here from transformers' modeling files, with every weight random.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { grad } from '../src/graph/autodiff.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { Ctx, ParamStore, type AnyConfig } from '../src/models/modeling_utils.js';
import { type EncoderArch } from '../src/models/architectures.js';
import { SwinModel, relativePositionIndex } from '../src/models/swin.js';
import { DonutSwinModel } from '../src/models/donut_swin.js';
import { loadCase, maxRelErr, subWeights } from './model_helpers.js';
import { rng } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function uniform(dims: number[], seed: number, scale = 1, offset = 0): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('float32', Float32Array.from({ length: n }, () => offset + scale * (2 * r() - 1)), dims);
}

interface Built {
  g: Graph;
  store: ParamStore;
  out: ReturnType<EncoderArch['forward']> & { pooler_output?: Sym };
}

function build(arch: EncoderArch, config: AnyConfig, weights: Map<string, Tensor> | undefined, pixelDims: (number | string)[], opts: { training?: boolean; paramMode?: 'input' | 'initializer'; output_hidden_states?: boolean; output_attentions?: boolean; seed?: number } = {}): Built {
  const store = new ParamStore(weights, opts.seed ?? 0);
  const g = new Graph({ paramMode: opts.paramMode ?? 'initializer', training: opts.training ?? false });
  const pixel = g.input('pixel_values', 'float32', pixelDims);
  const out = arch.forward(new Ctx(g, store), config, pixel, { output_hidden_states: opts.output_hidden_states, output_attentions: opts.output_attentions });
  return { g, store, out };
}

async function run(g: Graph, outputs: Record<string, Sym>, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const cg = await CompiledGraph.create(g, outputs, { threads: 1 });
  try {
    return await cg.run(feeds);
  } finally {
    await cg.dispose();
  }
}

function stats(t: Tensor): { mean: number; std: number } {
  const d = t.data as Float32Array;
  let s = 0;
  let s2 = 0;
  for (const v of d) {
    s += v;
    s2 += v * v;
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / d.length - mean * mean)) };
}

function maxRel64(a: Float32Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  const floor = Math.max(1e-3 * scale, 1e-12);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return worst;
}

/** The names a checkpoint of this model holds: weights used plus persistent buffers the model saves. */
function declared(store: ParamStore): string[] {
  return [...store.used].sort();
}

// ---------------------------------------------------------------------------------------------
// A plain-loop float64 Swin, from transformers' modeling_swin.py / modeling_donut_swin.py. It
// works window by window in the shifted frame with modular indexing (no roll, no partition
// reshapes), so it shares none of the graph's index bookkeeping.

function erf(z: number): number {
  const a = Math.abs(z);
  let r: number;
  if (a < 3) {
    // Maclaurin series.
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction, evaluated from the tail.
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return z < 0 ? -r : r;
}

function act(name: string, x: number): number {
  switch (name) {
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_new':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'relu':
      return Math.max(0, x);
    default:
      throw new Error(`reference: activation ${name}`);
  }
}

interface RefOut {
  last: Float64Array; // [B, L, C]
  hidden: Float64Array[]; // embeddings + each stage
  attn: Float64Array[]; // per stage, last block: [B · windows, heads, T, T]
}

function reference(config: AnyConfig, W: Map<string, Tensor>, pixels: Tensor, variant: 'swin' | 'donut', opts: { dropAttnBlocks?: Set<number> } = {}): RefOut {
  const get = (n: string) => {
    const t = W.get(n);
    if (!t) throw new Error(`reference: no weight ${n}`);
    return t.data as Float32Array;
  };
  const has = (n: string) => W.has(n);
  const [B, C, H, Wd] = pixels.dims as number[] as [number, number, number, number];
  const pix = pixels.data as Float32Array;
  const pair = (v: number | number[]) => (Array.isArray(v) ? v : [v, v]);
  const [ph, pw] = pair(config.patch_size) as [number, number];
  const E: number = config.embed_dim;
  const depths: number[] = config.depths;
  const headsL: number[] = config.num_heads;
  const win: number = config.window_size;
  const eps: number = config.layer_norm_eps ?? 1e-5;
  const actName: string = config.hidden_act ?? 'gelu';
  const mlp: number = config.mlp_ratio ?? 4;

  const ln = (x: Float64Array, n: number, d: number, w: Float32Array, b: Float32Array, e: number) => {
    const out = new Float64Array(n * d);
    for (let r = 0; r < n; r++) {
      let m = 0;
      for (let i = 0; i < d; i++) m += x[r * d + i]!;
      m /= d;
      let v = 0;
      for (let i = 0; i < d; i++) v += (x[r * d + i]! - m) ** 2;
      v /= d;
      const rs = 1 / Math.sqrt(v + e);
      for (let i = 0; i < d; i++) out[r * d + i] = (x[r * d + i]! - m) * rs * w[i]! + b[i]!;
    }
    return out;
  };
  const lin = (x: Float64Array, n: number, din: number, dout: number, w: Float32Array, b: Float32Array | null) => {
    const out = new Float64Array(n * dout);
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < dout; o++) {
        let s = b ? b[o]! : 0;
        for (let i = 0; i < din; i++) s += x[r * din + i]! * w[o * din + i]!;
        out[r * dout + o] = s;
      }
    }
    return out;
  };

  const gh = Math.ceil(H / ph);
  const gw = Math.ceil(Wd / pw);
  const hidden: Float64Array[] = [];
  const attn: Float64Array[] = [];
  // Per sample, then stacked.
  const perSample: { hidden: Float64Array[]; attn: Float64Array[]; last: Float64Array }[] = [];
  let blockCounter = 0;
  for (let bi = 0; bi < B; bi++) {
    blockCounter = 0;
    const pw_ = get('embeddings.patch_embeddings.projection.weight');
    const pb = get('embeddings.patch_embeddings.projection.bias');
    let x = new Float64Array(gh * gw * E);
    for (let i = 0; i < gh; i++) {
      for (let j = 0; j < gw; j++) {
        for (let o = 0; o < E; o++) {
          let s = pb[o]!;
          for (let c = 0; c < C; c++) {
            for (let ki = 0; ki < ph; ki++) {
              for (let kj = 0; kj < pw; kj++) {
                const y = i * ph + ki;
                const xx = j * pw + kj;
                if (y >= H || xx >= Wd) continue;
                s += pix[((bi * C + c) * H + y) * Wd + xx]! * pw_[((o * C + c) * ph + ki) * pw + kj]!;
              }
            }
          }
          x[(i * gw + j) * E + o] = s;
        }
      }
    }
    x = ln(x, gh * gw, E, get('embeddings.norm.weight'), get('embeddings.norm.bias'), 1e-5);
    if (has('embeddings.position_embeddings')) {
      const p = get('embeddings.position_embeddings');
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + p[i]!;
    }
    const hs: Float64Array[] = [x];
    const at: Float64Array[] = [];
    let [h, w] = [gh, gw];
    depths.forEach((depth, st) => {
      const dim = E * 2 ** st;
      const heads = headsL[st]!;
      const hd = dim / heads;
      const small = Math.min(h, w) <= win;
      let probsStage: Float64Array | null = null;
      for (let blk = 0; blk < depth; blk++) {
        const pre = `encoder.layers.${st}.blocks.${blk}.`;
        const shift = blk % 2 === 1 && !small ? Math.floor(win / 2) : 0;
        const xn = ln(x, h * w, dim, get(pre + 'layernorm_before.weight'), get(pre + 'layernorm_before.bias'), eps);
        const hp = Math.ceil(h / win) * win;
        const wp = Math.ceil(w / win) * win;
        // The shifted frame S[r][c] = padded[(r + shift) % hp][(c + shift) % wp].
        const S = new Float64Array(hp * wp * dim);
        for (let r = 0; r < hp; r++) {
          for (let c = 0; c < wp; c++) {
            const r0 = (r + shift) % hp;
            const c0 = (c + shift) % wp;
            if (r0 < h && c0 < w) for (let k = 0; k < dim; k++) S[(r * wp + c) * dim + k] = xn[(r0 * w + c0) * dim + k]!;
          }
        }
        const qb = has(pre + 'attention.self.query.bias') ? get(pre + 'attention.self.query.bias') : null;
        const kb = has(pre + 'attention.self.key.bias') ? get(pre + 'attention.self.key.bias') : null;
        const vb = has(pre + 'attention.self.value.bias') ? get(pre + 'attention.self.value.bias') : null;
        const q = lin(S, hp * wp, dim, dim, get(pre + 'attention.self.query.weight'), qb);
        const k = lin(S, hp * wp, dim, dim, get(pre + 'attention.self.key.weight'), kb);
        const v = lin(S, hp * wp, dim, dim, get(pre + 'attention.self.value.weight'), vb);
        const table = get(pre + 'attention.self.relative_position_bias_table');
        const region = (p: number, size: number) => (p >= size - win ? (p >= size - shift ? 2 : 1) : 0);
        const label = (r: number, c: number) => region(r, hp) * 3 + region(c, wp);
        const ctxS = new Float64Array(hp * wp * dim);
        const T = win * win;
        const nwin = (hp / win) * (wp / win);
        const probs = new Float64Array(nwin * heads * T * T);
        for (let a = 0; a < hp / win; a++) {
          for (let b = 0; b < wp / win; b++) {
            const wi = a * (wp / win) + b;
            for (let hh = 0; hh < heads; hh++) {
              for (let t1 = 0; t1 < T; t1++) {
                const [y1, x1] = [Math.floor(t1 / win), t1 % win];
                const p1 = (a * win + y1) * wp + (b * win + x1);
                const sc = new Float64Array(T);
                let mx = -Infinity;
                for (let t2 = 0; t2 < T; t2++) {
                  const [y2, x2] = [Math.floor(t2 / win), t2 % win];
                  const p2 = (a * win + y2) * wp + (b * win + x2);
                  let s = 0;
                  for (let d = 0; d < hd; d++) s += q[p1 * dim + hh * hd + d]! * k[p2 * dim + hh * hd + d]!;
                  s /= Math.sqrt(hd);
                  s += table[((y1 - y2 + win - 1) * (2 * win - 1) + (x1 - x2 + win - 1)) * heads + hh]!;
                  if (shift && label(a * win + y1, b * win + x1) !== label(a * win + y2, b * win + x2)) s += -100;
                  sc[t2] = s;
                  mx = Math.max(mx, s);
                }
                let z = 0;
                for (let t2 = 0; t2 < T; t2++) z += (sc[t2] = Math.exp(sc[t2]! - mx));
                for (let t2 = 0; t2 < T; t2++) {
                  const pr = sc[t2]! / z;
                  probs[((wi * heads + hh) * T + t1) * T + t2] = pr;
                  const p2 = (a * win + Math.floor(t2 / win)) * wp + (b * win + (t2 % win));
                  for (let d = 0; d < hd; d++) ctxS[p1 * dim + hh * hd + d] += pr * v[p2 * dim + hh * hd + d]!;
                }
              }
            }
          }
        }
        probsStage = probs;
        const o = lin(ctxS, hp * wp, dim, dim, get(pre + 'attention.output.dense.weight'), get(pre + 'attention.output.dense.bias'));
        const drop = opts.dropAttnBlocks?.has(blockCounter++) ?? false;
        const x2 = new Float64Array(x);
        if (!drop) {
          for (let r = 0; r < hp; r++) {
            for (let c = 0; c < wp; c++) {
              const r0 = (r + shift) % hp;
              const c0 = (c + shift) % wp;
              if (r0 < h && c0 < w) for (let kk = 0; kk < dim; kk++) x2[(r0 * w + c0) * dim + kk] += o[(r * wp + c) * dim + kk]!;
            }
          }
        }
        const inner = Math.trunc(mlp * dim);
        let m = ln(x2, h * w, dim, get(pre + 'layernorm_after.weight'), get(pre + 'layernorm_after.bias'), eps);
        m = lin(m, h * w, dim, inner, get(pre + 'intermediate.dense.weight'), get(pre + 'intermediate.dense.bias'));
        for (let i = 0; i < m.length; i++) m[i] = act(actName, m[i]!);
        m = lin(m, h * w, inner, dim, get(pre + 'output.dense.weight'), get(pre + 'output.dense.bias'));
        for (let i = 0; i < x2.length; i++) x2[i] = x2[i]! + m[i]!;
        x = x2;
      }
      if (st < depths.length - 1) {
        const pre = `encoder.layers.${st}.downsample.`;
        const [h2, w2] = [Math.ceil(h / 2), Math.ceil(w / 2)];
        const cat = new Float64Array(h2 * w2 * 4 * dim);
        for (let i = 0; i < h2; i++) {
          for (let j = 0; j < w2; j++) {
            // torch.cat of [0::2, 0::2], [1::2, 0::2], [0::2, 1::2], [1::2, 1::2].
            const picks: [number, number][] = [[2 * i, 2 * j], [2 * i + 1, 2 * j], [2 * i, 2 * j + 1], [2 * i + 1, 2 * j + 1]];
            picks.forEach(([r, c], n) => {
              if (r < h && c < w) for (let kk = 0; kk < dim; kk++) cat[(i * w2 + j) * 4 * dim + n * dim + kk] = x[(r * w + c) * dim + kk]!;
            });
          }
        }
        const normed = ln(cat, h2 * w2, 4 * dim, get(pre + 'norm.weight'), get(pre + 'norm.bias'), 1e-5);
        x = lin(normed, h2 * w2, 4 * dim, 2 * dim, get(pre + 'reduction.weight'), null);
        [h, w] = [h2, w2];
      }
      hs.push(x);
      at.push(probsStage!);
    });
    const D = E * 2 ** (depths.length - 1);
    const last = variant === 'swin' ? ln(x, h * w, D, get('layernorm.weight'), get('layernorm.bias'), eps) : x;
    perSample.push({ hidden: hs, attn: at, last });
  }
  const stack = (parts: Float64Array[]) => {
    const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  for (let i = 0; i < perSample[0]!.hidden.length; i++) hidden.push(stack(perSample.map((p) => p.hidden[i]!)));
  for (let i = 0; i < perSample[0]!.attn.length; i++) attn.push(stack(perSample.map((p) => p.attn[i]!)));
  return { last: stack(perSample.map((p) => p.last)), hidden, attn };
}

/** Every float weight of a freshly initialised model replaced by random values (LayerNorm weights near 1), so nothing is zero. */
function randomWeights(arch: EncoderArch, config: AnyConfig, pixelDims: number[], seed: number): Map<string, Tensor> {
  const fresh = build(arch, config, undefined, ['batch', ...pixelDims.slice(1)], { seed });
  const out = new Map<string, Tensor>();
  let i = 0;
  for (const [name, t] of fresh.store.tensors) {
    if (t.type !== 'float32') out.set(name, t);
    else if (/norm.*\.weight$|layernorm_(before|after)\.weight$/.test(name)) out.set(name, uniform(t.dims, seed + i++, 0.3, 1));
    else if (/relative_position_bias_table/.test(name)) out.set(name, uniform(t.dims, seed + i++, 1.5));
    else out.set(name, uniform(t.dims, seed + i++, name.endsWith('bias') ? 0.2 : 0.4));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Gradients: sum(out · R) for every parameter; finite differences on chosen weights.

async function checkGradients(arch: EncoderArch, config: AnyConfig, weights: Map<string, Tensor>, pixel_values: Tensor, label: string, pick: RegExp): Promise<void> {
  const [, C, H, W] = pixel_values.dims as [number, number, number, number];
  const b = build(arch, config, weights, ['batch', C, H, W], { paramMode: 'input' });
  const out = b.out.last_hidden_state;
  const R = b.g.input('R', 'float32', out.shape);
  const loss = F.reduceSum(F.reshape(F.mul(out, R), [-1]), [0], false);
  const params = [...b.g.params.entries()];
  const grads = grad(loss, params.map(([, p]) => p.sym));
  const outputs: Record<string, Sym> = { loss };
  params.forEach(([name], i) => {
    assert.ok(grads[i], `${label}: no gradient reaches ${name}`);
    outputs[`grad:${name}`] = grads[i]!;
  });
  const cg = await CompiledGraph.create(b.g, outputs, { threads: 1 });
  const outDims = out.shape.map((d) => (typeof d === 'number' ? d : pixel_values.dims[0]!));
  const feeds: Record<string, Tensor> = { pixel_values, R: uniform(outDims, 99) };
  for (const [name, p] of params) feeds[name] = new Tensor('float32', Float32Array.from(p.tensor.data as Float32Array), p.tensor.dims);
  const res = await cg.run(feeds);
  for (const [name, p] of params) {
    const g = res[`grad:${name}`]!;
    assert.deepEqual(g.dims, p.tensor.dims, `${label}: gradient of ${name} has its shape`);
    assert.ok((g.data as Float32Array).every(Number.isFinite), `${label}: gradient of ${name} is finite`);
  }
  const names = params.map(([n]) => n).filter((n) => pick.test(n));
  assert.ok(names.length >= 3, `${label}: finite differences pick ${names.join(', ')}`);
  const eps = 1e-2;
  let worst = 0;
  for (const name of names) {
    const x = feeds[name]!.data as Float32Array;
    const an = res[`grad:${name}`]!.data as Float32Array;
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
      const err = Math.abs(fd - an[i]!) / Math.max(0.1, Math.abs(fd));
      worst = Math.max(worst, err);
      assert.ok(err <= 2e-2, `${label}: d loss/d ${name}[${i}]: autodiff ${an[i]} vs finite difference ${fd}`);
    }
  }
  console.log(`# ${label}: gradients of ${params.length} parameters; finite differences on ${names.length} weights, worst rel err ${worst.toExponential(2)}`);
  await cg.dispose();
}

// ---------------------------------------------------------------------------------------------
// Fixtures

async function checkFixture(arch: EncoderArch, caseName: string, variant: 'swin' | 'donut'): Promise<void> {
  const c = loadCase(caseName);
  const config = c.config.encoder;
  assert.equal(config.model_type, arch.model_type);
  const weights = subWeights(c.weights, 'encoder.');
  const pixel_values = c.io.get('pixel_values')!;
  const expected = c.io.get('encoder_last_hidden_state')!;
  const [B, C, H, W] = pixel_values.dims as [number, number, number, number];
  const stages = (config.depths as number[]).length;

  // 1. Parity, with every checkpoint weight declared and nothing made up.
  const b = build(arch, config, weights, ['batch', C, H, W], { output_hidden_states: true, output_attentions: true });
  assert.deepEqual(b.store.created, [], `${caseName}: the code asked for weights the checkpoint does not have`);
  assert.deepEqual(declared(b.store), [...weights.keys()].sort(), `${caseName}: declared weights = checkpoint weights`);
  const outputs: Record<string, Sym> = { last: b.out.last_hidden_state, pool: b.out.pooler_output! };
  b.out.hidden_states!.forEach((h, i) => (outputs[`h${i}`] = h));
  b.out.attentions!.forEach((a, i) => (outputs[`a${i}`] = a));
  const res = await run(b.g, outputs, { pixel_values });
  // Python's float32 result is itself up to ~1.8e-4 (maxRelErr) from the exact float64 value on
  // near-zero elements of donutswin3 (max abs 4e-7 at scale 2); so: ours within 1e-4 of the exact
  // value, and within 1e-4 of Python's, or no further from it than the two float32 errors add up to.
  const err = maxRelErr(res['last']!, expected);
  const exact = reference(config, weights, pixel_values, variant).last;
  const errExact = maxRel64(res['last']!.data as Float32Array, exact);
  const pythonExact = maxRel64(expected.data as Float32Array, exact);
  console.log(`# ${caseName}: encoder_last_hidden_state max rel err ${err.toExponential(2)} vs Python; vs float64 ${errExact.toExponential(2)} (Python's own: ${pythonExact.toExponential(2)})`);
  assert.ok(errExact <= REF_TOL, `${caseName}: encoder_last_hidden_state max relative error ${errExact} from the float64 reference`);
  assert.ok(err <= 1e-4 || err <= errExact + pythonExact, `${caseName}: encoder_last_hidden_state max relative error ${err} from Python`);

  // 2. hidden_states: embeddings + one per stage (after its patch merging); attentions: one per stage.
  assert.equal(b.out.hidden_states!.length, stages + 1);
  assert.equal(b.out.attentions!.length, stages);
  const hs = b.out.hidden_states!.map((_, i) => res[`h${i}`]!);
  assert.deepEqual(hs[stages]!.dims, expected.dims);
  if (variant === 'donut') assert.deepEqual(hs[stages]!.data, res['last']!.data, 'Donut-Swin: last_hidden_state = the last stage output (no final layernorm)');
  else assert.ok(maxRelErr(res['last']!, hs[stages]!) > 1e-2, 'Swin: last_hidden_state = layernorm(last stage output)');
  for (let i = 0; i < stages; i++) {
    const a = res[`a${i}`]!;
    const T = a.dims[3]!;
    assert.equal(a.dims[0]! % B, 0);
    assert.equal(a.dims[1], config.num_heads[i]);
    const d = a.data as Float32Array;
    for (let r = 0; r < d.length / T; r++) {
      let s = 0;
      for (let j = 0; j < T; j++) s += d[r * T + j]!;
      assert.ok(Math.abs(s - 1) < 1e-5, `attention row ${r} of stage ${i} sums to ${s}`);
    }
  }
  // pooler_output: the mean over tokens of last_hidden_state.
  const [, L, D] = expected.dims as [number, number, number];
  const pool = res['pool']!.data as Float32Array;
  const last = res['last']!.data as Float32Array;
  for (let bb = 0; bb < B; bb++) {
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let t = 0; t < L; t++) s += last[(bb * L + t) * D + d]!;
      assert.ok(Math.abs(pool[bb * D + d]! - s / L) < 1e-5);
    }
  }
  const plain = build(arch, config, weights, ['batch', C, H, W]);
  assert.equal(plain.out.hidden_states, undefined);
  assert.equal(plain.out.attentions, undefined);

  // 3. Random initialisation creates exactly the checkpoint's weights, with its shapes and _init_weights' statistics.
  const fresh = build(arch, config, undefined, ['batch', C, H, W], { seed: 7 });
  assert.deepEqual(declared(fresh.store), [...weights.keys()].sort(), `${caseName}: random init declares every checkpoint weight`);
  const buffers = [...fresh.store.used].filter((n) => fresh.store.buffers.has(n));
  assert.deepEqual([...fresh.store.created, ...buffers].sort(), [...weights.keys()].sort());
  for (const [k, t] of weights) {
    const mine = fresh.store.tensors.get(k)!;
    assert.deepEqual(mine.dims, t.dims, `${caseName}: shape of ${k}`);
    assert.equal(mine.type, t.type, `${caseName}: dtype of ${k}`);
    if (t.type === 'int64') {
      assert.deepEqual([...(mine.data as BigInt64Array)], [...(t.data as BigInt64Array)], `${caseName}: ${k} as Python computes it`);
      continue;
    }
    const st = stats(mine);
    if (/norm\.weight$|layernorm(_before|_after)?\.weight$/.test(k)) assert.ok(st.mean === 1 && st.std === 0, `${k} initialises to ones`);
    else if (/bias$|relative_position_bias_table$/.test(k)) assert.ok(st.mean === 0 && st.std === 0, `${k} initialises to zeros`);
    else {
      assert.ok(Math.abs(st.std - config.initializer_range) < 0.25 * config.initializer_range, `${k}: std ${st.std}, initializer_range ${config.initializer_range}`);
      assert.ok(Math.abs(st.mean) < 0.25 * config.initializer_range, `${k}: mean ${st.mean}`);
    }
  }
  const rnd = await run(fresh.g, { last: fresh.out.last_hidden_state }, { pixel_values });
  assert.deepEqual(rnd['last']!.dims, expected.dims);
  assert.ok((rnd['last']!.data as Float32Array).every(Number.isFinite));

  // 4. Gradients.
  await checkGradients(arch, config, weights, pixel_values, caseName, /patch_embeddings\.projection\.weight|layers\.0\.blocks\.[01]\.attention\.self\.query\.weight|relative_position_bias_table|downsample\.reduction\.weight|layers\.1\.blocks\.0\.intermediate\.dense\.weight/);
}

test('Swin: swin-bert fixture (states, weights, outputs, init, gradients)', async () => {
  await checkFixture(SwinModel, 'swin-bert', 'swin');
});

test('Donut-Swin: donutswin3-trocrsin12 fixture (padded windows, persistent relative_position_index)', async () => {
  await checkFixture(DonutSwinModel, 'donutswin3-trocrsin12', 'donut');
  const c = loadCase('donutswin3-trocrsin12');
  for (const [k, t] of subWeights(c.weights, 'encoder.')) {
    if (k.endsWith('relative_position_index')) assert.deepEqual([...(t.data as BigInt64Array)], [...(relativePositionIndex(c.config.encoder.window_size).data as BigInt64Array)], k);
  }
});

// ---------------------------------------------------------------------------------------------
// Against the float64 reference: configurations the fixtures do not cover

// float32 graph against float64 loops through several random blocks: rounding reaches ~1e-4 on
// near-zero elements; a wrong index, shift, mask or merge order is off by 1e-2 or more.
const REF_TOL = 3e-4;

const CASES: { label: string; arch: EncoderArch; variant: 'swin' | 'donut'; config: AnyConfig; pixels: number[] }[] = [
  {
    // 6×5 patch grid (image not a multiple of the rectangular patch): shifted windows with padding,
    // odd merges 6×5 → 3×3 → 2×2, last stage one unshifted window; qkv_bias false, mlp_ratio 2.5.
    label: 'swin non-square, rectangular patches, qkv_bias false',
    arch: SwinModel,
    variant: 'swin',
    config: { model_type: 'swin', image_size: [22, 13], patch_size: [4, 3], num_channels: 3, embed_dim: 8, depths: [2, 2, 1], num_heads: [1, 2, 2], window_size: 2, mlp_ratio: 2.5, qkv_bias: false, hidden_act: 'gelu', layer_norm_eps: 1e-5, initializer_range: 0.1 },
    pixels: [2, 3, 22, 13],
  },
  {
    // 10×7 grid, window 3: padded to 12×9 and shifted; merged 5×4, padded 6×6 and shifted.
    label: 'donut-swin non-square, padded shifted windows, gelu_new',
    arch: DonutSwinModel,
    variant: 'donut',
    config: { model_type: 'donut-swin', image_size: [30, 21], patch_size: 3, num_channels: 2, embed_dim: 6, depths: [2, 2], num_heads: [2, 3], window_size: 3, hidden_act: 'gelu_new', layer_norm_eps: 1e-6, initializer_range: 0.1 },
    pixels: [2, 2, 30, 21],
  },
  {
    // Absolute position embeddings (num_patches rows); one stage, shifted 4×4 grid.
    label: 'swin use_absolute_embeddings, one stage',
    arch: SwinModel,
    variant: 'swin',
    config: { model_type: 'swin', image_size: 16, patch_size: 4, num_channels: 3, embed_dim: 8, depths: [2], num_heads: [2], window_size: 2, hidden_act: 'gelu', use_absolute_embeddings: true, initializer_range: 0.1 },
    pixels: [1, 3, 16, 16],
  },
];

for (const cs of CASES) {
  test(`${cs.label}: matches the float64 reference (states, hidden states, attentions) and differentiates`, async () => {
    const weights = randomWeights(cs.arch, cs.config, cs.pixels, 11);
    const pixel_values = uniform(cs.pixels, 5, 1.5);
    const b = build(cs.arch, cs.config, weights, ['batch', ...cs.pixels.slice(1)], { output_hidden_states: true, output_attentions: true });
    assert.deepEqual(b.store.created, []);
    const outputs: Record<string, Sym> = { last: b.out.last_hidden_state };
    b.out.hidden_states!.forEach((h, i) => (outputs[`h${i}`] = h));
    b.out.attentions!.forEach((a, i) => (outputs[`a${i}`] = a));
    const res = await run(b.g, outputs, { pixel_values });
    const ref = reference(cs.config, weights, pixel_values, cs.variant);
    const D = cs.config.embed_dim * 2 ** (cs.config.depths.length - 1);
    assert.equal(res['last']!.dims[2], D);
    assert.equal(res['last']!.dims[0], cs.pixels[0]);
    const err = maxRel64(res['last']!.data as Float32Array, ref.last);
    console.log(`# ${cs.label}: last_hidden_state [${res['last']!.dims}] max rel err ${err.toExponential(2)}`);
    assert.ok(err <= REF_TOL, `last_hidden_state max rel err ${err}`);
    assert.equal(b.out.hidden_states!.length, ref.hidden.length);
    ref.hidden.forEach((h, i) => {
      const e = maxRel64(res[`h${i}`]!.data as Float32Array, h);
      assert.ok(e <= REF_TOL, `hidden_states[${i}] max rel err ${e}`);
    });
    assert.equal(b.out.attentions!.length, ref.attn.length);
    ref.attn.forEach((a, i) => {
      const t = res[`a${i}`]!;
      assert.equal(t.dims.length, 4);
      assert.ok(maxAbs(t.data as Float32Array, a) <= 1e-5, `attentions[${i}]`);
    });
    await checkGradients(cs.arch, cs.config, weights, pixel_values, cs.label, /projection\.weight|layers\.0\.blocks\.1\.attention\.self\.(query|key)\.weight|layers\.0\.blocks\.1\.attention\.self\.relative_position_bias_table|downsample\.reduction\.weight|position_embeddings|layers\.0\.blocks\.0\.layernorm_before\.weight/);
  });
}

function maxAbs(a: Float32Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('Swin training graph: drop path per block (noise [batch, 1, 1], linear rates) drops whole attention branches', async () => {
  const cs = CASES[0]!;
  const config = { ...cs.config, drop_path_rate: 0.3 };
  const weights = randomWeights(cs.arch, config, cs.pixels, 11);
  const pixel_values = uniform(cs.pixels, 5, 1.5);
  const b = build(cs.arch, config, weights, ['batch', ...cs.pixels.slice(1)], { training: true });
  const noise = b.g.inputs.filter((s) => s.name.startsWith('dropout_noise'));
  // 5 blocks, rates linspace(0, 0.3, 5): the first is 0, so four sites.
  assert.equal(noise.length, 4);
  for (const n of noise) assert.deepEqual(n.shape, ['batch', 1, 1]);
  const feeds: Record<string, Tensor> = { pixel_values };
  // Sample 0 drops every branch it can (noise 0 < p); sample 1 keeps them all (noise 1 ≥ p, scaled by 1 / (1 − p)).
  for (const n of noise) feeds[n.name] = new Tensor('float32', Float32Array.from([0, 1]), [2, 1, 1]);
  const res = await run(b.g, { last: b.out.last_hidden_state }, feeds);
  const dropped = reference(config, weights, pixel_values, 'swin', { dropAttnBlocks: new Set([1, 2, 3, 4]) });
  const half = dropped.last.length / 2;
  const got = res['last']!.data as Float32Array;
  assert.ok(maxRel64(got.subarray(0, half), dropped.last.subarray(0, half)) <= 1e-4, 'dropped branches');
  const plain = reference(config, weights, pixel_values, 'swin');
  // Kept branches are scaled by 1 / (1 − p): sample 1 differs from the eval output.
  assert.ok(maxRel64(got.subarray(half), plain.last.subarray(half)) > 1e-3, 'kept branches are rescaled');
});

test('Swin / Donut-Swin: clear errors for configurations transformers cannot run', () => {
  const base = { model_type: 'swin', image_size: 16, patch_size: 4, embed_dim: 8, depths: [1, 1], num_heads: [2, 2], window_size: 3 };
  // 4×4 grid, then 2×2 < window 3.
  assert.throws(() => build(SwinModel, base, undefined, ['batch', 3, 16, 16]), /stage 1 works on a 2×2 patch grid, smaller than window_size 3/);
  assert.throws(() => build(DonutSwinModel, { ...base, model_type: 'donut-swin', window_size: 2, use_absolute_embeddings: true }, undefined, ['batch', 3, 16, 16]), /use_absolute_embeddings/);
  assert.throws(() => build(SwinModel, { ...base, num_heads: [3, 2], window_size: 2 }, undefined, ['batch', 3, 16, 16]), /num_heads\[0\] = 3/);
  assert.throws(() => build(SwinModel, { ...base, num_heads: [2], window_size: 2 }, undefined, ['batch', 3, 16, 16]), /num_heads must give one head count per stage/);
  assert.throws(() => build(SwinModel, { ...base, window_size: 2 }, undefined, ['batch', 1, 16, 16]), /num_channels/);
  assert.throws(() => build(SwinModel, { ...base, window_size: 2, use_absolute_embeddings: true }, undefined, ['batch', 3, 20, 16]), /patch grid/);
});

test('Swin: old checkpoints holding relative_position_index load without it being used or saved', () => {
  const config = { model_type: 'swin', image_size: 16, patch_size: 4, embed_dim: 8, depths: [2], num_heads: [2], window_size: 2 };
  const fresh = build(SwinModel, config, undefined, ['batch', 3, 16, 16]);
  const weights = new Map(fresh.store.tensors);
  weights.set('encoder.layers.0.blocks.0.attention.self.relative_position_index', relativePositionIndex(2));
  const b = build(SwinModel, config, weights, ['batch', 3, 16, 16]);
  assert.ok(b.store.buffers.has('encoder.layers.0.blocks.0.attention.self.relative_position_index'));
  assert.ok(!b.store.used.has('encoder.layers.0.blocks.0.attention.self.relative_position_index'));
});
