// Swin (model_type 'swin'): transformers' SwinModel, as AutoModel builds it inside
// VisionEncoderDecoderModel — patch embeddings (the image padded to a multiple of the patch size)
// with a LayerNorm, then stages of shifted-window attention blocks with a relative position bias,
// each stage but the last ending in a patch merging (2×2 neighbours → half the grid, twice the
// width), a final LayerNorm and the average pooler (no weights). Names are SwinModel's own
// (`embeddings.patch_embeddings.projection.weight`, `encoder.layers.0.blocks.1.attention.self.query.weight`,
// `encoder.layers.0.downsample.reduction.weight`, `layernorm.weight`, ...).
//
// Donut-Swin (donut_swin.ts) is the same network without the final LayerNorm, and keeps each
// block's `relative_position_index` in its checkpoints; everything else is shared from here.
//
// Spatial sizes are static: the graph is built for pixel_values' height and width (the config's
// image_size where they are symbolic), so window partitions, shifts, paddings and the shifted-window
// attention mask are all known while building; the batch stays symbolic.

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { Tensor } from '../runtime/tensor.js';
import { type EncoderArch, type EncoderOutputs } from './architectures.js';
import { attention } from './layers.js';
import { type AnyConfig, type Ctx, normal, zeros } from './modeling_utils.js';

/** What the Swin encoders return: EncoderOutputs plus the average-pooled last state. */
export type SwinEncoderOutputs = EncoderOutputs & { pooler_output?: Sym };

export interface SwinForwardOptions {
  output_hidden_states?: boolean;
  output_attentions?: boolean;
}

/** How Swin and Donut-Swin differ. */
export interface SwinVariant {
  /** transformers' class name, for messages. */
  className: string;
  /** SwinModel ends in `layernorm`; DonutSwinModel does not. */
  finalLayerNorm: boolean;
  /** DonutSwin keeps `attention.self.relative_position_index` in its checkpoints (a persistent buffer); Swin 5.x does not. */
  persistentIndex: boolean;
  /** Rows of `embeddings.position_embeddings` for num_patches patches, or null where transformers cannot run use_absolute_embeddings. */
  positionRows: ((numPatches: number) => number) | null;
}

/** An int or an [h, w] pair from a config, as a pair. */
function pairOf(config: AnyConfig, key: string, fallback: number): [number, number] {
  const v = config[key] ?? fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) return [v[0], v[1]];
  throw new Error(`${config.model_type ?? 'swin'} config: ${key} must be a positive integer or a pair [height, width], got ${JSON.stringify(v)}`);
}

