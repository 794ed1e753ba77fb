// GenerationConfig as transformers 5.x has it (generation/configuration_utils.py).
//
// In 5.x every field of a GenerationConfig defaults to null ("unset"); the values generate()
// falls back to (max_length 20, num_beams 1, top_k 50, ...) are
// `GenerationConfig.default_generation_params()`, applied to unset fields by `with_defaults()`.
// That is why a saved generation_config.json holds only what was set: the diff against a fresh
// GenerationConfig, i.e. every non-null value.
import { isDeepStrictEqual } from '../runtime/deep_equal.js';
import { PretrainedConfig, TRANSFORMERS_VERSION, loadConfigDict, type ConfigDict, type FromPretrainedOptions } from '../models/configuration.js';
import { pythonJsonDumps, writeFileAtomic } from '../models/python_json.js';

export const GENERATION_CONFIG_NAME = 'generation_config.json';

/** Every field of transformers' GenerationConfig, in its order; all default to null. */
export const GENERATION_CONFIG_KEYS: readonly string[] = [
  // length of the output
  'max_length', 'max_new_tokens', 'min_length', 'min_new_tokens', 'early_stopping', 'max_time', 'stop_strings',
  // strategy
  'do_sample', 'num_beams', 'use_mtp',
  // cache
  'use_cache', 'cache_implementation', 'cache_config', 'max_cache_len',
  // logits manipulation
  'temperature', 'top_k', 'top_p', 'min_p', 'top_h', 'typical_p', 'epsilon_cutoff', 'eta_cutoff',
  'repetition_penalty', 'encoder_repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'bad_words_ids',
  'renormalize_logits', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'sequence_bias', 'token_healing',
  'guidance_scale', 'watermarking_config',
  // outputs
  'num_return_sequences', 'output_attentions', 'output_hidden_states', 'output_scores', 'output_logits',
  'return_dict_in_generate',
  // special tokens
  'pad_token_id', 'bos_token_id', 'eos_token_id',
  // encoder-decoder only
  'encoder_no_repeat_ngram_size', 'decoder_start_token_id',
  // assisted generation
  'is_assistant', 'num_assistant_tokens', 'num_assistant_tokens_schedule', 'assistant_confidence_threshold',
  'prompt_lookup_num_tokens', 'max_matching_ngram_size', 'assistant_early_exit', 'assistant_lookbehind',
  'target_lookbehind', 'assistant_ensemble_weight', 'speculation_type',
  // performance
  'compile_config', 'disable_compile', 'continuous_batching_config',
  // deprecated in transformers (moved to the Hub) but still read
  'low_memory', 'penalty_alpha', 'dola_layers', 'diversity_penalty', 'num_beam_groups', 'constraints', 'force_words_ids',
  'prefill_chunk_size',
];

/** Metadata keys: kept in files, ignored when comparing configs. */
const METADATA_KEYS = ['_from_model_config', 'transformers_version'];

/** Fields whose numbers Python writes as floats. */
const FLOAT_KEYS = new Set([
  'max_time', 'temperature', 'top_p', 'min_p', 'top_h', 'typical_p', 'epsilon_cutoff', 'eta_cutoff', 'repetition_penalty',
  'encoder_repetition_penalty', 'length_penalty', 'guidance_scale', 'assistant_confidence_threshold',
  'assistant_ensemble_weight', 'penalty_alpha', 'diversity_penalty',
]);

/** The `output_*` flags that only matter with return_dict_in_generate. */
const EXTRA_OUTPUT_FLAGS = ['output_attentions', 'output_hidden_states', 'output_scores', 'output_logits'];

