// Model configurations, as Python transformers 5.x has them (configuration_utils.py and each
// model's configuration_*.py): one class per `model_type`, every default value of transformers,
// the attribute aliases of `attribute_map`, and a config.json round trip that keeps keys this
// library does not model, so a config loaded here and saved again loses nothing.
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

function withFileContext<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new Error(`Invalid config at '${path}': ${(err as Error).message}`, { cause: err });
  }
}

/** Defines each alias of `attribute_map` as an accessor of the stored attribute. */
function installAliases(cls: typeof PretrainedConfig): void {
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
function alignBackboneOutputs(config: PretrainedConfig, stageNames: string[]): void {
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

// ---------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------

const VIT_DEFAULTS = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  qkv_bias: true,
  encoder_stride: 16,
  pooler_output_size: null,
  pooler_act: 'tanh',
};
const VIT_FLOATS = ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'initializer_range', 'layer_norm_eps'];

/** ViT ('vit'): google/vit-base-patch16-224. */
export class ViTConfig extends PretrainedConfig {
  static override readonly model_type: string = 'vit';
  static override readonly defaults: Readonly<ConfigDict> = VIT_DEFAULTS;
  static override readonly float_keys: readonly string[] = VIT_FLOATS;

  declare hidden_size: number;
  declare num_hidden_layers: number;
  declare num_attention_heads: number;
  declare intermediate_size: number;
  declare hidden_act: string;
  declare hidden_dropout_prob: number;
  declare attention_probs_dropout_prob: number;
  declare initializer_range: number;
  declare layer_norm_eps: number;
  declare image_size: number | number[];
  declare patch_size: number | number[];
  declare num_channels: number;
  declare qkv_bias: boolean;
  declare encoder_stride: number;
  declare pooler_output_size: number;
  declare pooler_act: string;

  protected override __post_init__(): void {
    // The pooler's width defaults to the hidden size.
    if (this.pooler_output_size === null) this.pooler_output_size = this.hidden_size;
  }
}

/** DeiT ('deit'): facebook/deit-base-distilled-patch16-224; the same fields as ViT. */
export class DeiTConfig extends ViTConfig {
  static override readonly model_type: string = 'deit';
}

/** BEiT ('beit'): microsoft/beit-base-patch16-224-pt22k; also a backbone (stage outputs). */
export class BeitConfig extends PretrainedConfig {
  static override readonly model_type: string = 'beit';
  static override readonly defaults: Readonly<ConfigDict> = {
    vocab_size: 8192,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.0,
    attention_probs_dropout_prob: 0.0,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    image_size: 224,
    patch_size: 16,
    num_channels: 3,
    use_mask_token: false,
    use_absolute_position_embeddings: false,
    use_relative_position_bias: false,
    use_shared_relative_position_bias: false,
    layer_scale_init_value: 0.1,
    drop_path_rate: 0.1,
    use_mean_pooling: true,
    pool_scales: [1, 2, 3, 6],
    use_auxiliary_head: true,
    auxiliary_loss_weight: 0.4,
    auxiliary_channels: 256,
    auxiliary_num_convs: 1,
    auxiliary_concat_input: false,
    semantic_loss_ignore_index: 255,
    out_features: null,
    out_indices: null,
    add_fpn: false,
    reshape_hidden_states: true,
  };
  static override readonly float_keys: readonly string[] = [...VIT_FLOATS, 'layer_scale_init_value', 'drop_path_rate', 'auxiliary_loss_weight'];

  declare vocab_size: number;
  declare hidden_size: number;
  declare num_hidden_layers: number;
  declare num_attention_heads: number;
  declare intermediate_size: number;
  declare hidden_act: string;
  declare hidden_dropout_prob: number;
  declare attention_probs_dropout_prob: number;
  declare initializer_range: number;
  declare layer_norm_eps: number;
  declare image_size: number | number[];
  declare patch_size: number | number[];
  declare num_channels: number;
  declare use_mask_token: boolean;
  declare use_absolute_position_embeddings: boolean;
  declare use_relative_position_bias: boolean;
  declare use_shared_relative_position_bias: boolean;
  declare layer_scale_init_value: number;
  declare drop_path_rate: number;
  declare use_mean_pooling: boolean;
  declare out_features: string[];
  declare out_indices: number[];
  declare stage_names: string[];

