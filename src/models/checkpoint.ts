// Finding and reading a checkpoint's weights: a local folder, a weights file, a folder URL or a
// hub model id (model.safetensors, its sharded index, or pytorch_model.bin, in that order, as
// transformers).

import { readFileSync } from 'node:fs';
import { env } from '../env/index.js';
import { readBytes, readText } from '../hub/files.js';
import { fileExists, resolveFile, type ResolveOptions } from '../hub/hub.js';
import { type Tensor } from '../runtime/tensor.js';
import { loadSafetensorsFromBytes, loadStateDict, safetensorsHeaderOfBytes } from '../weights/index.js';

const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'];

export async function loadCheckpointWeights(pathOrId: string, options: ResolveOptions = {}): Promise<Map<string, Tensor>> {
  if (await env.localKind(pathOrId)) return loadStateDict(pathOrId, { lazy: true });
  for (const file of WEIGHT_FILES) {
    if (!(await fileExists(pathOrId, file, options))) continue;
    const local = await resolveFile(pathOrId, file, options);
    if (env.asUrl(local)) return loadFetchedWeights(pathOrId, file, local, options);
    if (file.endsWith('.index.json')) {
      // Bring every shard into the same snapshot folder, then read the index from there.
      const index = JSON.parse(readFileSync(local, 'utf8')) as { weight_map?: Record<string, string> };
      for (const shard of new Set(Object.values(index.weight_map ?? {}))) await resolveFile(pathOrId, shard, options);
      return loadStateDict(local, { lazy: true });
    }
    return loadStateDict(local, { lazy: true });
  }
  throw new Error(`${pathOrId}: no weights found (looked for ${WEIGHT_FILES.join(', ')})`);
}

/** Weights that resolved to URLs (a folder URL; a hub id in a browser): safetensors, whole or sharded. */
async function loadFetchedWeights(pathOrId: string, file: string, url: string, options: ResolveOptions): Promise<Map<string, Tensor>> {
  if (file.startsWith('pytorch_model')) {
    throw new Error(`${url}: a PyTorch checkpoint is read from disk only (it is a zip of pickles); give a folder with model.safetensors (save_pretrained writes one)`);
  }
  const shards = file.endsWith('.index.json') ? [...new Set(Object.values((JSON.parse(await readText(url, 'a JSON safetensors index')) as { weight_map?: Record<string, string> }).weight_map ?? {}))] : [file];
  const out = new Map<string, Tensor>();
  for (const shard of shards) {
    const at = shard === file ? url : await resolveFile(pathOrId, shard, options);
    const bytes = await readBytes(at, 'safetensors weights', (b) => void safetensorsHeaderOfBytes(at, b));
    for (const [k, t] of loadSafetensorsFromBytes(at, bytes).tensors) out.set(k, t);
  }
  return out;
}
