import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Sym } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { grad } from '../src/graph/autodiff.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { rng } from './helpers.js';

const rand = rng(1234);
function randn(dims: number[], scale = 1, offset = 0): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = offset + scale * (rand() * 2 - 1);
  return new Tensor('float32', d, dims);
}

const tested = new Set<string>();

/**
 * Check d loss / d input for every input against central finite differences. `build` gets the
 * input Syms and returns any tensor; the loss is sum(out * R) with a fixed random R so that every
 * output element matters differently.
 */
async function checkGrad(
  ops: string[],
  inputs: Record<string, Tensor>,
  build: (xs: Record<string, Sym>, g: Graph) => Sym,
  opts: { eps?: number; tol?: number; symbolic?: Record<string, (string | number)[]>; training?: boolean } = {},
) {
  const g = new Graph({ paramMode: 'input', training: opts.training ?? false });
  const syms: Record<string, Sym> = {};
  for (const [k, t] of Object.entries(inputs)) syms[k] = g.input(k, 'float32', opts.symbolic?.[k] ?? t.dims);
  const out = build(syms, g);
  const outShape = out.shape;
  const R = g.input('R', 'float32', outShape.map((d, i) => (typeof d === 'number' ? d : `r${i}`)));
  const loss = F.reduceSum(F.reshape(F.mul(out, R), [-1]), [0], false);
  const names = Object.keys(inputs);
  const grads = grad(loss, names.map((k) => syms[k]!));
  const outputs: Record<string, Sym> = { loss, out };
  grads.forEach((d, i) => {
    assert.ok(d, `no gradient reached ${names[i]}`);
    outputs[`grad_${names[i]}`] = d!;
  });
  for (const node of g.nodes) if (ops.includes(node.op)) tested.add(node.op);
  const cg = await CompiledGraph.create(g, outputs, { threads: 1 });
  // First run: learn the output shape to make R.
  const feeds: Record<string, Tensor> = { ...inputs };
  const probe = await CompiledGraph.create(g, { out }, { threads: 1 });
  const o = (await probe.run(Object.fromEntries(Object.entries(inputs))))['out']!;
  feeds['R'] = randn(o.dims);
  const res = await cg.run(feeds);
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? 1e-2;
  for (const name of names) {
    const x = inputs[name]!;
    const analytic = res[`grad_${name}`]!;
    assert.deepEqual(analytic.dims, x.dims, `gradient of ${name} has the input's shape`);
    const data = x.data as Float32Array;
    const n = data.length;
    const picks = n <= 48 ? [...Array(n).keys()] : Array.from({ length: 48 }, () => Math.floor(rand() * n));
    for (const i of picks) {
      const orig = data[i]!;
      data[i] = orig + eps;
      const lp = (await cg.run(feeds, ['loss']))['loss']!.data[0] as number;
      data[i] = orig - eps;
      const lm = (await cg.run(feeds, ['loss']))['loss']!.data[0] as number;
      data[i] = orig;
      const fd = (lp - lm) / (2 * eps);
      const an = (analytic.data as Float32Array)[i]!;
      assert.ok(Math.abs(fd - an) <= tol * Math.max(1, Math.abs(fd)), `${ops.join('/')}: d/d${name}[${i}] analytic ${an} vs finite difference ${fd}`);
    }
  }
  await cg.dispose();
  await probe.dispose();
}

test('elementwise binary ops with broadcasting', async () => {
  const a = randn([2, 3, 4]);
  const b = randn([3, 1]);
  await checkGrad(['Add'], { a, b }, ({ a, b }) => F.add(a!, b!));
  await checkGrad(['Sub'], { a, b }, ({ a, b }) => F.sub(b!, a!));
  await checkGrad(['Mul'], { a, b }, ({ a, b }) => F.mul(a!, b!));
  await checkGrad(['Div'], { a, b: randn([4], 0.5, 2) }, ({ a, b }) => F.div(a!, b!));
  await checkGrad(['Pow'], { a: randn([3, 2], 0.5, 1.5), b: randn([2], 0.5, 1.5) }, ({ a, b }) => F.pow(a!, b!));
  await checkGrad(['Max', 'Min'], { a, b: randn([4]) }, ({ a, b }) => F.add(F.max(a!, b!), F.mul(F.min(a!, b!), 3)));
  const cond = new Tensor('bool', Uint8Array.from({ length: 12 }, (_, i) => (i * 5) % 3 === 0 ? 1 : 0), [3, 4]);
  await checkGrad(['Where'], { a, b: randn([1, 4]) }, ({ a, b }, g) => F.where(g.constant(cond), a!, b!));
});

