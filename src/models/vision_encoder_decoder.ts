// VisionEncoderDecoderModel: any vision encoder joined to any text decoder by cross-attention,
// as transformers' modeling_vision_encoder_decoder.py. The encoder and decoder are architecture
// files (registry.ts); this file composes them, shifts labels into decoder inputs, computes the
// loss and its gradients, loads and saves HF checkpoints, and drives generation.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Graph, type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { grad } from '../graph/autodiff.js';
import { GenerationConfig } from '../generation/configuration.js';
import { generate as runGenerate, prepareGenerationConfig } from '../generation/search.js';
import type { DecoderSession, GenerateOutput } from '../generation/types.js';
import { fileExists, type ResolveOptions } from '../hub/hub.js';
import { CompiledGraph, SessionCache } from '../runtime/session.js';
import { DYNAMIC_INT8_MAX, type Int8Kernel, quantizeWeightsInt8 } from '../graph/quantize.js';
import { Tensor } from '../runtime/tensor.js';
import { float32ToFloat16, saveSafetensors } from '../weights/index.js';
import type { DecoderArch, EncoderArch, KV } from './architectures.js';
import { loadCheckpointWeights } from './checkpoint.js';
import { kvCacheSession, SpareCache } from './kv_cache.js';
import { AutoConfig, type PretrainedConfig, splitEncoderDecoderKwargs, VisionEncoderDecoderConfig } from './configuration.js';
import { type AnyConfig, Ctx, ParamStore, normal, uniformSampler } from './modeling_utils.js';
import { DECODERS, ENCODERS } from './registry.js';

/**
 * The model's weights by HF name, shared with the model. `changed()` tells the model they were
 * updated in place (optimizers call it after each step), so sessions that hold a copy are rebuilt.
 */
export class ParameterMap extends Map<string, Tensor> {
  constructor(private readonly onChange: () => void) {
    super();
  }
  changed(): void {
    this.onChange();
  }
}

export interface ForwardInputs {
  pixel_values?: Tensor;
  labels?: Tensor;
  decoder_input_ids?: Tensor;
  decoder_attention_mask?: Tensor;
  /** Skip the encoder: its last hidden state [B, S, E] (a Tensor, or Python-style { last_hidden_state }). */
  encoder_outputs?: Tensor | { last_hidden_state: Tensor };
  decoder_inputs_embeds?: Tensor;
  /** A cache returned by an earlier forward with use_cache: decoding continues after it. */
  past_key_values?: LayerCache[];
  use_cache?: boolean;
  output_attentions?: boolean;
  output_hidden_states?: boolean;
}

/** One decoder layer's cache: self-attention K/V [B, heads, P, head_dim] and cross-attention K/V [B, heads, S, head_dim]. */
export interface LayerCache {
  self: { key: Tensor; value: Tensor };
  cross: { key: Tensor; value: Tensor };
}

export interface ForwardOutput {
  loss?: number;
  logits: Tensor;
  encoder_last_hidden_state: Tensor;
  past_key_values?: LayerCache[];
  decoder_hidden_states?: Tensor[];
  decoder_attentions?: Tensor[];
  cross_attentions?: Tensor[];
  encoder_hidden_states?: Tensor[];
  encoder_attentions?: Tensor[];
}

/**
 * A loss on the encoder's output, trained beside the decoder's cross-entropy in one gradient graph
 * (compute_gradients): the Trainer's auxiliary CTC loss. Built once per session; `feeds` changes
 * from call to call.
 */
export interface EncoderAuxiliaryLoss {
  /** What build() makes, as part of the session's key (the same key must build the same graph). */
  readonly key: string;
  /**
   * Add the loss to `graph`: a scalar added to the objective, the graph inputs that are its
   * weights (their gradients are returned under these names) and any other outputs to return.
   */
  build(graph: Graph, encoder_last_hidden_state: Sym): { loss: Sym; weights: Record<string, Sym>; outputs?: Record<string, Sym> };
  /** A value for every input build() declared. */
  readonly feeds: Record<string, Tensor>;
}

export interface LoadingInfo {
  missing_keys: string[];
  unexpected_keys: string[];
}

export interface FromPretrainedOptions extends ResolveOptions {
  /** Use this config instead of the checkpoint's config.json. */
  config?: VisionEncoderDecoderConfig;
  /** Seed of the random initialisation of weights the checkpoint lacks. */
  seed?: number;
  /** Weights generate() computes with (see VisionEncoderDecoderModel.dtype); default 'float32'. */
  dtype?: InferenceDtype;
}

/**
 * The weights of the generation graphs: 'float32', or 'int8' — every weight matrix quantized
 * per output column, activations quantized per call (ONNX Runtime's DynamicQuantizeMatMul).
 * Training, forward() and saved checkpoints stay float32 either way.
 */
