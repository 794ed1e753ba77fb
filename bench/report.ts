// The benchmark's result records and the table a person reads: every time beside its bound
// (x bound = time / bound time; 1.00 would be the machine's limit) and beside PyTorch's on the
// same shapes in the same rounds, then issues 7's and 15's targets.

import { cpus } from 'node:os';
import type { Mm } from './models.js';
import type { TorchInfo } from './torch.js';

export interface ModelResult {
  name: string;
  about: string;
  rounds: number;
  /** The larger encoder batch (8; 2 with --quick). */
  batch: number;
  encoder_params: number;
  decoder_params: number;
  build_s: number;
  /** 1-minute load average, median over rounds. */
  load: number;
  encoder_gflop: { b1: number; bN: number };
  step_bytes: { step1: number; step16: number };
  /**
   * stream_gbs: one row through one [768, 50257] matrix (the machine's streaming rate, issue 15);
   * step_stream_gbs: one row through the decode step's own matrices (the bound before issue 15).
   */
  bounds: { plain_gflops: number; chain1_gflops: number; chainN_gflops: number | null; stream_gbs: number; step_stream_gbs: number; copy_gbs: number; plain_shape: Mm };
  encoder_s: { b1: number; bN: number };
  step_s: { step1: number; step16: number };
  greedy_s: number;
  beam4_s: number;
  /**
   * Medians of ratios of two timings taken side by side (the pair's order alternating), sturdier
   * than a ratio of two medians on a machine whose speed drifts within minutes.
   */
  paired: { beam4_per_greedy: number; int8_step16_speedup: number };
  train_samples_per_s: number | null;
  train_batch: number | null;
  /** A training step's FLOPs (3x the forward's: trainForwardFlops), at train_batch. */
  train_gflop: number | null;
  transformers_js_greedy_s: number | null;
  /** The same weights with model.dtype = 'int8' (int8 weight matrices, dynamically quantized activations). */
  int8: { encoder_b1_s: number; step1_s: number; step16_s: number; greedy_s: number };
  peak_rss_mb: number;
  /** PyTorch eager on the same shapes (bench/torch_peer.py), medians of the same rounds; null when not run. */
  torch: (TorchInfo & Pick<ModelResult, 'encoder_s' | 'step_s' | 'greedy_s' | 'beam4_s' | 'train_samples_per_s'>) | null;
  /** Why this model has no PyTorch figures (its architecture is not in torch_peer.py, or the peer failed). */
  torch_note: string | null;
}

export interface Report {
  started: { load: number[]; at: string };
  finished: { load: number[]; at: string };
  quick: boolean;
  threads: string;
  node_flags: string[];
  /** Whether and how the PyTorch peer ran (or how to install it). */
  torch: string;
  results: ModelResult[];
}

/** Bound times from the rates measured beside the figures. */
export function boundsOf(r: ModelResult) {
  const chainN = r.bounds.chainN_gflops ?? r.bounds.chain1_gflops;
  const enc1 = r.encoder_gflop.b1 / r.bounds.chain1_gflops;
  const step1 = r.step_bytes.step1 / 1e9 / r.bounds.stream_gbs;
  const step16 = r.step_bytes.step16 / 1e9 / r.bounds.stream_gbs;
  // A greedy caption: the encoder once, then 16 steps at growing past (the mean of the first and last step's bytes).
  const greedy = enc1 + 16 * ((step1 + step16) / 2);
  // The bounds before issue 15: the same bytes over the rate of one row through the step's own matrices.
  const old = { step1: r.step_bytes.step1 / 1e9 / r.bounds.step_stream_gbs, step16: r.step_bytes.step16 / 1e9 / r.bounds.step_stream_gbs };
  const oldGreedy = enc1 + 16 * ((old.step1 + old.step16) / 2);
  // A training step's FLOPs at the chain rate of the larger encoder batch (the GEMM shapes it runs).
  const train = r.train_gflop === null ? null : r.train_gflop / chainN;
  return { enc1, encN: r.encoder_gflop.bN / chainN, train, step1, step16, greedy, step16Copy: r.step_bytes.step16 / 1e9 / r.bounds.copy_gbs, old: { ...old, greedy: oldGreedy } };
}

/** A training step's FLOP rate as a share of the chain rate (1 would be the machine's GEMM limit). */
function trainShare(r: ModelResult): number | null {
  const b = boundsOf(r);
  if (b.train === null || r.train_samples_per_s === null || r.train_batch === null) return null;
  return b.train / (r.train_batch / r.train_samples_per_s);
}