function positiveInt(config: AnyConfig, key: string, fallback: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${config.model_type ?? 'swin'} config: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function intList(config: AnyConfig, key: string, fallback: number[]): number[] {
  const v = config[key] ?? fallback;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) {
    throw new Error(`${config.model_type ?? 'swin'} config: ${key} must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** SwinConfig / DonutSwinConfig fields with transformers' defaults. */
export interface SwinSettings {
  name: string;
  channels: number;
  imageSize: [number, number];
  patch: [number, number];
  embedDim: number;
  depths: number[];
  heads: number[];
  window: number;
  mlpRatio: number;
  qkvBias: boolean;
  hiddenDropout: number;
  attentionDropout: number;
  dropPath: number;
  act: string;
  absolute: boolean;
  std: number;
  eps: number;
  /** Width after the last stage: embed_dim · 2^(stages − 1), the encoder's hidden_size. */
  hidden: number;
}

export function swinSettings(config: AnyConfig): SwinSettings {
  const name: string = config.model_type ?? 'swin';
  const depths = intList(config, 'depths', [2, 2, 6, 2]);
  const heads = intList(config, 'num_heads', [3, 6, 12, 24]);
  if (heads.length !== depths.length) throw new Error(`${name} config: num_heads must give one head count per stage (depths has ${depths.length} stages), got ${JSON.stringify(heads)}`);
  const embedDim = positiveInt(config, 'embed_dim', 96);
  depths.forEach((_, i) => {
    const dim = embedDim * 2 ** i;
    if (dim % heads[i]! !== 0) throw new Error(`${name} config: stage ${i} has width ${dim} (embed_dim · 2^${i}), not a multiple of num_heads[${i}] = ${heads[i]}`);
  });
  const act = config.hidden_act ?? 'gelu';
  if (typeof act !== 'string') throw new Error(`${name} config: hidden_act must be an activation name, got ${JSON.stringify(act)}`);
  const mlpRatio = config.mlp_ratio ?? 4.0;
  if (typeof mlpRatio !== 'number' || !(mlpRatio > 0)) throw new Error(`${name} config: mlp_ratio must be a positive number, got ${JSON.stringify(mlpRatio)}`);
  return {
    name,
    channels: positiveInt(config, 'num_channels', 3),
    imageSize: pairOf(config, 'image_size', 224),
    patch: pairOf(config, 'patch_size', 4),
    embedDim,
    depths,
    heads,
    window: positiveInt(config, 'window_size', 7),
    mlpRatio,
    qkvBias: config.qkv_bias ?? true,
    hiddenDropout: config.hidden_dropout_prob ?? 0,
    attentionDropout: config.attention_probs_dropout_prob ?? 0,
    dropPath: config.drop_path_rate ?? 0.1,
    act,
    absolute: config.use_absolute_embeddings ?? false,
    std: config.initializer_range ?? 0.02,
    eps: config.layer_norm_eps ?? 1e-5,
    hidden: embedDim * 2 ** (depths.length - 1),
  };
}

/** pixel_values [B, num_channels, H, W] checked against the config; returns the (static) H and W the graph is built for. */
function imageSizeOf(s: SwinSettings, pixel_values: Sym): [number, number] {
  const shape = `[${pixel_values.shape.join(', ')}]`;
  if (pixel_values.dtype !== 'float32') throw new Error(`${s.name}: pixel_values must be float32, got ${pixel_values.dtype}`);
  if (pixel_values.rank !== 4) throw new Error(`${s.name}: pixel_values must be [batch_size, num_channels, height, width] = [B, ${s.channels}, ${s.imageSize.join(', ')}], got ${shape}`);
  const [, c, h, w] = pixel_values.shape;
  if (typeof c === 'number' && c !== s.channels) {
    throw new Error(`${s.name}: pixel_values ${shape} has ${c} channels, but the config's num_channels is ${s.channels}: make sure the channel dimension of the pixel values matches the configuration`);
  }
  return [typeof h === 'number' ? h : s.imageSize[0], typeof w === 'number' ? w : s.imageSize[1]];
}

// ---------------------------------------------------------------------------------------------
// Constants computed from static sizes

/**
 * The relative position index of a w×w window, [w², w²] int64: for tokens i = (y1, x1) and
 * j = (y2, x2), (y1 − y2 + w − 1) · (2w − 1) + (x1 − x2 + w − 1) — a row of the bias table.
 */
export function relativePositionIndex(w: number): Tensor {
  const T = w * w;
  const data = new BigInt64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const dy = Math.floor(i / w) - Math.floor(j / w) + w - 1;
      const dx = (i % w) - (j % w) + w - 1;
      data[i * T + j] = BigInt(dy * (2 * w - 1) + dx);
    }
  }
  return new Tensor('int64', data, [T, T]);
}

/**
 * The shifted-window attention mask, additive, [windows, 1, w², w²]: in the (padded, rolled) grid
 * each axis has three regions — [0, P − w), [P − w, P − shift), [P − shift, P) — and two tokens of
 * a window may attend to each other only when they come from the same pair of regions (else −100,
 * as transformers' get_attn_mask).
 */
