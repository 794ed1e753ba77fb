#!/usr/bin/env node
// Deepens a trained model's ViT encoder without changing what it computes, so training can go
// on from where it stopped with more capacity instead of starting over (the bundled OCR model's
// recipe, round 6). Each new layer is a pre-LayerNorm residual block whose two output projections
// (attention.output.dense, output.dense) are zero: x + 0 + 0 = x, so the grown model's logits
// equal the old one's to rounding, and gradient reaches the new layers through those projections
// from the first step. The new layers sit between the old ones (old layer i becomes layer
// i * step), spreading the new capacity over every depth rather than stacking it at the top.
//
//   node scripts/grow-encoder.mjs --model DIR --output DIR --layers N [--seed S]
//
// The output folder gets config.json, generation_config.json and model.safetensors from the
// model, and the tokenizer and preprocessor files copied beside them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VisionEncoderDecoderConfig, VisionEncoderDecoderModel } from '../dist/src/index.js';
import { saveModelFolder } from './model-folder.mjs';

/** Where old layer i goes in a stack grown from `from` to `to` layers (spread evenly). */
export function grownPositions(from, to) {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
    throw new Error(`--layers must be an integer ≥ the encoder's ${from} layers, got ${to}`);
  }
  return Array.from({ length: from }, (_, i) => Math.floor((i * to) / from));
}

/**
 * A copy of `model` whose encoder has `layers` layers; every weight outside the encoder's layer
 * stack is copied as is.
 */
export async function growEncoder(model, layers, { seed = 0 } = {}) {
  const config = VisionEncoderDecoderConfig.from_dict(model.config.to_dict());
  const from = config.encoder.num_hidden_layers;
  const place = grownPositions(from, layers);
  config.encoder.num_hidden_layers = layers;
  const grown = new VisionEncoderDecoderModel({ config, seed });
  grown.generation_config = model.generation_config;
  const old = model.state_dict();
  const next = grown.state_dict();
  const layerKey = /^encoder\.encoder\.layer\.(\d+)\.(.*)$/;
  const isNew = new Set(Array.from({ length: layers }, (_, j) => j).filter((j) => !place.includes(j)));
  for (const [name, tensor] of next) {
    const m = layerKey.exec(name);
    let source = name;
    if (m) {
      const j = Number(m[1]);
      if (isNew.has(j)) {
        // Identity at the start: only the two projections back into the residual stream are zeroed.
        if (/^(attention\.output\.dense|output\.dense)\.(weight|bias)$/.test(m[2])) tensor.data.fill(0);
        continue;
      }
      source = `encoder.encoder.layer.${place.indexOf(j)}.${m[2]}`;
    }
    const from_ = old.get(source);
    if (!from_) throw new Error(`grow-encoder: the model has no weight ${source} (needed for ${name})`);
    if (from_.dims.join(',') !== tensor.dims.join(',')) throw new Error(`grow-encoder: ${source} has shape [${from_.dims}], ${name} needs [${tensor.dims}]`);
    tensor.data.set(from_.data);
  }
  grown.weights_changed();
  return grown;
}

async function main() {
  const { values } = parseArgs({ options: { model: { type: 'string' }, output: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string', default: '0' } } });
  if (!values.model || !values.output || !values.layers) {
    console.error('usage: node scripts/grow-encoder.mjs --model DIR --output DIR --layers N [--seed S]');
    process.exit(2);
  }
  const model = await VisionEncoderDecoderModel.from_pretrained(values.model);
  const grown = await growEncoder(model, Number(values.layers), { seed: Number(values.seed) });
  const out = resolve(values.output);
  if (existsSync(out)) throw new Error(`${out}: exists; grow-encoder writes a new folder`);
  await saveModelFolder(grown, values.model, out);
  console.log(`${out}: encoder ${model.config.encoder.num_hidden_layers} → ${values.layers} layers, ${grown.num_parameters().toLocaleString('en-US')} parameters`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