test('elementwise unary ops', async () => {
  const x = randn([3, 5]);
  const pos = randn([3, 5], 0.5, 1.5);
  await checkGrad(['Neg'], { x }, ({ x }) => F.neg(x!));
  await checkGrad(['Sqrt'], { x: pos }, ({ x }) => F.sqrt(x!));
  await checkGrad(['Exp'], { x }, ({ x }) => F.exp(x!));
  await checkGrad(['Log'], { x: pos }, ({ x }) => F.log(x!));
  await checkGrad(['Tanh'], { x }, ({ x }) => F.tanh(x!));
  await checkGrad(['Erf'], { x }, ({ x }) => F.erf(x!));
  await checkGrad(['Sigmoid'], { x }, ({ x }) => F.sigmoid(x!));
  await checkGrad(['Relu'], { x }, ({ x }) => F.relu(x!), { eps: 1e-3 });
  await checkGrad(['Sin', 'Cos'], { x }, ({ x }) => F.add(F.sin(x!), F.cos(x!)));
  await checkGrad(['Abs'], { x }, ({ x }) => F.abs(x!), { eps: 1e-3 });
  await checkGrad(['Identity', 'Cast'], { x }, ({ x }) => F.cast(F.cast(F.identity(x!), 'float64'), 'float32'));
});

test('matmul: batched, broadcast, shared 2-D weight; Gemm with transposed B', async () => {
  await checkGrad(['MatMul'], { a: randn([2, 3, 4]), b: randn([2, 4, 5]) }, ({ a, b }) => F.matmul(a!, b!));
  await checkGrad(['MatMul'], { a: randn([2, 3, 3, 4]), b: randn([4, 2]) }, ({ a, b }) => F.matmul(a!, b!));
  await checkGrad(['MatMul'], { a: randn([3, 4]), b: randn([2, 4, 5]) }, ({ a, b }) => F.matmul(a!, b!));
  await checkGrad(['Gemm'], { a: randn([3, 4]), b: randn([5, 4]), c: randn([5]) }, ({ a, b, c }) => F.gemmTransB(a!, b!, c!));
  await checkGrad(['MatMul', 'Transpose'], { x: randn([2, 3, 4]), w: randn([5, 4]), b: randn([5]) }, ({ x, w, b }) => F.linear(x!, w!, b!));
});

test('softmax, log-softmax, reductions', async () => {
  const x = randn([2, 3, 5], 2);
  await checkGrad(['Softmax'], { x }, ({ x }) => F.softmax(x!, -1));
  await checkGrad(['Softmax'], { x }, ({ x }) => F.softmax(x!, 1));
  await checkGrad(['LogSoftmax'], { x }, ({ x }) => F.logSoftmax(x!, -1));
  await checkGrad(['ReduceSum'], { x }, ({ x }) => F.reduceSum(x!, [0, 2], false));
  await checkGrad(['ReduceSum'], { x }, ({ x }) => F.reduceSum(x!, [1], true));
  await checkGrad(['ReduceMean'], { x }, ({ x }) => F.reduceMean(x!, [-1], true));
  await checkGrad(['ReduceMean'], { x }, ({ x }) => F.reduceMean(x!, [0, 1], false));
  // Symbolic batch: the mean's count comes from the runtime shape.
  await checkGrad(['ReduceMean'], { x }, ({ x }) => F.reduceMean(x!, [0], false), { symbolic: { x: ['batch', 3, 5] } });
});

