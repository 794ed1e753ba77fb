// A model folder's weights as one name → Tensor map, in the layouts transformers reads and writes:
//   model.safetensors                               one file
//   model.safetensors.index.json + model-0000i-of-0000n.safetensors   sharded
//   pytorch_model.bin / pytorch_model.bin.index.json + shards         older checkpoints
// Loading prefers safetensors, as transformers does. Saving shards the way huggingface_hub's
// split_state_dict_into_shards_factory does (tensors in order, a new shard when the next tensor
// would go over the limit, an oversized tensor alone) and writes the index as Python's
// json.dumps(index, indent=2, sort_keys=True) + "\n".

import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Tensor } from '../runtime/tensor.js';
import { CheckpointError } from './io.js';
import { loadPytorchBin, type PytorchLoadOptions } from './pytorch.js';
import { DEFAULT_METADATA, loadSafetensors, saveSafetensors, type SafetensorsLoadOptions } from './safetensors.js';

export const SAFE_WEIGHTS_NAME = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';
export const WEIGHTS_NAME = 'pytorch_model.bin';
export const WEIGHTS_INDEX_NAME = 'pytorch_model.bin.index.json';

export type LoadStateDictOptions = SafetensorsLoadOptions & PytorchLoadOptions;

const isFile = (p: string): boolean => fs.existsSync(p) && fs.statSync(p).isFile();

/** Loads one weights file by its kind (safetensors, or a PyTorch pickle/zip). */
async function loadWeightsFile(path: string, options: LoadStateDictOptions): Promise<Map<string, Tensor>> {
  if (path.endsWith('.safetensors')) return (await loadSafetensors(path, options)).tensors;
  return loadPytorchBin(path, options);
}

/**
 * All weights of a model folder (or of one weights file): model.safetensors, else the sharded
 * safetensors index, else pytorch_model.bin, else its index. Errors name the folder and what was
 * expected, or the missing shard and a tensor that needed it.
 */
export async function loadStateDict(pathOrDir: string, options: LoadStateDictOptions = {}): Promise<Map<string, Tensor>> {
  if (!fs.existsSync(pathOrDir)) throw new CheckpointError(pathOrDir, 'no such file or folder');
  if (isFile(pathOrDir)) {
    if (pathOrDir.endsWith('.index.json')) return loadSharded(pathOrDir, options);
    return loadWeightsFile(pathOrDir, options);
  }
  for (const [name, sharded] of [[SAFE_WEIGHTS_NAME, false], [SAFE_WEIGHTS_INDEX_NAME, true], [WEIGHTS_NAME, false], [WEIGHTS_INDEX_NAME, true]] as const) {
    const p = join(pathOrDir, name);
    if (isFile(p)) return sharded ? loadSharded(p, options) : loadWeightsFile(p, options);
  }
  throw new CheckpointError(pathOrDir, `no model weights found: expected ${SAFE_WEIGHTS_NAME}, ${SAFE_WEIGHTS_INDEX_NAME}, ${WEIGHTS_NAME} or ${WEIGHTS_INDEX_NAME}`);
}

/** Reads an index.json: its weight_map (tensor → shard file name). */
export function readShardIndex(indexPath: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (err) {
    throw new CheckpointError(indexPath, `not valid JSON (${(err as Error).message})`);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError(indexPath, 'expected an object with a "weight_map" object mapping tensor names to shard files');
  }
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    // A shard is a file next to the index: no folders, so an index cannot point elsewhere.
    if (typeof shard !== 'string' || shard === '' || shard !== basename(shard) || shard === '.' || shard === '..' || shard.includes('\\')) {
      throw new CheckpointError(indexPath, `weight_map[${JSON.stringify(tensor)}] must be a shard file name in the same folder, got ${JSON.stringify(shard)}`);
    }
    out.set(tensor, shard);
  }
  return out;
}

