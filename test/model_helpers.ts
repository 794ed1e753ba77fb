// Shared by the architecture and composite model tests: the Python fixtures of one model case.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensorsSync } from '../src/weights/index.js';
import { type Tensor } from '../src/runtime/tensor.js';
import { FIXTURES } from './helpers.js';

export interface ModelCase {
  dir: string;
  /** config.json of the composite model, parsed. */
  config: Record<string, any>;
  /** case.json: token ids and generate kwargs. */
  case: Record<string, any>;
  weights: Map<string, Tensor>;
  io: Map<string, Tensor>;
  grads: Map<string, Tensor>;
}

export function loadCase(name: string): ModelCase {
  const dir = join(FIXTURES, 'hf', 'models', name);
  return {
    dir,
    config: JSON.parse(readFileSync(join(dir, 'model', 'config.json'), 'utf8')),
    case: JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')),
    weights: loadSafetensorsSync(join(dir, 'model', 'model.safetensors')).tensors,
    io: loadSafetensorsSync(join(dir, 'io.safetensors')).tensors,
    grads: loadSafetensorsSync(join(dir, 'grads.safetensors')).tensors,
  };
}

/** Weights under a prefix ('encoder.'), with the prefix taken off. */
export function subWeights(weights: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of weights) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/** Largest |a - b| / max(|b|, floor) over all elements, for relative comparisons near zero. */
export function maxRelErr(a: Tensor, b: Tensor, floor = 1e-3): number {
  if (a.dims.join() !== b.dims.join()) throw new Error(`shapes differ: [${a.dims}] vs [${b.dims}]`);
  let worst = 0;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let scale = 0;
  for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]!));
  const f = Math.max(floor * scale, 1e-12);
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), f));
  return worst;
}
