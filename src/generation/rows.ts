// Rows of ids that generate() returns, read the way every caller needs: where a row ends, and
// whether it ran out of length before ending.

import type { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';

/** Every end-of-sequence id generation stops at (generation config, else model config, else decoder config). */
export function eosIds(model: VisionEncoderDecoderModel): number[] {
  const v = model.generation_config.eos_token_id ?? model.config.eos_token_id ?? model.config.decoder.eos_token_id;
  if (v === null || v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is number => typeof x === 'number');
}

/** Generation ran out of length: the row has no end-of-sequence token after the start (so its text may be cut). */
export function hitLengthLimit(row: readonly number[], eos: readonly number[]): boolean {
  return eos.length > 0 && !row.slice(1).some((t) => eos.includes(t));
}

/** A generated row up to and including its first end-of-sequence token after the start token. */
export function trimRow(row: readonly number[], eos: readonly number[]): number[] {
  for (let i = 1; i < row.length; i++) if (eos.includes(row[i]!)) return row.slice(0, i + 1);
  return [...row];
}
