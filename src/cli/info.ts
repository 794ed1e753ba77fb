// `ved info MODEL`: what a checkpoint is, from config.json and the safetensors headers alone —
// no weight is read, so it is instant even for large models.

import { readFileSync, statSync } from 'node:fs';
import { fileExists, resolveFile } from '../hub/hub.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import { checkModelArg, parse, UsageError, type Command } from './common.js';

type Json = Record<string, unknown>;

const HELP = `Usage: ved info [options] MODEL

Describe a VisionEncoderDecoder checkpoint (a folder or an OWNER/NAME hub id): encoder and
decoder types and sizes, parameter count and weight file size. The parameter count is the sum
of the tensor sizes in the safetensors header(s); no weights are loaded (a hub model's weight
files are downloaded into the cache, though).

Options:
  --json       print one JSON object
  -h, --help   show this help
`;

export interface PartInfo {
  model_type: string | null;
  hidden_size: number | null;
  num_layers: number | number[] | null;
  num_heads: number | number[] | null;
  vocab_size?: number | null;
  image_size?: number | number[] | null;
  patch_size?: number | number[] | null;
}

export interface ModelInfo {
  model: string;
  architectures: string[] | null;
  encoder: PartInfo;
  decoder: PartInfo;
  /** Sum of the tensor sizes in the safetensors files; null when the weights are only in a PyTorch .bin. */
  parameters: number | null;
  weight_files: string[];
  /** Bytes of the weight files together. */
  file_size: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const numOrList = (v: unknown): number | number[] | null =>
  num(v) ?? (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number') ? (v as number[]) : null);
function first<T>(c: Json, keys: string[], read: (v: unknown) => T | null): T | null {
  for (const k of keys) {
    const v = read(c[k]);
    if (v !== null) return v;
  }
  return null;
}

function encoderInfo(c: Json): PartInfo {
  // Swin's width after its last stage is embed_dim × 2^(stages − 1), as SwinConfig derives it.
  const depths = numOrList(c.depths);
  const swinHidden = typeof c.embed_dim === 'number' && Array.isArray(depths) ? c.embed_dim * 2 ** (depths.length - 1) : null;
  return {
    model_type: typeof c.model_type === 'string' ? c.model_type : null,
    hidden_size: num(c.hidden_size) ?? swinHidden,
    num_layers: first(c, ['num_hidden_layers', 'depths'], numOrList),
    num_heads: first(c, ['num_attention_heads', 'num_heads'], numOrList),
    image_size: numOrList(c.image_size),
    patch_size: numOrList(c.patch_size),
  };
}

function decoderInfo(c: Json): PartInfo {
  // BART-family configs hold encoder and decoder sizes; the decoder of a VisionEncoderDecoder
  // model uses the decoder_* ones.
  return {
    model_type: typeof c.model_type === 'string' ? c.model_type : null,
    hidden_size: first(c, ['hidden_size', 'n_embd', 'd_model'], num),
    num_layers: first(c, ['decoder_layers', 'num_hidden_layers', 'n_layer'], num),
    num_heads: first(c, ['decoder_attention_heads', 'num_attention_heads', 'n_head'], num),
    vocab_size: num(c.vocab_size),
  };
}

async function readJson(modelId: string, filename: string): Promise<Json> {
  const file = await resolveFile(modelId, filename);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Json;
}

export async function modelInfo(model: string, modelId: string): Promise<ModelInfo> {
  const config = await readJson(modelId, 'config.json');
  if (config.model_type !== 'vision-encoder-decoder' || !config.encoder || !config.decoder) {
    throw new Error(`${model}: config.json has model_type ${JSON.stringify(config.model_type)}; expected 'vision-encoder-decoder' with encoder and decoder sections`);
  }
  let weightFiles: string[];
  let parameters: number | null = 0;
  if (await fileExists(modelId, 'model.safetensors')) {
    weightFiles = ['model.safetensors'];
  } else if (await fileExists(modelId, 'model.safetensors.index.json')) {
    const index = await readJson(modelId, 'model.safetensors.index.json');
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') throw new Error(`${model}: model.safetensors.index.json has no "weight_map"`);
    weightFiles = [...new Set(Object.values(map))].sort();
  } else if (await fileExists(modelId, 'pytorch_model.bin')) {
    weightFiles = ['pytorch_model.bin'];
    parameters = null; // counting would mean unpickling the weights
  } else {
    throw new Error(`${model}: no weights found (model.safetensors, model.safetensors.index.json or pytorch_model.bin)`);
  }
  let size = 0;
  for (const name of weightFiles) {
    const path = await resolveFile(modelId, name);
    size += statSync(path).size;
    if (parameters !== null) {
      const header = await readSafetensorsHeader(path);
      for (const e of header.entries) parameters += e.shape.reduce((a, b) => a * b, 1);
    }
  }
  return {
    model,
    architectures: Array.isArray(config.architectures) ? (config.architectures as string[]) : null,
    encoder: encoderInfo(config.encoder as Json),
    decoder: decoderInfo(config.decoder as Json),
    parameters,
    weight_files: weightFiles,
    file_size: size,
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const show = (v: number | number[] | null | undefined): string => (v === null || v === undefined ? '?' : Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

function formatPart(p: PartInfo, kind: 'encoder' | 'decoder'): string {
  const parts = [`hidden ${show(p.hidden_size)}`, `layers ${show(p.num_layers)}`, `heads ${show(p.num_heads)}`];
  if (kind === 'encoder') {
    const img = Array.isArray(p.image_size) ? p.image_size.join('x') : p.image_size !== null && p.image_size !== undefined ? `${p.image_size}x${p.image_size}` : '?';
    parts.push(`image ${img}`, `patch ${show(p.patch_size)}`);
  } else {
    parts.push(`vocab ${show(p.vocab_size)}`);
  }
  return `${p.model_type ?? '?'} (${parts.join(', ')})`;
}

export function formatInfo(info: ModelInfo): string {
  const params = info.parameters === null ? `unknown (weights only in ${info.weight_files.join(', ')})` : `${info.parameters.toLocaleString('en-US')}`;
  return [
    `model        ${info.model}`,
    `encoder      ${formatPart(info.encoder, 'encoder')}`,
    `decoder      ${formatPart(info.decoder, 'decoder')}`,
    `parameters   ${params}`,
    `file size    ${formatBytes(info.file_size)} (${info.weight_files.join(', ')})`,
  ].join('\n') + '\n';
}

export const info: Command = {
  name: 'info',
  summary: 'describe a model: architecture, sizes, parameter count',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('info', argv, { json: { type: 'boolean' } } as const);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`ved info: expected one MODEL, got ${positionals.length} (see 'ved info --help')`);
    const model = positionals[0]!;
    const result = await modelInfo(model, checkModelArg('info', 'MODEL', model));
    process.stdout.write(values.json ? JSON.stringify(result) + '\n' : formatInfo(result));
    return 0;
  },
};
