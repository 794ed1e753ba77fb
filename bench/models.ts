// The benchmark's models (random weights, real sizes) and what the bounds need from each: the
// MatMul shapes of its encoder (+ the cross-attention K/V computed with it), the encoder's FLOPs,
// and the bytes a decode step must read.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_MAPPING, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { packageRoot } from '../src/cli/common.js';
import type { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';

type Dict = Record<string, unknown>;

export interface ModelSpec {
  name: string;
  /** What it stands for. */
  about: string;
  encoder: Dict;
  decoder: Dict;
  /** Run a training step (compute_gradients + AdamW) in the default run / in --quick. */
  train: { full: boolean; quick: boolean; batch: number };
  /** In the --quick run. */
  quick: boolean;
  /** Compare with transformers.js on the exported weights. */
  transformersJs: boolean;
}

const vitBase = (image: number): Dict => ({
  model_type: 'vit', image_size: image, patch_size: 16, num_channels: 3, hidden_size: 768, num_hidden_layers: 12,
  num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu', qkv_bias: true, layer_norm_eps: 1e-12,
});

function recipe(file: string): Dict {
  return JSON.parse(readFileSync(join(packageRoot(), 'models', 'recipes', 'ved-ocr-small', file), 'utf8')) as Dict;
}

export function modelSpecs(): ModelSpec[] {
  return [
    {
      name: 'vit-gpt2',
      about: 'ViT-B/16 224 + GPT-2 small (vit-gpt2 captioning shape)',
      encoder: vitBase(224),
      decoder: { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, add_cross_attention: true, is_decoder: true, bos_token_id: 50256, eos_token_id: 50256, pad_token_id: 50256, decoder_start_token_id: 50256 },
      train: { full: true, quick: false, batch: 8 },
      quick: true,
      transformersJs: true,
    },
    {
      name: 'trocr-base',
      about: 'ViT-B/16 384 + TrOCR-base-sized decoder (d 1024, 12 layers, vocab 50265)',
      encoder: vitBase(384),
      decoder: { model_type: 'trocr', vocab_size: 50265, d_model: 1024, decoder_layers: 12, decoder_attention_heads: 16, decoder_ffn_dim: 4096, cross_attention_hidden_size: 768, max_position_embeddings: 512, activation_function: 'gelu', scale_embedding: false, use_learned_position_embeddings: true, layernorm_embedding: true, is_decoder: true, add_cross_attention: true, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2, decoder_start_token_id: 2 },
      train: { full: false, quick: false, batch: 1 },
      quick: false,
      transformersJs: false,
    },
    {
      name: 'donut-small',
      about: 'Swin-B (Donut widths, depths 2-2-14-2, window 10) at 480x360 + mBART decoder (d 1024, 4 layers, vocab 57525)',
      encoder: { model_type: 'donut-swin', image_size: [480, 360], patch_size: 4, num_channels: 3, embed_dim: 128, depths: [2, 2, 14, 2], num_heads: [4, 8, 16, 32], window_size: 10, mlp_ratio: 4, qkv_bias: true, hidden_act: 'gelu' },
      decoder: { model_type: 'mbart', vocab_size: 57525, d_model: 1024, decoder_layers: 4, encoder_layers: 4, decoder_attention_heads: 16, encoder_attention_heads: 16, decoder_ffn_dim: 4096, encoder_ffn_dim: 4096, max_position_embeddings: 1536, scale_embedding: true, is_decoder: true, add_cross_attention: true, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2, decoder_start_token_id: 0, forced_eos_token_id: 2 },
      train: { full: false, quick: false, batch: 1 },
      quick: false,
      transformersJs: false,
    },
    {
      name: 'ocr-small',
      about: 'the bundled OCR model (models/recipes/ved-ocr-small): ViT 32x384 + TrOCR 192',
      encoder: recipe('encoder_config.json'),
      decoder: recipe('decoder_config.json'),
      train: { full: true, quick: true, batch: 8 },
      quick: true,
      transformersJs: false,
    },
  ];
}

export function buildConfig(spec: ModelSpec): VisionEncoderDecoderConfig {
  const make = (d: Dict) => {
    const cls = CONFIG_MAPPING[d.model_type as string];
    if (!cls) throw new Error(`bench: no config class for ${String(d.model_type)}`);
    return new cls(d);
  };
  const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(make(spec.encoder), make(spec.decoder));
  for (const k of ['decoder_start_token_id', 'pad_token_id', 'eos_token_id'] as const) {
    const v = spec.decoder[k] ?? spec.decoder['bos_token_id'];
    if (v !== undefined) (config as unknown as Dict)[k] = v;
  }
  return config;
}

/** One MatMul [m, k] x [k, n]. */
export interface Mm {
  m: number;
  k: number;
  n: number;
}

export interface EncoderShapes {
  /** The encoder's MatMuls in execution order (patch embedding, every layer, then the decoder's cross K/V). */
  chain: Mm[];
  /** Attention score and context FLOPs (not in the chain: batched per head). */
  attentionFlops: number;
  /** The most common layer shape (for the plain MatMul rate). */
  typical: Mm;
}

const num = (d: Dict, k: string, dflt?: number): number => {
  const v = d[k] ?? dflt;
  if (typeof v !== 'number') throw new Error(`bench: config key ${k} missing`);
  return v;
};
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number]);