export type InferenceDtype = 'float32' | 'int8';
const INFERENCE_DTYPES: readonly InferenceDtype[] = ['float32', 'int8'];

const FORWARD_KEYS = new Set([
  'pixel_values', 'labels', 'decoder_input_ids', 'decoder_attention_mask', 'encoder_outputs', 'decoder_inputs_embeds',
  'past_key_values', 'use_cache', 'output_attentions', 'output_hidden_states',
]);

function archs(config: VisionEncoderDecoderConfig): { encoder: EncoderArch; decoder: DecoderArch } {
  const et = config.encoder.model_type;
  const dt = config.decoder.model_type;
  const encoder = ENCODERS[et];
  const decoder = DECODERS[dt];
  if (!encoder) throw new Error(`encoder model_type '${et}' is not supported; supported encoders: ${Object.keys(ENCODERS).join(', ')}`);
  if (!decoder) throw new Error(`decoder model_type '${dt}' is not supported; supported decoders: ${Object.keys(DECODERS).join(', ')}`);
  return { encoder, decoder };
}

function int64(t: Tensor, what: string): BigInt64Array {
  if (t.type !== 'int64') throw new Error(`${what} must be an int64 Tensor, got ${t.type}`);
  return t.data as BigInt64Array;
}

/**
 * transformers' shift_tokens_right: [start, labels[:-1]] per row, with -100 replaced by the pad
 * token so the decoder never sees the ignore index.
 */
export function shiftTokensRight(labels: Tensor, pad_token_id: number | null | undefined, decoder_start_token_id: number | null | undefined): Tensor {
  if (decoder_start_token_id === null || decoder_start_token_id === undefined) {
    throw new Error("Make sure to set the decoder_start_token_id attribute of the model's configuration (model.config.decoder_start_token_id).");
  }
  if (pad_token_id === null || pad_token_id === undefined) {
    throw new Error("Make sure to set the pad_token_id attribute of the model's configuration (model.config.pad_token_id).");
  }
  const src = int64(labels, 'labels');
  if (labels.dims.length !== 2) throw new Error(`labels must be [batch, length], got [${labels.dims.join(', ')}]`);
  const [B, L] = labels.dims as [number, number];
  const out = new BigInt64Array(B * L);
  for (let b = 0; b < B; b++) {
    out[b * L] = BigInt(decoder_start_token_id);
    for (let i = 1; i < L; i++) {
      const v = src[b * L + i - 1]!;
      out[b * L + i] = v === -100n ? BigInt(pad_token_id) : v;
    }
  }
  return new Tensor('int64', out, [B, L]);
}

/** What a graph is built for; one compiled session per distinct signature. */
interface Signature {
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

export class VisionEncoderDecoderModel {
  config: VisionEncoderDecoderConfig;
  generation_config: GenerationConfig;
  /** The weights by HF name (model.named_parameters() hands these out; the optimizer updates them in place). */
  readonly store: ParamStore;
  /** Set by from_pretrained: what the checkpoint lacked and what it had that the model does not use. */
  loading_info: LoadingInfo = { missing_keys: [], unexpected_keys: [] };
  /** Dropout is live in training mode (model.train()); off after model.eval() (the default). */
  training = false;
  private readonly sessions = new SessionCache();
  /** The self-attention cache arrays of the last generate() call, for the next one. */
  private readonly spareCache = new SpareCache();
  private dropoutRand = uniformSampler(0);
  /**
   * Generation sessions bake the weights in as initializers (ORT pre-packs them and folds the
   * Linear transposes once, instead of every step). A change of weights in place — an optimizer
   * step (AdamW calls ParameterMap.changed()), or model.weights_changed() after editing them by
   * hand — bumps this, and the next generate() builds fresh sessions.
   */
  private weightsVersion = 0;
  private bakedVersion = -1;
  private inferenceDtype: InferenceDtype = 'float32';
  private dropoutSeed = 0;

  constructor({ config, weights, seed = 0 }: { config: VisionEncoderDecoderConfig; weights?: Map<string, Tensor>; seed?: number }) {
    if (!(config instanceof VisionEncoderDecoderConfig)) throw new Error('VisionEncoderDecoderModel: `config` must be a VisionEncoderDecoderConfig');
    this.config = config;
    this.generation_config = GenerationConfig.from_model_config(config);
    this.store = new ParamStore(weights, seed);
    // One build over the store declares every weight: it loads what the checkpoint has and
    // draws the rest the way each architecture's _init_weights does.
    this.declare();
  }

  private declare(): void {
    const g = new Graph({ paramMode: 'input' });
    const ctx = new Ctx(g, this.store);
    const enc = this.config.encoder;
    const pixels = g.input('pixel_values', 'float32', ['batch', enc.num_channels as number ?? 3, ...imageSize(enc)]);
    const ids = g.input('decoder_input_ids', 'int64', ['batch', 'dec_seq']);
    this.buildModel(ctx, { pixel_values: pixels, decoder_input_ids: ids });
  }

