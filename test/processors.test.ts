// Processors: the fixture tokenizers and image processor configs copied into one folder, as a
// hub checkpoint holds them; AutoProcessor's choice of class, call/decode, save_pretrained round
// trips, and DonutProcessor.token2json against Python's outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import { AutoProcessor, DonutProcessor, ImageTextProcessor, TrOCRProcessor, labelsFromEncoding } from '../src/processing/processors.js';
import { AutoImageProcessor } from '../src/processing/image_processors.js';
import { AutoTokenizer } from '../src/processing/tokenizers.js';
import { Tensor } from '../src/runtime/tensor.js';

const HF = join(FIXTURES, 'hf');
const IMG = (name: string) => join(HF, 'images', name);

/** A folder with one fixture tokenizer and one fixture image processor config, plus edits. */
function folder(tokenizer: string, images: string, edit: { preprocessor?: object; tokenizer_config?: object; extra?: Record<string, object> } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ved-proc-'));
  for (const f of readdirSync(join(HF, 'tokenizers', tokenizer))) if (f !== 'expected.json') copyFileSync(join(HF, 'tokenizers', tokenizer, f), join(dir, f));
  const pre = JSON.parse(readFileSync(join(HF, 'images', images, 'preprocessor_config.json'), 'utf8'));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ ...pre, ...edit.preprocessor }));
  if (edit.tokenizer_config) {
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tc, ...edit.tokenizer_config }));
  }
  for (const [name, json] of Object.entries(edit.extra ?? {})) writeFileSync(join(dir, name), JSON.stringify(json));
  return dir;
}

const ids = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);

test('AutoProcessor picks the class named by processor_class, in Python’s file order', async () => {
  const trocr = await AutoProcessor.from_pretrained(folder('bpe-gpt2', 'vit-default', { preprocessor: { processor_class: 'TrOCRProcessor' } }));
  assert.ok(trocr instanceof TrOCRProcessor);
  const donut = await AutoProcessor.from_pretrained(folder('unigram-xlmr', 'donut', { tokenizer_config: { processor_class: 'DonutProcessor' } }));
  assert.ok(donut instanceof DonutProcessor);
  // processor_config.json wins over preprocessor_config.json.
  const both = await AutoProcessor.from_pretrained(
    folder('unigram-xlmr', 'donut', { preprocessor: { processor_class: 'TrOCRProcessor' }, extra: { 'processor_config.json': { processor_class: 'DonutProcessor' } } }),
  );
  assert.ok(both instanceof DonutProcessor);
  // config.json is the last place looked at.
  const fromConfig = await AutoProcessor.from_pretrained(folder('bpe-gpt2', 'vit-default', { extra: { 'config.json': { processor_class: 'TrOCRProcessor' } } }));
  assert.ok(fromConfig instanceof TrOCRProcessor);
  // Nothing names a class: a generic processor of both parts.
  const generic = await AutoProcessor.from_pretrained(folder('bpe-gpt2', 'vit-default'));
  assert.equal(generic.constructor, ImageTextProcessor);
  assert.equal(generic.image_processor.constructor.name, 'ViTImageProcessor');
  assert.equal(generic.tokenizer.eos_token, '<|endoftext|>');
});

test('AutoProcessor: an unknown processor_class or a missing part is one clear error', async () => {
  const dir = folder('bpe-gpt2', 'vit-default', { preprocessor: { processor_class: 'NougatProcessor' } });
  await assert.rejects(AutoProcessor.from_pretrained(dir), (e: Error) => e.message.includes('preprocessor_config.json') && e.message.includes("'NougatProcessor' is not supported") && e.message.includes('TrOCRProcessor'));
  const bad = folder('bpe-gpt2', 'vit-default', { preprocessor: { processor_class: 7 } });
  await assert.rejects(AutoProcessor.from_pretrained(bad), /"processor_class" must be a class name string, got 7/);
  const noImages = mkdtempSync(join(tmpdir(), 'ved-proc-'));
  copyFileSync(join(HF, 'tokenizers', 'bpe-gpt2', 'tokenizer.json'), join(noImages, 'tokenizer.json'));
  await assert.rejects(AutoProcessor.from_pretrained(noImages), /preprocessor_config\.json/);
  assert.throws(() => new TrOCRProcessor(null as never, null as never), /TrOCRProcessor: You need to specify an `image_processor`/);
});