  protected override __post_init__(kwargs: ConfigDict): void {
    // BC: `segmentation_indices` is the old name of `out_indices`.
    if ('segmentation_indices' in kwargs) {
      this.out_indices = kwargs.segmentation_indices as number[];
      delete kwargs.segmentation_indices;
    }
    delete kwargs.stage_names;
    const stages = ['stem', ...Array.from({ length: this.num_hidden_layers }, (_, i) => `stage${i + 1}`)];
    alignBackboneOutputs(this, stages);
  }
}

const SWIN_COMMON = {
  image_size: 224,
  patch_size: 4,
  num_channels: 3,
  embed_dim: 96,
  depths: [2, 2, 6, 2],
  num_heads: [3, 6, 12, 24],
  window_size: 7,
  mlp_ratio: 4.0,
  qkv_bias: true,
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  drop_path_rate: 0.1,
  hidden_act: 'gelu',
  use_absolute_embeddings: false,
  initializer_range: 0.02,
  layer_norm_eps: 1e-5,
};
const SWIN_FLOATS = ['mlp_ratio', 'hidden_dropout_prob', 'attention_probs_dropout_prob', 'drop_path_rate', 'initializer_range', 'layer_norm_eps'];
const SWIN_ALIASES = { num_attention_heads: 'num_heads', num_hidden_layers: 'num_layers' };

/**
 * Donut's Swin ('donut-swin'): naver-clova-ix/donut-base. `num_layers` = len(depths);
 * `hidden_size` = embed_dim × 2^(len(depths) − 1), the width after the last stage.
 */
export class DonutSwinConfig extends PretrainedConfig {
  static override readonly model_type: string = 'donut-swin';
  static override readonly attribute_map: Readonly<Record<string, string>> = SWIN_ALIASES;
  static override readonly defaults: Readonly<ConfigDict> = SWIN_COMMON;
  static override readonly float_keys: readonly string[] = SWIN_FLOATS;

  declare image_size: number | number[];
  declare patch_size: number | number[];
  declare num_channels: number;
  declare embed_dim: number;
  declare depths: number[];
  declare num_heads: number[];
  declare window_size: number;
  declare mlp_ratio: number;
  declare qkv_bias: boolean;
  declare hidden_dropout_prob: number;
  declare attention_probs_dropout_prob: number;
  declare drop_path_rate: number;
  declare hidden_act: string;
  declare use_absolute_embeddings: boolean;
  declare initializer_range: number;
  declare layer_norm_eps: number;
  declare num_layers: number;
  declare hidden_size: number;
  declare num_attention_heads: number[];
  declare num_hidden_layers: number;

  protected override __post_init__(kwargs: ConfigDict): void {
    const cls = this.constructor.name;
    if (!Array.isArray(this.depths) || this.depths.length === 0) throw new Error(`${cls}: 'depths' must be a non-empty list of integers, got ${JSON.stringify(this.depths)}`);
    if (!Array.isArray(this.num_heads) || this.num_heads.length !== this.depths.length) {
      throw new Error(`${cls}: 'num_heads' must list one head count per stage (${this.depths.length} stages), got ${JSON.stringify(this.num_heads)}`);
    }
    // Derived, as transformers sets them after init (a stored value in the file is the same).
    delete kwargs.num_layers;
    delete kwargs.hidden_size;
    this.num_layers = this.depths.length;
    this.hidden_size = Math.trunc(this.embed_dim * 2 ** (this.depths.length - 1));
  }
}