test('layout ops: reshape, transpose, (un)squeeze, expand, concat, split, slice, pad', async () => {
  const x = randn([2, 3, 4]);
  await checkGrad(['Reshape'], { x }, ({ x }) => F.reshape(x!, [0, -1, 2]));
  await checkGrad(['Transpose'], { x }, ({ x }) => F.transpose(x!, [2, 0, 1]));
  await checkGrad(['Unsqueeze', 'Squeeze'], { x }, ({ x }) => F.squeeze(F.unsqueeze(x!, [1, -1]), [1]));
  await checkGrad(['Expand'], { x: randn([3, 1]) }, ({ x }) => F.expand(x!, [2, 3, 4]));
  await checkGrad(['Concat'], { a: x, b: randn([2, 2, 4]) }, ({ a, b }) => F.concat([a!, b!, a!], 1));
  await checkGrad(['Split'], { x }, ({ x }) => {
    const [p, , r] = F.split(x!, [1, 1, 2], 2); // the middle piece gets no gradient: zeros fill in
    return F.concat([F.mul(p!, 2), r!], 2);
  });
  await checkGrad(['Slice'], { x }, ({ x }) => F.slice(x!, [1, 1], [3, -1], [1, 2]));
  await checkGrad(['Slice'], { x }, ({ x }) => F.slice(x!, [0, 1], [1, F.END], [0, 2]), { symbolic: { x: ['batch', 3, 4] } });
  await checkGrad(['Pad'], { x }, ({ x }) => F.pad(x!, [0, 1, 0, 0, 2, 3]));
  await checkGrad(['Concat', 'Slice'], { a: x, b: randn([2, 2, 4]) }, ({ a, b }) => F.concat([a!, b!], 1), { symbolic: { a: ['batch', 3, 4], b: ['batch', 2, 4] } });
  // A Linear whose output is reshaped into heads, over a symbolic batch: the gradient coming back
  // through Reshape keeps its static shape, which the shared-weight MatMul rule needs.
  await checkGrad(['Reshape', 'MatMul'], { x, w: randn([6, 4]) }, ({ x, w }) => F.squeeze(F.unsqueeze(F.reshape(F.linear(x!, w!), [0, 0, 2, 3]), [0]), [0]), { symbolic: { x: ['batch', 3, 4] } });
});

test('gather (embedding lookup with repeated ids) and gatherElements', async () => {
  await checkGrad(['Gather'], { w: randn([6, 3]) }, ({ w }, g) => {
    const ids = g.constant(new Tensor('int64', [1, 4, 1, 0, 5, 1], [2, 3]));
    return F.gather(w!, ids, 0);
  });
  await checkGrad(['GatherElements'], { x: randn([3, 5]) }, ({ x }, g) => {
    const idx = g.constant(new Tensor('int64', [0, 4, 4, 2, 1, 0], [3, 2]));
    return F.gatherElements(x!, idx, 1);
  });
});

test('layer norm, conv patches, dropout with fed noise', async () => {
  await checkGrad(['LayerNormalization'], { x: randn([2, 3, 6], 2), w: randn([6], 0.5, 1), b: randn([6]) }, ({ x, w, b }) => F.layerNorm(x!, w!, b!, 1e-5));
  await checkGrad(['Conv'], { x: randn([2, 3, 9, 8]), w: randn([4, 3, 4, 4]), b: randn([4]) }, ({ x, w, b }) => F.conv2d(x!, w!, b!, [4, 4]));
  // dropout is the identity outside training graphs; its training form multiplies by a mask of 0 and 1 / (1 - p).
  const noise = new Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 12 / 12), [3, 4]);
  await checkGrad(['Mul'], { x: randn([3, 4]) }, ({ x }, g) => F.dropout(x!, 0.25, g.constant(noise)), { training: true });
});

test('gelu: the training graph\'s fused kernel computes what the written-out inference form does', async () => {
  const x = randn([3, 50], 3);
  const values = async (training: boolean) => {
    const g = new Graph({ paramMode: 'input', training });
    const y = F.gelu(g.input('x', 'float32', [3, 50]));
    assert.equal(y.node!.op, training ? 'Gelu' : 'Mul');
    return (await (await CompiledGraph.create(g, { y }, { optimization: 'disabled' })).run({ x }))['y']!.data as Float32Array;
  };
  const fused = await values(true);
  const written = await values(false);
  fused.forEach((v, i) => assert.ok(Math.abs(v - written[i]!) <= 1e-6 * Math.max(1, Math.abs(v)), `gelu(${x.data[i]}): ${v} vs ${written[i]}`));
});

test('composites: gelu, gelu_new, cross-entropy with ignored labels', async () => {
  await checkGrad(['Erf'], { x: randn([4, 5], 2) }, ({ x }) => F.gelu(x!));
  // In training graphs GELU is ORT's fused kernel with a gradient rule of its own.
  await checkGrad(['Gelu'], { x: randn([4, 5], 2) }, ({ x }) => F.gelu(x!), { training: true });
  await checkGrad(['Tanh', 'Pow'], { x: randn([4, 5], 2) }, ({ x }) => F.geluNew(x!));
  await checkGrad(['LogSoftmax', 'GatherElements'], { x: randn([5, 7], 2) }, ({ x }, g) => {
    const labels = g.constant(new Tensor('int64', [3, -100, 0, 6, -100], [5]));
    return F.crossEntropy(x!, labels);
  });
});

test('every gradient rule has a finite-difference check', () => {
  const missing = [...F.VJP.keys()].filter((op) => !tested.has(op));
  assert.deepEqual(missing, [], `ops with a VJP rule but no finite-difference test: ${missing.join(', ')}`);
});

