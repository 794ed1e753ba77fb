// Row-wise float32 kernels shared by the logits processors and the search loops. They follow
// PyTorch's CPU float32 arithmetic where it decides tokens: every stored value is rounded to
// float32, and reductions (max, log-sum-exp) use the same order of operations as ATen.

/** Rounds to float32; used wherever PyTorch would store a float32 intermediate. */
export const f32 = Math.fround;

/** float32's largest finite value, torch.finfo(torch.float32).max. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * In-place log_softmax of row `row` of a [rows, vocab] matrix, as ATen's lastdim kernel does it:
 * out = (x - max) - log(sum(exp(x - max))), each step rounded to float32 (the order matters for
 * large logits, see pytorch#11752). The sum is accumulated in double, which is at least as
 * accurate as ATen's vectorised float sum; the difference is below one float32 ulp of the result.
 */
export function logSoftmaxRow(scores: Float32Array, row: number, vocab: number): void {
  const off = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) {
    const x = scores[off + v]!;
    // NaN propagates through max like torch.max (any NaN makes the whole row NaN).
    if (x > max || Number.isNaN(x)) max = x;
  }
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(f32(scores[off + v]! - max));
  const logSum = f32(Math.log(f32(sum)));
  for (let v = 0; v < vocab; v++) scores[off + v] = f32(scores[off + v]! - max) - logSum;
}

/** In-place log_softmax of every row of a [rows, vocab] matrix. */
export function logSoftmaxRows(scores: Float32Array, vocab: number): void {
  const rows = scores.length / vocab;
  for (let r = 0; r < rows; r++) logSoftmaxRow(scores, r, vocab);
}

/** softmax of `values` (one row), rounded to float32 like torch.softmax on a float32 tensor. */
export function softmax(values: ArrayLike<number>): Float32Array {
  const n = values.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (x > max || Number.isNaN(x)) max = x;
  }
  const out = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = f32(Math.exp(f32(values[i]! - max)));
    out[i] = e;
    sum += e;
  }
  // ATen multiplies by the float32 reciprocal of the sum rather than dividing.
  const inv = f32(1 / f32(sum));
  for (let i = 0; i < n; i++) out[i] = out[i]! * inv;
  return out;
}

/**
 * torch.argmax of one row: the first index of the largest value; a NaN counts as larger than any
 * number (so the first NaN wins), as in ATen.
 */
export function argmaxRow(scores: Float32Array, row: number, vocab: number): number {
  const off = row * vocab;
  let best = 0;
  let bestVal = scores[off]!;
  if (Number.isNaN(bestVal)) return 0;
  for (let v = 1; v < vocab; v++) {
    const x = scores[off + v]!;
    if (Number.isNaN(x)) return v;
    if (x > bestVal) {
      bestVal = x;
      best = v;
    }
  }
  return best;
}

/** Descending order for topk: NaN first (torch.topk treats NaN as the largest), then by value. */
function descending(values: ArrayLike<number>): (a: number, b: number) => number {
  return (a, b) => {
    const x = values[a]!;
    const y = values[b]!;
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn && yn ? a - b : xn ? -1 : 1;
    // Equal values keep index order. torch.topk leaves the order of exact ties unspecified; the
    // ties that occur in generation (e.g. candidates all rounded to -1e9) never reach the output.
    return x > y ? -1 : x < y ? 1 : a - b;
  };
}

// Sorting many floats with a comparator is slow in JavaScript, so full sorts go through one
// native Float64Array sort of packed keys: an order-preserving 32-bit key of the float32 value
// times 2^21 plus the index (exact below 2^53), which also breaks ties by index.
const INDEX_BITS = 2 ** 21;
const keyView = new DataView(new ArrayBuffer(4));

/** A uint32 that orders like the float32 value (NaN above +Infinity). */
function orderKey(x: number): number {
  if (Number.isNaN(x)) return 0xffffffff;
  keyView.setFloat32(0, x);
  const bits = keyView.getUint32(0);
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

function sortedIndices(values: ArrayLike<number>, descendingOrder: boolean): number[] {
  const n = values.length;
  if (n >= INDEX_BITS) throw new Error(`cannot sort ${n} values (at most ${INDEX_BITS - 1})`);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = orderKey(values[i]!);
    packed[i] = (descendingOrder ? 0xffffffff - key : key) * INDEX_BITS + i;
  }
  packed.sort();
  return Array.from(packed, (p) => p % INDEX_BITS);
}

/** Indices of the k largest values (compared as float32), largest first, like torch.topk(values, k).indices. */
export function topkIndices(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  k = Math.min(k, n);
  if (k * 16 > n) return sortedIndices(values, true).slice(0, k);
  // Few out of many (beam search over num_beams * vocab): one pass keeping the best k in order.
  // Scanning in index order and inserting after equal values keeps ties in index order; values
  // not above the current k-th best are skipped without a comparison call.
  const before = descending(values);
  const best: number[] = [];
  let kth = NaN;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (best.length === k && (x <= kth || before(i, best[k - 1]!) >= 0)) continue;
    let pos = best.length === k ? k - 1 : best.length;
    while (pos > 0 && before(i, best[pos - 1]!) < 0) pos--;
    best.splice(pos, 0, i);
    if (best.length > k) best.pop();
    kth = values[best[best.length - 1]!]!;
  }
  return best;
}

/**
 * topkIndices over the virtual row-major array acc[j * vocab + v] = f32(values[offset + j * vocab + v]
 * + add[j]) for j < add.length, without building it (beam search: log-probabilities plus each
 * beam's running score). Returns the flat indices, largest first, and their values.
 */
export function topkOfRowSums(values: Float32Array, offset: number, vocab: number, add: ArrayLike<number>, k: number): { indices: number[]; values: number[] } {
  const rows = add.length;
  k = Math.min(k, rows * vocab);
  const idx: number[] = [];
  const val: number[] = [];
  // x ranks before y (at a larger index): NaN first, then larger values; equal values keep index order.
  const before = (x: number, y: number) => (Number.isNaN(x) ? !Number.isNaN(y) : x > y);
  // The k-th best value once k are kept, NaN before: most values are below it, and one comparison
  // (false while it is NaN) skips them.
  let kth = NaN;
  for (let j = 0; j < rows; j++) {
    const a = add[j]!;
    const base = offset + j * vocab;
    for (let v = 0; v < vocab; v++) {
      const x = f32(values[base + v]! + a);
      if (x <= kth || (idx.length === k && !before(x, kth))) continue;
      let pos = idx.length === k ? k - 1 : idx.length;
      while (pos > 0 && before(x, val[pos - 1]!)) pos--;
      idx.splice(pos, 0, j * vocab + v);
      val.splice(pos, 0, x);
      if (idx.length > k) {
        idx.pop();
        val.pop();
      }
      if (idx.length === k) kth = val[k - 1]!;
    }
  }
  return { indices: idx, values: val };
}

/** Ascending argsort with ties in index order (NaN last), like a stable torch.sort. */
export function argsortAscending(values: ArrayLike<number>): number[] {
  return sortedIndices(values, false);
}

/** Cumulative sum accumulated in double and stored as float32, like torch.cumsum on CPU. */
export function cumsum(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i]!;
    out[i] = acc;
  }
  return out;
}
