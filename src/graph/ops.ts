// The op set. Each op is written once, in one place: its builder (which checks shapes at build
// time and names the op and shapes when they do not fit), the ONNX node it emits, and — for
// differentiable ops — its vector-Jacobian rule, written with other ops so the backward pass is
// more graph (see autodiff.ts). ONNX opset 17 semantics throughout.

import { Tensor } from '../runtime/tensor.js';
import { float, int, ints, str, subgraph, type Attrs, type Dim, type DType, type Graph, type Node, type Shape, type Subgraph, Sym } from './graph.js';

export const OPSET = 17;

// ---------------------------------------------------------------------------------------------
// Shape helpers

const fmt = (s: Shape) => `[${s.join(', ')}]`;
const isUnknown = (d: Dim) => typeof d === 'string' && d.startsWith('?');
export const UNKNOWN: Dim = '?';

function broadcastShapes(op: string, shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i];
      if (e === undefined || e === 1) continue;
      if (d === 1 || isUnknown(d)) d = e;
      else if (isUnknown(e) || d === e) continue;
      else if (typeof d === 'number' && typeof e === 'number') {
        throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} do not broadcast (axis ${i}: ${d} vs ${e})`);
      } else if (typeof d === 'string' && typeof e === 'number') d = e; // a named dim broadcast against n must be n (or 1)
    }
    out.push(d);
  }
  return out;
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b || isUnknown(a) || isUnknown(b);
}

/** A constant's value, when the Sym is a constant made by graph.constant/int64s/scalar. */
export function constValue(x: Sym): Tensor | undefined {
  return x.node === null && !x.graph.params.has(x.name) ? x.graph.initializers.get(x.name) : undefined;
}

function constInts(x: Sym): number[] | undefined {
  const t = constValue(x);
  return t ? Array.from(t.data as BigInt64Array, Number) : undefined;
}

type Operand = Sym | number;
function lift(g: Graph, x: Operand, dtype: DType): Sym {
  return typeof x === 'number' ? g.scalar(x, dtype) : x;
}
function graphOf(...xs: Operand[]): Graph {
  for (const x of xs) if (typeof x !== 'number') return x.graph;
  throw new Error('op: at least one operand must be a graph tensor');
}

function one(g: Graph, op: string, inputs: (Sym | null)[], attrs: Attrs, dtype: DType, shape: Shape): Sym {
  return g.addNode(op, inputs, attrs, [{ dtype, shape }])[0]!;
}

// ---------------------------------------------------------------------------------------------
// The vector-Jacobian registry. A rule gets the node, the gradient of each output (null when no
// gradient flows there) and which inputs need one; it returns one gradient (or null) per input.

export interface VjpContext {
  node: Node;
  inputs: (Sym | null)[];
  outputs: Sym[];
  gouts: (Sym | null)[];
  needs: boolean[];
}
export type VjpRule = (c: VjpContext) => (Sym | null)[];
export const VJP = new Map<string, VjpRule>();
/** Ops through which no gradient flows (integer, boolean or shape arithmetic). */
export const NON_DIFFERENTIABLE = new Set<string>();

/** Sum a broadcast gradient back down to the shape of the input it came from. */
export function unbroadcast(grad: Sym, target: Sym): Sym {
  let g = grad;
  const lead = g.rank - target.rank;
  if (lead > 0) g = reduceSum(g, [...Array(lead).keys()], false);
  const axes: number[] = [];
  target.shape.forEach((d, i) => {
    if (d === 1 && g.shape[i] !== 1) axes.push(i);
  });
  if (axes.length) g = reduceSum(g, axes, true);
  return g;
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary ops (numpy broadcasting)

function binary(op: string, a: Operand, b: Operand, outDtype?: DType): Sym {
  const g = graphOf(a, b);
  const dtype = typeof a !== 'number' ? a.dtype : (b as Sym).dtype;
  const A = lift(g, a, dtype);
  const B = lift(g, b, dtype);
  if (A.dtype !== B.dtype) throw new Error(`${op}: dtypes differ (${A.dtype} ${fmt(A.shape)} vs ${B.dtype} ${fmt(B.shape)})`);
  return one(g, op, [A, B], {}, outDtype ?? dtype, broadcastShapes(op, [A.shape, B.shape]));
}

export const add = (a: Operand, b: Operand) => binary('Add', a, b);
VJP.set('Add', ({ inputs: [a, b], gouts: [g], needs }) => [needs[0] ? unbroadcast(g!, a!) : null, needs[1] ? unbroadcast(g!, b!) : null]);

export const sub = (a: Operand, b: Operand) => binary('Sub', a, b);
VJP.set('Sub', ({ inputs: [a, b], gouts: [g], needs }) => [needs[0] ? unbroadcast(g!, a!) : null, needs[1] ? unbroadcast(neg(g!), b!) : null]);

export const mul = (a: Operand, b: Operand) => binary('Mul', a, b);
VJP.set('Mul', ({ inputs: [a, b], gouts: [g], needs }) => [
  needs[0] ? unbroadcast(mul(g!, b!), a!) : null,
  needs[1] ? unbroadcast(mul(g!, a!), b!) : null,
]);

export const div = (a: Operand, b: Operand) => binary('Div', a, b);
VJP.set('Div', ({ inputs: [a, b], outputs: [y], gouts: [g], needs }) => [
  needs[0] ? unbroadcast(div(g!, b!), a!) : null,
  needs[1] ? unbroadcast(neg(div(mul(g!, y!), b!)), b!) : null,
]);

export const pow = (a: Operand, b: Operand) => binary('Pow', a, b);
VJP.set('Pow', ({ inputs: [a, b], outputs: [y], gouts: [g], needs }) => [
  needs[0] ? unbroadcast(mul(g!, mul(b!, pow(a!, sub(b!, 1)))), a!) : null,
  needs[1] ? unbroadcast(mul(g!, mul(y!, log(a!))), b!) : null,
]);

export const max = (a: Operand, b: Operand) => binary('Max', a, b);
export const min = (a: Operand, b: Operand) => binary('Min', a, b);
for (const op of ['Max', 'Min']) {
  // The gradient goes to the input that won; ties go to the first, as torch does for maximum's
  // subgradient choice in practice (ties are measure-zero for the models here).
  VJP.set(op, ({ inputs: [a, b], outputs: [y], gouts: [g], needs }) => {
    const aWon = equal(y!, a!);
    const zero = g!.graph.scalar(0, g!.dtype);
    return [
      needs[0] ? unbroadcast(where(aWon, g!, zero), a!) : null,
      needs[1] ? unbroadcast(where(aWon, zero, g!), b!) : null,
    ];
  });
}

export const equal = (a: Operand, b: Operand) => binary('Equal', a, b, 'bool');
export const less = (a: Operand, b: Operand) => binary('Less', a, b, 'bool');
export const lessOrEqual = (a: Operand, b: Operand) => binary('LessOrEqual', a, b, 'bool');
export const greater = (a: Operand, b: Operand) => binary('Greater', a, b, 'bool');
export const greaterOrEqual = (a: Operand, b: Operand) => binary('GreaterOrEqual', a, b, 'bool');
export const and = (a: Sym, b: Sym) => binary('And', a, b, 'bool');
export const or = (a: Sym, b: Sym) => binary('Or', a, b, 'bool');
for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Not']) NON_DIFFERENTIABLE.add(op);
export const not = (a: Sym) => one(a.graph, 'Not', [a], {}, 'bool', a.shape);

export function where(cond: Sym, a: Operand, b: Operand): Sym {
  const g = cond.graph;
  const dtype = typeof a !== 'number' ? a.dtype : typeof b !== 'number' ? b.dtype : 'float32';
  const A = lift(g, a, dtype);
  const B = lift(g, b, dtype);
  if (cond.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${cond.dtype}`);
  if (A.dtype !== B.dtype) throw new Error(`Where: branch dtypes differ (${A.dtype} vs ${B.dtype})`);
  return one(g, 'Where', [cond, A, B], {}, dtype, broadcastShapes('Where', [cond.shape, A.shape, B.shape]));
}
VJP.set('Where', ({ inputs: [c, a, b], gouts: [g], needs }) => {
  const zero = g!.graph.scalar(0, g!.dtype);
  return [null, needs[1] ? unbroadcast(where(c!, g!, zero), a!) : null, needs[2] ? unbroadcast(where(c!, zero, g!), b!) : null];
});

