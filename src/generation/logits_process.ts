// Logits processors and warpers, after transformers' generation/logits_process.py (5.x).
//
// A processor gets the token ids of every row so far (`input_ids`, one array per row, all of the
// same length) and that step's scores, a float32 [rows, vocab] row-major matrix, which it changes
// in place and returns. Arithmetic is float32 as in PyTorch: a Python float meeting a float32
// tensor is first rounded to float32, and every result is stored as float32 (Float32Array does
// the rounding). `buildLogitsProcessor` assembles the list in the exact order Python does.

import { argsortAscending, cumsum, f32, FLOAT32_MAX, logSoftmaxRows, softmax, topkIndices } from './ops.js';

/** Token ids of every row so far: input_ids[row][position]. */
export type InputIds = readonly ArrayLike<number>[];

export abstract class LogitsProcessor {
  /**
   * True when the processor treats each row alone: a row's result depends only on that row's ids
   * and scores, not on its place in the batch or on the other rows. generate() may then leave out
   * rows whose result is final (finished greedy rows, beam search items that can no longer
   * improve). Every processor built here is; one passed in `logits_processor` must say so.
   */
  declare readonly rowwise?: boolean;
  /** Processes `scores` ([input_ids.length, vocab]) in place and returns it. */
  abstract process(input_ids: InputIds, scores: Float32Array): Float32Array;
}

/** The processors of one generate call, applied in order (Python's LogitsProcessorList). */
export class LogitsProcessorList extends Array<LogitsProcessor> {
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    for (const p of this) scores = p.process(input_ids, scores);
    return scores;
  }
}

// ---------------------------------------------------------------------------------------------
// Argument checks (messages follow Python's so users can search for them)

function isNonNegativeInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function tokenList(name: string, value: number | readonly number[]): number[] {
  const list = typeof value === 'number' ? [value] : [...value];
  for (const t of list) {
    if (!isNonNegativeInt(t)) throw new Error(`\`${name}\` has to be a list of positive integers, but is ${JSON.stringify(value)}`);
  }
  return list;
}

function shape(input_ids: InputIds, scores: Float32Array): { rows: number; vocab: number; cur_len: number } {
  const rows = input_ids.length;
  const vocab = rows > 0 ? scores.length / rows : 0;
  if (!Number.isInteger(vocab)) {
    throw new Error(`logits processor: scores has ${scores.length} values, not a multiple of the ${rows} rows of input_ids`);
  }
  return { rows, vocab, cur_len: rows > 0 ? input_ids[0]!.length : 0 };
}

/** Sets `value` at `tokens` in every row, skipping ids outside the vocabulary (like torch.isin). */
function fillTokens(scores: Float32Array, rows: number, vocab: number, tokens: readonly number[], value: number): void {
  for (let r = 0; r < rows; r++) {
    for (const t of tokens) if (t < vocab) scores[r * vocab + t] = value;
  }
}

// ---------------------------------------------------------------------------------------------
// Processors (applied for every decoding strategy)

/** Sets the EOS scores to -inf while the sequence (prompt included) is shorter than min_length. */
export class MinLengthLogitsProcessor extends LogitsProcessor {
  readonly eos_token_id: number[];
  constructor(
    readonly min_length: number,
    eos_token_id: number | readonly number[],
  ) {
    super();
    if (!isNonNegativeInt(min_length)) throw new Error(`\`min_length\` has to be a non-negative integer, but is ${min_length}`);
    this.eos_token_id = tokenList('eos_token_id', eos_token_id);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len < this.min_length) fillTokens(scores, rows, vocab, this.eos_token_id, -Infinity);
    return scores;
  }
}