/** Swin ('swin'): microsoft/swin-tiny-patch4-window7-224; also a backbone (stage outputs). */
export class SwinConfig extends DonutSwinConfig {
  static override readonly model_type: string = 'swin';
  static override readonly defaults: Readonly<ConfigDict> = { encoder_stride: 32, out_features: null, out_indices: null };

  declare encoder_stride: number;
  declare out_features: string[];
  declare out_indices: number[];
  declare stage_names: string[];

  protected override __post_init__(kwargs: ConfigDict): void {
    super.__post_init__(kwargs);
    delete kwargs.stage_names;
    const stages = ['stem', ...this.depths.map((_, i) => `stage${i + 1}`)];
    alignBackboneOutputs(this, stages);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoders
// ---------------------------------------------------------------------------------------------

/** GPT-2 ('gpt2'): openai-community/gpt2. */
export class GPT2Config extends PretrainedConfig {
  static override readonly model_type: string = 'gpt2';
  static override readonly attribute_map: Readonly<Record<string, string>> = {
    hidden_size: 'n_embd',
    max_position_embeddings: 'n_positions',
    num_attention_heads: 'n_head',
    num_hidden_layers: 'n_layer',
  };
  static override readonly defaults: Readonly<ConfigDict> = {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_inner: null,
    activation_function: 'gelu_new',
    resid_pdrop: 0.1,
    embd_pdrop: 0.1,
    attn_pdrop: 0.1,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    summary_type: 'cls_index',
    summary_use_proj: true,
    summary_activation: null,
    summary_proj_to_labels: true,
    summary_first_dropout: 0.1,
    scale_attn_weights: true,
    use_cache: true,
    bos_token_id: 50256,
    eos_token_id: 50256,
    pad_token_id: null,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    add_cross_attention: false,
    tie_word_embeddings: true,
  };
  static override readonly float_keys: readonly string[] = ['resid_pdrop', 'embd_pdrop', 'attn_pdrop', 'layer_norm_epsilon', 'initializer_range', 'summary_first_dropout'];

  declare vocab_size: number;
  declare n_positions: number;
  declare n_embd: number;
  declare n_layer: number;
  declare n_head: number;
  /** Width of the MLP; null means 4 × n_embd. */
  declare n_inner: number | null;
  declare activation_function: string;
  declare resid_pdrop: number;
  declare embd_pdrop: number;
  declare attn_pdrop: number;
  declare layer_norm_epsilon: number;
  declare initializer_range: number;
  declare scale_attn_weights: boolean;
  declare use_cache: boolean;
  declare scale_attn_by_inverse_layer_idx: boolean;
  declare reorder_and_upcast_attn: boolean;
  declare add_cross_attention: boolean;
  declare tie_word_embeddings: boolean;
  declare hidden_size: number;
  declare max_position_embeddings: number;
  declare num_attention_heads: number;
  declare num_hidden_layers: number;
}

const BERT_DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  use_cache: true,
  classifier_dropout: null,
  is_decoder: false,
  add_cross_attention: false,
  bos_token_id: null,
  eos_token_id: null,
  tie_word_embeddings: true,
};
const BERT_FLOATS = ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'initializer_range', 'layer_norm_eps', 'classifier_dropout'];

/** BERT ('bert'): google-bert/bert-base-uncased. */
export class BertConfig extends PretrainedConfig {
  static override readonly model_type: string = 'bert';
  static override readonly defaults: Readonly<ConfigDict> = BERT_DEFAULTS;
  static override readonly float_keys: readonly string[] = BERT_FLOATS;

  declare vocab_size: number;
  declare hidden_size: number;
  declare num_hidden_layers: number;
  declare num_attention_heads: number;
  declare intermediate_size: number;
  declare hidden_act: string;
  declare hidden_dropout_prob: number;
  declare attention_probs_dropout_prob: number;
  declare max_position_embeddings: number;
  declare type_vocab_size: number;
  declare initializer_range: number;
  declare layer_norm_eps: number;
  declare use_cache: boolean;
  declare classifier_dropout: number | null;
  declare is_decoder: boolean;
  declare add_cross_attention: boolean;
  declare tie_word_embeddings: boolean;
}