export function shiftedWindowMask(hp: number, wp: number, w: number, shift: number): Tensor {
  const region = (p: number, size: number) => (p >= size - w ? 1 : 0) + (p >= size - shift ? 1 : 0);
  const nh = hp / w;
  const nw = wp / w;
  const T = w * w;
  const out = new Float32Array(nh * nw * T * T);
  for (let a = 0; a < nh; a++) {
    for (let b = 0; b < nw; b++) {
      const labels = Array.from({ length: T }, (_, t) => region(a * w + Math.floor(t / w), hp) * 3 + region(b * w + (t % w), wp));
      const base = (a * nw + b) * T * T;
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) out[base + i * T + j] = labels[i] === labels[j] ? 0 : -100;
    }
  }
  return new Tensor('float32', out, [nh * nw, 1, T, T]);
}

// ---------------------------------------------------------------------------------------------
// Graph pieces

/** torch.roll along one axis of static length `size` by `shift` (positive: towards higher indices), as Slice + Concat. */
function roll(x: Sym, shift: number, size: number, axis: number): Sym {
  const k = ((shift % size) + size) % size;
  if (k === 0) return x;
  return F.concat([F.slice(x, [size - k], [size], [axis]), F.slice(x, [0], [size - k], [axis])], axis);
}

/** [B, Hp, Wp, C] → [B, windows, w², C], windows row-major over the grid, tokens row-major in a window. */
function windowPartition(x: Sym, hp: number, wp: number, w: number, c: number): Sym {
  const y = F.transpose(F.reshape(x, [0, hp / w, w, wp / w, w, c]), [0, 1, 3, 2, 4, 5]);
  return F.reshape(y, [0, (hp / w) * (wp / w), w * w, c]);
}

/** The inverse of windowPartition: [B, windows, w², C] → [B, Hp, Wp, C]. */
function windowReverse(x: Sym, hp: number, wp: number, w: number, c: number): Sym {
  const y = F.transpose(F.reshape(x, [0, hp / w, wp / w, w, w, c]), [0, 1, 3, 2, 4, 5]);
  return F.reshape(y, [0, hp, wp, c]);
}

/**
 * SwinDropPath (stochastic depth): in training graphs, each sample's residual branch is dropped
 * with probability p (and the kept ones scaled by 1/(1 − p)); the per-sample uniform noise
 * [B, 1, 1] is a graph input the trainer feeds, as for dropout.
 */
function dropPath(ctx: Ctx, x: Sym, p: number): Sym {
  if (!ctx.training || !p) return x;
  // The name starts with 'dropout_noise' (what the trainer feeds); fresh() reserves the stem.
  const noise = ctx.g.input(`${ctx.g.fresh('dropout_noise')}_drop_path`, 'float32', [x.shape[0]!, 1, 1]);
  ctx.noiseInputs.push(noise);
  return F.dropout(x, p, noise);
}

/**
 * The relative position index as the model keeps it. A persistent buffer (Donut-Swin) is part of
 * the checkpoint: the value loaded is used (as PyTorch would), and it is saved with the weights.
 */
function positionIndex(ctx: Ctx, w: number, persistent: boolean): Tensor {
  const computed = relativePositionIndex(w);
  const name = ctx.name('relative_position_index');
  // Swin 5.x recomputes it (non-persistent) and ignores it in older checkpoints; marking it as a
  // buffer lets those checkpoints load without an "unused weight" warning, and it is never saved.
  ctx.buffer('relative_position_index', computed, true);
  if (!persistent) return computed;
  const have = ctx.store.tensors.get(name);
  if (have) {
    if (have.type !== 'int64' || have.dims.join() !== computed.dims.join()) {
      throw new Error(`buffer '${name}' is ${have.type} [${have.dims.join(', ')}] in the checkpoint; window_size ${w} needs int64 [${computed.dims.join(', ')}]`);
    }
    const table = (2 * w - 1) ** 2;
    for (const v of have.data as BigInt64Array) {
      if (v < 0n || v >= BigInt(table)) throw new Error(`buffer '${name}' holds index ${v}, outside the ${table}-row relative_position_bias_table`);
    }
  } else ctx.store.tensors.set(name, computed);
  ctx.store.used.add(name);
  return have ?? computed;
}

