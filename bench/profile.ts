// `npm run bench:profile [-- --only NAME] [-- --reps N]`: where the time of the encoder and of a
// decode step goes, from ONNX Runtime's own profile (each kernel's time in each run), beside the
// bounds `npm run bench` uses, measured in the same process: the encoder against its FLOPs over
// the chain rate of its own shapes, a decode step against its bytes over the streaming rate of one
// [1, 768] x [768, 50257] MatMul. Profiling adds a little to every kernel, so the run times here
// are a little above the benchmark's; the shares are what to read.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { endProfiling, profileSessions } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { chainProbe, streamProbe, type Probe } from './bounds.js';
import { buildConfig, encoderShapes, encoderTokens, flops, modelSpecs, stepBytes, type ModelSpec } from './models.js';
import { median } from './stats.js';

const NEW_TOKENS = 16;
const BIG = 8;

interface Kernel {
  op: string;
  us: number;
  /** [k, n] of a MatMul / Gemm: the last axis of its first input and of its output. */
  kn: [number, number] | null;
}
interface Run {
  us: number;
  kernels: Kernel[];
}

function pixels(spec: ModelSpec, batch: number): Tensor {
  const e = spec.encoder;
  const [h, w] = Array.isArray(e.image_size) ? (e.image_size as number[]) : [e.image_size as number, e.image_size as number];
  return new Tensor('float32', Float32Array.from({ length: batch * 3 * h! * w! }, (_, i) => Math.sin(i * 0.37)), [batch, 3, h!, w!]);
}

type Event = { cat?: string; name: string; ts: number; dur: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] } };

/** The runs of one session's profile file, in order, each with its kernels. */
function readProfile(dir: string, label: string): Run[] {
  const file = readdirSync(dir).find((f) => f.startsWith(`${label}_`) && f.endsWith('.json'));
  if (!file) throw new Error(`bench:profile: no profile for ${label} in ${dir}`);
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Event[];
  const runs = events.filter((e) => e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).sort((a, b) => a.ts - b.ts);
  const lastAxis = (s: Record<string, number[]>[] | undefined) => {
    const dims = s?.[0] ? Object.values(s[0])[0] : undefined;
    return dims?.at(-1);
  };
  let j = 0;
  return runs.map((r) => {
    const kernels: Kernel[] = [];
    while (j < nodes.length && nodes[j]!.ts < r.ts) j++;
    for (; j < nodes.length && nodes[j]!.ts <= r.ts + r.dur; j++) {
      const e = nodes[j]!;
      const op = e.args?.op_name ?? '?';
      const k = lastAxis(e.args?.input_type_shape);
      const n = lastAxis(e.args?.output_type_shape);
      kernels.push({ op, us: e.dur, kn: (op === 'MatMul' || op === 'Gemm') && k && n ? [k, n] : null });
    }
    return { us: r.dur, kernels };
  });
}

const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
const pad = (cells: string[][]) => {
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
};

/** Median per-op times over `runs`, largest first, with the time outside kernels. */
function byOp(runs: Run[]): { run: number; kernels: number; count: number; ops: [string, number][] } {
  const ops = new Map<string, number[]>();
  runs.forEach((r, i) => {
    for (const k of r.kernels) {
      const a = ops.get(k.op) ?? Array(runs.length).fill(0);
      a[i] += k.us;
      ops.set(k.op, a);
    }
  });
  return {
    run: median(runs.map((r) => r.us)),
    kernels: median(runs.map((r) => r.kernels.reduce((a, k) => a + k.us, 0))),
    count: median(runs.map((r) => r.kernels.length)),
    ops: [...ops].map(([op, a]) => [op, median(a)] as [string, number]).sort((a, b) => b[1] - a[1]),
  };
}

