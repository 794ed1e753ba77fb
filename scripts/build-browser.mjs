// The browser build: one ES module a page imports as it is (dist/browser/vision-encoder-decoder.js),
// bundled by esbuild from src/browser.ts, with onnxruntime-web's WASM runtime copied beside it.
//
// Two resolutions differ from Node's, and only these:
// - src/env/index.ts re-exports src/env/browser.ts instead of src/env/node.ts (the environment
//   boundary: engine, bytes by URL + Cache API, image decoding);
// - node: built-ins, which only node-only features reach (saving to disk, the disk hub cache,
//   training from folders), become modules whose every export throws, naming the function and
//   saying it needs Node. Importing them costs nothing; calling one is the error.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'browser');
const ENV_INDEX = join(ROOT, 'src', 'env', 'index.ts');

const browserEnvironment = {
  name: 'browser-environment',
  setup(build) {
    build.onResolve({ filter: /^\.\/node\.js$/ }, (args) => (args.importer === ENV_INDEX ? { path: join(ROOT, 'src', 'env', 'browser.ts') } : undefined));
  },
};

const nodeOnly = {
  name: 'node-only',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
    build.onResolve({ filter: /^(sharp|onnxruntime-node)$/ }, (args) => {
      throw new Error(`${args.importer} imports ${args.path}, which exists only in Node: reach it through src/env instead`);
    });
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, async (args) => {
      const real = await import(args.path);
      const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const mod = args.path.slice('node:'.length);
      const lines = [
        `const unavailable = (name) => function () { throw new Error(name + ' is not available in a browser: it is used by a Node-only feature (files on disk)'); };`,
        ...names.map((n) => `export const ${n} = unavailable(${JSON.stringify(`${mod}.${n}`)});`),
        `export default new Proxy({}, { get: (_, k) => unavailable(${JSON.stringify(mod)} + '.' + String(k)) });`,
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

mkdirSync(OUT, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(ROOT, 'src', 'browser.ts')],
  outfile: join(OUT, 'vision-encoder-decoder.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  // onnxruntime-web without its WASM glue inlined: the glue and the .wasm are the files copied below.
  conditions: ['onnxruntime-web-use-extern-wasm'],
  // Node-only code reads process.env when it runs; in a page nothing is set.
  define: { 'process.env': '{}' },
  plugins: [browserEnvironment, nodeOnly],
  logLevel: 'warning',
  metafile: true,
});
const require = createRequire(import.meta.url);
const ortDist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) copyFileSync(join(ortDist, f), join(OUT, f));
const size = statSync(join(OUT, 'vision-encoder-decoder.js')).size;
if (process.argv.includes('--verbose')) console.log(await esbuild.analyzeMetafile(result.metafile));
console.log(`browser build: dist/browser/vision-encoder-decoder.js (${(size / 1e6).toFixed(2)} MB) + onnxruntime-web WASM`);
