// attention() with K/V shared by several query rows (beam search over one image's encoder
// output) must give what repeating K/V per row gives, context and probabilities alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../src/graph/graph.js';
import { attention } from '../src/models/layers.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { rng } from './helpers.js';

test('grouped attention (K/V per image, n query rows per image) equals attention on repeated K/V', async () => {
  const [I, n, H, T, S, D] = [2, 3, 2, 1, 5, 4];
  const r = rng(11);
  const rand = (dims: number[]) => new Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), dims);
  const q = rand([I * n, H, T, D]);
  const k = rand([I, H, S, D]);
  const v = rand([I, H, S, D]);
  const repeat = (t: Tensor) => {
    const per = t.size / I;
    const out = new Float32Array(t.size * n);
    for (let i = 0; i < I; i++) for (let j = 0; j < n; j++) out.set((t.data as Float32Array).subarray(i * per, (i + 1) * per), (i * n + j) * per);
    return new Tensor('float32', out, [I * n, ...t.dims.slice(1)]);
  };

  const grouped = new Graph();
  const gq = grouped.input('q', 'float32', ['batch', H, T, D]);
  const gk = grouped.input('k', 'float32', ['images', H, 'enc', D]);
  const gv = grouped.input('v', 'float32', ['images', H, 'enc', D]);
  const a = attention(gq, gk, gv, { scale: 0.5 });
  assert.ok(grouped.nodes.some((nd) => nd.op === 'Reshape'), 'the grouped path was taken');
  const plain = new Graph();
  const pq = plain.input('q', 'float32', ['batch', H, T, D]);
  const pk = plain.input('k', 'float32', ['batch', H, 'enc', D]);
  const pv = plain.input('v', 'float32', ['batch', H, 'enc', D]);
  const b = attention(pq, pk, pv, { scale: 0.5 });

  const sa = await CompiledGraph.create(grouped, { context: a.context, probs: a.probs });
  const sb = await CompiledGraph.create(plain, { context: b.context, probs: b.probs });
  const got = await sa.run({ q, k, v });
  const want = await sb.run({ q, k: repeat(k), v: repeat(v) });
  for (const name of ['context', 'probs']) {
    assert.deepEqual(got[name]!.dims, want[name]!.dims, name);
    const x = got[name]!.data as Float32Array;
    const y = want[name]!.data as Float32Array;
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6, `${name}[${i}]: ${x[i]} vs ${y[i]}`);
  }
  assert.throws(() => attention(gq, gk, gv, { scale: 1, mask: gq }), /grouped\) takes no mask or bias/);
  await sa.dispose();
  await sb.dispose();
});
