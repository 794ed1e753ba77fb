// BEiT (model_type 'beit'): transformers' BeitModel as AutoModel builds it (add_pooling_layer
// True). Differences from ViT, in forward order:
// - embeddings: [CLS] + patches; learned absolute positions only with
//   use_absolute_position_embeddings; `mask_token` exists (unused here) when use_mask_token;
// - attention: query and value have a bias, key has none; a relative position bias is added to
//   the scores, per layer (`attention.attention.relative_position_bias`, use_relative_position_bias)
//   and/or shared by all layers (`encoder.relative_position_bias`, use_shared_relative_position_bias);
// - layer scale: both residual branches are multiplied by `lambda_1` / `lambda_2` when
//   layer_scale_init_value > 0; stochastic depth (drop path, linear in depth up to drop_path_rate)
//   on both branches in training;
// - with use_mean_pooling there is no final `layernorm`: the pooler takes the mean of the patch
//   tokens through `pooler.layernorm`; without it the final `layernorm` is there and the pooler has
//   no weights (its output is the [CLS] state).
//
// The relative position bias, as transformers 5 computes it: the bias table is trained for the
// config's window (image_size // patch_size); for an input whose window is (wh, ww) — from the
// pixel_values' own size — its first (2Wh-1)(2Ww-1) rows are viewed as a [heads, 2Ww-1, 2Wh-1]
// image and resized bilinearly to [heads, 2wh-1, 2ww-1] (always: for a non-square window that
// is not the identity even at the config's size, and Python does exactly that), the 3 [CLS]
// entries are kept, and the result is indexed by the relative position of every token pair. The
// resize is a fixed linear map, built here as a constant matrix, and the relative position index
// is computed here; Python keeps neither in checkpoints (the index is a non-persistent buffer in
// older versions, a cached function in newer ones).

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { Tensor } from '../runtime/tensor.js';
import { type EncoderArch } from './architectures.js';
import { attention, fusedSelfAttention, mergeHeads, splitHeads } from './layers.js';
import { type AnyConfig, type Ctx, normal, zeros } from './modeling_utils.js';
import { checkPixelValues, expandToBatch, type ForwardOptions, pair, patchEmbeddings, type VisionEncoderOutputs, type VitLayerSettings, vitLayerSettings } from './vit.js';

interface BeitSettings extends VitLayerSettings {
  layerScale: number;
  dropPathRate: number;
  /** The window the bias tables are trained for (config image_size // patch_size) and the input's. */
  configWindow: [number, number];
  window: [number, number];
  useRelative: boolean;
}

/**
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False) from inSize to outSize
 * along one axis, as (source index pairs, weights) per output index.
 */
function bilinearTaps(inSize: number, outSize: number): { i0: number; i1: number; w0: number; w1: number }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const src = Math.max(0, scale * (o + 0.5) - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const l = src - i0;
    return { i0, i1, w0: 1 - l, w1: l };
  });
}

/**
 * The matrix [newRows, oldRows] that turns a bias table trained for `from` into the table for
 * window `to` (see the header): bilinear resize of the [2Ww-1, 2Wh-1] view to [2wh-1, 2ww-1],
 * the last 3 rows carried over. Null when it is the identity.
 */
export function relativeTableResize(from: [number, number], to: [number, number]): Float32Array | null {
  const [oldH, oldW] = [2 * from[0] - 1, 2 * from[1] - 1];
  const [newH, newW] = [2 * to[0] - 1, 2 * to[1] - 1];
  // The view Python resizes is [oldW rows, oldH columns]; it is the identity only when that is already the target.
  if (oldW === newH && oldH === newW) return null;
  const oldRows = oldH * oldW + 3;
  const newRows = newH * newW + 3;
  const m = new Float32Array(newRows * oldRows);
  const rows = bilinearTaps(oldW, newH);
  const cols = bilinearTaps(oldH, newW);
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) {
      const r = y * newW + x;
      const { i0: y0, i1: y1, w0: wy0, w1: wy1 } = rows[y]!;
      const { i0: x0, i1: x1, w0: wx0, w1: wx1 } = cols[x]!;
      m[r * oldRows + y0 * oldH + x0]! += wy0 * wx0;
      m[r * oldRows + y0 * oldH + x1]! += wy0 * wx1;
      m[r * oldRows + y1 * oldH + x0]! += wy1 * wx0;
      m[r * oldRows + y1 * oldH + x1]! += wy1 * wx1;
    }
  }
  for (let k = 0; k < 3; k++) m[(newRows - 3 + k) * oldRows + oldRows - 3 + k] = 1;
  return m;
}

/**
 * The relative position index for a window (wh, ww): [S, S] with S = wh·ww + 1, into a table of
 * (2wh-1)(2ww-1) + 3 rows: patch pairs by (dy, dx), then [CLS]→patch, patch→[CLS], [CLS]→[CLS].
 */
