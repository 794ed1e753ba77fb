// BART (model_type 'bart'): transformers' BartForCausalLM, the decoder-only BART that
// VisionEncoderDecoderModel builds — BartDecoderWrapper `model.decoder` (scaled token embeddings,
// learned positions with BART's offset of 2, `layernorm_embedding`, post-LN layers with
// self-attention, cross-attention and a feed-forward block) and `lm_head`, tied to
// `model.decoder.embed_tokens` unless tie_word_embeddings is false. BartForCausalLM has no
// final_logits_bias (only BartForConditionalGeneration does).
//
// mBART (mbart.ts) and TrOCR (trocr.ts) reuse the pieces exported here: their attention modules
// are "Copied from Bart" in transformers, and TrOCR's decoder layer is BART's post-LN layer.

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs, type KV } from './architectures.js';
import { attention, attentionProbs, causalMask, fusedCachedSelfAttention, fusedCrossAttention, mergeHeads, positionIds, splitHeads } from './layers.js';
import { type AnyConfig, type Ctx, type Init, normal } from './modeling_utils.js';

/** The decoder fields the BART family reads, with the defaults of the model's config class. */
export interface BartDecoderSettings {
  /** model_type, for error messages. */
  name: string;
  hidden: number;
  heads: number;
  headDim: number;
  ffn: number;
  layers: number;
  act: string;
  dropout: number;
  attentionDropout: number;
  activationDropout: number;
  std: number;
  vocab: number;
  maxPositions: number;
  padIdx: number | null;
  /** sqrt(d_model) with scale_embedding, else 1. */
  embedScale: number;
  tie: boolean;
  /** Input size of the cross-attention K/V projections (TrOCR's cross_attention_hidden_size; d_model otherwise). */
  kvDim: number;
  /** torch.nn.LayerNorm's default: the BART family never sets another. */
  eps: number;
  /** Whether output_attentions returns the probabilities after attention dropout (transformers 5's eager attention) or before (TrOCR's own attention). */
  probsAfterDropout: boolean;
}

/** BartConfig's decoder defaults (facebook/bart-large); MBartConfig has the same. */
export const BART_DEFAULTS = {
  vocab_size: 50265,
  max_position_embeddings: 1024,
  decoder_layers: 12,
  decoder_ffn_dim: 4096,
  decoder_attention_heads: 16,
  activation_function: 'gelu',
  d_model: 1024,
  dropout: 0.1,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  init_std: 0.02,
  scale_embedding: false,
  pad_token_id: 1,
  tie_word_embeddings: true,
} as const;

