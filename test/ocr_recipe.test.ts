// The bundled OCR model's recipe files are what the code makes, and build a working model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoConfig, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AutoImageProcessor } from '../src/processing/image_processors.js';
import { byteLevelOcrTokenizer } from '../src/training/ocr_tokenizer.js';
import { ROOT } from './helpers.js';

const RECIPE = join(ROOT, 'models', 'recipes', 'ved-ocr-small');

test('recipe: tokenizer files equal byteLevelOcrTokenizer(), configs build a model that reads a line image', async () => {
  for (const [name, json] of Object.entries(byteLevelOcrTokenizer())) {
    assert.deepEqual(JSON.parse(readFileSync(join(RECIPE, name), 'utf8')), json, name);
  }
  const enc = AutoConfig.from_dict(JSON.parse(readFileSync(join(RECIPE, 'encoder_config.json'), 'utf8')));
  const dec = AutoConfig.from_dict(JSON.parse(readFileSync(join(RECIPE, 'decoder_config.json'), 'utf8')));
  const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec, { decoder_start_token_id: 0, pad_token_id: 1, eos_token_id: 2 });
  const model = new VisionEncoderDecoderModel({ config });
  assert.ok(model.num_parameters() < 25e6 / 4, `${model.num_parameters()} parameters fit in 25 MB of float32`);
  const ip = await AutoImageProcessor.from_pretrained(RECIPE);
  const { pixel_values } = await ip.preprocess([join(ROOT, 'examples', 'line-1.png')]);
  assert.deepEqual(pixel_values.dims, [1, 3, 32, 384]);
  const ids = await model.generate(pixel_values, { max_new_tokens: 3 });
  assert.deepEqual(ids.dims, [1, 4]);
});
