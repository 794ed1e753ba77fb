// `npm run bench [-- --quick] [-- --json] [-- --only NAME,...]`: speed of random-weight models of
// real sizes, each figure beside its bound measured in the same process (../shared/DESIGN.md).
//
// Each model runs in a child process of its own, so its peak RSS is its own and one model's heap
// does not slow the next. Inside a child, every measurement and every bound runs once per round,
// round-robin, and the median of the rounds is reported: this machine's memory bandwidth drifts
// 10-20% between rounds, so a bound measured minutes apart from its figure would mislead.
//
// The PyTorch peer (bench/torch_peer.py, the same shapes in plain PyTorch eager) runs in a Python
// child of the model's process, one round of it after each of ours, while ours waits.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportModel } from '../src/cli/export.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AdamW } from '../src/training/optim.js';
import { Tensor } from '../src/runtime/tensor.js';
import { chainProbe, copyProbe, matmulProbe, stepStreamProbe, streamProbe, type Probe } from './bounds.js';
import { buildConfig, encoderShapes, encoderTokens, modelSpecs, stepBytes, stepMatrices, trainForwardFlops, type ModelSpec } from './models.js';
import { printReport, type ModelResult } from './report.js';
import { findTorchPython, peerUnsupported, startTorchPeer, TORCH_INSTALL, type TorchPeer } from './torch.js';
import { median } from './stats.js';

const NEW_TOKENS = 16;
const NODE_FLAGS = ['--single-threaded-gc'];
/** Side-by-side pairs per round for the ratios of two timings (beam-4 / greedy, int8 speed-up). */
const PAIRS = 3;

