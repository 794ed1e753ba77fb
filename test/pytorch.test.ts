// PyTorch .bin reading: the torch-1.13 fixture, hand-built archives (views, dtypes, formats), and
// refusal of anything but state-dict pickles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, loadPytorchBin, loadPytorchBinSync, loadSafetensorsSync } from '../src/weights/index.js';
import { PickleWriter, stateDictPickle, torchLegacy, torchZip, type TensorSpec } from './weights_builders.js';
import { FIXTURES } from './helpers.js';

const GPT2 = join(FIXTURES, 'hf', 'models', 'vit-gpt2');
const tmp = mkdtempSync(join(tmpdir(), 'pytorch-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const write = (bytes: Uint8Array): string => {
  const file = join(tmp, `ckpt-${counter++}.bin`);
  writeFileSync(file, bytes);
  return file;
};

test('the vit-gpt2 pytorch_model.bin equals model.safetensors, plus the tied lm_head', async () => {
  const bin = await loadPytorchBin(join(GPT2, 'model-bin', 'pytorch_model.bin'));
  const st = loadSafetensorsSync(join(GPT2, 'model', 'model.safetensors')).tensors;
  assert.deepEqual([...bin.keys()].filter((k) => !st.has(k)), ['decoder.lm_head.weight']);
  assert.equal(bin.size, st.size + 1);
  for (const [name, t] of st) {
    const u = bin.get(name)!;
    assert.ok(u, name);
    assert.equal(u.type, t.type, name);
    assert.deepEqual(u.dims, t.dims, name);
    assert.deepEqual(u.data, t.data, name);
  }
  const lm = bin.get('decoder.lm_head.weight')!;
  const wte = bin.get('decoder.transformer.wte.weight')!;
  assert.deepEqual(lm.dims, wte.dims);
  assert.deepEqual(lm.data, wte.data);
  assert.notEqual(lm.data, wte.data, 'shared storage is copied per tensor, so updating one leaves the other');
});

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

test('strided views, storage offsets and shared storages become contiguous copies', () => {
  // One storage of 8 floats viewed four ways.
  const storage = f32([0, 1, 2, 3, 4, 5, 6, 7]);
  const specs: TensorSpec[] = [
    { name: 'whole', storage: 'FloatStorage', key: '0', numel: 8, offset: 0, size: [2, 4], stride: [4, 1] },
    { name: 'transposed', storage: 'FloatStorage', key: '0', numel: 8, offset: 0, size: [4, 2], stride: [1, 4] },
    { name: 'offset_row', storage: 'FloatStorage', key: '0', numel: 8, offset: 5, size: [3], stride: [1] },
    { name: 'every_other', storage: 'FloatStorage', key: '0', numel: 8, offset: 1, size: [2, 2], stride: [4, 2] },
    { name: 'unit_dims', storage: 'FloatStorage', key: '0', numel: 8, offset: 2, size: [1, 2, 1], stride: [99, 1, 7] },
    { name: 'scalar', storage: 'FloatStorage', key: '0', numel: 8, offset: 7, size: [], stride: [] },
    { name: 'empty', storage: 'FloatStorage', key: '0', numel: 8, offset: 0, size: [0, 3], stride: [3, 1] },
  ];
  const t = loadPytorchBinSync(write(torchZip(stateDictPickle(specs), { '0': storage })));
  assert.deepEqual([...t.keys()], specs.map((s) => s.name));
  assert.deepEqual(t.get('whole')!.tolist(), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(t.get('transposed')!.tolist(), [[0, 4], [1, 5], [2, 6], [3, 7]]);
  assert.deepEqual(t.get('offset_row')!.tolist(), [5, 6, 7]);
  assert.deepEqual(t.get('every_other')!.tolist(), [[1, 3], [5, 7]]);
  assert.deepEqual(t.get('unit_dims')!.tolist(), [[[2], [3]]]);
  assert.equal(t.get('scalar')!.tolist(), 7);
  assert.deepEqual(t.get('empty')!.dims, [0, 3]);
  // Every tensor owns its data.
  const buffers = new Set([...t.values()].map((x) => x.data.buffer));
  assert.equal(buffers.size, t.size);
});

test('every storage type converts to its Tensor type; F16/BF16 widen; options', () => {
  const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff]).buffer);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
  const storages: Record<string, Uint8Array> = {
    d: new Uint8Array(new Float64Array([1.5, 1e300]).buffer),
    h: half,
    b: bf16,
    l: new Uint8Array(new BigInt64Array([-(2n ** 60n), 3n]).buffer),
    i: new Uint8Array(new Int32Array([-7, 8]).buffer),
    s: new Uint8Array(new Int16Array([-300, 2]).buffer),
    c: new Uint8Array(new Int8Array([-1, 2]).buffer),
    u: Uint8Array.from([255, 0]),
    o: Uint8Array.from([1, 0, 1]),
  };
  const spec = (name: string, storage: string, key: string, numel: number): TensorSpec => ({ name, storage, key, numel, offset: 0, size: [numel], stride: [1] });
  const specs = [
    spec('double', 'DoubleStorage', 'd', 2), spec('half', 'HalfStorage', 'h', 3), spec('bf16', 'BFloat16Storage', 'b', 2),
    spec('long', 'LongStorage', 'l', 2), spec('int', 'IntStorage', 'i', 2), spec('short', 'ShortStorage', 's', 2),
    spec('char', 'CharStorage', 'c', 2), spec('byte', 'ByteStorage', 'u', 2), spec('bool', 'BoolStorage', 'o', 3),
  ];
  const file = write(torchZip(stateDictPickle(specs), storages));
  const t = loadPytorchBinSync(file);
  const summary = Object.fromEntries([...t].map(([k, v]) => [k, [v.type, v.tolist()]]));
  assert.deepEqual(summary, {
    double: ['float64', [1.5, 1e300]],
    half: ['float32', [1, -2, 65504]],
    bf16: ['float32', [1, -3]],
    long: ['int64', [-(2n ** 60n), 3]],
    int: ['int32', [-7, 8]],
    short: ['int16', [-300, 2]],
    char: ['int8', [-1, 2]],
    byte: ['uint8', [255, 0]],
    bool: ['bool', [true, false, true]],
  });
  const opt = loadPytorchBinSync(file, { float64ToFloat32: true, keepFloat16: true });
  assert.deepEqual([opt.get('double')!.type, ...opt.get('double')!.data], ['float32', 1.5, Infinity]);
  assert.deepEqual([opt.get('half')!.type, ...opt.get('half')!.data], ['float16', 0x3c00, 0xc000, 0x7bff]);
});