/** transformers' `_get_default_generation_params()`: what generate() uses for unset fields. */
const DEFAULT_GENERATION_PARAMS: Readonly<ConfigDict> = Object.freeze({
  max_length: 20,
  min_length: 0,
  do_sample: false,
  use_cache: true,
  early_stopping: false,
  num_beams: 1,
  temperature: 1.0,
  top_k: 50,
  top_p: 1.0,
  typical_p: 1.0,
  repetition_penalty: 1.0,
  length_penalty: 1.0,
  no_repeat_ngram_size: 0,
  encoder_no_repeat_ngram_size: 0,
  bad_words_ids: null,
  num_return_sequences: 1,
  output_scores: false,
  return_dict_in_generate: false,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  remove_invalid_values: false,
  exponential_decay_length_penalty: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  epsilon_cutoff: 0.0,
  eta_cutoff: 0.0,
  encoder_repetition_penalty: 1.0,
  num_assistant_tokens: 20,
  num_assistant_tokens_schedule: 'constant',
  assistant_confidence_threshold: 0.4,
  assistant_lookbehind: 10,
  target_lookbehind: 10,
  num_beam_groups: 1,
  diversity_penalty: 0.0,
});

/** transformers' valid `cache_implementation` names. */
const CACHE_IMPLEMENTATIONS = [
  'static', 'offloaded_static', 'sliding_window', 'hybrid', 'hybrid_chunked', 'offloaded_hybrid',
  'offloaded_hybrid_chunked', 'dynamic', 'offloaded', 'quantized', 'paged',
];

export interface UpdateOptions {
  /** Only set fields that are still unset (null). */
  defaults_only?: boolean;
  /** Also accept keys that are not fields (they are stored as extra entries). */
  allow_custom_entries?: boolean;
}

const clone = <T>(v: T): T => (v === null || typeof v !== 'object' ? v : structuredClone(v));

export class GenerationConfig {
  /** Keys that are not fields are kept (a file's custom entries survive a save). */
  [key: string]: unknown;

  declare max_length: number | null;
  declare max_new_tokens: number | null;
  declare min_length: number | null;
  declare min_new_tokens: number | null;
  declare early_stopping: boolean | 'never' | null;
  declare max_time: number | null;
  declare do_sample: boolean | null;
  declare num_beams: number | null;
  declare num_beam_groups: number | null;
  declare use_cache: boolean | null;
  declare temperature: number | null;
  declare top_k: number | null;
  declare top_p: number | null;
  declare min_p: number | null;
  declare typical_p: number | null;
  declare epsilon_cutoff: number | null;
  declare eta_cutoff: number | null;
  declare repetition_penalty: number | null;
  declare encoder_repetition_penalty: number | null;
  declare length_penalty: number | null;
  declare no_repeat_ngram_size: number | null;
  declare encoder_no_repeat_ngram_size: number | null;
  declare bad_words_ids: number[][] | null;
  declare force_words_ids: number[][] | number[][][] | null;
  declare renormalize_logits: boolean | null;
  declare forced_bos_token_id: number | null;
  declare forced_eos_token_id: number | number[] | null;
  declare remove_invalid_values: boolean | null;
  declare exponential_decay_length_penalty: [number, number] | null;
  declare suppress_tokens: number[] | null;
  declare begin_suppress_tokens: number[] | null;
  declare num_return_sequences: number | null;
  declare output_attentions: boolean | null;
  declare output_hidden_states: boolean | null;
  declare output_scores: boolean | null;
  declare output_logits: boolean | null;
  declare return_dict_in_generate: boolean | null;
  declare pad_token_id: number | null;
  declare bos_token_id: number | null;
  declare eos_token_id: number | number[] | null;
  declare decoder_start_token_id: number | number[] | null;
  declare cache_implementation: string | null;
  declare _from_model_config: boolean | null;
  declare transformers_version: string | null;

  /**
   * Every field from `kwargs`, or null. Other keys are kept as extra entries, except when the
   * config is derived from a model config (`_from_model_config: true`), as in Python. Throws
   * when the values contradict each other (see validate()).
   */
  constructor(kwargs: ConfigDict = {}) {
    const input: ConfigDict = { ...kwargs };
    for (const key of GENERATION_CONFIG_KEYS) {
      this[key] = key in input ? clone(input[key]) : null;
      delete input[key];
    }
    delete input._commit_hash;
    this._from_model_config = (input._from_model_config as boolean | undefined) ?? null;
    this.transformers_version = (input.transformers_version as string | undefined) ?? null;
    delete input._from_model_config;
    delete input.transformers_version;
    if (!this._from_model_config) {
      for (const [key, value] of Object.entries(input)) this[key] = clone(value);
    } else if (input.force_bos_token_to_be_generated) {
      // BC: old model configs asked for the BOS token this way.
      this.forced_bos_token_id = this.bos_token_id;
    }
    this.validate();
  }

