// What every model configuration shares, as transformers' configuration_utils.py: PretrainedConfig
// (defaults, attribute aliases, field type checks, the config.json round trip that keeps keys
// this library does not model, so a config loaded here and saved again loses nothing) and the
// helpers the model configurations of ./configuration.ts build on.
//
// A config's values are its own enumerable properties, in Python's `__dict__` order: the base
// fields, the model's fields, values derived after init, `_name_or_path`, `output_attentions`,
// then any other key the file held. Aliases (GPT-2's `hidden_size` → `n_embd`) are accessors on
// the prototype, so `config.hidden_size` reads and writes `n_embd` and is never serialized.
import { env } from '../env/index.js';
import { isDeepStrictEqual } from '../runtime/deep_equal.js';
import { resolveFile, type ResolveOptions } from '../processing/files.js';
import { pythonJsonDumps, readJsonObject, writeFileAtomic, type FloatKeyTest } from './python_json.js';

/** The transformers release whose file format this library reads and writes. */
export const TRANSFORMERS_VERSION = '5.17.0';
export const CONFIG_NAME = 'config.json';

export type ConfigDict = Record<string, unknown>;

/** Where to read from: revision, cache_dir, local_files_only, token (see src/hub). */
export type FromPretrainedOptions = ResolveOptions;

/** A config class: what AutoConfig and CONFIG_MAPPING hold. */
export interface ConfigClass<T extends PretrainedConfig = PretrainedConfig> {
  new (kwargs?: ConfigDict): T;
  readonly model_type: string;
  readonly attribute_map: Readonly<Record<string, string>>;
  readonly has_no_defaults_at_init: boolean;
  readonly name: string;
  from_dict(dict: ConfigDict, kwargs?: ConfigDict): T;
}

/**
 * Generation parameters that old config.json files carry at the top level. transformers 5.x
 * drops them when loading a model config (they belong in generation_config.json) and refuses
 * to save a model config holding them, unless the model's own fields include them
 * (`use_cache`, BART's `forced_eos_token_id`). These are the keys of
 * `GenerationConfig._get_default_generation_params()`; src/generation checks they agree.
 */
export const LEGACY_GENERATION_KEYS: readonly string[] = [
  'max_length', 'min_length', 'do_sample', 'use_cache', 'early_stopping', 'num_beams', 'temperature',
  'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size',
  'encoder_no_repeat_ngram_size', 'bad_words_ids', 'num_return_sequences', 'output_scores',
  'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'epsilon_cutoff',
  'eta_cutoff', 'encoder_repetition_penalty', 'num_assistant_tokens', 'num_assistant_tokens_schedule',
  'assistant_confidence_threshold', 'assistant_lookbehind', 'target_lookbehind', 'num_beam_groups',
  'diversity_penalty',
];

/** Keys that are bookkeeping of Python's loader, never stored nor written. */
const DROPPED_KEYS = [
  'model_type', '_commit_hash', '_attn_implementation_internal', '_experts_implementation_internal',
  'attn_implementation', 'experts_implementation', 'transformers_weights', '_is_quantized', '_auto_class',
  'base_model_tp_plan', 'base_model_pp_plan', 'distributed_config', 'ignore_keys_at_rope_validation',
];

const clone = <T>(v: T): T => (v === null || typeof v !== 'object' ? v : structuredClone(v));

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Checks a value against the type of its default, as transformers 5.x's strict dataclasses do:
 * a number field takes a number (or a list of numbers: `image_size` [H, W], `eos_token_id`
 * [ids]) or null; a boolean or string field takes the same type or null; a field whose default
 * is null or a list takes anything.
 */
function checkFieldType(cls: string, key: string, value: unknown, def: unknown): void {
  if (def === null || value === null || typeof def === 'object') return;
  const ok =
    typeof def === 'number'
      ? typeof value === 'number' || (Array.isArray(value) && value.every((x) => typeof x === 'number'))
      : typeof value === typeof def;
  if (!ok) {
    throw new Error(`${cls}: '${key}' must be a ${typeof def}${typeof def === 'number' ? ' (or a list of numbers)' : ''}, got ${typeName(value)} ${JSON.stringify(value)}`);
  }
}

