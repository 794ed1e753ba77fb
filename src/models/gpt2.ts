// GPT2LMHeadModel as the text decoder of a VisionEncoderDecoderModel, as transformers'
// models/gpt2/modeling_gpt2.py (5.x): pre-LayerNorm blocks of causal self-attention, cross-attention
// over the encoder states (add_cross_attention) and an MLP, all projections transformers' Conv1D
// (weight stored [in, out]); the LM head shares the token embedding matrix when
// tie_word_embeddings (the default).
//
// Weight names are GPT2LMHeadModel's: 'transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', ...

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs, type KV } from './architectures.js';
import { type AnyConfig, type Ctx, type Init, normal } from './modeling_utils.js';
import { attention, attentionProbs, causalMask, fusedCachedSelfAttention, fusedCrossAttention, mergeHeads, positionIds, splitHeads } from './layers.js';

/** The config values GPT-2 reads (config.json keys, with GPT2Config's defaults). */
interface GPT2Settings {
  vocab: number;
  positions: number;
  embed: number;
  layers: number;
  heads: number;
  headDim: number;
  inner: number;
  act: string;
  eps: number;
  std: number;
  /** c_proj weights: initializer_range / sqrt(2 · n_layer), as GPT2PreTrainedModel._init_weights. */
  projStd: number;
  scaleAttnWeights: boolean;
  scaleByInverseLayerIdx: boolean;
  addCrossAttention: boolean;
  tie: boolean;
  embdPdrop: number;
  attnPdrop: number;
  residPdrop: number;
}

function settings(config: AnyConfig): GPT2Settings {
  const embed: number = config.n_embd ?? 768;
  const heads: number = config.n_head ?? 12;
  const layers: number = config.n_layer ?? 12;
  if (embed % heads !== 0) throw new Error(`gpt2: n_embd (${embed}) must be divisible by n_head (${heads})`);
  const std: number = config.initializer_range ?? 0.02;
  return {
    vocab: config.vocab_size ?? 50257,
    positions: config.n_positions ?? 1024,
    embed,
    layers,
    heads,
    headDim: embed / heads,
    inner: config.n_inner ?? 4 * embed,
    act: config.activation_function ?? 'gelu_new',
    eps: config.layer_norm_epsilon ?? 1e-5,
    std,
    projStd: std / Math.sqrt(2 * layers),
    scaleAttnWeights: config.scale_attn_weights ?? true,
    scaleByInverseLayerIdx: config.scale_attn_by_inverse_layer_idx ?? false,
    // reorder_and_upcast_attn only changes the order of the scaling and the precision under fp16
    // autocast: in float32 it computes the same attention, so it needs nothing here.
    addCrossAttention: config.add_cross_attention ?? false,
    tie: config.tie_word_embeddings ?? true,
    embdPdrop: config.embd_pdrop ?? 0.1,
    attnPdrop: config.attn_pdrop ?? 0.1,
    residPdrop: config.resid_pdrop ?? 0.1,
  };
}

const wteInit = (s: GPT2Settings): Init => ({ kind: 'embedding', std: s.std, padding_idx: null });

/** GPT2Attention (self): one c_attn projection to Q, K, V; the cache grows along the sequence axis. */
function selfAttention(ctx: Ctx, s: GPT2Settings, layerIdx: number, x: Sym, mask: Sym, past: KV | null) {
  const qkv = ctx.conv1d('c_attn', x, s.embed, 3 * s.embed, s.std);
  const [q, k, v] = F.split(qkv, [s.embed, s.embed, s.embed], -1) as [Sym, Sym, Sym];
  if (ctx.inference && past) {
    const fused = fusedCachedSelfAttention(q, k, v, past, s.heads, attnScale(s, layerIdx), mask);
    const out = ctx.conv1d('c_proj', fused.context, s.embed, s.embed, s.projStd);
    return { out, present: fused.present, probs: attentionProbs(q, fused.present.key, s.heads, attnScale(s, layerIdx), mask) };
  }
  let key = splitHeads(k, s.heads, s.headDim);
  let value = splitHeads(v, s.heads, s.headDim);
  if (past) {
    key = F.concat([past.key, key], 2);
    value = F.concat([past.value, value], 2);
  }
  const { context, probs } = attention(splitHeads(q, s.heads, s.headDim), key, value, {
    scale: attnScale(s, layerIdx),
    mask,
    dropout: (p) => ctx.dropout(p, s.attnPdrop),
  });
  let out = ctx.conv1d('c_proj', mergeHeads(context, s.heads, s.headDim), s.embed, s.embed, s.projStd);
  out = ctx.dropout(out, s.residPdrop);
  return { out, present: { key, value }, probs };
}