export function relativePositionIndex(window: [number, number]): BigInt64Array {
  const [wh, ww] = window;
  const rows = (2 * wh - 1) * (2 * ww - 1) + 3;
  const S = wh * ww + 1;
  const index = new BigInt64Array(S * S);
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < S; j++) {
      let k: number;
      if (i === 0) k = j === 0 ? rows - 1 : rows - 3;
      else if (j === 0) k = rows - 2;
      else {
        const [yi, xi] = [Math.floor((i - 1) / ww), (i - 1) % ww];
        const [yj, xj] = [Math.floor((j - 1) / ww), (j - 1) % ww];
        k = (yi - yj + wh - 1) * (2 * ww - 1) + (xi - xj + ww - 1);
      }
      index[i * S + j] = BigInt(k);
    }
  }
  return index;
}

/** BeitRelativePositionBias (`relative_position_bias_table`): the bias [1, heads, S, S] for the input's window. */
function relativePositionBias(ctx: Ctx, s: BeitSettings): Sym {
  const [wh, ww] = s.configWindow;
  const rows = (2 * wh - 1) * (2 * ww - 1) + 3;
  let table = ctx.param('relative_position_bias_table', [rows, s.heads], zeros);
  const resize = relativeTableResize(s.configWindow, s.window);
  if (resize) {
    const newRows = (2 * s.window[0] - 1) * (2 * s.window[1] - 1) + 3;
    table = F.matmul(ctx.buffer('relative_position_resize', new Tensor('float32', resize, [newRows, rows])), table);
  }
  const S = s.window[0] * s.window[1] + 1;
  const index = ctx.buffer('relative_position_index', new Tensor('int64', relativePositionIndex(s.window), [S * S]), false);
  const bias = F.transpose(F.reshape(F.gather(table, index, 0), [S, S, s.heads]), [2, 0, 1]); // [heads, S, S]
  return F.unsqueeze(bias, [0]);
}

/**
 * Stochastic depth on a residual branch ([B, S, D]): in training, each sample's branch is dropped
 * with probability p and the kept ones scaled by 1/(1-p); the per-sample uniform noise [B, 1, 1] is
 * a graph input the trainer feeds, like dropout's.
 */
function dropPath(ctx: Ctx, x: Sym, p: number, site: string): Sym {
  if (!ctx.training || !p) return x;
  const noise = ctx.g.input(ctx.g.unused(`drop_path_noise_${site}`), 'float32', [x.shape[0]!, 1, 1]);
  ctx.noiseInputs.push(noise);
  return F.dropout(x, p, noise);
}

/** BeitSelfAttention + BeitSelfOutput. */
function beitAttention(ctx: Ctx, s: BeitSettings, x: Sym, sharedBias: Sym | null): { out: Sym; probs: Sym } {
  const self = ctx.scope('attention');
  const init = normal(s.std);
  if (ctx.inference) {
    // Q/K/V in one MatMul, the attention (relative position bias included) in one kernel.
    const proj = (['query', 'key', 'value'] as const).map((n) => self.linearParams(n, s.hidden, s.hidden, { bias: n !== 'key', std: s.std, init }));
    let bias = s.useRelative ? relativePositionBias(self.scope('relative_position_bias'), s) : null;
    if (sharedBias) bias = bias ? F.add(bias, sharedBias) : sharedBias;
    const { context, probs } = fusedSelfAttention(x, proj, s.heads, 1 / Math.sqrt(s.headDim), bias);
    return { out: ctx.scope('output').linear('dense', context, s.hidden, s.hidden, { std: s.std, init }), probs };
  }
  const q = splitHeads(self.linear('query', x, s.hidden, s.hidden, { std: s.std, init }), s.heads, s.headDim);
  const k = splitHeads(self.linear('key', x, s.hidden, s.hidden, { bias: false, std: s.std, init }), s.heads, s.headDim);
  const v = splitHeads(self.linear('value', x, s.hidden, s.hidden, { std: s.std, init }), s.heads, s.headDim);
  let bias = s.useRelative ? relativePositionBias(self.scope('relative_position_bias'), s) : null;
  if (sharedBias) bias = bias ? F.add(bias, sharedBias) : sharedBias;
  const kept: { probs?: Sym } = {};
  const { context } = attention(q, k, v, {
    scale: 1 / Math.sqrt(s.headDim),
    bias,
    dropout: (p) => (kept.probs = ctx.dropout(p, s.attentionDropout)),
  });
  const merged = mergeHeads(context, s.heads, s.headDim);
  const out = ctx.dropout(ctx.scope('output').linear('dense', merged, s.hidden, s.hidden, { std: s.std, init }), s.hiddenDropout);
  return { out, probs: kept.probs! };
}

