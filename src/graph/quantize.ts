// Weight-only int8 for inference graphs: every MatMul / Gemm whose right operand is a baked 2-D
// weight becomes one of ONNX Runtime's int8 kernels (com.microsoft): DynamicQuantizeMatMul, the
// weight stored as int8 with one symmetric scale per output column, or MatMulNBits, one scale per
// block of 128 weights (see Int8Kernel). The activations are quantized per call by the kernel. A decode step streams its weights once per token, so a quarter of
// the bytes is most of the speed-up; attention products (activation × activation) stay float.

import { type Graph, int, type Node, type Sym } from './graph.js';
import { Tensor } from '../runtime/tensor.js';

/**
 * The largest int8 weight DynamicQuantizeMatMul is given: 63, seven bits (ONNX Runtime's
 * "reduce range"). Its x86 kernels without VNNI (AVX2, AVX-512 before Cascade Lake) multiply the
 * uint8 activations by the int8 weights in pairs summed into 16 bits (vpmaddubsw), which
 * saturate once 2 × 255 × |w| passes 32767: with weights to ±127, a 16-input product on this
 * 2-core AVX2 EPYC came out 42% of its largest value off. Seven bits fit on every CPU and give the
 * same results on all of them and in the browser.
 */
export const DYNAMIC_INT8_MAX = 63;

/** Per-column symmetric int8 of B [K, N] (given as `at(k, n)`): B ≈ q[k, n] · scale[n], |q| ≤ `max`. */
export function quantizeColumns(K: number, N: number, at: (k: number, n: number) => number, max = 127): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const a = Math.abs(at(k, n));
      if (a > scale[n]!) scale[n] = a;
    }
  }
  for (let n = 0; n < N; n++) scale[n] = scale[n]! > 0 ? scale[n]! / max : 1;
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) q[k * N + n] = Math.max(-max, Math.min(max, Math.round(at(k, n) / scale[n]!)));
  }
  return { q, scale };
}

/**
 * Blockwise 8-bit of B [K, N] for ONNX Runtime's MatMulNBits: for each output column n, blocks of
 * `block` consecutive k, each with its own scale; stored unsigned with the implicit zero point
 * 128, laid out [N, ⌈K / block⌉, block] (a partial last block is padded with zeros).
 */
export function quantizeBlocks(K: number, N: number, block: number, at: (k: number, n: number) => number): { q: Uint8Array; scale: Float32Array } {
  const blocks = Math.ceil(K / block);
  const q = new Uint8Array(N * blocks * block).fill(128);
  const scale = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const end = Math.min(K, (b + 1) * block);
      let max = 0;
      for (let k = b * block; k < end; k++) max = Math.max(max, Math.abs(at(k, n)));
      const sc = max > 0 ? max / 127 : 1;
      scale[n * blocks + b] = sc;
      for (let k = b * block; k < end; k++) q[(n * blocks + b) * block + (k - b * block)] = 128 + Math.max(-127, Math.min(127, Math.round(at(k, n) / sc)));
    }
  }
  return { q, scale };
}

/** MatMulNBits' block size: per-block scales are finer than per-column ones, and 128 ran fastest. */
export const INT8_BLOCK = 128;

/**
 * The weight behind `s` when it is a baked rank-2 parameter (not a buffer or constant), or the
 * rows of several stacked by a Concat on axis 0 (fused Q/K/V projections).
 */
function bakedMatrix(graph: Graph, s: Sym | null): Tensor | null {
  if (!s) return null;
  if (s.node?.op === 'Concat' && s.node.domain === '' && s.node.attrs.axis?.value === 0) {
    const parts = s.node.inputs.map((x) => bakedMatrix(graph, x));
    if (parts.some((t) => !t || t.dims[1] !== parts[0]!.dims[1])) return null;
    const rows = parts.reduce((a, t) => a + t!.dims[0]!, 0);
    const data = new Float32Array(rows * parts[0]!.dims[1]!);
    let at = 0;
    for (const t of parts) {
      data.set(t!.data as Float32Array, at);
      at += t!.size;
    }
    return new Tensor('float32', data, [rows, parts[0]!.dims[1]!]);
  }
  if (s.node || !graph.params.has(s.name)) return null;
  const t = graph.initializers.get(s.name);
  return t && t.type === 'float32' && t.dims.length === 2 ? t : null;
}

/**
 * Which ONNX Runtime kernel multiplies by the int8 weights:
 * - 'dynamic': DynamicQuantizeMatMul, per-column scales; the faster for many rows (the encoder:
 *   102 ms against 133 ms for ViT-B/16's products, measured);
 * - 'blockwise': MatMulNBits with 8 bits and per-block scales; the faster for a few rows (decode
 *   steps: 6.2–7.3 ms against 8.2–9.2 ms for GPT-2's step products, measured).
 */
export type Int8Kernel = 'dynamic' | 'blockwise';