const ms = (s: number) => (s < 0.01 ? `${(s * 1000).toFixed(1)} ms` : s < 10 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(1)} s`);
const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const pad = (cells: string[][]) => {
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
};

export function printReport(rep: Report): void {
  const out: string[] = [];
  out.push(`vision-encoder-decoder benchmark${rep.quick ? ' (--quick)' : ''}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ORT threads: ${rep.threads}, node ${rep.node_flags.join(' ')}`);
  out.push(rep.torch);
  out.push(`load average at start ${rep.started.load.map((l) => l.toFixed(2)).join(' ')}, at end ${rep.finished.load.map((l) => l.toFixed(2)).join(' ')}: other processes share these cores, so absolute times vary; the ratios to bounds measured in the same rounds are the robust figures.`);
  out.push('');
  out.push('Bounds (median of rounds, same process as the model):');
  out.push(
    pad([
      ['model', 'MatMul (shape)', 'GFLOP/s', 'chain b1', `chain bN`, 'stream GB/s', 'step matrices GB/s', 'copy GB/s', 'load'],
      ...rep.results.map((r) => [
        r.name,
        `${r.bounds.plain_shape.m}x${r.bounds.plain_shape.k}x${r.bounds.plain_shape.n}`,
        r.bounds.plain_gflops.toFixed(0),
        r.bounds.chain1_gflops.toFixed(0),
        r.bounds.chainN_gflops === null ? '-' : r.bounds.chainN_gflops.toFixed(0),
        r.bounds.stream_gbs.toFixed(1),
        r.bounds.step_stream_gbs.toFixed(1),
        r.bounds.copy_gbs.toFixed(1),
        r.load.toFixed(2),
      ]),
    ]),
  );
  out.push('(stream: one row through a [768, 50257] matrix, the bound since issue 15; step matrices: one row through the decode step\'s own matrices, the bound before it)');
  out.push('');
  out.push('Times (x bound: encoder vs encoder GFLOP / chain rate of its own shapes; decode step vs bytes read / stream rate; greedy vs encoder + 16 steps; beam-4 /greedy: median of side-by-side ratios; train % chain: FLOPs of a step (3x the forward) per second over the chain rate of batch N):');
  out.push(
    pad([
      ['model', 'params enc+dec', 'encoder b1', 'x', 'encoder bN', 'x', 'step 1', 'x', 'step 16', 'x', 'greedy 16', 'x', 'beam-4 16', '/greedy', 'train', '% chain', 'peak RSS'],
      ...rep.results.map((r) => {
        const b = boundsOf(r);
        const share = trainShare(r);
        return [
          r.name,
          `${(r.encoder_params / 1e6).toFixed(0)}+${(r.decoder_params / 1e6).toFixed(0)} M`,
          ms(r.encoder_s.b1),
          x(r.encoder_s.b1, b.enc1),
          `${ms(r.encoder_s.bN)} (${r.batch})`,
          x(r.encoder_s.bN, b.encN),
          ms(r.step_s.step1),
          x(r.step_s.step1, b.step1),
          ms(r.step_s.step16),
          x(r.step_s.step16, b.step16),
          ms(r.greedy_s),
          x(r.greedy_s, b.greedy),
          ms(r.beam4_s),
          `${r.paired.beam4_per_greedy.toFixed(2)}x`,
          r.train_samples_per_s === null ? '-' : `${r.train_samples_per_s.toFixed(2)}/s (b${r.train_batch})`,
          share === null ? '-' : `${(100 * share).toFixed(0)}%`,
          `${r.peak_rss_mb.toFixed(0)} MB`,
        ];
      }),
    ]),
  );
  out.push('');
  out.push('Decode-step bound, old (bytes / step-matrices rate) and new (bytes / stream rate), same rounds:');
  out.push(
    pad([
      ['model', 'step 16', 'old bound', 'x old', 'new bound', 'x new', 'greedy 16', 'old bound', 'x old', 'new bound', 'x new'],
      ...rep.results.map((r) => {
        const b = boundsOf(r);
        return [r.name, ms(r.step_s.step16), ms(b.old.step16), x(r.step_s.step16, b.old.step16), ms(b.step16), x(r.step_s.step16, b.step16), ms(r.greedy_s), ms(b.old.greedy), x(r.greedy_s, b.old.greedy), ms(b.greedy), x(r.greedy_s, b.greedy)];
      }),
    ]),
  );
  out.push('');
  const pt = rep.results.find((r) => r.torch)?.torch;
  if (!pt) out.push(`PyTorch eager on the same shapes: not measured in this run (${rep.torch})`);
  else out.push(`PyTorch eager on the same shapes and random weights (bench/torch_peer.py${pt ? `: torch ${pt.torch}, ${pt.threads} threads, BLAS ${pt.blas}` : ''}), same rounds; x = PyTorch time / ours (above 1: ours faster):`);
  const withTorch = rep.results.filter((r) => r.torch);
  if (withTorch.length)
    out.push(
      pad([
        ['model', 'encoder b1', 'PyTorch', 'x', 'encoder bN', 'PyTorch', 'x', 'step 16', 'PyTorch', 'x', 'greedy 16', 'PyTorch', 'x', 'beam-4 16', 'PyTorch', 'x', 'train', 'PyTorch', 'x'],
        ...withTorch.map((r) => {
          const t = r.torch!;
          const train = r.train_samples_per_s !== null && t.train_samples_per_s !== null;
          return [
            r.name,
            ms(r.encoder_s.b1), ms(t.encoder_s.b1), x(t.encoder_s.b1, r.encoder_s.b1),
            `${ms(r.encoder_s.bN)} (${r.batch})`, ms(t.encoder_s.bN), x(t.encoder_s.bN, r.encoder_s.bN),
            ms(r.step_s.step16), ms(t.step_s.step16), x(t.step_s.step16, r.step_s.step16),
            ms(r.greedy_s), ms(t.greedy_s), x(t.greedy_s, r.greedy_s),
            ms(r.beam4_s), ms(t.beam4_s), x(t.beam4_s, r.beam4_s),
            train ? `${r.train_samples_per_s!.toFixed(2)}/s (b${r.train_batch})` : '-',
            train ? `${t.train_samples_per_s!.toFixed(2)}/s` : '-',
            train ? x(r.train_samples_per_s!, t.train_samples_per_s!) : '-',
          ];
        }),
      ]),
    );
  for (const r of rep.results) if (r.torch_note) out.push(`${r.name}: ${r.torch_note}`);
  out.push('');
  out.push("int8 (model.dtype = 'int8'; speed-up = float32 time / int8 time, same rounds, step 16's the median of side-by-side ratios; x bound = against the float32 bounds above):");
  out.push(
    pad([
      ['model', 'encoder b1', 'speed-up', 'step 1', 'speed-up', 'step 16', 'speed-up', 'x f32 bound', 'greedy 16', 'speed-up'],
      ...rep.results.map((r) => {
        const b = boundsOf(r);
        const q = r.int8;
        return [
          r.name,
          ms(q.encoder_b1_s),
          x(r.encoder_s.b1, q.encoder_b1_s),
          ms(q.step1_s),
          x(r.step_s.step1, q.step1_s),
          ms(q.step16_s),
          `${r.paired.int8_step16_speedup.toFixed(2)}x`,
          x(q.step16_s, b.step16),
          ms(q.greedy_s),
          x(r.greedy_s, q.greedy_s),
        ];
      }),
    ]),
  );
  out.push('');
  out.push('Bound times: ' + rep.results.map((r) => {
    const b = boundsOf(r);
    return `${r.name} encoder ${ms(b.enc1)} (${r.encoder_gflop.b1.toFixed(1)} GFLOP), step ${ms(b.step16)} (${(r.step_bytes.step16 / 1e6).toFixed(0)} MB; copy bound ${ms(b.step16Copy)}), greedy ${ms(b.greedy)}`;
  }).join('; '));

  const vg = rep.results.find((r) => r.name === 'vit-gpt2');
  if (vg) {
    const b = boundsOf(vg);
    const rows: string[][] = [['target (issues 7 and 15)', 'reached', 'target', 'met']];
    const row = (what: string, value: number, target: number, fmt: (v: number) => string, lower = true) =>
      rows.push([what, fmt(value), `${lower ? '<=' : '>='} ${fmt(target)}`, (lower ? value <= target : value >= target) ? 'yes' : 'NO']);
    const r2 = (v: number) => `${v.toFixed(2)}x`;
    const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
    row('ViT-GPT2 encoder / bound, 1 image', vg.encoder_s.b1 / b.enc1, 1.1, r2);
    row(`ViT-GPT2 encoder / bound, ${vg.batch} images`, vg.encoder_s.bN / b.encN, 1.1, r2);
    for (const r of rep.results.filter((r) => r.name === 'vit-gpt2' || r.name === 'trocr-base'))
      row(`${r.name} decode step 16 / stream bound`, r.step_s.step16 / boundsOf(r).step16, 1.25, r2);
    row('ViT-GPT2 greedy 16 tokens / bound', vg.greedy_s / b.greedy, 1.25, r2);
    if (vg.torch) {
      row(`PyTorch greedy (${ms(vg.torch.greedy_s)}, this run) / ours`, vg.torch.greedy_s / vg.greedy_s, 2, r2, false);
      row(`PyTorch beam-4 (${ms(vg.torch.beam4_s)}, this run) / ours`, vg.torch.beam4_s / vg.beam4_s, 2, r2, false);
    }
    row('beam-4 / greedy (side by side)', vg.paired.beam4_per_greedy, 1.2, r2);
    if (vg.transformers_js_greedy_s !== null) row('transformers.js greedy / ours', vg.transformers_js_greedy_s / vg.greedy_s, 1, r2, false);
    row('int8 decode step 16 speed-up (side by side)', vg.paired.int8_step16_speedup, 2.5, r2, false);
    const share = trainShare(vg);
    if (share !== null) row(`ViT-GPT2 training step, batch ${vg.train_batch}: FLOP rate / chain rate`, share, 0.4, pct, false);
    out.push('');
    out.push(`ViT-B/16 + GPT-2, greedy 16 tokens: ours ${ms(vg.greedy_s)}, bound ${ms(b.greedy)} (${x(vg.greedy_s, b.greedy)}), transformers.js on the same exported weights ${vg.transformers_js_greedy_s === null ? 'not installed' : ms(vg.transformers_js_greedy_s)}, PyTorch eager on the same shapes ${vg.torch ? ms(vg.torch.greedy_s) : 'not run'}`);
    out.push(pad(rows));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
