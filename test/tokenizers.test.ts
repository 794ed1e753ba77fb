import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import { AutoTokenizer, BertTokenizer, GPT2Tokenizer, PreTrainedTokenizer, XLMRobertaTokenizer } from '../src/processing/tokenizers.js';
import { Tensor } from '../src/runtime/tensor.js';
import { clearResolvedFiles } from '../src/hub/hub.js';
import { MockHub } from './mock-hub.js';

interface Case {
  text: string;
  ids: number[];
  ids_no_special: number[];
  tokens: string[];
  decoded: string;
  decoded_with_special: string;
}
interface Expected {
  cases: Case[];
  batch_padded: { texts: string[]; input_ids: number[][]; attention_mask: number[][] };
}

const DIR = join(FIXTURES, 'hf', 'tokenizers');
const NAMES = readdirSync(DIR).sort();
const expected = (name: string): Expected => JSON.parse(readFileSync(join(DIR, name, 'expected.json'), 'utf8'));
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'tok-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('fixtures are all there', () => {
  assert.deepEqual(NAMES, ['bpe-gpt2', 'unigram-xlmr', 'wordpiece-bert']);
});

for (const name of NAMES) {
  test(`${name}: ids, tokens and decodes equal Python's for every text`, async () => {
    const tok = await AutoTokenizer.from_pretrained(join(DIR, name));
    const exp = expected(name);
    assert.ok(exp.cases.length >= 10);
    for (const c of exp.cases) {
      const what = `${name} ${JSON.stringify(c.text)}`;
      assert.deepEqual(tok.encode(c.text), c.ids, `${what}: ids`);
      assert.deepEqual(tok.encode(c.text, { add_special_tokens: false }), c.ids_no_special, `${what}: ids without special tokens`);
      assert.deepEqual(tok.convert_ids_to_tokens(c.ids), c.tokens, `${what}: tokens`);
      // tokenize keeps the text of an unknown piece (as Rust does); its id is still unk's.
      assert.deepEqual(tok.convert_tokens_to_ids(tok.tokenize(c.text, { add_special_tokens: true })), c.ids, `${what}: tokenize`);
      assert.deepEqual(tok.convert_tokens_to_ids(c.tokens), c.ids, `${what}: convert_tokens_to_ids`);
      assert.equal(tok.decode(c.ids, { skip_special_tokens: true }), c.decoded, `${what}: decode skipping special tokens`);
      assert.equal(tok.decode(c.ids), c.decoded_with_special, `${what}: decode with special tokens`);
      // The same row as bigint[] and as an int64 tensor.
      assert.equal(tok.decode(c.ids.map(BigInt), { skip_special_tokens: true }), c.decoded);
      assert.equal(tok.decode(new Tensor('int64', c.ids.map(BigInt), [1, c.ids.length])), c.decoded_with_special);
    }
  });

  test(`${name}: padded batch equals Python's, and batch_decode reads it back`, async () => {
    const tok = await AutoTokenizer.from_pretrained(join(DIR, name));
    const { batch_padded: b, cases } = expected(name);
    const out = tok.call(b.texts, { padding: true, return_tensors: 'int64' });
    assert.equal(out.input_ids.type, 'int64');
    assert.deepEqual(out.input_ids.dims, [b.texts.length, b.input_ids[0].length]);
    assert.deepEqual(out.input_ids.tolist(), b.input_ids);
    assert.deepEqual(out.attention_mask.tolist(), b.attention_mask);
    const decoded = b.texts.map((t) => cases.find((c) => c.text === t)!.decoded);
    assert.deepEqual(tok.batch_decode(out.input_ids, { skip_special_tokens: true }), decoded);
    assert.deepEqual(tok.batch_decode(b.input_ids, { skip_special_tokens: true }), decoded);
  });
}

test('special tokens and sizes come from tokenizer_config.json', async () => {
  const bert = await AutoTokenizer.from_pretrained(join(DIR, 'wordpiece-bert'));
  const vocab = readJson(join(DIR, 'wordpiece-bert', 'tokenizer.json')).model.vocab;
  assert.equal(bert.pad_token, '[PAD]');
  assert.equal(bert.pad_token_id, vocab['[PAD]']);
  assert.equal(bert.cls_token_id, vocab['[CLS]']);
  assert.equal(bert.sep_token_id, vocab['[SEP]']);
  assert.equal(bert.mask_token_id, vocab['[MASK]']);
  assert.equal(bert.unk_token_id, vocab['[UNK]']);
  assert.equal(bert.bos_token_id, null);
  assert.equal(bert.vocab_size, Object.keys(vocab).length);
  assert.equal(bert.len(), Object.keys(vocab).length);
  assert.equal(bert.convert_tokens_to_ids('no-such-token'), vocab['[UNK]']);

  const gpt2 = await AutoTokenizer.from_pretrained(join(DIR, 'bpe-gpt2'));
  assert.equal(gpt2.eos_token_id, 0);
  assert.equal(gpt2.bos_token_id, 0);
  assert.equal(gpt2.pad_token_id, 0);

  const xlmr = await AutoTokenizer.from_pretrained(join(DIR, 'unigram-xlmr'));
  assert.deepEqual([xlmr.bos_token_id, xlmr.pad_token_id, xlmr.eos_token_id, xlmr.unk_token_id], [0, 1, 2, 3]);
  assert.equal(xlmr.vocab_size, readJson(join(DIR, 'unigram-xlmr', 'tokenizer.json')).model.vocab.length);
});