// ---------------------------------------------------------------------------------------------
// Elementwise unary ops

function unary(op: string, x: Sym, attrs: Attrs = {}): Sym {
  return one(x.graph, op, [x], attrs, x.dtype, x.shape);
}

export const neg = (x: Sym) => unary('Neg', x);
VJP.set('Neg', ({ gouts: [g] }) => [neg(g!)]);

export const sqrt = (x: Sym) => unary('Sqrt', x);
VJP.set('Sqrt', ({ outputs: [y], gouts: [g] }) => [div(mul(g!, 0.5), y!)]);

export const exp = (x: Sym) => unary('Exp', x);
VJP.set('Exp', ({ outputs: [y], gouts: [g] }) => [mul(g!, y!)]);

export const log = (x: Sym) => unary('Log', x);
VJP.set('Log', ({ inputs: [x], gouts: [g] }) => [div(g!, x!)]);

export const tanh = (x: Sym) => unary('Tanh', x);
VJP.set('Tanh', ({ outputs: [y], gouts: [g] }) => [mul(g!, sub(1, mul(y!, y!)))]);

export const erf = (x: Sym) => unary('Erf', x);
VJP.set('Erf', ({ inputs: [x], gouts: [g] }) => [mul(g!, mul(exp(neg(mul(x!, x!))), 2 / Math.sqrt(Math.PI)))]);

export const sigmoid = (x: Sym) => unary('Sigmoid', x);
VJP.set('Sigmoid', ({ outputs: [y], gouts: [g] }) => [mul(g!, mul(y!, sub(1, y!)))]);

export const relu = (x: Sym) => unary('Relu', x);
VJP.set('Relu', ({ inputs: [x], gouts: [g] }) => [where(greater(x!, 0), g!, 0)]);

export const sin = (x: Sym) => unary('Sin', x);
VJP.set('Sin', ({ inputs: [x], gouts: [g] }) => [mul(g!, cos(x!))]);

export const cos = (x: Sym) => unary('Cos', x);
VJP.set('Cos', ({ inputs: [x], gouts: [g] }) => [neg(mul(g!, sin(x!)))]);

export const abs = (x: Sym) => unary('Abs', x);
VJP.set('Abs', ({ inputs: [x], gouts: [g] }) => [where(less(x!, 0), neg(g!), g!)]);

export const identity = (x: Sym) => unary('Identity', x);
VJP.set('Identity', ({ gouts: [g] }) => [g]);

