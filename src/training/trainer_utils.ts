// What the Trainer uses beside its loop, as transformers' trainer_utils.py: seeds derived per
// epoch and step, label encoding, finding checkpoints, and the progress line.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedTokenizer } from '../processing/tokenizers.js';
import { Tensor } from '../runtime/tensor.js';

/** A 32-bit seed from a seed and some integers (splitmix-style mixing; distinct tuples → unrelated seeds). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 2 ** 32) >>> 0;
    for (const x of [lo, hi]) {
      h = (h ^ x) >>> 0;
      h = (h + 0x9e3779b9) | 0;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h = (h ^ (h >>> 16)) >>> 0;
    }
  }
  return h >>> 0;
}

export const SHUFFLE_TAG = 1;
export const DROPOUT_TAG = 2;

/**
 * Labels for texts: each text's token ids as the tokenizer makes them (special tokens
 * included), cut to max_target_length, right-padded with -100 to the longest row. With
 * `eos_token_id`, a row that does not end with it gets it appended (within max_target_length).
 */
export function encodeLabels(
  tokenizer: PreTrainedTokenizer,
  texts: readonly string[],
  max_target_length: number,
  vocab_size?: number,
  eos_token_id?: number | null,
): { labels: Tensor; num_tokens: number } {
  const rows = texts.map((t) => {
    const enc = tokenizer.call([t], { truncation: true, max_length: max_target_length, return_tensors: 'int64' });
    const row = Array.from(enc.input_ids.data as BigInt64Array);
    if (eos_token_id !== undefined && eos_token_id !== null && row[row.length - 1] !== BigInt(eos_token_id)) {
      if (row.length >= max_target_length) row.length = max_target_length - 1;
      row.push(BigInt(eos_token_id));
    }
    return row;
  });
  const width = Math.max(1, ...rows.map((r) => r.length));
  const data = new BigInt64Array(rows.length * width).fill(-100n);
  let num_tokens = 0;
  rows.forEach((r, b) => {
    r.forEach((id, j) => {
      if (vocab_size !== undefined && (id < 0n || id >= BigInt(vocab_size))) {
        throw new Error(`label token id ${id} of ${JSON.stringify(texts[b])} is outside the decoder's vocabulary (vocab_size ${vocab_size}): the tokenizer does not match the model`);
      }
      data[b * width + j] = id;
    });
    num_tokens += r.length;
  });
  return { labels: new Tensor('int64', data, [rows.length, width]), num_tokens };
}

/** checkpoint-<step> folders of a directory with a trainer_state.json, oldest first. */
export function listCheckpoints(dir: string): Array<{ step: number; path: string }> {
  if (!existsSync(dir)) return [];
  const out: Array<{ step: number; path: string }> = [];
  for (const name of readdirSync(dir)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory() && existsSync(join(path, 'trainer_state.json'))) out.push({ step: Number(m[1]), path });
  }
  return out.sort((x, y) => x.step - y.step);
}

/** The newest checkpoint in a directory (null when none). */
export function getLastCheckpoint(dir: string): string | null {
  const all = listCheckpoints(dir);
  return all.length ? all[all.length - 1]!.path : null;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(2) : x.toFixed(digits);
}

/** Where progress goes: process.stderr, or anything with write (isTTY/columns when it is a terminal). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Progress on stderr: a one-line bar redrawn in place on a TTY, plain lines at logging steps otherwise. */
export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly enabled: boolean,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
  }

  update(info: { step: number; total: number; loss: number; lr: number; samples_per_second: number; eta: number }, isLogStep: boolean): void {
    if (!this.enabled) return;
    const text = `step ${info.step}/${info.total} | loss ${fmt(info.loss)} | lr ${info.lr.toExponential(2)} | ${info.samples_per_second.toFixed(2)} samples/s | ETA ${formatDuration(info.eta)}`;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && info.step !== info.total) return;
      this.lastDraw = now;
      const cols = this.stream.columns || 120; // 0 or unknown on some pseudo-terminals
      const width = Math.max(10, Math.min(30, cols - text.length - 4));
      const filled = Math.round((width * info.step) / Math.max(1, info.total));
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `;
      const line = (bar + text).slice(0, Math.max(20, cols - 1));
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (isLogStep) {
      this.stream.write(text + '\n');
    }
  }

  message(line: string): void {
    if (!this.enabled) return;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(line + '\n');
    this.drawn = false;
  }

  end(): void {
    if (this.enabled && this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