function opTable(title: string, runs: Run[], boundUs: number, boundWhat: string): string[] {
  const b = byOp(runs);
  const out = [
    `${title}: run ${ms(b.run)} = ${(b.run / boundUs).toFixed(2)}x its bound (${ms(boundUs)}, ${boundWhat}); ${b.count} kernels, ${ms(b.kernels)}; outside kernels ${ms(b.run - b.kernels)} (${pct(b.run - b.kernels, b.run)})`,
  ];
  const rows = [['op', 'time', 'share of run'], ...b.ops.filter(([, us]) => us >= b.run * 0.002).map(([op, us]) => [`  ${op}`, ms(us), pct(us, b.run)])];
  out.push(pad(rows));
  return out;
}

/** Per weight shape [k, n]: kernels per run, time, and the rate at which they read their weights. */
function weightTable(runs: Run[], streamGBs: number): string[] {
  const shapes = new Map<string, { kn: [number, number]; op: string; us: number[]; count: number }>();
  runs.forEach((r, i) => {
    const seen = new Map<string, number>();
    for (const k of r.kernels) {
      if (!k.kn) continue;
      const key = `${k.op} ${k.kn[0]}x${k.kn[1]}`;
      const s = shapes.get(key) ?? { kn: k.kn, op: k.op, us: Array(runs.length).fill(0), count: 0 };
      s.us[i]! += k.us;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      shapes.set(key, s);
    }
    for (const [key, c] of seen) shapes.get(key)!.count = c;
  });
  const rows = [['  weight [k, n]', 'per run', 'MB', 'time', 'GB/s', 'x stream bound']];
  for (const s of [...shapes.values()].sort((a, b) => median(b.us) - median(a.us))) {
    const bytes = 4 * s.kn[0] * s.kn[1] * s.count;
    const us = median(s.us);
    rows.push([`  ${s.op} ${s.kn[0]}x${s.kn[1]}`, String(s.count), (bytes / 1e6).toFixed(0), ms(us), (bytes / us / 1e3).toFixed(1), (us / (bytes / streamGBs / 1e3)).toFixed(2) + 'x']);
  }
  return [pad(rows)];
}

async function rate(p: Probe, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await p.run();
    ts.push((performance.now() - t0) / 1000);
  }
  return p.work / median(ts);
}