test('a special token missing from the vocabulary is added with the next id, as transformers does', () => {
  const json = readJson(join(DIR, 'bpe-gpt2', 'tokenizer.json'));
  const size = Object.keys(json.model.vocab).length;
  const tok = new GPT2Tokenizer(json, { pad_token: '<pad>' });
  assert.equal(tok.pad_token_id, size);
  assert.equal(tok.len(), size + 1);
  assert.equal(tok.vocab_size, size);
  // It is special: kept whole when encoding, skipped when decoding.
  const ids = tok.encode('Hello<pad>');
  assert.equal(ids.at(-1), size);
  assert.equal(tok.decode(ids, { skip_special_tokens: true }), 'Hello');
  assert.equal(tok.decode(ids), 'Hello<pad>');
  // GPT2Tokenizer's own defaults apply when the config leaves a token out.
  assert.equal(tok.eos_token, '<|endoftext|>');
});

test('clean_up_tokenization_spaces: off by default (transformers 5), whole-string cleanup when on, never for BPE', async () => {
  const bert = await AutoTokenizer.from_pretrained(join(DIR, 'wordpiece-bert'));
  const ids = bert.encode("don't stop");
  // The WordPiece decoder cleans token by token (" '" alone is left); Python's cleanup on the
  // whole string then joins " ' " as well.
  assert.equal(bert.decode(ids, { skip_special_tokens: true }), "don ' t stop");
  assert.equal(bert.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: true }), "don't stop");
  const withConfig = new BertTokenizer(bert.tokenizer_json, { ...bert.config, clean_up_tokenization_spaces: true });
  assert.equal(withConfig.decode(ids, { skip_special_tokens: true }), "don't stop");

  const gpt2 = await AutoTokenizer.from_pretrained(join(DIR, 'bpe-gpt2'));
  const g = gpt2.encode('Hello , world .');
  assert.equal(gpt2.decode(g, { clean_up_tokenization_spaces: true }), 'Hello , world .');
});

test('decode: empty input is "", -100 is refused with the fix, unknown ids are dropped', async () => {
  const tok = await AutoTokenizer.from_pretrained(join(DIR, 'wordpiece-bert'));
  assert.equal(tok.decode([]), '');
  assert.deepEqual(tok.batch_decode([[], [217]]), ['', 'hello']);
  assert.throws(() => tok.decode([217, -100]), /-100.*pad_token_id/);
  assert.equal(tok.decode([217, 1_000_000, 204]), 'hello world');
  assert.throws(() => tok.batch_decode(new Tensor('int64', [1n, 2n], [2])), /2-D tensor/);
});

test('call: truncation, max_length padding, left padding, and clear errors', async () => {
  const tok = await AutoTokenizer.from_pretrained(join(DIR, 'wordpiece-bert'));
  const long = expected('wordpiece-bert').cases.find((c) => c.text === '  leading and trailing  ')!;
  const cut = tok.call(long.text, { truncation: true, max_length: 6 });
  // [CLS] + the first four tokens + [SEP]: the special tokens count in max_length.
  assert.deepEqual(cut.input_ids.tolist(), [[...long.ids.slice(0, 5), long.ids.at(-1)!]]);
  const padded = tok.call(['Hello world!'], { padding: 'max_length', max_length: 8 });
  assert.deepEqual(padded.input_ids.dims, [1, 8]);
  assert.deepEqual(padded.attention_mask.tolist(), [[1, 1, 1, 1, 1, 0, 0, 0]]);
  const left = tok.call(['Hello world!', 'a cat laying on a bed'], { padding: true, padding_side: 'left' });
  const row0 = (left.input_ids.tolist() as number[][])[0];
  assert.deepEqual(row0.slice(0, 3), [0, 0, 0]);
  assert.deepEqual(row0.slice(3), tok.encode('Hello world!'));
  assert.throws(() => tok.call(['a', 'a cat laying']), /padding: true/);
  const noPad = new PreTrainedTokenizer(readJson(join(DIR, 'bpe-gpt2', 'tokenizer.json')), {});
  assert.throws(() => noPad.call(['a', 'a cat'], { padding: true }), /no pad_token/);
});

test('unknown tokenizer_class names and bad config values are reported', () => {
  const json = readJson(join(DIR, 'unigram-xlmr', 'tokenizer.json'));
  assert.throws(() => new XLMRobertaTokenizer(json, { pad_token: 42 }), /pad_token.*expected a token string/);
  assert.throws(() => new XLMRobertaTokenizer(json, { padding_side: 'middle' }), /padding_side/);
  assert.throws(() => new PreTrainedTokenizer({ nope: 1 }, {}), /tokenizer\.json: expected an object with a "model" section/);
});

