import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalSampler, uniformSampler } from '../src/models/modeling_utils.js';

test('the initialisation sampler does not repeat inside a weight matrix (a 32-bit xorshift once did, every 8190 pairs)', () => {
  const r = normalSampler(0);
  const n = 1 << 20;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  // Correlation between draws a fixed lag apart, for every lag a short period would show up at.
  for (const lag of [1, 2, 8190, 16380, 65536, 1 << 18]) {
    let s = 0;
    for (let i = 0; i + lag < n; i++) s += a[i]! * a[i + lag]!;
    const corr = s / (n - lag);
    assert.ok(Math.abs(corr) < 0.01, `lag ${lag}: correlation ${corr}`);
  }
  let m1 = 0;
  let m2 = 0;
  for (const v of a) {
    m1 += v;
    m2 += v * v;
  }
  assert.ok(Math.abs(m1 / n) < 0.01 && Math.abs(m2 / n - 1) < 0.01, `mean ${m1 / n}, variance ${m2 / n}`);
  const other = normalSampler(1);
  assert.notEqual(other(), normalSampler(0)(), 'different seeds, different streams');
});

test('uniformSampler.fill gives the draws of as many calls, and the stream goes on from there either way', () => {
  const calls = uniformSampler(42);
  const mixed = uniformSampler(42);
  for (const n of [1, 7, 1000, 70000]) {
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) want[i] = calls();
    const got = new Float32Array(n);
    mixed.fill(got);
    assert.deepEqual(got, want, `a fill of ${n}`);
    // A single draw after the fill: the state moved on as far as the calls'.
    assert.equal(mixed(), calls());
  }
});