/** Sets the EOS scores to -inf until min_new_tokens tokens follow the prompt. */
export class MinNewTokensLengthLogitsProcessor extends LogitsProcessor {
  readonly eos_token_id: number[];
  constructor(
    readonly prompt_length_to_skip: number,
    readonly min_new_tokens: number,
    eos_token_id: number | readonly number[],
  ) {
    super();
    for (const [name, v] of [
      ['prompt_length_to_skip', prompt_length_to_skip],
      ['min_new_tokens', min_new_tokens],
    ] as const) {
      if (!isNonNegativeInt(v)) throw new Error(`\`${name}\` has to be a positive integer, but is ${v}`);
    }
    this.eos_token_id = tokenList('eos_token_id', eos_token_id);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len - this.prompt_length_to_skip < this.min_new_tokens) fillTokens(scores, rows, vocab, this.eos_token_id, -Infinity);
    return scores;
  }
}

/**
 * Penalises every token already in the row (the start token included), once per token:
 * score < 0 ? score * penalty : score / penalty.
 */
export class RepetitionPenaltyLogitsProcessor extends LogitsProcessor {
  private readonly p: number;
  constructor(readonly penalty: number) {
    super();
    if (typeof penalty !== 'number' || !(penalty > 0) || !Number.isFinite(penalty)) {
      throw new Error(`\`penalty\` has to be a strictly positive float, but is ${penalty}`);
    }
    this.p = f32(penalty);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab } = shape(input_ids, scores);
    for (let r = 0; r < rows; r++) {
      const row = input_ids[r]!;
      // Python gathers the original scores of all ids, then scatters the penalised ones: a token
      // present twice is penalised once, so work on the set of distinct ids.
      const seen = new Set<number>();
      for (let i = 0; i < row.length; i++) {
        const t = row[i]!;
        if (seen.has(t)) continue;
        seen.add(t);
        if (!(t >= 0 && t < vocab)) throw new Error(`repetition_penalty: token id ${t} is outside the vocabulary (size ${vocab})`);
        const s = scores[r * vocab + t]!;
        scores[r * vocab + t] = s < 0 ? s * this.p : s / this.p;
      }
    }
    return scores;
  }
}

/** Bans any token that would complete an n-gram already present in the row. */
export class NoRepeatNGramLogitsProcessor extends LogitsProcessor {
  constructor(readonly ngram_size: number) {
    super();
    if (!Number.isInteger(ngram_size) || ngram_size <= 0) {
      throw new Error(`\`ngram_size\` has to be a strictly positive integer, but is ${ngram_size}`);
    }
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    const n = this.ngram_size;
    if (cur_len < n) return scores; // no complete n-gram yet
    for (let r = 0; r < rows; r++) {
      const row = input_ids[r]!;
      // The next token completes the n-gram (row[cur_len-n+1..], next). Every earlier n-gram whose
      // first n-1 tokens equal that prefix bans its last token.
      const prefixStart = cur_len - n + 1;
      for (let start = 0; start + n <= cur_len; start++) {
        let match = true;
        for (let j = 0; j < n - 1 && match; j++) match = row[start + j] === row[prefixStart + j];
        const banned = row[start + n - 1]!;
        if (match && banned >= 0 && banned < vocab) scores[r * vocab + banned] = -Infinity;
      }
    }
    return scores;
  }
}

/**
 * Adds a bias to the last token of a sequence when the row ends with the rest of it (a sequence of
 * one token is always biased). Entries are [token ids, bias]; a repeated key keeps the last bias.
 */
export class SequenceBiasLogitsProcessor extends LogitsProcessor {
  protected readonly sequence_bias: Map<string, { ids: number[]; bias: number }>;
  private checkedVocab = -1;

