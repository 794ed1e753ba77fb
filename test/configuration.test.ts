import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import {
  AutoConfig,
  BartConfig,
  BeitConfig,
  BertConfig,
  CONFIG_MAPPING,
  DeiTConfig,
  DonutSwinConfig,
  GPT2Config,
  LEGACY_GENERATION_KEYS,
  MBartConfig,
  PretrainedConfig,
  RobertaConfig,
  SwinConfig,
  TrOCRConfig,
  ViTConfig,
  VisionEncoderDecoderConfig,
  splitEncoderDecoderKwargs,
} from '../src/models/configuration.js';
import { pythonFloatRepr } from '../src/models/python_json.js';
import { GenerationConfig, GENERATION_CONFIG_KEYS } from '../src/generation/configuration.js';

const MODELS = join(FIXTURES, 'hf', 'models');
const CASES: Record<string, [typeof PretrainedConfig, typeof PretrainedConfig]> = {
  'vit-gpt2': [ViTConfig, GPT2Config],
  'vit48-bert': [ViTConfig, BertConfig],
  'swin-bert': [SwinConfig, BertConfig],
  'vit-trocr': [ViTConfig, TrOCRConfig],
  'deit24-bart24': [DeiTConfig, BartConfig],
  'beit40-roberta40': [BeitConfig, RobertaConfig],
  'donutswin3-trocrsin12': [DonutSwinConfig, TrOCRConfig],
  'vit-mbart40': [ViTConfig, MBartConfig],
};

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8'));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ved-config-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const [name, [Enc, Dec]] of Object.entries(CASES)) {
  test(`${name}: config.json loads into the right classes and is written back byte for byte`, async () => {
    const dir = join(MODELS, name, 'model');
    const text = await readFile(join(dir, 'config.json'), 'utf8');
    const config = await AutoConfig.from_pretrained(dir);
    assert.ok(config instanceof VisionEncoderDecoderConfig);
    assert.equal(config.encoder.constructor, Enc);
    assert.equal(config.decoder.constructor, Dec);
    assert.equal(config.decoder.is_decoder, true);
    assert.equal(config.decoder.add_cross_attention, true);
    // save_pretrained's text is Python's: the diff dict, sorted, 2-space indent, floats as floats.
    assert.equal(config.to_json_string(), text);
    assert.deepEqual(config.to_diff_dict(), JSON.parse(text));
    // A full to_dict round trip is stable.
    const again = VisionEncoderDecoderConfig.from_dict(config.to_dict());
    assert.deepEqual(again.to_dict(), config.to_dict());
    // The nested dicts in the file are the sub-configs' full to_dict (minus the version).
    const file = JSON.parse(text);
    const enc = config.encoder.to_dict();
    delete enc.transformers_version;
    assert.deepEqual(enc, file.encoder);
  });

  test(`${name}: generation_config.json round-trips and equals from_model_config of config.json`, async () => {
    const dir = join(MODELS, name, 'model');
    const text = await readFile(join(dir, 'generation_config.json'), 'utf8');
    const generation = await GenerationConfig.from_pretrained(dir);
    assert.equal(generation.to_json_string(), text);
    const derived = GenerationConfig.from_model_config(await AutoConfig.from_pretrained(dir));
    assert.equal(derived.to_json_string(), text);
  });
}

test('save_pretrained writes config.json atomically and it loads back equal', async () => {
  await withTempDir(async (dir) => {
    const config = (await AutoConfig.from_pretrained(join(MODELS, 'deit24-bart24', 'model'))) as VisionEncoderDecoderConfig;
    config.custom_top = { kept: [1.5, 2] };
    config.decoder.custom_nested = 'survives';
    const path = await config.save_pretrained(dir);
    assert.equal(path, join(dir, 'config.json'));
    assert.deepEqual(await readdir(dir), ['config.json']);
    assert.equal(await readFile(path, 'utf8'), config.to_json_string());
    const back = await VisionEncoderDecoderConfig.from_pretrained(dir);
    assert.deepEqual(back.to_dict(), config.to_dict());
    assert.deepEqual(back.custom_top, { kept: [1.5, 2] });
    assert.equal(back.decoder.custom_nested, 'survives');

    const generation = await GenerationConfig.from_pretrained(join(MODELS, 'deit24-bart24', 'model'));
    generation.update({ num_beams: 4, length_penalty: 2 });
    await generation.save_pretrained(dir);
    const saved = await readFile(join(dir, 'generation_config.json'), 'utf8');
    assert.match(saved, /"length_penalty": 2\.0,\n/);
    assert.deepEqual((await GenerationConfig.from_pretrained(dir)).to_dict(), generation.to_dict());
  });
});