/**
 * SwinAttention (`attention.self.*`, `attention.output.dense`) over windows [B, n, w², dim]:
 * multi-head attention inside each window with the relative position bias, plus the shifted-window
 * mask where given. Returns the output windows and the probabilities as transformers returns them,
 * [B · n, heads, w², w²].
 */
function windowAttention(ctx: Ctx, s: SwinSettings, variant: SwinVariant, x: Sym, dim: number, heads: number, w: number, mask: Sym | null): { out: Sym; probs: Sym } {
  const self = ctx.scope('self');
  const headDim = dim / heads;
  const T = w * w;
  const init = normal(s.std);
  const table = self.param('relative_position_bias_table', [(2 * w - 1) ** 2, heads], zeros);
  const index = positionIndex(self, w, variant.persistentIndex);
  const flat = self.g.constant(new Tensor('int64', index.data as BigInt64Array, [T * T]), 'buffer');
  const bias = F.transpose(F.reshape(F.gather(table, flat, 0), [T, T, heads]), [2, 0, 1]); // [heads, w², w²]

  // [B, n, w², dim] → [B, n, heads, w², head_dim]
  const split = (y: Sym) => F.transpose(F.reshape(y, [0, 0, 0, heads, headDim]), [0, 1, 3, 2, 4]);
  const q = split(self.linear('query', x, dim, dim, { bias: s.qkvBias, std: s.std, init }));
  const k = split(self.linear('key', x, dim, dim, { bias: s.qkvBias, std: s.std, init }));
  const v = split(self.linear('value', x, dim, dim, { bias: s.qkvBias, std: s.std, init }));
  const kept: { probs?: Sym } = {};
  const { context } = attention(q, k, v, {
    scale: 1 / Math.sqrt(headDim),
    bias,
    mask,
    // Python returns the attention weights after dropout; they are the same outside training.
    dropout: (p) => (kept.probs = ctx.dropout(p, s.attentionDropout)),
  });
  const merged = F.reshape(F.transpose(context, [0, 1, 3, 2, 4]), [0, 0, 0, dim]);
  // SwinSelfOutput's dropout uses attention_probs_dropout_prob, as in transformers.
  const out = ctx.dropout(ctx.scope('output').linear('dense', merged, dim, dim, { std: s.std, init }), s.attentionDropout);
  return { out, probs: F.reshape(kept.probs!, [-1, heads, T, T]) };
}

/**
 * SwinLayer (`blocks.M`): LayerNorm, (shifted) window attention over the grid padded to whole
 * windows, the residual through drop path; then LayerNorm, MLP and the second residual.
 */
function swinLayer(ctx: Ctx, s: SwinSettings, variant: SwinVariant, x: Sym, res: [number, number], dim: number, heads: number, shift: number, dropPathRate: number): { out: Sym; probs: Sym } {
  const w = s.window;
  const [h, wd] = res;
  const init = normal(s.std);
  let y = F.reshape(ctx.layerNorm('layernorm_before', x, dim, s.eps), [0, h, wd, dim]);
  // Pad bottom and right to whole windows (cropped back after the attention).
  const padB = (w - (h % w)) % w;
  const padR = (w - (wd % w)) % w;
  if (padB || padR) y = F.pad(y, [0, 0, 0, 0, 0, padB, padR, 0]);
  const [hp, wp] = [h + padB, wd + padR];
  if (shift) y = roll(roll(y, -shift, hp, 1), -shift, wp, 2);
  const mask = shift ? ctx.g.constant(shiftedWindowMask(hp, wp, w, shift), 'buffer') : null;
  const att = windowAttention(ctx.scope('attention'), s, variant, windowPartition(y, hp, wp, w, dim), dim, heads, w, mask);
  let a = windowReverse(att.out, hp, wp, w, dim);
  if (shift) a = roll(roll(a, shift, hp, 1), shift, wp, 2);
  if (padB || padR) a = F.slice(a, [0, 0], [h, wd], [1, 2]);
  a = F.reshape(a, [0, h * wd, dim]);
  const hs = F.add(x, dropPath(ctx, a, dropPathRate));

  const inner = Math.trunc(s.mlpRatio * dim);
  let m = ctx.layerNorm('layernorm_after', hs, dim, s.eps);
  m = F.activation(s.act, ctx.scope('intermediate').linear('dense', m, dim, inner, { std: s.std, init }));
  m = ctx.dropout(ctx.scope('output').linear('dense', m, inner, dim, { std: s.std, init }), s.hiddenDropout);
  return { out: F.add(hs, m), probs: att.probs };
}

