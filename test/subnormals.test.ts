// Sessions flush subnormal floats to zero (src/env/node.ts: on Intel cores a MatMul with 10% of
// its inputs subnormal ran 11x slower). Checked by what a product gives, not by timing: 1e-39 is
// subnormal in float32, 1e-39 x 1e30 is a normal 1e-9 unless the input was read as zero. With
// VED_FLUSH_SUBNORMALS=0 (a child process: the mode is set once per process) IEEE arithmetic stays.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Graph } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';

async function product(): Promise<number[]> {
  const g = new Graph({ paramMode: 'initializer' });
  const x = g.input('x', 'float32', [2, 1]);
  const w = g.param('w', new Tensor('float32', new Float32Array([1e30]), [1, 1]));
  const cg = await CompiledGraph.create(g, { y: F.matmul(x, w), z: F.mul(x, 1e30) }, { label: 'subnormals' });
  const res = await cg.run({ x: new Tensor('float32', new Float32Array([1e-39, 1e-30]), [2, 1]) });
  return [...(res['y']!.data as Float32Array), ...(res['z']!.data as Float32Array)];
}

if (process.env['VED_SUBNORMALS_CHILD'] === '1') {
  process.stdout.write(JSON.stringify(await product()));
} else {
  test('a subnormal input reads as zero in MatMul and Mul; a normal one does not', async () => {
    const [y0, y1, z0, z1] = await product();
    assert.equal(y0, 0);
    assert.equal(z0, 0);
    assert.ok(Math.abs(y1! - 1) < 1e-6 && Math.abs(z1! - 1) < 1e-6, `${y1}, ${z1}`);
  });

  test('VED_FLUSH_SUBNORMALS=0 keeps IEEE subnormals', () => {
    const { NODE_TEST_CONTEXT: _, ...env } = process.env; // the child is a plain script, not a test run
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...env, VED_SUBNORMALS_CHILD: '1', VED_FLUSH_SUBNORMALS: '0' },
      encoding: 'utf8',
    });
    const [y0, , z0] = JSON.parse(out) as number[];
    assert.ok(Math.abs(y0! - 1e-9) < 1e-14 && Math.abs(z0! - 1e-9) < 1e-14, out);
  });
}
