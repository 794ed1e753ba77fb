// Export a VisionEncoderDecoderModel as the ONNX files Optimum writes and transformers.js reads:
//
//   onnx/encoder_model.onnx         pixel_values → last_hidden_state (model.encoder alone, as
//                                   Optimum exports model.get_encoder(): enc_to_dec_proj is not here)
//   onnx/decoder_model_merged.onnx  input_ids, encoder_hidden_states, past_key_values.*, use_cache_branch
//                                   → logits, present.*
//
// The merged decoder is one If node on use_cache_branch. The else branch (first step, no cache)
// applies enc_to_dec_proj to the encoder states, computes every layer's cross-attention K/V and runs
// the decoder; the then branch (later steps) continues from the self-attention cache. Weights are
// initializers of the top-level graph, read by both branches, so the file holds them once.
//
// Cache names follow transformers.js' getKeyValueNames for a vision-encoder-decoder config:
// decoders whose normalized config has decoder layer counts (bart, mbart, trocr) get seq2seq names,
// `past_key_values.N.decoder.key` and `past_key_values.N.encoder.key` (cross-attention K/V, computed
// once and passed back); the others (gpt2) get decoder-only names, `past_key_values.N.key`, and the
// cross-attention K/V are recomputed from encoder_hidden_states at every step, as Optimum's
// export of those decoders does.

import { Graph, type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import type { KV } from './architectures.js';
import { type AnyConfig, Ctx } from './modeling_utils.js';
import type { VisionEncoderDecoderModel } from './vision_encoder_decoder.js';
import { archs, pixelShape, project } from './vision_encoder_decoder_graphs.js';

/** Decoder model_types that transformers.js (getNormalizedConfig) treats as seq2seq decoders. */
const SEQ2SEQ_CACHE = new Set(['bart', 'mbart', 'trocr']);
/** Decoder model_types transformers.js v4 has no cache mapping for: it cannot feed their cache. */
const NO_TRANSFORMERS_JS_CACHE = new Set(['bert', 'roberta']);

export type CacheNaming = 'seq2seq' | 'decoder-only';

export interface ExportedGraph {
  graph: Graph;
  /** ONNX output name → value. */
  outputs: Record<string, Sym>;
}

/** How transformers.js names this model's cache (see the file comment). */
export function cacheNaming(model: VisionEncoderDecoderModel): CacheNaming {
  return SEQ2SEQ_CACHE.has(model.config.decoder.model_type as string) ? 'seq2seq' : 'decoder-only';
}

/** A reason the export will not run in transformers.js, or null. */
export function transformersJsCaveat(model: VisionEncoderDecoderModel): string | null {
  const t = model.config.decoder.model_type as string;
  return NO_TRANSFORMERS_JS_CACHE.has(t)
    ? `transformers.js (v3/v4) has no cache layout for '${t}' decoders (getNormalizedConfig lacks it), so it cannot run this export; ONNX Runtime and Optimum-style runners can`
    : null;
}

function parts(model: VisionEncoderDecoderModel) {
  return { ...archs(model.config), encCfg: model.config.encoder as AnyConfig, decCfg: model.config.decoder as AnyConfig };
}

/** A weight the model already holds: export must never draw a fresh one. */
function checkHeld(model: VisionEncoderDecoderModel, names: string[]): void {
  for (const n of names) if (!model.store.tensors.has(n)) throw new Error(`export: the model has no weight '${n}'`);
}

/** encoder_model.onnx: pixel_values [batch_size, C, H, W] → last_hidden_state [batch_size, S, hidden]. */
export function encoderGraph(model: VisionEncoderDecoderModel): ExportedGraph {
  const { encoder, encCfg } = parts(model);
  const g = new Graph({ paramMode: 'initializer' });
  const ctx = new Ctx(g, model.store);
  const pixels = g.input('pixel_values', 'float32', ['batch_size', ...pixelShape(model.config.encoder)]);
  const out = encoder.forward(ctx.scope('encoder'), encCfg, pixels);
  return { graph: g, outputs: { last_hidden_state: out.last_hidden_state } };
}

/** enc_to_dec_proj when the model has one, from the weight it holds (never a fresh draw). */
function projectHeld(model: VisionEncoderDecoderModel, ctx: Ctx, states: Sym): Sym {
  if (model.hasEncToDecProj) checkHeld(model, ['enc_to_dec_proj.weight', 'enc_to_dec_proj.bias']);
  return project(model.config, ctx, states);
}

/** decoder_model_merged.onnx: see the file comment for its inputs, outputs and branches. */
export function mergedDecoderGraph(model: VisionEncoderDecoderModel): ExportedGraph {
  const { decoder, encCfg, decCfg } = parts(model);
  const cs = decoder.cacheShape(decCfg);
  const naming = cacheNaming(model);
  const g = new Graph({ paramMode: 'initializer' });
  const input_ids = g.input('input_ids', 'int64', ['batch_size', 'decoder_sequence_length']);
  const states = g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length', encCfg.hidden_size as number]);
  const selfPast: KV[] = [];
  const crossPast: KV[] = [];
  const pastLen = naming === 'seq2seq' ? 'past_decoder_sequence_length' : 'past_sequence_length';
  const kvShape = (len: string) => ['batch_size', cs.heads, len, cs.head_dim];
  for (let i = 0; i < cs.layers; i++) {
    const p = naming === 'seq2seq' ? `past_key_values.${i}.decoder` : `past_key_values.${i}`;
    selfPast.push({ key: g.input(`${p}.key`, 'float32', kvShape(pastLen)), value: g.input(`${p}.value`, 'float32', kvShape(pastLen)) });
    if (naming === 'seq2seq') {
      const e = `past_key_values.${i}.encoder`;
      crossPast.push({ key: g.input(`${e}.key`, 'float32', kvShape('encoder_sequence_length_out')), value: g.input(`${e}.value`, 'float32', kvShape('encoder_sequence_length_out')) });
    }
  }
  const useCache = g.input('use_cache_branch', 'bool', [1]);

  // One branch: the decoder over this step's tokens, with or without the cache.
  const branch = (withPast: boolean) => {
    const b = new Graph({ parent: g });
    const ctx = new Ctx(b, model.store);
    const outer = (kv: KV): KV => ({ key: b.outer(kv.key), value: b.outer(kv.value) });
    const cross =
      withPast && naming === 'seq2seq' ? crossPast.map(outer) : decoder.crossKV(ctx.scope('decoder'), decCfg, projectHeld(model, ctx, b.outer(states)));
    const out = decoder.forward(ctx.scope('decoder'), decCfg, { input_ids: b.outer(input_ids), past: withPast ? selfPast.map(outer) : null, cross });
    const values: Sym[] = [out.logits];
    out.present.forEach((kv, i) => {
      values.push(kv.key, kv.value);
      if (naming === 'seq2seq') values.push(cross[i]!.key, cross[i]!.value);
    });
    return { graph: b, outputs: values };
  };
  const results = F.ifThenElse(useCache, branch(true), branch(false));

  const names = ['logits'];
  for (let i = 0; i < cs.layers; i++) {
    if (naming === 'seq2seq') names.push(`present.${i}.decoder.key`, `present.${i}.decoder.value`, `present.${i}.encoder.key`, `present.${i}.encoder.value`);
    else names.push(`present.${i}.key`, `present.${i}.value`);
  }
  const outputs: Record<string, Sym> = {};
  names.forEach((n, i) => (outputs[n] = results[i]!));
  return { graph: g, outputs };
}