test('zip variants: any root folder, deflated entries, big-endian storages; the legacy format', () => {
  const specs: TensorSpec[] = [{ name: 'w', storage: 'FloatStorage', key: '0', numel: 3, offset: 0, size: [3], stride: [1] }];
  const pkl = stateDictPickle(specs);
  const expect = [1.5, -2, 3.25];
  assert.deepEqual([...loadPytorchBinSync(write(torchZip(pkl, { '0': f32(expect) }, { root: 'my_model', deflate: true }))).get('w')!.data], expect);
  const big = Buffer.from(f32(expect));
  for (let i = 0; i < big.length; i += 4) big.subarray(i, i + 4).reverse();
  assert.deepEqual([...loadPytorchBinSync(write(torchZip(pkl, { '0': big }, { byteorder: 'big' }))).get('w')!.data], expect);
  assert.deepEqual([...loadPytorchBinSync(write(torchZip(pkl, { '0': f32(expect) }, { byteorder: 'little' }))).get('w')!.data], expect);
  // ZIP64 records, as torch writes past 4 GB (here with small real values behind them).
  assert.deepEqual([...loadPytorchBinSync(write(torchZip(pkl, { '0': f32(expect) }, { zip64: true }))).get('w')!.data], expect);

  const legacySpecs: TensorSpec[] = [
    { name: 'a', storage: 'FloatStorage', key: '140', numel: 4, offset: 1, size: [3], stride: [1] },
    { name: 'b', storage: 'LongStorage', key: '141', numel: 2, offset: 0, size: [2], stride: [1] },
  ];
  const legacy = torchLegacy(legacySpecs, [['140', 4, f32([9, 1, 2, 3])], ['141', 2, new Uint8Array(new BigInt64Array([5n, -6n]).buffer)]]);
  const t = loadPytorchBinSync(write(legacy));
  assert.deepEqual(t.get('a')!.tolist(), [1, 2, 3]);
  assert.deepEqual(t.get('b')!.tolist(), [5, -6]);
  assert.throws(() => loadPytorchBinSync(write(legacy.subarray(0, legacy.length - 3))), (e: unknown) => e instanceof CheckpointError && /past the end of the file|unexpected end of file/.test(e.message));
});