test('call: images → pixel_values as the image processor; text → labels with padding -100', async () => {
  const dir = folder('bpe-gpt2', 'vit-default');
  const processor = await TrOCRProcessor.from_pretrained(dir);
  const ip = await AutoImageProcessor.from_pretrained(dir);
  const tok = await AutoTokenizer.from_pretrained(dir);
  const images = [IMG('tall_rgb.png'), IMG('wide_rgb.png')];

  const onlyImages = await processor.call({ images });
  assert.deepEqual(Object.keys(onlyImages), ['pixel_values']);
  assert.deepEqual(onlyImages.pixel_values!.data, (await ip.preprocess(images)).pixel_values.data);

  // GPT-2 pads with its eos token: an eos the text really has stays a label, padding becomes -100.
  const texts = ['a cat<|endoftext|>', 'the cat sat on the mat<|endoftext|>'];
  const out = await processor.call({ images, text: texts });
  const short = tok.encode(texts[0]!);
  const long = tok.encode(texts[1]!);
  assert.ok(short.length < long.length);
  assert.deepEqual(out.labels!.dims, [2, long.length]);
  assert.deepEqual(ids(out.labels!), [...short, ...Array(long.length - short.length).fill(-100), ...long]);
  assert.equal(ids(out.labels!)[short.length - 1], tok.eos_token_id);
  assert.deepEqual(ids(out.input_ids!), [...short, ...Array(long.length - short.length).fill(tok.pad_token_id), ...long]);
  assert.deepEqual(out.pixel_values!.dims, [2, 3, 224, 224]);

  // Tokenizer options go to the tokenizer, the rest to the image processor.
  const fixed = await processor.call({ images: images[0]!, text: 'a cat' }, { padding: 'max_length', max_length: 8, size: { height: 32, width: 16 } });
  assert.deepEqual(fixed.labels!.dims, [1, 8]);
  assert.deepEqual(fixed.pixel_values!.dims, [1, 3, 32, 16]);

  await assert.rejects(processor.call({}), /You need to specify either an `images` or `text` input/);
  await assert.rejects(processor.call({ images, text: 'one text' }), /2 image\(s\) but 1 text\(s\)/);
});

test('labelsFromEncoding uses the mask, not the pad id', () => {
  const input = new Tensor('int64', BigInt64Array.from([5n, 0n, 0n, 7n, 0n, 9n]), [2, 3]);
  const mask = new Tensor('int64', BigInt64Array.from([1n, 1n, 0n, 1n, 0n, 1n]), [2, 3]);
  assert.deepEqual(ids(labelsFromEncoding(input, mask)), [5, 0, -100, 7, -100, 9]);
});

test('batch_decode and decode go to the tokenizer; -100 label positions are dropped', async () => {
  const dir = folder('unigram-xlmr', 'donut');
  const processor = await DonutProcessor.from_pretrained(dir);
  const tok = processor.tokenizer;
  const rows = [tok.encode('the cat'), tok.encode('a dog ran')];
  const width = Math.max(...rows.map((r) => r.length));
  const tensor = new Tensor('int64', BigInt64Array.from(rows.flatMap((r) => [...r, ...Array(width - r.length).fill(tok.pad_token_id)]).map(BigInt)), [2, width]);
  assert.deepEqual(processor.batch_decode(tensor, { skip_special_tokens: true }), tok.batch_decode(tensor, { skip_special_tokens: true }));
  assert.deepEqual(processor.batch_decode(tensor, { skip_special_tokens: true }), ['the cat', 'a dog ran']);
  const labels = (await processor.call({ text: ['the cat', 'a dog ran'] })).labels!;
  assert.deepEqual(processor.batch_decode(labels, { skip_special_tokens: true }), ['the cat', 'a dog ran']);
  assert.equal(processor.decode([...rows[0]!, -100, -100]), tok.decode(rows[0]!));
});

test('DonutProcessor: text next to images gets no special tokens (as Python), alone it does', async () => {
  const processor = await DonutProcessor.from_pretrained(folder('unigram-xlmr', 'donut'));
  const tok = processor.tokenizer;
  const withImage = await processor.call({ images: IMG('square_rgb.png'), text: 'the cat' });
  assert.deepEqual(ids(withImage.labels!), tok.encode('the cat', { add_special_tokens: false }));
  const alone = await processor.call({ text: 'the cat' });
  assert.deepEqual(ids(alone.labels!), tok.encode('the cat'));
  assert.notDeepEqual(ids(alone.labels!), ids(withImage.labels!));
  const asked = await processor.call({ images: IMG('square_rgb.png'), text: 'the cat' }, { add_special_tokens: true });
  assert.deepEqual(ids(asked.labels!), tok.encode('the cat'));
});

