// ViT (model_type 'vit'): transformers' ViTModel, as AutoModel builds it inside
// VisionEncoderDecoderModel — patch embeddings, [CLS] token and learned positions, pre-LayerNorm
// Transformer layers, a final LayerNorm, and the pooler (add_pooling_layer defaults to True, so a
// checkpoint carries `pooler.dense`). Names below are ViTModel's own (`embeddings.cls_token`,
// `encoder.layer.0.attention.attention.query.weight`, ...).
//
// DeiT reuses the patch embeddings, the layer stack and the pooler from here (its modules are
// "Copied from ViT" in transformers); BEiT reuses the patch embeddings and the input checks.

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type EncoderArch, type EncoderOutputs } from './architectures.js';
import { attention, fusedSelfAttention, mergeHeads, splitHeads } from './layers.js';
import { type AnyConfig, type Ctx, type Init, ones, truncNormal, zeros } from './modeling_utils.js';

/** What the vision encoders return: EncoderOutputs plus the pooler's output where the model has one. */
export type VisionEncoderOutputs = EncoderOutputs & { pooler_output?: Sym };

export interface ForwardOptions {
  output_hidden_states?: boolean;
  output_attentions?: boolean;
}

/** An int or an [h, w] pair from a config (image_size, patch_size), as a pair. */
export function pair(config: AnyConfig, key: string, fallback: number): [number, number] {
  const v = config[key] ?? fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) return [v[0], v[1]];
  throw new Error(`${config.model_type ?? 'vision'} config: ${key} must be a positive integer or a pair [height, width], got ${JSON.stringify(v)}`);
}

/** The fields the ViT family's encoder layers read, with ViTConfig's defaults. */
export interface VitLayerSettings {
  hidden: number;
  heads: number;
  headDim: number;
  intermediate: number;
  act: string;
  eps: number;
  hiddenDropout: number;
  attentionDropout: number;
  std: number;
  qkvBias: boolean;
  layers: number;
}

export function vitLayerSettings(config: AnyConfig): VitLayerSettings {
  const hidden: number = config.hidden_size ?? 768;
  const heads: number = config.num_attention_heads ?? 12;
  if (!Number.isInteger(heads) || heads <= 0 || hidden % heads !== 0) {
    throw new Error(`${config.model_type} config: hidden_size (${hidden}) must be a multiple of num_attention_heads (${heads})`);
  }
  const act = config.hidden_act ?? 'gelu';
  if (typeof act !== 'string') throw new Error(`${config.model_type} config: hidden_act must be an activation name, got ${JSON.stringify(act)}`);
  return {
    hidden,
    heads,
    headDim: hidden / heads,
    intermediate: config.intermediate_size ?? 3072,
    act,
    eps: config.layer_norm_eps ?? 1e-12,
    hiddenDropout: config.hidden_dropout_prob ?? 0,
    attentionDropout: config.attention_probs_dropout_prob ?? 0,
    std: config.initializer_range ?? 0.02,
    qkvBias: config.qkv_bias ?? true,
    layers: config.num_hidden_layers ?? 12,
  };
}

/**
 * Checks pixel_values against the config — [B, num_channels, H, W] — and returns the image size
 * the graph is built for: pixel_values' own H and W where they are numbers, else the config's.
 * With `exactSize`, a numeric H or W that differs from image_size is an error, as in Python
 * without interpolate_pos_encoding.
 */
