// The disk cache of optimised generation sessions and the lazily read weights behind it: a hit
// gives the same ids and scores as a session built from the graph; a changed model, dtype or
// cache identity is a different entry; a partial, altered or half-written entry is never served
// but rebuilt; two writers of one entry leave one complete entry. Tiny fixture models: seconds.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env } from '../src/env/index.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { CompiledGraph, setPrepackWeights } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { FIXTURES } from './helpers.js';

const SOURCE = join(FIXTURES, 'hf', 'models', 'vit-gpt2', 'model');
let work: string;
let cacheDir: string;
let modelDir: string;

function pixels(model: VisionEncoderDecoderModel, seed: number): Tensor {
  const enc = model.config.encoder;
  const size = enc.image_size as number | number[];
  const [h, w] = Array.isArray(size) ? size : [size, size];
  const c = (enc.num_channels as number | undefined) ?? 3;
  const n = 2 * c * h! * w!;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.731 + seed);
  return new Tensor('float32', data, [2, c, h!, w!]);
}

const OPTS = { max_new_tokens: 6, return_dict_in_generate: true, output_scores: true } as const;

async function run(model: VisionEncoderDecoderModel, options: Record<string, unknown> = {}) {
  const out = await model.generate(pixels(model, 1), { ...OPTS, ...options });
  return { ids: [...(out.sequences.data as BigInt64Array)], scores: (out.scores ?? []).map((s) => [...(s.data as Float32Array)]) };
}

const entries = () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort() : []);
const leftovers = () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((n) => n.startsWith('.')) : []);

/** Generation from the graph alone, no cache involved: the reference. */
async function uncached(dir: string, options: Record<string, unknown> = {}, load: { dtype?: 'int8' } = {}) {
  env.setModelCacheDir(null);
  try {
    return await run(await VisionEncoderDecoderModel.from_pretrained(dir, load), options);
  } finally {
    env.setModelCacheDir(cacheDir);
  }
}

function copyModel(to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(SOURCE)) copyFileSync(join(SOURCE, f), join(to, f));
  return to;
}