  constructor(sequence_bias: readonly (readonly [readonly number[], number])[]) {
    super();
    if (!Array.isArray(sequence_bias) || sequence_bias.length === 0) {
      throw new Error(`\`sequence_bias\` has to be a non-empty dictionary, or non-empty list of lists but is ${JSON.stringify(sequence_bias)}.`);
    }
    this.sequence_bias = new Map();
    for (const entry of sequence_bias) {
      const ok =
        Array.isArray(entry) &&
        entry.length === 2 &&
        Array.isArray(entry[0]) &&
        entry[0].length > 0 &&
        entry[0].every(isNonNegativeInt) &&
        typeof entry[1] === 'number';
      if (!ok) {
        throw new Error(
          `Each element in \`sequence_bias\` has to be a non-empty list of lists of positive integers and float, but is ${JSON.stringify(sequence_bias)}.`,
        );
      }
      // Python holds the biases in a float32 tensor.
      this.sequence_bias.set(entry[0].join(','), { ids: [...entry[0]], bias: f32(entry[1]) });
    }
  }

  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (this.checkedVocab !== vocab) {
      const invalid = [...this.sequence_bias.values()].flatMap((e) => e.ids.filter((t) => t >= vocab));
      if (invalid.length > 0) {
        throw new Error(`The model vocabulary size is ${vocab}, but the following tokens were being biased: ${JSON.stringify(invalid)}`);
      }
      this.checkedVocab = vocab;
    }
    const bias = new Float32Array(vocab);
    // Python builds the bias in float32: single tokens first, then each matching longer sequence
    // adds to its last token; the scores then get `scores + bias`.
    const length1 = new Float32Array(vocab);
    for (const { ids, bias: b } of this.sequence_bias.values()) if (ids.length === 1) length1[ids[0]!] = b;
    for (let r = 0; r < rows; r++) {
      const row = input_ids[r]!;
      bias.set(length1);
      for (const { ids, bias: b } of this.sequence_bias.values()) {
        if (ids.length === 1 || ids.length > cur_len) continue;
        const prefixLength = ids.length - 1;
        let match = true;
        for (let j = 0; j < prefixLength && match; j++) match = row[cur_len - prefixLength + j] === ids[j];
        const last = ids[ids.length - 1]!;
        bias[last] = bias[last]! + (match ? b : 0);
      }
      for (let v = 0; v < vocab; v++) scores[r * vocab + v] = scores[r * vocab + v]! + bias[v]!;
    }
    return scores;
  }
}

/**
 * Forbids sequences of tokens: a sequence bias of -inf. Single-token sequences equal to an EOS id
 * are dropped first (Python keeps EOS reachable); if nothing is left, Python's "non-empty" error.
 */
export class NoBadWordsLogitsProcessor extends SequenceBiasLogitsProcessor {
  constructor(bad_words_ids: readonly (readonly number[])[], eos_token_id: number | readonly number[] | null = null) {
    if (!Array.isArray(bad_words_ids) || bad_words_ids.length === 0) {
      throw new Error(`\`bad_words_ids\` has to be a non-empty list, but is ${JSON.stringify(bad_words_ids)}.`);
    }
    if (bad_words_ids.some((w) => !Array.isArray(w))) {
      throw new Error(`\`bad_words_ids\` has to be a list of lists, but is ${JSON.stringify(bad_words_ids)}.`);
    }
    if (bad_words_ids.some((w) => w.some((t: unknown) => !isNonNegativeInt(t)))) {
      throw new Error(`Each list in \`bad_words_ids\` has to be a list of positive integers, but is ${JSON.stringify(bad_words_ids)}.`);
    }
    const eos = eos_token_id === null ? [] : tokenList('eos_token_id', eos_token_id);
    const kept = bad_words_ids.filter((w) => !eos.some((e) => w.length === 1 && w[0] === e));
    super(kept.map((w) => [w, -Infinity] as const));
  }
}

/** Forces the first generated token (when the row holds only the start token). */
export class ForcedBOSTokenLogitsProcessor extends LogitsProcessor {
  constructor(readonly bos_token_id: number) {
    super();
    if (!isNonNegativeInt(bos_token_id)) throw new Error(`\`forced_bos_token_id\` has to be a non-negative integer, but is ${bos_token_id}`);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len === 1) {
      if (this.bos_token_id >= vocab) throw new Error(`\`forced_bos_token_id\` ${this.bos_token_id} is outside the vocabulary (size ${vocab})`);
      scores.fill(-Infinity);
      fillTokens(scores, rows, vocab, [this.bos_token_id], 0);
    }
    return scores;
  }
}

