// BertLMHeadModel as the text decoder of a VisionEncoderDecoderModel, as transformers'
// models/bert/modeling_bert.py (5.x) with is_decoder and add_cross_attention: post-LayerNorm
// layers of causal self-attention, cross-attention over the encoder states and a feed-forward
// block; the MLM prediction head (dense, activation, LayerNorm, then the decoder matrix tied to
// the word embeddings, with its own bias 'cls.predictions.bias').
//
// The encoder stack (BertLayer and the pieces under it) is exported for RoBERTa, whose layers are
// BERT's, as modular_roberta.py reuses them.

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs, type KV } from './architectures.js';
import { type AnyConfig, type Ctx, normal, zeros } from './modeling_utils.js';
import { attention, attentionProbs, causalMask, fusedCachedSelfAttention, fusedCrossAttention, mergeHeads, positionIds, splitHeads } from './layers.js';

/** The config values a BERT-style decoder reads (config.json keys, with the config class's defaults). */
export interface BertSettings {
  model_type: string;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  headDim: number;
  intermediate: number;
  act: string;
  eps: number;
  std: number;
  maxPositions: number;
  typeVocab: number;
  pad: number | null;
  hiddenDropout: number;
  attnDropout: number;
  addCrossAttention: boolean;
  tie: boolean;
}

/** Reads a BERT-family config; `defaults` are the values its config class has where BertConfig's differ (RoBERTa's vocab_size, pad_token_id). */
export function bertSettings(config: AnyConfig, defaults: { model_type: string; vocab_size: number; pad_token_id: number }): BertSettings {
  const name = defaults.model_type;
  const hidden: number = config.hidden_size ?? 768;
  const heads: number = config.num_attention_heads ?? 12;
  if (hidden % heads !== 0) throw new Error(`${name}: hidden_size (${hidden}) must be divisible by num_attention_heads (${heads})`);
  const positionType = config.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new Error(`${name}: position_embedding_type '${positionType}' is not supported as a decoder; supported: 'absolute'`);
  }
  if (config.is_decoder === false || config.is_decoder === undefined) {
    throw new Error(`${name}: the decoder config needs is_decoder = true (causal self-attention), as VisionEncoderDecoderModel sets it; got ${config.is_decoder}`);
  }
  const act = config.hidden_act ?? 'gelu';
  if (typeof act !== 'string') throw new Error(`${name}: hidden_act must be an activation name, got ${JSON.stringify(act)}`);
  const pad = config.pad_token_id === undefined ? defaults.pad_token_id : config.pad_token_id;
  return {
    model_type: name,
    vocab: config.vocab_size ?? defaults.vocab_size,
    hidden,
    layers: config.num_hidden_layers ?? 12,
    heads,
    headDim: hidden / heads,
    intermediate: config.intermediate_size ?? 3072,
    act,
    eps: config.layer_norm_eps ?? 1e-12,
    std: config.initializer_range ?? 0.02,
    maxPositions: config.max_position_embeddings ?? 512,
    typeVocab: config.type_vocab_size ?? 2,
    pad,
    hiddenDropout: config.hidden_dropout_prob ?? 0.1,
    attnDropout: config.attention_probs_dropout_prob ?? 0.1,
    addCrossAttention: config.add_cross_attention ?? false,
    tie: config.tie_word_embeddings ?? true,
  };
}

export const wordEmbeddingInit = (s: BertSettings) => ({ kind: 'embedding' as const, std: s.std, padding_idx: s.pad });

/** BertSelfOutput / BertOutput: dense, dropout, then LayerNorm over the residual sum. */
function addAndNorm(ctx: Ctx, s: BertSettings, x: Sym, residual: Sym, inFeatures: number): Sym {
  let h = ctx.linear('dense', x, inFeatures, s.hidden, { std: s.std });
  h = ctx.dropout(h, s.hiddenDropout);
  return ctx.layerNorm('LayerNorm', F.add(h, residual), s.hidden, s.eps);
}

function attend(ctx: Ctx, s: BertSettings, q: Sym, kv: KV, mask: Sym | null) {
  return attention(q, kv.key, kv.value, { scale: 1 / Math.sqrt(s.headDim), mask, dropout: (p) => ctx.dropout(p, s.attnDropout) });
}

/** BertSelfAttention (self): Q, K, V from the hidden states; the cache grows along the sequence axis. */
function selfAttention(ctx: Ctx, s: BertSettings, x: Sym, mask: Sym, past: KV | null) {
  const [qp, kp, vp] = ['query', 'key', 'value'].map((n) => ctx.linear(n, x, s.hidden, s.hidden, { std: s.std })) as [Sym, Sym, Sym];
  if (ctx.inference && past) {
    // Decode steps: the cache and softmax(QKᵀ)V in one MultiHeadAttention kernel.
    const fused = fusedCachedSelfAttention(qp, kp, vp, past, s.heads, 1 / Math.sqrt(s.headDim), mask);
    return { context: fused.context, present: fused.present, probs: attentionProbs(qp, fused.present.key, s.heads, 1 / Math.sqrt(s.headDim), mask) };
  }
  const q = splitHeads(qp, s.heads, s.headDim);
  let key = splitHeads(kp, s.heads, s.headDim);
  let value = splitHeads(vp, s.heads, s.headDim);
  if (past) {
    key = F.concat([past.key, key], 2);
    value = F.concat([past.value, value], 2);
  }
  const { context, probs } = attend(ctx, s, q, { key, value }, mask);
  return { context: mergeHeads(context, s.heads, s.headDim), present: { key, value }, probs };
}