/** The class chain from PretrainedConfig down to `cls`. */
function classChain(cls: Function): Function[] {
  const chain: Function[] = [];
  for (let c: Function | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    chain.unshift(c);
    if (c === PretrainedConfig) break;
  }
  return chain;
}

/**
 * Base of every config: the common fields of transformers' PreTrainedConfig, the JSON round
 * trip, save_pretrained / from_pretrained.
 *
 * In transformers 5.x `is_decoder`, `add_cross_attention`, `tie_word_embeddings` and the token
 * ids are no longer base fields: each model config that uses them declares them (BERT has
 * `is_decoder`, GPT-2 does not). They are typed here as optional so model code can read
 * `config.is_decoder === true` on any config.
 */
export class PretrainedConfig {
  /** Keys this library does not model are kept as they are. */
  [key: string]: unknown;

  static readonly model_type: string = '';
  /** Alias → stored name, as transformers' `attribute_map`. */
  static readonly attribute_map: Readonly<Record<string, string>> = {};
  /** Composite configs (VisionEncoderDecoder) cannot be built without arguments. */
  static readonly has_no_defaults_at_init: boolean = false;
  /** Number of labels when no id2label is given. */
  static readonly default_num_labels: number = 2;
  /** This class's own fields and their defaults (a subclass lists only what it adds). */
  static readonly defaults: Readonly<ConfigDict> = {
    transformers_version: null,
    architectures: null,
    output_hidden_states: false,
    return_dict: true,
    dtype: null,
    chunk_size_feed_forward: 0,
    is_encoder_decoder: false,
    id2label: null,
    label2id: null,
    problem_type: null,
  };
  /** Keys whose numbers Python writes as floats (`0.0`, `1e-05`). */
  static readonly float_keys: readonly string[] = [];

  declare transformers_version: string | null;
  declare architectures: string[] | null;
  declare output_hidden_states: boolean;
  declare output_attentions: boolean;
  declare return_dict: boolean;
  declare dtype: string | null;
  declare chunk_size_feed_forward: number;
  declare is_encoder_decoder: boolean;
  declare id2label: Record<string, string> | null;
  declare label2id: Record<string, number> | null;
  declare problem_type: string | null;
  declare _name_or_path: string;

  declare is_decoder?: boolean;
  declare add_cross_attention?: boolean;
  declare tie_word_embeddings?: boolean;
  declare bos_token_id?: number | null;
  declare eos_token_id?: number | number[] | null;
  declare pad_token_id?: number | null;
  declare decoder_start_token_id?: number | null;
  declare use_cache?: boolean;
  declare vocab_size?: number;
  declare hidden_size?: number;
  /** Swin-like configs have one head count per stage. */
  declare num_attention_heads?: number | number[];
  declare num_hidden_layers?: number;