/** Forces an EOS token as the last token when max_length is reached. */
export class ForcedEOSTokenLogitsProcessor extends LogitsProcessor {
  readonly eos_token_id: number[];
  constructor(
    readonly max_length: number,
    eos_token_id: number | readonly number[],
  ) {
    super();
    this.eos_token_id = tokenList('eos_token_id', eos_token_id);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len === this.max_length - 1) {
      const outside = this.eos_token_id.filter((e) => e >= vocab);
      if (outside.length > 0) throw new Error(`\`forced_eos_token_id\` ${JSON.stringify(outside)} is outside the vocabulary (size ${vocab})`);
      scores.fill(-Infinity);
      fillTokens(scores, rows, vocab, this.eos_token_id, 0);
    }
    return scores;
  }
}

/** Replaces NaN by 0 and ±inf by float32's largest finite values. */
export class InfNanRemoveLogitsProcessor extends LogitsProcessor {
  process(_input_ids: InputIds, scores: Float32Array): Float32Array {
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (Number.isNaN(s)) scores[i] = 0;
      else if (s === Infinity) scores[i] = FLOAT32_MAX;
      else if (s === -Infinity) scores[i] = -FLOAT32_MAX;
    }
    return scores;
  }
}

/** Raises the EOS scores exponentially once `start_index` tokens follow the prompt. */
export class ExponentialDecayLengthPenalty extends LogitsProcessor {
  readonly regulation_start: number;
  readonly regulation_factor: number;
  readonly eos_token_id: number[];
  constructor(exponential_decay_length_penalty: readonly [number, number], eos_token_id: number | readonly number[], input_ids_seq_length: number) {
    super();
    const [start, factor] = exponential_decay_length_penalty;
    if (!isNonNegativeInt(start) || typeof factor !== 'number') {
      throw new Error(
        `\`exponential_decay_length_penalty\` has to be a pair (start_index: integer, decay_factor: float), but is ${JSON.stringify(exponential_decay_length_penalty)}`,
      );
    }
    this.regulation_start = start + input_ids_seq_length;
    this.regulation_factor = factor;
    this.eos_token_id = tokenList('eos_token_id', eos_token_id);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len > this.regulation_start) {
      // The penalty uses |score| so that negative EOS logits move up too.
      const factor = f32(Math.pow(this.regulation_factor, cur_len - this.regulation_start) - 1);
      for (let r = 0; r < rows; r++) {
        const penalties = this.eos_token_id.filter((e) => e < vocab).map((e) => [e, f32(Math.abs(scores[r * vocab + e]!) * factor)] as const);
        for (const [e, p] of penalties) scores[r * vocab + e] = scores[r * vocab + e]! + p;
      }
    }
    return scores;
  }
}

/** Replaces the scores by their log_softmax (renormalize_logits; always last). */
export class LogitNormalization extends LogitsProcessor {
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { vocab } = shape(input_ids, scores);
    if (vocab > 0) logSoftmaxRows(scores, vocab);
    return scores;
  }
}

/** Sets the given tokens to -inf at the step where the row has `begin_index` tokens. */
export class SuppressTokensAtBeginLogitsProcessor extends LogitsProcessor {
  readonly begin_suppress_tokens: number[];
  constructor(
    begin_suppress_tokens: readonly number[],
    public begin_index: number,
  ) {
    super();
    this.begin_suppress_tokens = tokenList('begin_suppress_tokens', begin_suppress_tokens);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab, cur_len } = shape(input_ids, scores);
    if (cur_len === this.begin_index) fillTokens(scores, rows, vocab, this.begin_suppress_tokens, -Infinity);
    return scores;
  }
}

/** Sets the given tokens to -inf at every step. */
export class SuppressTokensLogitsProcessor extends LogitsProcessor {
  readonly suppress_tokens: number[];
  constructor(suppress_tokens: readonly number[]) {
    super();
    this.suppress_tokens = tokenList('suppress_tokens', suppress_tokens);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    const { rows, vocab } = shape(input_ids, scores);
    fillTokens(scores, rows, vocab, this.suppress_tokens, -Infinity);
    return scores;
  }
}

