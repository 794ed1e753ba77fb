// TrOCR (model_type 'trocr'): transformers' TrOCRForCausalLM — TrOCRDecoderWrapper `model.decoder`
// (scaled token embeddings; learned positions with offset 2, or fixed sinusoidal ones when
// use_learned_position_embeddings is false; `layernorm_embedding` when layernorm_embedding is
// true; BART's post-LN layers, whose cross-attention K/V take cross_attention_hidden_size inputs
// when set) and `output_projection`, tied to `model.decoder.embed_tokens` unless
// tie_word_embeddings is false. The attention and layer code is BART's (bart.ts).

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { Tensor } from '../runtime/tensor.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs } from './architectures.js';
import {
  BART_DEFAULTS,
  type BartDecoderSettings,
  bartDecoderSettings,
  bartFamilyArch,
  decoderOutputs,
  decoderPrelude,
  learnedPositions,
  type LayerResult,
  lmHead,
  postLnDecoderLayer,
  scaledTokenEmbedding,
} from './bart.js';
import { positionIds } from './layers.js';
import { type AnyConfig, type Ctx } from './modeling_utils.js';

/** TrOCRConfig's defaults (microsoft/trocr-base-handwritten's decoder) where they differ from BART's. */
const TROCR_DEFAULTS = { ...BART_DEFAULTS, max_position_embeddings: 512 };

interface TrOCRSettings extends BartDecoderSettings {
  learnedPositions: boolean;
  layernormEmbedding: boolean;
}

function flag(config: AnyConfig, key: string, fallback: boolean): boolean {
  const v = config[key] ?? fallback;
  if (typeof v !== 'boolean') throw new Error(`trocr config: ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function settings(config: AnyConfig): TrOCRSettings {
  const s: TrOCRSettings = {
    ...bartDecoderSettings(config, TROCR_DEFAULTS, { kvDim: config.cross_attention_hidden_size ?? null, probsAfterDropout: false }),
    learnedPositions: flag(config, 'use_learned_position_embeddings', true),
    layernormEmbedding: flag(config, 'layernorm_embedding', true),
  };
  if (!s.learnedPositions) {
    if (s.padIdx === null) throw new Error('trocr config: sinusoidal positions (use_learned_position_embeddings false) need pad_token_id: positions count from it');
    if (Math.floor(s.hidden / 2) < 2) throw new Error(`trocr config: sinusoidal positions need d_model >= 4, got ${s.hidden}`);
  }
  return s;
}

/** The inverse frequencies of TrOCRSinusoidalPositionalEmbedding.get_embedding, in float32 as torch computes them. */
function sinusoidalFrequencies(dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const step = Math.fround(-Math.log(10000) / (half - 1));
  return Float32Array.from({ length: half }, (_, i) => Math.fround(Math.exp(Math.fround(i * step))));
}

/**
 * TrOCRSinusoidalPositionalEmbedding: a fixed (computed, never stored) table whose row p is
 * [sin(p·f), cos(p·f)] (a zero column appended for odd d_model), with the padding_idx row zero.
 * Positions come from input_ids as fairseq's make_positions: padding tokens keep position
 * padding_idx, the others count up from padding_idx + 1 after the cache's length P (Python adds P
 * to a cumulative count over this call's tokens). Computed in the graph, so any length works.
 * With inputs_embeds there are no ids to find padding in: positions are padding_idx + 1 + P + arange(T).
 */
function sinusoidalPositions(s: TrOCRSettings, ids: Sym | null, T: number | Sym, P: number | Sym, like: Sym): Sym {
  const g = like.graph;
  const pad = s.padIdx!;
  let positions: Sym;
  if (ids) {
    const ids64 = F.cast(ids, 'int64');
    const keep = F.cast(F.not(F.equal(ids64, pad)), 'int64');
    positions = F.add(F.mul(F.add(F.cumsum(keep, 1), P), keep), pad);
  } else {
    positions = F.add(positionIds(T, P, like), pad + 1);
  }
  const freq = g.constant(new Tensor('float32', sinusoidalFrequencies(s.hidden), [Math.floor(s.hidden / 2)]), 'sinusoid_freq');
  const angles = F.mul(F.unsqueeze(F.cast(positions, 'float32'), [-1]), freq); // [B, T, half]
  let table = F.concat([F.sin(angles), F.cos(angles)], -1);
  if (s.hidden % 2 === 1) table = F.pad(table, [0, 0, 0, 0, 0, 1]);
  return F.where(F.unsqueeze(F.equal(positions, pad), [-1]), 0, table);
}

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = settings(config);
  const p = decoderPrelude(s, inputs);
  const decoder = ctx.scope('model').scope('decoder');

  // TrOCRDecoder: embeddings (inputs_embeds used as given), positions, optional layernorm_embedding, dropout.
  const embeds = p.embeds ?? scaledTokenEmbedding(decoder, s, p.ids!);
  const like = (p.ids ?? p.embeds)!;
  const positions = s.learnedPositions ? learnedPositions(decoder, s, p.T, p.P, like) : sinusoidalPositions(s, p.ids, p.T, p.P, like);
  let h = F.add(embeds, positions);
  if (s.layernormEmbedding) h = decoder.layerNorm('layernorm_embedding', h, s.hidden, s.eps);
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

  const logits = lmHead(ctx, s, h, 'output_projection', 'model.decoder.embed_tokens.weight');
  return decoderOutputs(logits, layers, hidden, inputs);
}

export const TROCR: DecoderArch = bartFamilyArch('trocr', settings, forward, 'output_projection');
