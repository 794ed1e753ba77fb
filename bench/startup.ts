// `npm run bench:startup [-- --runs N] [--skip-trocr] [--baseline DIR]`: what the first text
// costs, and the memory a loaded model holds, as ratios measured in this one run. --baseline: the
// root of another built checkout of this package (e.g. a worktree of main after `npm run build`),
// measured by the same children in the same run: before and after side by side.
//
// - TrOCR-base shape (ViT-B/16 at 384 + TrOCR decoder d 1024, 12 layers, random weights, made
//   once from its config into the OS temp folder and reused): in a fresh process each,
//   from_pretrained + the first greedy call against a steady greedy call, with the session cache
//   cold (a new, empty folder), warm (the folder the cold process filled) and off; and the RSS
//   after a greedy and a beam-4 call against the float32 weight bytes.
// - The bundled model as a process: `ved ocr examples/line-2.png --layout none` against
//   `tesseract examples/line-2.png stdout --psm 7`, interleaved, medians of --runs (default 7),
//   with the session cache warmed first (the second run of `ved ocr` on a machine is the one
//   this measures; the first pays the cache miss, printed too).
// - The floor under that process: node starting ONNX Runtime, loading the two session entries
//   `ved ocr` left in the cache, and running them as it does (the encoder once, one decode step
//   per output character and one for the end), with none of this library's code: no process built
//   on node and ONNX Runtime gets below it.
//
// Each figure is a ratio of two times or sizes taken in this run: on a loaded machine the
// absolute times drift between runs, the ratios much less. The load average is printed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildConfig, modelSpecs } from './models.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = fileURLToPath(import.meta.url);
const NEW_TOKENS = 16;

interface ChildResult {
  from_pretrained_s: number;
  first_s: number;
  steady_s: number[];
  beam_s: number;
  rss_bytes: number;
  weight_bytes: number;
  sources: string[];
}

