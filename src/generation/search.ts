// generate(): greedy search, multinomial sampling, beam search and beam sampling over a
// DecoderSession, token for token as transformers 5.x GenerationMixin.generate / _sample /
// _beam_search. The decoder prompt is always one start token per row (encoder-decoder models).
//
// Python works on padded tensors; here every row is an Int32Array of max_length tokens of which
// the first cur_len are live, and the batched tensor operations of _beam_search become loops
// over (batch item, candidate) with the same float32 arithmetic and the same tie-breaking.

import { Tensor } from '../runtime/tensor.js';
import { GENERATION_CONFIG_KEYS, GenerationConfig } from './configuration.js';
import { buildLogitsProcessor, type LogitsProcessor, type LogitsProcessorOptions } from './logits_process.js';
import { argmaxRow, f32, logSoftmaxRows, softmax, topkIndices, topkOfRowSums } from './ops.js';
import { RandomGenerator } from './random.js';
import type { BaseStreamer, DecoderSession, GenerateOutput, StreamerCallback } from './types.js';

/** The GenerationConfig fields generate() reads (HF names; null/undefined = unset). */
export interface GenerationSettings extends LogitsProcessorOptions {
  max_length?: number | null;
  max_new_tokens?: number | null;
  max_time?: number | null;
  early_stopping?: boolean | 'never' | null;
  length_penalty?: number | null;
  num_return_sequences?: number | null;
  output_scores?: boolean | null;
  output_logits?: boolean | null;
  return_dict_in_generate?: boolean | null;
  pad_token_id?: number | null;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  decoder_start_token_id?: number | number[] | null;
}

export interface GenerateOptions {
  /** Receives the tokens as they are chosen (greedy and sampling only, as in Python). */
  streamer?: BaseStreamer | StreamerCallback;
  /** Seed of the sampler (do_sample). Without one, sampling is seeded at random. */
  seed?: number | bigint;
  /**
   * Extra processors (Python's `logits_processor`): one of the same class as a built one replaces
   * it, the others run after the built ones and before the sampling warpers.
   */
  logits_processor?: LogitsProcessor[];
}

/** Python's default when neither max_length nor max_new_tokens is set: 20 new tokens. */
export const DEFAULT_MAX_NEW_TOKENS = 20;

/** The keys of `GenerateOptions`, accepted next to the config fields by prepareGenerationConfig. */
export const GENERATE_OPTION_KEYS: readonly string[] = ['streamer', 'seed', 'logits_processor'];

function unknownKeysError(unknown: string[], extraValid: readonly string[]): Error {
  const valid = [...GENERATION_CONFIG_KEYS, ...extraValid].sort();
  return new Error(
    `generate: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}. Valid options: ${valid.join(', ')}.`,
  );
}

/**
 * Python's `generate(**kwargs)` handling: a copy of `base` (the model's generation_config, or a
 * fresh one) with `kwargs` applied; `seed`, `streamer` and `logits_processor` go to the returned
 * options. Unknown keys throw an Error that lists the valid ones; contradictory values throw
 * GenerationConfig's validation error.
 */
export function prepareGenerationConfig(
  base: GenerationConfig | null | undefined,
  kwargs: Record<string, unknown> = {},
): { config: GenerationConfig; options: GenerateOptions } {
  const config = base ? base.clone() : new GenerationConfig();
  const fields: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (value === undefined) continue;
    (GENERATE_OPTION_KEYS.includes(key) ? options : fields)[key] = value;
  }
  // Only fields may be set: a typo must not become a silently kept custom entry.
  const unknown = Object.keys(fields).filter((k) => !GenerationConfig.is_field(k));
  if (unknown.length > 0) throw unknownKeysError(unknown, GENERATE_OPTION_KEYS);
  config.update(fields);
  return { config, options: options as GenerateOptions };
}

/**
 * The values generate() runs with: unset fields take transformers' global defaults
 * (GenerationConfig.default_generation_params()); `maxLengthIsDefault` remembers whether
 * max_length was unset, since Python then means 20 *new* tokens rather than 20 in all.
 */