const ONNX_TYPE: Record<string, number> = { float32: 1, uint8: 2, int8: 3, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
export function onnxTypeOf(dtype: DType): number {
  const t = ONNX_TYPE[dtype];
  if (t === undefined) throw new Error(`onnx: dtype ${dtype} has no ONNX type here`);
  return t;
}

export function cast(x: Sym, to: DType): Sym {
  if (x.dtype === to) return x;
  return one(x.graph, 'Cast', [x], { to: int(onnxTypeOf(to)) }, to, x.shape);
}
const isFloat = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16';
VJP.set('Cast', ({ inputs: [x], gouts: [g] }) => [isFloat(x!.dtype) && isFloat(g!.dtype) ? cast(g!, x!.dtype) : null]);

// ---------------------------------------------------------------------------------------------
// Matrix products

/** numpy matmul semantics for rank >= 2 operands. */
export function matmul(a: Sym, b: Sym): Sym {
  if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: operands need rank >= 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [m, k] = a.shape.slice(-2) as [Dim, Dim];
  const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
  if (!sameDim(k, k2)) throw new Error(`MatMul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} vs ${k2})`);
  const batch = broadcastShapes('MatMul', [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
  return one(a.graph, 'MatMul', [a, b], {}, a.dtype, [...batch, m, n]);
}
/** Swap the last two axes. */
export function transposeLast(x: Sym): Sym {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}
VJP.set('MatMul', ({ inputs: [a, b], gouts: [g], needs }) => {
  let da: Sym | null = null;
  let db: Sym | null = null;
  if (needs[0]) da = unbroadcast(matmul(g!, transposeLast(b!)), a!);
  if (needs[1]) {
    if (b!.rank === 2 && a!.rank > 2) {
      // A weight shared by every batch row: one big [K, rows] @ [rows, N] product, not a batch of small ones.
      const a2 = reshape(a!, [-1, a!.shape[a!.rank - 1] as number]);
      const g2 = reshape(g!, [-1, g!.shape[g!.rank - 1] as number]);
      db = matmul(transpose(a2, [1, 0]), g2);
    } else db = unbroadcast(matmul(transposeLast(a!), g!), b!);
  }
  return [da, db];
});

/** Y = A · Bᵀ (+ C) for 2-D A: lets one embedding matrix serve as both lookup table and LM head. */
export function gemmTransB(a: Sym, b: Sym, c?: Sym): Sym {
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`Gemm: operands must be 2-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  if (!sameDim(a.shape[1]!, b.shape[1]!)) throw new Error(`Gemm: ${fmt(a.shape)} · ${fmt(b.shape)}ᵀ: inner dimensions differ`);
  return one(a.graph, 'Gemm', c ? [a, b, c] : [a, b], { transB: int(1) }, a.dtype, [a.shape[0]!, b.shape[0]!]);
}
VJP.set('Gemm', ({ node, inputs: [a, b, c], gouts: [g], needs }) => {
  if (node.attrs.transB?.value !== 1 || node.attrs.transA) throw new Error('Gemm gradient: only transA=0, transB=1 is built');
  return [
    needs[0] ? matmul(g!, b!) : null,
    needs[1] ? matmul(transpose(g!, [1, 0]), a!) : null,
    c && needs[2] ? unbroadcast(g!, c) : null,
  ];
});

// ---------------------------------------------------------------------------------------------
// Softmax family (one axis, opset-13 semantics)

export function softmax(x: Sym, axis = -1): Sym {
  return unary('Softmax', x, { axis: int(normAxis('Softmax', axis, x.rank)) });
}
VJP.set('Softmax', ({ node, outputs: [y], gouts: [g] }) => {
  const axis = node.attrs.axis!.value as number;
  const gy = mul(g!, y!);
  return [sub(gy, mul(y!, reduceSum(gy, [axis], true)))];
});

export function logSoftmax(x: Sym, axis = -1): Sym {
  return unary('LogSoftmax', x, { axis: int(normAxis('LogSoftmax', axis, x.rank)) });
}
VJP.set('LogSoftmax', ({ node, outputs: [y], gouts: [g] }) => {
  const axis = node.attrs.axis!.value as number;
  return [sub(g!, mul(exp(y!), reduceSum(g!, [axis], true)))];
});

// ---------------------------------------------------------------------------------------------
// Reductions

function reducedShape(op: string, x: Sym, axes: number[], keepdims: boolean): { axes: number[]; shape: Shape } {
  const norm = [...new Set(axes.map((a) => normAxis(op, a, x.rank)))].sort((p, q) => p - q);
  const shape: Shape = [];
  x.shape.forEach((d, i) => {
    if (!norm.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return { axes: norm, shape };
}

export function reduceSum(x: Sym, axes: number[], keepdims = true): Sym {
  const r = reducedShape('ReduceSum', x, axes, keepdims);
  return one(x.graph, 'ReduceSum', [x, x.graph.int64s(r.axes)], { keepdims: int(keepdims ? 1 : 0) }, x.dtype, r.shape);
}
/** Broadcast a reduced gradient back over the reduced axes of x. */
function expandReduced(g: Sym, x: Sym, axes: number[], keepdims: boolean): Sym {
  const k = keepdims ? g : unsqueeze(g, axes);
  return expand(k, shapeOf(x));
}
VJP.set('ReduceSum', ({ node, inputs: [x, ax], gouts: [g] }) => [
  expandReduced(g!, x!, constInts(ax!)!, node.attrs.keepdims!.value === 1),
]);

export function reduceMean(x: Sym, axes: number[], keepdims = true): Sym {
  const r = reducedShape('ReduceMean', x, axes, keepdims);
  return one(x.graph, 'ReduceMean', [x], { axes: ints(r.axes), keepdims: int(keepdims ? 1 : 0) }, x.dtype, r.shape);
}
VJP.set('ReduceMean', ({ node, inputs: [x], gouts: [g] }) => {
  const axes = node.attrs.axes!.value as number[];
  const count = axes.reduce<Operand>((n, a) => {
    const d = dimOf(x!, a);
    return typeof n === 'number' && typeof d === 'number' ? n * d : mul(toFloat(n, x!.graph), toFloat(d, x!.graph));
  }, 1);
  return [div(expandReduced(g!, x!, axes, node.attrs.keepdims!.value === 1), count)];
});
function toFloat(v: Operand, g: Graph): Sym {
  return typeof v === 'number' ? g.scalar(v) : cast(v, 'float32');
}

export function reduceMax(x: Sym, axes: number[], keepdims = true): Sym {
  const r = reducedShape('ReduceMax', x, axes, keepdims);
  return one(x.graph, 'ReduceMax', [x], { axes: ints(r.axes), keepdims: int(keepdims ? 1 : 0) }, x.dtype, r.shape);
}
NON_DIFFERENTIABLE.add('ReduceMax'); // used for masks and stable sums only

// ---------------------------------------------------------------------------------------------
// Shapes and layout

/** The runtime shape of x, as an int64 vector. */
export function shapeOf(x: Sym): Sym {
  return one(x.graph, 'Shape', [x], {}, 'int64', [x.rank]);
}
/** The size of one axis: a number when known at build time, otherwise a scalar int64 Sym. */
export function dimOf(x: Sym, axis: number): number | Sym {
  const a = normAxis('dimOf', axis, x.rank);
  const d = x.shape[a]!;
  if (typeof d === 'number') return d;
  return gather(shapeOf(x), x.graph.scalar(a, 'int64'), 0);
}
NON_DIFFERENTIABLE.add('Shape');

/** Reshape with ONNX rules: 0 copies the input dim, -1 is inferred. `shape` may also be a runtime int64 vector. */
export function reshape(x: Sym, shape: number[] | Sym): Sym {
  if (shape instanceof Sym) {
    const n = shape.shape[0];
    return one(x.graph, 'Reshape', [x, shape], {}, x.dtype, Array.from({ length: typeof n === 'number' ? n : 0 }, () => UNKNOWN));
  }
  const out: Shape = shape.map((d, i) => (d === 0 ? x.shape[i]! : d));
  const known = x.shape.every((d) => typeof d === 'number');
  const minus = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new Error(`Reshape: more than one -1 in [${shape}]`);
  if (known) {
    const total = (x.shape as number[]).reduce((p, q) => p * q, 1);
    const rest = out.filter((d) => d !== -1).reduce<number>((p, q) => p * (q as number), 1);
    if (minus >= 0) {
      if (rest === 0 || total % rest !== 0) throw new Error(`Reshape: cannot reshape ${fmt(x.shape)} to [${shape}]`);
      out[minus] = total / rest;
    } else if (rest !== total) throw new Error(`Reshape: cannot reshape ${fmt(x.shape)} (${total} elements) to [${shape}] (${rest})`);
  } else if (minus >= 0) {
    // Symbolic input: -1 keeps the only symbolic dim's name when everything else matches up.
    const sym = x.shape.filter((d) => typeof d === 'string');
    const inNum = x.shape.filter((d): d is number => typeof d === 'number').reduce((p, q) => p * q, 1);
    const outNum = out.filter((d): d is number => typeof d === 'number' && d !== -1).reduce((p, q) => p * q, 1);
    const outSym = out.filter((d) => typeof d === 'string');
    out[minus] = sym.length === 1 && outSym.length === 0 && inNum === outNum ? sym[0]! : sym.length === 0 ? inNum / outNum : UNKNOWN;
  }
  return one(x.graph, 'Reshape', [x, x.graph.int64s(shape)], {}, x.dtype, out);
}
/** The gradient of x reshaped back to x's runtime shape; it keeps x's static shape (a Reshape to a runtime vector alone would lose it). */
function reshapeBack(g: Sym, x: Sym): Sym {
  return one(x.graph, 'Reshape', [g, shapeOf(x)], {}, g.dtype, x.shape);
}
VJP.set('Reshape', ({ inputs: [x], gouts: [g] }) => [reshapeBack(g!, x!)]);

export function transpose(x: Sym, perm: number[]): Sym {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`Transpose: perm [${perm}] is not a permutation of the axes of ${fmt(x.shape)}`);
  }
  return one(x.graph, 'Transpose', [x], { perm: ints(perm) }, x.dtype, perm.map((p) => x.shape[p]!));
}
VJP.set('Transpose', ({ node, gouts: [g] }) => {
  const perm = node.attrs.perm!.value as number[];
  const inv: number[] = [];
  perm.forEach((p, i) => (inv[p] = i));
  return [transpose(g!, inv)];
});

export function unsqueeze(x: Sym, axes: number[]): Sym {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis('Unsqueeze', a, rank)).sort((p, q) => p - q);
  const shape: Shape = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]!);
  return one(x.graph, 'Unsqueeze', [x, x.graph.int64s(norm)], {}, x.dtype, shape);
}
export function squeeze(x: Sym, axes: number[]): Sym {
  const norm = axes.map((a) => normAxis('Squeeze', a, x.rank));
  for (const a of norm) {
    if (typeof x.shape[a] === 'number' && x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${fmt(x.shape)} is not 1`);
  }
  return one(x.graph, 'Squeeze', [x, x.graph.int64s(norm)], {}, x.dtype, x.shape.filter((_, i) => !norm.includes(i)));
}
VJP.set('Unsqueeze', ({ inputs: [x], gouts: [g] }) => [reshapeBack(g!, x!)]);
VJP.set('Squeeze', ({ inputs: [x], gouts: [g] }) => [reshapeBack(g!, x!)]);

/** Broadcast x to a shape (a runtime int64 vector or a list of numbers). */
export function expand(x: Sym, shape: Sym | number[]): Sym {
  if (Array.isArray(shape)) {
    return one(x.graph, 'Expand', [x, x.graph.int64s(shape)], {}, x.dtype, broadcastShapes('Expand', [x.shape, shape]));
  }
  const n = shape.shape[0];
  const target: Shape = Array.from({ length: typeof n === 'number' ? n : x.rank }, () => UNKNOWN);
  return one(x.graph, 'Expand', [x, shape], {}, x.dtype, broadcastShapes('Expand', [x.shape, target]));
}
VJP.set('Expand', ({ inputs: [x], gouts: [g] }) => [unbroadcastDynamic(g!, x!)]);

/** Like unbroadcast, but the gradient's shape may be unknown at build time: reduce by rank and by x's 1-dims. */
function unbroadcastDynamic(g: Sym, x: Sym): Sym {
  let r = g;
  const lead = g.rank - x.rank;
  if (lead > 0) r = reduceSum(r, [...Array(lead).keys()], false);
  const axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  if (axes.length) r = reduceSum(r, axes, true);
  return r;
}

export function concat(xs: Sym[], axis: number): Sym {
  if (xs.length === 0) throw new Error('Concat: no inputs');
  const first = xs[0]!;
  const a = normAxis('Concat', axis, first.rank);
  let size: Dim = 0;
  for (const x of xs) {
    if (x.rank !== first.rank || x.dtype !== first.dtype) throw new Error(`Concat: ${x} does not match ${first}`);
    x.shape.forEach((d, i) => {
      if (i !== a && !sameDim(d, first.shape[i]!)) throw new Error(`Concat on axis ${a}: ${fmt(x.shape)} vs ${fmt(first.shape)}`);
    });
    const d = x.shape[a]!;
    size = typeof size === 'number' && typeof d === 'number' ? size + d : UNKNOWN;
  }
  const shape = [...first.shape];
  shape[a] = size;
  return one(first.graph, 'Concat', xs, { axis: int(a) }, first.dtype, shape);
}
VJP.set('Concat', ({ node, inputs, gouts: [g], needs }) => {
  const axis = node.attrs.axis!.value as number;
  const xs = inputs as Sym[];
  const sizes = xs.map((x) => dimOf(x, axis));
  const parts = split(g!, sizes, axis);
  return parts.map((p, i) => (needs[i] ? p : null));
});

/** Split along an axis into pieces of the given sizes (numbers, or scalar int64 Syms for runtime sizes). */
export function split(x: Sym, sizes: (number | Sym)[], axis: number): Sym[] {
  const a = normAxis('Split', axis, x.rank);
  const g = x.graph;
  const allNumbers = sizes.every((s) => typeof s === 'number');
  const splitInput = allNumbers
    ? g.int64s(sizes as number[])
    : concat(sizes.map((s) => (typeof s === 'number' ? g.int64s([s]) : unsqueeze(s, [0]))), 0);
  if (allNumbers && typeof x.shape[a] === 'number') {
    const total = (sizes as number[]).reduce((p, q) => p + q, 0);
    if (total !== x.shape[a]) throw new Error(`Split: sizes [${sizes}] do not add up to axis ${a} of ${fmt(x.shape)}`);
  }
  const outs = sizes.map((s) => {
    const shape = [...x.shape];
    shape[a] = typeof s === 'number' ? s : UNKNOWN;
    return { dtype: x.dtype, shape };
  });
  return g.addNode('Split', [x, splitInput], { axis: int(a) }, outs);
}
VJP.set('Split', ({ node, inputs: [x], outputs, gouts }) => {
  const axis = node.attrs.axis!.value as number;
  const parts = outputs.map((o, i) => gouts[i] ?? zerosLike(o));
  return [concat(parts, axis), null];
});

export function zerosLike(x: Sym): Sym {
  return constantOfShape(shapeOf(x), 0, x.dtype, x.shape);
}
export function constantOfShape(shape: Sym, value: number, dtype: DType = 'float32', staticShape?: Shape): Sym {
  const data = dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : dtype === 'bool' ? new Uint8Array([value]) : new Float32Array([value]);
  const n = shape.shape[0];
  const outShape = staticShape ?? Array.from({ length: typeof n === 'number' ? n : 0 }, () => UNKNOWN);
  return one(shape.graph, 'ConstantOfShape', [shape], { value: { kind: 'tensor', value: new Tensor(dtype, data, [1]) } }, dtype, outShape);
}
NON_DIFFERENTIABLE.add('ConstantOfShape');

/** Slice with step 1 (or the given steps); ends past the dim are clamped, as ONNX does. */
export function slice(x: Sym, starts: number[], ends: number[], axes: number[], steps?: number[]): Sym {
  const g = x.graph;
  const norm = axes.map((a) => normAxis('Slice', a, x.rank));
  const shape = [...x.shape];
  norm.forEach((a, i) => {
    const d = x.shape[a]!;
    const step = steps?.[i] ?? 1;
    if (typeof d === 'number') {
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
      const s = step > 0 ? clamp(starts[i]!, 0, d) : clamp(starts[i]!, -1, d - 1);
      const e = step > 0 ? clamp(ends[i]!, 0, d) : clamp(ends[i]!, -1, d - 1);
      shape[a] = Math.max(0, Math.ceil((e - s) / step));
    } else if (step === 1 && starts[i]! >= 0 && ends[i]! >= 0 && ends[i]! < 2 ** 52) shape[a] = UNKNOWN;
    else shape[a] = starts[i] === 0 && ends[i]! >= 2 ** 52 && step === 1 ? d : UNKNOWN;
  });
  const inputs = [x, g.int64s(starts), g.int64s(ends), g.int64s(norm)];
  if (steps) inputs.push(g.int64s(steps));
  return one(g, 'Slice', inputs, {}, x.dtype, shape);
}
export const END = Number.MAX_SAFE_INTEGER;
VJP.set('Slice', ({ inputs: [x, st, en, ax, sp], outputs: [y], gouts: [g] }) => {
  const starts = constInts(st!)!;
  const axes = constInts(ax!)!;
  if (sp && constInts(sp)!.some((s) => s !== 1)) throw new Error('Slice gradient: only step 1 is built');
  // Pad the gradient back out: before = the start, after = what is left past the end.
  const before = new Array(x!.rank).fill(0);
  axes.forEach((a, i) => {
    const d = x!.shape[a]!;
    let s = starts[i]!;
    if (s < 0) {
      if (typeof d !== 'number') throw new Error(`Slice gradient: negative start on symbolic axis ${a}`);
      s += d;
    }
    before[a] = typeof d === 'number' ? Math.min(Math.max(s, 0), d) : s;
  });
  void en;
  const gr = x!.graph;
  const beforeSym = gr.int64s(before);
  const after = sub(sub(shapeOf(x!), shapeOf(y!)), beforeSym);
  return [pad(g!, concat([beforeSym, after], 0)), null, null, null, null];
});

/** Constant padding; `pads` is ONNX's [begin_0, ..., begin_n, end_0, ..., end_n], numbers or a runtime int64 vector. */
export function pad(x: Sym, pads: number[] | Sym, value = 0): Sym {
  const g = x.graph;
  let shape: Shape;
  let padsSym: Sym;
  if (Array.isArray(pads)) {
    if (pads.length !== 2 * x.rank) throw new Error(`Pad: ${pads.length} pads for rank ${x.rank}`);
    shape = x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + x.rank]! : pads[i] === 0 && pads[i + x.rank] === 0 ? d : UNKNOWN));
    padsSym = g.int64s(pads);
  } else {
    shape = x.shape.map(() => UNKNOWN);
    padsSym = pads;
  }
  return one(g, 'Pad', [x, padsSym, g.scalar(value, x.dtype)], { mode: str('constant') }, x.dtype, shape);
}
VJP.set('Pad', ({ inputs: [x, p], gouts: [g] }) => {
  // Slice the padding back off: from each begin, as many elements as x has.
  const gr = x!.graph;
  const pads = constInts(p!);
  if (pads) {
    const r = x!.rank;
    const axes = [...Array(r).keys()];
    const starts = axes.map((a) => pads[a]!);
    const ends = axes.map((a) => (pads[a + r]! > 0 ? -pads[a + r]! : END));
    return [slice(g!, starts, ends, axes), null, null];
  }
  const r = x!.rank;
  const begins = slice(p!, [0], [r], [0]);
  const ends = add(begins, shapeOf(x!));
  const axes = gr.int64s([...Array(r).keys()]);
  return [one(gr, 'Slice', [g!, begins, ends, axes], {}, g!.dtype, x!.shape), null, null];
});

