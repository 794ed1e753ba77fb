// Model folders: single, sharded and PyTorch layouts; sharded saving as huggingface_hub does it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../src/index.js';
import {
  CheckpointError,
  loadSafetensorsSync,
  loadStateDict,
  parseShardSize,
  readSafetensorsHeaderSync,
  saveStateDict,
  splitStateDictIntoShards,
} from '../src/weights/index.js';
import { stateDictPickle, torchZip } from './weights_builders.js';
import { FIXTURES } from './helpers.js';

const GPT2 = join(FIXTURES, 'hf', 'models', 'vit-gpt2');
const tmp = mkdtempSync(join(tmpdir(), 'state-dict-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const d = join(tmp, `d${counter++}`);
  mkdirSync(d);
  return d;
};

function assertSameTensors(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) {
    assert.equal(b.get(k)!.type, t.type, k);
    assert.deepEqual(b.get(k)!.dims, t.dims, k);
    assert.deepEqual(b.get(k)!.data, t.data, k);
  }
}

test('loadStateDict picks the layout of a folder, or loads a file', async () => {
  const st = loadSafetensorsSync(join(GPT2, 'model', 'model.safetensors')).tensors;
  assertSameTensors(await loadStateDict(join(GPT2, 'model')), st);
  const bin = await loadStateDict(join(GPT2, 'model-bin'));
  assert.equal(bin.size, st.size + 1);
  assert.ok(bin.has('decoder.lm_head.weight'));
  assertSameTensors(await loadStateDict(join(GPT2, 'model', 'model.safetensors')), st);
  // safetensors wins over pytorch_model.bin when both are there.
  const both = freshDir();
  copyFileSync(join(GPT2, 'model', 'model.safetensors'), join(both, 'model.safetensors'));
  copyFileSync(join(GPT2, 'model-bin', 'pytorch_model.bin'), join(both, 'pytorch_model.bin'));
  assert.equal((await loadStateDict(both)).size, st.size);
  const empty = freshDir();
  await assert.rejects(loadStateDict(empty), (e: unknown) => e instanceof CheckpointError && e.message.startsWith(empty) && /expected model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin or pytorch_model\.bin\.index\.json/.test(e.message));
  await assert.rejects(loadStateDict(join(empty, 'nope')), /no such file or folder/);
});

test('saveStateDict without a limit writes the same model.safetensors as Python', async () => {
  const src = join(GPT2, 'model', 'model.safetensors');
  const dir = freshDir();
  const split = await saveStateDict(dir, loadSafetensorsSync(src).tensors);
  assert.equal(split.isSharded, false);
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), readFileSync(src));
});

test('sharding follows huggingface_hub: in order, split before overflow, oversized alone', () => {
  // huggingface_hub's own test_multiple_shards: sizes 6, 10, 30, 2, 2 with a limit of 10.
  const sd = new Map([6, 10, 30, 2, 2].map((n, i) => [`layer_${i + 1}`, Tensor.zeros('uint8', [n])] as [string, Tensor]));
  const split = splitStateDictIntoShards(sd, 10);
  assert.deepEqual(Object.fromEntries(split.filenameToTensors), {
    'model-00001-of-00004.safetensors': ['layer_1'],
    'model-00002-of-00004.safetensors': ['layer_3'], // oversized: its own shard, before the open one
    'model-00003-of-00004.safetensors': ['layer_2'],
    'model-00004-of-00004.safetensors': ['layer_4', 'layer_5'],
  });
  assert.equal(split.totalSize, 50);
  // huggingface_hub's test_tensor_same_storage: 1/3/5 share one storage, 2/4 another; limit 1.
  const one1 = Tensor.zeros('uint8', [1]);
  const two = Tensor.zeros('uint8', [2]);
  const same = splitStateDictIntoShards(new Map([['layer_1', one1], ['layer_2', two], ['layer_3', one1], ['layer_4', two], ['layer_5', one1]]), 1);
  assert.deepEqual(Object.fromEntries(same.filenameToTensors), {
    'model-00001-of-00002.safetensors': ['layer_2', 'layer_4'],
    'model-00002-of-00002.safetensors': ['layer_1', 'layer_3', 'layer_5'],
  });
  assert.equal(same.totalSize, 3);
  // One shard: the plain name, not sharded.
  const one = splitStateDictIntoShards(sd, 100);
  assert.deepEqual([...one.filenameToTensors.keys()], ['model.safetensors']);
  assert.equal(one.isSharded, false);
  // Tied tensors (one data buffer) stay with the first one's shard and count once.
  const shared = Tensor.zeros('float32', [4]);
  const tied = new Map([['a', shared], ['b', Tensor.zeros('float32', [4])], ['c', new Tensor('float32', shared.data, [2, 2])]]);
  const t = splitStateDictIntoShards(tied, 16);
  assert.deepEqual(Object.fromEntries(t.filenameToTensors), { 'model-00001-of-00002.safetensors': ['a', 'c'], 'model-00002-of-00002.safetensors': ['b'] });
  assert.equal(t.totalSize, 32);
  // Slices of one large buffer are separate tensors, not tied ones.
  const flat = new Float32Array(8);
  const slices = new Map([['p', new Tensor('float32', flat.subarray(0, 4), [4])], ['q', new Tensor('float32', flat.subarray(4), [4])]]);
  assert.deepEqual(Object.fromEntries(splitStateDictIntoShards(slices, 16).filenameToTensors), { 'model-00001-of-00002.safetensors': ['p'], 'model-00002-of-00002.safetensors': ['q'] });
  assert.equal(parseShardSize('5GB'), 5e9);
  assert.equal(parseShardSize('500MB'), 5e8);
  assert.equal(parseShardSize('2GiB'), 2 ** 31);
  assert.equal(parseShardSize(1234), 1234);
  assert.throws(() => parseShardSize('5 potatoes'), /maxShardSize "5 potatoes" is not a size/);
});