// ---------------------------------------------------------------------------------------------
// Warpers (only with do_sample)

function checkMinTokensToKeep(min_tokens_to_keep: number): void {
  if (!Number.isInteger(min_tokens_to_keep) || min_tokens_to_keep < 1) {
    throw new Error(`\`min_tokens_to_keep\` has to be a positive integer, but is ${min_tokens_to_keep}`);
  }
}

/** Applies `fn` to each row (a subarray view, changed in place). */
function eachRow(input_ids: InputIds, scores: Float32Array, fn: (row: Float32Array) => void): Float32Array {
  const { rows, vocab } = shape(input_ids, scores);
  for (let r = 0; r < rows; r++) fn(scores.subarray(r * vocab, (r + 1) * vocab));
  return scores;
}

/** The k-th largest value of a row (torch.topk(row, k).values[-1]); NaN counts as largest. */
function kthLargest(row: Float32Array, k: number): number {
  // Float32Array sorts numerically with NaN last, so the k-th largest sits at index n - k.
  const sorted = Float32Array.from(row).sort();
  return sorted[row.length - k]!;
}

/** Divides the scores by the temperature. */
export class TemperatureLogitsWarper extends LogitsProcessor {
  private readonly t: number;
  constructor(readonly temperature: number) {
    super();
    if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
      let msg = `\`temperature\` (=${temperature}) has to be a strictly positive float, otherwise your next token scores will be invalid.`;
      if (temperature === 0) msg += " If you're looking for greedy decoding strategies, set `do_sample=False`.";
      throw new Error(msg);
    }
    this.t = f32(temperature);
  }
  process(_input_ids: InputIds, scores: Float32Array): Float32Array {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / this.t;
    return scores;
  }
}

/**
 * Top-H: among the (at most 100) best tokens, keeps them in order of probability while their
 * cumulative entropy stays within top_h times the entropy of that distribution (at least one).
 */
export class TopHLogitsWarper extends LogitsProcessor {
  private readonly h: number;
  constructor(readonly top_h: number) {
    super();
    if (typeof top_h !== 'number' || !(top_h > 0 && top_h <= 1)) throw new Error('`top_h` must be in the range (0, 1].');
    this.h = f32(top_h);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const top = topkIndices(row, Math.min(100, row.length));
      const probs = softmax(top.map((i) => row[i]!));
      const terms = Array.from(probs, (p) => f32(-p * f32(Math.log(p))));
      // Categorical(logits).entropy() of the top tokens; 0 * log 0 counts as 0 there.
      let entropy = 0;
      for (const t of terms) if (!Number.isNaN(t)) entropy += t;
      const tau = f32(f32(entropy) * this.h);
      const cumulative = cumsum(terms);
      const keep = new Set(top.filter((_, j) => j === 0 || cumulative[j]! <= tau));
      for (let v = 0; v < row.length; v++) if (!keep.has(v)) row[v] = -Infinity;
    });
  }
}

/** Keeps the top_k highest scores of each row (all tokens tied with the k-th are kept). */
export class TopKLogitsWarper extends LogitsProcessor {
  readonly top_k: number;
  constructor(top_k: number, readonly min_tokens_to_keep = 1) {
    super();
    if (!Number.isInteger(top_k) || top_k <= 0) throw new Error(`\`top_k\` has to be a strictly positive integer, but is ${top_k}`);
    this.top_k = Math.max(top_k, min_tokens_to_keep);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const threshold = kthLargest(row, Math.min(this.top_k, row.length));
      for (let v = 0; v < row.length; v++) if (row[v]! < threshold) row[v] = -Infinity;
    });
  }
}