/** BertSelfAttention (is_cross_attention): K and V from the encoder states. */
function crossKeyValue(ctx: Ctx, s: BertSettings, encoderStates: Sym): KV {
  return {
    key: splitHeads(ctx.linear('key', encoderStates, s.hidden, s.hidden, { std: s.std }), s.heads, s.headDim),
    value: splitHeads(ctx.linear('value', encoderStates, s.hidden, s.hidden, { std: s.std }), s.heads, s.headDim),
  };
}

export interface BertStackOutputs {
  hidden: Sym;
  present: KV[];
  hidden_states: Sym[];
  attentions: Sym[];
  cross_attentions: Sym[];
}

/** BertEncoder over the embeddings output: `ctx` is the base model's ('bert', 'roberta'). */
export function bertEncoder(ctx: Ctx, s: BertSettings, embeddings: Sym, mask: Sym, inputs: DecoderInputs): BertStackOutputs {
  const { encoder_hidden_states, cross, past } = inputs;
  if (past && past.length !== s.layers) throw new Error(`${s.model_type}: past has ${past.length} layers, the config has num_hidden_layers = ${s.layers}`);
  if (cross && cross.length !== s.layers) throw new Error(`${s.model_type}: cross has ${cross.length} layers, the config has num_hidden_layers = ${s.layers}`);
  const attendsEncoder = !!(cross || encoder_hidden_states);
  if (attendsEncoder && !s.addCrossAttention) {
    throw new Error(`${s.model_type}: encoder states were given but the config has add_cross_attention = false (no crossattention layers)`);
  }
  const out: BertStackOutputs = { hidden: embeddings, present: [], hidden_states: [embeddings], attentions: [], cross_attentions: [] };
  let hidden = embeddings;
  for (let i = 0; i < s.layers; i++) {
    const layer = ctx.scope('encoder').scope('layer').scope(i);
    // BertLayer: attention (BertAttention: self + output), crossattention, intermediate, output.
    const a = selfAttention(layer.scope('attention').scope('self'), s, hidden, mask, past?.[i] ?? null);
    let attentionOutput = addAndNorm(layer.scope('attention').scope('output'), s, a.context, hidden, s.hidden);
    out.present.push(a.present);
    out.attentions.push(a.probs);
    if (attendsEncoder) {
      const xa = layer.scope('crossattention');
      const kv = cross ? cross[i]! : crossKeyValue(xa.scope('self'), s, encoder_hidden_states!);
      const qp = xa.scope('self').linear('query', attentionOutput, s.hidden, s.hidden, { std: s.std });
      let context: Sym;
      if (xa.inference) {
        context = fusedCrossAttention(qp, kv, s.heads, 1 / Math.sqrt(s.headDim));
        out.cross_attentions.push(attentionProbs(qp, kv.key, s.heads, 1 / Math.sqrt(s.headDim), null));
      } else {
        const c = attend(xa.scope('self'), s, splitHeads(qp, s.heads, s.headDim), kv, null);
        context = mergeHeads(c.context, s.heads, s.headDim);
        out.cross_attentions.push(c.probs);
      }
      attentionOutput = addAndNorm(xa.scope('output'), s, context, attentionOutput, s.hidden);
    }
    const intermediate = F.activation(s.act, layer.scope('intermediate').linear('dense', attentionOutput, s.hidden, s.intermediate, { std: s.std }));
    hidden = addAndNorm(layer.scope('output'), s, intermediate, attentionOutput, s.intermediate);
    out.hidden_states.push(hidden);
  }
  out.hidden = hidden;
  return out;
}

/** Each layer's cross-attention K/V: `ctx` is the base model's ('bert', 'roberta'). */
export function bertCrossKV(ctx: Ctx, s: BertSettings, encoderStates: Sym): KV[] {
  if (!s.addCrossAttention) throw new Error(`${s.model_type}: the config has add_cross_attention = false: there is no cross-attention to precompute`);
  const out: KV[] = [];
  for (let i = 0; i < s.layers; i++) out.push(crossKeyValue(ctx.scope('encoder').scope('layer').scope(i).scope('crossattention').scope('self'), s, encoderStates));
  return out;
}