test('standalone configs save as Python does: the diff against the defaults', async () => {
  for (const part of ['encoder', 'decoder']) {
    const dir = join(MODELS, 'compose-vit48-bert', part);
    const config = await AutoConfig.from_pretrained(dir);
    assert.equal(config.to_json_string(), await readFile(join(dir, 'config.json'), 'utf8'));
  }
});

test('from_encoder_decoder_configs builds what Python built from the compose fixture', async () => {
  const root = join(MODELS, 'compose-vit48-bert');
  const encoder = await ViTConfig.from_pretrained(join(root, 'encoder'));
  const decoder = await BertConfig.from_pretrained(join(root, 'decoder'));
  assert.equal(decoder.is_decoder, false);
  // Python's model loader records where each part came from.
  encoder.name_or_path = 'encoder';
  decoder.name_or_path = 'decoder';
  const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder);
  // As Python: the decoder config passed in is itself marked, the composite holds copies.
  assert.equal(decoder.is_decoder, true);
  assert.equal(decoder.add_cross_attention, true);
  assert.notEqual(config.decoder, decoder);
  decoder.vocab_size = 5;
  assert.equal(config.decoder.vocab_size, 99);

  const expected = await readJson(join(root, 'composed_config.json'));
  // VisionEncoderDecoderModel's __init__ (not the config) sets tie_word_embeddings.
  delete expected.tie_word_embeddings;
  assert.deepEqual(config.to_dict(), expected);
});

test('aliases read and write the stored attribute', async () => {
  const ved = (await AutoConfig.from_pretrained(join(MODELS, 'vit-gpt2', 'model'))) as VisionEncoderDecoderConfig;
  const gpt2 = ved.decoder as GPT2Config;
  assert.equal(gpt2.hidden_size, 32);
  assert.equal(gpt2.hidden_size, gpt2.n_embd);
  assert.equal(gpt2.num_attention_heads, gpt2.n_head);
  assert.equal(gpt2.num_hidden_layers, gpt2.n_layer);
  assert.equal(gpt2.max_position_embeddings, 64);
  gpt2.hidden_size = 48;
  assert.equal(gpt2.n_embd, 48);
  assert.equal('hidden_size' in gpt2.to_dict(), false);
  assert.equal(new GPT2Config({ hidden_size: 16, num_hidden_layers: 3 }).n_embd, 16);
  assert.equal(new GPT2Config({ hidden_size: 16, num_hidden_layers: 3 }).n_layer, 3);

  const swin = ((await AutoConfig.from_pretrained(join(MODELS, 'swin-bert', 'model'))) as VisionEncoderDecoderConfig).encoder as SwinConfig;
  assert.equal(swin.hidden_size, 16 * 2 ** (2 - 1));
  assert.equal(swin.num_layers, 2);
  assert.equal(swin.num_hidden_layers, 2);
  assert.deepEqual(swin.num_attention_heads, [2, 4]);
  const donut = ((await AutoConfig.from_pretrained(join(MODELS, 'donutswin3-trocrsin12', 'model'))) as VisionEncoderDecoderConfig);
  assert.equal((donut.encoder as DonutSwinConfig).hidden_size, 24);
  const trocr = donut.decoder as TrOCRConfig;
  assert.equal(trocr.hidden_size, trocr.d_model);
  assert.equal(trocr.num_hidden_layers, trocr.decoder_layers);
  assert.equal(trocr.num_attention_heads, trocr.decoder_attention_heads);
  const bart = new BartConfig({ d_model: 24, encoder_layers: 1, encoder_attention_heads: 3 });
  assert.deepEqual([bart.hidden_size, bart.num_hidden_layers, bart.num_attention_heads], [24, 1, 3]);
});

