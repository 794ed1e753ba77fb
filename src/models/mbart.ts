// mBART (model_type 'mbart'): transformers' MBartForCausalLM — BART's decoder with pre-LN
// layers (each block normalises its input, then adds its output to the residual) and a final
// `model.decoder.layer_norm`. Embeddings (scaled, learned positions with offset 2,
// `layernorm_embedding`), attention modules and the tied `lm_head` are BART's (bart.ts).

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs, type KV } from './architectures.js';
import {
  type BartDecoderSettings,
  bartDecoderSettings,
  bartFamilyArch,
  crossAttention,
  crossAttentionKV,
  decoderOutputs,
  decoderPrelude,
  feedForward,
  learnedPositions,
  type LayerResult,
  lmHead,
  scaledTokenEmbedding,
  selfAttention,
} from './bart.js';
import { type AnyConfig, type Ctx } from './modeling_utils.js';

/** MBartConfig's defaults are BartConfig's (facebook/mbart-large-cc25). */
const settings = (config: AnyConfig): BartDecoderSettings => bartDecoderSettings(config);

/** MBartDecoderLayer (ctx = `layers.N`), pre-LN. */
function mbartDecoderLayer(ctx: Ctx, s: BartDecoderSettings, x: Sym, mask: Sym, past: KV | null, cross: KV | null, encoderHiddenStates: Sym | null): LayerResult {
  const sa = selfAttention(ctx.scope('self_attn'), s, ctx.layerNorm('self_attn_layer_norm', x, s.hidden, s.eps), mask, past);
  let h = F.add(x, ctx.dropout(sa.out, s.dropout));

  const encoderAttn = ctx.scope('encoder_attn');
  const normed = ctx.layerNorm('encoder_attn_layer_norm', h, s.hidden, s.eps);
  const kv = cross ?? crossAttentionKV(encoderAttn, s, encoderHiddenStates!);
  const ca = crossAttention(encoderAttn, s, normed, kv);
  h = F.add(h, ctx.dropout(ca.out, s.dropout));

  h = F.add(h, ctx.dropout(feedForward(ctx, s, ctx.layerNorm('final_layer_norm', h, s.hidden, s.eps)), s.dropout));
  return { out: h, present: sa.present, selfProbs: sa.probs, crossProbs: ca.probs };
}

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = settings(config);
  const p = decoderPrelude(s, inputs);
  const decoder = ctx.scope('model').scope('decoder');

  // MBartDecoder: embeddings (inputs_embeds used as given), positions, layernorm_embedding, dropout.
  const embeds = p.embeds ?? scaledTokenEmbedding(decoder, s, p.ids!);
  let h = F.add(embeds, learnedPositions(decoder, s, p.T, p.P, (p.ids ?? p.embeds)!));
  h = decoder.layerNorm('layernorm_embedding', h, s.hidden, s.eps);
  h = decoder.dropout(h, s.dropout);

  const hidden: Sym[] = [];
  const layers: LayerResult[] = [];
  for (let i = 0; i < s.layers; i++) {
    hidden.push(h);
    const r = mbartDecoderLayer(decoder.scope('layers').scope(i), s, h, p.selfMask, p.past?.[i] ?? null, p.cross?.[i] ?? null, p.encoderHiddenStates);
    layers.push(r);
    h = r.out;
  }
  h = decoder.layerNorm('layer_norm', h, s.hidden, s.eps);
  hidden.push(h); // Python's last hidden state is the normalised one

  const logits = lmHead(ctx, s, h, 'lm_head', 'model.decoder.embed_tokens.weight');
  return decoderOutputs(logits, layers, hidden, inputs);
}

export const MBART: DecoderArch = bartFamilyArch('mbart', settings, forward, 'lm_head');