/**
 * SwinPatchMerging (`downsample`): the grid padded to even sizes, each 2×2 neighbourhood
 * concatenated as [(0,0), (1,0), (0,1), (1,1)] (row, column) → LayerNorm(4·dim) → `reduction`
 * to 2·dim (no bias). [B, h·w, dim] → [B, ⌈h/2⌉·⌈w/2⌉, 2·dim].
 */
function patchMerging(ctx: Ctx, s: SwinSettings, x: Sym, res: [number, number], dim: number): Sym {
  const [h, w] = res;
  let y = F.reshape(x, [0, h, w, dim]);
  if (h % 2 || w % 2) y = F.pad(y, [0, 0, 0, 0, 0, h % 2, w % 2, 0]);
  const [h2, w2] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  // [B, h2, row, w2, col, C] → [B, h2, w2, col, row, C]: channel block = col · 2 + row.
  y = F.transpose(F.reshape(y, [0, h2, 2, w2, 2, dim]), [0, 1, 3, 4, 2, 5]);
  y = F.reshape(y, [0, h2 * w2, 4 * dim]);
  y = ctx.layerNorm('norm', y, 4 * dim, 1e-5); // nn.LayerNorm(4 * dim): torch's default eps
  return ctx.linear('reduction', y, 4 * dim, 2 * dim, { bias: false, std: s.std });
}

/**
 * SwinEmbeddings (`embeddings.*`): the image padded to whole patches, the patch projection
 * (Conv2d, stride = kernel = patch), flattened to [B, patches, embed_dim], `norm`, the absolute
 * position embeddings where configured, dropout. Returns the embeddings and the patch grid.
 */
function swinEmbeddings(ctx: Ctx, s: SwinSettings, variant: SwinVariant, pixel_values: Sym, size: [number, number]): { x: Sym; grid: [number, number] } {
  const [ph, pw] = s.patch;
  const [H, W] = size;
  const padB = (ph - (H % ph)) % ph;
  const padR = (pw - (W % pw)) % pw;
  const px = padB || padR ? F.pad(pixel_values, [0, 0, 0, 0, 0, 0, padB, padR]) : pixel_values;
  const grid: [number, number] = [(H + padB) / ph, (W + padR) / pw];
  const projection = ctx.scope('patch_embeddings').scope('projection');
  const weight = projection.param('weight', [s.embedDim, s.channels, ph, pw], normal(s.std));
  const bias = projection.param('bias', [s.embedDim], zeros);
  const conv = F.conv2d(px, weight, bias, [ph, pw]); // [B, embed_dim, gh, gw]
  let x = F.transpose(F.reshape(conv, [0, s.embedDim, grid[0] * grid[1]]), [0, 2, 1]);
  x = ctx.layerNorm('norm', x, s.embedDim, 1e-5); // nn.LayerNorm(embed_dim): torch's default eps
  if (s.absolute) {
    const configGrid = [Math.floor(s.imageSize[0] / ph), Math.floor(s.imageSize[1] / pw)];
    const numPatches = configGrid[0]! * configGrid[1]!;
    if (!variant.positionRows) {
      throw new Error(
        `${s.name}: use_absolute_embeddings true is not supported: transformers' ${variant.className} makes position_embeddings of ` +
          `num_patches + 1 rows for num_patches patch embeddings, and its forward fails on the sum; use use_absolute_embeddings false`,
      );
    }
    if (grid[0] !== configGrid[0] || grid[1] !== configGrid[1]) {
      throw new Error(
        `${s.name}: with use_absolute_embeddings the image must give the config's patch grid (${configGrid.join('×')} for image_size ${s.imageSize.join('×')}), ` +
          `but pixel_values ${H}×${W} give ${grid.join('×')}`,
      );
    }
    x = F.add(x, ctx.param('position_embeddings', [1, variant.positionRows(numPatches), s.embedDim], zeros));
  }
  return { x: ctx.dropout(x, s.hiddenDropout), grid };
}