/** RoBERTa ('roberta'): FacebookAI/roberta-base; BERT's fields, RoBERTa's vocabulary and ids. */
export class RobertaConfig extends BertConfig {
  static override readonly model_type: string = 'roberta';
  static override readonly defaults: Readonly<ConfigDict> = { vocab_size: 50265, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 };
}

const BART_DEFAULTS = {
  vocab_size: 50265,
  max_position_embeddings: 1024,
  encoder_layers: 12,
  encoder_ffn_dim: 4096,
  encoder_attention_heads: 16,
  decoder_layers: 12,
  decoder_ffn_dim: 4096,
  decoder_attention_heads: 16,
  encoder_layerdrop: 0.0,
  decoder_layerdrop: 0.0,
  activation_function: 'gelu',
  d_model: 1024,
  dropout: 0.1,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  init_std: 0.02,
  classifier_dropout: 0.0,
  scale_embedding: false,
  use_cache: true,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  is_encoder_decoder: true,
  decoder_start_token_id: 2,
  forced_eos_token_id: 2,
  is_decoder: false,
  tie_word_embeddings: true,
};
const BART_FLOATS = ['encoder_layerdrop', 'decoder_layerdrop', 'dropout', 'attention_dropout', 'activation_dropout', 'init_std', 'classifier_dropout'];
/** transformers' BART aliases: the encoder's sizes stand for the model's. */
const BART_ALIASES = { num_attention_heads: 'encoder_attention_heads', hidden_size: 'd_model', num_hidden_layers: 'encoder_layers' };

/** BART ('bart'): facebook/bart-large. Three labels by default (as transformers). */
export class BartConfig extends PretrainedConfig {
  static override readonly model_type: string = 'bart';
  static override readonly attribute_map: Readonly<Record<string, string>> = BART_ALIASES;
  static override readonly default_num_labels: number = 3;
  static override readonly defaults: Readonly<ConfigDict> = BART_DEFAULTS;
  static override readonly float_keys: readonly string[] = BART_FLOATS;

  declare vocab_size: number;
  declare max_position_embeddings: number;
  declare encoder_layers: number;
  declare encoder_ffn_dim: number;
  declare encoder_attention_heads: number;
  declare decoder_layers: number;
  declare decoder_ffn_dim: number;
  declare decoder_attention_heads: number;
  declare encoder_layerdrop: number;
  declare decoder_layerdrop: number;
  declare activation_function: string;
  declare d_model: number;
  declare dropout: number;
  declare attention_dropout: number;
  declare activation_dropout: number;
  declare init_std: number;
  declare classifier_dropout: number;
  declare scale_embedding: boolean;
  declare use_cache: boolean;
  declare forced_eos_token_id: number | null;
  declare is_decoder: boolean;
  declare tie_word_embeddings: boolean;
  declare hidden_size: number;
  declare num_attention_heads: number;
  declare num_hidden_layers: number;
}

/** mBART ('mbart'): facebook/mbart-large-cc25; BART's fields, two labels, no start-token field. */
export class MBartConfig extends BartConfig {
  static override readonly model_type: string = 'mbart';
  static override readonly default_num_labels: number = 2;
  static override readonly defaults: Readonly<ConfigDict> = {};

  static override fieldDefaults(): ConfigDict {
    const fields = super.fieldDefaults();
    delete fields.decoder_start_token_id;
    return fields;
  }
}

