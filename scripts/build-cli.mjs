// The `ved` command as installed: src/cli/main.ts bundled by esbuild into dist/cli/ved.js, each
// command's module a chunk of its own (imported when that command runs, as in dist/src), with the
// packages left to node_modules. A `ved ocr` process on one line loads about 60 of this library's
// modules; as a few chunks it took 347-388 ms against 395-422 ms from dist/src (the 2-core Xeon,
// three interleaved rounds of 8): node resolves, reads and links each ES module on its own.
//
// The serve worker is an entry of its own beside the chunks, because src/serve/page_reader.ts
// finds it as './prepare_worker.js' next to its own module. dist/src (tsc's output) stays what
// the library's users import and what most tests run; test/cli.test.ts runs this bundle.
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'cli');

// Chunk names carry a hash: the last build's would otherwise stay beside the new ones.
rmSync(OUT, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { ved: join(ROOT, 'src', 'cli', 'main.ts'), prepare_worker: join(ROOT, 'src', 'serve', 'prepare_worker.ts') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
