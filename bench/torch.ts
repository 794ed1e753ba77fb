// The PyTorch peer: bench/torch_peer.py in a child Python process, driven round by round from the
// model's own bench process so that both are measured in the same rounds (while one measures, the
// other waits on a pipe). Python with torch is looked for once by the parent; without it the bench
// runs on and says how to install it.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../src/env/package.js';
import type { ModelSpec } from './models.js';

/** The one-line install, as the README's benchmark section gives it. */
export const TORCH_INSTALL = 'apt-get install -y python3-torch libopenblas0-openmp';

/** Debian's OpenMP build of OpenBLAS (libopenblas0-openmp); torch's own threads are OpenMP too. */
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/** Seconds of one peer round (train: one step at the bench's training batch). */
export interface TorchRound {
  enc1: number;
  encB: number;
  step1: number;
  step16: number;
  greedy: number;
  beam4: number;
  train?: number;
}

export interface TorchInfo {
  torch: string;
  threads: number;
  params: number;
  blas: string;
}

export interface TorchPeer {
  info: TorchInfo;
  round(): Promise<TorchRound>;
  close(): Promise<void>;
}

/** A python interpreter that imports torch: $VED_BENCH_PYTHON, else python3, else /usr/bin/python3 (pyenv shims hide Debian's). */
export function findTorchPython(): string | null {
  const env = process.env.VED_BENCH_PYTHON;
  const candidates = env ? [env] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', env: torchEnv() });
    if (r.status === 0) return py;
  }
  return null;
}

/** Why this model has no PyTorch peer, or null when it has one (torch_peer.py writes ViT + GPT-2 / TrOCR). */
export function peerUnsupported(spec: ModelSpec): string | null {
  if (spec.encoder.model_type !== 'vit') return `no PyTorch peer for a ${String(spec.encoder.model_type)} encoder (bench/torch_peer.py writes ViT)`;
  if (spec.decoder.model_type !== 'gpt2' && spec.decoder.model_type !== 'trocr') return `no PyTorch peer for a ${String(spec.decoder.model_type)} decoder (bench/torch_peer.py writes GPT-2 and TrOCR)`;
  return null;
}

function torchEnv(): NodeJS.ProcessEnv {
  const threads = String(cpus().length);
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads };
  if (existsSync(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/**
 * Start the peer on `spec`'s shapes (random weights), warm it up, and hand back a handle whose
 * round() runs one round of its measurements. Rejects when the script fails.
 */
export async function startTorchPeer(
  python: string,
  spec: ModelSpec,
  opts: { batch: number; newTokens: number; trainBatch: number | null; decoderStart: number },
): Promise<TorchPeer> {
  const child = spawn(python, [join(packageRoot(), 'bench', 'torch_peer.py')], { stdio: ['pipe', 'pipe', 'inherit'], env: torchEnv() });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((l: string | null) => void)[] = [];
  const queued: string[] = [];
  let ended = false;
  lines.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queued.push(l)));
  const end = () => {
    ended = true;
    while (waiting.length) waiting.shift()!(null);
  };
  lines.on('close', end);
  child.on('error', end);
  const next = async (): Promise<unknown> => {
    const l = queued.length ? queued.shift()! : ended ? null : await new Promise<string | null>((r) => waiting.push(r));
    if (l === null) throw new Error(`bench: the PyTorch peer (${python} bench/torch_peer.py) ended early (exit code ${child.exitCode})`);
    return JSON.parse(l);
  };
  child.stdin.write(
    `${JSON.stringify({
      encoder: spec.encoder,
      decoder: spec.decoder,
      batch: opts.batch,
      new_tokens: opts.newTokens,
      train_batch: opts.trainBatch,
      threads: cpus().length,
      decoder_start_token_id: opts.decoderStart,
    })}\n`,
  );
  const ready = (await next()) as TorchInfo & { ready: boolean };
  return {
    info: { torch: ready.torch, threads: ready.threads, params: ready.params, blas: ready.blas },
    round: async () => {
      child.stdin.write('round\n');
      return (await next()) as TorchRound;
    },
    close: async () => {
      if (child.exitCode !== null || ended) return;
      const done = new Promise<void>((r) => child.once('close', () => r()));
      child.stdin.end('quit\n');
      await done;
    },
  };
}
