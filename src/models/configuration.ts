// Model configurations, as Python transformers 5.x has them (each model's configuration_*.py):
// one class per `model_type`, every default value of transformers and the attribute aliases of
// `attribute_map`, on PretrainedConfig (./configuration_utils.ts, re-exported here); then
// VisionEncoderDecoderConfig and AutoConfig.
import { PretrainedConfig, alignBackboneOutputs, installAliases, loadConfigDict, withFileContext, type ConfigClass, type ConfigDict, type FromPretrainedOptions } from './configuration_utils.js';

export * from './configuration_utils.js';
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