function positiveInt(config: AnyConfig, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${config.model_type ?? 'decoder'} config: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function rate(config: AnyConfig, key: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new Error(`${config.model_type ?? 'decoder'} config: ${key} must be a probability in [0, 1), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads and checks a BART-family decoder config, filling absent keys from `defaults`. */
export function bartDecoderSettings(config: AnyConfig, defaults: Record<string, unknown> = BART_DEFAULTS, opts: { kvDim?: number | null; probsAfterDropout?: boolean } = {}): BartDecoderSettings {
  const get = (key: string): unknown => config[key] ?? defaults[key];
  const name: string = config.model_type ?? 'bart';
  const hidden = positiveInt(config, 'd_model', get('d_model'));
  const heads = positiveInt(config, 'decoder_attention_heads', get('decoder_attention_heads'));
  if (hidden % heads !== 0) throw new Error(`${name} config: d_model (${hidden}) must be a multiple of decoder_attention_heads (${heads})`);
  const act = get('activation_function');
  if (typeof act !== 'string') throw new Error(`${name} config: activation_function must be an activation name, got ${JSON.stringify(act)}`);
  const pad = config.pad_token_id === undefined ? defaults.pad_token_id : config.pad_token_id;
  if (pad !== null && pad !== undefined && (typeof pad !== 'number' || !Number.isInteger(pad))) {
    throw new Error(`${name} config: pad_token_id must be an integer or null, got ${JSON.stringify(pad)}`);
  }
  const vocab = positiveInt(config, 'vocab_size', get('vocab_size'));
  const padIdx = pad === null || pad === undefined ? null : pad < 0 ? pad + vocab : pad;
  if (padIdx !== null && (padIdx < 0 || padIdx >= vocab)) throw new Error(`${name} config: pad_token_id ${pad} is outside the vocabulary (vocab_size ${vocab})`);
  const std = get('init_std');
  if (typeof std !== 'number' || !(std >= 0)) throw new Error(`${name} config: init_std must be a non-negative number, got ${JSON.stringify(std)}`);
  const kvDim = opts.kvDim === null || opts.kvDim === undefined ? hidden : positiveInt(config, 'cross_attention_hidden_size', opts.kvDim);
  return {
    name,
    hidden,
    heads,
    headDim: hidden / heads,
    ffn: positiveInt(config, 'decoder_ffn_dim', get('decoder_ffn_dim')),
    layers: positiveInt(config, 'decoder_layers', get('decoder_layers')),
    act,
    dropout: rate(config, 'dropout', get('dropout')),
    attentionDropout: rate(config, 'attention_dropout', get('attention_dropout')),
    activationDropout: rate(config, 'activation_dropout', get('activation_dropout')),
    std,
    vocab,
    maxPositions: positiveInt(config, 'max_position_embeddings', get('max_position_embeddings')),
    padIdx,
    embedScale: get('scale_embedding') ? Math.sqrt(hidden) : 1.0,
    tie: (get('tie_word_embeddings') ?? true) !== false,
    kvDim,
    eps: 1e-5,
    probsAfterDropout: opts.probsAfterDropout ?? true,
  };
}

/** ACT2FN[activation_function], with an error that names the config key. */
export function activationFn(s: BartDecoderSettings, x: Sym): Sym {
  try {
    return F.activation(s.act, x);
  } catch (e) {
    throw new Error(`${s.name} config: activation_function: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/** The token embedding table (`embed_tokens.weight` under the decoder), initialised as _init_weights does (padding row zeroed). */
export function tokenEmbeddingInit(s: BartDecoderSettings): Init {
  return { kind: 'embedding', std: s.std, padding_idx: s.padIdx };
}

/**
 * BartScaledWordEmbedding `embed_tokens` (ctx = the decoder): the lookup times embed_scale. As
 * torch.nn.Embedding with padding_idx, the padding row takes no gradient from the lookup (it
 * still takes the LM head's when tied): its positions read the row through a
 * non-differentiable path.
 */
export function scaledTokenEmbedding(ctx: Ctx, s: BartDecoderSettings, ids: Sym): Sym {
  const weight = ctx.scope('embed_tokens').param('weight', [s.vocab, s.hidden], tokenEmbeddingInit(s));
  let e = F.gather(weight, ids, 0);
  if (s.padIdx !== null && (ctx.training || ctx.g.paramMode === 'input')) {
    // Only graphs that can be differentiated (weights fed as inputs) need this.
    // ReduceMax over a unit axis is the identity with no gradient rule (ops.ts lists it as non-differentiable).
    const detached = F.reduceMax(F.unsqueeze(e, [-1]), [-1], false);
    e = F.where(F.unsqueeze(F.equal(ids, s.padIdx), [-1]), detached, e);
  }
  return F.mul(e, s.embedScale);
}

/**
 * BartLearnedPositionalEmbedding `embed_positions` (ctx = the decoder): a table of
 * max_position_embeddings + 2 rows read at past length + arange(T) + 2. Returns [1, T, D].
 */
export function learnedPositions(ctx: Ctx, s: BartDecoderSettings, T: number | Sym, P: number | Sym, like: Sym): Sym {
  const OFFSET = 2;
  const ids = F.add(positionIds(T, P, like), OFFSET);
  return ctx.embedding('embed_positions', ids, s.maxPositions + OFFSET, s.hidden, s.std, null);
}

// ---------------------------------------------------------------------------------------------
// Attention (BartAttention: q_proj, k_proj, v_proj, out_proj; queries scaled by head_dim^-0.5)

function attend(ctx: Ctx, s: BartDecoderSettings, q: Sym, k: Sym, v: Sym, mask: Sym | null): { out: Sym; probs: Sym } {
  const kept: { probs?: Sym } = {};
  const { context, probs } = attention(q, k, v, {
    scale: s.headDim ** -0.5,
    mask,
    dropout: (p) => (kept.probs = ctx.dropout(p, s.attentionDropout)),
  });
  const out = ctx.linear('out_proj', mergeHeads(context, s.heads, s.headDim), s.hidden, s.hidden, { std: s.std });
  return { out, probs: s.probsAfterDropout ? kept.probs! : probs };
}

/** Decoder self-attention (ctx = `self_attn`): this call's K/V appended to the cache along the sequence axis. */
export function selfAttention(ctx: Ctx, s: BartDecoderSettings, x: Sym, mask: Sym, past: KV | null): { out: Sym; present: KV; probs: Sym } {
  const [qp, kp, vp] = ['q_proj', 'k_proj', 'v_proj'].map((n) => ctx.linear(n, x, s.hidden, s.hidden, { std: s.std })) as [Sym, Sym, Sym];
  if (ctx.inference && past) {
    // Decode steps: the cache and softmax(QKᵀ)V in one MultiHeadAttention kernel.
    const fused = fusedCachedSelfAttention(qp, kp, vp, past, s.heads, s.headDim ** -0.5, mask);
    const out = ctx.linear('out_proj', fused.context, s.hidden, s.hidden, { std: s.std });
    return { out, present: fused.present, probs: attentionProbs(qp, fused.present.key, s.heads, s.headDim ** -0.5, mask) };
  }
  const q = splitHeads(qp, s.heads, s.headDim);
  let key = splitHeads(kp, s.heads, s.headDim);
  let value = splitHeads(vp, s.heads, s.headDim);
  if (past) {
    key = F.concat([past.key, key], 2);
    value = F.concat([past.value, value], 2);
  }
  const { out, probs } = attend(ctx, s, q, key, value, mask);
  return { out, present: { key, value }, probs };
}

/** The cross-attention's K/V from the encoder states (ctx = `encoder_attn`): [B, heads, S, head_dim] each. */
export function crossAttentionKV(ctx: Ctx, s: BartDecoderSettings, encoderHiddenStates: Sym): KV {
  const d = encoderHiddenStates.shape[encoderHiddenStates.rank - 1];
  if (encoderHiddenStates.rank !== 3 || (typeof d === 'number' && d !== s.kvDim)) {
    throw new Error(
      `${s.name}: encoder_hidden_states must be [batch, encoder_length, ${s.kvDim}], got [${encoderHiddenStates.shape.join(', ')}]` +
        (s.kvDim === s.hidden ? ' (project the encoder states to d_model first: enc_to_dec_proj)' : ''),
    );
  }
  return {
    key: splitHeads(ctx.linear('k_proj', encoderHiddenStates, s.kvDim, s.hidden, { std: s.std }), s.heads, s.headDim),
    value: splitHeads(ctx.linear('v_proj', encoderHiddenStates, s.kvDim, s.hidden, { std: s.std }), s.heads, s.headDim),
  };
}

/** Cross-attention over the encoder (ctx = `encoder_attn`), every encoder position visible. */
export function crossAttention(ctx: Ctx, s: BartDecoderSettings, x: Sym, kv: KV): { out: Sym; probs: Sym } {
  const qp = ctx.linear('q_proj', x, s.hidden, s.hidden, { std: s.std });
  if (ctx.inference) {
    const context = fusedCrossAttention(qp, kv, s.heads, s.headDim ** -0.5);
    return { out: ctx.linear('out_proj', context, s.hidden, s.hidden, { std: s.std }), probs: attentionProbs(qp, kv.key, s.heads, s.headDim ** -0.5, null) };
  }
  return attend(ctx, s, splitHeads(qp, s.heads, s.headDim), kv.key, kv.value, null);
}

// ---------------------------------------------------------------------------------------------
// Layers

export interface LayerResult {
  out: Sym;
  present: KV;
  selfProbs: Sym;
  crossProbs: Sym;
}

/** The feed-forward block's inner part: fc2(dropout(act(fc1(x)))). */
export function feedForward(ctx: Ctx, s: BartDecoderSettings, x: Sym): Sym {
  const h = ctx.dropout(activationFn(s, ctx.linear('fc1', x, s.hidden, s.ffn, { std: s.std })), s.activationDropout);
  return ctx.linear('fc2', h, s.ffn, s.hidden, { std: s.std });
}

/**
 * BartDecoderLayer (ctx = `layers.N`), post-LN: each block adds its (dropped-out) output to the
 * residual and then normalises. `cross` is this layer's precomputed cross K/V, or null to
 * project `encoderHiddenStates` here.
 */
export function postLnDecoderLayer(ctx: Ctx, s: BartDecoderSettings, x: Sym, mask: Sym, past: KV | null, cross: KV | null, encoderHiddenStates: Sym | null): LayerResult {
  const sa = selfAttention(ctx.scope('self_attn'), s, x, mask, past);
  let h = ctx.layerNorm('self_attn_layer_norm', F.add(x, ctx.dropout(sa.out, s.dropout)), s.hidden, s.eps);

  const encoderAttn = ctx.scope('encoder_attn');
  const kv = cross ?? crossAttentionKV(encoderAttn, s, encoderHiddenStates!);
  const ca = crossAttention(encoderAttn, s, h, kv);
  h = ctx.layerNorm('encoder_attn_layer_norm', F.add(h, ctx.dropout(ca.out, s.dropout)), s.hidden, s.eps);

  const ff = ctx.dropout(feedForward(ctx, s, h), s.dropout);
  h = ctx.layerNorm('final_layer_norm', F.add(h, ff), s.hidden, s.eps);
  return { out: h, present: sa.present, selfProbs: sa.probs, crossProbs: ca.probs };
}

// ---------------------------------------------------------------------------------------------
// The decoder's inputs, masks and head

export interface DecoderPrelude {
  ids: Sym | null;
  embeds: Sym | null;
  /** This call's length and the cache's length (numbers or runtime int64 scalars). */
  T: number | Sym;
  P: number | Sym;
  /** Additive causal + padding mask [B or 1, 1, T, P + T]. */
  selfMask: Sym;
  past: KV[] | null;
  cross: KV[] | null;
  encoderHiddenStates: Sym | null;
}

/** Checks a decoder call's inputs against the contract and builds the self-attention mask. */
export function decoderPrelude(s: BartDecoderSettings, inputs: DecoderInputs): DecoderPrelude {
  const ids = inputs.input_ids ?? null;
  const embeds = inputs.inputs_embeds ?? null;
  if (ids && embeds) throw new Error(`${s.name}: give input_ids or inputs_embeds, not both`);
  if (!ids && !embeds) throw new Error(`${s.name}: the decoder needs input_ids or inputs_embeds`);
  if (ids && (ids.rank !== 2 || (ids.dtype !== 'int64' && ids.dtype !== 'int32'))) {
    throw new Error(`${s.name}: input_ids must be int64 [batch, length], got ${ids.dtype} [${ids.shape.join(', ')}]`);
  }
  if (embeds) {
    const d = embeds.shape[embeds.rank - 1];
    if (embeds.rank !== 3 || (typeof d === 'number' && d !== s.hidden)) {
      throw new Error(`${s.name}: inputs_embeds must be [batch, length, ${s.hidden}], got [${embeds.shape.join(', ')}]`);
    }
  }
  const like = (ids ?? embeds)!;
  const past = inputs.past ?? null;
  const cross = inputs.cross ?? null;
  if (past && past.length !== s.layers) throw new Error(`${s.name}: past has ${past.length} layers, the model has ${s.layers} (decoder_layers)`);
  if (cross && cross.length !== s.layers) throw new Error(`${s.name}: cross has ${cross.length} layers, the model has ${s.layers} (decoder_layers)`);
  const encoderHiddenStates = inputs.encoder_hidden_states ?? null;
  if (!cross && !encoderHiddenStates) throw new Error(`${s.name}: the decoder needs encoder_hidden_states or precomputed cross-attention K/V (cross)`);
  const T = F.dimOf(like, 1);
  const P = past ? F.dimOf(past[0]!.key, 2) : 0;
  const mask = inputs.attention_mask ?? null;
  if (mask && mask.rank !== 2) throw new Error(`${s.name}: attention_mask must be [batch, past + length], got [${mask.shape.join(', ')}]`);
  const selfMask = causalMask(like, T, P, mask);
  return { ids, embeds, T, P, selfMask, past, cross, encoderHiddenStates };
}

/**
 * The LM head (ctx = the model root): `local`.weight [vocab, d_model] without bias, or the token
 * embedding itself when tied. Gemm(transB) lets one table serve as lookup and head.
 */
export function lmHead(ctx: Ctx, s: BartDecoderSettings, h: Sym, local: string, embedTokens: string): Sym {
  const w = s.tie ? ctx.param(embedTokens, [s.vocab, s.hidden], tokenEmbeddingInit(s)) : ctx.scope(local).param('weight', [s.vocab, s.hidden], normal(s.std));
  const flat = F.gemmTransB(F.reshape(h, [-1, s.hidden]), w);
  const g = h.graph;
  const shape = F.concat([F.slice(F.shapeOf(h), [0], [2], [0]), g.int64s([s.vocab])], 0);
  return g.addNode('Reshape', [flat, shape], {}, [{ dtype: flat.dtype, shape: [h.shape[0]!, h.shape[1]!, s.vocab] }])[0]!;
}

/** Collects what a decoder returns, as Python's CausalLMOutputWithCrossAttentions. */
export function decoderOutputs(logits: Sym, layers: LayerResult[], hidden: Sym[], inputs: DecoderInputs): DecoderOutputs {
  const out: DecoderOutputs = { logits, present: layers.map((l) => l.present) };
  if (inputs.output_hidden_states) out.hidden_states = hidden;
  if (inputs.output_attentions) {
    out.attentions = layers.map((l) => l.selfProbs);
    out.cross_attentions = layers.map((l) => l.crossProbs);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// BartForCausalLM

const EMBED_TOKENS = 'model.decoder.embed_tokens.weight';

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = bartDecoderSettings(config);
  const p = decoderPrelude(s, inputs);
  const decoder = ctx.scope('model').scope('decoder');

  // BartDecoder: embeddings (inputs_embeds are used as given, unscaled), positions, layernorm_embedding, dropout.
  const embeds = p.embeds ?? scaledTokenEmbedding(decoder, s, p.ids!);
  let h = F.add(embeds, learnedPositions(decoder, s, p.T, p.P, (p.ids ?? p.embeds)!));
  h = decoder.layerNorm('layernorm_embedding', h, s.hidden, s.eps);
  h = decoder.dropout(h, s.dropout);

  const hidden: Sym[] = [];
  const layers: LayerResult[] = [];
  for (let i = 0; i < s.layers; i++) {
    hidden.push(h);
    const r = postLnDecoderLayer(decoder.scope('layers').scope(i), s, h, p.selfMask, p.past?.[i] ?? null, p.cross?.[i] ?? null, p.encoderHiddenStates);
    layers.push(r);
    h = r.out;
  }
  hidden.push(h);

  const logits = lmHead(ctx, s, h, 'lm_head', EMBED_TOKENS);
  return decoderOutputs(logits, layers, hidden, inputs);
}

/**
 * The DecoderArch of a BART-family decoder (BART, mBART, TrOCR): each keeps its layers under
 * model.decoder.layers.N with the cross-attention in `encoder_attn`, and ties its LM head
 * (`head`) to model.decoder.embed_tokens.
 */
export function bartFamilyArch(model_type: string, settings: (config: AnyConfig) => BartDecoderSettings, forward: DecoderArch['forward'], head: string): DecoderArch {
  return {
    model_type,
    forward,
    crossKV(ctx: Ctx, config: AnyConfig, encoderHiddenStates: Sym): KV[] {
      const s = settings(config);
      const layers = ctx.scope('model').scope('decoder').scope('layers');
      return Array.from({ length: s.layers }, (_, i) => crossAttentionKV(layers.scope(i).scope('encoder_attn'), s, encoderHiddenStates));
    },
    cacheShape(config: AnyConfig) {
      const s = settings(config);
      return { layers: s.layers, heads: s.heads, head_dim: s.headDim };
    },
    tiedKeys(config: AnyConfig): string[] {
      return settings(config).tie ? [`${head}.weight`] : [];
    },
  };
}

export const BART: DecoderArch = bartFamilyArch('bart', (config) => bartDecoderSettings(config), forward, 'lm_head');