test('defaults are transformers 5.x defaults', () => {
  const vit = new ViTConfig();
  assert.deepEqual(
    [vit.hidden_size, vit.num_hidden_layers, vit.intermediate_size, vit.hidden_act, vit.hidden_dropout_prob, vit.layer_norm_eps, vit.image_size, vit.patch_size, vit.qkv_bias, vit.encoder_stride, vit.pooler_output_size, vit.pooler_act],
    [768, 12, 3072, 'gelu', 0.0, 1e-12, 224, 16, true, 16, 768, 'tanh'],
  );
  assert.deepEqual(vit.id2label, { 0: 'LABEL_0', 1: 'LABEL_1' });
  assert.equal(vit.is_decoder, undefined);
  const gpt2 = new GPT2Config();
  assert.deepEqual(
    [gpt2.vocab_size, gpt2.n_positions, gpt2.n_embd, gpt2.n_inner, gpt2.activation_function, gpt2.layer_norm_epsilon, gpt2.bos_token_id, gpt2.eos_token_id, gpt2.pad_token_id, gpt2.tie_word_embeddings, gpt2.add_cross_attention],
    [50257, 1024, 768, null, 'gelu_new', 1e-5, 50256, 50256, null, true, false],
  );
  const bert = new BertConfig();
  assert.deepEqual([bert.vocab_size, bert.max_position_embeddings, bert.pad_token_id, bert.is_decoder, bert.classifier_dropout], [30522, 512, 0, false, null]);
  const roberta = new RobertaConfig();
  assert.deepEqual([roberta.vocab_size, roberta.pad_token_id, roberta.bos_token_id, roberta.eos_token_id], [50265, 1, 0, 2]);
  const bart = new BartConfig();
  assert.deepEqual([bart.d_model, bart.decoder_layers, bart.decoder_ffn_dim, bart.is_encoder_decoder, bart.decoder_start_token_id, bart.forced_eos_token_id, bart.num_labels], [1024, 12, 4096, true, 2, 2, 3]);
  const mbart = new MBartConfig();
  assert.equal(mbart.num_labels, 2);
  assert.equal('decoder_start_token_id' in mbart.to_dict(), false);
  const trocr = new TrOCRConfig();
  assert.deepEqual([trocr.d_model, trocr.max_position_embeddings, trocr.use_learned_position_embeddings, trocr.layernorm_embedding, trocr.decoder_start_token_id], [1024, 512, true, true, 2]);
  const swin = new SwinConfig();
  assert.deepEqual([swin.embed_dim, swin.depths, swin.window_size, swin.hidden_size, swin.out_features, swin.out_indices], [96, [2, 2, 6, 2], 7, 768, ['stage4'], [4]]);
  const beit = new BeitConfig();
  assert.deepEqual([beit.vocab_size, beit.layer_scale_init_value, beit.use_mean_pooling, beit.out_features, beit.stage_names.length], [8192, 0.1, true, ['stage12'], 13]);
  assert.throws(() => new VisionEncoderDecoderConfig(), /not both `encoder` and `decoder`/);
});

test('unknown keys are kept, generation keys in a model config are dropped as in Python', () => {
  const config = GPT2Config.from_dict({ model_type: 'gpt2', my_key: [1, 2], num_beams: 4, max_length: 50, use_cache: false });
  assert.deepEqual(config.my_key, [1, 2]);
  assert.equal(config.use_cache, false);
  assert.equal(config.num_beams, undefined);
  assert.deepEqual(config.to_diff_dict().my_key, [1, 2]);
  config.max_length = 30;
  return assert.rejects(config.save_pretrained(join(tmpdir(), 'never-written')), /generation parameters.*max_length/);
});

