// The contract between the generation algorithms (greedy, sampling, beam search) and a model.
// The algorithms never see a model: they drive a DecoderSession, one token per row and step.

import type { Tensor } from '../runtime/tensor.js';

/** One batch of encoded images, ready to decode. Rows = images × expansion (beams / return sequences). */
export interface DecoderSession {
  readonly vocab_size: number;
  /**
   * Repeat every row n times consecutively (row i → rows i*n..i*n+n-1), as Python's expand for
   * beams/num_return_sequences. Called before the first step (and not at all when n is 1).
   */
  expand(n: number): void;
  /**
   * Feed the newest token of every row (ids: [rows]) and get next-token logits, float32
   * [rows, vocab] row-major. `cur_len` is the length of every row's sequence including the new
   * token, so the new token sits at position cur_len - 1. The session keeps its own KV cache.
   */
  step(new_tokens: BigInt64Array, cur_len: number): Promise<Float32Array>;
  /**
   * Optional: `step` that also returns log_softmax of the logits over the vocabulary, for beam
   * search. A session that runs the model natively computes it there, where it is far cheaper
   * than in JavaScript; without this method the search computes it itself.
   */
  stepLogProbs?(new_tokens: BigInt64Array, cur_len: number): Promise<{ logits: Float32Array; log_probs: Float32Array }>;
  /** Keep rows in this order (beam search): row r of the next step continues old row beam_idx[r]. */
  reorder(beam_idx: Int32Array): void;
  /**
   * Optional: `reorder` that also drops whole images, for generation to stop computing rows whose
   * result is final. Row r of the next step continues old row beam_idx[r]; `images` lists the old
   * images kept, in their new order (image i's rows are i * n .. i * n + n - 1, n its rows per
   * image), and beam_idx only takes rows of those images, each image's rows together, in that order.
   */
  select?(beam_idx: Int32Array, images: Int32Array): void;
  /** Free resources. */
  dispose?(): void;
}

/**
 * Receives tokens as they are generated, like Python's BaseStreamer. `put` is called once with the
 * start token of every row (Python puts the prompt first), then once per step with the new token
 * of every row (finished rows get pad_token_id); `end` once generation is over.
 */
export interface BaseStreamer {
  put(tokens: bigint[]): void;
  end(): void;
  /** Called instead of `end` when generation throws (an extension: Python has no such hook). */
  error?(reason: unknown): void;
}

/** A streamer given as a bare callback: called with each `put`'s tokens. */
export type StreamerCallback = (tokens: bigint[]) => void;

/**
 * What `generate` returns: Python's GenerateEncoderDecoderOutput / GenerateBeamEncoderDecoderOutput
 * fields that make sense without a model. The optional fields are set exactly when Python sets
 * them: `return_dict_in_generate` plus `output_scores` / `output_logits`.
 */
export interface GenerateOutput {
  /** int64 [batch_size * num_return_sequences, L]: rows start with decoder_start_token_id. */
  sequences: Tensor;
  /**
   * Per step, float32 [rows, vocab]: the processed scores (greedy/sampling: processed logits; beam
   * search: processed log-probabilities before the running beam scores are added).
   */
  scores?: Tensor[];
  /** Per step, float32 [rows, vocab]: the raw logits. */
  logits?: Tensor[];
  /** Beam search: float32 [batch_size * num_return_sequences], the length-penalised final scores. */
  sequences_scores?: Tensor;
  /** Beam search: int64 [batch_size * num_return_sequences, generated length], -1 past the end. */
  beam_indices?: Tensor;
}