/** The sum of the word (or given) embeddings, the token type 0 row and the position embeddings; LayerNorm; dropout. */
export function bertEmbeddings(ctx: Ctx, s: BertSettings, embeds: Sym, positions: Sym, positionPaddingIdx: number | null): Sym {
  const tokenType = ctx.scope('token_type_embeddings').param('weight', [s.typeVocab, s.hidden], { kind: 'embedding', std: s.std, padding_idx: null });
  // token_type_ids default to zeros: every position adds row 0.
  let h = F.add(embeds, F.slice(tokenType, [0], [1], [0]));
  const positionTable = ctx.scope('position_embeddings').param('weight', [s.maxPositions, s.hidden], { kind: 'embedding', std: s.std, padding_idx: positionPaddingIdx });
  h = F.add(h, F.gather(positionTable, positions, 0));
  h = ctx.layerNorm('LayerNorm', h, s.hidden, s.eps);
  return ctx.dropout(h, s.hiddenDropout);
}

/** Logits [B, T, V] = hidden [B, T, H] · Wᵀ + b as one Gemm(transB), so the tied word embeddings serve as both lookup and head. */
export function tiedDecoderLogits(hidden: Sym, weight: Sym, bias: Sym, vocab: number): Sym {
  const g = hidden.graph;
  const flat = F.reshape(hidden, [-1, hidden.shape[hidden.rank - 1] as number]);
  const y = F.gemmTransB(flat, weight, bias);
  const shape = F.concat([F.slice(F.shapeOf(hidden), [0], [hidden.rank - 1], [0]), g.int64s([vocab])], 0);
  return g.addNode('Reshape', [y, shape], {}, [{ dtype: y.dtype, shape: [...hidden.shape.slice(0, -1), vocab] }])[0]!;
}

export function collectOutputs(stack: BertStackOutputs, logits: Sym, inputs: DecoderInputs): DecoderOutputs {
  const out: DecoderOutputs = { logits, present: stack.present };
  if (inputs.output_hidden_states) out.hidden_states = stack.hidden_states;
  if (inputs.output_attentions) {
    out.attentions = stack.attentions;
    if (inputs.cross || inputs.encoder_hidden_states) out.cross_attentions = stack.cross_attentions;
  }
  return out;
}

export function checkTokenInputs(s: BertSettings, inputs: DecoderInputs): void {
  if ((inputs.input_ids ? 1 : 0) + (inputs.inputs_embeds ? 1 : 0) !== 1) throw new Error(`${s.model_type}: give exactly one of input_ids or inputs_embeds`);
}

const BERT_DEFAULTS = { model_type: 'bert', vocab_size: 30522, pad_token_id: 0 };

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = bertSettings(config, BERT_DEFAULTS);
  checkTokenInputs(s, inputs);
  const bert = ctx.scope('bert');
  const emb = bert.scope('embeddings');
  const wordTable = () => emb.scope('word_embeddings').param('weight', [s.vocab, s.hidden], wordEmbeddingInit(s));

  // BertEmbeddings: absolute positions past .. past + T - 1.
  const embeds = inputs.inputs_embeds ?? F.gather(wordTable(), inputs.input_ids!, 0);
  const T = F.dimOf(embeds, 1);
  const P = inputs.past ? F.dimOf(inputs.past[0]!.key, 2) : 0;
  const embeddings = bertEmbeddings(emb, s, embeds, positionIds(T, P, embeds), null);

  const stack = bertEncoder(bert, s, embeddings, causalMask(embeds, T, P, inputs.attention_mask), inputs);

  // cls.predictions (BertLMPredictionHead): transform (dense, act, LayerNorm), then the decoder,
  // whose bias is 'cls.predictions.bias' (decoder.bias is tied to it).
  const head = ctx.scope('cls').scope('predictions');
  const tr = head.scope('transform');
  let h = F.activation(s.act, tr.linear('dense', stack.hidden, s.hidden, s.hidden, { std: s.std }));
  h = tr.layerNorm('LayerNorm', h, s.hidden, s.eps);
  const weight = s.tie ? wordTable() : head.scope('decoder').param('weight', [s.vocab, s.hidden], normal(s.std));
  const logits = tiedDecoderLogits(h, weight, head.param('bias', [s.vocab], zeros), s.vocab);
  return collectOutputs(stack, logits, inputs);
}

export const BERT: DecoderArch = {
  model_type: 'bert',
  forward,
  crossKV(ctx: Ctx, config: AnyConfig, encoder_hidden_states: Sym): KV[] {
    return bertCrossKV(ctx.scope('bert'), bertSettings(config, BERT_DEFAULTS), encoder_hidden_states);
  },
  cacheShape(config: AnyConfig) {
    const s = bertSettings(config, BERT_DEFAULTS);
    return { layers: s.layers, heads: s.heads, head_dim: s.headDim };
  },
  tiedKeys(config: AnyConfig): string[] {
    // BertLMPredictionHead ties decoder.bias to its own 'bias' always, decoder.weight to the word embeddings when tie_word_embeddings.
    const tie = config.tie_word_embeddings ?? true;
    return tie ? ['cls.predictions.decoder.weight', 'cls.predictions.decoder.bias'] : ['cls.predictions.decoder.bias'];
  },
  // BertModel checkpoints name the weights without BertLMHeadModel's base_model_prefix.
  checkpoint_prefixes: ['bert.'],
};