/**
 * Rewrites `graph` in place; returns how many products were quantized. Only top-level nodes are
 * visited (generation graphs have no branches). Call it on graphs whose weights are initializers.
 * A bias Add that is a product's only consumer moves into the kernel (one op less per Linear),
 * unless the product itself is one of `outputs`.
 */
export function quantizeWeightsInt8(graph: Graph, outputs: readonly Sym[] = [], kernel: Int8Kernel = 'dynamic'): number {
  const consumers = new Map<Sym, Node[]>();
  for (const n of graph.nodes) {
    for (const x of n.inputs) {
      if (!x) continue;
      const list = consumers.get(x);
      if (list) list.push(n);
      else consumers.set(x, [n]);
    }
  }
  const kept = new Set(outputs);
  const cache = new Map<string, { q: Sym; scale: Sym; K: number; N: number }>();
  const quantized = (key: string, K: number, N: number, at: (k: number, n: number) => number) => {
    let e = cache.get(key);
    if (!e) {
      if (kernel === 'blockwise') {
        const { q, scale } = quantizeBlocks(K, N, INT8_BLOCK, at);
        const blocks = Math.ceil(K / INT8_BLOCK);
        e = { q: graph.constant(new Tensor('uint8', q, [N, blocks, INT8_BLOCK]), 'q8_blocks'), scale: graph.constant(new Tensor('float32', scale, [N * blocks]), 'q8_scale'), K, N };
      } else {
        const { q, scale } = quantizeColumns(K, N, at, DYNAMIC_INT8_MAX);
        e = { q: graph.constant(new Tensor('int8', q, [K, N]), 'q8_weight'), scale: graph.constant(new Tensor('float32', scale, [N]), 'q8_scale'), K, N };
      }
      cache.set(key, e);
    }
    return e;
  };
  // B = Wᵀ for a weight W [N, K] stored as torch.nn.Linear keeps it.
  const transposed = (w: Sym, t: Tensor) => {
    const [N, K] = t.dims as [number, number];
    const d = t.data as Float32Array;
    return quantized(`${w.name}ᵀ`, K, N, (k, n) => d[n * K + k]!);
  };
  let count = 0;
  for (const node of graph.nodes as Node[]) {
    let a: Sym | null = null;
    let b: { q: Sym; scale: Sym; K: number; N: number } | null = null;
    let bias: Sym | null = null;
    if (node.op === 'MatMul' && node.domain === '') {
      a = node.inputs[0]!;
      const rhs = node.inputs[1]!;
      const direct = bakedMatrix(graph, rhs);
      const src = rhs.node;
      if (direct) {
        // B stored [K, N] (GPT-2's Conv1D).
        const [K, N] = direct.dims as [number, number];
        const d = direct.data as Float32Array;
        b = quantized(rhs.name, K, N, (k, n) => d[k * N + n]!);
      } else if (src && src.op === 'Transpose' && (src.attrs.perm?.value as number[] | undefined)?.join() === '1,0') {
        // B = Transpose(W) (torch.nn.Linear).
        const w = bakedMatrix(graph, src.inputs[0]!);
        if (w) b = transposed(src.inputs[0]!, w);
      }
    } else if (node.op === 'Gemm' && node.domain === '' && node.attrs.transB?.value === 1 && !node.attrs.transA?.value && node.attrs.alpha === undefined && node.attrs.beta === undefined) {
      const w = bakedMatrix(graph, node.inputs[1]!);
      const c = node.inputs[2] ?? null;
      if (w && (!c || c.rank === 1)) {
        a = node.inputs[0]!;
        b = transposed(node.inputs[1]!, w);
        bias = c;
      }
    }
    if (!a || !b) continue;
    const m = node as { -readonly [P in keyof Node]: Node[P] };
    const y = node.outputs[0]!;
    const users = consumers.get(y) ?? [];
    if (!bias && users.length === 1 && users[0]!.op === 'Add' && users[0]!.domain === '' && !kept.has(y)) {
      const add = users[0]! as { -readonly [P in keyof Node]: Node[P] };
      const other = add.inputs[0] === y ? add.inputs[1]! : add.inputs[0]!;
      const N = y.shape[y.rank - 1];
      if (other !== y && !other.node && graph.params.has(other.name) && other.rank === 1 && other.dtype === 'float32' && other.shape[0] === N) {
        bias = other;
        add.op = 'Identity'; // ORT drops it
        add.inputs = [y];
      }
    }
    m.domain = 'com.microsoft';
    if (kernel === 'blockwise') {
      // accuracy_level 4: the activations are quantized to int8 per block, for int8 dot products.
      m.op = 'MatMulNBits';
      m.inputs = bias ? [a, b.q, b.scale, null, null, bias] : [a, b.q, b.scale];
      m.attrs = { K: int(b.K), N: int(b.N), bits: int(8), block_size: int(INT8_BLOCK), accuracy_level: int(4) };
    } else {
      m.op = 'DynamicQuantizeMatMul';
      m.inputs = bias ? [a, b.q, b.scale, null, bias] : [a, b.q, b.scale];
      m.attrs = {};
    }
    count++;
  }
  return count;
}
