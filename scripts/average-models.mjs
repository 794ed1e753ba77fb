#!/usr/bin/env node
// Averages the weights of models of one architecture (checkpoint averaging, or a "soup" of runs
// that started from the same model): the bundled OCR model's recipe tries it at the end of a
// round and keeps it only when the benchmark says it reads better than each model alone.
//
//   node scripts/average-models.mjs --output DIR [--weights w1,w2,…] DIR1 DIR2 [DIR…]
//
// The output gets the first model's config, generation config, tokenizer and preprocessor files.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VisionEncoderDecoderModel } from '../dist/src/index.js';
import { saveModelFolder } from './model-folder.mjs';

/** Weighted mean of the models' weights, written into the first model (which is returned). */
export function averageModels(models, weights = models.map(() => 1)) {
  if (models.length < 2) throw new Error('average-models: give at least two models');
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.length !== models.length || weights.some((w) => !(w >= 0)) || !(total > 0)) {
    throw new Error(`average-models: --weights needs ${models.length} numbers ≥ 0 with a positive sum, got ${weights.join(',')}`);
  }
  const dicts = models.map((m) => m.state_dict());
  const [first] = dicts;
  for (const [i, d] of dicts.entries()) {
    for (const name of new Set([...first.keys(), ...d.keys()])) {
      const a = first.get(name);
      const b = d.get(name);
      if (!a || !b) throw new Error(`average-models: model ${i + 1} ${b ? 'has' : 'lacks'} weight ${name}, model 1 ${a ? 'has' : 'lacks'} it`);
      if (a.dims.join(',') !== b.dims.join(',')) throw new Error(`average-models: ${name} is [${b.dims}] in model ${i + 1}, [${a.dims}] in model 1`);
    }
  }
  for (const [name, tensor] of first) {
    const out = tensor.data;
    const sum = new Float64Array(out.length);
    for (const [i, d] of dicts.entries()) {
      const src = d.get(name).data;
      const w = weights[i] / total;
      for (let k = 0; k < sum.length; k++) sum[k] += w * src[k];
    }
    out.set(sum);
  }
  models[0].weights_changed();
  return models[0];
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { output: { type: 'string' }, weights: { type: 'string' } } });
  if (!values.output || positionals.length < 2) {
    console.error('usage: node scripts/average-models.mjs --output DIR [--weights w1,w2,…] DIR1 DIR2 [DIR…]');
    process.exit(2);
  }
  const out = resolve(values.output);
  if (existsSync(out)) throw new Error(`${out}: exists; average-models writes a new folder`);
  const weights = values.weights ? values.weights.split(',').map(Number) : undefined;
  const models = [];
  for (const dir of positionals) models.push(await VisionEncoderDecoderModel.from_pretrained(dir));
  const averaged = averageModels(models, weights);
  await saveModelFolder(averaged, positionals[0], out);
  console.log(`${out}: the mean of ${positionals.length} models${weights ? ` weighted ${weights.join(', ')}` : ''}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
