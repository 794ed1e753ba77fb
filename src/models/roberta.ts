// RobertaForCausalLM as the text decoder of a VisionEncoderDecoderModel, as transformers'
// models/roberta/modeling_roberta.py (5.x): BERT's layers (bert.ts) under 'roberta.', with
// fairseq's positions — padding_idx + 1 onwards over the non-padding tokens, padding tokens at
// padding_idx — and RobertaLMHead (dense, GELU, layer_norm, then the decoder matrix tied to the
// word embeddings with its own bias 'lm_head.bias').

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type DecoderArch, type DecoderInputs, type DecoderOutputs, type KV } from './architectures.js';
import { type AnyConfig, type Ctx, normal, zeros } from './modeling_utils.js';
import { bertCrossKV, bertEmbeddings, bertEncoder, type BertSettings, bertSettings, checkTokenInputs, collectOutputs, tiedDecoderLogits, wordEmbeddingInit } from './bert.js';
import { causalMask } from './layers.js';

const ROBERTA_DEFAULTS = { model_type: 'roberta', vocab_size: 50265, pad_token_id: 1 };

function settings(config: AnyConfig): BertSettings & { pad: number } {
  const s = bertSettings(config, ROBERTA_DEFAULTS);
  if (s.pad === null) throw new Error('roberta: pad_token_id must be set: RoBERTa numbers positions from it (padding_idx)');
  return s as BertSettings & { pad: number };
}

/**
 * RobertaEmbeddings.create_position_ids_from_input_ids: non-padding tokens count up from
 * padding_idx + 1, continuing after the P cached positions; padding tokens sit at padding_idx.
 * So with a cache, a new token's position is padding_idx + P + (its rank among this call's
 * non-padding tokens), whatever padding the past held — what Python does when decoding step by step.
 */
export function positionsFromInputIds(ids: Sym, pad: number, past: number | Sym): Sym {
  const mask = F.cast(F.not(F.equal(ids, pad)), 'int64');
  let counts = F.cumsum(mask, 1);
  if (past !== 0) counts = F.add(counts, past);
  return F.add(F.mul(counts, mask), pad);
}

/**
 * create_position_ids_from_inputs_embeds: padding cannot be seen, so padding_idx + 1 .. + T.
 * Python does not add the past length here (it ignores the cache on this path); neither do we.
 */
function positionsFromInputsEmbeds(embeds: Sym, pad: number): Sym {
  const T = F.dimOf(embeds, 1);
  return F.unsqueeze(F.range(pad + 1, typeof T === 'number' ? pad + 1 + T : F.add(T, embeds.graph.scalar(pad + 1, 'int64')), 1), [0]);
}

function forward(ctx: Ctx, config: AnyConfig, inputs: DecoderInputs): DecoderOutputs {
  const s = settings(config);
  checkTokenInputs(s, inputs);
  const roberta = ctx.scope('roberta');
  const emb = roberta.scope('embeddings');
  const wordTable = () => emb.scope('word_embeddings').param('weight', [s.vocab, s.hidden], wordEmbeddingInit(s));

  const embeds = inputs.inputs_embeds ?? F.gather(wordTable(), inputs.input_ids!, 0);
  const T = F.dimOf(embeds, 1);
  const P = inputs.past ? F.dimOf(inputs.past[0]!.key, 2) : 0;
  const positions = inputs.input_ids ? positionsFromInputIds(inputs.input_ids, s.pad, P) : positionsFromInputsEmbeds(embeds, s.pad);
  // position_embeddings has padding_idx = pad_token_id (its row starts at zero).
  const embeddings = bertEmbeddings(emb, s, embeds, positions, s.pad);

  const stack = bertEncoder(roberta, s, embeddings, causalMask(embeds, T, P, inputs.attention_mask), inputs);

  // RobertaLMHead: dense, GELU (always the erf form, whatever hidden_act), layer_norm, decoder + bias.
  const head = ctx.scope('lm_head');
  let h = F.gelu(head.linear('dense', stack.hidden, s.hidden, s.hidden, { std: s.std }));
  h = head.layerNorm('layer_norm', h, s.hidden, s.eps);
  const weight = s.tie ? wordTable() : head.scope('decoder').param('weight', [s.vocab, s.hidden], normal(s.std));
  const logits = tiedDecoderLogits(h, weight, head.param('bias', [s.vocab], zeros), s.vocab);
  return collectOutputs(stack, logits, inputs);
}

export const ROBERTA: DecoderArch = {
  model_type: 'roberta',
  forward,
  crossKV(ctx: Ctx, config: AnyConfig, encoder_hidden_states: Sym): KV[] {
    return bertCrossKV(ctx.scope('roberta'), settings(config), encoder_hidden_states);
  },
  cacheShape(config: AnyConfig) {
    const s = settings(config);
    return { layers: s.layers, heads: s.heads, head_dim: s.headDim };
  },
  tiedKeys(config: AnyConfig): string[] {
    // RobertaLMHead ties decoder.bias to its own 'bias' always, decoder.weight to the word embeddings when tie_word_embeddings.
    const tie = config.tie_word_embeddings ?? true;
    return tie ? ['lm_head.decoder.weight', 'lm_head.decoder.bias'] : ['lm_head.decoder.bias'];
  },
  // RobertaModel checkpoints name the weights without RobertaForCausalLM's base_model_prefix.
  checkpoint_prefixes: ['roberta.'],
};