  // ------------------------------------------------------------------------------------------
  // The model as a graph

  /** Does Python build enc_to_dec_proj for this config? */
  get hasEncToDecProj(): boolean {
    const d = this.config.decoder as AnyConfig;
    return this.config.encoder.hidden_size !== d.hidden_size && (d.cross_attention_hidden_size === null || d.cross_attention_hidden_size === undefined);
  }

  /** The encoder states the decoder attends to, [B, S, cross hidden]. */
  private encode(ctx: Ctx, pixel_values: Sym, opts: { hidden?: boolean; attentions?: boolean } = {}) {
    const { encoder } = archs(this.config);
    const out = encoder.forward(ctx.scope('encoder'), this.config.encoder as AnyConfig, pixel_values, {
      output_hidden_states: opts.hidden,
      output_attentions: opts.attentions,
    });
    return { ...out, projected: this.project(ctx, out.last_hidden_state) };
  }

  private project(ctx: Ctx, states: Sym): Sym {
    if (!this.hasEncToDecProj) return states;
    const d = this.config.decoder as AnyConfig;
    return ctx.linear('enc_to_dec_proj', states, this.config.encoder.hidden_size as number, d.hidden_size as number, {
      std: (d.initializer_range as number | undefined) ?? 0.02,
      init: normal((d.initializer_range as number | undefined) ?? 0.02),
    });
  }