/** Gather along an axis (embedding lookup when axis = 0). */
export function gather(x: Sym, indices: Sym, axis = 0): Sym {
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new Error(`Gather: indices must be int64, got ${indices.dtype}`);
  const a = normAxis('Gather', axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return one(x.graph, 'Gather', [x, indices], { axis: int(a) }, x.dtype, shape);
}
VJP.set('Gather', ({ node, inputs: [x, idx], gouts: [g] }) => {
  if (node.attrs.axis!.value !== 0) throw new Error('Gather gradient: only axis 0 (embedding lookup) is built');
  // Rows picked several times (a token used twice) add up: ScatterND with reduction 'add'.
  return [scatterND(zerosLike(x!), unsqueeze(idx!, [-1]), g!, 'add'), null];
});

export function gatherElements(x: Sym, indices: Sym, axis: number): Sym {
  const a = normAxis('GatherElements', axis, x.rank);
  if (indices.rank !== x.rank) throw new Error(`GatherElements: indices ${fmt(indices.shape)} and data ${fmt(x.shape)} differ in rank`);
  return one(x.graph, 'GatherElements', [x, indices], { axis: int(a) }, x.dtype, indices.shape);
}
VJP.set('GatherElements', ({ node, inputs: [x, idx], gouts: [g] }) => [
  scatterElements(zerosLike(x!), idx!, g!, node.attrs.axis!.value as number, 'add'),
  null,
]);

export function scatterND(data: Sym, indices: Sym, updates: Sym, reduction: 'none' | 'add' = 'none'): Sym {
  return one(data.graph, 'ScatterND', [data, indices, updates], { reduction: str(reduction) }, data.dtype, data.shape);
}
export function scatterElements(data: Sym, indices: Sym, updates: Sym, axis: number, reduction: 'none' | 'add' = 'none'): Sym {
  return one(data.graph, 'ScatterElements', [data, indices, updates], { axis: int(axis), reduction: str(reduction) }, data.dtype, data.shape);
}
NON_DIFFERENTIABLE.add('ScatterND').add('ScatterElements');

/** [start, limit) with a step; any of them may be runtime scalars. */
export function range(start: Operand, limit: Operand, delta: Operand = 1, dtype: DType = 'int64'): Sym {
  const g = graphOf(start, limit, delta);
  const ins = [start, limit, delta].map((v) => lift(g, v, dtype));
  const n = typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number' ? Math.max(0, Math.ceil((limit - start) / delta)) : UNKNOWN;
  return one(g, 'Range', ins, {}, dtype, [n]);
}
export function cumsum(x: Sym, axis: number): Sym {
  return one(x.graph, 'CumSum', [x, x.graph.scalar(normAxis('CumSum', axis, x.rank), 'int64')], {}, x.dtype, x.shape);
}
/** Upper (upper = true) or lower triangle of the last two axes, offset by k. */
export function trilu(x: Sym, upper: boolean, k = 0): Sym {
  return one(x.graph, 'Trilu', [x, x.graph.scalar(k, 'int64')], { upper: int(upper ? 1 : 0) }, x.dtype, x.shape);
}
NON_DIFFERENTIABLE.add('Range').add('CumSum').add('Trilu');

// ---------------------------------------------------------------------------------------------
// Normalisation, convolution, dropout

export function layerNorm(x: Sym, weight: Sym, bias: Sym, eps: number): Sym {
  const d = x.shape[x.rank - 1]!;
  if (weight.rank !== 1 || !sameDim(weight.shape[0]!, d) || bias.rank !== 1 || !sameDim(bias.shape[0]!, d)) {
    throw new Error(`LayerNormalization: weight ${fmt(weight.shape)} and bias ${fmt(bias.shape)} must be [${d}] for input ${fmt(x.shape)}`);
  }
  return one(x.graph, 'LayerNormalization', [x, weight, bias], { axis: int(-1), epsilon: float(eps) }, x.dtype, x.shape);
}
VJP.set('LayerNormalization', ({ node, inputs: [x, w, b], gouts: [g], needs }) => {
  const eps = node.attrs.epsilon!.value as number;
  const mean = reduceMean(x!, [-1], true);
  const xc = sub(x!, mean);
  const rstd = div(1, sqrt(add(reduceMean(mul(xc, xc), [-1], true), eps)));
  const xhat = mul(xc, rstd);
  const gx = mul(g!, w!);
  const dx = needs[0] ? mul(rstd, sub(sub(gx, reduceMean(gx, [-1], true)), mul(xhat, reduceMean(mul(gx, xhat), [-1], true)))) : null;
  return [dx, needs[1] ? unbroadcast(mul(g!, xhat), w!) : null, needs[2] ? unbroadcast(g!, b!) : null];
});

/** 2-D convolution, NCHW, no dilation or groups. */
export function conv2d(x: Sym, w: Sym, b: Sym | null, strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0]): Sym {
  if (x.rank !== 4 || w.rank !== 4) throw new Error(`Conv: input ${fmt(x.shape)} and weight ${fmt(w.shape)} must be 4-D`);
  if (!sameDim(x.shape[1]!, w.shape[1]!)) throw new Error(`Conv: input ${fmt(x.shape)} has ${x.shape[1]} channels, weight ${fmt(w.shape)} wants ${w.shape[1]}`);
  const [kh, kw] = [w.shape[2] as number, w.shape[3] as number];
  const out = (d: Dim, k: number, s: number, p0: number, p1: number) => (typeof d === 'number' ? Math.floor((d + p0 + p1 - k) / s) + 1 : UNKNOWN);
  const shape = [x.shape[0]!, w.shape[0]!, out(x.shape[2]!, kh, strides[0], pads[0], pads[2]), out(x.shape[3]!, kw, strides[1], pads[1], pads[3])];
  const inputs = b ? [x, w, b] : [x, w];
  return one(x.graph, 'Conv', inputs, { kernel_shape: ints([kh, kw]), strides: ints(strides), pads: ints(pads) }, x.dtype, shape);
}
VJP.set('Conv', ({ node, inputs: [x, w, b], outputs: [y], gouts: [g], needs }) => {
  // Built for what patch embeddings use: stride = kernel, no padding, so patches do not overlap
  // and the weight gradient is one matmul over the patches.
  const [kh, kw] = node.attrs.kernel_shape!.value as number[];
  const strides = node.attrs.strides!.value as number[];
  const pads = node.attrs.pads!.value as number[];
  if (strides[0] !== kh || strides[1] !== kw || pads.some((p) => p !== 0)) {
    throw new Error('Conv gradient: only non-overlapping patches (stride = kernel, no padding) are built');
  }
  const [C, H, W] = [x!.shape[1] as number, x!.shape[2] as number, x!.shape[3] as number];
  const [O, Ho, Wo] = [w!.shape[0] as number, y!.shape[2] as number, y!.shape[3] as number];
  let dx: Sym | null = null;
  let dw: Sym | null = null;
  if (needs[0]) {
    const gx = one(x!.graph, 'ConvTranspose', [g!, w!], { kernel_shape: ints([kh!, kw!]), strides: ints(strides) }, x!.dtype, [x!.shape[0]!, C, Ho * kh!, Wo * kw!]);
    dx = Ho * kh! === H && Wo * kw! === W ? gx : pad(gx, [0, 0, 0, 0, 0, 0, H - Ho * kh!, W - Wo * kw!]);
  }
  if (needs[1]) {
    const xc = Ho * kh! === H && Wo * kw! === W ? x! : slice(x!, [0, 0], [Ho * kh!, Wo * kw!], [2, 3]);
    const patches = reshape(transpose(reshape(xc, [-1, C, Ho, kh!, Wo, kw!]), [0, 2, 4, 1, 3, 5]), [-1, C * kh! * kw!]);
    const gy = reshape(transpose(g!, [0, 2, 3, 1]), [-1, O]);
    dw = reshape(matmul(transpose(gy, [1, 0]), patches), [O, C, kh!, kw!]);
  }
  return [dx, dw, b && needs[2] ? reduceSum(g!, [0, 2, 3], false) : null];
});
NON_DIFFERENTIABLE.add('ConvTranspose');