  /** transformers' `_get_default_generation_params()` (a fresh copy). */
  static default_generation_params(): ConfigDict {
    return { ...DEFAULT_GENERATION_PARAMS };
  }

  /** Whether `key` is a GenerationConfig field (generate() rejects the others). */
  static is_field(key: string): boolean {
    return GENERATION_CONFIG_KEYS.includes(key);
  }

  /** A deep copy, extra entries included. */
  clone(): GenerationConfig {
    const copy = new GenerationConfig();
    for (const key of Object.keys(copy)) delete copy[key];
    for (const key of Object.keys(this)) copy[key] = clone(this[key]);
    return copy;
  }

  /** A copy whose unset fields hold the values generate() uses by default. */
  with_defaults(): GenerationConfig {
    const copy = this.clone();
    copy.update(GenerationConfig.default_generation_params(), { defaults_only: true });
    return copy;
  }

  /**
   * Sets the given keys that are fields (or existing extra entries); returns the others,
   * untouched, so a caller can reject unknown options. Validates the result.
   */
  update(kwargs: ConfigDict, options: UpdateOptions = {}): ConfigDict {
    const unused: ConfigDict = {};
    for (const [key, value] of Object.entries(kwargs)) {
      const known = Object.hasOwn(this, key);
      if (!known && !options.allow_custom_entries) {
        unused[key] = value;
        continue;
      }
      if (!options.defaults_only || this[key] === null || this[key] === undefined) this[key] = clone(value);
    }
    this.validate();
    return unused;
  }