describe('session cache', () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'ved-session-cache-'));
    cacheDir = join(work, 'cache');
    modelDir = copyModel(join(work, 'model'));
    env.setModelCacheDir(cacheDir);
  });
  after(() => {
    env.setModelCacheDir(null);
    rmSync(work, { recursive: true, force: true });
  });

  test('a miss writes one entry per session; a hit loads it; ids and scores equal the uncached session', async () => {
    const reference = await uncached(modelDir);
    const first = await VisionEncoderDecoderModel.from_pretrained(modelDir);
    assert.deepEqual(await run(first), reference);
    assert.equal(entries().length, 2, 'encoder and decoder step');
    assert.deepEqual(leftovers(), []);
    for (const e of entries()) assert.deepEqual(readdirSync(join(cacheDir, e)).sort(), ['entry.json', 'model.onnx', 'model.onnx.data']);

    const beams = await uncached(modelDir, { num_beams: 3 });
    const create = CompiledGraph.create;
    const sources: string[] = [];
    CompiledGraph.create = async (...a: Parameters<typeof create>) => {
      const cg = await create.apply(CompiledGraph, a);
      sources.push(cg.source);
      return cg;
    };
    try {
      const second = await VisionEncoderDecoderModel.from_pretrained(modelDir);
      assert.deepEqual(await run(second), reference);
      assert.deepEqual(await run(second, { num_beams: 3 }), beams);
    } finally {
      CompiledGraph.create = create;
    }
    assert.deepEqual(sources, ['cache', 'cache']);
    assert.equal(entries().length, 2);
  });

  test('sessions that skip weight repacking (the CLI on a few images) read the same', async () => {
    const opts = env.sessionOptions({ prepack: false }) as { extra?: { session?: Record<string, string> } };
    assert.equal(opts.extra?.session?.['disable_prepacking'], '1', 'ORT is told');
    const dir = copyModel(join(work, 'prepack'));
    const float = await uncached(dir, { num_beams: 2 });
    const int8 = await uncached(dir, {}, { dtype: 'int8' });
    // float32 kernels then pack each weight as they go, to the same numbers; int8 sessions
    // repack regardless (their kernels compute otherwise without it).
    setPrepackWeights(false);
    try {
      assert.deepEqual(await run(await VisionEncoderDecoderModel.from_pretrained(dir), { num_beams: 2 }), float, 'from the cache');
      assert.deepEqual(await uncached(dir, { num_beams: 2 }), float, 'built from the graph');
      assert.deepEqual(await run(await VisionEncoderDecoderModel.from_pretrained(dir, { dtype: 'int8' })), int8, 'int8');
    } finally {
      setPrepackWeights(true);
    }
  });

  test('changed weights, a rewritten weights file, int8 and another cache identity are other entries', async () => {
    const before = entries();
    const model = await VisionEncoderDecoderModel.from_pretrained(modelDir);
    const base = await run(model);

    // Weights changed in place (an optimizer step): content-keyed, so new entries.
    const params = model.named_parameters();
    const w = params.get('decoder.transformer.ln_f.weight');
    assert.ok(w, 'the fixture is a GPT-2 decoder');
    (w.data as Float32Array)[0]! += 0.5;
    model.weights_changed();
    const edited = await run(model);
    assert.equal(entries().length, before.length + 1, 'the decoder step only: the encoder graph does not hold that weight');

    // The weights file rewritten with other weights: the file identity differs.
    const other = copyModel(join(work, 'other'));
    const reloaded = await VisionEncoderDecoderModel.from_pretrained(other);
    const p = reloaded.state_dict();
    for (const t of p.values()) if (t.type === 'float32') (t.data as Float32Array).forEach((v, i, a) => (a[i] = v * 0.5));
    await reloaded.save_pretrained(other);
    const n = entries().length;
    const fresh = await VisionEncoderDecoderModel.from_pretrained(other);
    const halved = await run(fresh);
    assert.equal(entries().length, n + 2);
    assert.deepEqual(halved, await uncached(other));
    assert.notDeepEqual(halved.scores, base.scores);
    assert.notDeepEqual(edited.scores, base.scores);

    // int8: the same graph, other weights in it.
    const int8 = await VisionEncoderDecoderModel.from_pretrained(modelDir, { dtype: 'int8' });
    const m = entries().length;
    assert.deepEqual(await run(int8), await uncached(modelDir, {}, { dtype: 'int8' }));
    assert.equal(entries().length, m + 2);

    // An entry made by another ORT, CPU or library version (its recorded identity differs) is not served.
    const all = entries();
    for (const e of all) {
      const file = join(cacheDir, e, 'entry.json');
      const rec = JSON.parse(readFileSync(file, 'utf8')) as { identity: string };
      writeFileSync(file, JSON.stringify({ ...rec, identity: rec.identity.replace('"ort"', '"ort-other"') }));
    }
    const again = await VisionEncoderDecoderModel.from_pretrained(modelDir);
    assert.deepEqual(await run(again), base);
    const valid = entries().filter((e) => (JSON.parse(readFileSync(join(cacheDir, e, 'entry.json'), 'utf8')) as { identity: string }).identity === env.modelCache!.identity);
    assert.equal(valid.length, 2, 'the two sessions of this model, rebuilt');
  });

  test('a truncated, altered or partial entry is removed and rebuilt, never served', async () => {
    rmSync(cacheDir, { recursive: true, force: true });
    const reference = await uncached(modelDir);
    await run(await VisionEncoderDecoderModel.from_pretrained(modelDir));
    const [a, b] = entries();
    assert.ok(a && b);
    truncateSync(join(cacheDir, a, 'model.onnx.data'), 100); // a cut copy
    const graph = join(cacheDir, b, 'model.onnx');
    const bytes = readFileSync(graph);
    bytes[bytes.length >> 1] ^= 0xff; // same size, other bytes
    writeFileSync(graph, bytes);
    assert.deepEqual(await run(await VisionEncoderDecoderModel.from_pretrained(modelDir)), reference);
    assert.deepEqual(entries(), [a, b].sort(), 'rebuilt under the same keys');
    assert.equal(readFileSync(join(cacheDir, a, 'model.onnx.data')).length > 100, true);

    rmSync(join(cacheDir, a, 'entry.json')); // written last: its absence is a half-made entry
    writeFileSync(join(cacheDir, b, 'entry.json'), '{"key": "trunc');
    // A writer killed mid-way left its temporary folder (pid 2^22 + 1 is above Linux's pid_max).
    mkdirSync(join(cacheDir, `.tmp-${2 ** 22 + 1}-0123456789ab`));
    writeFileSync(join(cacheDir, `.tmp-${2 ** 22 + 1}-0123456789ab`, 'model.onnx'), 'partial');
    assert.deepEqual(await run(await VisionEncoderDecoderModel.from_pretrained(modelDir)), reference);
    assert.deepEqual(entries(), [a, b].sort());
    assert.deepEqual(leftovers(), []);
  });

  test('every fixture architecture: a cache hit generates what the uncached sessions do (float32 and int8)', async () => {
    const models = join(FIXTURES, 'hf', 'models');
    for (const name of readdirSync(models).filter((n) => existsSync(join(models, n, 'model', 'config.json')))) {
      const dir = join(models, name, 'model');
      for (const dtype of [undefined, 'int8'] as const) {
        for (const options of [{}]) {
          const reference = await uncached(dir, options, { dtype });
          await run(await VisionEncoderDecoderModel.from_pretrained(dir, { dtype }), options); // fills the cache
          const hit = await VisionEncoderDecoderModel.from_pretrained(dir, { dtype });
          assert.deepEqual(await run(hit, options), reference, `${name} ${dtype ?? 'float32'} ${JSON.stringify(options)}`);
        }
      }
    }
  });

  test('two models missing the same entries at once leave one complete entry each', async () => {
    rmSync(cacheDir, { recursive: true, force: true });
    const reference = await uncached(modelDir);
    const [m1, m2] = await Promise.all([VisionEncoderDecoderModel.from_pretrained(modelDir), VisionEncoderDecoderModel.from_pretrained(modelDir)]);
    const [r1, r2] = await Promise.all([run(m1), run(m2)]);
    assert.deepEqual(r1, reference);
    assert.deepEqual(r2, reference);
    assert.equal(entries().length, 2);
    assert.deepEqual(leftovers(), []);
  });
});

