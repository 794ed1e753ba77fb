// Machine bounds, measured in the benchmark's own process with the same ONNX Runtime build and
// threads (see ../shared/DESIGN.md): the MatMul rate (one layer shape, and a chain of the encoder's
// real layer shapes), read-only weight streaming (a 1 x 768 times 768 x 50257 MatMul, whose time is
// reading the matrix; and, for comparison, one row through a decode step's own matrices) and a
// Float32Array copy.

import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { flops, type Mm } from './models.js';

function noise(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.1;
  }
  return a;
}

/** A compiled graph and a feed that runs it. */
export interface Probe {
  run(): Promise<void>;
  /** FLOPs or bytes of one run. */
  work: number;
  dispose(): Promise<void>;
}

async function probe(g: Graph, outputs: Record<string, Sym>, feeds: Record<string, Tensor>, work: number): Promise<Probe> {
  const cg = await CompiledGraph.create(g, outputs, { label: 'bound' });
  await cg.run(feeds); // first run allocates and pre-packs
  return { run: async () => void (await cg.run(feeds)), work, dispose: () => cg.dispose() };
}

/** One MatMul with its weight an initializer (pre-packed by ORT, as the model's are). */
export function matmulProbe(mm: Mm): Promise<Probe> {
  const g = new Graph();
  const x = g.input('x', 'float32', [mm.m, mm.k]);
  const w = g.constant(new Tensor('float32', noise(mm.k * mm.n, 1), [mm.k, mm.n]), 'w');
  return probe(g, { y: F.matmul(x, w) }, { x: new Tensor('float32', noise(mm.m * mm.k, 2), [mm.m, mm.k]) }, flops(mm));
}

/**
 * The MatMuls of `chain` in one graph, each feeding the next where the shapes allow (a reshape
 * when the element counts agree, the leading columns when the widths shrink), else a fresh input.
 */
export function chainProbe(chain: Mm[]): Promise<Probe> {
  const g = new Graph();
  const feeds: Record<string, Tensor> = {};
  const outs: Record<string, Sym> = {};
  let prev: Sym | null = null;
  chain.forEach((mm, i) => {
    let x: Sym;
    const p: Sym | null = prev;
    if (p && (p.shape[0] as number) * (p.shape[1] as number) === mm.m * mm.k) x = F.reshape(p, [mm.m, mm.k]);
    else if (p && p.shape[0] === mm.m && (p.shape[1] as number) > mm.k) x = F.slice(p, [0], [mm.k], [1]);
    else {
      if (p) outs[`y${i}`] = p;
      x = g.input(`x${i}`, 'float32', [mm.m, mm.k]);
      feeds[`x${i}`] = new Tensor('float32', noise(mm.m * mm.k, i + 3), [mm.m, mm.k]);
    }
    const w = g.constant(new Tensor('float32', noise(mm.k * mm.n, i + 1000), [mm.k, mm.n]), 'w');
    prev = F.matmul(x, w);
  });
  outs['y'] = prev!;
  return probe(g, outs, feeds, chain.reduce((a, mm) => a + flops(mm), 0));
}

/**
 * Read-only weight streaming, the machine's rate: one row through one large weight matrix
 * ([1, k] x [k, n], by default GPT-2's LM head shape [1, 768] x [768, 50257], 154 MB), whose time
 * is reading the matrix once; work = the matrix's bytes. A decode step's bound is its weight bytes
 * over this rate (issue 15: what the memory delivers, not what the step's own kernels reach).
 */
export async function streamProbe(k = 768, n = 50257): Promise<Probe> {
  const p = await matmulProbe({ m: 1, k, n });
  return { ...p, work: 4 * k * n };
}

/**
 * The bound used before issue 15, kept for comparison: one row through every weight matrix the
 * step reads ([k, n] each, chained as chainProbe does), and nothing else; work = the matrices'
 * bytes. The same MatMul kernel on the same shapes as the step, so it measures how fast ORT
 * streams those small matrices rather than what the memory delivers.
 */
export async function stepStreamProbe(matrices: { k: number; n: number }[]): Promise<Probe> {
  const p = await chainProbe(matrices.map((x) => ({ m: 1, k: x.k, n: x.n })));
  return { ...p, work: 4 * matrices.reduce((a, x) => a + x.k * x.n, 0) };
}

/** Float32Array.set of `bytes` (work = bytes copied, as DESIGN.md counts it). */
export function copyProbe(bytes = 256 * 2 ** 20): Probe {
  const src = noise(bytes / 4, 9);
  const dst = new Float32Array(bytes / 4);
  return {
    run: async () => dst.set(src),
    work: bytes,
    dispose: async () => {},
  };
}
