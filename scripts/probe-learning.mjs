// A learning probe for image-to-text training: can a small model tell rendered "O" from "X"?
// Prints the loss (chance per token: ln 2 / 2 = 0.347, the label plus an easy </s>) and how much
// the encoder output still varies between two images after training. Used to investigate why
// the bundled OCR recipe stays at its language-model plateau (see the README).
//
//   node scripts/probe-learning.mjs [ENCODER_CONFIG.json] [LR] [STEPS]
//
// Defaults: a 4-layer ViT on 32x32 images (patch 8) + the OCR recipe's TrOCR decoder, lr 1e-3, 100 steps.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW, AutoConfig, AutoTokenizer, ImageTextProcessor, ViTImageProcessor, VisionEncoderDecoderConfig, VisionEncoderDecoderModel,
} from '../dist/src/index.js';
import { generateTextLines } from '../dist/src/training/synthetic.js';

const RECIPE = 'models/recipes/ved-ocr-small';
// Pixel normalisation: PROBE_MEAN / PROBE_STD (default 0.5 / 0.5, as the recipe).
const MEAN = Array(3).fill(Number(process.env.PROBE_MEAN ?? 0.5));
const STD = Array(3).fill(Number(process.env.PROBE_STD ?? 0.5));
const [encPath, lrArg, stepsArg] = process.argv.slice(2);
const encDict = encPath
  ? JSON.parse(readFileSync(encPath, 'utf8'))
  : { model_type: 'vit', image_size: 32, patch_size: 8, hidden_size: 192, num_hidden_layers: 4, num_attention_heads: 6, intermediate_size: 768, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
const enc = AutoConfig.from_dict(encDict);
const dec = AutoConfig.from_dict(JSON.parse(readFileSync(process.env.PROBE_DECODER ?? join(RECIPE, 'decoder_config.json'), 'utf8')));
const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec, { decoder_start_token_id: 0, pad_token_id: 1, eos_token_id: 2 });
const model = new VisionEncoderDecoderModel({ config, seed: 3 });
const size = Array.isArray(encDict.image_size) ? encDict.image_size : [encDict.image_size, encDict.image_size];
const processor = new ImageTextProcessor(
  new ViTImageProcessor({ size: { height: size[0], width: size[1] }, image_mean: MEAN, image_std: STD }),
  await AutoTokenizer.from_pretrained(RECIPE),
);

const dir = mkdtempSync(join(tmpdir(), 'probe-'));
try {
  const texts = Array.from({ length: 400 }, (_, i) => (i % 2 ? 'X' : 'O'));
  await generateTextLines({ out: dir, count: texts.length, seed: 5, height: 40, texts });
  const rows = readFileSync(join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const optimizer = new AdamW(model.named_parameters(), { lr: Number(lrArg ?? 1e-3), weight_decay: 0 });
  const B = 32;
  for (let step = 0; step < Number(stepsArg ?? 100); step++) {
    const batch = Array.from({ length: B }, (_, k) => rows[(step * B + k * 7) % rows.length]);
    const { pixel_values, labels } = await processor.call({ images: batch.map((r) => join(dir, r.file_name)), text: batch.map((r) => r.text) });
    const { loss, grads } = await model.compute_gradients({ pixel_values, labels });
    optimizer.step(grads);
    if (step % 10 === 0) console.log(`step ${step}  loss ${loss.toFixed(3)}`);
  }
  const { pixel_values, labels } = await processor.call({ images: [join(dir, rows[0].file_name), join(dir, rows[1].file_name)], text: [rows[0].text, rows[1].text] });
  const h = (await model.forward({ pixel_values, labels })).encoder_last_hidden_state.data;
  const n = h.length / 2;
  let d = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    d += (h[i] - h[n + i]) ** 2;
    s += h[i] ** 2;
  }
  console.log(`encoder output, relative difference between an "O" and an "X": ${Math.sqrt(d / s).toFixed(3)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