  /**
   * Throws an Error naming the field for values generation cannot run with: transformers'
   * own checks (early_stopping, max_new_tokens, num_return_sequences against beams and sampling,
   * a forced token that is also suppressed, cache_implementation) and the checks its logits
   * processors make when built (temperature, top_p, typical_p, min_p under sampling; penalties;
   * counts that cannot be negative).
   */
  validate(): void {
    const fail = (msg: string): never => {
      throw new Error(`Invalid GenerationConfig: ${msg}`);
    };
    const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
    const intAtLeast = (key: string, min: number) => {
      const v = this[key];
      if (v !== null && v !== undefined && !(isInt(v) && v >= min)) fail(`\`${key}\` must be an integer >= ${min}, but is ${JSON.stringify(v)}.`);
    };
    const numberIn = (key: string, ok: (x: number) => boolean, what: string) => {
      const v = this[key];
      if (v !== null && v !== undefined && !(typeof v === 'number' && ok(v))) fail(`\`${key}\` must be ${what}, but is ${JSON.stringify(v)}.`);
    };
    const bool = (key: string) => {
      const v = this[key];
      if (v !== null && v !== undefined && typeof v !== 'boolean') fail(`\`${key}\` must be true or false, but is ${JSON.stringify(v)}.`);
    };
    const tokenIds = (key: string, allowList: boolean) => {
      const v = this[key];
      if (v === null || v === undefined) return;
      const ids = Array.isArray(v) && allowList ? v : [v];
      if (!ids.every((x) => isInt(x))) fail(`\`${key}\` must be ${allowList ? 'an integer or a list of integers' : 'an integer'}, but is ${JSON.stringify(v)}.`);
    };

    // Single values.
    if (![null, undefined, true, false, 'never'].includes(this.early_stopping as never)) {
      fail(`\`early_stopping\` must be a boolean or 'never', but is ${JSON.stringify(this.early_stopping)}.`);
    }
    intAtLeast('max_new_tokens', 1);
    intAtLeast('max_length', 0);
    intAtLeast('min_length', 0);
    intAtLeast('min_new_tokens', 0);
    intAtLeast('num_beams', 1);
    intAtLeast('num_beam_groups', 1);
    intAtLeast('num_return_sequences', 1);
    intAtLeast('top_k', 0);
    intAtLeast('no_repeat_ngram_size', 0);
    intAtLeast('encoder_no_repeat_ngram_size', 0);
    numberIn('max_time', (x) => x > 0, 'a positive number of seconds');
    numberIn('repetition_penalty', (x) => x > 0, 'a strictly positive float (1.0 means no penalty)');
    numberIn('encoder_repetition_penalty', (x) => x > 0, 'a strictly positive float (1.0 means no penalty)');
    numberIn('length_penalty', Number.isFinite, 'a finite number');
    for (const key of ['do_sample', 'use_cache', 'renormalize_logits', 'remove_invalid_values', 'return_dict_in_generate', ...EXTRA_OUTPUT_FLAGS]) bool(key);
    for (const key of ['pad_token_id', 'bos_token_id', 'forced_bos_token_id']) tokenIds(key, false);
    for (const key of ['eos_token_id', 'forced_eos_token_id', 'decoder_start_token_id']) tokenIds(key, true);
    for (const key of ['suppress_tokens', 'begin_suppress_tokens']) {
      const v = this[key];
      if (v !== null && v !== undefined && !(Array.isArray(v) && v.every(isInt))) fail(`\`${key}\` must be a list of token ids, but is ${JSON.stringify(v)}.`);
    }
    const bad = this.bad_words_ids;
    if (bad !== null && bad !== undefined) {
      if (!Array.isArray(bad) || !bad.every((w) => Array.isArray(w) && w.length > 0 && w.every((t) => isInt(t) && t >= 0))) {
        fail(`\`bad_words_ids\` must be a list of non-empty lists of non-negative token ids, but is ${JSON.stringify(bad)}.`);
      }
    }
    const decay = this.exponential_decay_length_penalty;
    if (decay !== null && decay !== undefined && !(Array.isArray(decay) && decay.length === 2 && isInt(decay[0]) && typeof decay[1] === 'number')) {
      fail(`\`exponential_decay_length_penalty\` must be [start_index, decay_factor], but is ${JSON.stringify(decay)}.`);
    }
    if (this.cache_implementation !== null && this.cache_implementation !== undefined && !CACHE_IMPLEMENTATIONS.includes(this.cache_implementation)) {
      fail(`Invalid \`cache_implementation\` (${JSON.stringify(this.cache_implementation)}). Choose one of: ${CACHE_IMPLEMENTATIONS.join(', ')}.`);
    }

    // Sampling warpers exist only when sampling; their parameters are checked then.
    if (this.do_sample === true) {
      numberIn('temperature', (x) => x > 0, "a strictly positive float when sampling (for greedy decoding set `do_sample: false`)");
      numberIn('top_p', (x) => x > 0 && x <= 1, 'in (0, 1]');
      numberIn('typical_p', (x) => x > 0 && x <= 1, 'in (0, 1]');
      numberIn('min_p', (x) => x >= 0 && x <= 1, 'in [0, 1]');
      numberIn('epsilon_cutoff', (x) => x >= 0 && x < 1, 'in [0, 1)');
      numberIn('eta_cutoff', (x) => x >= 0 && x < 1, 'in [0, 1)');
    }

    // Combinations.
    const beams = this.num_beams ?? 1;
    const nrs = this.num_return_sequences ?? 1;
    if (nrs > 1) {
      if (beams === 1 && this.do_sample !== true) {
        fail(`Greedy methods (do_sample != true) without beam search do not support \`num_return_sequences\` different than 1 (got ${nrs}).`);
      }
      if (beams > 1 && nrs > beams) fail(`\`num_return_sequences\` (${nrs}) has to be smaller or equal to \`num_beams\` (${beams}).`);
    }
    const groups = this.num_beam_groups ?? 1;
    if (groups > 1 && beams % groups !== 0) fail(`\`num_beams\` (${beams}) should be divisible by \`num_beam_groups\` (${groups}).`);
    if (this.suppress_tokens) {
      const suppressed = new Set(this.suppress_tokens);
      for (const key of ['forced_bos_token_id', 'forced_eos_token_id']) {
        const forced = this[key];
        if (forced === null || forced === undefined) continue;
        const ids = Array.isArray(forced) ? forced : [forced];
        if (ids.length > 0 && ids.every((id) => suppressed.has(id as number))) {
          fail(`Every token in \`${key}\` (${JSON.stringify(ids)}) is also in \`suppress_tokens\`; forcing a token while suppressing it makes every logit -inf. Remove the overlap (to prevent an early EOS, use \`min_new_tokens\`).`);
        }
      }
    }
  }