test('save_pretrained writes both parts with processor_class; loading them back gives the same processor', async () => {
  for (const [cls, tokenizer, images] of [[TrOCRProcessor, 'bpe-gpt2', 'vit-bicubic-70x50'], [DonutProcessor, 'unigram-xlmr', 'donut']] as const) {
    const original = await cls.from_pretrained(folder(tokenizer, images));
    const out = mkdtempSync(join(tmpdir(), 'ved-proc-save-'));
    const files = await original.save_pretrained(out);
    assert.deepEqual(files.map((f) => f.slice(out.length + 1)), ['preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const pre = JSON.parse(readFileSync(join(out, 'preprocessor_config.json'), 'utf8'));
    const tc = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
    assert.equal(pre.processor_class, cls.processor_class);
    assert.equal(tc.processor_class, cls.processor_class);
    assert.equal(pre.image_processor_type, original.image_processor.constructor.name);

    const loaded = await AutoProcessor.from_pretrained(out);
    assert.equal(loaded.constructor, cls);
    const input = { images: [IMG('wide_rgb.png'), IMG('gray_l.png')], text: ['the cat sat', 'a'] };
    const a = await original.call(input);
    const b = await loaded.call(input);
    assert.deepEqual(b.pixel_values!.data, a.pixel_values!.data);
    assert.deepEqual(ids(b.labels!), ids(a.labels!));
    assert.deepEqual(loaded.batch_decode(a.input_ids!), original.batch_decode(a.input_ids!));
  }
  // The generic processor writes no processor_class (Python has no such class).
  const generic = await AutoProcessor.from_pretrained(folder('wordpiece-bert', 'vit-default'));
  const out = mkdtempSync(join(tmpdir(), 'ved-proc-save-'));
  await generic.save_pretrained(out);
  assert.equal('processor_class' in JSON.parse(readFileSync(join(out, 'preprocessor_config.json'), 'utf8')), false);
  assert.equal((await AutoProcessor.from_pretrained(out)).constructor, ImageTextProcessor);
});

// Expected values: Python's DonutProcessor.token2json (transformers, processing_donut.py) run on
// the same strings with added_vocab {"<yes/>", "<sep/>"}.
const TOKEN2JSON_CASES: [string, unknown][] = [
  [
    '<s_name>John Doe</s_name><s_age>99</s_age><s_city>Atlanta</s_city><s_phone>(404) 555-4545</s_phone><s_email>johndoe@gmail.com</s_email>',
    { name: 'John Doe', age: '99', city: 'Atlanta', phone: '(404) 555-4545', email: 'johndoe@gmail.com' },
  ],
  [
    '<s_menu><s_nm>Latte</s_nm><s_cnt>2</s_cnt><sep/><s_nm>Bagel</s_nm><s_cnt>1</s_cnt></s_menu><s_total><s_price>9.00</s_price></s_total>',
    { menu: [{ nm: 'Latte', cnt: '2' }, { nm: 'Bagel', cnt: '1' }], total: { price: '9.00' } },
  ],
  ['<s_flag><yes/></s_flag><s_tags>a<sep/> b <sep/><yes/></s_tags>', { flag: 'yes', tags: ['a', 'b', 'yes'] }],
  ['plain text without tags', { text_sequence: 'plain text without tags' }],
  ['<s_a>unclosed <s_b>x</s_b>', { b: 'x' }],
  ['<S_Key>Value</s_key> tail', { Key: 'Value' }],
  ['<s_x>multi\nline</s_x>', { x: 'multi\nline' }],
  ['<s_outer><s_in></s_in></s_outer><s_e></s_e>', { outer: { in: '' }, e: '' }],
  ['</s_k>before<s_k>after</s_k>', { k: 'after' }],
  ['<s_a.b>dot</s_a.b><s_q>1</s_q>', { 'a.b': 'dot', q: '1' }],
];

test('DonutProcessor.token2json matches Python', async () => {
  const processor = await DonutProcessor.from_pretrained(folder('unigram-xlmr', 'donut'));
  const vocab = new Set(['<yes/>', '<sep/>']);
  for (const [input, want] of TOKEN2JSON_CASES) {
    const got = processor.token2json(input, false, vocab);
    assert.deepEqual(got, want, input);
    assert.equal(JSON.stringify(got), JSON.stringify(want), `key order of ${input}`);
  }
  // Without added_vocab it reads the tokenizer's: <s> is an added token but not a <name/> token.
  assert.deepEqual(processor.token2json('<s_k><s></s_k>'), { k: '<s>' });
  assert.ok(processor.get_added_vocab().has('<pad>'));
  assert.throws(() => processor.token2json(5 as never), /token2json: tokens must be a string/);
});