async function loadSharded(indexPath: string, options: LoadStateDictOptions): Promise<Map<string, Tensor>> {
  const weightMap = readShardIndex(indexPath);
  const dir = dirname(indexPath);
  const shards = new Map<string, string[]>(); // shard → tensors the index puts there, in index order
  for (const [tensor, shard] of weightMap) {
    if (!shards.has(shard)) shards.set(shard, []);
    shards.get(shard)!.push(tensor);
  }
  // Check every shard exists before loading any: a missing one fails fast, naming it.
  for (const [shard, tensors] of shards) {
    if (!isFile(join(dir, shard))) {
      throw new CheckpointError(indexPath, `shard ${shard} is missing (it holds ${tensors.length} tensors, e.g. ${JSON.stringify(tensors[0])})`);
    }
  }
  const out = new Map<string, Tensor>();
  for (const [shard, tensors] of shards) {
    const path = join(dir, shard);
    const loaded = await loadWeightsFile(path, options);
    for (const t of tensors) {
      if (!loaded.has(t)) throw new CheckpointError(path, `tensor ${JSON.stringify(t)} is listed in ${basename(indexPath)} for this shard but is not in it`);
    }
    for (const [name, tensor] of loaded) out.set(name, tensor);
  }
  return out;
}

/** huggingface_hub's parse_size_to_int, plus binary units: 5000000, "5GB", "500MB", "2GiB". */
export function parseShardSize(size: number | string): number {
  if (typeof size === 'number') {
    if (!(size > 0)) throw new Error(`maxShardSize must be a positive number of bytes, got ${size}`);
    return size;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$/.exec(size.toUpperCase());
  if (!m) throw new Error(`maxShardSize ${JSON.stringify(size)} is not a size: expected bytes or a string like "5GB", "500MB", "2GiB"`);
  const units: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };
  return Math.floor(parseFloat(m[1]!) * units[m[2]!]!);
}

export interface SaveStateDictOptions {
  /** Largest shard in bytes (or "5GB"-style). Default: no limit, one model.safetensors. */
  maxShardSize?: number | string;
  /** safetensors metadata of every file; default {"format": "pt"}. */
  metadata?: Record<string, string>;
  /** `metadata.total_parameters` of the index (transformers writes model.num_parameters()). Default: the elements of all tensors. */
  totalParameters?: number;
}

export interface ShardSplit {
  /** Shard file name → tensor names, in writing order. */
  filenameToTensors: Map<string, string[]>;
  tensorToFilename: Map<string, string>;
  totalSize: number;
  isSharded: boolean;
}

/**
 * huggingface_hub's split_state_dict_into_shards_factory: tensors taken in order; a tensor that
 * would push the current shard past the limit starts a new one; a tensor larger than the limit gets
 * a shard of its own. Tensors sharing one data buffer (tied) go to the first one's shard.
 */
const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;
/**
 * Tensors are tied when they view the very same bytes. (Not merely the same ArrayBuffer: several
 * parameters may be slices of one large buffer and are still separate tensors.)
 */
function storageId(t: Tensor): string {
  let id = bufferIds.get(t.data.buffer);
  if (id === undefined) bufferIds.set(t.data.buffer, (id = nextBufferId++));
  return `${id}:${t.data.byteOffset}:${t.data.byteLength}`;
}