  /** Every value; `transformers_version` stamped as this library writes it. */
  to_dict(): ConfigDict {
    const out: ConfigDict = {};
    for (const key of Object.keys(this)) out[key] = clone(this[key]);
    out.transformers_version = TRANSFORMERS_VERSION;
    return out;
  }

  /** What is saved: everything that differs from a fresh GenerationConfig (all set values). */
  to_diff_dict(): ConfigDict {
    const defaults = new GenerationConfig().to_dict();
    const out: ConfigDict = {};
    for (const [key, value] of Object.entries(this.to_dict())) {
      if (!(key in defaults) || key === 'transformers_version' || !isDeepStrictEqual(value, defaults[key])) out[key] = value;
    }
    return out;
  }

  to_json_string(use_diff = true, ignore_metadata = false): string {
    const dict = use_diff ? this.to_diff_dict() : this.to_dict();
    if (ignore_metadata) for (const key of METADATA_KEYS) delete dict[key];
    return pythonJsonDumps(dict, (path) => path.length === 1 && FLOAT_KEYS.has(path[0])) + '\n';
  }

  /** Writes `dir/generation_config.json` (set values only, as Python) atomically. */
  async save_pretrained(dir: string, config_file_name = GENERATION_CONFIG_NAME): Promise<string> {
    this.validate();
    return writeFileAtomic(dir, config_file_name, this.to_json_string(true));
  }

  /** A config from a dict (a parsed generation_config.json); `kwargs` override it. */
  static from_dict(dict: ConfigDict, kwargs: ConfigDict = {}): GenerationConfig {
    const config = new GenerationConfig({ ...dict, ...kwargs });
    config.update(kwargs);
    return config;
  }

  /** Reads generation_config.json of a local directory or hub id. */
  static async from_pretrained(pathOrId: string, options: FromPretrainedOptions & { config_file_name?: string } = {}, kwargs: ConfigDict = {}): Promise<GenerationConfig> {
    const { dict, path } = await loadConfigDict(pathOrId, options, options.config_file_name ?? GENERATION_CONFIG_NAME);
    try {
      return kwargs._from_model_config ? GenerationConfig.from_model_config(dict) : GenerationConfig.from_dict(dict, kwargs);
    } catch (err) {
      throw new Error(`Invalid generation config at '${path}': ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The generation config a model config implies, as transformers 5.x derives it: the model
   * config's top-level generation keys (for VisionEncoderDecoder: `decoder_start_token_id`,
   * `pad_token_id`, `eos_token_id`, `output_*`), then, for fields still unset, the decoder's
   * values (`bos_token_id`, `use_cache`, BART's `forced_eos_token_id`, and any token id the top
   * level lacks). A dict (a raw config.json) is accepted too, legacy generation keys included.
   */
  static from_model_config(model_config: PretrainedConfig | ConfigDict): GenerationConfig {
    const isConfig = model_config instanceof PretrainedConfig;
    const dict: ConfigDict = isConfig ? model_config.to_dict() : { ...model_config };
    delete dict._from_model_config;
    const present = Object.fromEntries(Object.entries(dict).filter(([, v]) => v !== null && v !== undefined));
    const generation = GenerationConfig.from_dict(present, { _from_model_config: true });

    let decoder: ConfigDict = dict;
    if (isConfig) {
      const text = model_config.decoder instanceof PretrainedConfig ? model_config.decoder : model_config;
      decoder = text.to_dict();
    } else {
      for (const name of ['decoder', 'generator', 'text_config']) {
        const sub = model_config[name];
        if (sub && typeof sub === 'object') {
          decoder = sub as ConfigDict;
          break;
        }
      }
    }
    const fresh = new GenerationConfig();
    for (const key of Object.keys(generation.to_dict())) {
      const unset = isDeepStrictEqual(generation[key], fresh[key]);
      if (unset && key in decoder) generation[key] = clone(decoder[key]);
    }
    if (!generation.return_dict_in_generate && EXTRA_OUTPUT_FLAGS.some((flag) => generation[flag] === true)) {
      generation.return_dict_in_generate = true;
    }
    generation.validate();
    return generation;
  }
}