export function checkPixelValues(config: AnyConfig, pixel_values: Sym, exactSize: boolean): [number, number] {
  const name = config.model_type ?? 'vision encoder';
  const channels: number = config.num_channels ?? 3;
  const [ih, iw] = pair(config, 'image_size', 224);
  const shape = `[${pixel_values.shape.join(', ')}]`;
  if (pixel_values.dtype !== 'float32') throw new Error(`${name}: pixel_values must be float32, got ${pixel_values.dtype}`);
  if (pixel_values.rank !== 4) {
    throw new Error(`${name}: pixel_values must be [batch_size, num_channels, height, width] = [B, ${channels}, ${ih}, ${iw}], got ${shape}`);
  }
  const [, c, h, w] = pixel_values.shape;
  if (typeof c === 'number' && c !== channels) {
    throw new Error(
      `${name}: pixel_values ${shape} has ${c} channels, but the config's num_channels is ${channels}: ` +
        `make sure the channel dimension of the pixel values matches the configuration (expected [B, ${channels}, ${ih}, ${iw}])`,
    );
  }
  const height = typeof h === 'number' ? h : ih;
  const width = typeof w === 'number' ? w : iw;
  if (exactSize && (height !== ih || width !== iw)) {
    throw new Error(`${name}: input image size (${height}*${width}) doesn't match model (${ih}*${iw}); pixel_values must be [B, ${channels}, ${ih}, ${iw}]`);
  }
  const [ph, pw] = pair(config, 'patch_size', 16);
  if (height < ph || width < pw) throw new Error(`${name}: the image (${height}*${width}) is smaller than one patch (${ph}*${pw})`);
  return [height, width];
}

/**
 * `patch_embeddings`: a Conv2d with kernel = stride = patch size, flattened to [B, patches, hidden]
 * (row-major over the patch grid). The projection initialises as Linear layers do in the model
 * (`init`). Returns the embeddings and the patch grid.
 */
export function patchEmbeddings(ctx: Ctx, config: AnyConfig, pixel_values: Sym, size: [number, number], init: Init): { embeddings: Sym; grid: [number, number] } {
  const channels: number = config.num_channels ?? 3;
  const hidden: number = config.hidden_size ?? 768;
  const [ph, pw] = pair(config, 'patch_size', 16);
  const projection = ctx.scope('projection');
  const weight = projection.param('weight', [hidden, channels, ph, pw], init);
  const bias = projection.param('bias', [hidden], zeros);
  const grid: [number, number] = [Math.floor(size[0] / ph), Math.floor(size[1] / pw)];
  const conv = F.conv2d(pixel_values, weight, bias, [ph, pw]); // [B, hidden, gh, gw]
  const embeddings = F.transpose(F.reshape(conv, [0, hidden, grid[0] * grid[1]]), [0, 2, 1]); // flatten(2).transpose(1, 2)
  return { embeddings, grid };
}

/** A [1, k, D] token broadcast over the batch of `like` ([B, ...]): [B, k, D], keeping B's name. */
export function expandToBatch(token: Sym, like: Sym): Sym {
  const [, k, d] = token.shape as [number, number, number];
  const b = like.shape[0]!;
  if (typeof b === 'number') return F.expand(token, [b, k, d]);
  const g = token.graph;
  const target = F.concat([F.slice(F.shapeOf(like), [0], [1], [0]), g.int64s([k, d])], 0);
  return g.addNode('Expand', [token, target], {}, [{ dtype: token.dtype, shape: [b, k, d] }])[0]!;
}

/** ViTSelfAttention + ViTSelfOutput (`attention.attention.*`, `attention.output.dense`). */
function vitAttention(ctx: Ctx, s: VitLayerSettings, x: Sym): { out: Sym; probs: Sym } {
  const self = ctx.scope('attention');
  const init = truncNormal(s.std);
  if (ctx.inference) {
    const proj = ['query', 'key', 'value'].map((n) => self.linearParams(n, s.hidden, s.hidden, { bias: s.qkvBias, std: s.std, init }));
    const { context: merged, probs } = fusedSelfAttention(x, proj, s.heads, 1 / Math.sqrt(s.headDim));
    return { out: ctx.scope('output').linear('dense', merged, s.hidden, s.hidden, { std: s.std, init }), probs };
  }
  const q = splitHeads(self.linear('query', x, s.hidden, s.hidden, { bias: s.qkvBias, std: s.std, init }), s.heads, s.headDim);
  const k = splitHeads(self.linear('key', x, s.hidden, s.hidden, { bias: s.qkvBias, std: s.std, init }), s.heads, s.headDim);
  const v = splitHeads(self.linear('value', x, s.hidden, s.hidden, { bias: s.qkvBias, std: s.std, init }), s.heads, s.headDim);
  const kept: { probs?: Sym } = {};
  const { context } = attention(q, k, v, {
    scale: 1 / Math.sqrt(s.headDim),
    // Python returns the attention weights after dropout; they are the same outside training.
    dropout: (p) => (kept.probs = ctx.dropout(p, s.attentionDropout)),
  });
  const merged = mergeHeads(context, s.heads, s.headDim);
  const out = ctx.dropout(ctx.scope('output').linear('dense', merged, s.hidden, s.hidden, { std: s.std, init }), s.hiddenDropout);
  return { out, probs: kept.probs! };
}