test('wrapped tensors (Parameter, _rebuild_from_type_v2) and an OrderedDict with _metadata load', () => {
  const w = new PickleWriter();
  w.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
  // BUILD state {'_metadata': {}} as torch's state_dict() has
  w.op(0x7d).str('_metadata').op(0x7d, 0x73, 0x62);
  w.mark();
  w.str('param').global('torch._utils', '_rebuild_parameter').mark().tensor('FloatStorage', '0', 2, 0, [2], [1]).op(0x88).global('collections', 'OrderedDict').op(0x29, 0x52).tuple().op(0x52);
  w.str('typed').global('torch._tensor', '_rebuild_from_type_v2').mark()
    .global('torch._utils', '_rebuild_tensor_v2').global('torch', 'Tensor')
    .mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(2).tuple().op(0x51).int(1).ints([1]).ints([1]).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).tuple()
    .op(0x7d).tuple().op(0x52);
  const file = write(torchZip(w.op(0x75).stop(), { '0': f32([4, 5]) }));
  const t = loadPytorchBinSync(file);
  assert.deepEqual(t.get('param')!.tolist(), [4, 5]);
  assert.deepEqual(t.get('typed')!.tolist(), [5]);
});

function expectRefusal(file: string, pattern: RegExp): void {
  assert.throws(() => loadPytorchBinSync(file), (err: unknown) => {
    assert.ok(err instanceof CheckpointError, `not a CheckpointError: ${String(err)}`);
    assert.ok(err.message.startsWith(file), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

test('foreign globals and object-building opcodes are refused before anything runs', () => {
  const osSystem = new PickleWriter().global('os', 'system').str('echo pwned > /tmp/should-not-exist').op(0x85, 0x52).stop();
  expectRefusal(write(torchZip(osSystem, {})), /refusing to load pickle global os\.system: only PyTorch state-dict types are allowed/);
  // Protocol 4 STACK_GLOBAL route to builtins.eval.
  const evalPkl = new PickleWriter(4).op(0x8c, 8).text('builtins').op(0x8c, 4).text('eval').op(0x93).str('1+1').op(0x85, 0x52).stop();
  expectRefusal(write(torchZip(evalPkl, {})), /refusing to load pickle global builtins\.eval/);
  // A foreign global hidden inside an otherwise valid state dict.
  const hidden = new PickleWriter().op(0x7d).mark().str('x').global('subprocess', 'Popen').str('ls').op(0x85, 0x52).op(0x75).stop();
  expectRefusal(write(torchZip(hidden, {})), /refusing to load pickle global subprocess\.Popen/);
  // torch globals outside the allow-list too.
  expectRefusal(write(torchZip(new PickleWriter().global('torch', 'load').op(0x29, 0x52).stop(), {})), /refusing to load pickle global torch\.load/);
  // INST / NEWOBJ build arbitrary objects.
  expectRefusal(write(torchZip(new PickleWriter().mark().text('iposix\nsystem\n').stop(), {})), /INST .* is not allowed/);
  expectRefusal(write(torchZip(new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x81).stop(), {})), /NEWOBJ .* is not allowed/);
  // Calling something that is not an allowed callable (a storage class) is refused too.
  expectRefusal(write(torchZip(new PickleWriter().global('torch', 'FloatStorage').op(0x29, 0x52).stop(), {})), /REDUCE on torch\.FloatStorage, which is not an allowed callable/);
});

test('malformed archives and pickles give clear errors', () => {
  const good = (n = 2): TensorSpec[] => [{ name: 'w', storage: 'FloatStorage', key: '0', numel: n, offset: 0, size: [n], stride: [1] }];
  expectRefusal(write(torchZip(stateDictPickle(good()), {})), /storage 0 is missing from the archive \(no archive\/data\/0\)/);
  expectRefusal(write(torchZip(stateDictPickle(good(1000000000)), { '0': f32([1, 2]) })), /storage 0 holds 8 bytes, but 1000000000 float32 elements need 4000000000/);
  expectRefusal(write(torchZip(stateDictPickle([{ ...good()[0]!, size: [3] }]), { '0': f32([1, 2]) })), /has 3 elements but its storage 0 only 2/);
  expectRefusal(write(torchZip(stateDictPickle([{ ...good(4)[0]!, offset: 3, size: [2] }]), { '0': f32([1, 2, 3, 4]) })), /reaches element 4 of storage 0, which has 4/);
  expectRefusal(write(torchZip(stateDictPickle([{ ...good()[0]!, size: [2], stride: [1, 1] }]), { '0': f32([1, 2]) })), /size \(1 dims\) and stride \(2 dims\) disagree/);
  expectRefusal(write(torchZip(new PickleWriter().int(5).stop(), {})), /checkpoint holds a number, expected a state dict/);
  expectRefusal(write(torchZip(new PickleWriter().op(0x7d).str('k').int(1).op(0x73).stop(), {})), /state dict entry "k" is a number, not a tensor/);
  const pkl = stateDictPickle(good());
  expectRefusal(write(torchZip(pkl.subarray(0, pkl.length - 1), { '0': f32([1, 2]) })), /pickle archive\/data\.pkl: truncated: no STOP opcode/);
  expectRefusal(write(torchZip(Uint8Array.from([0x80, 2, 0x74, 0x2e]), {})), /no MARK to pop to/);
  expectRefusal(write(torchZip(Uint8Array.from([0x80, 2, 0x68, 9, 0x2e]), {})), /memo key 9 was never stored/);
  expectRefusal(write(torchZip(Uint8Array.from([0x80, 2, 0xff, 0x2e]), {})), /unsupported or unknown opcode \(opcode 0xff at byte 2\)/);
  const hugeLong = Buffer.alloc(8 + 1_000_000);
  hugeLong.set([0x80, 2, 0x8b]);
  hugeLong.writeInt32LE(1_000_000, 3);
  hugeLong[hugeLong.length - 1] = 0x2e;
  expectRefusal(write(torchZip(hugeLong, {})), /integer of 1000000 bytes is too large/);
  expectRefusal(write(Buffer.from('not a checkpoint at all, just text')), /not a PyTorch checkpoint/);
  expectRefusal(write(Buffer.alloc(2)), /too short to be a PyTorch checkpoint/);
});

test('truncated and corrupted copies of the fixture never crash', () => {
  const bytes = readFileSync(join(GPT2, 'model-bin', 'pytorch_model.bin'));
  // Truncations anywhere: every one must be rejected (the zip directory is at the end).
  for (const cut of [4, 100, 5000, bytes.length >> 1, bytes.length - 200, bytes.length - 22, bytes.length - 1]) {
    const file = write(bytes.subarray(0, cut));
    assert.throws(() => loadPytorchBinSync(file), (e: unknown) => e instanceof CheckpointError && e.message.startsWith(file), `cut at ${cut}`);
  }
  // Seeded byte flips inside data.pkl (the first entry): load or a CheckpointError, nothing else.
  let seed = 99;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const pklStart = 30 + 'pytorch_model/data.pkl'.length;
  let rejected = 0;
  for (let i = 0; i < 150; i++) {
    const copy = Buffer.from(bytes);
    for (let k = 0; k < 3; k++) copy[pklStart + 64 + (next() % 9900)] = next() % 256;
    const file = write(copy);
    try {
      loadPytorchBinSync(file);
    } catch (err) {
      assert.ok(err instanceof CheckpointError, `flip ${i}: ${String(err)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 50, `only ${rejected} of 150 corruptions were noticed`);
});
