// AdamW's update against torch's algorithm written out plainly, each stored value (weight, first
// and second moment) a float32 array element read back before its next use: bit for bit, with and
// without weight decay, over several steps. (Python parity of the step is in
// vision_encoder_decoder.test.ts; this pins the fast loop to the plain one.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../src/runtime/tensor.js';
import { AdamW } from '../src/training/optim.js';
import { rng } from './helpers.js';

function plainAdamW(w: Float32Array, grads: Float32Array[], lr: number, wd: number, [b1, b2]: [number, number], eps: number): Float32Array {
  const m = new Float32Array(w.length);
  const v = new Float32Array(w.length);
  grads.forEach((d, k) => {
    const t = k + 1;
    const bc1 = 1 - b1 ** t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    for (let i = 0; i < w.length; i++) {
      w[i] = w[i]! * (1 - lr * wd);
      m[i] = m[i]! * b1 + (1 - b1) * d[i]!;
      v[i] = v[i]! * b2 + (1 - b2) * d[i]! * d[i]!;
      w[i] = w[i]! - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / bc2Sqrt + eps));
    }
  });
  return w;
}

test('AdamW.step equals the plain float32 algorithm bit for bit', () => {
  const r = rng(5);
  const n = 4099;
  const start = Float32Array.from({ length: n }, () => r() * 2 - 1);
  // Gradients over several scales, zeros among them.
  const grads = Array.from({ length: 5 }, (_, k) => Float32Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : (r() - 0.5) * 10 ** (-(k + (i % 7))))));
  for (const wd of [0, 0.01]) {
    const params = new Map([['w', new Tensor('float32', start.slice(), [n])]]);
    const opt = new AdamW(params, { lr: 3e-3, weight_decay: wd, betas: [0.9, 0.98], eps: 1e-6 });
    for (const g of grads) opt.step(new Map([['w', new Tensor('float32', g, [n])]]));
    const want = plainAdamW(start.slice(), grads, 3e-3, wd, [0.9, 0.98], 1e-6);
    const got = params.get('w')!.data as Float32Array;
    const bad = got.findIndex((x, i) => !Object.is(x, want[i]));
    assert.equal(bad, -1, `weight decay ${wd}: element ${bad} is ${got[bad]}, the plain loop's ${want[bad]}`);
  }
});