function attnScale(s: GPT2Settings, layerIdx: number): number {
  let scale = s.scaleAttnWeights ? 1 / Math.sqrt(s.headDim) : 1;
  if (s.scaleByInverseLayerIdx) scale /= layerIdx + 1;
  return scale;
}

/** GPT2Attention (is_cross_attention): K and V from the encoder states through c_attn. */
function crossKeyValue(ctx: Ctx, s: GPT2Settings, encoderStates: Sym): KV {
  const kv = ctx.conv1d('c_attn', encoderStates, s.embed, 2 * s.embed, s.std);
  const [k, v] = F.split(kv, [s.embed, s.embed], -1) as [Sym, Sym];
  return { key: splitHeads(k, s.heads, s.headDim), value: splitHeads(v, s.heads, s.headDim) };
}

function crossAttention(ctx: Ctx, s: GPT2Settings, layerIdx: number, x: Sym, kv: KV) {
  const q = ctx.conv1d('q_attn', x, s.embed, s.embed, s.std);
  if (ctx.inference) {
    const context = fusedCrossAttention(q, kv, s.heads, attnScale(s, layerIdx));
    return { out: ctx.conv1d('c_proj', context, s.embed, s.embed, s.projStd), probs: attentionProbs(q, kv.key, s.heads, attnScale(s, layerIdx), null) };
  }
  const { context, probs } = attention(splitHeads(q, s.heads, s.headDim), kv.key, kv.value, {
    scale: attnScale(s, layerIdx),
    dropout: (p) => ctx.dropout(p, s.attnPdrop),
  });
  let out = ctx.conv1d('c_proj', mergeHeads(context, s.heads, s.headDim), s.embed, s.embed, s.projStd);
  out = ctx.dropout(out, s.residPdrop);
  return { out, probs };
}

/** GPT2MLP */
function mlp(ctx: Ctx, s: GPT2Settings, x: Sym): Sym {
  let h = ctx.conv1d('c_fc', x, s.embed, s.inner, s.std);
  h = F.activation(s.act, h);
  h = ctx.conv1d('c_proj', h, s.inner, s.embed, s.projStd);
  return ctx.dropout(h, s.residPdrop);
}