describe('session cache size bound', () => {
  test('publishing past the bound removes the least recently used entries; a find is a use; sizes parse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ved-cache-bound-'));
    const sleep = () => new Promise((r) => setTimeout(r, 30));
    try {
      env.setModelCacheDir(dir, { maxBytes: 50_000 });
      const cache = env.modelCache!;
      assert.equal(cache.maxBytes, 50_000);
      const key = (name: string) => cache.key([name]);
      // Each entry: a 20,000-byte model file and entry.json (about 1 KB): two fit, three do not.
      const put = async (name: string) => {
        await cache.publish(key(name), async (p) => writeFileSync(p, Buffer.alloc(20_000, name)));
        await sleep();
      };
      await put('a');
      await put('b');
      assert.ok(cache.find(key('a')), 'two entries fit');
      await sleep();
      await put('c'); // a was used after b: b goes
      assert.equal(cache.find(key('b')), null);
      assert.ok(cache.find(key('c')));
      await sleep();
      await put('d'); // a's last use (before c was published) is now the oldest
      assert.equal(cache.find(key('a')), null);
      assert.ok(cache.find(key('c')) && cache.find(key('d')));
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no trash or temporaries left');
      // An entry larger than the bound is still published (and is all that stays).
      env.setModelCacheDir(dir, { maxBytes: 10_000 });
      const big = await env.modelCache!.publish(key('e'), async (p) => writeFileSync(p, Buffer.alloc(20_000, 'e')));
      assert.ok(existsSync(big));
      assert.deepEqual(readdirSync(dir), [key('e')]);
    } finally {
      env.setModelCacheDir(null);
      rmSync(dir, { recursive: true, force: true });
    }
    const { parseCacheSize } = await import('../src/env/node.js');
    assert.equal(parseCacheSize(undefined), 4 * 1024 ** 3);
    assert.equal(parseCacheSize('500M'), 500 * 1024 ** 2);
    assert.equal(parseCacheSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseCacheSize('1048576'), 1048576);
    assert.equal(parseCacheSize('unlimited'), Infinity);
    assert.throws(() => parseCacheSize('lots'), /VED_SESSION_CACHE_SIZE: expected a size such as 4G, 500M or 1048576 \(bytes\), or 'unlimited'; got "lots"/);
  });
});

describe('lazily read weights', () => {
  let dir: string;
  before(() => {
    dir = copyModel(mkdtempSync(join(tmpdir(), 'ved-lazy-weights-')));
    env.setModelCacheDir(null);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('generate releases what the sessions hold; forward reads it back, equal; a changed file is refused by name', async () => {
    const model = await VisionEncoderDecoderModel.from_pretrained(dir);
    const px = pixels(model, 2);
    const ids = new Tensor('int64', [0n, 5n, 7n, 0n, 5n, 7n], [2, 3]);
    const fwd = (await model.forward({ pixel_values: px, decoder_input_ids: ids })).logits;
    assert.ok(model.store.release() > 0, 'forward read the weights; release drops them');
    await model.generate(px, { max_new_tokens: 3 });
    assert.equal(model.store.release(), 0, 'generate released them already');
    assert.deepEqual((await model.forward({ pixel_values: px, decoder_input_ids: ids })).logits, fwd);

    // Handed out for training: never dropped again (an optimizer may change them in place).
    const trained = await VisionEncoderDecoderModel.from_pretrained(dir);
    for (const t of trained.named_parameters().values()) void t.data;
    await trained.generate(px, { max_new_tokens: 2 });
    assert.equal(trained.store.release(), 0);
    assert.ok([...trained.store.tensors.values()].every((t) => Object.getOwnPropertyDescriptor(t, 'data')?.get === undefined));

    await model.save_pretrained(join(dir, 'copy'));
    model.store.release();
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(dir, 'copy', 'model.safetensors')));
    await assert.rejects(model.forward({ pixel_values: px, decoder_input_ids: ids }), /model\.safetensors.*changed on disk since the model was loaded/);
  });
});