/** Keeps the smallest set of most probable tokens whose probabilities add up to top_p. */
export class TopPLogitsWarper extends LogitsProcessor {
  private readonly threshold: number;
  constructor(readonly top_p: number, readonly min_tokens_to_keep = 1) {
    super();
    if (typeof top_p !== 'number' || !(top_p >= 0 && top_p <= 1)) throw new Error(`\`top_p\` has to be a float > 0 and < 1, but is ${top_p}`);
    checkMinTokensToKeep(min_tokens_to_keep);
    this.threshold = f32(1 - top_p);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const order = argsortAscending(row);
      const cumulative = cumsum(softmax(order.map((i) => row[i]!)));
      // Tokens whose ascending cumulative mass stays within 1 - top_p go; the best
      // min_tokens_to_keep (at the end of the ascending order) always stay.
      const keepFrom = row.length - this.min_tokens_to_keep;
      for (let j = 0; j < keepFrom; j++) if (cumulative[j]! <= this.threshold) row[order[j]!] = -Infinity;
    });
  }
}

/** Removes tokens less probable than min_p times the probability of the most likely token. */
export class MinPLogitsWarper extends LogitsProcessor {
  private readonly p: number;
  constructor(readonly min_p: number, readonly min_tokens_to_keep = 1) {
    super();
    if (typeof min_p !== 'number' || !(min_p >= 0 && min_p <= 1)) throw new Error(`\`min_p\` has to be a float in the [0, 1] interval, but is ${min_p}`);
    checkMinTokensToKeep(min_tokens_to_keep);
    this.p = f32(min_p);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const probs = softmax(row);
      let top = -Infinity;
      for (const p of probs) if (p > top || Number.isNaN(p)) top = p;
      const scaled = f32(this.p * top);
      const keep = new Set(topkIndices(probs, Math.min(this.min_tokens_to_keep, row.length)));
      for (let v = 0; v < row.length; v++) if (probs[v]! < scaled && !keep.has(v)) row[v] = -Infinity;
    });
  }
}

/** Typical decoding: keeps the tokens whose surprisal is closest to the entropy, up to `mass`. */
export class TypicalLogitsWarper extends LogitsProcessor {
  private readonly mass32: number;
  constructor(readonly mass = 0.9, readonly min_tokens_to_keep = 1) {
    super();
    if (typeof mass !== 'number' || !(mass > 0 && mass < 1)) throw new Error(`\`typical_p\` has to be a float > 0 and < 1, but is ${mass}`);
    checkMinTokensToKeep(min_tokens_to_keep);
    this.mass32 = f32(mass);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const n = row.length;
      const normalized = Float32Array.from(row);
      logSoftmaxRows(normalized, n);
      // entropy = -nansum(logp * p), each product in float32
      let ent = 0;
      for (let v = 0; v < n; v++) {
        const term = f32(normalized[v]! * f32(Math.exp(normalized[v]!)));
        if (!Number.isNaN(term)) ent += term;
      }
      ent = f32(-f32(ent));
      const shifted = new Float32Array(n);
      for (let v = 0; v < n; v++) shifted[v] = Math.abs(f32(-normalized[v]! - ent));
      const order = argsortAscending(shifted);
      const cumulative = cumsum(softmax(order.map((i) => row[i]!)));
      let lastInd = 0;
      for (const c of cumulative) if (c < this.mass32) lastInd++;
      lastInd = Math.min(lastInd, n - 1);
      const cutoff = shifted[order[lastInd]!]!;
      for (let j = this.min_tokens_to_keep; j < n; j++) if (shifted[order[j]!]! > cutoff) row[order[j]!] = -Infinity;
    });
  }
}

/** Removes tokens with probability below epsilon (keeping the min_tokens_to_keep best). */
export class EpsilonLogitsWarper extends LogitsProcessor {
  private readonly eps: number;
  constructor(readonly epsilon: number, readonly min_tokens_to_keep = 1) {
    super();
    if (typeof epsilon !== 'number' || !(epsilon > 0 && epsilon < 1)) throw new Error(`\`epsilon_cutoff\` has to be a float > 0 and < 1, but is ${epsilon}`);
    checkMinTokensToKeep(min_tokens_to_keep);
    this.eps = f32(epsilon);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const probs = softmax(row);
      const threshold = kthLargest(row, Math.min(this.min_tokens_to_keep, row.length));
      for (let v = 0; v < row.length; v++) if (probs[v]! < this.eps && row[v]! < threshold) row[v] = -Infinity;
    });
  }
}