/** Logits [B, T, V] = hidden [B, T, E] · Wᵀ as one Gemm(transB), so a tied embedding serves as both lookup and head. */
export function lmHeadGemm(hidden: Sym, weight: Sym, bias: Sym | null, vocab: number): Sym {
  const g = hidden.graph;
  const flat = F.reshape(hidden, [-1, hidden.shape[hidden.rank - 1] as number]);
  const y = F.gemmTransB(flat, weight, bias ?? undefined);
  const shape = F.concat([F.slice(F.shapeOf(hidden), [0], [hidden.rank - 1], [0]), g.int64s([vocab])], 0);
  return g.addNode('Reshape', [y, shape], {}, [{ dtype: y.dtype, shape: [...hidden.shape.slice(0, -1), vocab] }])[0]!;
}

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = settings(config);
  const tr = ctx.scope('transformer');
  const { input_ids, inputs_embeds, attention_mask, encoder_hidden_states, cross, past } = inputs;
  if ((input_ids ? 1 : 0) + (inputs_embeds ? 1 : 0) !== 1) throw new Error('gpt2: give exactly one of input_ids or inputs_embeds');
  if (past && past.length !== s.layers) throw new Error(`gpt2: past has ${past.length} layers, the config has n_layer = ${s.layers}`);
  if (cross && cross.length !== s.layers) throw new Error(`gpt2: cross has ${cross.length} layers, the config has n_layer = ${s.layers}`);
  const attendsEncoder = !!(cross || encoder_hidden_states);
  if (attendsEncoder && !s.addCrossAttention) {
    throw new Error('gpt2: encoder states were given but the config has add_cross_attention = false (no crossattention layers)');
  }

  // Embeddings: tokens + learned absolute positions past .. past + T - 1 (GPT2Model builds them
  // from cache_position, whatever the attention mask says).
  const embeds = inputs_embeds ?? F.gather(tr.scope('wte').param('weight', [s.vocab, s.embed], wteInit(s)), input_ids!, 0);
  const T = F.dimOf(embeds, 1);
  const P = past ? F.dimOf(past[0]!.key, 2) : 0;
  const positions = positionIds(T, P, embeds);
  let hidden = F.add(embeds, F.gather(tr.scope('wpe').param('weight', [s.positions, s.embed], { kind: 'embedding', std: s.std, padding_idx: null }), positions, 0));
  hidden = tr.dropout(hidden, s.embdPdrop);

  const mask = causalMask(embeds, T, P, attention_mask);
  const present: KV[] = [];
  const hiddenStates: Sym[] = [];
  const attentions: Sym[] = [];
  const crossAttentions: Sym[] = [];
  for (let i = 0; i < s.layers; i++) {
    if (inputs.output_hidden_states) hiddenStates.push(hidden);
    const block = tr.scope('h').scope(i);
    // GPT2Block
    const a = selfAttention(block.scope('attn'), s, i, block.layerNorm('ln_1', hidden, s.embed, s.eps), mask, past?.[i] ?? null);
    hidden = F.add(a.out, hidden);
    present.push(a.present);
    attentions.push(a.probs);
    if (attendsEncoder) {
      const xa = block.scope('crossattention');
      const kv = cross ? cross[i]! : crossKeyValue(xa, s, encoder_hidden_states!);
      const c = crossAttention(xa, s, i, block.layerNorm('ln_cross_attn', hidden, s.embed, s.eps), kv);
      hidden = F.add(c.out, hidden);
      crossAttentions.push(c.probs);
    }
    hidden = F.add(mlp(block.scope('mlp'), s, block.layerNorm('ln_2', hidden, s.embed, s.eps)), hidden);
  }
  hidden = tr.layerNorm('ln_f', hidden, s.embed, s.eps);
  if (inputs.output_hidden_states) hiddenStates.push(hidden);

  // lm_head: Linear(n_embd, vocab_size, bias=False), its weight wte's when tied.
  const headWeight = s.tie ? tr.scope('wte').param('weight', [s.vocab, s.embed], wteInit(s)) : ctx.scope('lm_head').param('weight', [s.vocab, s.embed], normal(s.std));
  const logits = lmHeadGemm(hidden, headWeight, null, s.vocab);

  const out: DecoderOutputs = { logits, present };
  if (inputs.output_hidden_states) out.hidden_states = hiddenStates;
  if (inputs.output_attentions) {
    out.attentions = attentions;
    if (attendsEncoder) out.cross_attentions = crossAttentions;
  }
  return out;
}

export const GPT2: DecoderArch = {
  model_type: 'gpt2',
  forward,
  crossKV(ctx: Ctx, config: AnyConfig, encoder_hidden_states: Sym): KV[] {
    const s = settings(config);
    if (!s.addCrossAttention) throw new Error('gpt2: the config has add_cross_attention = false: there is no cross-attention to precompute');
    const out: KV[] = [];
    for (let i = 0; i < s.layers; i++) out.push(crossKeyValue(ctx.scope('transformer').scope('h').scope(i).scope('crossattention'), s, encoder_hidden_states));
    return out;
  },
  cacheShape(config: AnyConfig) {
    const s = settings(config);
    return { layers: s.layers, heads: s.heads, head_dim: s.headDim };
  },
  tiedKeys(config: AnyConfig): string[] {
    return settings(config).tie ? ['lm_head.weight'] : [];
  },
  // GPT2Model checkpoints (most hub GPT-2s) name the weights without GPT2LMHeadModel's base_model_prefix.
  checkpoint_prefixes: ['transformer.'],
};