test('shape rules fail at build time naming the op and both shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', ['batch', 3, 4]);
  const b = g.input('b', 'float32', [5, 6]);
  assert.throws(() => F.matmul(a, b), /MatMul: inner dimensions differ: \[batch, 3, 4\] @ \[5, 6\]/);
  assert.throws(() => F.add(a, b), /Add: shapes \[batch, 3, 4\] and \[5, 6\] do not broadcast/);
  assert.throws(() => F.reshape(b, [7, -1]), /Reshape: cannot reshape \[5, 6\]/);
  assert.throws(() => F.transpose(a, [0, 0, 1]), /Transpose: perm/);
  assert.throws(() => F.concat([a, b], 0), /Concat/);
  assert.deepEqual(F.matmul(a, g.input('c', 'float32', [4, 7])).shape, ['batch', 3, 7]);
});

test('feeds are checked: wrong name, dtype, shape and inconsistent symbolic dims', async () => {
  const g = new Graph();
  const a = g.input('a', 'float32', ['batch', 2]);
  const b = g.input('b', 'float32', ['batch', 2]);
  const cg = await CompiledGraph.create(g, { y: F.add(a, b) }, { label: 'adder' });
  const t = (dims: number[]) => Tensor.zeros('float32', dims);
  await assert.rejects(cg.run({ a: t([1, 2]) }), /adder: missing input 'b'/);
  await assert.rejects(cg.run({ a: t([1, 2]), b: Tensor.zeros('int64', [1, 2]) }), /input 'b' must be float32, got int64/);
  await assert.rejects(cg.run({ a: t([1, 3]), b: t([1, 2]) }), /input 'a' must have shape \[batch, 2\], got \[1, 3\]/);
  await assert.rejects(cg.run({ a: t([1, 2]), b: t([3, 2]) }), /'b' has batch = 3 on axis 0, but 'a' has batch = 1/);
  await assert.rejects(cg.run({ a: t([1, 2]), b: t([1, 2]), c: t([1]) }), /unknown input 'c'/);
  const y = (await cg.run({ a: new Tensor('float32', [1, 2], [1, 2]), b: new Tensor('float32', [3, 4], [1, 2]) }))['y']!;
  assert.deepEqual(y.tolist(), [[4, 6]]);
  await cg.dispose();
});

test('a small MLP trained by the engine with plain SGD reaches near-zero loss', async () => {
  // Three classes of 2-D points in separated clusters; a 2 -> 16 -> 3 MLP.
  const N = 60;
  const xs = new Float32Array(N * 2);
  const ys = new BigInt64Array(N);
  const centres = [[-1, -1], [1, -0.5], [0, 1.2]];
  for (let i = 0; i < N; i++) {
    const c = i % 3;
    xs[2 * i] = centres[c]![0]! + 0.3 * (rand() - 0.5);
    xs[2 * i + 1] = centres[c]![1]! + 0.3 * (rand() - 0.5);
    ys[i] = BigInt(c);
  }
  const params: Record<string, Tensor> = { w1: randn([16, 2], 0.7), b1: randn([16], 0.1), w2: randn([3, 16], 0.4), b2: randn([3], 0.1) };
  const g = new Graph({ paramMode: 'input' });
  const x = g.input('x', 'float32', ['batch', 2]);
  const y = g.input('y', 'int64', ['batch']);
  const p = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, g.param(k, t)]));
  const h = F.tanh(F.linear(x, p.w1!, p.b1!));
  const loss = F.crossEntropy(F.linear(h, p.w2!, p.b2!), y);
  const names = Object.keys(params);
  const grads = grad(loss, names.map((k) => p[k]!));
  const outs: Record<string, Sym> = { loss };
  names.forEach((k, i) => (outs[`d_${k}`] = grads[i]!));
  const step = await CompiledGraph.create(g, outs, { threads: 1 });
  let first = 0;
  let last = 0;
  for (let it = 0; it < 300; it++) {
    const r = await step.run({ x: new Tensor('float32', xs, [N, 2]), y: new Tensor('int64', ys, [N]), ...params });
    last = r['loss']!.data[0] as number;
    if (it === 0) first = last;
    for (const k of names) {
      const w = params[k]!.data as Float32Array;
      const d = r[`d_${k}`]!.data as Float32Array;
      for (let i = 0; i < w.length; i++) w[i]! -= 0.5 * d[i]!;
    }
  }
  assert.ok(first > 0.5, `initial loss ${first}`);
  assert.ok(last < 0.02, `loss after 300 SGD steps is ${last} (from ${first})`);
  await step.dispose();
});