/** Decoder width, layers and the width of the encoder states it attends to. */
function decoderDims(dec: Dict, encHidden: number): { d: number; layers: number; kvIn: number } {
  if (dec.model_type === 'gpt2') return { d: num(dec, 'n_embd'), layers: num(dec, 'n_layer'), kvIn: num(dec, 'n_embd') };
  const d = num(dec, 'd_model', num(dec, 'hidden_size', 0));
  const layers = num(dec, 'decoder_layers', num(dec, 'num_hidden_layers', 0));
  const cross = dec.cross_attention_hidden_size;
  return { d, layers, kvIn: typeof cross === 'number' ? cross : d === encHidden ? encHidden : d };
}

/** Every MatMul of the encoder graph for `batch` images, and its FLOPs. */
export function encoderShapes(spec: ModelSpec, batch: number): EncoderShapes {
  const e = spec.encoder;
  const chain: Mm[] = [];
  let attentionFlops = 0;
  let hidden: number;
  let tokens: number;
  const block = (n: number, c: number, inter: number, keys: number) => {
    chain.push({ m: n, k: c, n: 3 * c }, { m: n, k: c, n: c }, { m: n, k: c, n: inter }, { m: n, k: inter, n: c });
    attentionFlops += 4 * n * keys * c;
  };
  if (e.model_type === 'vit') {
    const [h, w] = pair(e.image_size);
    const [ph, pw] = pair(e.patch_size);
    const c = num(e, 'hidden_size');
    const patches = (h / ph) * (w / pw);
    tokens = patches + 1;
    chain.push({ m: batch * patches, k: 3 * ph * pw, n: c });
    for (let i = 0; i < num(e, 'num_hidden_layers'); i++) block(batch * tokens, c, num(e, 'intermediate_size'), tokens);
    hidden = c;
  } else {
    // Swin: windows of window² tokens; patch merging (4C -> 2C) after every stage but the last.
    const [h, w] = pair(e.image_size);
    const p = num(e, 'patch_size');
    const win = num(e, 'window_size');
    let gh = Math.ceil(h / p);
    let gw = Math.ceil(w / p);
    let c = num(e, 'embed_dim');
    chain.push({ m: batch * gh * gw, k: 3 * p * p, n: c });
    const depths = e.depths as number[];
    depths.forEach((depth, s) => {
      const padded = Math.ceil(gh / win) * win * Math.ceil(gw / win) * win;
      for (let i = 0; i < depth; i++) block(batch * padded, c, 4 * c, Math.min(win * win, gh * gw));
      if (s < depths.length - 1) {
        gh = Math.ceil(gh / 2);
        gw = Math.ceil(gw / 2);
        chain.push({ m: batch * gh * gw, k: 4 * c, n: 2 * c });
        c *= 2;
      }
    });
    tokens = gh * gw;
    hidden = c;
  }
  // The decoder's cross-attention K/V run in the encoder session (once per image).
  const dd = decoderDims(spec.decoder, hidden);
  const proj = dd.kvIn !== hidden;
  if (proj) chain.push({ m: batch * tokens, k: hidden, n: dd.kvIn });
  for (let i = 0; i < dd.layers; i++) chain.push({ m: batch * tokens, k: dd.kvIn, n: 2 * dd.d });
  const counts = new Map<string, { mm: Mm; n: number }>();
  for (const mm of chain) {
    const key = `${mm.m}x${mm.k}x${mm.n}`;
    const c = counts.get(key) ?? { mm, n: 0 };
    c.n++;
    counts.set(key, c);
  }
  const typical = [...counts.values()].sort((a, b) => b.n * flops(b.mm) - a.n * flops(a.mm))[0]!.mm;
  return { chain, attentionFlops, typical };
}

