// The self-attention (KV) cache behind generate(): a DecoderSession over one batch of images,
// whose encoder has run once, driving the model's step graph one token per row per step.
// Beam search moves rows between steps (reorder) and drops the images it is done with (select);
// neither copies the cache, only each row's list of where its past lies.

import type { DecoderSession } from '../generation/types.js';
import type { CompiledGraph } from '../runtime/session.js';
import { Tensor } from '../runtime/tensor.js';

export interface CacheShape {
  layers: number;
  heads: number;
  head_dim: number;
}

/** The most bytes of self-attention cache a model keeps between generate() calls. */
const SPARE_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * The cache arrays of a model's last generate() call, for its next one: their pages are mapped
 * already (a fresh cache's first writes each step were page faults). At most SPARE_CACHE_BYTES.
 */
export class SpareCache {
  private arrays: Float32Array[] = [];

  /** The kept arrays if there are `count` of at least `size` floats each (they are then no longer kept). */
  take(count: number, size: number): Float32Array[] | null {
    const a = this.arrays;
    if (a.length !== count || !a.every((c) => c.length >= size)) return null;
    this.arrays = [];
    return a;
  }

  /** Keeps a finished call's arrays, unless they are too large or smaller than those kept. */
  keep(cache: Float32Array[]): void {
    const bytes = cache.reduce((n, c) => n + c.byteLength, 0);
    const kept = this.arrays.reduce((n, c) => n + c.byteLength, 0);
    if (cache.length > 0 && bytes <= SPARE_CACHE_BYTES && bytes >= kept) this.arrays = cache;
  }
}

/**
 * A DecoderSession for `rows` rows (one per image until expand()). `step`: the model's step graph
 * (new tokens, past_idx, cache.i.key/value, cross.i.key/value → logits, log_probs, new.i.key/value);
 * `cross`: each layer's cross-attention key and value, one row per image, in layer order.
 * `maxLength`: the longest rows expected (the cache's first size; it grows past it).
 */
export function kvCacheSession(step: CompiledGraph, cross: Tensor[], rows: number, cs: CacheShape, vocab_size: number, maxLength: number, spare: SpareCache): DecoderSession {
  const newNames = Array.from({ length: cs.layers }, (_, i) => [`new.${i}.key`, `new.${i}.value`]).flat();
  // The self-attention cache: per layer, key and value, `capacity` positions × `slots` entries
  // of [heads, head_dim]. At position p, slot r holds what row r computed at step p (slots =
  // rows at the first step; rows only leave after it). history[r * capacity + p] is the slot
  // of row r's own past at position p: beam search moves rows by copying these, not the cache.
  const entry = cs.heads * cs.head_dim;
  let slots = 0;
  let capacity = 0;
  let length = 0;
  let cache: Float32Array[] = [];
  let history = new Int32Array(0);
  const grow = () => {
    const cap = capacity === 0 ? Math.max(8, Math.min(maxLength, 1024)) : capacity * 2;
    const size = cap * slots * entry;
    const reused = capacity === 0 ? spare.take(2 * cs.layers, size) : null;
    if (reused) {
      // Stale values are never read: a row's past only names entries written in this call.
      cache = reused;
    } else {
      cache = Array.from({ length: 2 * cs.layers }, (_, k) => {
        const c = new Float32Array(size);
        if (cache[k]) c.set(cache[k]!.subarray(0, length * slots * entry));
        return c;
      });
    }
    const h = new Int32Array(rows * cap);
    for (let r = 0; r < rows; r++) h.set(history.subarray(r * capacity, r * capacity + length), r * cap);
    history = h;
    capacity = cap;
  };
  /** Row r of the next step continues row idx[r] of this one. */
  const follow = (idx: Int32Array) => {
    const h = new Int32Array(idx.length * capacity);
    idx.forEach((from, r) => h.set(history.subarray(from * capacity, from * capacity + length), r * capacity));
    history = h;
  };
  const run = async (new_tokens: BigInt64Array, logProbs: boolean) => {
    if (slots === 0) slots = rows;
    if (length === capacity) grow();
    const pastIdx = new Int32Array(rows * length);
    for (let r = 0; r < rows; r++) {
      for (let p = 0; p < length; p++) pastIdx[r * length + p] = p * slots + history[r * capacity + p]!;
    }
    const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', new_tokens, [rows, 1]), past_idx: new Tensor('int32', pastIdx, [rows, length]) };
    for (let i = 0; i < cs.layers; i++) {
      feeds[`cache.${i}.key`] = new Tensor('float32', cache[2 * i]!.subarray(0, length * slots * entry), [length * slots, cs.heads, cs.head_dim]);
      feeds[`cache.${i}.value`] = new Tensor('float32', cache[2 * i + 1]!.subarray(0, length * slots * entry), [length * slots, cs.heads, cs.head_dim]);
      feeds[`cross.${i}.key`] = cross[2 * i]!;
      feeds[`cross.${i}.value`] = cross[2 * i + 1]!;
    }
    const res = await step.run(feeds, logProbs ? ['logits', 'log_probs', ...newNames] : ['logits', ...newNames]);
    // Row r's new entry goes to slot r of the new position: rows 0..rows-1 are one block.
    newNames.forEach((n, k) => cache[k]!.set(res[n]!.data as Float32Array, length * slots * entry));
    for (let r = 0; r < rows; r++) history[r * capacity + length] = r;
    length++;
    return { logits: res['logits']!.data as Float32Array, log_probs: res['log_probs']?.data as Float32Array | undefined };
  };
  return {
    vocab_size,
    expand(n: number) {
      // Cross-attention K/V stays one row per image: the step graph groups each image's rows.
      if (length > 0) throw new Error('DecoderSession.expand: expand comes before the first step');
      rows *= n;
    },
    async step(new_tokens: BigInt64Array) {
      return (await run(new_tokens, false)).logits;
    },
    async stepLogProbs(new_tokens: BigInt64Array) {
      const { logits, log_probs } = await run(new_tokens, true);
      return { logits, log_probs: log_probs! };
    },
    reorder(beam_idx: Int32Array) {
      // Beams only trade places within their own image, whose rows of cross-attention K/V are
      // identical: only the rows' histories move.
      if (beam_idx.length !== rows) throw new Error(`DecoderSession.reorder: ${beam_idx.length} indices for ${rows} rows`);
      follow(beam_idx);
    },
    select(beam_idx: Int32Array, images: Int32Array) {
      follow(beam_idx);
      for (let i = 0; i < cross.length; i++) cross[i] = keepRows(cross[i]!, images);
      rows = beam_idx.length;
    },
    dispose: () => {
      spare.keep(cache);
      cache = [];
    },
  };
}

/**
 * Rows `keep` of t (axis 0): when ascending, moved down in place (t's array is this session's
 * own, the encoder's output, and a fresh copy each time images left cost page faults).
 */
function keepRows(t: Tensor, keep: Int32Array): Tensor {
  const rows = t.dims[0]!;
  const per = rows === 0 ? 0 : t.size / rows;
  const data = t.data as Float32Array;
  if (keep.some((r, i) => i > 0 && r <= keep[i - 1]!)) return gatherRows(t, keep);
  keep.forEach((r, i) => {
    if (r !== i) data.copyWithin(i * per, r * per, (r + 1) * per);
  });
  return new Tensor(t.type, data.subarray(0, keep.length * per), [keep.length, ...t.dims.slice(1)]);
}

/** Rows of t (axis 0) in the order idx. */
function gatherRows(t: Tensor, idx: Int32Array): Tensor {
  const rows = t.dims[0]!;
  const per = rows === 0 ? 0 : t.size / rows;
  const src = t.data as Float32Array;
  const out = new Float32Array(idx.length * per);
  idx.forEach((r, i) => out.set(src.subarray(r * per, (r + 1) * per), i * per));
  return new Tensor(t.type, out, [idx.length, ...t.dims.slice(1)]);
}
