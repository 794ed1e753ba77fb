// A save killed with SIGKILL leaves its temporary behind (.model.safetensors.<pid>.<hex>.tmp,
// a full checkpoint's size); the next save into that folder removes those whose writer is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../src/index.js';
import { saveSafetensors, saveSafetensorsSync } from '../src/weights/index.js';

/** The id of a process that has exited (reaped), so that no live process holds it for now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

test('a save removes stale temporaries of its own file whose writer is dead, and nothing else', async () => {
  const tensors = new Map([['a', new Tensor('float32', new Float32Array([1, 2]), [2])]]);
  for (const save of ['async', 'sync'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'ved-stale-'));
    const dead = await deadPid();
    const keep = [
      `.model.safetensors.${process.pid}.00112233aabb.tmp`, // a save in progress in this process
      `.model.safetensors.${process.ppid}.00112233aabb.tmp`, // a live writer elsewhere
      `.config.json.${dead}.00112233aabb.tmp`, // another file's temporary: its own save cleans it
      `.model.safetensors.${dead}.notahexsuffix.tmp`, // not the pattern temporaryPathFor makes
      'notes.txt',
    ];
    const stale = [`.model.safetensors.${dead}.0123456789ab.tmp`, `.model.safetensors.${dead}.ffffffffffff.tmp`];
    for (const f of [...keep, ...stale]) writeFileSync(join(dir, f), 'x');
    const file = join(dir, 'model.safetensors');
    if (save === 'async') await saveSafetensors(file, tensors);
    else saveSafetensorsSync(file, tensors);
    assert.deepEqual(readdirSync(dir).sort(), [...keep, 'model.safetensors'].sort(), `${save} save`);
  }
});
