// Finding and reading a checkpoint's weights: a local folder, a weights file, or a hub model id
// (model.safetensors, its sharded index, or pytorch_model.bin, in that order, as transformers).

import { existsSync, readFileSync } from 'node:fs';
import { fileExists, resolveFile, type ResolveOptions } from '../hub/hub.js';
import { type Tensor } from '../runtime/tensor.js';
import { loadStateDict } from '../weights/index.js';

const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'];

export async function loadCheckpointWeights(pathOrId: string, options: ResolveOptions = {}): Promise<Map<string, Tensor>> {
  if (existsSync(pathOrId)) return loadStateDict(pathOrId);
  for (const file of WEIGHT_FILES) {
    if (!(await fileExists(pathOrId, file, options))) continue;
    const local = await resolveFile(pathOrId, file, options);
    if (file.endsWith('.index.json')) {
      // Bring every shard into the same snapshot folder, then read the index from there.
      const index = JSON.parse(readFileSync(local, 'utf8')) as { weight_map?: Record<string, string> };
      for (const shard of new Set(Object.values(index.weight_map ?? {}))) await resolveFile(pathOrId, shard, options);
      return loadStateDict(local);
    }
    return loadStateDict(local);
  }
  throw new Error(`${pathOrId}: no weights found (looked for ${WEIGHT_FILES.join(', ')})`);
}