  private buildModel(
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
    const { decoder } = archs(this.config);
    let enc: ReturnType<VisionEncoderDecoderModel['encode']> | null = null;
    let states: Sym | null = null;
    if (x.pixel_values) {
      enc = this.encode(ctx, x.pixel_values, { hidden: x.hidden, attentions: x.attentions });
      states = enc.projected;
    } else if (x.encoder_states) states = this.project(ctx, x.encoder_states);
    const dec = decoder.forward(ctx.scope('decoder'), this.config.decoder as AnyConfig, {
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

  private cacheShape() {
    return archs(this.config).decoder.cacheShape(this.config.decoder as AnyConfig);
  }

  /** Build (once per signature) the forward graph and its session. */
  private forwardGraph(sig: Signature): Promise<CompiledGraph> {
    const key = `forward:${JSON.stringify(sig)}:${this.training ? 'train' : 'eval'}`;
    return this.sessions.get(key, async () => {
      const { graph, outputs } = this.buildForward(sig);
      return CompiledGraph.create(graph, outputs, { label: 'VisionEncoderDecoderModel.forward' });
    });
  }

  private buildForward(sig: Signature, training = this.training) {
    const g = new Graph({ paramMode: 'input', training });
    const ctx = new Ctx(g, this.store);
    const enc = this.config.encoder;
    const dec = this.config.decoder as AnyConfig;
    const cs = this.cacheShape();
    const pixel_values = sig.encoder === 'pixels' ? g.input('pixel_values', 'float32', ['batch', (enc.num_channels as number) ?? 3, ...imageSize(enc)]) : undefined;
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
    const { enc: encOut, dec: decOut, states } = this.buildModel(ctx, {
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
      const crossKV = cross ?? archs(this.config).decoder.crossKV(ctx.scope('decoder'), dec, states!);
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

  private paramFeeds(graph: CompiledGraph): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const name of graph.inputNames) {
      const t = this.store.tensors.get(name);
      if (t) feeds[name] = t;
    }
    return feeds;
  }

  /** Uniform noise for each dropout site of a training graph, from the model's seeded generator. */
  private noiseFeeds(graph: CompiledGraph, bound: Map<string, number>): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const s of graph.inputs) {
      if (!s.name.startsWith('dropout_noise')) continue;
      const dims = s.shape.map((d) => {
        if (typeof d === 'number') return d;
        const v = bound.get(d);
        if (v === undefined) throw new Error(`dropout noise ${s.name}: dimension '${d}' is not bound by any input`);
        return v;
      });
      const n = dims.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      this.dropoutRand.fill(data);
      feeds[s.name] = new Tensor('float32', data, dims);
    }
    return feeds;
  }

  /** Reseed dropout (training reproducibility; saved in trainer checkpoints). */
  set_dropout_seed(seed: number): void {
    this.dropoutSeed = seed;
    this.dropoutRand = uniformSampler(seed);
  }
  get dropout_seed(): number {
    return this.dropoutSeed;
  }

  private prepare(inputs: ForwardInputs): { sig: Signature; feeds: Record<string, Tensor>; bound: Map<string, number> } {
    for (const k of Object.keys(inputs)) {
      if (!FORWARD_KEYS.has(k)) throw new Error(`forward: unknown input '${k}'; valid inputs: ${[...FORWARD_KEYS].join(', ')}`);
    }
    const feeds: Record<string, Tensor> = {};
    const bound = new Map<string, number>();
    let encoder: Signature['encoder'];
    if (inputs.encoder_outputs) {
      const states = inputs.encoder_outputs instanceof Tensor ? inputs.encoder_outputs : inputs.encoder_outputs.last_hidden_state;
      feeds['encoder_outputs'] = states;
      encoder = 'states';
      bound.set('batch', states.dims[0]!);
    } else if (inputs.pixel_values) {
      this.checkPixels(inputs.pixel_values);
      feeds['pixel_values'] = inputs.pixel_values;
      encoder = 'pixels';
      bound.set('batch', inputs.pixel_values.dims[0]!);
    } else if (!inputs.past_key_values) {
      throw new Error('forward: give pixel_values (or encoder_outputs, or past_key_values)');
    } else encoder = 'states';

    let decoder: Signature['decoder'] = 'ids';
    if (inputs.decoder_inputs_embeds) {
      feeds['decoder_inputs_embeds'] = inputs.decoder_inputs_embeds;
      decoder = 'embeds';
      bound.set('dec_seq', inputs.decoder_inputs_embeds.dims[1]!);
    } else if (inputs.decoder_input_ids) {
      int64(inputs.decoder_input_ids, 'decoder_input_ids');
      feeds['decoder_input_ids'] = inputs.decoder_input_ids;
      bound.set('dec_seq', inputs.decoder_input_ids.dims[1]!);
    } else if (inputs.labels) {
      const ids = shiftTokensRight(inputs.labels, this.config.pad_token_id as number | null, this.config.decoder_start_token_id as number | null);
      feeds['decoder_input_ids'] = ids;
      bound.set('dec_seq', ids.dims[1]!);
    } else throw new Error('forward: give labels, decoder_input_ids or decoder_inputs_embeds');
    if (inputs.labels) {
      int64(inputs.labels, 'labels');
      feeds['labels'] = inputs.labels;
    }
    if (inputs.decoder_attention_mask) {
      int64(inputs.decoder_attention_mask, 'decoder_attention_mask');
      feeds['decoder_attention_mask'] = inputs.decoder_attention_mask;
    }
    const past = inputs.past_key_values;
    if (past) {
      if (past.length !== this.cacheShape().layers) throw new Error(`past_key_values has ${past.length} layers; the decoder has ${this.cacheShape().layers}`);
      past.forEach((l, i) => {
        feeds[`past.${i}.self.key`] = l.self.key;
        feeds[`past.${i}.self.value`] = l.self.value;
        feeds[`past.${i}.cross.key`] = l.cross.key;
        feeds[`past.${i}.cross.value`] = l.cross.value;
      });
      delete feeds['encoder_outputs'];
      delete feeds['pixel_values'];
      encoder = 'states';
    }
    const sig: Signature = {
      encoder, // with a cache there is no encoder part: the cross K/V are in the cache
      decoder,
      mask: !!inputs.decoder_attention_mask,
      labels: !!inputs.labels,
      past: !!past,
      use_cache: inputs.use_cache ?? false,
      hidden: inputs.output_hidden_states ?? false,
      attentions: inputs.output_attentions ?? false,
    };
    return { sig, feeds, bound };
  }

  private checkPixels(t: Tensor): void {
    const enc = this.config.encoder;
    const want = [(enc.num_channels as number) ?? 3, ...imageSize(enc)];
    if (t.type !== 'float32' || t.dims.length !== 4 || t.dims.slice(1).some((d, i) => d !== want[i])) {
      throw new Error(`pixel_values must be float32 [batch, ${want.join(', ')}] for this encoder (image_size ${JSON.stringify(enc.image_size)}), got ${t.type} [${t.dims.join(', ')}]`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  async forward(inputs: ForwardInputs): Promise<ForwardOutput> {
    const { sig, feeds, bound } = this.prepare(inputs);
    const cg = await this.forwardGraph(sig);
    const res = await cg.run({ ...feeds, ...this.paramFeeds(cg), ...this.noiseFeeds(cg, bound) });
    const out: ForwardOutput = { logits: res['logits']!, encoder_last_hidden_state: res['encoder_last_hidden_state'] ?? (feeds['encoder_outputs'] as Tensor) };
    if (res['loss']) out.loss = res['loss'].data[0] as number;
    const list = (prefix: string) => {
      const items: Tensor[] = [];
      for (let i = 0; res[`${prefix}.${i}`]; i++) items.push(res[`${prefix}.${i}`]!);
      return items;
    };
    if (sig.use_cache) {
      out.past_key_values = [];
      for (let i = 0; res[`present.${i}.self.key`]; i++) {
        out.past_key_values.push({
          self: { key: res[`present.${i}.self.key`]!, value: res[`present.${i}.self.value`]! },
          cross: { key: res[`present.${i}.cross.key`]!, value: res[`present.${i}.cross.value`]! },
        });
      }
    }
    if (sig.hidden) {
      out.decoder_hidden_states = list('decoder_hidden_states');
      if (sig.encoder === 'pixels') out.encoder_hidden_states = list('encoder_hidden_states');
    }
    if (sig.attentions) {
      out.decoder_attentions = list('decoder_attentions');
      out.cross_attentions = list('cross_attentions');
      if (sig.encoder === 'pixels') out.encoder_attentions = list('encoder_attentions');
    }
    return out;
  }

  /**
   * The mean token cross-entropy and d loss / d weight for every weight the loss depends on, by HF name.
   * `auxiliary_loss` adds a loss on the encoder's last hidden state to the objective inside the
   * same graph (the Trainer's CTC loss): its weights' gradients come back in `grads` under their
   * names, its other outputs in `auxiliary_outputs`; `loss` stays the cross-entropy alone.
   */
  async compute_gradients(inputs: { pixel_values: Tensor; labels: Tensor; decoder_input_ids?: Tensor; decoder_attention_mask?: Tensor; auxiliary_loss?: EncoderAuxiliaryLoss }): Promise<{ loss: number; grads: Map<string, Tensor>; auxiliary_outputs: Record<string, Tensor> }> {
    if (!inputs.labels) throw new Error('compute_gradients: labels are required');
    const { auxiliary_loss: aux, ...rest } = inputs;
    const { sig, feeds, bound } = this.prepare(rest);
    const key = `grad:${JSON.stringify(sig)}:${this.training ? 'train' : 'eval'}${aux ? `:aux:${aux.key}` : ''}`;
    const cg = await this.sessions.get(key, async () => {
      const { graph, loss, outputs: fwd } = this.buildForward(sig, this.training);
      const params = [...graph.params.entries()].map(([name, p]) => [name, p.sym] as const);
      let objective = loss!;
      const outputs: Record<string, Sym> = { loss: loss! };
      if (aux) {
        const built = aux.build(graph, fwd['encoder_last_hidden_state']!);
        objective = F.add(objective, built.loss);
        params.push(...Object.entries(built.weights));
        for (const [name, sym] of Object.entries(built.outputs ?? {})) outputs[`aux:${name}`] = sym;
      }
      const grads = grad(objective, params.map(([, sym]) => sym));
      params.forEach(([name], i) => {
        if (grads[i]) outputs[`grad:${name}`] = grads[i]!;
      });
      return CompiledGraph.create(graph, outputs, { label: 'VisionEncoderDecoderModel.compute_gradients' });
    });
    const res = await cg.run({ ...feeds, ...this.paramFeeds(cg), ...this.noiseFeeds(cg, bound), ...aux?.feeds });
    const grads = new Map<string, Tensor>();
    const auxiliary_outputs: Record<string, Tensor> = {};
    for (const n of cg.outputNames) {
      if (n.startsWith('grad:')) grads.set(n.slice(5), res[n]!);
      else if (n.startsWith('aux:')) auxiliary_outputs[n.slice(4)] = res[n]!;
    }
    return { loss: res['loss']!.data[0] as number, grads, auxiliary_outputs };
  }

  /** HF parameter names → weights (shared with the model: updating them in place changes the model). */
  named_parameters(): ParameterMap {
    this.store.pin();
    const out = new ParameterMap(() => this.weights_changed());
    for (const name of this.store.used) {
      if (this.store.buffers.has(name)) continue;
      out.set(name, this.store.tensors.get(name)!);
    }
    return out;
  }

  /** Say that weights were changed in place (generation sessions, which hold a copy, are rebuilt). */
  weights_changed(): void {
    this.weightsVersion++;
  }

  num_parameters(): number {
    let n = 0;
    for (const name of this.store.used) if (!this.store.buffers.has(name)) n += this.store.tensors.get(name)!.size;
    return n;
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The weights a checkpoint holds: every weight, and persistent buffers, without tied aliases. */
  state_dict(): Map<string, Tensor> {
    this.store.pin();
    return this.savedWeights();
  }

  /** state_dict() without pinning: save_pretrained only reads them. */
  private savedWeights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const name of this.store.used) out.set(name, this.store.tensors.get(name)!);
    return out;
  }

  private tiedNames(): Set<string> {
    const { decoder } = archs(this.config);
    return new Set(decoder.tiedKeys(this.config.decoder as AnyConfig).map((k) => `decoder.${k}`));
  }

  /**
   * config.json, generation_config.json and model.safetensors, as Python's save_pretrained.
   * `dtype: 'float16'` stores the weights as half floats (half the file, as `model.half()` in
   * Python); loading widens them back to float32, the precision every computation here uses.
   */
  async save_pretrained(dir: string, { dtype = 'float32' }: { dtype?: 'float32' | 'float16' } = {}): Promise<void> {
    if (dtype !== 'float32' && dtype !== 'float16') throw new Error(`save_pretrained: dtype must be 'float32' or 'float16', got ${JSON.stringify(dtype)}`);
    mkdirSync(dir, { recursive: true });
    const arch = this.config.architectures;
    if (!arch || arch.length === 0) this.config.architectures = ['VisionEncoderDecoderModel'];
    const saved = this.config.dtype;
    this.config.dtype = dtype;
    try {
      await this.config.save_pretrained(dir);
    } finally {
      this.config.dtype = saved;
    }
    await this.generation_config.save_pretrained(dir);
    let weights = this.savedWeights();
    if (dtype === 'float16') {
      const half = new Map<string, Tensor>();
      for (const [k, t] of weights) half.set(k, t.type === 'float32' ? new Tensor('float16', float32ToFloat16(t.data as Float32Array), [...t.dims]) : t);
      weights = half;
    }
    await saveSafetensors(join(dir, 'model.safetensors'), weights, { format: 'pt' });
  }

  static async from_pretrained(pathOrId: string, options: FromPretrainedOptions = {}): Promise<VisionEncoderDecoderModel> {
    const { config: given, seed, dtype, ...resolve } = options;
    const config = given ?? (await VisionEncoderDecoderConfig.from_pretrained(pathOrId, resolve));
    if (!(config instanceof VisionEncoderDecoderConfig)) {
      throw new Error(`${pathOrId}: config.json has model_type '${(config as PretrainedConfig).model_type}', expected 'vision-encoder-decoder'`);
    }
    const weights = await loadCheckpointWeights(pathOrId, resolve);
    const model = new VisionEncoderDecoderModel({ config, weights, seed });
    if (dtype !== undefined) model.dtype = dtype;
    model.loading_info = model.reportLoading(pathOrId, new Set(weights.keys()));
    if (await fileExists(pathOrId, 'generation_config.json', resolve)) {
      model.generation_config = await GenerationConfig.from_pretrained(pathOrId, resolve);
    }
    return model;
  }

  private reportLoading(source: string, loaded: Set<string>): LoadingInfo {
    const tied = this.tiedNames();
    const missing = this.store.created.filter((n) => !this.store.buffers.has(n));
    const unexpected = [...loaded].filter((k) => !this.store.used.has(k) && !tied.has(k) && !this.store.buffers.has(k));
    for (const k of unexpected) this.store.tensors.delete(k);
    const parts: string[] = [];
    if (missing.length) parts.push(`newly initialized (not in the checkpoint): ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`not used (in the checkpoint but not in the model): ${unexpected.join(', ')}`);
    if (parts.length) console.warn(`VisionEncoderDecoderModel from ${source}: some weights ${parts.join('; ')}. You should probably train this model before using it for predictions.`);
    return { missing_keys: missing, unexpected_keys: unexpected };
  }

  /**
   * Join a pretrained encoder checkpoint and a pretrained decoder checkpoint. Only what neither
   * has (cross-attention, enc_to_dec_proj, heads missing from the decoder checkpoint) is freshly
   * initialised, and listed in a warning. kwargs: `encoder_*` / `decoder_*` config overrides.
   */
  static async from_encoder_decoder_pretrained(
    encoderPathOrId: string,
    decoderPathOrId: string,
    kwargs: Record<string, unknown> & { seed?: number; resolve?: ResolveOptions } = {},
  ): Promise<VisionEncoderDecoderModel> {
    const { seed, resolve = {}, ...rest } = kwargs;
    const split = splitEncoderDecoderKwargs(rest);
    const encConfig = await AutoConfig.from_pretrained(encoderPathOrId, resolve, split.encoder);
    const decConfig = await AutoConfig.from_pretrained(decoderPathOrId, resolve, split.decoder);
    if (decConfig.is_decoder !== true || decConfig.add_cross_attention !== true) {
      console.warn(`from_encoder_decoder_pretrained: initializing ${decoderPathOrId} as a decoder model: cross-attention layers are added and initialized randomly.`);
    }
    const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encConfig, decConfig, split.rest);
    const [encWeights, decWeights] = await Promise.all([loadCheckpointWeights(encoderPathOrId, resolve), loadCheckpointWeights(decoderPathOrId, resolve)]);

    // Learn the model's weight names, then take each from its checkpoint (under the names a
    // standalone checkpoint may use: with or without a task model's prefix).
    const probe = new VisionEncoderDecoderModel({ config, seed });
    const weights = new Map<string, Tensor>();
    const { encoder, decoder } = archs(config);
    const take = (name: string, local: string, source: Map<string, Tensor>, prefixes: string[], used: Set<string>) => {
      const candidates = [local, ...prefixes.map((p) => p + local)];
      const dot = local.indexOf('.');
      if (dot > 0) candidates.push(local.slice(dot + 1)); // e.g. GPT2Model's 'h.0...' for 'transformer.h.0...'
      for (const c of candidates) {
        const t = source.get(c);
        if (t) {
          weights.set(name, t);
          used.add(c);
          return;
        }
      }
    };
    const usedEnc = new Set<string>();
    const usedDec = new Set<string>();
    for (const name of probe.store.used) {
      if (name.startsWith('encoder.')) take(name, name.slice(8), encWeights, encoder.checkpoint_prefixes, usedEnc);
      else if (name.startsWith('decoder.')) take(name, name.slice(8), decWeights, decoder.checkpoint_prefixes ?? [], usedDec);
    }
    const model = new VisionEncoderDecoderModel({ config, weights, seed });
    const fresh = model.store.created.filter((n) => !model.store.buffers.has(n));
    const tied = new Set(decoder.tiedKeys(config.decoder as AnyConfig));
    const unusedEnc = [...encWeights.keys()].filter((k) => !usedEnc.has(k));
    const unusedDec = [...decWeights.keys()].filter((k) => !usedDec.has(k) && !tied.has(k));
    if (fresh.length) console.warn(`from_encoder_decoder_pretrained: newly initialized weights (train the model before using it): ${fresh.join(', ')}`);
    if (unusedEnc.length || unusedDec.length) {
      console.warn(`from_encoder_decoder_pretrained: checkpoint weights not used: ${[...unusedEnc.map((k) => `${encoderPathOrId}:${k}`), ...unusedDec.map((k) => `${decoderPathOrId}:${k}`)].join(', ')}`);
    }
    model.loading_info = { missing_keys: fresh, unexpected_keys: [...unusedEnc.map((k) => `encoder.${k}`), ...unusedDec.map((k) => `decoder.${k}`)] };
    return model;
  }

  // ------------------------------------------------------------------------------------------
  // Generation

  /** The weights generate() computes with ('float32' or 'int8'); setting it rebuilds the generation sessions. */
  get dtype(): InferenceDtype {
    return this.inferenceDtype;
  }
  set dtype(value: InferenceDtype) {
    if (!INFERENCE_DTYPES.includes(value)) throw new Error(`dtype must be one of ${INFERENCE_DTYPES.map((d) => `'${d}'`).join(', ')}, got ${JSON.stringify(value)}`);
    if (value !== this.inferenceDtype) this.weightsVersion++;
    this.inferenceDtype = value;
  }

  /** Serialise and open a generation graph, quantizing its weight matrices first when dtype is int8. */
  private compileForGeneration(g: Graph, outputs: Record<string, Sym>, label: string, int8Kernel: Int8Kernel = 'dynamic'): Promise<CompiledGraph> {
    const int8 = this.inferenceDtype === 'int8';
    // Quantization reads every weight: a session from the disk cache skips it (the tag keys it).
    return CompiledGraph.create(g, outputs, {
      label,
      cache: true,
      cacheTag: int8 ? `int8:${int8Kernel}${int8Kernel === 'dynamic' ? `:${DYNAMIC_INT8_MAX}` : ''}` : 'float32',
      // ORT's int8 kernels compute otherwise without their repacked weights (the vit-gpt2
      // fixture's scores moved by 1.6% of their range), so int8 sessions always repack.
      ...(int8 ? { prepack: true } : {}),
      beforeSerialize: int8 ? () => quantizeWeightsInt8(g, Object.values(outputs), int8Kernel) : undefined,
    });
  }

  /** The encoder graph: pixel_values → each decoder layer's cross-attention K/V. */
  private encoderSession(): Promise<CompiledGraph> {
    return this.sessions.get('gen:encoder', async () => {
      const g = new Graph({ paramMode: 'initializer' });
      const ctx = new Ctx(g, this.store);
      const enc = this.config.encoder;
      const pixels = g.input('pixel_values', 'float32', ['batch', (enc.num_channels as number) ?? 3, ...imageSize(enc)]);
      const { projected } = this.encode(ctx, pixels);
      const kv = archs(this.config).decoder.crossKV(ctx.scope('decoder'), this.config.decoder as AnyConfig, projected);
      const outputs: Record<string, Sym> = {};
      kv.forEach((l, i) => {
        outputs[`cross.${i}.key`] = l.key;
        outputs[`cross.${i}.value`] = l.value;
      });
      return this.compileForGeneration(g, outputs, 'encoder');
    });
  }

  /**
   * The decoder step graph: new tokens + self-attention cache + cross K/V → logits of the new
   * position + the new position's self-attention K/V. The cache is position-major, one entry
   * [heads, head_dim] per (position, slot), and row r's past is entries past_idx[r, 0..past-1]:
   * ORT gathers each row's past (beams that traded places or left included) into the attention's
   * input. Only the new entries leave ORT: handing the whole grown cache back to JavaScript every
   * step, as new arrays, cost more than the step's own arithmetic.
   */
  private stepSession(): Promise<CompiledGraph> {
    return this.sessions.get('gen:step', async () => {
      const g = new Graph({ paramMode: 'initializer' });
      const ctx = new Ctx(g, this.store);
      const cs = this.cacheShape();
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
      const out = archs(this.config).decoder.forward(ctx.scope('decoder'), this.config.decoder as AnyConfig, { input_ids: ids, past, cross });
      const V = (this.config.decoder as AnyConfig).vocab_size as number;
      const last = F.reshape(out.logits, [-1, V]);
      // Beam search asks for log_softmax too: ORT's vectorised kernel costs a fraction of the
      // JavaScript loop over rows × vocab.
      const outputs: Record<string, Sym> = { logits: last, log_probs: F.logSoftmax(last, -1) };
      out.present.forEach((kv, i) => {
        outputs[`new.${i}.key`] = F.slice(kv.key, [-1], [F.END], [2]);
        outputs[`new.${i}.value`] = F.slice(kv.value, [-1], [F.END], [2]);
      });
      // A step multiplies a few rows by each weight: the blockwise int8 kernel is the faster there.
      return this.compileForGeneration(g, outputs, 'decoder step', 'blockwise');
    });
  }

  /**
   * A DecoderSession over a batch of images: the encoder has run once; each step feeds one token
   * per row. `maxLength`: the longest rows expected (the cache's first size; it grows past it).
   */
  async decoderSession(pixel_values: Tensor, maxLength = 64): Promise<DecoderSession> {
    this.checkPixels(pixel_values);
    if (this.bakedVersion !== this.weightsVersion) {
      await this.sessions.drop('gen:');
      this.bakedVersion = this.weightsVersion;
    }
    const encoder = await this.encoderSession();
    const step = await this.stepSession();
    // The sessions hold the weights now; those that can be read again from their file need no
    // second copy here (training, forward() and saving read them back when they need them).
    this.store.release();
    const encOut = await encoder.run({ pixel_values });
    const cs = this.cacheShape();
    const rows = pixel_values.dims[0]!;
    const cross: Tensor[] = [];
    for (let i = 0; i < cs.layers; i++) cross.push(encOut[`cross.${i}.key`]!, encOut[`cross.${i}.value`]!);
    const V = (this.config.decoder as AnyConfig).vocab_size as number;
    return kvCacheSession(step, cross, rows, cs, V, maxLength, this.spareCache);
  }

  /**
   * Generate token ids for a batch of images: int64 [B * num_return_sequences, L], each row
   * starting with the decoder start token, finished rows padded with pad_token_id — as Python.
   * With return_dict_in_generate, the whole output (scores, sequences_scores) is returned instead.
   */
  async generate(pixel_values: Tensor, options: Record<string, unknown> & { return_dict_in_generate: true }): Promise<GenerateOutput>;
  async generate(pixel_values: Tensor, options?: Record<string, unknown>): Promise<Tensor>;
  async generate(pixel_values: Tensor, options: Record<string, unknown> = {}): Promise<Tensor | GenerateOutput> {
    const { config, options: genOptions } = prepareGenerationConfig(this.generation_config, options);
    for (const key of ['decoder_start_token_id', 'pad_token_id', 'eos_token_id'] as const) {
      // Settings made on model.config after loading take effect, as in Python.
      if ((config[key] === null || config[key] === undefined) && this.config[key] !== null && this.config[key] !== undefined) (config as Record<string, unknown>)[key] = this.config[key];
    }
    if (config.decoder_start_token_id === null || config.decoder_start_token_id === undefined) {
      throw new Error('generate: decoder_start_token_id is not set (in the generation config, the model config, or the call)');
    }
    // The cache's first size: the longest rows this call can make (a hint only; Python's default is 20 new tokens).
    const longest = typeof config.max_new_tokens === 'number' ? config.max_new_tokens + 1 : typeof config.max_length === 'number' ? config.max_length : 21;
    const session = await this.decoderSession(pixel_values, longest);
    try {
      const out = await runGenerate(session, pixel_values.dims[0]!, config, genOptions);
      return config.return_dict_in_generate ? out : out.sequences;
    } finally {
      session.dispose?.();
    }
  }
}

function imageSize(enc: PretrainedConfig): [number, number] {
  const s = enc.image_size as number | number[] | undefined;
  if (s === undefined) throw new Error(`encoder config (${enc.model_type}) has no image_size`);
  return Array.isArray(s) ? [s[0]!, s[1]!] : [s, s];
}