function pixels(spec: ModelSpec, batch: number, seed: number): Tensor {
  const e = spec.encoder;
  const [h, w] = Array.isArray(e.image_size) ? (e.image_size as number[]) : [e.image_size as number, e.image_size as number];
  const n = batch * 3 * h! * w!;
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return new Tensor('float32', data, [batch, 3, h!, w!]);
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

/** Seconds of one probe run, the median of `reps` (small probes repeat to rise above timer noise). */
async function timeProbe(p: Probe, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(await time(() => p.run()));
  return median(ts);
}

/** Measure one model: everything round-robin, `rounds` times. */
async function measure(spec: ModelSpec, quick: boolean, python: string | null): Promise<ModelResult> {
  const rounds = quick ? 1 : 3;
  const log = (s: string) => process.stderr.write(`[${spec.name}] ${s}\n`);
  const t0 = performance.now();
  const model = new VisionEncoderDecoderModel({ config: buildConfig(spec), seed: 0 });
  const buildS = (performance.now() - t0) / 1000;
  let encParams = 0;
  let decParams = 0;
  for (const [n, t] of model.named_parameters()) (n.startsWith('encoder.') ? (encParams += t.size) : (decParams += t.size));
  log(`built in ${buildS.toFixed(1)} s: encoder ${(encParams / 1e6).toFixed(1)} M, decoder ${(decParams / 1e6).toFixed(1)} M parameters`);

  const big = quick ? 2 : 8;
  const px1 = pixels(spec, 1, 1);
  const pxB = pixels(spec, big, 2);
  const gen = { max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS };

  // transformers.js on the same weights, exported once (before any timing).
  let tjs: { generate(): Promise<unknown>; dispose(): Promise<void> } | null = null;
  let tjsDir: string | null = null;
  if (spec.transformersJs) {
    tjs = await loadTransformersJs(model, px1, (d) => (tjsDir = d), log);
  }

  // The same weights with int8 matrices (model.dtype = 'int8'), in a second model that shares the
  // float32 arrays, so neither rebuilds its sessions when the rounds alternate between them.
  const q8 = new VisionEncoderDecoderModel({ config: model.config, weights: model.store.tensors });
  q8.dtype = 'int8';

  // Warm-up: compile every session once.
  log('compiling sessions');
  await q8.generate(px1, { max_new_tokens: 2, min_new_tokens: 2 });
  await model.generate(px1, { max_new_tokens: 2, min_new_tokens: 2 });
  await model.generate(px1, { max_new_tokens: 2, min_new_tokens: 2, num_beams: 4 });
  await model.decoderSession(pxB);
  if (tjs) await tjs.generate();

  let trainer: (() => Promise<void>) | null = null;
  const trainBatch = spec.train.batch;
  if (quick ? spec.train.quick : spec.train.full) {
    const opt = new AdamW(model.named_parameters(), { lr: 1e-5 });
    const pxT = pixels(spec, trainBatch, 3);
    const labels = new Tensor('int64', BigInt64Array.from({ length: trainBatch * NEW_TOKENS }, (_, i) => BigInt(3 + (i % 50))), [trainBatch, NEW_TOKENS]);
    trainer = async () => {
      model.train();
      const { grads } = await model.compute_gradients({ pixel_values: pxT, labels });
      opt.step(grads);
      model.eval();
    };
    log('compiling the training step');
    await trainer();
  }

  // The PyTorch peer on the same shapes, built and warmed up now (its memory is its own process's).
  let peer: TorchPeer | null = null;
  // Without python the report says why once, for the whole run; per model only what is its own.
  let torchNote: string | null = python ? peerUnsupported(spec) : null;
  if (python && !torchNote) {
    log('starting the PyTorch peer');
    try {
      peer = await startTorchPeer(python, spec, { batch: big, newTokens: NEW_TOKENS, trainBatch: trainer ? trainBatch : null, decoderStart: Number(model.config.decoder_start_token_id ?? 0) });
      log(`PyTorch ${peer.info.torch}, ${peer.info.threads} threads, ${(peer.info.params / 1e6).toFixed(1)} M parameters, BLAS ${peer.info.blas}`);
      // The same shapes: its parameter count is ours to the last element.
      if (peer.info.params !== encParams + decParams) {
        torchNote = `PyTorch peer has ${peer.info.params} parameters, ours ${encParams + decParams}: its shapes differ, figures not comparable`;
        log(torchNote);
      }
    } catch (e) {
      torchNote = `PyTorch peer failed: ${e instanceof Error ? e.message : String(e)}`;
      log(torchNote);
    }
  }

  // The model's own peak (sessions, generation, beams, training step), before the bound probes
  // allocate their matrices (the copy probe alone holds 512 MB).
  const peakRss = process.resourceUsage().maxRSS / 1024;

  const shapes1 = encoderShapes(spec, 1);
  const shapesB = encoderShapes(spec, big);
  const probes = {
    plain: await matmulProbe(shapes1.typical),
    chain1: await chainProbe(shapes1.chain),
    chainB: quick ? null : await chainProbe(shapesB.chain),
    stream: await streamProbe(),
    stepStream: await stepStreamProbe(stepMatrices(model)),
    copy: copyProbe(),
  };

  const r: Record<string, number[]> = {};
  const add = (k: string, v: number) => (r[k] ??= []).push(v);
  for (let round = 0; round < rounds; round++) {
    log(`round ${round + 1}/${rounds} (load ${loadavg()[0]!.toFixed(2)})`);
    add('load', loadavg()[0]!);
    add('plain', probes.plain.work / (await timeProbe(probes.plain, 5)));
    add('chain1', probes.chain1.work / (await timeProbe(probes.chain1, 3)));
    if (probes.chainB) add('chainB', probes.chainB.work / (await timeProbe(probes.chainB, 1)));
    add('stream', probes.stream.work / (await timeProbe(probes.stream, 10)));
    add('stepStream', probes.stepStream.work / (await timeProbe(probes.stepStream, 10)));
    add('copy', probes.copy.work / (await timeProbe(probes.copy, 5)));
    // The training step of the previous round changed the weights, so the first session after it
    // rebuilds the baked generation graphs: absorb that before timing the encoder.
    await model.decoderSession(px1);
    add('enc1', await time(() => model.decoderSession(px1)));
    add('encB', await time(() => model.decoderSession(pxB)));
    const steps = await timeSteps(model, px1);
    add('step1', steps.step1);
    add('step16', steps.step16);
    const greedy = () => time(() => model.generate(px1, gen));
    const beam4 = () => time(() => model.generate(px1, { ...gen, num_beams: 4 }));
    add('greedy', await greedy());
    add('beam4', await beam4());
    // Ratios of timings taken side by side: this machine's speed drifts by 2-4x within minutes,
    // so a ratio of medians taken a minute apart (one full run said beam-4 1.41x greedy, the one
    // before 1.27x, with no change between) says more about the drift than about the code.
    add('beam4_per_greedy', r.beam4!.at(-1)! / r.greedy!.at(-1)!);
    const steps16 = async (m: VisionEncoderDecoderModel) => (await timeSteps(m, px1)).step16;
    for (let p = 0; p < PAIRS; p++) {
      // Each pair in the other order from the last, so neither always runs second.
      let [g, b] = [0, 0];
      if (p % 2 === 0) [g, b] = [await greedy(), await beam4()];
      else [b, g] = [await beam4(), await greedy()];
      add('beam4_per_greedy', b / g);
      let [f, q] = [0, 0];
      if (p % 2 === 0) [f, q] = [await steps16(model), await steps16(q8)];
      else [q, f] = [await steps16(q8), await steps16(model)];
      add('q8_speedup16', f / q);
    }
    if (tjs) add('tjs', await time(() => tjs!.generate()));
    add('q8_enc1', await time(() => q8.decoderSession(px1)));
    const q8steps = await timeSteps(q8, px1);
    add('q8_step1', q8steps.step1);
    add('q8_step16', q8steps.step16);
    add('q8_greedy', await time(() => q8.generate(px1, gen)));
    if (trainer) add('train', trainBatch / (await time(trainer)));
    if (peer) {
      const t = await peer.round();
      for (const [k, v] of Object.entries(t)) add(`pt_${k}`, v);
    }
  }
  if (peer) await peer.close();
  await Promise.all(Object.values(probes).map((p) => p?.dispose()));
  if (tjs) await tjs.dispose();
  if (tjsDir) rmSync(tjsDir, { recursive: true, force: true });

  const m = (k: string) => (r[k] ? median(r[k]!) : null);
  const tokens = encoderTokens(spec);
  const encFlops1 = shapes1.chain.reduce((a, x) => a + 2 * x.m * x.k * x.n, 0) + shapes1.attentionFlops;
  const encFlopsB = shapesB.chain.reduce((a, x) => a + 2 * x.m * x.k * x.n, 0) + shapesB.attentionFlops;
  return {
    name: spec.name,
    about: spec.about,
    rounds,
    batch: big,
    encoder_params: encParams,
    decoder_params: decParams,
    build_s: buildS,
    load: m('load')!,
    encoder_gflop: { b1: encFlops1 / 1e9, bN: encFlopsB / 1e9 },
    step_bytes: { step1: stepBytes(model, tokens, 0), step16: stepBytes(model, tokens, NEW_TOKENS - 1) },
    bounds: {
      plain_gflops: m('plain')! / 1e9,
      chain1_gflops: m('chain1')! / 1e9,
      chainN_gflops: m('chainB') !== null ? m('chainB')! / 1e9 : null,
      stream_gbs: m('stream')! / 1e9,
      step_stream_gbs: m('stepStream')! / 1e9,
      copy_gbs: m('copy')! / 1e9,
      plain_shape: shapes1.typical,
    },
    encoder_s: { b1: m('enc1')!, bN: m('encB')! },
    step_s: { step1: m('step1')!, step16: m('step16')! },
    greedy_s: m('greedy')!,
    beam4_s: m('beam4')!,
    paired: { beam4_per_greedy: m('beam4_per_greedy')!, int8_step16_speedup: m('q8_speedup16')! },
    train_samples_per_s: m('train'),
    train_batch: trainer ? trainBatch : null,
    train_gflop: trainer ? (3 * trainForwardFlops(model, spec, trainBatch, NEW_TOKENS)) / 1e9 : null,
    transformers_js_greedy_s: m('tjs'),
    int8: { encoder_b1_s: m('q8_enc1')!, step1_s: m('q8_step1')!, step16_s: m('q8_step16')!, greedy_s: m('q8_greedy')! },
    peak_rss_mb: peakRss,
    torch: peer
      ? {
          ...peer.info,
          encoder_s: { b1: m('pt_enc1')!, bN: m('pt_encB')! },
          step_s: { step1: m('pt_step1')!, step16: m('pt_step16')! },
          greedy_s: m('pt_greedy')!,
          beam4_s: m('pt_beam4')!,
          train_samples_per_s: m('pt_train') === null ? null : trainBatch / m('pt_train')!,
        }
      : null,
    torch_note: torchNote,
  };
}

/** Times of decode step 1 and step NEW_TOKENS of a greedy loop driven by hand (the encoder ran before). */
async function timeSteps(model: VisionEncoderDecoderModel, px: Tensor): Promise<{ step1: number; step16: number }> {
  const s = await model.decoderSession(px);
  const V = s.vocab_size;
  let tok = BigInt64Array.of(BigInt(model.config.decoder_start_token_id ?? 0));
  const out = { step1: 0, step16: 0 };
  for (let i = 1; i <= NEW_TOKENS; i++) {
    let logits: Float32Array = new Float32Array(0);
    const dt = await time(async () => void (logits = await s.step(tok, i)));
    if (i === 1) out.step1 = dt;
    if (i === NEW_TOKENS) out.step16 = dt;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
    tok = BigInt64Array.of(BigInt(best));
  }
  return out;
}

/** Export the model, load the folder in transformers.js (offline, 2 threads as ours), and a greedy-16 closure. */
async function loadTransformersJs(model: VisionEncoderDecoderModel, px: Tensor, setDir: (d: string) => void, log: (s: string) => void) {
  let t: typeof import('@huggingface/transformers');
  try {
    t = await import('@huggingface/transformers');
  } catch {
    log('@huggingface/transformers is not installed: no comparison');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ved-bench-'));
  setDir(dir);
  const src = join(dir, 'model');
  const out = join(dir, 'onnx-export');
  log('exporting for transformers.js');
  await model.save_pretrained(src);
  await exportModel(src, out);
  rmSync(src, { recursive: true, force: true });
  t.env.allowRemoteModels = false;
  t.env.localModelPath = dir;
  const m = await t.AutoModelForVision2Seq.from_pretrained('onnx-export', { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: 2, interOpNumThreads: 1 } });
  const pv = new t.Tensor('float32', px.data as Float32Array, px.dims);
  return {
    generate: () => m.generate({ pixel_values: pv, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false, num_beams: 1 }),
    dispose: async () => void (await m.dispose()),
  };
}

function runChild(name: string, quick: boolean, python: string | null): Promise<ModelResult> {
  return new Promise((resolve, reject) => {
    // As the ved command runs (see src/cli/main.ts): V8's GC on the main thread only.
    const args = [...NODE_FLAGS, fileURLToPath(import.meta.url), '--child', name, ...(quick ? ['--quick'] : []), ...(python ? ['--torch', python] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench: ${name} exited with code ${code}`));
      try {
        resolve(JSON.parse(out) as ModelResult);
      } catch {
        reject(new Error(`bench: ${name} printed no result`));
      }
    });
  });
}

const USAGE = `usage: npm run bench [-- --quick] [-- --json] [-- --only NAME,...] [-- --no-torch]
  The PyTorch peer needs python3 with torch (Debian: ${TORCH_INSTALL}; VED_BENCH_PYTHON=PATH picks the interpreter).
`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const known = new Set(['--quick', '--json', '--only', '--child', '--torch', '--no-torch']);
  const valued = new Set(['--only', '--child', '--torch']);
  const unknown = argv.filter((a, i) => a.startsWith('-') && !known.has(a) && !valued.has(argv[i - 1]!));
  if (unknown.length) throw new Error(`bench: unknown option ${unknown[0]}; ${USAGE}`);
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const childAt = argv.indexOf('--child');
  const specs = modelSpecs();
  if (childAt >= 0) {
    const spec = specs.find((s) => s.name === argv[childAt + 1]);
    if (!spec) throw new Error(`bench: no model named ${argv[childAt + 1]}`);
    const torchAt = argv.indexOf('--torch');
    process.stdout.write(JSON.stringify(await measure(spec, quick, torchAt >= 0 ? argv[torchAt + 1]! : null)));
    return;
  }
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',')) : null;
  if (only) for (const n of only) if (!specs.some((s) => s.name === n)) throw new Error(`bench: --only ${n}: models are ${specs.map((s) => s.name).join(', ')}`);
  const chosen = specs.filter((s) => (only ? only.has(s.name) : !quick || s.quick));
  const python = argv.includes('--no-torch') ? null : findTorchPython();
  const torch = argv.includes('--no-torch')
    ? 'PyTorch peer off (--no-torch)'
    : python
      ? `PyTorch peer: ${python} bench/torch_peer.py`
      : `PyTorch peer skipped: no python3 with torch here (install: ${TORCH_INSTALL})`;
  process.stderr.write(`${torch}\n`);
  const started = { load: loadavg(), at: new Date().toISOString() };
  const results: ModelResult[] = [];
  for (const s of chosen) results.push(await runChild(s.name, quick, python));
  const report = { started, finished: { load: loadavg(), at: new Date().toISOString() }, quick, threads: 'all cores (onnxruntime intra-op)', node_flags: NODE_FLAGS, torch, results };
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