export const flops = (mm: Mm) => 2 * mm.m * mm.k * mm.n;

/**
 * The decoder weights one decode step reads whole: all of them, the LM head included, less the
 * cross-attention K/V projections (run once per image), the position and token-type tables and,
 * when the LM head is separate, the token table (one row each).
 */
function stepWeights(model: VisionEncoderDecoderModel): [string, { size: number; dims: readonly number[] }][] {
  const params = [...model.named_parameters()].filter(([n]) => n.startsWith('decoder.'));
  const separateHead = params.some(([n]) => /(^|\.)(lm_head|output_projection)\.weight$/.test(n));
  return params.filter(([n]) => {
    if (/crossattention\.c_attn|encoder_attn\.(k|v)_proj/.test(n)) return false;
    if (/wpe|embed_positions|position_embeddings|token_type_embeddings/.test(n)) return false;
    return !(separateHead && /wte|embed_tokens|word_embeddings/.test(n));
  });
}

/**
 * Bytes one decode step (one token per row) must read: stepWeights, plus the cross-attention K/V
 * cache and the self-attention cache at `past` positions.
 */
export function stepBytes(model: VisionEncoderDecoderModel, encTokens: number, past: number, rows = 1): number {
  const params = stepWeights(model).reduce((a, [, t]) => a + t.size, 0);
  const spec = model.config.decoder as unknown as Dict;
  const dd = decoderDims(spec, model.config.encoder.hidden_size as number);
  const cache = rows * dd.layers * 2 * (encTokens + past) * dd.d;
  return 4 * (params + cache);
}

/**
 * The weight matrices a decode step multiplies one row by, as [k, n] (in, out): the 2-D ones of
 * stepWeights. GPT-2's Conv1D weights are stored [in, out], Linear weights [out, in], and the
 * token table serves as the LM head [vocab, d].
 */
export function stepMatrices(model: VisionEncoderDecoderModel): { k: number; n: number }[] {
  return stepWeights(model)
    .filter(([, t]) => t.dims.length === 2)
    .map(([n, t]) => {
      const [a, b] = t.dims as [number, number];
      return /\.(c_attn|c_proj|c_fc|q_attn)\.weight$/.test(n) ? { k: a, n: b } : { k: b, n: a };
    });
}

/**
 * FLOPs of one training forward pass over `batch` images and `tokens` labels: the encoder chain
 * (which holds the cross-attention K/V projections, once per image), each label token through
 * the decode step's matrices (LM head included), and attention scores and sums, self-attention
 * over the labels and cross-attention over the encoder's tokens. A training step counts 3x this.
 */
export function trainForwardFlops(model: VisionEncoderDecoderModel, spec: ModelSpec, batch: number, tokens: number): number {
  const enc = encoderShapes(spec, batch);
  const encoder = enc.chain.reduce((a, mm) => a + flops(mm), 0) + enc.attentionFlops;
  const perToken = stepMatrices(model).reduce((a, mm) => a + 2 * mm.k * mm.n, 0);
  const dd = decoderDims(spec.decoder, model.config.encoder.hidden_size as number);
  const attention = dd.layers * 4 * (encoderTokens(spec) + tokens) * dd.d;
  return encoder + batch * tokens * (perToken + attention);
}

/** Tokens of the encoder output (the cross-attention length). */
export function encoderTokens(spec: ModelSpec): number {
  const last = encoderShapes(spec, 1).chain.at(-1)!;
  return last.m;
}