  constructor(kwargs: ConfigDict = {}) {
    const cls = this.constructor as typeof PretrainedConfig;
    const input: ConfigDict = { ...kwargs };
    const take = (key: string): unknown => {
      const v = input[key];
      delete input[key];
      return v;
    };
    // 1. Fields: the given value (type-checked) or a fresh copy of the default.
    for (const [key, def] of Object.entries(cls.fieldDefaults())) {
      if (key in input) {
        const value = take(key);
        checkFieldType(cls.name, key, value, def);
        this[key] = value;
      } else {
        this[key] = clone(def);
      }
    }
    // BC: `torch_dtype` is the old name of `dtype`.
    const torchDtype = take('torch_dtype');
    if (this.dtype === null && torchDtype != null) this.dtype = String(torchDtype);
    for (const key of DROPPED_KEYS) delete input[key];

    // 2. What the model derives from its fields (Swin's hidden_size, ViT's pooler size, ...).
    this.__post_init__(input);

    // 3. Labels: num_labels builds LABEL_i maps when id2label is absent; JSON keys are strings.
    const numLabels = take('num_labels');
    if (this.id2label === null) {
      this.num_labels = numLabels == null ? cls.default_num_labels : Number(numLabels);
    } else {
      this.id2label = normalizeId2Label(cls.name, this.id2label);
    }
    if (this.problem_type === 'single_label_classification' && this.num_labels === 1) {
      throw new Error('`problem_type="single_label_classification"` requires `num_labels > 1`. For binary classification use `num_labels=2`, or use `problem_type="regression"` for a single-output regression head.');
    }
    // 4. Generation parameters in a model config are dropped, as transformers 5.x does.
    for (const key of LEGACY_GENERATION_KEYS) delete input[key];
    // 5. Bookkeeping, then every remaining key as an attribute (aliases followed).
    const nameOrPath = 'name_or_path' in input ? take('name_or_path') : '';
    this._name_or_path = String(nameOrPath ?? '');
    const outputAttentions = take('output_attentions');
    this.output_attentions = outputAttentions === undefined ? false : (outputAttentions as boolean);
    for (const [key, value] of Object.entries(input)) this[cls.attribute_map[key] ?? key] = value;
  }

  /** Hook for subclasses: derive values, consume keys of `kwargs` they handle. */
  protected __post_init__(kwargs: ConfigDict): void {
    void kwargs;
  }

  /** Every field of this class with its default, base fields first. */
  static fieldDefaults(): ConfigDict {
    const out: ConfigDict = {};
    for (const c of classChain(this)) {
      if (Object.hasOwn(c, 'defaults')) Object.assign(out, (c as typeof PretrainedConfig).defaults);
    }
    return out;
  }

  /** Float-valued keys of this class and its parents. */
  static floatKeys(): Set<string> {
    const out = new Set<string>();
    for (const c of classChain(this)) {
      if (Object.hasOwn(c, 'float_keys')) for (const k of (c as typeof PretrainedConfig).float_keys) out.add(k);
    }
    return out;
  }

  get model_type(): string {
    return (this.constructor as typeof PretrainedConfig).model_type;
  }

  get name_or_path(): string {
    return this._name_or_path;
  }
  set name_or_path(value: string) {
    this._name_or_path = String(value);
  }

