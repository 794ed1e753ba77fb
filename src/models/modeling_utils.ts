// What every architecture file builds on: a store of weights by HF name, and a building context
// that hands out those weights as graph parameters where the model code uses them — so each
// weight's name, shape and initialisation are written once, at the line that uses it, as in a
// PyTorch module's forward. Building a graph with an empty store is random initialisation;
// building it over a loaded checkpoint checks every shape against the code.

import { Graph, type Shape, type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { Tensor } from '../runtime/tensor.js';

/** Configs are read as plain objects: HF keys and the aliases their classes define. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyConfig = Record<string, any>;

export type Init =
  | { kind: 'normal'; std: number; mean?: number }
  | { kind: 'trunc_normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  /** An embedding table drawn from normal(0, std) with the padding row zeroed, as HF's _init_weights. */
  | { kind: 'embedding'; std: number; padding_idx?: number | null }
  | { kind: 'fn'; fn: (dims: number[], rand: () => number) => Float32Array };

export const normal = (std: number): Init => ({ kind: 'normal', std });
export const truncNormal = (std: number): Init => ({ kind: 'trunc_normal', std });
export const zeros: Init = { kind: 'zeros' };
export const ones: Init = { kind: 'ones' };

/** Draws on (0, 1), one per call or many at once. */
export interface UniformSampler {
  (): number;
  /** Fill `out` with the next out.length draws: the numbers of that many calls, 3-4x faster (state in locals). */
  fill(out: Float32Array): void;
}
/**
 * A seeded uniform generator on (0, 1): sfc32 (period about 2^127, passes PractRand) through
 * Box-Muller. The seed is spread over the state with splitmix32, and the first outputs are
 * discarded, so nearby seeds give unrelated streams. (Weight matrices need every draw
 * independent: a short-period generator repeats itself inside one matrix and leaves the network
 * unable to break symmetry.)
 */
export function uniformSampler(seed: number): UniformSampler {
  let z = seed >>> 0;
  const splitmix = () => {
    z = (z + 0x9e3779b9) | 0;
    let t = z ^ (z >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const uniform = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return ((t >>> 0) + 0.5) / 4294967296; // in (0, 1): log(u) is finite
  };
  // The same step as uniform's, on local copies of the state (a closure's variables live in its
  // context, and each call reads and writes all four there).
  const fill = (out: Float32Array) => {
    // | 0: int32 locals (the same bits, as every step wraps to 32 bits); a closure's variables may
    // hold the state as doubles, and the loop would then compute in floating point.
    let a1 = a | 0;
    let b1 = b | 0;
    let c1 = c | 0;
    let d1 = d | 0;
    for (let i = 0; i < out.length; i++) {
      const t = (((a1 + b1) | 0) + d1) | 0;
      d1 = (d1 + 1) | 0;
      a1 = b1 ^ (b1 >>> 9);
      b1 = (c1 + (c1 << 3)) | 0;
      c1 = (c1 << 21) | (c1 >>> 11);
      c1 = (c1 + t) | 0;
      out[i] = ((t >>> 0) + 0.5) / 4294967296;
    }
    a = a1;
    b = b1;
    c = c1;
    d = d1;
  };
  for (let i = 0; i < 15; i++) uniform();
  return Object.assign(uniform, { fill });
}

/** Standard normal draws: Box-Muller over uniformSampler. */
export function normalSampler(seed: number): () => number {
  const uniform = uniformSampler(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function draw(init: Init, dims: number[], randn: () => number): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'constant':
      return out.fill(init.value);
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = (init.mean ?? 0) + init.std * randn();
      return out;
    case 'trunc_normal':
      // torch.nn.init.trunc_normal_ cuts at ±2 (absolute, not ±2 std): redraw outside.
      for (let i = 0; i < n; i++) {
        let v: number;
        do v = init.std * randn();
        while (v < -2 || v > 2);
        out[i] = v;
      }
      return out;
    case 'embedding': {
      for (let i = 0; i < n; i++) out[i] = init.std * randn();
      const pad = init.padding_idx;
      if (pad !== null && pad !== undefined && dims.length === 2 && pad >= 0 && pad < dims[0]!) out.fill(0, pad * dims[1]!, (pad + 1) * dims[1]!);
      return out;
    }
    case 'fn':
      return init.fn(dims, randn);
  }
}

/** The model's weights by HF name, plus the record of which ones were made rather than loaded. */
export class ParamStore {
  readonly tensors = new Map<string, Tensor>();
  /** Names initialised here (missing from the checkpoint), in first-use order. */
  readonly created: string[] = [];
  /** Every name the model code asked for, in first-use order. */
  readonly used = new Set<string>();
  /** Non-trainable tensors that checkpoints may carry (persistent buffers). */
  readonly buffers = new Set<string>();
  private readonly randn: () => number;
  /**
   * Weights were handed out (named_parameters, state_dict) and may be changed in place: their
   * data must stay in memory from now on, even where it could be read again from its file.
   */
  private pinned = false;

  constructor(tensors?: Map<string, Tensor>, seed = 0) {
    if (tensors) for (const [k, v] of tensors) this.tensors.set(k, v);
    this.randn = normalSampler(seed);
  }

  pin(): void {
    this.pinned = true;
  }

  /**
   * Drop the in-memory data of weights that can be read again from their file (lazily loaded,
   * unchanged): once ONNX Runtime sessions hold the weights, JavaScript need not hold them too.
   * Does nothing after pin(). Returns the bytes released.
   */
  release(): number {
    if (this.pinned) return 0;
    let bytes = 0;
    for (const t of this.tensors.values()) {
      const had = Object.getOwnPropertyDescriptor(t, 'data')?.get === undefined;
      if (t.release() && had) bytes += t.size * 4;
    }
    return bytes;
  }

  get(name: string, dims: number[], init: Init): Tensor {
    this.used.add(name);
    const have = this.tensors.get(name);
    if (have) {
      if (have.dims.length !== dims.length || have.dims.some((d, i) => d !== dims[i])) {
        throw new Error(`weight '${name}' has shape [${have.dims.join(', ')}] in the checkpoint, but the model's config needs [${dims.join(', ')}]`);
      }
      if (have.type !== 'float32') throw new Error(`weight '${name}' is ${have.type}; the model computes in float32`);
      return have;
    }
    const t = new Tensor('float32', draw(init, dims, this.randn), dims);
    this.tensors.set(name, t);
    this.created.push(name);
    return t;
  }
}

export interface CtxOptions {
  /** Dropout is live; each dropout site becomes a uniform-noise graph input the trainer feeds. */
  training?: boolean;
}

/** A building context: the graph, the weights, and the HF name prefix of the module being built. */
export class Ctx {
  readonly noiseInputs: Sym[];

  constructor(
    readonly g: Graph,
    readonly store: ParamStore,
    readonly prefix = '',
    noiseInputs?: Sym[],
  ) {
    this.noiseInputs = noiseInputs ?? [];
  }

  /** The context of a submodule: `ctx.scope('encoder').scope('layer.0')` names 'encoder.layer.0.*'. */
  scope(name: string | number): Ctx {
    return new Ctx(this.g, this.store, `${this.prefix}${name}.`, this.noiseInputs);
  }

  name(local: string): string {
    return this.prefix + local;
  }

  get training(): boolean {
    return this.g.training;
  }

  /**
   * A graph that only runs forward with its weights baked in (generation, export): no gradient is
   * ever taken through it, so it may use ONNX Runtime's fused contrib kernels.
   */
  get inference(): boolean {
    return this.g.paramMode === 'initializer' && !this.g.training;
  }

  /** A weight of this module by its local HF name. */
  param(local: string, dims: number[], init: Init): Sym {
    const name = this.name(local);
    return this.g.param(name, this.store.get(name, dims, init));
  }

  /** A fixed tensor (a buffer): a constant in the graph. Persistent ones may appear in checkpoints. */
  buffer(local: string, tensor: Tensor, persistent = false): Sym {
    if (persistent) this.store.buffers.add(this.name(local));
    return this.g.constant(tensor, 'buffer');
  }

  /** torch.nn.Linear: weight [out, in], y = x Wᵀ + b. */
  linear(local: string, x: Sym, inFeatures: number, outFeatures: number, opts: { bias?: boolean; std: number; init?: Init }): Sym {
    const { w, b } = this.linearParams(local, inFeatures, outFeatures, opts);
    return F.linear(x, w, b);
  }

  /** The weights of a torch.nn.Linear (weight [out, in], bias or null), for kernels that take them apart (fused Q/K/V). */
  linearParams(local: string, inFeatures: number, outFeatures: number, opts: { bias?: boolean; std: number; init?: Init }): { w: Sym; b: Sym | null } {
    const m = this.scope(local);
    const w = m.param('weight', [outFeatures, inFeatures], opts.init ?? normal(opts.std));
    const b = opts.bias === false ? null : m.param('bias', [outFeatures], zeros);
    return { w, b };
  }

  /** transformers' Conv1D (GPT-2): weight stored [in, out], y = x W + b. */
  conv1d(local: string, x: Sym, inFeatures: number, outFeatures: number, std: number): Sym {
    const m = this.scope(local);
    const w = m.param('weight', [inFeatures, outFeatures], normal(std));
    const b = m.param('bias', [outFeatures], zeros);
    return F.add(F.matmul(x, w), b);
  }

  /** torch.nn.LayerNorm over the last axis. */
  layerNorm(local: string, x: Sym, dim: number, eps: number): Sym {
    const m = this.scope(local);
    return F.layerNorm(x, m.param('weight', [dim], ones), m.param('bias', [dim], zeros), eps);
  }

  /** torch.nn.Embedding lookup. */
  embedding(local: string, ids: Sym, num: number, dim: number, std: number, padding_idx?: number | null): Sym {
    const w = this.scope(local).param('weight', [num, dim], { kind: 'embedding', std, padding_idx: padding_idx ?? null });
    return F.gather(w, ids, 0);
  }

  /**
   * Dropout: the identity outside training. In training graphs each site gets a uniform-noise
   * input shaped like x; its dims must be numbers or named dims that other inputs bind.
   */
  dropout(x: Sym, p: number): Sym {
    if (!this.training || !p) return x;
    const noise = this.g.input(this.g.unused('dropout_noise'), 'float32', x.shape as Shape);
    this.noiseInputs.push(noise);
    return F.dropout(x, p, noise);
  }
}

/** Build once over a store to learn (or create) every weight the model code uses. */
export function collectParams(store: ParamStore, build: (ctx: Ctx) => void): void {
  build(new Ctx(new Graph(), store));
}
