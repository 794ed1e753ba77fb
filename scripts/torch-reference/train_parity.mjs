// Training parity against PyTorch, part 1 (node): builds the O-vs-X probe model of
// scripts/probe-learning.mjs (ViT 32x32, patch 8, + the OCR recipe's TrOCR decoder, dropout 0),
// saves its initial weights, the processed images and labels, and the first step's gradients to
// OUT (default .tmp-torch-reference), then trains STEPS AdamW steps and prints each loss.
// Part 2, train_parity.py, replays the same steps in PyTorch: the two loss columns should agree.
//
//   SAVE=1 node scripts/torch-reference/train_parity.mjs      (env: LR, STEPS, OUT, ENC, DEC)
//   python3 scripts/torch-reference/train_parity.py           (Debian: apt install python3-torch)
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const M = new URL('../../dist/src/index.js', import.meta.url).href;
const { AdamW, AutoConfig, AutoTokenizer, ImageTextProcessor, ViTImageProcessor, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, saveSafetensorsSync, Tensor } = await import(M);
const { generateTextLines } = await import(new URL('../../dist/src/training/synthetic.js', import.meta.url).href);
const OUT = process.env.OUT ?? '.tmp-torch-reference';
mkdirSync(OUT, { recursive: true });
const RECIPE = new URL('../../models/recipes/ved-ocr-small', import.meta.url).pathname;
const MEAN = Array(3).fill(Number(process.env.PROBE_MEAN ?? 0.5));
const STD = Array(3).fill(Number(process.env.PROBE_STD ?? 0.5));
const LR = Number(process.env.LR ?? 1e-3), STEPS = Number(process.env.STEPS ?? 60);
const encDict = { model_type: 'vit', image_size: 32, patch_size: 8, hidden_size: 192, num_hidden_layers: 4, num_attention_heads: 6, intermediate_size: 768, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
const decDict = JSON.parse(readFileSync(join(RECIPE, 'decoder_config.json'), 'utf8'));
decDict.dropout = 0;
Object.assign(encDict, JSON.parse(process.env.ENC ?? '{}'));
Object.assign(decDict, JSON.parse(process.env.DEC ?? '{}'));
const SIZE = encDict.image_size;
const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(AutoConfig.from_dict(encDict), AutoConfig.from_dict(decDict), { decoder_start_token_id: 0, pad_token_id: 1, eos_token_id: 2 });
const model = new VisionEncoderDecoderModel({ config, seed: 3 });
if (process.env.SAVE) await model.save_pretrained(join(OUT, 'init'));
const processor = new ImageTextProcessor(new ViTImageProcessor({ size: { height: SIZE, width: SIZE }, image_mean: MEAN, image_std: STD }), await AutoTokenizer.from_pretrained(RECIPE));
const dir = join(OUT, 'ox');
if (!existsSync(join(dir, 'metadata.jsonl'))) {
  const texts = Array.from({ length: 400 }, (_, i) => (i % 2 ? 'X' : 'O'));
  await generateTextLines({ out: dir, count: texts.length, seed: 5, height: 40, texts });
}
const rows = readFileSync(join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const all = await processor.call({ images: rows.map((r) => join(dir, r.file_name)), text: rows.map((r) => r.text) });
if (process.env.SAVE) saveSafetensorsSync(join(OUT, 'data.safetensors'), { pixel_values: all.pixel_values, labels: new Tensor('float32', Float32Array.from(all.labels.data, Number), all.labels.dims) });
console.log('labels', all.labels.dims, Array.from(all.labels.data.slice(0, 6)).map(Number));
const optimizer = new AdamW(model.named_parameters(), { lr: LR, weight_decay: 0 });
const WU = Number(process.env.WARMUP ?? 0);
const B = 32;
const P = all.pixel_values.data, L = all.labels.data;
const pd = P.length / 400, ld = L.length / 400;
for (let step = 0; step < STEPS; step++) {
  const idx = Array.from({ length: B }, (_, k) => (step * B + k * 7) % 400);
  const pv = new Float32Array(B * pd); const lb = new BigInt64Array(B * ld);
  idx.forEach((r, k) => { pv.set(P.subarray(r * pd, (r + 1) * pd), k * pd); lb.set(L.subarray(r * ld, (r + 1) * ld), k * ld); });
  const { loss, grads } = await model.compute_gradients({ pixel_values: new Tensor('float32', pv, [B, ...all.pixel_values.dims.slice(1)]), labels: new Tensor('int64', lb, [B, ld]) });
  if (step === 0 && process.env.SAVE) saveSafetensorsSync(join(OUT, 'grads0.safetensors'), grads);
  if (WU) optimizer.set_lr_factor(Math.min(1, (step + 1) / WU));
  optimizer.step(grads);
  if (step % 20 === 19 || process.env.SAVE) console.log(`step ${step} loss ${loss.toFixed(4)}`);
}
