// Runs every compiled test file with node's own test runner. Node 20's `--test` takes no globs,
// so the list is made here; extra arguments filter by substring (npm test -- tokenizer).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('dist/test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }
// The suite's optimised sessions go to a cache of its own, not the user's (~/.cache): reused
// between runs, and the tests that exercise the cache set their own folders.
const env = { ...process.env, VED_SESSION_CACHE: process.env.VED_SESSION_CACHE ?? join(process.cwd(), 'node_modules', '.cache', 'ved-test-sessions') };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
