// VisionEncoderDecoderModel as graphs: the encoder (and enc_to_dec_proj) joined to the decoder,
// the forward / training graph of one call signature, and the two graphs generation runs (the
// encoder up to each decoder layer's cross-attention K/V; one decoder step over a cache).
// vision_encoder_decoder.ts builds sessions from these and feeds them; weights come from the
// model's ParamStore through Ctx, by their HF names.

import { Graph, type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import type { DecoderArch, EncoderArch, KV } from './architectures.js';
import type { PretrainedConfig, VisionEncoderDecoderConfig } from './configuration.js';
import { type AnyConfig, Ctx, normal, type ParamStore } from './modeling_utils.js';
import { DECODERS, ENCODERS } from './registry.js';

export function archs(config: VisionEncoderDecoderConfig): { encoder: EncoderArch; decoder: DecoderArch } {
  const et = config.encoder.model_type;
  const dt = config.decoder.model_type;
  const encoder = ENCODERS[et];
  const decoder = DECODERS[dt];
  if (!encoder) throw new Error(`encoder model_type '${et}' is not supported; supported encoders: ${Object.keys(ENCODERS).join(', ')}`);
  if (!decoder) throw new Error(`decoder model_type '${dt}' is not supported; supported decoders: ${Object.keys(DECODERS).join(', ')}`);
  return { encoder, decoder };
}

function imageSize(enc: PretrainedConfig): [number, number] {
  const s = enc.image_size as number | number[] | undefined;
  if (s === undefined) throw new Error(`encoder config (${enc.model_type}) has no image_size`);
  return Array.isArray(s) ? [s[0]!, s[1]!] : [s, s];
}

/** pixel_values' shape after the batch axis: [channels, height, width]. */
export function pixelShape(enc: PretrainedConfig): [number, number, number] {
  return [(enc.num_channels as number | undefined) ?? 3, ...imageSize(enc)];
}

/** The decoder's self-attention cache: layers, heads, head_dim. */
export function cacheShape(config: VisionEncoderDecoderConfig) {
  return archs(config).decoder.cacheShape(config.decoder as AnyConfig);
}

/** Does Python build enc_to_dec_proj for this config? */
export function hasEncToDecProj(config: VisionEncoderDecoderConfig): boolean {
  const d = config.decoder as AnyConfig;
  return config.encoder.hidden_size !== d.hidden_size && (d.cross_attention_hidden_size === null || d.cross_attention_hidden_size === undefined);
}

/** The encoder states the decoder attends to, [B, S, cross hidden]. */
function encode(config: VisionEncoderDecoderConfig, ctx: Ctx, pixel_values: Sym, opts: { hidden?: boolean; attentions?: boolean } = {}) {
  const { encoder } = archs(config);
  const out = encoder.forward(ctx.scope('encoder'), config.encoder as AnyConfig, pixel_values, {
    output_hidden_states: opts.hidden,
    output_attentions: opts.attentions,
  });
  return { ...out, projected: project(config, ctx, out.last_hidden_state) };
}

/** enc_to_dec_proj when the config has one (hasEncToDecProj), else the states as they are. */
export function project(config: VisionEncoderDecoderConfig, ctx: Ctx, states: Sym): Sym {
  if (!hasEncToDecProj(config)) return states;
  const d = config.decoder as AnyConfig;
  const std = (d.initializer_range as number | undefined) ?? 0.02;
  return ctx.linear('enc_to_dec_proj', states, config.encoder.hidden_size as number, d.hidden_size as number, { std, init: normal(std) });
}

/** The whole model: encoder (or fed encoder states) → decoder. */
export function buildModel(
  config: VisionEncoderDecoderConfig,
  ctx: Ctx,
  x: {
    pixel_values?: Sym;
    encoder_states?: Sym;
    decoder_input_ids?: Sym;
    decoder_inputs_embeds?: Sym;
    decoder_attention_mask?: Sym;
    past?: KV[];
    cross?: KV[];
    hidden?: boolean;
    attentions?: boolean;
  },
) {
  const { decoder } = archs(config);
  let enc: ReturnType<typeof encode> | null = null;
  let states: Sym | null = null;
  if (x.pixel_values) {
    enc = encode(config, ctx, x.pixel_values, { hidden: x.hidden, attentions: x.attentions });
    states = enc.projected;
  } else if (x.encoder_states) states = project(config, ctx, x.encoder_states);
  const dec = decoder.forward(ctx.scope('decoder'), config.decoder as AnyConfig, {
    input_ids: x.decoder_input_ids ?? null,
    inputs_embeds: x.decoder_inputs_embeds ?? null,
    attention_mask: x.decoder_attention_mask ?? null,
    encoder_hidden_states: x.cross ? null : states,
    cross: x.cross ?? null,
    past: x.past ?? null,
    output_hidden_states: x.hidden,
    output_attentions: x.attentions,
  });
  return { enc, dec, states };
}

/** What a forward graph is built for; one compiled session per distinct signature. */
export interface Signature {
  /** 'pixels': run the encoder; 'states': encoder states are fed. */
  encoder: 'pixels' | 'states';
  decoder: 'ids' | 'embeds';
  mask: boolean;
  labels: boolean;
  past: boolean;
  use_cache: boolean;
  hidden: boolean;
  attentions: boolean;
}

/** The graph forward() (and, with labels, compute_gradients) runs for one signature: its outputs by Python's names. */
export function buildForward(config: VisionEncoderDecoderConfig, store: ParamStore, sig: Signature, training: boolean) {
  const g = new Graph({ paramMode: 'input', training });
  const ctx = new Ctx(g, store);
  const enc = config.encoder;
  const dec = config.decoder as AnyConfig;
  const cs = cacheShape(config);
  const pixel_values = sig.encoder === 'pixels' ? g.input('pixel_values', 'float32', ['batch', ...pixelShape(enc)]) : undefined;
  const encoder_states = sig.encoder === 'states' ? g.input('encoder_outputs', 'float32', ['batch', 'enc_seq', enc.hidden_size as number]) : undefined;
  const decoder_input_ids = sig.decoder === 'ids' ? g.input('decoder_input_ids', 'int64', ['batch', 'dec_seq']) : undefined;
  const decoder_inputs_embeds = sig.decoder === 'embeds' ? g.input('decoder_inputs_embeds', 'float32', ['batch', 'dec_seq', dec.hidden_size as number]) : undefined;
  const decoder_attention_mask = sig.mask ? g.input('decoder_attention_mask', 'int64', ['batch', 'mask_seq']) : undefined;
  let past: KV[] | undefined;
  let cross: KV[] | undefined;
  if (sig.past) {
    past = [];
    cross = [];
    for (let i = 0; i < cs.layers; i++) {
      past.push({ key: g.input(`past.${i}.self.key`, 'float32', ['batch', cs.heads, 'past', cs.head_dim]), value: g.input(`past.${i}.self.value`, 'float32', ['batch', cs.heads, 'past', cs.head_dim]) });
      cross.push({ key: g.input(`past.${i}.cross.key`, 'float32', ['batch', cs.heads, 'enc_seq', cs.head_dim]), value: g.input(`past.${i}.cross.value`, 'float32', ['batch', cs.heads, 'enc_seq', cs.head_dim]) });
    }
  }
  const { enc: encOut, dec: decOut, states } = buildModel(config, ctx, {
    pixel_values,
    encoder_states,
    decoder_input_ids,
    decoder_inputs_embeds,
    decoder_attention_mask,
    past,
    cross,
    hidden: sig.hidden,
    attentions: sig.attentions,
  });
  const outputs: Record<string, Sym> = { logits: decOut.logits };
  if (encOut) outputs['encoder_last_hidden_state'] = encOut.last_hidden_state;
  let loss: Sym | null = null;
  if (sig.labels) {
    const labels = g.input('labels', 'int64', ['batch', 'dec_seq']);
    const V = dec.vocab_size as number;
    loss = F.crossEntropy(F.reshape(decOut.logits, [-1, V]), F.reshape(labels, [-1]));
    outputs['loss'] = loss;
  }
  if (sig.use_cache) {
    const crossKV = cross ?? archs(config).decoder.crossKV(ctx.scope('decoder'), dec, states!);
    decOut.present.forEach((kv, i) => {
      outputs[`present.${i}.self.key`] = kv.key;
      outputs[`present.${i}.self.value`] = kv.value;
      outputs[`present.${i}.cross.key`] = crossKV[i]!.key;
      outputs[`present.${i}.cross.value`] = crossKV[i]!.value;
    });
  }
  if (sig.hidden) {
    decOut.hidden_states?.forEach((s, i) => (outputs[`decoder_hidden_states.${i}`] = s));
    encOut?.hidden_states?.forEach((s, i) => (outputs[`encoder_hidden_states.${i}`] = s));
  }
  if (sig.attentions) {
    decOut.attentions?.forEach((s, i) => (outputs[`decoder_attentions.${i}`] = s));
    decOut.cross_attentions?.forEach((s, i) => (outputs[`cross_attentions.${i}`] = s));
    encOut?.attentions?.forEach((s, i) => (outputs[`encoder_attentions.${i}`] = s));
  }
  return { graph: g, outputs, loss, ctx };
}

/** Generation's encoder graph: pixel_values → each decoder layer's cross-attention K/V (weights baked in). */
export function encoderGenerationGraph(config: VisionEncoderDecoderConfig, store: ParamStore): { graph: Graph; outputs: Record<string, Sym> } {
  const g = new Graph({ paramMode: 'initializer' });
  const ctx = new Ctx(g, store);
  const enc = config.encoder;
  const pixels = g.input('pixel_values', 'float32', ['batch', ...pixelShape(enc)]);
  const { projected } = encode(config, ctx, pixels);
  const kv = archs(config).decoder.crossKV(ctx.scope('decoder'), config.decoder as AnyConfig, projected);
  const outputs: Record<string, Sym> = {};
  kv.forEach((l, i) => {
    outputs[`cross.${i}.key`] = l.key;
    outputs[`cross.${i}.value`] = l.value;
  });
  return { graph: g, outputs };
}

/**
 * The decoder step graph: new tokens + self-attention cache + cross K/V → logits of the new
 * position + the new position's self-attention K/V. The cache is position-major, one entry
 * [heads, head_dim] per (position, slot), and row r's past is entries past_idx[r, 0..past-1]:
 * ORT gathers each row's past (beams that traded places or left included) into the attention's
 * input. Only the new entries leave ORT: handing the whole grown cache back to JavaScript every
 * step, as new arrays, cost more than the step's own arithmetic.
 */
export function stepGenerationGraph(config: VisionEncoderDecoderConfig, store: ParamStore): { graph: Graph; outputs: Record<string, Sym> } {
  const g = new Graph({ paramMode: 'initializer' });
  const ctx = new Ctx(g, store);
  const cs = cacheShape(config);
  // One new token per row a step (the prompt is the start token): the new position's logits
  // are the output as they are, with no slice of them (a copy: 1.4 ms of a 4-row step).
  const ids = g.input('input_ids', 'int64', ['batch', 1]);
  const pastIdx = g.input('past_idx', 'int32', ['batch', 'past']);
  const past: KV[] = [];
  const cross: KV[] = [];
  // [entries, heads, head_dim] → [batch, past, heads, head_dim] → [batch, heads, past, head_dim]
  const cached = (name: string) => F.transpose(F.gather(g.input(name, 'float32', ['cache_entries', cs.heads, cs.head_dim]), pastIdx, 0), [0, 2, 1, 3]);
  for (let i = 0; i < cs.layers; i++) {
    past.push({ key: cached(`cache.${i}.key`), value: cached(`cache.${i}.value`) });
    // One row of cross-attention K/V per image, however many beams or sequences each image has.
    cross.push({ key: g.input(`cross.${i}.key`, 'float32', ['images', cs.heads, 'enc_seq', cs.head_dim]), value: g.input(`cross.${i}.value`, 'float32', ['images', cs.heads, 'enc_seq', cs.head_dim]) });
  }
  const out = archs(config).decoder.forward(ctx.scope('decoder'), config.decoder as AnyConfig, { input_ids: ids, past, cross });
  const V = (config.decoder as AnyConfig).vocab_size as number;
  const last = F.reshape(out.logits, [-1, V]);
  // Beam search asks for log_softmax too: ORT's vectorised kernel costs a fraction of the
  // JavaScript loop over rows × vocab.
  const outputs: Record<string, Sym> = { logits: last, log_probs: F.logSoftmax(last, -1) };
  out.present.forEach((kv, i) => {
    outputs[`new.${i}.key`] = F.slice(kv.key, [-1], [F.END], [2]);
    outputs[`new.${i}.value`] = F.slice(kv.value, [-1], [F.END], [2]);
  });
  return { graph: g, outputs };
}
