// Pieces shared by architectures whose semantics really are identical: multi-head attention's
// reshapes and its softmax(QKᵀ)V core, the additive masks, and the same attention as ONNX
// Runtime's fused MultiHeadAttention kernel for inference graphs (ctx.inference), which have no
// backward pass to feed.

import { type Dim, type Graph, type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { Tensor } from '../runtime/tensor.js';

/** torch.finfo(torch.float32).min: what transformers adds at masked positions. */
export const MASK_MIN = -3.4028234663852886e38;

/** [B, T, H·D] → [B, H, T, D] */
export function splitHeads(x: Sym, heads: number, headDim: number): Sym {
  return F.transpose(F.reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]);
}

/** [B, H, T, D] → [B, T, H·D] */
export function mergeHeads(x: Sym, heads: number, headDim: number): Sym {
  return F.reshape(F.transpose(x, [0, 2, 1, 3]), [0, 0, heads * headDim]);
}

/**
 * softmax(q kᵀ · scale + bias + mask) v for q [B, H, T, D], k and v [B, H, S, D]. `bias` (relative
 * position bias) and `mask` (additive, 0 or MASK_MIN) broadcast against [B, H, T, S]. Returns the
 * context [B, H, T, D] and the attention probabilities.
 */
export function attention(q: Sym, k: Sym, v: Sym, opts: { scale: number; mask?: Sym | null; bias?: Sym | null; dropout?: (p: Sym) => Sym }): { context: Sym; probs: Sym } {
  if (typeof q.shape[0] === 'string' && typeof k.shape[0] === 'string' && q.shape[0] !== k.shape[0] && !q.shape[0].startsWith('?') && !k.shape[0].startsWith('?')) {
    return groupedAttention(q, k, v, opts);
  }
  let scores = F.mul(F.matmul(q, F.transposeLast(k)), opts.scale);
  if (opts.bias) scores = F.add(scores, opts.bias);
  if (opts.mask) scores = F.add(scores, opts.mask);
  const probs = F.softmax(scores, -1);
  const dropped = opts.dropout ? opts.dropout(probs) : probs;
  return { context: F.matmul(dropped, v), probs };
}

/**
 * Attention of many query rows against fewer K/V rows: q [I·n, H, T, D] (n beams or returned
 * sequences per image, image-major) and k, v [I, H, S, D] with a different named batch dim. The
 * n rows of an image become n·T query positions of one product, so cross-attention K/V is never
 * copied per beam. Same numbers as repeating K/V n times (each output row is the same dot
 * products); masks and biases are not needed for image cross-attention and are refused.
 */