// ---- legacy vocabulary files: the same tokenizer from vocab.json + merges.txt / vocab.txt ----

function writeLegacyBpe(dir: string): void {
  const json = readJson(join(DIR, 'bpe-gpt2', 'tokenizer.json'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(json.model.vocab));
  const merges = (json.model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  const cfg = readJson(join(DIR, 'bpe-gpt2', 'tokenizer_config.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, tokenizer_class: 'GPT2Tokenizer' }));
}

function writeLegacyWordPiece(dir: string): void {
  const json = readJson(join(DIR, 'wordpiece-bert', 'tokenizer.json'));
  mkdirSync(dir, { recursive: true });
  const byId = Object.entries(json.model.vocab as Record<string, number>).sort((a, b) => a[1] - b[1]);
  byId.forEach(([, id], i) => assert.equal(id, i, 'vocab ids are contiguous'));
  writeFileSync(join(dir, 'vocab.txt'), byId.map(([t]) => t).join('\n') + '\n');
  const cfg = readJson(join(DIR, 'wordpiece-bert', 'tokenizer_config.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, tokenizer_class: 'BertTokenizer' }));
}

for (const [name, write, cls] of [
  ['bpe-gpt2', writeLegacyBpe, GPT2Tokenizer],
  ['wordpiece-bert', writeLegacyWordPiece, BertTokenizer],
] as const) {
  test(`${name}: built from legacy vocabulary files it equals the tokenizer.json one`, async () => {
    const dir = join(tmp, `legacy-${name}`);
    write(dir);
    const legacy = await AutoTokenizer.from_pretrained(dir);
    assert.ok(legacy instanceof cls);
    const modern = await AutoTokenizer.from_pretrained(join(DIR, name));
    const exp = expected(name);
    for (const c of exp.cases) {
      assert.deepEqual(legacy.encode(c.text), c.ids, `${JSON.stringify(c.text)}: ids`);
      assert.deepEqual(legacy.encode(c.text, { add_special_tokens: false }), modern.encode(c.text, { add_special_tokens: false }));
      assert.deepEqual(legacy.convert_ids_to_tokens(c.ids), c.tokens);
      assert.equal(legacy.decode(c.ids, { skip_special_tokens: true }), c.decoded);
      assert.equal(legacy.decode(c.ids), c.decoded_with_special);
    }
    assert.equal(legacy.vocab_size, modern.vocab_size);
    assert.deepEqual(legacy.call(exp.batch_padded.texts, { padding: true }).input_ids.tolist(), exp.batch_padded.input_ids);
  });
}

test('a folder without any tokenizer file says what was looked for; sentencepiece-only says tokenizer.json is needed', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  await assert.rejects(AutoTokenizer.from_pretrained(empty), /no tokenizer: looked for tokenizer\.json, vocab\.json \+ merges\.txt and vocab\.txt/);
  const spm = join(tmp, 'spm');
  mkdirSync(spm, { recursive: true });
  writeFileSync(join(spm, 'sentencepiece.bpe.model'), 'not read');
  await assert.rejects(AutoTokenizer.from_pretrained(spm), /sentencepiece.*tokenizer\.json/);
  const bad = join(tmp, 'bad');
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, 'tokenizer.json'), '{ not json');
  await assert.rejects(AutoTokenizer.from_pretrained(bad), /tokenizer\.json .* is not valid/);
});

test('from_pretrained with a hub id downloads through the hub cache', async () => {
  const files: Record<string, { content: Buffer }> = {};
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) files[f] = { content: readFileSync(join(DIR, 'unigram-xlmr', f)) };
  const commit = 'd'.repeat(40);
  const hub = await new MockHub({ 'acme/xlmr': { refs: { main: commit }, commits: { [commit]: files } } }).start();
  const saved = { ...process.env };
  try {
    process.env.HF_ENDPOINT = hub.endpoint;
    process.env.HF_HUB_CACHE = join(tmp, 'hub-cache');
    process.env.HF_HOME = join(tmp, 'hf-home');
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
    clearResolvedFiles();
    const tok = await AutoTokenizer.from_pretrained('acme/xlmr');
    for (const c of expected('unigram-xlmr').cases) assert.deepEqual(tok.encode(c.text), c.ids);
    // Offline, the cached copy serves and special_tokens_map.json (never cached) is simply absent.
    clearResolvedFiles();
    process.env.HF_HUB_OFFLINE = '1';
    const connections = hub.connections;
    const again = await AutoTokenizer.from_pretrained('acme/xlmr');
    assert.equal(again.decode(again.encode('Hello world!'), { skip_special_tokens: true }), 'Hello world!');
    assert.equal(hub.connections, connections);
  } finally {
    process.env = saved;
    await hub.stop();
  }
});