function resolveSettings(config: GenerationConfig | Record<string, unknown>): { settings: GenerationSettings; maxLengthIsDefault: boolean } {
  let gc: GenerationConfig;
  if (config instanceof GenerationConfig) {
    gc = config;
  } else {
    if (config === null || typeof config !== 'object') throw new Error(`generate: \`config\` must be a GenerationConfig or an object of its fields, got ${config}`);
    const unknown = Object.keys(config).filter((k) => !GenerationConfig.is_field(k));
    if (unknown.length > 0) throw unknownKeysError(unknown, []);
    gc = new GenerationConfig(config);
  }
  return { settings: gc.with_defaults() as unknown as GenerationSettings, maxLengthIsDefault: gc.max_length === null || gc.max_length === undefined };
}

/** The decoder prompt: one start token per row. */
const PROMPT_LENGTH = 1;
/** Python's "very large negative" score for beams that must not be chosen. */
const NEG_1E9 = -1.0e9;

// ---------------------------------------------------------------------------------------------
// Plan: the config resolved into what the loops need, with every check done up front

/**
 * GenerationConfig fields that ask for a decoding method or processor this library does not run.
 * Ignoring them would silently generate something else than Python, so they are errors. (The
 * encoder_* penalties are not here: Python ignores them for image inputs too.)
 */