/** TrOCR ('trocr'): microsoft/trocr-base-handwritten's decoder. */
export class TrOCRConfig extends PretrainedConfig {
  static override readonly model_type: string = 'trocr';
  static override readonly attribute_map: Readonly<Record<string, string>> = {
    num_attention_heads: 'decoder_attention_heads',
    hidden_size: 'd_model',
    num_hidden_layers: 'decoder_layers',
  };
  static override readonly defaults: Readonly<ConfigDict> = {
    vocab_size: 50265,
    d_model: 1024,
    decoder_layers: 12,
    decoder_attention_heads: 16,
    decoder_ffn_dim: 4096,
    activation_function: 'gelu',
    max_position_embeddings: 512,
    dropout: 0.1,
    attention_dropout: 0.0,
    activation_dropout: 0.0,
    decoder_start_token_id: 2,
    init_std: 0.02,
    decoder_layerdrop: 0.0,
    use_cache: true,
    scale_embedding: false,
    use_learned_position_embeddings: true,
    layernorm_embedding: true,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    cross_attention_hidden_size: null,
    is_decoder: true,
    tie_word_embeddings: true,
  };
  static override readonly float_keys: readonly string[] = ['dropout', 'attention_dropout', 'activation_dropout', 'init_std', 'decoder_layerdrop'];

  declare vocab_size: number;
  declare d_model: number;
  declare decoder_layers: number;
  declare decoder_attention_heads: number;
  declare decoder_ffn_dim: number;
  declare activation_function: string;
  declare max_position_embeddings: number;
  declare dropout: number;
  declare attention_dropout: number;
  declare activation_dropout: number;
  declare init_std: number;
  declare decoder_layerdrop: number;
  declare use_cache: boolean;
  declare scale_embedding: boolean;
  declare use_learned_position_embeddings: boolean;
  declare layernorm_embedding: boolean;
  /** Width of the encoder states when it differs from d_model (null: the same). */
  declare cross_attention_hidden_size: number | null;
  declare is_decoder: boolean;
  declare tie_word_embeddings: boolean;
  declare hidden_size: number;
  declare num_attention_heads: number;
  declare num_hidden_layers: number;
}

// ---------------------------------------------------------------------------------------------
// The composite
// ---------------------------------------------------------------------------------------------

/**
 * VisionEncoderDecoder ('vision-encoder-decoder'): an `encoder` and a `decoder` config, each
 * built by its model_type. Top-level keys such as `decoder_start_token_id`, `pad_token_id`,
 * `eos_token_id`, `tie_word_embeddings` are kept as given.
 */
export class VisionEncoderDecoderConfig extends PretrainedConfig {
  static override readonly model_type: string = 'vision-encoder-decoder';
  static override readonly has_no_defaults_at_init: boolean = true;
  static override readonly defaults: Readonly<ConfigDict> = { is_encoder_decoder: true };

  declare encoder: PretrainedConfig;
  declare decoder: PretrainedConfig;

  protected override __post_init__(kwargs: ConfigDict): void {
    if (!('encoder' in kwargs) || !('decoder' in kwargs)) {
      throw new Error(`A configuration of type ${VisionEncoderDecoderConfig.model_type} cannot be instantiated because not both \`encoder\` and \`decoder\` sub-configurations are passed, but only ${JSON.stringify(Object.keys(kwargs))}`);
    }
    this.encoder = buildSubConfig('encoder', kwargs.encoder);
    this.decoder = buildSubConfig('decoder', kwargs.decoder);
    delete kwargs.encoder;
    delete kwargs.decoder;
  }

  /**
   * The composite of two configs, as Python: marks `decoder_config` itself as a decoder with
   * cross-attention (`is_decoder`, `add_cross_attention` set on the object passed in), then
   * builds the composite from copies of both (later changes to the arguments do not reach it).
   */
  static from_encoder_decoder_configs(encoder_config: PretrainedConfig, decoder_config: PretrainedConfig, kwargs: ConfigDict = {}): VisionEncoderDecoderConfig {
    decoder_config.is_decoder = true;
    decoder_config.add_cross_attention = true;
    return new this({ encoder: encoder_config.to_dict(), decoder: decoder_config.to_dict(), ...kwargs });
  }
}