  /** len(id2label), or null when there is none; setting it rebuilds LABEL_i maps. */
  get num_labels(): number | null {
    return this.id2label === null ? null : Object.keys(this.id2label).length;
  }
  set num_labels(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`num_labels must be a non-negative integer, got ${n}`);
    if (this.id2label === null || this.num_labels !== n) {
      this.id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
      this.label2id = Object.fromEntries(Array.from({ length: n }, (_, i) => [`LABEL_${i}`, i]));
    }
  }

  /** Sets each key (aliases followed), as transformers' `config.update(dict)`. */
  update(values: ConfigDict): void {
    const map = (this.constructor as typeof PretrainedConfig).attribute_map;
    for (const [key, value] of Object.entries(values)) this[map[key] ?? key] = value;
  }

  /**
   * Every value, for config.json: nested configs as dicts (without their own
   * transformers_version), `model_type` and `transformers_version` filled in.
   */
  to_dict(): ConfigDict {
    const out: ConfigDict = {};
    for (const key of Object.keys(this)) {
      if (key === 'output_attentions') continue;
      const value = this[key];
      if (value instanceof PretrainedConfig) {
        const nested = value.to_dict();
        delete nested.transformers_version;
        out[key] = nested;
      } else {
        out[key] = clone(value);
      }
    }
    out.model_type = this.model_type;
    out.transformers_version = TRANSFORMERS_VERSION;
    out.output_attentions = this.output_attentions;
    return out;
  }

  /**
   * What `save_pretrained` writes: keys that are model-specific, or differ from the base
   * defaults, or differ from this class's defaults; never `_name_or_path`. Nested configs of a
   * composite config are written whole.
   */
  to_diff_dict(): ConfigDict {
    const cls = this.constructor as typeof PretrainedConfig;
    const config = this.to_dict();
    const base = new PretrainedConfig().to_dict();
    const classDefaults = cls.has_no_defaults_at_init ? {} : new cls().to_dict();
    const out: ConfigDict = {};
    for (const [key, value] of Object.entries(config)) {
      const keep =
        !(key in base) ||
        key === 'transformers_version' ||
        !isDeepStrictEqual(value, base[key]) ||
        (key in classDefaults && !isDeepStrictEqual(value, classDefaults[key]));
      if (keep) out[key] = value;
    }
    delete out._name_or_path;
    return out;
  }

  /** JSON text exactly as Python writes it (sorted keys, 2-space indent, trailing newline). */
  to_json_string(use_diff = true): string {
    return pythonJsonDumps(use_diff ? this.to_diff_dict() : this.to_dict(), this.floatKeyTest()) + '\n';
  }

  /** Which key paths hold floats, following nested configs. */
  protected floatKeyTest(): FloatKeyTest {
    const floats = (this.constructor as typeof PretrainedConfig).floatKeys();
    return (path) => {
      if (path.length === 1) return floats.has(path[0]);
      const nested = this[path[0]];
      return nested instanceof PretrainedConfig ? nested.floatKeyTest()(path.slice(1)) : false;
    };
  }

  /** Generation parameters set on this config that its class does not own as fields. */
  protected generationParametersSet(): ConfigDict {
    const cls = this.constructor as typeof PretrainedConfig;
    const own = cls.has_no_defaults_at_init ? {} : cls.fieldDefaults();
    const found: ConfigDict = {};
    for (const key of LEGACY_GENERATION_KEYS) {
      if (key === 'use_cache' || key in own) continue;
      if (this[key] !== undefined && this[key] !== null) found[key] = this[key];
    }
    return found;
  }

  /** Writes `dir/config.json` (the diff against defaults, as Python) atomically; returns its path. */
  async save_pretrained(dir: string): Promise<string> {
    const generation = this.generationParametersSet();
    if (Object.keys(generation).length > 0) {
      throw new Error(`Some generation parameters are set in the model config. These should go into \`model.generation_config\` as opposed to \`model.config\`. Generation parameters found: ${JSON.stringify(generation)}`);
    }
    return writeFileAtomic(dir, CONFIG_NAME, this.to_json_string(true));
  }

  /** Builds the config from a dict (e.g. a parsed config.json); `kwargs` override. */
  static from_dict<T extends PretrainedConfig>(this: new (kwargs?: ConfigDict) => T, dict: ConfigDict, kwargs: ConfigDict = {}): T {
    const config = new this({ ...dict, ...kwargs });
    return config;
  }

  /**
   * Reads config.json from a local directory or hub id (or a JSON file path). Loading a
   * composite config.json into a class that is one of its parts takes that part (as Python:
   * GPT2Config.from_pretrained(a VisionEncoderDecoder folder) gives the decoder).
   */
  static async from_pretrained<T extends PretrainedConfig>(
    this: { new (kwargs?: ConfigDict): T; readonly model_type: string; readonly name: string },
    pathOrId: string,
    options: FromPretrainedOptions = {},
    kwargs: ConfigDict = {},
  ): Promise<T> {
    const { dict, path } = await loadConfigDict(pathOrId, options);
    let source = dict;
    const wanted = this.model_type;
    if (wanted && typeof dict.model_type === 'string' && dict.model_type !== wanted) {
      const part = Object.values(dict).find(
        (v): v is ConfigDict => v !== null && typeof v === 'object' && (v as ConfigDict).model_type === wanted,
      );
      if (!part) {
        throw new Error(`The config at '${path}' is of model_type '${dict.model_type}', but ${this.name} expects '${wanted}' (use AutoConfig.from_pretrained to load any supported type)`);
      }
      source = part;
    }
    return withFileContext(path, () => new this({ ...source, ...kwargs }));
  }
}