test('errors name the file, the key and what was expected', async () => {
  assert.throws(() => AutoConfig.for_model('llama'), /Unrecognized model_type 'llama'.*vit, deit, beit, swin, donut-swin, gpt2, bert, roberta, bart, mbart, trocr, vision-encoder-decoder/);
  assert.equal(Object.keys(CONFIG_MAPPING).length, 12);
  assert.throws(() => new ViTConfig({ hidden_size: 'big' }), /ViTConfig: 'hidden_size' must be a number/);
  assert.throws(() => new BertConfig({ is_decoder: 1 }), /'is_decoder' must be a boolean/);
  assert.throws(() => new SwinConfig({ depths: [2, 2], num_heads: [3] }), /'num_heads' must list one head count per stage/);
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'config.json'), '{"model_type": "vit", ');
    await assert.rejects(AutoConfig.from_pretrained(dir), (err: Error) => err.message.includes(join(dir, 'config.json')) && /not a valid JSON file/.test(err.message));
    await writeFile(join(dir, 'config.json'), '{"model_type": "whisper"}');
    await assert.rejects(AutoConfig.from_pretrained(dir), (err: Error) => err.message.includes(join(dir, 'config.json')) && /Unrecognized model_type 'whisper'/.test(err.message));
    await writeFile(join(dir, 'config.json'), '{"hidden_size": 8}');
    await assert.rejects(AutoConfig.from_pretrained(dir), /no 'model_type' key/);
    await writeFile(join(dir, 'config.json'), '{"model_type": "vision-encoder-decoder", "encoder": {"model_type": "vit"}, "decoder": {"model_type": "gpt2", "n_embd": "x"}}');
    await assert.rejects(AutoConfig.from_pretrained(dir), (err: Error) => err.message.includes(join(dir, 'config.json')) && /'decoder': GPT2Config: 'n_embd' must be a number/.test(err.message));
    await writeFile(join(dir, 'config.json'), '{"model_type": "bert"}');
    await assert.rejects(GPT2Config.from_pretrained(dir), /model_type 'bert', but GPT2Config expects 'gpt2'/);
    await assert.rejects(GenerationConfig.from_pretrained(dir), /generation_config\.json/);
  });
  // A part of a composite loads by its class.
  const gpt2 = await GPT2Config.from_pretrained(join(MODELS, 'vit-gpt2', 'model'));
  assert.equal(gpt2.n_embd, 32);
});