function groupedAttention(q: Sym, k: Sym, v: Sym, opts: { scale: number; mask?: Sym | null; bias?: Sym | null; dropout?: (p: Sym) => Sym }): { context: Sym; probs: Sym } {
  if (opts.mask || opts.bias) throw new Error('attention: K/V shared by several query rows (grouped) takes no mask or bias');
  const g = q.graph;
  const [B, H, T, D] = q.shape as [Dim, Dim, Dim, Dim];
  const [I, , S] = k.shape as [Dim, Dim, Dim, Dim];
  const qShape = F.shapeOf(q);
  const kShape = F.shapeOf(k);
  const dims = (shape: Sym, from: number, to: number) => F.slice(shape, [from], [to], [0]);
  const reshapeTo = (x: Sym, shape: Sym, out: Dim[]) => g.addNode('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: out }])[0]!;
  // [I·n, H, T, D] → [I, n, H, T, D] → [I, H, n, T, D] → [I, H, n·T, D]
  const q5 = reshapeTo(q, F.concat([dims(kShape, 0, 1), g.int64s([-1]), dims(qShape, 1, 4)], 0), [I, '?n', H, T, D]);
  const qg = F.reshape(F.transpose(q5, [0, 2, 1, 3, 4]), [0, 0, -1, D as number]);
  const scores = F.mul(F.matmul(qg, F.transposeLast(k)), opts.scale);
  const probs = F.softmax(scores, -1);
  const dropped = opts.dropout ? opts.dropout(probs) : probs;
  // Back: [I, H, n·T, X] → [I, H, n, T, X] → [I, n, H, T, X] → [I·n, H, T, X]
  const ungroup = (x: Sym, last: Dim) => {
    const lastDim = dims(F.shapeOf(x), 3, 4);
    const x5 = reshapeTo(x, F.concat([dims(kShape, 0, 2), g.int64s([-1]), dims(qShape, 2, 3), lastDim], 0), [I, H, '?n', T, last]);
    return reshapeTo(F.transpose(x5, [0, 2, 1, 3, 4]), F.concat([dims(qShape, 0, 3), lastDim], 0), [B, H, T, last]);
  };
  return { context: ungroup(F.matmul(dropped, v), D), probs: ungroup(probs, S) };
}

/**
 * The decoder's self-attention mask, additive, [B or 1, 1, T, P + T]: query i (at absolute position
 * P + i) sees key j when j <= P + i and, if given, attention_mask[b, j] is 1.
 * `past` is P (a number or a runtime int64 scalar), `queryLength` is T.
 */
export function causalMask(like: Sym, queryLength: number | Sym, past: number | Sym, attentionMask?: Sym | null): Sym {
  const g = like.graph;
  const total = typeof past === 'number' && typeof queryLength === 'number' ? past + queryLength : F.add(toSym(like, past), toSym(like, queryLength));
  const qEnd = total;
  const qPos = F.unsqueeze(F.range(past, qEnd, 1), [1]); // [T, 1]
  const kPos = F.unsqueeze(F.range(0, total, 1), [0]); // [1, S]
  let allowed = F.lessOrEqual(kPos, qPos); // [T, S]
  allowed = F.unsqueeze(allowed, [0, 1]); // [1, 1, T, S]
  if (attentionMask) {
    const keep = F.unsqueeze(F.cast(attentionMask, 'bool'), [1, 2]); // [B, 1, 1, S]
    allowed = F.and(allowed, keep);
  }
  return F.where(allowed, g.scalar(0), g.scalar(MASK_MIN));
}

/** An additive padding mask [B, 1, 1, S] from a 0/1 attention mask [B, S] (bidirectional attention). */
export function paddingMask(attentionMask: Sym): Sym {
  const g = attentionMask.graph;
  return F.where(F.unsqueeze(F.cast(attentionMask, 'bool'), [1, 2]), g.scalar(0), g.scalar(MASK_MIN));
}

function toSym(like: Sym, v: number | Sym): Sym {
  return typeof v === 'number' ? like.graph.scalar(v, 'int64') : v;
}

/** Absolute positions P .. P + T - 1 as int64 [1, T] (learned position embeddings index with these). */
export function positionIds(queryLength: number | Sym, past: number | Sym, like: Sym): Sym {
  const end = typeof past === 'number' && typeof queryLength === 'number' ? past + queryLength : F.add(toSym(like, past), toSym(like, queryLength));
  return F.unsqueeze(F.range(past, end, 1), [0]);
}

/**
 * Inference graphs: causal self-attention with a cache in one MultiHeadAttention kernel. q, k, v
 * [B, T, C] are the new positions' projections; returns the merged context [B, T, C] and the
 * grown cache (what splitHeads, concat and attention() compute unfused).
 */
export function fusedCachedSelfAttention(q: Sym, k: Sym, v: Sym, past: { key: Sym; value: Sym }, heads: number, scale: number, mask: Sym): { context: Sym; present: { key: Sym; value: Sym } } {
  const { context, present } = F.multiHeadAttention(q, k, v, { heads, scale, attentionBias: mask, past });
  return { context, present: present! };
}

const groupShapes = new WeakMap<Graph, Map<string, { qShape: Sym; perImage: Sym }>>();

/**
 * Inference graphs: cross-attention of q [R, T, C] over precomputed K/V [I, heads, S, D] in one
 * MultiHeadAttention kernel. When R = I·n (n beams or sequences per image, image-major), the n
 * rows of an image become n·T query positions of one image by a reshape, as groupedAttention.
 */
export function fusedCrossAttention(q: Sym, kv: { key: Sym; value: Sym }, heads: number, scale: number): Sym {
  const g = q.graph;
  const grouped = typeof q.shape[0] === 'string' && typeof kv.key.shape[0] === 'string' && q.shape[0] !== kv.key.shape[0];
  if (!grouped) return F.multiHeadAttention(q, kv.key, kv.value, { heads, scale }).context;
  const c = q.shape[2]!;
  // Every layer reshapes to and from the same shapes: compute them once per graph.
  const key = `${q.shape.join()}|${kv.key.shape[0]}`;
  let shapes = groupShapes.get(g)?.get(key);
  if (!shapes) {
    const qShape = F.shapeOf(q);
    shapes = { qShape, perImage: F.concat([F.slice(F.shapeOf(kv.key), [0], [1], [0]), g.int64s([-1]), F.slice(qShape, [2], [3], [0])], 0) };
    if (!groupShapes.has(g)) groupShapes.set(g, new Map());
    groupShapes.get(g)!.set(key, shapes);
  }
  const { qShape, perImage } = shapes;
  const qi = g.addNode('Reshape', [q, perImage], {}, [{ dtype: q.dtype, shape: [kv.key.shape[0]!, '?nT', c] }])[0]!;
  const ctx = F.multiHeadAttention(qi, kv.key, kv.value, { heads, scale }).context;
  return g.addNode('Reshape', [ctx, qShape], {}, [{ dtype: q.dtype, shape: q.shape }])[0]!;
}

/**
 * The attention probabilities the fused kernels do not expose, for output_attentions: q [B, T, C]
 * (projected, heads not split) against keys [B, heads, S, D]. Unused, the nodes are pruned.
 */
export function attentionProbs(q: Sym, keys: Sym, heads: number, scale: number, mask: Sym | null): Sym {
  const headDim = (q.shape[2] as number) / heads;
  return attention(splitHeads(q, heads, headDim), keys, keys, { scale, mask }).probs;
}

/**
 * Inference graphs: bidirectional self-attention over x [B, T, C] with torch Linear projections
 * (weights [C, C]; a bias may be null): Q, K and V as one MatMul (int8 can quantize it), the
 * biases, softmax(QKᵀ · scale + attentionBias)V and the head merge in one MultiHeadAttention
 * kernel. Returns the merged context and the probabilities (built only if used).
 */
export function fusedSelfAttention(x: Sym, proj: { w: Sym; b: Sym | null }[], heads: number, scale: number, attentionBias: Sym | null = null): { context: Sym; probs: Sym } {
  const g = x.graph;
  const c = x.shape[2] as number;
  const [q, k, v] = F.split(F.linear(x, F.concat(proj.map((p) => p.w), 0)), [c, c, c], -1) as [Sym, Sym, Sym];
  const zeros = () => g.constant(Tensor.zeros('float32', [c]), 'zeros');
  const bias = proj.some((p) => p.b) ? F.concat(proj.map((p) => p.b ?? zeros()), 0) : null;
  const context = F.multiHeadAttention(q, k, v, { heads, scale, bias, attentionBias }).context;
  const biased = (y: Sym, b: Sym | null) => (b ? F.add(y, b) : y);
  const probs = attentionProbs(biased(q, proj[0]!.b), splitHeads(biased(k, proj[1]!.b), heads, c / heads), heads, scale, attentionBias);
  return { context, probs };
}