/**
 * Inverted dropout in training graphs; the identity otherwise. The keep-mask comes from a runtime
 * uniform-noise input the caller feeds (so training is reproducible from our own seeded RNG, and a
 * resumed run draws the same masks), compared against the keep probability.
 */
export function dropout(x: Sym, p: number, noise?: Sym): Sym {
  if (!x.graph.training || p === 0) return x;
  if (!noise) throw new Error('dropout: a training graph needs a noise input');
  // x times a mask of 0 and 1 / (1 - p): the same values as Where(keep, x, 0) scaled (up to
  // the sign of a dropped zero), and a Mul's gradient; ORT's Where over a [32, 40, 192] tensor
  // took 0.5 ms, a Mul 0.09 ms.
  const mask = mul(cast(greaterOrEqual(noise, p), x.dtype), 1 / (1 - p));
  return mul(x, mask);
}

// ---------------------------------------------------------------------------------------------
// Composite functions used by several architectures

/**
 * GELU as PyTorch's exact (erf) form. Inference graphs write it out, Div(x, √2) and all, so that
 * ORT fuses it (with the bias before it) into one kernel. Training graphs take ORT's fused Gelu
 * kernel as one node with the gradient rule below: written out, the backward pass kept the
 * forward's intermediates and differentiated each of its five ops (15 kernels a layer over the
 * MLP's activations, against 12 this way).
 */