function buildSubConfig(name: string, value: unknown): PretrainedConfig {
  if (value instanceof PretrainedConfig) return AutoConfig.for_model(value.model_type, value.to_dict());
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`'${name}' must be a config or a dict with a 'model_type', got ${JSON.stringify(value)}`);
  }
  const { model_type, ...rest } = value as ConfigDict;
  if (typeof model_type !== 'string') {
    throw new Error(`'${name}' has no 'model_type' key; expected one of ${Object.keys(CONFIG_MAPPING).join(', ')}`);
  }
  try {
    return AutoConfig.for_model(model_type, rest);
  } catch (err) {
    throw new Error(`'${name}': ${(err as Error).message}`, { cause: err });
  }
}

for (const cls of [ViTConfig, DeiTConfig, BeitConfig, DonutSwinConfig, SwinConfig, GPT2Config, BertConfig, RobertaConfig, BartConfig, MBartConfig, TrOCRConfig, VisionEncoderDecoderConfig]) {
  installAliases(cls);
}

// ---------------------------------------------------------------------------------------------
// AutoConfig
// ---------------------------------------------------------------------------------------------

/** model_type → config class, as transformers' CONFIG_MAPPING (for the types supported here). */
export const CONFIG_MAPPING: Readonly<Record<string, ConfigClass>> = Object.freeze({
  vit: ViTConfig,
  deit: DeiTConfig,
  beit: BeitConfig,
  swin: SwinConfig,
  'donut-swin': DonutSwinConfig,
  gpt2: GPT2Config,
  bert: BertConfig,
  roberta: RobertaConfig,
  bart: BartConfig,
  mbart: MBartConfig,
  trocr: TrOCRConfig,
  'vision-encoder-decoder': VisionEncoderDecoderConfig,
});

function configClassFor(model_type: string): ConfigClass {
  const cls = Object.hasOwn(CONFIG_MAPPING, model_type) ? CONFIG_MAPPING[model_type] : undefined;
  if (!cls) {
    throw new Error(`Unrecognized model_type '${model_type}'. Supported model types: ${Object.keys(CONFIG_MAPPING).join(', ')}`);
  }
  return cls;
}

/** Builds the config class named by a `model_type`. */
export class AutoConfig {
  private constructor() {}

  /** `new <class of model_type>(kwargs)`. */
  static for_model(model_type: string, kwargs: ConfigDict = {}): PretrainedConfig {
    return new (configClassFor(model_type))(kwargs);
  }

  /** The config a dict describes, by its `model_type` key. */
  static from_dict(dict: ConfigDict, kwargs: ConfigDict = {}): PretrainedConfig {
    if (typeof dict.model_type !== 'string') {
      throw new Error(`The config has no 'model_type' key; expected one of ${Object.keys(CONFIG_MAPPING).join(', ')}`);
    }
    return configClassFor(dict.model_type).from_dict(dict, kwargs);
  }

  /** Reads config.json of a local directory or hub id and builds the class of its model_type. */
  static async from_pretrained(pathOrId: string, options: FromPretrainedOptions = {}, kwargs: ConfigDict = {}): Promise<PretrainedConfig> {
    const { dict, path } = await loadConfigDict(pathOrId, options);
    return withFileContext(path, () => AutoConfig.from_dict(dict, kwargs));
  }
}

/**
 * Splits `from_encoder_decoder_pretrained` keyword arguments as Python does: `encoder_x` → the
 * encoder's `x`, `decoder_x` → the decoder's `x`, anything else stays with the model. (As in
 * Python, `decoder_start_token_id` therefore becomes the decoder's `start_token_id`; set the
 * composite's start token on the config afterwards.)
 */
export function splitEncoderDecoderKwargs(kwargs: ConfigDict): { encoder: ConfigDict; decoder: ConfigDict; rest: ConfigDict } {
  const encoder: ConfigDict = {};
  const decoder: ConfigDict = {};
  const rest: ConfigDict = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (key.startsWith('encoder_')) encoder[key.slice('encoder_'.length)] = value;
    else if (key.startsWith('decoder_')) decoder[key.slice('decoder_'.length)] = value;
    else rest[key] = value;
  }
  return { encoder, decoder, rest };
}
