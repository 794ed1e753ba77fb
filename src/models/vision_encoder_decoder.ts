// VisionEncoderDecoderModel: any vision encoder joined to any text decoder by cross-attention,
// as transformers' modeling_vision_encoder_decoder.py. The encoder and decoder are architecture
// files (registry.ts), composed into graphs by vision_encoder_decoder_graphs.ts; this file runs
// them: it shifts labels into decoder inputs, computes the loss and its gradients, loads and
// saves HF checkpoints, and drives generation.

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
import { loadCheckpointWeights } from './checkpoint.js';
import { kvCacheSession, SpareCache } from './kv_cache.js';
import { AutoConfig, type PretrainedConfig, splitEncoderDecoderKwargs, VisionEncoderDecoderConfig } from './configuration.js';
import { type AnyConfig, Ctx, ParamStore, uniformSampler } from './modeling_utils.js';
import { archs, buildForward, buildModel, cacheShape, encoderGenerationGraph, hasEncToDecProj, pixelShape, type Signature, stepGenerationGraph } from './vision_encoder_decoder_graphs.js';

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
    const pixels = g.input('pixel_values', 'float32', ['batch', ...pixelShape(this.config.encoder)]);
    const ids = g.input('decoder_input_ids', 'int64', ['batch', 'dec_seq']);
    buildModel(this.config, ctx, { pixel_values: pixels, decoder_input_ids: ids });
  }

  /** Does Python build enc_to_dec_proj for this config? */
  get hasEncToDecProj(): boolean {
    return hasEncToDecProj(this.config);
  }

  /** Build (once per signature) the forward graph and its session. */
  private forwardGraph(sig: Signature): Promise<CompiledGraph> {
    const key = `forward:${JSON.stringify(sig)}:${this.training ? 'train' : 'eval'}`;
    return this.sessions.get(key, async () => {
      const { graph, outputs } = buildForward(this.config, this.store, sig, this.training);
      return CompiledGraph.create(graph, outputs, { label: 'VisionEncoderDecoderModel.forward' });
    });
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
      if (past.length !== cacheShape(this.config).layers) throw new Error(`past_key_values has ${past.length} layers; the decoder has ${cacheShape(this.config).layers}`);
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
    const want = pixelShape(enc);
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
      const { graph, loss, outputs: fwd } = buildForward(this.config, this.store, sig, this.training);
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

  /** Generation's encoder session (vision_encoder_decoder_graphs.ts). */
  private encoderSession(): Promise<CompiledGraph> {
    return this.sessions.get('gen:encoder', async () => {
      const { graph, outputs } = encoderGenerationGraph(this.config, this.store);
      return this.compileForGeneration(graph, outputs, 'encoder');
    });
  }

  /** Generation's decoder step session (vision_encoder_decoder_graphs.ts). */
  private stepSession(): Promise<CompiledGraph> {
    return this.sessions.get('gen:step', async () => {
      const { graph, outputs } = stepGenerationGraph(this.config, this.store);
      // A step multiplies a few rows by each weight: the blockwise int8 kernel is the faster there.
      return this.compileForGeneration(graph, outputs, 'decoder step', 'blockwise');
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
    const cs = cacheShape(this.config);
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