export function gelu(x: Sym): Sym {
  if (x.graph.training) return x.graph.addNode('Gelu', [x], {}, [{ dtype: x.dtype, shape: x.shape }], 'com.microsoft')[0]!;
  return mul(mul(x, 0.5), add(erf(div(x, Math.SQRT2)), 1));
}
// d GELU / dx = Φ(x) + x φ(x), from x (ORT's CPU build has no GeluGrad kernel).
VJP.set('Gelu', ({ inputs: [x], gouts: [g] }) => {
  const cdf = add(mul(erf(mul(x!, Math.SQRT1_2)), 0.5), 0.5);
  const xPdf = mul(exp(mul(mul(x!, x!), -0.5)), mul(x!, 1 / Math.sqrt(2 * Math.PI)));
  return [mul(g!, add(cdf, xPdf))];
});
/** GELU's tanh approximation (GPT-2's gelu_new), as transformers' NewGELUActivation writes it. */
export function geluNew(x: Sym): Sym {
  const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

export function activation(name: string, x: Sym): Sym {
  switch (name) {
    case 'gelu':
      return gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluNew(x);
    case 'relu':
      return relu(x);
    case 'silu':
    case 'swish':
      return mul(x, sigmoid(x));
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'quick_gelu':
      return mul(x, sigmoid(mul(x, 1.702)));
    default:
      throw new Error(`activation '${name}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish, tanh, sigmoid, quick_gelu)`);
  }
}

/** x · W + b with a torch Linear weight [out, in]: the transpose is a constant fold for ORT. */
export function linear(x: Sym, weight: Sym, bias?: Sym | null): Sym {
  const y = matmul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}

/**
 * Mean cross-entropy over positions whose label is not ignoreIndex, as torch's CrossEntropyLoss.
 * logits [N, V], labels int64 [N].
 */
export function crossEntropy(logits: Sym, labels: Sym, ignoreIndex = -100): Sym {
  const valid = not(equal(labels, ignoreIndex));
  const safe = where(valid, labels, 0);
  const logp = logSoftmax(logits, -1);
  const picked = squeeze(gatherElements(logp, unsqueeze(safe, [1]), 1), [1]);
  const losses = where(valid, neg(picked), 0);
  const count = reduceSum(cast(valid, 'float32'), [0], false);
  return div(reduceSum(losses, [0], false), count);
}

// ---------------------------------------------------------------------------------------------
// Control flow

/**
 * ONNX If: runs one branch or the other depending on a one-element bool `cond`. Each branch is a
 * Graph made with `{ parent: cond.graph }` that reads outer values with `branch.outer(x)`; the
 * branches yield the same number of outputs, pairwise of one dtype and rank. A dimension on which
 * the branches differ is unknown in the result. Not differentiable (only inference graphs use it).
 */
export function ifThenElse(cond: Sym, thenBranch: Subgraph, elseBranch: Subgraph): Sym[] {
  const g = cond.graph;
  if (cond.dtype !== 'bool' || cond.shape.some((d) => d !== 1)) throw new Error(`If: the condition must be a one-element bool tensor, got ${cond}`);
  for (const [label, b] of [['then', thenBranch], ['else', elseBranch]] as const) {
    if (b.graph.parent !== g) throw new Error(`If: the ${label} branch must be a Graph made with { parent } = the condition's graph`);
    for (const o of b.outputs) if (o.graph !== b.graph) throw new Error(`If: ${label} output ${o.name} belongs to another graph (use branch.outer())`);
  }
  const a = thenBranch.outputs;
  const b = elseBranch.outputs;
  if (a.length !== b.length) throw new Error(`If: the then branch yields ${a.length} outputs, the else branch ${b.length}`);
  const outTypes = a.map((x, i) => {
    const y = b[i]!;
    if (x.dtype !== y.dtype || x.rank !== y.rank) throw new Error(`If: output ${i} is ${x} in the then branch but ${y} in the else branch`);
    return { dtype: x.dtype, shape: x.shape.map((d, k) => (d === y.shape[k] ? d : UNKNOWN)) };
  });
  return g.addNode('If', [cond], { then_branch: subgraph(thenBranch.graph, a), else_branch: subgraph(elseBranch.graph, b) }, outTypes);
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime contrib ops, for inference graphs only (weights baked in, no VJP): one kernel does
// what a dozen standard ops do, without the intermediate tensors.

/**
 * com.microsoft MultiHeadAttention over projected inputs: query [B, T, C]; key and value either
 * new [B, S, C] (then past [B, heads, P, D] may be prepended, and the outputs include the grown
 * cache `present` [B, heads, P + S, D]) or whole [B, heads, S, D] (precomputed cross-attention).
 * bias [3C] is added to new query, key and value; attentionBias broadcasts against
 * [B, heads, T, keys]. Returns the merged context [B, T, C].
 */
export function multiHeadAttention(
  query: Sym,
  key: Sym,
  value: Sym,
  opts: { heads: number; scale: number; bias?: Sym | null; attentionBias?: Sym | null; past?: { key: Sym; value: Sym } | null },
): { context: Sym; present?: { key: Sym; value: Sym } } {
  const [b, t, c] = query.shape;
  if (query.rank !== 3) throw new Error(`MultiHeadAttention: query must be [B, T, C], got ${query}`);
  const whole = key.rank === 4;
  if (key.rank !== value.rank || (key.rank !== 3 && !whole)) throw new Error(`MultiHeadAttention: key and value must both be [B, S, C] or [B, heads, S, D], got ${key} and ${value}`);
  if (whole && opts.past) throw new Error('MultiHeadAttention: a cache (past) goes with new keys [B, S, C], not whole ones');
  const g = query.graph;
  if (opts.bias && (whole || opts.bias.rank !== 1)) throw new Error(`MultiHeadAttention: a bias [3C] is added to new query, key and value [B, S, C] only, got ${opts.bias}`);
  const inputs = [query, key, value, opts.bias ?? null, null, opts.attentionBias ?? null, opts.past?.key ?? null, opts.past?.value ?? null];
  while (inputs.at(-1) === null) inputs.pop();
  const d = typeof c === 'number' ? c / opts.heads : UNKNOWN;
  const outTypes: { dtype: DType; shape: Shape }[] = [{ dtype: query.dtype, shape: [b!, t!, c!] }];
  if (opts.past) for (let i = 0; i < 2; i++) outTypes.push({ dtype: query.dtype, shape: [b!, opts.heads, UNKNOWN, d] });
  const [context, presentKey, presentValue] = g.addNode('MultiHeadAttention', inputs, { num_heads: int(opts.heads), scale: float(opts.scale) }, outTypes, 'com.microsoft');
  return { context: context!, ...(opts.past ? { present: { key: presentKey!, value: presentValue! } } : {}) };
}
