// from_encoder_decoder_pretrained against Python's compose fixture: a standalone ViTModel and a
// standalone BertForMaskedLM joined; pretrained weights carried bit for bit, only the listed ones new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { loadSafetensorsSync } from '../src/weights/index.js';
import { FIXTURES } from './helpers.js';
import { gradNameToCheckpoint } from './model_helpers.js';

const DIR = join(FIXTURES, 'hf', 'models', 'compose-vit48-bert');

test('from_encoder_decoder_pretrained: carried weights bit-identical, new weights exactly the listed ones', async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(String(m));
  let model: VisionEncoderDecoderModel;
  try {
    model = await VisionEncoderDecoderModel.from_encoder_decoder_pretrained(join(DIR, 'encoder'), join(DIR, 'decoder'));
  } finally {
    console.warn = warn;
  }
  const expected = JSON.parse(readFileSync(join(DIR, 'weights.json'), 'utf8')) as { carried: string[]; new: string[] };
  const enc = loadSafetensorsSync(join(DIR, 'encoder', 'model.safetensors')).tensors;
  const dec = loadSafetensorsSync(join(DIR, 'decoder', 'model.safetensors')).tensors;
  const params = model.state_dict();
  // Python ties the MLM head's decoder to the word embeddings and its bias to predictions.bias.
  const alias: Record<string, string> = {
    'decoder.cls.predictions.decoder.weight': 'decoder.bert.embeddings.word_embeddings.weight',
    'decoder.cls.predictions.decoder.bias': 'decoder.cls.predictions.bias',
  };
  for (const internal of expected.carried) {
    const name = alias[internal] ?? gradNameToCheckpoint(internal);
    const ours = params.get(name);
    assert.ok(ours, `carried weight ${name} is missing from the composed model`);
    const local = name.replace(/^(encoder|decoder)\./, '');
    const source = name.startsWith('encoder.') ? enc.get(local) : dec.get(local);
    assert.ok(source, `${local} not in the source checkpoint`);
    assert.deepEqual(ours.data, source.data, `${name} differs from the pretrained weight`);
  }
  assert.deepEqual([...model.loading_info.missing_keys].sort(), [...expected.new].sort());
  assert.ok(warnings.some((w) => w.includes('newly initialized') && w.includes('crossattention')), 'a warning lists the new weights');

  // The composite config marks the decoder as a cross-attending decoder, as Python's.
  const composed = JSON.parse(readFileSync(join(DIR, 'composed_config.json'), 'utf8'));
  assert.equal(model.config.decoder.is_decoder, composed.decoder.is_decoder);
  assert.equal(model.config.decoder.add_cross_attention, composed.decoder.add_cross_attention);
  assert.equal(model.config.encoder.model_type, 'vit');

  // Overrides with encoder_/decoder_ prefixes reach the sub-configs.
  const m2 = await VisionEncoderDecoderModel.from_encoder_decoder_pretrained(join(DIR, 'encoder'), join(DIR, 'decoder'), {
    encoder_hidden_dropout_prob: 0.25,
    decoder_attention_probs_dropout_prob: 0.3,
  });
  assert.equal(m2.config.encoder.hidden_dropout_prob, 0.25);
  assert.equal(m2.config.decoder.attention_probs_dropout_prob, 0.3);
});

test('from_encoder_decoder_pretrained with a GPT-2 decoder (GPT2LMHeadModel and bare GPT2Model checkpoints)', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { saveSafetensorsSync } = await import('../src/weights/index.js');
  const src = join(FIXTURES, 'hf', 'models', 'vit-gpt2', 'model');
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const all = loadSafetensorsSync(join(src, 'model.safetensors')).tensors;
  const root = mkdtempSync(join(tmpdir(), 'ved-compose-'));
  try {
    const encDir = join(root, 'enc');
    mkdirSync(encDir);
    writeFileSync(join(encDir, 'config.json'), JSON.stringify(cfg.encoder));
    saveSafetensorsSync(join(encDir, 'model.safetensors'), new Map([...all].filter(([k]) => k.startsWith('encoder.')).map(([k, v]) => [k.slice(8), v])));
    const lm = new Map([...all].filter(([k]) => k.startsWith('decoder.') && !/crossattention|ln_cross_attn/.test(k)).map(([k, v]) => [k.slice(8), v]));
    const decCfg = { ...cfg.decoder, add_cross_attention: false, is_decoder: false };
    for (const [name, weights] of [
      ['lm', new Map([...lm, ['lm_head.weight', lm.get('transformer.wte.weight')!]])],
      ['bare', new Map([...lm].map(([k, v]) => [k.replace(/^transformer\./, ''), v]))],
    ] as const) {
      const decDir = join(root, name);
      mkdirSync(decDir);
      writeFileSync(join(decDir, 'config.json'), JSON.stringify(decCfg));
      saveSafetensorsSync(join(decDir, 'model.safetensors'), weights);
      const warn = console.warn;
      console.warn = () => {};
      let model: VisionEncoderDecoderModel;
      try {
        model = await VisionEncoderDecoderModel.from_encoder_decoder_pretrained(encDir, decDir);
      } finally {
        console.warn = warn;
      }
      const params = model.state_dict();
      for (const [k, v] of lm) assert.deepEqual(params.get(`decoder.${k}`)!.data, v.data, `${name}: ${k}`);
      const fresh = model.loading_info.missing_keys;
      assert.ok(fresh.length > 0 && fresh.every((k) => /crossattention|ln_cross_attn/.test(k)), `${name}: new weights ${fresh.join(', ')}`);
      assert.deepEqual(model.loading_info.unexpected_keys, []);
      // Settings made on model.config after building take effect (as the documentation's training example does).
      model.config.decoder_start_token_id = 1;
      model.config.pad_token_id = 0;
      const out = await model.forward({ pixel_values: (await import('./model_helpers.js')).loadCase('vit-gpt2').io.get('pixel_values')!, labels: (await import('./model_helpers.js')).loadCase('vit-gpt2').io.get('labels')! });
      assert.ok(Number.isFinite(out.loss!), 'the composed model computes a loss');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