/** id2label keys must be integers (JSON gives strings); they are kept as canonical strings. */
function normalizeId2Label(cls: string, id2label: unknown): Record<string, string> {
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
    throw new Error(`${cls}: 'id2label' must be an object mapping integer ids to labels, got ${JSON.stringify(id2label)}`);
  }
  const out: Record<string, string> = {};
  for (const [key, label] of Object.entries(id2label)) {
    const id = Number(key);
    if (key.trim() === '' || !Number.isInteger(id)) throw new Error(`${cls}: 'id2label' keys must be integers, got '${key}'`);
    out[String(id)] = label as string;
  }
  return out;
}

/** Reads config.json for `pathOrId` (a directory, a hub id, or the JSON file itself). */
export async function loadConfigDict(pathOrId: string, options: FromPretrainedOptions = {}, filename = CONFIG_NAME): Promise<{ dict: ConfigDict; path: string }> {
  const path = (await env.localKind(pathOrId)) === 'file' ? pathOrId : await resolveFile(pathOrId, filename, options);
  return { dict: await readJsonObject(path), path };
}

export function withFileContext<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new Error(`Invalid config at '${path}': ${(err as Error).message}`, { cause: err });
  }
}

/** Defines each alias of `attribute_map` as an accessor of the stored attribute. */
export function installAliases(cls: typeof PretrainedConfig): void {
  for (const [alias, target] of Object.entries(cls.attribute_map)) {
    Object.defineProperty(cls.prototype, alias, {
      get(this: PretrainedConfig) {
        return this[target];
      },
      set(this: PretrainedConfig, value: unknown) {
        this[target] = value;
      },
      enumerable: false,
      configurable: true,
    });
  }
}

/**
 * `stage_names`, `out_features`, `out_indices` of a backbone config, aligned as transformers'
 * BackboneConfigMixin: with neither given, the last stage; with one, the other follows.
 */
export function alignBackboneOutputs(config: PretrainedConfig, stageNames: string[]): void {
  const cls = config.constructor.name;
  let features = config.out_features as string[] | null;
  let indices = config.out_indices as number[] | null;
  if (features !== null) {
    if (!Array.isArray(features)) throw new Error(`${cls}: 'out_features' must be a list of stage names, got ${JSON.stringify(features)}`);
    for (const f of features) {
      if (!stageNames.includes(f)) throw new Error(`${cls}: 'out_features' must be a subset of stage_names ${JSON.stringify(stageNames)}, got '${f}'`);
    }
  }
  if (indices !== null) {
    if (!Array.isArray(indices)) throw new Error(`${cls}: 'out_indices' must be a list of integers, got ${JSON.stringify(indices)}`);
    for (const i of indices) {
      if (!Number.isInteger(i) || i >= stageNames.length || i < -stageNames.length) {
        throw new Error(`${cls}: 'out_indices' must be valid indices of stage_names ${JSON.stringify(stageNames)}, got ${i}`);
      }
    }
  }
  if (features === null && indices === null) {
    features = [stageNames[stageNames.length - 1]];
    indices = [stageNames.length - 1];
  } else if (features === null) {
    features = indices!.map((i) => stageNames[(i + stageNames.length) % stageNames.length]);
  } else if (indices === null) {
    indices = features.map((f) => stageNames.indexOf(f));
  } else {
    const named = indices.map((i) => stageNames[(i + stageNames.length) % stageNames.length]);
    if (!isDeepStrictEqual(named, features)) {
      throw new Error(`${cls}: 'out_features' ${JSON.stringify(features)} and 'out_indices' ${JSON.stringify(indices)} should correspond to the same stages (${JSON.stringify(named)})`);
    }
  }
  config.stage_names = stageNames;
  config.out_features = features;
  config.out_indices = indices;
}
