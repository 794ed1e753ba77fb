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

/**
 * transformers 5.17 names some vision encoders' modules differently inside the model than in the
 * checkpoints it saves (it converts on save and load). grads.safetensors was written with the
 * internal names; this maps them onto the checkpoint names our model uses.
 */
export function gradNameToCheckpoint(name: string): string {
  let m = /^encoder\.layers\.(\d+)\.(.*)$/.exec(name);
  if (m) {
    // ViT / DeiT / BEiT: encoder.layers.N.* → encoder.encoder.layer.N.*
    const rest = m[2]!
      .replace(/^attention\.q_proj\./, 'attention.attention.query.')
      .replace(/^attention\.k_proj\./, 'attention.attention.key.')
      .replace(/^attention\.v_proj\./, 'attention.attention.value.')
      .replace(/^attention\.o_proj\./, 'attention.output.dense.')
      .replace(/^relative_position_bias\./, 'attention.attention.relative_position_bias.')
      .replace(/^mlp\.fc1\./, 'intermediate.dense.')
      .replace(/^mlp\.fc2\./, 'output.dense.');
    return `encoder.encoder.layer.${m[1]}.${rest}`;
  }
  m = /^(encoder\.encoder\.layers\.\d+\.blocks\.\d+)\.(.*)$/.exec(name);
  if (m) {
    // Swin: attention.{q,k,v}_proj → attention.self.{query,key,value}, o_proj → attention.output.dense
    const rest = m[2]!
      .replace(/^attention\.q_proj\./, 'attention.self.query.')
      .replace(/^attention\.k_proj\./, 'attention.self.key.')
      .replace(/^attention\.v_proj\./, 'attention.self.value.')
      .replace(/^attention\.o_proj\./, 'attention.output.dense.')
      .replace(/^attention\.relative_position_bias\.relative_position_bias_table$/, 'attention.self.relative_position_bias_table')
      .replace(/^mlp\.fc1\./, 'intermediate.dense.')
      .replace(/^mlp\.fc2\./, 'output.dense.');
    return `${m[1]}.${rest}`;
  }
  return name;
}

/** grads.safetensors under the checkpoint's names. */
export function checkpointGrads(c: ModelCase): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of c.grads) out.set(gradNameToCheckpoint(k), v);
  return out;
}