test('sharded save writes shards + an index exactly as transformers, and loads back', async () => {
  const tensors = loadSafetensorsSync(join(GPT2, 'model', 'model.safetensors')).tensors;
  const dir = freshDir();
  const split = await saveStateDict(dir, tensors, { maxShardSize: '60KB' });
  assert.ok(split.isSharded);
  const n = split.filenameToTensors.size;
  assert.ok(n >= 3, `${n} shards`);
  const files = readdirSync(dir).sort();
  const shardNames = Array.from({ length: n }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`);
  assert.deepEqual(files, [...shardNames, 'model.safetensors.index.json'].sort());
  let totalBytes = 0;
  let totalElements = 0;
  for (const t of tensors.values()) {
    totalBytes += t.data.byteLength;
    totalElements += t.data.length;
  }
  const indexText = readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8');
  const index = JSON.parse(indexText);
  assert.deepEqual(index.metadata, { total_parameters: totalElements, total_size: totalBytes });
  // json.dumps(index, indent=2, sort_keys=True) + "\n"
  const sortedMap = Object.fromEntries(Object.entries(index.weight_map as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)));
  const expectedText = `{\n  "metadata": {\n    "total_parameters": ${totalElements},\n    "total_size": ${totalBytes}\n  },\n  "weight_map": {\n` +
    Object.entries(sortedMap).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n') + '\n  }\n}\n';
  assert.equal(indexText, expectedText);
  assert.deepEqual(Object.keys(index.weight_map).sort(), [...tensors.keys()].sort());
  for (const shard of shardNames) {
    const header = readSafetensorsHeaderSync(join(dir, shard));
    assert.deepEqual(header.metadata, { format: 'pt' });
    const bytes = header.entries.reduce((a, e) => a + e.dataOffsets[1] - e.dataOffsets[0], 0);
    assert.ok(bytes <= 60_000 || header.entries.length === 1, `${shard} has ${bytes} bytes in ${header.entries.length} tensors`);
    for (const e of header.entries) assert.equal(index.weight_map[e.name], shard);
  }
  assertSameTensors(await loadStateDict(dir), tensors);
  assertSameTensors(await loadStateDict(join(dir, 'model.safetensors.index.json')), tensors);

  // Saving again without a limit removes the shards and the index; and back.
  await saveStateDict(dir, tensors);
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  await saveStateDict(dir, tensors, { maxShardSize: 100_000 });
  assert.ok(!readdirSync(dir).includes('model.safetensors'));
  assertSameTensors(await loadStateDict(dir), tensors);
});

test('broken sharded folders name the missing shard or tensor', async () => {
  const tensors = new Map([['a', Tensor.zeros('float32', [4])], ['b', Tensor.zeros('float32', [4])], ['c', Tensor.zeros('float32', [4])]]);
  const dir = freshDir();
  await saveStateDict(dir, tensors, { maxShardSize: 16 });
  const index = join(dir, 'model.safetensors.index.json');
  rmSync(join(dir, 'model-00002-of-00003.safetensors'));
  await assert.rejects(loadStateDict(dir), (e: unknown) => e instanceof CheckpointError && e.message.startsWith(index) && /shard model-00002-of-00003\.safetensors is missing .*"b"/.test(e.message));

  const json = JSON.parse(readFileSync(index, 'utf8'));
  json.weight_map.b = 'model-00001-of-00003.safetensors';
  writeFileSync(index, JSON.stringify(json));
  await assert.rejects(loadStateDict(dir), /tensor "b" is listed in model\.safetensors\.index\.json for this shard but is not in it/);
  json.weight_map.b = '../elsewhere.safetensors';
  writeFileSync(index, JSON.stringify(json));
  await assert.rejects(loadStateDict(dir), /weight_map\["b"\] must be a shard file name in the same folder/);
  writeFileSync(index, '{"weight_map": [1]}');
  await assert.rejects(loadStateDict(dir), /expected an object with a "weight_map" object/);
  writeFileSync(index, '{oops');
  await assert.rejects(loadStateDict(dir), /not valid JSON/);
});

test('pytorch_model.bin.index.json shards load', async () => {
  const dir = freshDir();
  const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  const spec = (name: string, n: number) => ({ name, storage: 'FloatStorage', key: '0', numel: n, offset: 0, size: [n], stride: [1] });
  writeFileSync(join(dir, 'pytorch_model-00001-of-00002.bin'), torchZip(stateDictPickle([spec('x', 2)]), { '0': f32([1, 2]) }));
  writeFileSync(join(dir, 'pytorch_model-00002-of-00002.bin'), torchZip(stateDictPickle([spec('y', 1)]), { '0': f32([3]) }));
  writeFileSync(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ metadata: { total_size: 12 }, weight_map: { x: 'pytorch_model-00001-of-00002.bin', y: 'pytorch_model-00002-of-00002.bin' } }));
  const sd = await loadStateDict(dir);
  assert.deepEqual(Object.fromEntries([...sd].map(([k, t]) => [k, t.tolist()])), { x: [1, 2], y: [3] });
});