/** SwinModel / DonutSwinModel forward: embeddings, stages, final LayerNorm (Swin only), pooler. */
export function swinModelForward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: SwinForwardOptions, variant: SwinVariant): SwinEncoderOutputs {
  const s = swinSettings(config);
  const size = imageSizeOf(s, pixel_values);
  const emb = swinEmbeddings(ctx.scope('embeddings'), s, variant, pixel_values, size);
  let x = emb.x;
  let res = emb.grid;
  const hidden_states: Sym[] = [x];
  const attentions: Sym[] = [];
  const total = s.depths.reduce((a, b) => a + b, 0);
  // Stochastic depth grows linearly over all blocks: torch.linspace(0, drop_path_rate, total).
  const rate = (i: number) => (total > 1 ? (s.dropPath * i) / (total - 1) : 0);
  let block = 0;
  const layers = ctx.scope('encoder').scope('layers');
  s.depths.forEach((depth, i) => {
    const stage = layers.scope(i);
    const dim = s.embedDim * 2 ** i;
    // set_shift_and_window_size: a grid no larger than the window is one window, unshifted.
    // transformers then also shrinks the window to the grid, but its relative position bias stays
    // window_size², so a grid smaller than the window fails there: say so here.
    const small = Math.min(...res) <= s.window;
    if (Math.min(...res) < s.window) {
      throw new Error(
        `${s.name}: stage ${i} works on a ${res.join('×')} patch grid, smaller than window_size ${s.window}; transformers' ${variant.className} fails there ` +
          `(its relative position bias is built for ${s.window}×${s.window} windows): use a larger image or a smaller window_size`,
      );
    }
    let probs: Sym | undefined;
    for (let b = 0; b < depth; b++) {
      const shift = b % 2 === 1 && !small ? Math.floor(s.window / 2) : 0;
      const layer = swinLayer(stage.scope('blocks').scope(b), s, variant, x, res, dim, s.heads[i]!, shift, rate(block++));
      x = layer.out;
      probs = layer.probs;
    }
    if (i < s.depths.length - 1) {
      x = patchMerging(stage.scope('downsample'), s, x, res, dim);
      res = [Math.ceil(res[0] / 2), Math.ceil(res[1] / 2)];
    }
    hidden_states.push(x);
    // transformers returns one attention map per stage: its last block's.
    attentions.push(probs!);
  });
  const last = variant.finalLayerNorm ? ctx.layerNorm('layernorm', x, s.hidden, s.eps) : x;
  const pooler_output = F.reduceMean(last, [1], false); // AdaptiveAvgPool1d(1) over the tokens
  return {
    last_hidden_state: last,
    pooler_output,
    ...(opts.output_hidden_states ? { hidden_states } : {}),
    ...(opts.output_attentions ? { attentions } : {}),
  };
}

const SWIN: SwinVariant = { className: 'SwinModel', finalLayerNorm: true, persistentIndex: false, positionRows: (n) => n };

export const SwinModel = {
  model_type: 'swin',
  checkpoint_prefixes: ['swin.'],

  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: SwinForwardOptions = {}): SwinEncoderOutputs {
    return swinModelForward(ctx, config, pixel_values, opts, SWIN);
  },
} satisfies EncoderArch;