/** ViTLayer: pre-LN attention and MLP, each with a residual connection. */
export function vitLayer(ctx: Ctx, s: VitLayerSettings, x: Sym): { out: Sym; probs: Sym } {
  const init = truncNormal(s.std);
  const att = vitAttention(ctx.scope('attention'), s, ctx.layerNorm('layernorm_before', x, s.hidden, s.eps));
  const h = F.add(att.out, x);
  let y = ctx.layerNorm('layernorm_after', h, s.hidden, s.eps);
  y = F.activation(s.act, ctx.scope('intermediate').linear('dense', y, s.hidden, s.intermediate, { std: s.std, init }));
  y = ctx.dropout(ctx.scope('output').linear('dense', y, s.intermediate, s.hidden, { std: s.std, init }), s.hiddenDropout);
  return { out: F.add(y, h), probs: att.probs };
}

/**
 * `encoder.layer.*`, `layernorm` and `pooler.dense` over the embeddings — everything after the
 * embeddings in ViTModel and DeiTModel.
 */
export function vitEncoderAndHeads(ctx: Ctx, config: AnyConfig, embeddings: Sym, opts: ForwardOptions): VisionEncoderOutputs {
  const s = vitLayerSettings(config);
  const hidden_states: Sym[] = [];
  const attentions: Sym[] = [];
  let h = embeddings;
  const encoder = ctx.scope('encoder');
  for (let i = 0; i < s.layers; i++) {
    hidden_states.push(h);
    const layer = vitLayer(encoder.scope('layer').scope(i), s, h);
    h = layer.out;
    attentions.push(layer.probs);
  }
  hidden_states.push(h);
  const last = ctx.layerNorm('layernorm', h, s.hidden, s.eps);
  const pooler_output = vitPooler(ctx.scope('pooler'), config, last);
  return {
    last_hidden_state: last,
    pooler_output,
    ...(opts.output_hidden_states ? { hidden_states } : {}),
    ...(opts.output_attentions ? { attentions } : {}),
  };
}

/** ViTPooler: the first token through `dense` (hidden → pooler_output_size) and `pooler_act`. */
export function vitPooler(ctx: Ctx, config: AnyConfig, last: Sym): Sym {
  const s = vitLayerSettings(config);
  const size: number = config.pooler_output_size ?? s.hidden;
  const first = F.squeeze(F.slice(last, [0], [1], [1]), [1]);
  return F.activation(config.pooler_act ?? 'tanh', ctx.linear('dense', first, s.hidden, size, { std: s.std, init: truncNormal(s.std) }));
}

export const ViTModel = {
  model_type: 'vit',
  checkpoint_prefixes: ['vit.'],

  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: ForwardOptions = {}): VisionEncoderOutputs {
    const s = vitLayerSettings(config);
    const size = checkPixelValues(config, pixel_values, true);
    const emb = ctx.scope('embeddings');
    const init = truncNormal(s.std);
    // ViTEmbeddings: patches, [CLS] in front, learned positions, dropout.
    const { embeddings: patches, grid } = patchEmbeddings(emb.scope('patch_embeddings'), config, pixel_values, size, init);
    const cls = emb.param('cls_token', [1, 1, s.hidden], init);
    const positions = emb.param('position_embeddings', [1, grid[0] * grid[1] + 1, s.hidden], init);
    let x = F.concat([expandToBatch(cls, patches), patches], 1);
    x = ctx.dropout(F.add(x, positions), s.hiddenDropout);
    return vitEncoderAndHeads(ctx, config, x, opts);
  },
} satisfies EncoderArch;