/** Runs in a fresh process: load, first greedy, steady greedy ×2, beam-4; RSS at the end. `dist`: whose library. */
async function child(modelDir: string, dist: string): Promise<void> {
  const lib = (path: string) => pathToFileURL(join(dist, 'src', path)).href;
  const { Tensor } = (await import(lib('runtime/tensor.js'))) as typeof import('../src/runtime/tensor.js');
  const t0 = performance.now();
  const { VisionEncoderDecoderModel } = (await import(lib('models/vision_encoder_decoder.js'))) as typeof import('../src/models/vision_encoder_decoder.js');
  const model = await VisionEncoderDecoderModel.from_pretrained(modelDir);
  const t1 = performance.now();
  const enc = model.config.encoder;
  const size = enc.image_size as number;
  const n = 3 * size * size;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 0.5;
  const pixel_values = new Tensor('float32', data, [1, 3, size, size]);
  const greedy = { max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, num_beams: 1, do_sample: false };
  await model.generate(pixel_values, greedy);
  const t2 = performance.now();
  const steady: number[] = [];
  for (let i = 0; i < 2; i++) {
    const s = performance.now();
    await model.generate(pixel_values, greedy);
    steady.push((performance.now() - s) / 1000);
  }
  const b = performance.now();
  await model.generate(pixel_values, { ...greedy, num_beams: 4 });
  const beam_s = (performance.now() - b) / 1000;
  let weight_bytes = 0;
  for (const name of model.store.used) weight_bytes += model.store.tensors.get(name)!.size * 4;
  const sessionModule = (await import(lib('runtime/session.js'))) as Partial<typeof import('../src/runtime/session.js')>;
  const out: ChildResult = {
    from_pretrained_s: (t1 - t0) / 1000,
    first_s: (t2 - t1) / 1000,
    steady_s: steady,
    beam_s,
    rss_bytes: process.memoryUsage().rss,
    weight_bytes,
    sources: [sessionModule.lastSessionSource ?? 'built'],
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runChild(modelDir: string, cache: string, dist = join(ROOT, 'dist')): ChildResult {
  const r = spawnSync(process.execPath, [SELF, '--child', modelDir, dist], {
    encoding: 'utf8',
    env: { ...process.env, VED_SESSION_CACHE: cache },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child failed (${r.status}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as ChildResult;
}

async function trocrModel(): Promise<string> {
  const dir = join(tmpdir(), 'ved-bench-startup', 'trocr-base');
  if (existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json'))) return dir;
  const { VisionEncoderDecoderModel } = await import('../src/models/vision_encoder_decoder.js');
  const spec = modelSpecs().find((s) => s.name === 'trocr-base')!;
  process.stderr.write(`making ${spec.about} with random weights in ${dir} (once; about half a minute)\n`);
  const model = new VisionEncoderDecoderModel({ config: buildConfig(spec) });
  await model.save_pretrained(dir);
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f2 = (x: number) => x.toFixed(2);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): { seconds: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd: ROOT });
  const seconds = (performance.now() - t) / 1000;
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return { seconds, stdout: r.stdout.trim() };
}

/** The `ved` a package at `root` installs: its package.json's bin (older checkouts: dist/src/cli/main.js). */
function cliOf(root: string): string {
  const bin = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: { ved?: string } }).bin?.ved;
  return join(root, bin ?? join('dist', 'src', 'cli', 'main.js'));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]!, args[2]!);
  const baseAt = args.indexOf('--baseline');
  const baseline = baseAt >= 0 ? args[baseAt + 1] : undefined;
  if (baseline !== undefined && !existsSync(cliOf(baseline))) {
    throw new Error(`bench:startup: --baseline ${baseline} has no ${cliOf(baseline)} (run npm run build there)`);
  }
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('bench:startup: --runs takes a positive integer');
  console.log(`bench:startup on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores); load average ${load()}`);

  if (!args.includes('--skip-trocr')) {
    const modelDir = await trocrModel();
    const cacheDir = mkdtempSync(join(tmpdir(), 'ved-bench-sessions-'));
    try {
      console.log(`\nTrOCR-base shape (${modelDir}), greedy ${NEW_TOKENS} tokens; each line a fresh process`);
      console.log('cache | from_pretrained s | first call s | steady s | (load+first)/steady | beam-4 s | RSS GB | RSS/weights');
      const rows: [string, ChildResult][] = [
        ['cold', runChild(modelDir, cacheDir)],
        ['warm', runChild(modelDir, cacheDir)],
        ['off', runChild(modelDir, 'off')],
        ['warm', runChild(modelDir, cacheDir)],
        ...(baseline ? ([['base', runChild(modelDir, cacheDir, join(baseline, 'dist'))]] as [string, ChildResult][]) : []),
      ];
      for (const [name, r] of rows) {
        const steady = Math.min(...r.steady_s);
        console.log(
          `${name.padEnd(5)} | ${f2(r.from_pretrained_s).padStart(17)} | ${f2(r.first_s).padStart(12)} | ${f2(steady).padStart(8)} | ${f2((r.from_pretrained_s + r.first_s) / steady).padStart(18)}× | ${f2(r.beam_s).padStart(8)} | ${f2(r.rss_bytes / 1e9).padStart(6)} | ${f2(r.rss_bytes / r.weight_bytes)}×`,
        );
      }
      if (baseline) console.log(`base: ${baseline}, as it is built`);
      console.log(`weights: ${f2(rows[0]![1].weight_bytes / 1e9)} GB float32; targets: (load+first)/steady ≤ 3 warm, RSS/weights ≤ 1.6; load average ${load()}`);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }

  const image = join('examples', 'line-2.png');
  const tess = spawnSync('tesseract', ['--version'], { encoding: 'utf8' });
  const cacheDir = mkdtempSync(join(tmpdir(), 'ved-bench-sessions-'));
  try {
    const env = { ...process.env, VED_SESSION_CACHE: cacheDir };
    // As the ved command starts node (its #! line).
    const cli = ['--single-threaded-gc', cliOf(ROOT), 'ocr', image, '--layout', 'none'];
    const cold = timeProcess(process.execPath, cli, env);
    console.log(`\nbundled model as a process: ved ocr ${image} --layout none → ${JSON.stringify(cold.stdout)}; first run (cache miss) ${f2(cold.seconds)} s`);
    if (tess.error || tess.status !== 0) {
      console.log('tesseract is not installed: no comparison (Debian: apt-get install tesseract-ocr)');
      return;
    }
    const ours: number[] = [];
    const off: number[] = [];
    const theirs: number[] = [];
    const base: number[] = [];
    const floor: number[] = [];
    // The encoder once, a step per character (the bundled tokenizer reads bytes) and one for the end.
    const floorArgs = ['--single-threaded-gc', join(dirname(SELF), 'startup_floor.js'), cacheDir, String(Buffer.byteLength(cold.stdout) + 1)];
    const baseCli = baseline ? [cli[0]!, cliOf(baseline), ...cli.slice(2)] : null;
    for (let i = 0; i < runs; i++) {
      ours.push(timeProcess(process.execPath, cli, env).seconds);
      theirs.push(timeProcess('tesseract', [image, 'stdout', '--psm', '7'], process.env).seconds);
      off.push(timeProcess(process.execPath, cli, { ...process.env, VED_SESSION_CACHE: 'off' }).seconds);
      floor.push(timeProcess(process.execPath, floorArgs, process.env).seconds);
      if (baseCli) base.push(timeProcess(process.execPath, baseCli, process.env).seconds);
    }
    const o = median(ours);
    const t = median(theirs);
    console.log(`medians of ${runs}, interleaved: ved ocr ${f2(o)} s (cache off: ${f2(median(off))} s${baseCli ? `, base: ${f2(median(base))} s` : ''}), tesseract --psm 7 ${f2(t)} s (${tess.stdout.split('\n')[0]})`);
    console.log(`ours / tesseract: ${f2(o / t)}× (cache off: ${f2(median(off) / t)}×${baseCli ? `; base: ${f2(median(base) / t)}×` : ''}; target ≤ 1.35); load average ${load()}`);
    const fl = median(floor);
    console.log(`floor (node + ONNX Runtime loading and running the same two cached sessions, no library code): ${f2(fl)} s, ${f2(fl / t)}× tesseract; ours / floor ${f2(o / fl)}×`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

await main();