async function main(argv: string[]): Promise<void> {
  const onlyAt = argv.indexOf('--only');
  const name = onlyAt >= 0 ? argv[onlyAt + 1]! : 'vit-gpt2';
  const repsAt = argv.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(argv[repsAt + 1]) : 3;
  const spec = modelSpecs().find((s) => s.name === name);
  if (!spec) throw new Error(`bench:profile: no model named ${name}; models are ${modelSpecs().map((s) => s.name).join(', ')}`);
  const log = (s: string) => process.stderr.write(`[${name}] ${s}\n`);
  const model = new VisionEncoderDecoderModel({ config: buildConfig(spec), seed: 0 });
  const px1 = pixels(spec, 1);
  const pxB = pixels(spec, BIG);
  const shapes1 = encoderShapes(spec, 1);
  const shapesB = encoderShapes(spec, BIG);
  const probes = { chain1: await chainProbe(shapes1.chain), chainB: await chainProbe(shapesB.chain), stream: await streamProbe() };

  const dir = mkdtempSync(join(tmpdir(), 'ved-profile-'));
  try {
    profileSessions(`${dir}/`);
    log('compiling sessions');
    // Encoder runs, in order: 1 warm-up, reps at batch 1, 1 at batch 8, 1 for beam search.
    // Step runs: 2 warm-up, reps x 16 greedy steps (1 row), 16 beam steps (4 rows).
    await model.generate(px1, { max_new_tokens: 2, min_new_tokens: 2 });
    const rates = { chain1: [] as number[], chainB: [] as number[], stream: [] as number[] };
    log(`profiling: ${reps} x (encoder + ${NEW_TOKENS} greedy steps), encoder x${BIG}, beam-4`);
    for (let r = 0; r < reps; r++) {
      rates.chain1.push(await rate(probes.chain1, 3));
      rates.stream.push(await rate(probes.stream, 10));
      const s = await model.decoderSession(px1);
      let tok = BigInt64Array.of(BigInt(model.config.decoder_start_token_id ?? 0));
      for (let i = 0; i < NEW_TOKENS; i++) {
        const logits = await s.step(tok, i + 1);
        let best = 0;
        for (let v = 1; v < s.vocab_size; v++) if (logits[v]! > logits[best]!) best = v;
        tok = BigInt64Array.of(BigInt(best));
      }
    }
    rates.chainB.push(await rate(probes.chainB, 1));
    await model.decoderSession(pxB);
    await model.generate(px1, { max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, num_beams: 4 });
    endProfiling();
    profileSessions(null);
    await Promise.all(Object.values(probes).map((p) => p.dispose()));

    const enc = readProfile(dir, 'encoder');
    const step = readProfile(dir, 'decoder_step');
    const encB1 = enc.slice(1, 1 + reps);
    const encBN = enc.slice(1 + reps, 2 + reps);
    const greedy = step.slice(2, 2 + reps * NEW_TOKENS);
    const last = greedy.filter((_, i) => i % NEW_TOKENS === NEW_TOKENS - 1);
    const beamLast = step.slice(2 + reps * NEW_TOKENS).slice(-1);

    const chain1 = median(rates.chain1);
    const chainB = median(rates.chainB);
    const stream = median(rates.stream);
    const gflop = (s: typeof shapes1) => s.chain.reduce((a, mm) => a + flops(mm), 0) + s.attentionFlops;
    const matmulFlops = (s: typeof shapes1) => s.chain.reduce((a, mm) => a + flops(mm), 0);
    const tokens = encoderTokens(spec);
    const bytes16 = stepBytes(model, tokens, NEW_TOKENS - 1);
    const bytes16b4 = stepBytes(model, tokens, NEW_TOKENS - 1, 4);
    const out: string[] = [];
    out.push(`${name} (${spec.about}): ONNX Runtime profile, median of ${reps} runs; rates measured in this process: chain b1 ${(chain1 / 1e9).toFixed(0)} GFLOP/s, chain b${BIG} ${(chainB / 1e9).toFixed(0)} GFLOP/s, stream ${(stream / 1e9).toFixed(1)} GB/s`);
    out.push('');
    for (const [title, runs, s, r] of [
      ['encoder, 1 image', encB1, shapes1, chain1],
      [`encoder, ${BIG} images`, encBN, shapesB, chainB],
    ] as const) {
      out.push(...opTable(title, runs, (gflop(s) / r) * 1e6, `${(gflop(s) / 1e9).toFixed(1)} GFLOP at the chain rate`));
      const mmUs = median(runs.map((x) => x.kernels.filter((k) => k.op === 'MatMul' || k.op === 'Gemm' || k.op === 'FusedMatMul').reduce((a, k) => a + k.us, 0)));
      out.push(`  MatMul kernels: ${ms(mmUs)} for ${(matmulFlops(s) / 1e9).toFixed(1)} GFLOP = ${(matmulFlops(s) / mmUs / 1e3).toFixed(0)} GFLOP/s (${(mmUs / ((matmulFlops(s) / r) * 1e6)).toFixed(2)}x the chain rate)`);
      out.push('');
    }
    out.push(...opTable(`decode step ${NEW_TOKENS}, 1 row`, last, (bytes16 / stream) * 1e6, `${(bytes16 / 1e6).toFixed(0)} MB at the stream rate`));
    out.push(...weightTable(last, stream / 1e9));
    out.push('');
    if (beamLast.length) {
      out.push(...opTable(`beam-4 step ${NEW_TOKENS}, 4 rows`, beamLast, (bytes16b4 / stream) * 1e6, `${(bytes16b4 / 1e6).toFixed(0)} MB at the stream rate`));
      out.push(...weightTable(beamLast, stream / 1e9));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