export function splitStateDictIntoShards(tensors: Map<string, Tensor>, maxShardSize: number, filenamePattern = 'model{suffix}.safetensors'): ShardSplit {
  const storageToTensors = new Map<string, string[]>();
  const shardList: string[][] = [];
  let current: string[] = [];
  let currentSize = 0;
  let totalSize = 0;
  for (const [name, t] of tensors) {
    const storage = storageId(t);
    const sharing = storageToTensors.get(storage);
    if (sharing) {
      sharing.push(name);
      continue;
    }
    storageToTensors.set(storage, [name]);
    const size = t.data.byteLength;
    if (size > maxShardSize) {
      totalSize += size;
      shardList.push([name]);
      continue;
    }
    if (currentSize + size > maxShardSize) {
      shardList.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(name);
    currentSize += size;
    totalSize += size;
  }
  if (current.length > 0) shardList.push(current);
  for (const names of storageToTensors.values()) {
    if (names.length < 2) continue;
    const shard = shardList.find((s) => s.includes(names[0]!));
    if (shard) shard.push(...names.slice(1));
  }
  const filenameToTensors = new Map<string, string[]>();
  const tensorToFilename = new Map<string, string>();
  if (shardList.length <= 1) {
    const filename = filenamePattern.replace('{suffix}', '');
    filenameToTensors.set(filename, [...tensors.keys()]);
    for (const name of tensors.keys()) tensorToFilename.set(name, filename);
    return { filenameToTensors, tensorToFilename, totalSize, isSharded: false };
  }
  const n = String(shardList.length).padStart(5, '0');
  shardList.forEach((names, i) => {
    const filename = filenamePattern.replace('{suffix}', `-${String(i + 1).padStart(5, '0')}-of-${n}`);
    filenameToTensors.set(filename, names);
    for (const name of names) tensorToFilename.set(name, filename);
  });
  return { filenameToTensors, tensorToFilename, totalSize, isSharded: true };
}

/**
 * Writes tensors into `dir` as transformers' save_pretrained does: model.safetensors, or (over
 * maxShardSize) model-0000i-of-0000n.safetensors shards plus model.safetensors.index.json. Shard
 * files of an earlier save that the new one does not overwrite are removed, and so is a stale
 * single file or index of the other layout (it would otherwise shadow the new weights on load).
 */
export async function saveStateDict(dir: string, tensors: Map<string, Tensor>, options: SaveStateDictOptions = {}): Promise<ShardSplit> {
  const maxShardSize = options.maxShardSize === undefined ? Infinity : parseShardSize(options.maxShardSize);
  const metadata = options.metadata ?? { ...DEFAULT_METADATA };
  fs.mkdirSync(dir, { recursive: true });
  const split = splitStateDictIntoShards(tensors, maxShardSize);

  const shardPattern = /^model-\d{5}-of-\d{5}\.safetensors$/;
  for (const name of fs.readdirSync(dir)) {
    const stale = (shardPattern.test(name) && !split.filenameToTensors.has(name)) ||
      (split.isSharded && name === SAFE_WEIGHTS_NAME) ||
      (!split.isSharded && name === SAFE_WEIGHTS_INDEX_NAME);
    if (stale && isFile(join(dir, name))) fs.rmSync(join(dir, name));
  }

  for (const [filename, names] of split.filenameToTensors) {
    await saveSafetensors(join(dir, filename), new Map(names.map((n) => [n, tensors.get(n)!])), metadata);
  }
  if (split.isSharded) {
    let totalParameters = options.totalParameters;
    if (totalParameters === undefined) {
      totalParameters = 0;
      const seen = new Set<string>();
      for (const t of tensors.values()) {
        if (seen.has(storageId(t))) continue;
        seen.add(storageId(t));
        totalParameters += t.data.length;
      }
    }
    const index = {
      metadata: { total_parameters: totalParameters, total_size: split.totalSize },
      weight_map: Object.fromEntries(split.tensorToFilename),
    };
    const tmp = join(dir, `.${SAFE_WEIGHTS_INDEX_NAME}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, pythonJsonDumps(index, 2) + '\n');
    fs.renameSync(tmp, join(dir, SAFE_WEIGHTS_INDEX_NAME));
  }
  return split;
}

/** Python's json.dumps(value, indent, sort_keys=True) for dicts, strings and numbers. */
export function pythonJsonDumps(value: unknown, indent: number, level = 0): string {
  if (typeof value === 'string') return pythonJsonString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  const pad = ' '.repeat(indent * (level + 1));
  const close = ' '.repeat(indent * level);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + pythonJsonDumps(v, indent, level + 1)).join(',\n')}\n${close}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareCodePoints(a, b));
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${pad}${pythonJsonString(k)}: ${pythonJsonDumps(v, indent, level + 1)}`).join(',\n')}\n${close}}`;
}

/** Python sorts str by code point; JavaScript's default sort compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** ensure_ascii=True: everything outside printable ASCII as \uXXXX (UTF-16 units, lowercase hex). */
function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}