/** BeitLayer. */
function beitLayer(ctx: Ctx, s: BeitSettings, h: Sym, dropPathRate: number, sharedBias: Sym | null): { out: Sym; probs: Sym } {
  const init = normal(s.std);
  const att = beitAttention(ctx.scope('attention'), s, ctx.layerNorm('layernorm_before', h, s.hidden, s.eps), sharedBias);
  let a = att.out;
  if (s.layerScale > 0) a = F.mul(ctx.param('lambda_1', [s.hidden], { kind: 'constant', value: s.layerScale }), a);
  const h1 = F.add(dropPath(ctx, a, dropPathRate, 'attention'), h);
  let y = ctx.layerNorm('layernorm_after', h1, s.hidden, s.eps);
  y = F.activation(s.act, ctx.scope('intermediate').linear('dense', y, s.hidden, s.intermediate, { std: s.std, init }));
  y = ctx.dropout(ctx.scope('output').linear('dense', y, s.intermediate, s.hidden, { std: s.std, init }), s.hiddenDropout);
  if (s.layerScale > 0) y = F.mul(ctx.param('lambda_2', [s.hidden], { kind: 'constant', value: s.layerScale }), y);
  return { out: F.add(dropPath(ctx, y, dropPathRate, 'mlp'), h1), probs: att.probs };
}

function beitSettings(config: AnyConfig, size: [number, number]): BeitSettings {
  const s = vitLayerSettings(config);
  const [ph, pw] = pair(config, 'patch_size', 16);
  const [ih, iw] = pair(config, 'image_size', 224);
  return {
    ...s,
    layerScale: config.layer_scale_init_value ?? 0.1,
    dropPathRate: config.drop_path_rate ?? 0.1,
    configWindow: [Math.floor(ih / ph), Math.floor(iw / pw)],
    window: [Math.floor(size[0] / ph), Math.floor(size[1] / pw)],
    useRelative: config.use_relative_position_bias ?? false,
  };
}

export const BeitModel = {
  model_type: 'beit',
  checkpoint_prefixes: ['beit.'],

  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: ForwardOptions = {}): VisionEncoderOutputs {
    // Python resizes the relative position bias to the input's size, so the size may differ
    // from image_size (absolute position embeddings aside: see below).
    const size = checkPixelValues(config, pixel_values, false);
    const s = beitSettings(config, size);
    const absolute: boolean = config.use_absolute_position_embeddings ?? false;
    const meanPooling: boolean = config.use_mean_pooling ?? true;

    // BeitEmbeddings
    const emb = ctx.scope('embeddings');
    const cls = emb.param('cls_token', [1, 1, s.hidden], zeros);
    if (config.use_mask_token ?? false) emb.param('mask_token', [1, 1, s.hidden], zeros); // for bool_masked_pos (masked image modeling), which the encoder-decoder never passes
    const { embeddings: patches, grid } = patchEmbeddings(emb.scope('patch_embeddings'), config, pixel_values, size, normal(s.std));
    let x = F.concat([expandToBatch(cls, patches), patches], 1);
    if (absolute) {
      const [ch, cw] = s.configWindow;
      if (grid[0] !== ch || grid[1] !== cw || size[0] !== size[1]) {
        throw new Error(
          `beit: use_absolute_position_embeddings needs a square image of the config's size (${pair(config, 'image_size', 224).join('*')}), got ${size.join('*')}: ` +
            `transformers then resamples the position embeddings as a square grid (bicubic), which is not supported here`,
        );
      }
      x = F.add(x, emb.param('position_embeddings', [1, ch * cw + 1, s.hidden], zeros));
    }
    x = ctx.dropout(x, s.hiddenDropout);

    // BeitEncoder
    const encoder = ctx.scope('encoder');
    const sharedBias = (config.use_shared_relative_position_bias ?? false) ? relativePositionBias(encoder.scope('relative_position_bias'), s) : null;
    const hidden_states: Sym[] = [];
    const attentions: Sym[] = [];
    let h = x;
    for (let i = 0; i < s.layers; i++) {
      hidden_states.push(h);
      // torch.linspace(0, drop_path_rate, num_hidden_layers), in float32
      const rate = s.layers > 1 ? Math.fround((s.dropPathRate * i) / (s.layers - 1)) : 0;
      const layer = beitLayer(encoder.scope('layer').scope(i), s, h, rate, sharedBias);
      h = layer.out;
      attentions.push(layer.probs);
    }
    hidden_states.push(h);

    // layernorm (absent with mean pooling) and BeitPooler
    let last = h;
    let pooler_output: Sym;
    if (meanPooling) {
      const patchTokens = F.slice(h, [1], [F.END], [1]);
      pooler_output = ctx.scope('pooler').layerNorm('layernorm', F.reduceMean(patchTokens, [1], false), s.hidden, s.eps);
    } else {
      last = ctx.layerNorm('layernorm', h, s.hidden, s.eps);
      pooler_output = F.squeeze(F.slice(last, [0], [1], [1]), [1]);
    }
    return {
      last_hidden_state: last,
      pooler_output,
      ...(opts.output_hidden_states ? { hidden_states } : {}),
      ...(opts.output_attentions ? { attentions } : {}),
    };
  },
} satisfies EncoderArch;