const UNSUPPORTED: readonly [key: string, active: (v: unknown) => boolean, what: string][] = [
  ['stop_strings', (v) => v !== null && v !== undefined, 'stop strings need a tokenizer; stop on token ids with `eos_token_id` instead'],
  ['guidance_scale', (v) => typeof v === 'number' && v !== 1, 'classifier-free guidance is not implemented'],
  ['num_beam_groups', (v) => typeof v === 'number' && v > 1, 'group beam search (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['diversity_penalty', (v) => typeof v === 'number' && v !== 0, 'group beam search (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['penalty_alpha', (v) => typeof v === 'number' && v > 0, 'contrastive search (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['dola_layers', (v) => v !== null && v !== undefined, 'DoLa decoding (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['constraints', (v) => v !== null && v !== undefined, 'constrained beam search (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['force_words_ids', (v) => v !== null && v !== undefined, 'constrained beam search (moved out of transformers to a Hub custom_generate) is not implemented'],
  ['watermarking_config', (v) => v !== null && v !== undefined, 'watermarking is not implemented'],
  ['token_healing', (v) => v === true, 'token healing needs a tokenizer and is not implemented'],
  ['prompt_lookup_num_tokens', (v) => v !== null && v !== undefined, 'prompt lookup (assisted) decoding is not implemented'],
  ['assistant_early_exit', (v) => v !== null && v !== undefined, 'assisted decoding is not implemented'],
  ['use_mtp', (v) => v === true, 'multi-token prediction is not implemented'],
  ['low_memory', (v) => v === true, '`low_memory=True` is not supported after the beam search refactor (as in transformers)'],
];

interface Plan {
  batch_size: number;
  vocab_size: number;
  start: number[]; // decoder start token per image
  eos: number[] | null;
  pad: number | null;
  max_length: number;
  max_time: number | null;
  do_sample: boolean;
  num_beams: number;
  num_return_sequences: number;
  length_penalty: number;
  early_stopping: boolean | 'never';
  return_dict: boolean;
  output_scores: boolean;
  output_logits: boolean;
  processorConfig: LogitsProcessorOptions;
}

const isSet = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

function tokenId(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new Error(`\`${name}\` must be a non-negative integer token id, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`\`${name}\` must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function makePlan(
  session: DecoderSession,
  batch_size: number,
  config: GenerationSettings,
  maxLengthIsDefault: boolean,
  options: GenerateOptions,
): Plan {
  if (!Number.isInteger(batch_size) || batch_size < 1) throw new Error(`generate: \`batch_size\` must be a positive integer, got ${batch_size}`);
  const settings = config as unknown as Record<string, unknown>;
  for (const [key, active, what] of UNSUPPORTED) {
    if (active(settings[key])) throw new Error(`generate: \`${key}\` = ${JSON.stringify(settings[key])}: ${what}.`);
  }
  const vocab_size = session.vocab_size;
  if (!Number.isInteger(vocab_size) || vocab_size < 1) throw new Error(`generate: the session's \`vocab_size\` must be a positive integer, got ${vocab_size}`);

  // Special tokens (Python's _prepare_special_tokens): the start token falls back to BOS, one
  // EOS id becomes a list, and a missing pad token is the first EOS id.
  const startSetting = isSet(config.decoder_start_token_id) ? config.decoder_start_token_id : config.bos_token_id;
  if (!isSet(startSetting)) throw new Error('`decoder_start_token_id` or `bos_token_id` has to be defined for encoder-decoder generation.');
  let start: number[];
  if (Array.isArray(startSetting)) {
    if (startSetting.length !== batch_size) throw new Error(`\`decoder_start_token_id\` expected to have length ${batch_size} but got ${startSetting.length}`);
    start = startSetting.map((t) => tokenId('decoder_start_token_id', t));
  } else {
    start = new Array<number>(batch_size).fill(tokenId('decoder_start_token_id', startSetting));
  }
  let eos: number[] | null = null;
  if (isSet(config.eos_token_id)) {
    const list = Array.isArray(config.eos_token_id) ? config.eos_token_id : [config.eos_token_id];
    if (list.length === 0) throw new Error('`eos_token_id` must be a token id or a non-empty list of token ids, got []');
    eos = list.map((t) => tokenId('eos_token_id', t));
  }
  const pad = isSet(config.pad_token_id) ? tokenId('pad_token_id', config.pad_token_id) : eos !== null ? eos[0]! : null;

  // Lengths (Python's _prepare_generated_length): max_new_tokens wins over max_length; with
  // neither set, 20 new tokens. min_new_tokens likewise becomes min_length.
  let max_length: number;
  if (isSet(config.max_new_tokens)) {
    max_length = positiveInt('max_new_tokens', config.max_new_tokens) + PROMPT_LENGTH;
  } else if (maxLengthIsDefault || !isSet(config.max_length)) {
    max_length = DEFAULT_MAX_NEW_TOKENS + PROMPT_LENGTH;
  } else {
    max_length = positiveInt('max_length', config.max_length);
  }
  if (PROMPT_LENGTH >= max_length) {
    throw new Error(
      `Input length of decoder_input_ids is ${PROMPT_LENGTH}, but \`max_length\` is set to ${max_length}. This can lead to unexpected behavior. You should consider increasing \`max_length\` or, better yet, setting \`max_new_tokens\`.`,
    );
  }
  let min_length = config.min_length ?? 0;
  if (isSet(config.min_new_tokens)) {
    if (!Number.isInteger(config.min_new_tokens) || config.min_new_tokens < 0) {
      throw new Error(`\`min_new_tokens\` must be a non-negative integer, got ${JSON.stringify(config.min_new_tokens)}`);
    }
    min_length = config.min_new_tokens + PROMPT_LENGTH;
  }

  const num_beams = positiveInt('num_beams', config.num_beams ?? 1);
  const num_return_sequences = positiveInt('num_return_sequences', config.num_return_sequences ?? 1);
  const do_sample = config.do_sample === true;
  if (num_beams === 1 && !do_sample && num_return_sequences > 1) {
    throw new Error(
      `Greedy methods without beam search do not support \`num_return_sequences\` different than 1 (got ${num_return_sequences}). Set \`do_sample=true\` or \`num_beams\` >= ${num_return_sequences}.`,
    );
  }
  if (num_beams > 1 && num_return_sequences > num_beams) {
    throw new Error(`\`num_return_sequences\` (${num_return_sequences}) has to be smaller or equal to \`num_beams\` (${num_beams}).`);
  }
  if (num_beams > 1 && options.streamer !== undefined) {
    throw new Error('`streamer` cannot be used with beam search (yet!). Make sure that `num_beams` is set to 1.');
  }
  const early_stopping = config.early_stopping ?? false;
  if (early_stopping !== true && early_stopping !== false && early_stopping !== 'never') {
    throw new Error(`\`early_stopping\` must be a boolean or 'never', got ${JSON.stringify(early_stopping)}`);
  }
  const length_penalty = config.length_penalty ?? 1.0;
  if (typeof length_penalty !== 'number' || !Number.isFinite(length_penalty)) {
    throw new Error(`\`length_penalty\` must be a finite number, got ${JSON.stringify(length_penalty)}`);
  }
  const max_time = config.max_time ?? null;
  if (max_time !== null && !(typeof max_time === 'number' && max_time > 0)) {
    throw new Error(`\`max_time\` must be a positive number of seconds, got ${JSON.stringify(max_time)}`);
  }

  return {
    batch_size,
    vocab_size,
    start,
    eos,
    pad,
    max_length,
    max_time,
    do_sample,
    num_beams,
    num_return_sequences,
    length_penalty,
    early_stopping,
    return_dict: config.return_dict_in_generate === true,
    output_scores: config.output_scores === true,
    output_logits: config.output_logits === true,
    processorConfig: { ...config, do_sample, num_beams, max_length, min_length },
  };
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Python's stopping criteria for one row: max_length, max_time, then EOS on the last token. */
class StoppingCriteria {
  private readonly t0 = performance.now();
  constructor(private readonly plan: Plan) {}
  timeIsUp(): boolean {
    return this.plan.max_time !== null && (performance.now() - this.t0) / 1000 > this.plan.max_time;
  }
  isDone(length: number, lastToken: number, timeIsUp: boolean): boolean {
    return length >= this.plan.max_length || timeIsUp || (this.plan.eos !== null && this.plan.eos.includes(lastToken));
  }
}

function toStreamer(s: GenerateOptions['streamer']): BaseStreamer | null {
  if (s === undefined) return null;
  if (typeof s === 'function') return { put: s, end: () => {} };
  return s;
}

async function stepChecked(session: DecoderSession, tokens: BigInt64Array, cur_len: number, vocab: number): Promise<Float32Array> {
  const logits = await session.step(tokens, cur_len);
  if (!(logits instanceof Float32Array) || logits.length !== tokens.length * vocab) {
    throw new Error(
      `DecoderSession.step must return float32 logits [${tokens.length}, ${vocab}] (${tokens.length * vocab} values), got ${
        logits instanceof Float32Array ? logits.length + ' values' : typeof logits
      }`,
    );
  }
  return logits;
}

/** Logits and their log_softmax: from the session when it offers both, else log_softmax here. */
async function stepWithLogProbs(session: DecoderSession, tokens: BigInt64Array, cur_len: number, vocab: number): Promise<{ logits: Float32Array; log_probs: Float32Array }> {
  if (!session.stepLogProbs) {
    const logits = await stepChecked(session, tokens, cur_len, vocab);
    const log_probs = logits.slice();
    logSoftmaxRows(log_probs, vocab);
    return { logits, log_probs };
  }
  const out = await session.stepLogProbs(tokens, cur_len);
  const n = tokens.length * vocab;
  for (const key of ['logits', 'log_probs'] as const) {
    const a = out?.[key];
    if (!(a instanceof Float32Array) || a.length !== n) {
      throw new Error(`DecoderSession.stepLogProbs must return float32 ${key} [${tokens.length}, ${vocab}] (${n} values), got ${a instanceof Float32Array ? a.length + ' values' : typeof a}`);
    }
  }
  return out;
}

function sequencesTensor(rows: readonly Int32Array[], length: number): Tensor {
  const data = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) => {
    for (let i = 0; i < length; i++) data[r * length + i] = BigInt(row[i]!);
  });
  return new Tensor('int64', data, [rows.length, length]);
}

// ---------------------------------------------------------------------------------------------
// Greedy search and multinomial sampling (Python's _sample)

async function sample(session: DecoderSession, plan: Plan, processors: LogitsProcessor[], rng: RandomGenerator, streamer: BaseStreamer | null, compact: boolean): Promise<GenerateOutput> {
  const V = plan.vocab_size;
  const n = plan.num_return_sequences; // num_beams is 1 here
  const rows = plan.batch_size * n;
  if (n > 1) session.expand(n);

  const seqs = Array.from({ length: rows }, (_, r) => {
    const s = new Int32Array(plan.max_length);
    s[0] = plan.start[Math.floor(r / n)]!;
    return s;
  });
  streamer?.put(seqs.map((s) => BigInt(s[0]!)));

  const criteria = new StoppingCriteria(plan);
  // Finished rows are padded only when EOS can finish a row early (Python: has_eos_stopping_criteria).
  const padFinished = plan.eos !== null;
  const unfinished = new Uint8Array(rows).fill(1);
  const scores: Tensor[] = [];
  const rawLogits: Tensor[] = [];
  let cur_len = PROMPT_LENGTH;
  // The rows the session still decodes, in its row order. Without `compact` every row, as in
  // Python; with it (greedy, one row per image), a finished row leaves the session: from then on
  // it only gets pad tokens, whatever its logits.
  let active: number[] = Array.from({ length: rows }, (_, r) => r);

  for (;;) {
    const A = active.length;
    const newTokens = BigInt64Array.from(active, (r) => BigInt(seqs[r]![cur_len - 1]!));
    const logits = await stepChecked(session, newTokens, cur_len, V);
    let next: Float32Array = logits.slice();
    const views = active.map((r) => seqs[r]!.subarray(0, cur_len));
    for (const p of processors) next = p.process(views, next);
    if (plan.return_dict && plan.output_scores) scores.push(new Tensor('float32', next, [A, V]));
    if (plan.return_dict && plan.output_logits) rawLogits.push(new Tensor('float32', logits.slice(), [A, V]));

    for (let r = 0; r < rows; r++) if (padFinished && !unfinished[r]) seqs[r]![cur_len] = plan.pad!;
    active.forEach((r, i) => {
      let token = plan.do_sample ? rng.categorical(softmax(next.subarray(i * V, (i + 1) * V))) : argmaxRow(next, i, V);
      if (padFinished && !unfinished[r]) token = plan.pad!;
      seqs[r]![cur_len] = token;
    });
    cur_len++;
    streamer?.put(seqs.map((s) => BigInt(s[cur_len - 1]!)));

    const timeIsUp = criteria.timeIsUp();
    let anyLeft = false;
    for (let r = 0; r < rows; r++) {
      if (criteria.isDone(cur_len, seqs[r]![cur_len - 1]!, timeIsUp)) unfinished[r] = 0;
      if (unfinished[r]) anyLeft = true;
    }
    if (!anyLeft) break;
    if (compact) {
      const kept: number[] = [];
      const idx: number[] = [];
      active.forEach((r, i) => {
        if (unfinished[r]) {
          kept.push(r);
          idx.push(i);
        }
      });
      if (kept.length < active.length) {
        session.select!(Int32Array.from(idx), Int32Array.from(idx));
        active = kept;
      }
    }
  }
  streamer?.end();

  const out: GenerateOutput = { sequences: sequencesTensor(seqs, cur_len) };
  if (plan.return_dict && plan.output_scores) out.scores = scores;
  if (plan.return_dict && plan.output_logits) out.logits = rawLogits;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Beam search and beam sampling (Python's _beam_search)

/**
 * One hypothesis: its tokens (max_length, unused tail = fill value) and, per generated step, the
 * flat row (batch * num_beams + beam) it came from (-1 = not generated).
 */
interface Hypothesis {
  tokens: Int32Array;
  beamIndices: Int32Array;
}

const copyHyp = (h: Hypothesis): Hypothesis => ({ tokens: h.tokens.slice(), beamIndices: h.beamIndices.slice() });

async function beamSearch(session: DecoderSession, plan: Plan, processors: LogitsProcessor[], rng: RandomGenerator, compact: boolean): Promise<GenerateOutput> {
  const V = plan.vocab_size;
  const B = plan.batch_size;
  const K = plan.num_beams;
  const { max_length, length_penalty, early_stopping } = plan;
  // Keep (EOS ids + 1) * num_beams candidates so that num_beams of them can continue even when
  // the best ones all end in EOS.
  const beamsToKeep = Math.max(2, 1 + (plan.eos?.length ?? 0)) * K;
  // Python fills unused positions with `pad_token_id or eos_token_id[0]` when there is an EOS: a
  // pad id of 0 is falsy there, so hypotheses that end early are then padded with EOS instead.
  const fill = plan.eos !== null ? (plan.pad ? plan.pad : plan.eos[0]!) : -1;
  const genLength = max_length - PROMPT_LENGTH;

  session.expand(K);
  const fresh = (b: number): Hypothesis => {
    const tokens = new Int32Array(max_length).fill(fill);
    tokens[0] = plan.start[b]!;
    return { tokens, beamIndices: new Int32Array(genLength).fill(-1) };
  };
  // Running beams [B * K] and their scores; only the first beam of an item starts live, so the
  // first step does not pick the same token on K identical beams.
  let running: Hypothesis[] = Array.from({ length: B * K }, (_, r) => fresh(Math.floor(r / K)));
  let runningScores = new Float32Array(B * K).map((_, r) => (r % K === 0 ? 0 : NEG_1E9));
  // Finished hypotheses [B * K], best first, and their length-penalised scores.
  let finished: Hypothesis[] = running.map(copyHyp);
  let finishedScores = new Float32Array(B * K).fill(NEG_1E9);
  let isSentFinished = new Uint8Array(B * K);
  // Per item: can a running beam still beat the worst finished one?
  const earlyStopUnsatisfied = new Uint8Array(B).fill(1);
  // The items the session still decodes, in its row order: item active[i] has session rows
  // i * K .. i * K + K - 1. Without `compact` it stays every item, as in Python. With it, an item
  // whose early-stop heuristic is satisfied leaves the session: from then on every candidate of
  // it is sunk by 1e9 and none can enter its finished hypotheses, so its result is already final
  // and its rows would only be computed to be thrown away.
  let active: number[] = Array.from({ length: B }, (_, b) => b);

  const criteria = new StoppingCriteria(plan);
  const scores: Tensor[] = [];
  const rawLogits: Tensor[] = [];
  // Beam sampling: one item's accumulated scores [num_beams * vocab], reused (it is large).
  const acc = new Float32Array(plan.do_sample ? K * V : 0);
  let cur_len = PROMPT_LENGTH;

  for (;;) {
    // a. logits of every running beam (of the items still decoded)
    const A = active.length;
    const newTokens = new BigInt64Array(A * K);
    const runningIds: Int32Array[] = new Array(A * K);
    for (let i = 0; i < A; i++) {
      for (let j = 0; j < K; j++) {
        const h = running[active[i]! * K + j]!;
        newTokens[i * K + j] = BigInt(h.tokens[cur_len - 1]!);
        runningIds[i * K + j] = h.tokens.subarray(0, cur_len);
      }
    }
    // b. log-probabilities, processed, then accumulated onto the beam scores
    const { logits, log_probs } = await stepWithLogProbs(session, newTokens, cur_len, V);
    let logProbs: Float32Array = log_probs;
    for (const p of processors) logProbs = p.process(runningIds, logProbs);
    if (plan.return_dict && plan.output_logits) rawLogits.push(new Tensor('float32', logits.slice(), [A * K, V]));
    if (plan.return_dict && plan.output_scores) scores.push(new Tensor('float32', logProbs.slice(), [A * K, V]));

    // c. top (or sampled) beamsToKeep continuations of each item among its K * V candidates
    const topScores = new Float32Array(B * beamsToKeep);
    const topHyps: Hypothesis[] = new Array(B * beamsToKeep);
    const timeIsUp = criteria.timeIsUp();
    const hits = new Uint8Array(B * beamsToKeep);
    for (let i = 0; i < A; i++) {
      const b = active[i]!;
      const beamScores = runningScores.subarray(b * K, (b + 1) * K);
      let picked: number[];
      let pickedScores: number[];
      if (plan.do_sample) {
        for (let j = 0; j < K; j++) {
          const base = (i * K + j) * V;
          for (let v = 0; v < V; v++) acc[j * V + v] = logProbs[base + v]! + beamScores[j]!;
        }
        picked = rng.sampleWithoutReplacement(softmax(acc), beamsToKeep);
        pickedScores = picked.map((flat) => acc[flat]!);
      } else {
        ({ indices: picked, values: pickedScores } = topkOfRowSums(logProbs, i * K * V, V, beamScores, beamsToKeep));
      }
      picked.forEach((flat, k) => {
        const beam = Math.floor(flat / V);
        const token = flat % V;
        const hyp = copyHyp(running[b * K + beam]!);
        hyp.tokens[cur_len] = token;
        hyp.beamIndices[cur_len - PROMPT_LENGTH] = b * K + beam;
        topScores[b * beamsToKeep + k] = pickedScores[k]!;
        topHyps[b * beamsToKeep + k] = hyp;
        // d. which candidates hit a stopping criterion with their new token
        hits[b * beamsToKeep + k] = criteria.isDone(cur_len + 1, token, timeIsUp) ? 1 : 0;
      });
    }

    // e. the best K candidates that did not stop keep running (stopped ones sink by 1e9);
    //    items no longer decoded keep what they had
    const nextRunning: Hypothesis[] = running.slice();
    const nextRunningScores = runningScores.slice();
    for (const b of active) {
      const s = new Float32Array(beamsToKeep);
      for (let k = 0; k < beamsToKeep; k++) s[k] = topScores[b * beamsToKeep + k]! + (hits[b * beamsToKeep + k] ? NEG_1E9 : 0);
      topkIndices(s, K).forEach((k, j) => {
        nextRunning[b * K + j] = topHyps[b * beamsToKeep + k]!;
        nextRunningScores[b * K + j] = s[k]!;
      });
    }

    // f. candidates among the first K that stopped become finished hypotheses if they beat the
    //    current ones; scores are divided by (generated length) ** length_penalty
    const denominator = f32(Math.pow(cur_len + 1 - PROMPT_LENGTH, length_penalty));
    const nextFinished: Hypothesis[] = finished.slice();
    const nextFinishedScores = finishedScores.slice();
    const nextIsSentFinished = isSentFinished.slice();
    for (const b of active) {
      let full = early_stopping === true;
      for (let j = 0; j < K; j++) full = full && isSentFinished[b * K + j] === 1;
      const mergedScores = new Float32Array(K + beamsToKeep);
      const mergedHyps: Hypothesis[] = [];
      const mergedFinished = new Uint8Array(K + beamsToKeep);
      for (let j = 0; j < K; j++) {
        mergedScores[j] = finishedScores[b * K + j]!;
        mergedHyps.push(finished[b * K + j]!);
        mergedFinished[j] = isSentFinished[b * K + j]!;
      }
      for (let k = 0; k < beamsToKeep; k++) {
        const justFinished = hits[b * beamsToKeep + k] === 1 && k < K;
        // Same sequence of float32 operations as Python's.
        let t = f32(topScores[b * beamsToKeep + k]! / denominator);
        if (full) t = f32(t + NEG_1E9); // early_stopping=True and all K hypotheses are in
        if (!earlyStopUnsatisfied[b]) t = f32(t + NEG_1E9); // no improvement possible
        if (!justFinished) t = f32(t + NEG_1E9); // still running
        mergedScores[K + k] = t;
        mergedHyps.push(topHyps[b * beamsToKeep + k]!);
        mergedFinished[K + k] = justFinished ? 1 : 0;
      }
      topkIndices(mergedScores, K).forEach((m, j) => {
        nextFinished[b * K + j] = mergedHyps[m]!;
        nextFinishedScores[b * K + j] = mergedScores[m]!;
        nextIsSentFinished[b * K + j] = mergedFinished[m]!;
      });
    }
    running = nextRunning;
    runningScores = nextRunningScores;
    finished = nextFinished;
    finishedScores = nextFinishedScores;
    isSentFinished = nextIsSentFinished;

    // g. decide whether to go on; the cache follows the running beams (of the items kept)
    cur_len++;
    for (const b of active) {
      // Best score the best running beam could still reach: at the current length, except with
      // early_stopping="never" and a positive length penalty, which favours the longest.
      const hypotheticalLength = early_stopping === 'never' && length_penalty > 0 ? max_length - PROMPT_LENGTH : cur_len - PROMPT_LENGTH;
      const bestPossible = f32(runningScores[b * K]! / f32(Math.pow(hypotheticalLength, length_penalty)));
      let worst = Infinity;
      for (let j = 0; j < K; j++) worst = Math.min(worst, finishedScores[b * K + j]!);
      let canImprove = false;
      for (let j = 0; j < K; j++) if (bestPossible > (isSentFinished[b * K + j] ? worst : NEG_1E9)) canImprove = true;
      if (!canImprove) earlyStopUnsatisfied[b] = 0;
    }
    const improvementPossible = earlyStopUnsatisfied.some((u) => u === 1);
    const allFinished = isSentFinished.every((f) => f === 1);
    const existsOpenBeam = !(allFinished && early_stopping === true);
    // Only an item's own candidates can all hit a criterion when the criterion is a shared one
    // (length, time): at most K of its beamsToKeep distinct candidates end in each EOS id. So
    // the items no longer decoded would have hit it too, and looking at the decoded ones is enough.
    let validContinuations = false;
    for (const b of active) for (let k = 0; k < beamsToKeep; k++) if (hits[b * beamsToKeep + k] === 0) validContinuations = true;
    const goOn = improvementPossible && existsOpenBeam && validContinuations;
    const kept = compact && goOn ? active.filter((b) => earlyStopUnsatisfied[b] === 1) : active;
    const beamIdx = new Int32Array(kept.length * K);
    const images = new Int32Array(kept.length);
    for (let i = 0, p = 0; i < kept.length; i++) {
      const b = kept[i]!;
      while (active[p] !== b) p++;
      images[i] = p;
      for (let j = 0; j < K; j++) beamIdx[i * K + j] = p * K + (running[b * K + j]!.beamIndices[cur_len - 1 - PROMPT_LENGTH]! - b * K);
    }
    if (kept.length === active.length) session.reorder(beamIdx);
    else session.select!(beamIdx, images);
    active = kept;
    if (!goOn) break;
  }

  // Best num_return_sequences finished hypotheses per item, cropped to the longest one.
  const R = plan.num_return_sequences;
  const chosen: Hypothesis[] = [];
  const chosenScores = new Float32Array(B * R);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < R; j++) {
      chosen.push(finished[b * K + j]!);
      chosenScores[b * R + j] = finishedScores[b * K + j]!;
    }
  }
  let maxGenerated = 0;
  for (const h of chosen) {
    let n = 0;
    for (const i of h.beamIndices) if (i !== -1) n++;
    maxGenerated = Math.max(maxGenerated, n);
  }
  const out: GenerateOutput = { sequences: sequencesTensor(chosen.map((h) => h.tokens), PROMPT_LENGTH + maxGenerated) };
  if (plan.return_dict) {
    if (plan.output_scores) {
      out.scores = scores;
      out.sequences_scores = new Tensor('float32', chosenScores, [B * R]);
    }
    if (plan.output_logits) out.logits = rawLogits;
    const bi = new BigInt64Array(B * R * maxGenerated);
    chosen.forEach((h, r) => {
      for (let i = 0; i < maxGenerated; i++) bi[r * maxGenerated + i] = BigInt(h.beamIndices[i]!);
    });
    out.beam_indices = new Tensor('int64', bi, [B * R, maxGenerated]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Generates token ids for `batch_size` images whose encoder states `session` holds, as Python's
 * `model.generate(pixel_values, **config)` with `config` (a GenerationConfig, or an object of its
 * fields; unset fields take transformers' defaults): greedy search (num_beams 1), multinomial sampling
 * (do_sample), beam search (num_beams > 1) or beam sampling (both). Rows of the result start with
 * the decoder start token; rows that finish early are padded with pad_token_id (the first EOS id
 * when unset). The session is expanded to batch_size * num_beams (or * num_return_sequences when
 * sampling) rows before the first step.
 */
export async function generate(
  session: DecoderSession,
  batch_size: number,
  config: GenerationConfig | Record<string, unknown>,
  options: GenerateOptions = {},
): Promise<GenerateOutput> {
  const { settings, maxLengthIsDefault } = resolveSettings(config);
  const plan = makePlan(session, batch_size, settings, maxLengthIsDefault, options);
  const processors = buildLogitsProcessor(plan.processorConfig, plan.eos, PROMPT_LENGTH, options.logits_processor ?? []);
  const rng = new RandomGenerator(options.seed);
  const streamer = toStreamer(options.streamer);
  // Rows (greedy) or items (beam search) whose result is final may leave the session's batch
  // early: not when sampling (each row's draws would shift), not when the per-step scores of every
  // row are returned, and only when every processor treats each row alone (the built ones do;
  // a caller's own must say so with `rowwise`).
  const compact =
    session.select !== undefined &&
    !plan.do_sample &&
    !(plan.return_dict && (plan.output_scores || plan.output_logits)) &&
    (options.logits_processor ?? []).every((p) => p.rowwise === true);
  try {
    return plan.num_beams > 1 ? await beamSearch(session, plan, processors, rng, compact) : await sample(session, plan, processors, rng, streamer, compact);
  } catch (e) {
    streamer?.error?.(e);
    throw e;
  }
}
