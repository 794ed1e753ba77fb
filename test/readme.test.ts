// The README's TypeScript examples, run as a user would: transpiled and executed with plain node,
// importing the package by its name (the package's exports resolve to the built dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';
import { ROOT } from './helpers.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('the README has the four documented uses and the OCR reader as TypeScript examples', () => {
  assert.equal(blocks.length, 5);
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs`, { timeout: 240_000 }, () => {
    const dir = join(ROOT, '.tmp-readme');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.mjs`);
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(file, js);
    try {
      const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 230_000 });
      assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, 'it prints its result');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