/** Eta sampling: an entropy-dependent probability cutoff min(eps, sqrt(eps) * exp(-entropy)). */
export class EtaLogitsWarper extends LogitsProcessor {
  private readonly eps: number;
  constructor(readonly epsilon: number, readonly min_tokens_to_keep = 1) {
    super();
    if (typeof epsilon !== 'number' || !(epsilon > 0 && epsilon < 1)) throw new Error(`\`eta_cutoff\` has to be a float > 0 and < 1, but is ${epsilon}`);
    checkMinTokensToKeep(min_tokens_to_keep);
    this.eps = f32(epsilon);
  }
  process(input_ids: InputIds, scores: Float32Array): Float32Array {
    return eachRow(input_ids, scores, (row) => {
      const n = row.length;
      const probs = softmax(row);
      // torch.distributions.Categorical(logits).entropy(): logits normalised, clamped to the
      // float32 minimum so that 0 * log 0 is 0, then -sum(p * logp).
      const logp = Float32Array.from(row);
      logSoftmaxRows(logp, n);
      let plogp = 0;
      for (let v = 0; v < n; v++) plogp += f32(Math.max(logp[v]!, -FLOAT32_MAX) * probs[v]!);
      const entropy = f32(-plogp);
      const eta = Math.min(this.eps, f32(f32(Math.sqrt(this.eps)) * f32(Math.exp(-entropy))));
      const threshold = kthLargest(row, Math.min(this.min_tokens_to_keep, n));
      for (let v = 0; v < n; v++) if (probs[v]! < eta && row[v]! < threshold) row[v] = -Infinity;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Assembly, in the order of Python's GenerationMixin._get_logits_processor

/** The generation options the processors depend on (GenerationConfig fields, HF names). */
export interface LogitsProcessorOptions {
  do_sample?: boolean | null;
  num_beams?: number | null;
  max_length?: number | null;
  min_length?: number | null;
  min_new_tokens?: number | null;
  repetition_penalty?: number | null;
  no_repeat_ngram_size?: number | null;
  bad_words_ids?: number[][] | null;
  sequence_bias?: [number[], number][] | null;
  forced_bos_token_id?: number | null;
  forced_eos_token_id?: number | number[] | null;
  remove_invalid_values?: boolean | null;
  exponential_decay_length_penalty?: [number, number] | null;
  suppress_tokens?: number[] | null;
  begin_suppress_tokens?: number[] | null;
  temperature?: number | null;
  top_h?: number | null;
  top_k?: number | null;
  top_p?: number | null;
  min_p?: number | null;
  typical_p?: number | null;
  epsilon_cutoff?: number | null;
  eta_cutoff?: number | null;
  renormalize_logits?: boolean | null;
}

/**
 * Builds the processors of one generate call. `eos_token_id` is the normalised EOS list (null when
 * there is none); `input_ids_seq_length` is the prompt length (1: the decoder start token).
 * Options that need encoder token ids (encoder_repetition_penalty, encoder_no_repeat_ngram_size)
 * are ignored for image inputs, as Python does with a warning.
 */
export function buildLogitsProcessor(
  config: LogitsProcessorOptions,
  eos_token_id: readonly number[] | null,
  input_ids_seq_length: number,
  custom: readonly LogitsProcessor[] = [],
): LogitsProcessorList {
  let processors = new LogitsProcessorList();
  const has = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

  if (has(config.sequence_bias)) processors.push(new SequenceBiasLogitsProcessor(config.sequence_bias));
  if (has(config.repetition_penalty) && config.repetition_penalty !== 1.0) {
    processors.push(new RepetitionPenaltyLogitsProcessor(config.repetition_penalty));
  }
  if (has(config.no_repeat_ngram_size) && config.no_repeat_ngram_size > 0) {
    processors.push(new NoRepeatNGramLogitsProcessor(config.no_repeat_ngram_size));
  }
  if (has(config.bad_words_ids)) processors.push(new NoBadWordsLogitsProcessor(config.bad_words_ids, eos_token_id));
  if (has(config.min_length) && eos_token_id !== null && config.min_length > 0) {
    processors.push(new MinLengthLogitsProcessor(config.min_length, eos_token_id));
  }
  if (has(config.min_new_tokens) && eos_token_id !== null && config.min_new_tokens > 0) {
    processors.push(new MinNewTokensLengthLogitsProcessor(input_ids_seq_length, config.min_new_tokens, eos_token_id));
  }
  if (has(config.forced_bos_token_id)) processors.push(new ForcedBOSTokenLogitsProcessor(config.forced_bos_token_id));
  if (has(config.forced_eos_token_id)) {
    if (!has(config.max_length)) throw new Error('`forced_eos_token_id` needs `max_length` (or `max_new_tokens`) to be set');
    processors.push(new ForcedEOSTokenLogitsProcessor(config.max_length, config.forced_eos_token_id));
  }
  if (config.remove_invalid_values === true) processors.push(new InfNanRemoveLogitsProcessor());
  if (has(config.exponential_decay_length_penalty)) {
    if (eos_token_id === null) throw new Error('`exponential_decay_length_penalty` needs `eos_token_id` to be set');
    processors.push(new ExponentialDecayLengthPenalty(config.exponential_decay_length_penalty, eos_token_id, input_ids_seq_length));
  }
  if (has(config.suppress_tokens)) processors.push(new SuppressTokensLogitsProcessor(config.suppress_tokens));
  if (has(config.begin_suppress_tokens)) {
    // With a forced BOS the first free token comes one step later.
    const begin_index = input_ids_seq_length > 1 || !has(config.forced_bos_token_id) ? input_ids_seq_length : input_ids_seq_length + 1;
    processors.push(new SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens, begin_index));
  }

  // User processors (Python's `logits_processor` argument) replace a built one of the same class
  // and otherwise follow the built ones, before the sampling warpers.
  if (custom.length > 0) {
    const merged = new LogitsProcessorList();
    for (const p of processors) merged.push(custom.find((c) => c.constructor === p.constructor) ?? p);
    for (const c of custom) if (!merged.includes(c)) merged.push(c);
    processors = merged;
  }

  if (config.do_sample) {
    // Beam sampling must keep at least one non-EOS continuation per EOS id.
    const min_tokens_to_keep = (config.num_beams ?? 1) > 1 ? (eos_token_id === null ? 2 : eos_token_id.length + 1) : 1;
    if (has(config.temperature) && config.temperature !== 1.0) processors.push(new TemperatureLogitsWarper(config.temperature));
    if (has(config.top_h)) processors.push(new TopHLogitsWarper(config.top_h));
    if (has(config.top_k) && config.top_k !== 0) processors.push(new TopKLogitsWarper(config.top_k, min_tokens_to_keep));
    if (has(config.top_p) && config.top_p < 1.0) processors.push(new TopPLogitsWarper(config.top_p, min_tokens_to_keep));
    if (has(config.min_p)) processors.push(new MinPLogitsWarper(config.min_p, min_tokens_to_keep));
    if (has(config.typical_p) && config.typical_p < 1.0) processors.push(new TypicalLogitsWarper(config.typical_p, min_tokens_to_keep));
    if (has(config.epsilon_cutoff) && config.epsilon_cutoff > 0 && config.epsilon_cutoff < 1) {
      processors.push(new EpsilonLogitsWarper(config.epsilon_cutoff, min_tokens_to_keep));
    }
    if (has(config.eta_cutoff) && config.eta_cutoff > 0 && config.eta_cutoff < 1) {
      processors.push(new EtaLogitsWarper(config.eta_cutoff, min_tokens_to_keep));
    }
  }
  if (config.renormalize_logits === true) processors.push(new LogitNormalization());
  return processors;
}
