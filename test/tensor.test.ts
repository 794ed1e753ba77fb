import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/index.js';

test('Tensor: tolist nests by dims and checks sizes', () => {
  const t = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]]);
  const i = new Tensor('int64', [1, 2], [2]);
  assert.deepEqual(i.tolist(), [1, 2]);
  assert.throws(() => new Tensor('float32', new Float32Array(5), [2, 3]), /5 elements.*\[2, 3\] need 6/);
  assert.throws(() => new Tensor('int64', new Float32Array(2), [2]), /BigInt64Array/);
});