test('GenerationConfig: 5.x semantics (unset fields are null), defaults, update, validate', () => {
  const fresh = new GenerationConfig();
  assert.equal(fresh.max_length, null);
  assert.equal(fresh.to_json_string(), `{\n  "transformers_version": "5.17.0"\n}\n`);
  const defaults = GenerationConfig.default_generation_params();
  assert.deepEqual(
    [defaults.max_length, defaults.min_length, defaults.do_sample, defaults.num_beams, defaults.temperature, defaults.top_k, defaults.top_p, defaults.repetition_penalty, defaults.length_penalty, defaults.no_repeat_ngram_size, defaults.num_return_sequences, defaults.early_stopping, defaults.use_cache],
    [20, 0, false, 1, 1.0, 50, 1.0, 1.0, 1.0, 0, 1, false, true],
  );
  assert.deepEqual([...LEGACY_GENERATION_KEYS].sort(), Object.keys(defaults).sort());
  for (const key of Object.keys(defaults)) assert.ok(GENERATION_CONFIG_KEYS.includes(key), key);

  const config = new GenerationConfig({ max_new_tokens: 10, num_beams: 3, custom_flag: 'x' });
  assert.equal(config.custom_flag, 'x');
  const resolved = config.with_defaults();
  assert.deepEqual([resolved.max_new_tokens, resolved.num_beams, resolved.max_length, resolved.top_k], [10, 3, 20, 50]);
  assert.equal(config.max_length, null);

  const unused = config.update({ length_penalty: 0.5, seed: 3, no_such_option: true });
  assert.deepEqual(unused, { seed: 3, no_such_option: true });
  assert.equal(config.length_penalty, 0.5);
  assert.deepEqual(config.update({ seed: 3 }, { allow_custom_entries: true }), {});
  assert.equal(GenerationConfig.is_field('num_beams'), true);
  assert.equal(GenerationConfig.is_field('seed'), false);

  assert.throws(() => new GenerationConfig({ num_return_sequences: 2 }), /Greedy methods.*num_return_sequences/);
  assert.throws(() => new GenerationConfig({ num_beams: 2, num_return_sequences: 3 }), /`num_return_sequences` \(3\) has to be smaller or equal to `num_beams` \(2\)/);
  assert.doesNotThrow(() => new GenerationConfig({ do_sample: true, num_return_sequences: 3 }));
  assert.throws(() => new GenerationConfig({ do_sample: true, top_p: 1.5 }), /`top_p` must be in \(0, 1\]/);
  assert.throws(() => new GenerationConfig({ do_sample: true, top_p: 0 }), /`top_p`/);
  assert.throws(() => new GenerationConfig({ do_sample: true, temperature: 0 }), /`temperature` must be a strictly positive/);
  assert.doesNotThrow(() => new GenerationConfig({ do_sample: false, temperature: 0 }));
  assert.throws(() => new GenerationConfig({ top_k: -1 }), /`top_k` must be an integer >= 0/);
  assert.throws(() => new GenerationConfig({ max_new_tokens: 0 }), /`max_new_tokens` must be an integer >= 1/);
  assert.throws(() => new GenerationConfig({ early_stopping: 'sometimes' }), /`early_stopping` must be a boolean or 'never'/);
  assert.throws(() => new GenerationConfig({ repetition_penalty: 0 }), /`repetition_penalty` must be a strictly positive/);
  assert.throws(() => new GenerationConfig({ no_repeat_ngram_size: -2 }), /no_repeat_ngram_size/);
  assert.throws(() => new GenerationConfig({ bad_words_ids: [1, 2] }), /`bad_words_ids` must be a list of non-empty lists/);
  assert.throws(() => new GenerationConfig({ suppress_tokens: [2], forced_eos_token_id: 2 }), /also in `suppress_tokens`/);
  assert.throws(() => new GenerationConfig({ eos_token_id: 'end' }), /`eos_token_id` must be an integer or a list of integers/);
  assert.throws(() => config.update({ num_beams: 0 }), /`num_beams` must be an integer >= 1/);
});

test('GenerationConfig.from_model_config: top-level ids first, then the decoder, legacy keys from a dict', () => {
  const encoder = new ViTConfig();
  const decoder = new BartConfig({ bos_token_id: 5, eos_token_id: 6, pad_token_id: 7, decoder_start_token_id: 8 });
  const ved = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder, { decoder_start_token_id: 9 });
  const generation = GenerationConfig.from_model_config(ved);
  assert.deepEqual(
    [generation.decoder_start_token_id, generation.bos_token_id, generation.eos_token_id, generation.pad_token_id, generation.forced_eos_token_id, generation.use_cache, generation._from_model_config],
    [9, 5, 6, 7, 2, true, true],
  );
  const legacy = GenerationConfig.from_model_config({ model_type: 'gpt2', max_length: 16, num_beams: 4, early_stopping: true, output_scores: true, unrelated: 1 });
  assert.deepEqual([legacy.max_length, legacy.num_beams, legacy.early_stopping, legacy.return_dict_in_generate, legacy.unrelated], [16, 4, true, true, undefined]);
});

test('Python float formatting and kwargs splitting', () => {
  const cases: [number, string][] = [[1e-5, '1e-05'], [1e-12, '1e-12'], [0.1, '0.1'], [4, '4.0'], [0, '0.0'], [0.0001, '0.0001'], [1e16, '1e+16'], [123.456, '123.456'], [-2.5e-7, '-2.5e-07'], [1234567890123456.0, '1234567890123456.0']];
  for (const [x, s] of cases) assert.equal(pythonFloatRepr(x), s, String(x));
  assert.deepEqual(splitEncoderDecoderKwargs({ encoder_hidden_dropout_prob: 0.1, decoder_vocab_size: 10, decoder_start_token_id: 2, output_attentions: true }), {
    encoder: { hidden_dropout_prob: 0.1 },
    decoder: { vocab_size: 10, start_token_id: 2 },
    rest: { output_attentions: true },
  });
});
