// The contract between the composite model (vision_encoder_decoder.ts) and the architecture
// files. Each architecture file exports one object implementing EncoderArch or DecoderArch, and
// registers it in ENCODERS / DECODERS by model_type (see the bottom of registry.ts).
//
// Names: an architecture builds under the context it is given, with the names its standalone HF
// model has (ViTModel: 'embeddings.cls_token', ...; GPT2LMHeadModel: 'transformer.h.0.attn.c_attn.weight',
// ...). The composite scopes it under 'encoder.' / 'decoder.'.

import { type Sym } from '../graph/graph.js';
import { type AnyConfig, type Ctx } from './modeling_utils.js';

export interface EncoderOutputs {
  /** [B, S, hidden_size] */
  last_hidden_state: Sym;
  /** With output_hidden_states: the embeddings output and every layer's output, as Python returns them. */
  hidden_states?: Sym[];
  /** With output_attentions: every layer's attention probabilities. */
  attentions?: Sym[];
}

export interface EncoderArch {
  readonly model_type: string;
  /** pixel_values float32 [B, C, H, W] → states. Also declares parameters Python has but the output does not use (ViT's pooler), so that they load and save. */
  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts?: { output_hidden_states?: boolean; output_attentions?: boolean }): EncoderOutputs;
  /** Standalone checkpoints of task models carry a prefix ('vit.', 'deit.', 'beit.', 'swin.', 'donut.'): stripped on load. */
  readonly checkpoint_prefixes: string[];
}

export interface KV {
  key: Sym; // [B, heads, S, head_dim]
  value: Sym;
}

export interface DecoderInputs {
  /** int64 [B, T]; or give inputs_embeds. */
  input_ids?: Sym | null;
  /** float32 [B, T, hidden] (replaces the token embedding lookup, as Python's decoder_inputs_embeds). */
  inputs_embeds?: Sym | null;
  /** int64 [B, P + T], 1 = attend. */
  attention_mask?: Sym | null;
  /** [B, S, cross_attention_hidden] — the encoder states (after enc_to_dec_proj). Needed unless `cross` is given. */
  encoder_hidden_states?: Sym | null;
  /** Precomputed cross-attention K/V per layer (from crossKV): then encoder_hidden_states is not needed. */
  cross?: KV[] | null;
  /** Self-attention cache per layer, [B, heads, P, head_dim] each. */
  past?: KV[] | null;
  output_hidden_states?: boolean;
  output_attentions?: boolean;
}

export interface DecoderOutputs {
  /** [B, T, vocab_size] */
  logits: Sym;
  /** Self-attention K/V per layer including this call's positions: [B, heads, P + T, head_dim]. */
  present: KV[];
  hidden_states?: Sym[];
  attentions?: Sym[];
  cross_attentions?: Sym[];
}

export interface DecoderArch {
  readonly model_type: string;
  forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs;
  /** Each layer's cross-attention K/V from the encoder states: computed once per image for generation. */
  crossKV(ctx: Ctx, config: AnyConfig, encoder_hidden_states: Sym): KV[];
  /** [heads, head_dim] of the self-attention cache, and the layer count. */
  cacheShape(config: AnyConfig): { layers: number; heads: number; head_dim: number };
  /** Weight names (local) that are aliases of others when tie_word_embeddings (e.g. 'lm_head.weight'): skipped on load and save. */
  tiedKeys(config: AnyConfig): string[];
  /** Prefixes of standalone checkpoints to map onto this model's names (e.g. RobertaForMaskedLM 'roberta.' is already ours; BartModel 'model.'?). */
  readonly checkpoint_prefixes?: string[];
}
