// safetensors reading and writing: Python-written fixtures, every dtype, header validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Tensor } from '../src/index.js';
import {
  CheckpointError,
  loadSafetensors,
  loadSafetensorsSync,
  readSafetensorsHeaderSync,
  saveSafetensors,
  saveSafetensorsSync,
} from '../src/weights/index.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/weights/half.js';
import { FIXTURES, rng } from './helpers.js';

const MODELS = join(FIXTURES, 'hf', 'models');
const tmp = mkdtempSync(join(tmpdir(), 'weights-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findFiles(p, name));
    else if (entry === name) out.push(p);
  }
  return out.sort();
}

/** A safetensors file from a header (object or raw JSON text) and a data section, built by hand. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  let json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  if (pad && json.length % 8 !== 0) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(values: number[], Arr: { new (a: number[]): { buffer: ArrayBufferLike } }): Uint8Array {
  return new Uint8Array(new Arr(values).buffer);
}

function assertSameTensors(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    assert.equal(u.type, t.type, name);
    assert.deepEqual(u.dims, t.dims, name);
    assert.deepEqual(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
  }
}

test('every model.safetensors fixture loads, and writing it back gives the same bytes as Python', async () => {
  const files = findFiles(MODELS, 'model.safetensors');
  assert.ok(files.length >= 10, `expected the fixtures' checkpoints, found ${files.length}`);
  assert.ok(files.some((f) => f.includes(join('compose-vit48-bert', 'encoder'))));
  for (const file of files) {
    const { tensors, metadata } = await loadSafetensors(file);
    assert.deepEqual(metadata, { format: 'pt' }, file);
    assert.ok(tensors.size > 10, file);
    for (const [name, t] of tensors) {
      assert.ok(t instanceof Tensor);
      assert.ok(name.length > 0 && t.data.length === t.dims.reduce((a, b) => a * b, 1), `${file}: ${name}`);
    }
    const out = join(tmp, relative(MODELS, file).replaceAll('/', '_'));
    await saveSafetensors(out, tensors);
    assert.deepEqual(readFileSync(out), readFileSync(file), `${file}: rewritten bytes differ from Python's`);
    const again = loadSafetensorsSync(out);
    assertSameTensors(again.tensors, tensors);
    assert.deepEqual(again.metadata, metadata);
  }
});

test('fixture values: vit-gpt2 header order and a known weight', () => {
  const file = join(MODELS, 'vit-gpt2', 'model', 'model.safetensors');
  const header = readSafetensorsHeaderSync(file);
  const names = header.entries.map((e) => e.name);
  assert.deepEqual(names, [...names].sort(), 'an all-F32 file is in name order');
  assert.equal(header.dataStart % 8, 0);
  const { tensors } = loadSafetensorsSync(file);
  const bias = tensors.get('decoder.transformer.h.0.attn.c_attn.bias')!;
  assert.deepEqual(bias.dims, [96]);
  // Cross-check against the raw little-endian bytes of the file, decoded independently.
  const raw = readFileSync(file);
  const e = header.entries.find((x) => x.name === 'decoder.transformer.h.0.attn.c_attn.bias')!;
  for (let i = 0; i < 96; i++) assert.equal(bias.data[i], raw.readFloatLE(header.dataStart + e.dataOffsets[0] + 4 * i));
});

test('every dtype reads as documented and round-trips', () => {
  const header: Record<string, unknown> = { __metadata__: { note: 'dtypes' } };
  const parts: Uint8Array[] = [];
  let offset = 0;
  const add = (name: string, dtype: string, shape: number[], bytes: Uint8Array) => {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  };
  add('f64', 'F64', [3], bytesOf([1.5, -2.25, 1e300], Float64Array));
  add('f32', 'F32', [2, 2], bytesOf([1, -2, 3.5, 1e-40], Float32Array));
  // F16: 1, -2, max 65504, smallest subnormal, smallest normal, +Inf, -Inf, NaN, -0, 1/3 rounded.
  add('f16', 'F16', [10], bytesOf([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555], Uint16Array));
  // BF16: 1, -3, +Inf, smallest subnormal (2^-133), 3.140625.
  add('bf16', 'BF16', [5], bytesOf([0x3f80, 0xc040, 0x7f80, 0x0001, 0x4049], Uint16Array));
  add('i64', 'I64', [2], new Uint8Array(new BigInt64Array([-(2n ** 62n), 7n]).buffer));
  add('i32', 'I32', [2], bytesOf([-5, 2147483647], Int32Array));
  add('i16', 'I16', [2], bytesOf([-32768, 12], Int16Array));
  add('i8', 'I8', [3], bytesOf([-128, 0, 127], Int8Array));
  add('u8', 'U8', [2], bytesOf([0, 255], Uint8Array));
  add('b', 'BOOL', [3], bytesOf([1, 0, 1], Uint8Array));
  add('scalar', 'F32', [], bytesOf([42], Float32Array));
  add('empty', 'F32', [0, 4], new Uint8Array(0));
  const file = join(tmp, 'dtypes.safetensors');
  writeFileSync(file, buildFile(header, Buffer.concat(parts)));

  const { tensors, metadata } = loadSafetensorsSync(file);
  assert.deepEqual(metadata, { note: 'dtypes' });
  const get = (n: string) => tensors.get(n)!;
  assert.equal(get('f64').type, 'float64');
  assert.deepEqual([...get('f64').data], [1.5, -2.25, 1e300]);
  assert.equal(get('f32').type, 'float32');
  assert.deepEqual(get('f32').tolist(), [[1, -2], [3.5, Math.fround(1e-40)]]);
  const f16 = get('f16');
  assert.equal(f16.type, 'float32');
  const f16Values = [...f16.data] as number[];
  assert.deepEqual(f16Values.slice(0, 7), [1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity]);
  assert.ok(Number.isNaN(f16Values[7]));
  assert.ok(Object.is(f16Values[8], -0));
  assert.equal(f16Values[9], 0.333251953125);
  const bf16 = get('bf16');
  assert.equal(bf16.type, 'float32');
  assert.deepEqual([...bf16.data], [1, -3, Infinity, 2 ** -133, 3.140625]);
  assert.equal(get('i64').type, 'int64');
  assert.deepEqual([...get('i64').data], [-(2n ** 62n), 7n]);
  assert.deepEqual([get('i32').type, ...get('i32').data], ['int32', -5, 2147483647]);
  assert.deepEqual([get('i16').type, ...get('i16').data], ['int16', -32768, 12]);
  assert.deepEqual([get('i8').type, ...get('i8').data], ['int8', -128, 0, 127]);
  assert.deepEqual([get('u8').type, ...get('u8').data], ['uint8', 0, 255]);
  assert.equal(get('b').type, 'bool');
  assert.deepEqual(get('b').tolist(), [true, false, true]);
  assert.deepEqual(get('scalar').dims, []);
  assert.equal(get('scalar').tolist(), 42);
  assert.deepEqual(get('empty').dims, [0, 4]);

  // Options: narrow F64, keep F16 bits.
  const opt = loadSafetensorsSync(file, { float64ToFloat32: true, keepFloat16: true }).tensors;
  assert.equal(opt.get('f64')!.type, 'float32');
  assert.deepEqual([...opt.get('f64')!.data], [1.5, -2.25, Infinity]);
  assert.equal(opt.get('f16')!.type, 'float16');
  assert.deepEqual([...opt.get('f16')!.data].slice(0, 3), [0x3c00, 0xc000, 0x7bff]);

  // Round trip: F16 kept as raw bits writes back as F16; everything else keeps its dtype.
  const out = join(tmp, 'dtypes-out.safetensors');
  saveSafetensorsSync(out, opt, metadata);
  const back = loadSafetensorsSync(out, { keepFloat16: true });
  assertSameTensors(back.tensors, opt);
  assert.deepEqual(back.metadata, { note: 'dtypes' });
  const order = readSafetensorsHeaderSync(out).entries.map((e) => e.name);
  // Python's writer: descending dtype alignment (I64, F32, F16, I32...), then name.
  assert.deepEqual(order, ['i64', 'bf16', 'empty', 'f32', 'f64', 'scalar', 'i32', 'f16', 'i16', 'i8', 'u8', 'b']);
});

test('writer output matches the Rust reference bytes', () => {
  // From safetensors' own test_serialization / test_empty (tensor.rs).
  const out = join(tmp, 'ref.safetensors');
  saveSafetensorsSync(out, new Map([['attn.0', new Tensor('float32', new Float32Array([0, 1, 2, 3, 4, 5]), [1, 2, 3])]]), null);
  const expected = buildFile('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', bytesOf([0, 1, 2, 3, 4, 5], Float32Array));
  assert.deepEqual(readFileSync(out), Buffer.from(expected));
  saveSafetensorsSync(out, new Map(), null);
  assert.deepEqual([...readFileSync(out)], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  saveSafetensorsSync(out, new Map(), { framework: 'pt' });
  assert.equal(readFileSync(out).subarray(8).toString(), '{"__metadata__":{"framework":"pt"}}     ');
  // Integer-like names and non-ASCII names keep Rust's byte order, not JS object-key order.
  saveSafetensorsSync(out, { b: Tensor.zeros('float32', [1]), '10': Tensor.zeros('float32', [1]), '9': Tensor.zeros('float32', [1]), 'é': Tensor.zeros('float32', [1]) }, null);
  assert.deepEqual(readSafetensorsHeaderSync(out).entries.map((e) => e.name), ['10', '9', 'b', 'é']);
});

test('F16 narrowing rounds to nearest-even and inverts widening exactly', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const wide = float16BitsToFloat32(all);
  for (let h = 0; h < 65536; h++) {
    const back = float32ToFloat16Bits(wide[h]!);
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    assert.equal(back, isNaN ? (h & 0x8000) | 0x7e00 : h, `half 0x${h.toString(16)}`);
  }

  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(float32ToFloat16Bits(65519), 0x7bff);
  assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds to Inf
  assert.equal(float32ToFloat16Bits(2 ** -25), 0); // half of the smallest subnormal: tie → 0
  assert.equal(float32ToFloat16Bits(1.5 * 2 ** -25), 1);
});

// ---------------------------------------------------------------------------------------------
// Validation: each bad file is a CheckpointError naming the file and the problem.

function expectError(file: string, pattern: RegExp): void {
  assert.throws(() => loadSafetensorsSync(file), (err: unknown) => {
    assert.ok(err instanceof CheckpointError, `not a CheckpointError: ${String(err)}`);
    assert.ok(err.message.startsWith(file), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

const F32x2 = bytesOf([1, 2], Float32Array);
const ok = (extra: Record<string, unknown> = {}) => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...extra });

test('targeted bad headers each raise a clear error', async () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /0 bytes, shorter than the 8-byte/],
    ['7 bytes', new Uint8Array(7), /7 bytes, shorter than the 8-byte/],
    ['header too large', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(200_000_000n); return b; })(), /header length 200000000 is larger than the 100000000-byte limit/],
    ['header length 2^64-1', Buffer.alloc(8, 0xff), /header length 18446744073709551615 is larger/],
    ['header past end', (() => { const b = Buffer.alloc(20); b.writeBigUInt64LE(100n); return b; })(), /header length 100 runs past the end of the file \(20 bytes\)/],
    ['invalid utf-8', (() => { const b = Buffer.from(buildFile('{"ab":1}')); b[10] = 0xff; return b; })(), /not valid UTF-8/],
    ['not json', buildFile('{"a": oops}'), /not valid JSON/],
    ['array', buildFile('[1,2]'), /must be a JSON object starting with '\{'/],
    ['leading space', buildFile(' {}'), /starting with '\{'/],
    ['entry not object', buildFile({ a: 5 }), /tensor "a" must be an object/],
    ['missing dtype', buildFile({ a: { shape: [2], data_offsets: [0, 8] } }, F32x2), /tensor "a" has no "dtype"/],
    ['missing shape', buildFile({ a: { dtype: 'F32', data_offsets: [0, 8] } }, F32x2), /tensor "a" has no "shape"/],
    ['missing offsets', buildFile({ a: { dtype: 'F32', shape: [2] } }, F32x2), /tensor "a" has no "data_offsets"/],
    ['dtype number', buildFile({ a: { dtype: 4, shape: [2], data_offsets: [0, 8] } }, F32x2), /dtype must be a string/],
    ['unknown dtype', buildFile({ a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, F32x2), /unknown dtype "F33"/],
    ['unsupported dtype', buildFile({ a: { dtype: 'U32', shape: [2], data_offsets: [0, 8] } }, F32x2), /dtype U32 is not supported/],
    ['negative dim', buildFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, F32x2), /shape must be an array of non-negative integers/],
    ['fractional dim', buildFile({ a: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, F32x2), /non-negative integers/],
    ['string dim', buildFile({ a: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, F32x2), /non-negative integers/],
    ['shape not array', buildFile({ a: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, F32x2), /shape must be an array/],
    ['offsets length 3', buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8, 9] } }, F32x2), /data_offsets must be \[begin, end\]/],
    ['offsets negative', buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, F32x2), /data_offsets must be \[begin, end\]/],
    ['offsets begin > end', buildFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, F32x2), /begin > end/],
    ['end beyond data', buildFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, F32x2), /end beyond the data section \(8 bytes\)/],
    ['huge shape', buildFile({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, F32x2), /does not match shape \[1099511627776, 1099511627776\]/],
    ['byte length mismatch', buildFile({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, F32x2), /byte length 8 .* does not match shape \[2\] × 8 bytes \(F64\) = 16/],
    ['overlap', buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, F32x2), /tensor "b" .* overlaps tensor "a"/],
    ['gap', buildFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, F32x2), /gap: bytes \[0, 4\) before tensor "a"/],
    ['trailing bytes', buildFile(ok(), Buffer.concat([F32x2, Buffer.alloc(3)])), /data section is 11 bytes but its tensors cover 8/],
    ['metadata not object', buildFile(ok({ __metadata__: ['x'] }), F32x2), /__metadata__ must be an object/],
    ['metadata number value', buildFile(ok({ __metadata__: { format: 1 } }), F32x2), /__metadata__ must map strings to strings, but key "format" holds a number/],
  ];
  for (const [label, bytes, pattern] of cases) {
    const file = join(tmp, `bad-${label.replaceAll(' ', '-')}.safetensors`);
    writeFileSync(file, bytes);
    expectError(file, pattern);
    // The async reader validates the same way.
    await assert.rejects(loadSafetensors(file), (err: unknown) => err instanceof CheckpointError && pattern.test(err.message), label);
  }
  // Sanity: the good base file and a null __metadata__ load.
  const good = join(tmp, 'good.safetensors');
  writeFileSync(good, buildFile(ok({ __metadata__: null }), F32x2));
  assert.deepEqual([...loadSafetensorsSync(good).tensors.get('a')!.data], [1, 2]);
});


test('hundreds of seeded truncations, length changes and garbled headers never crash or hang', () => {
  const base = Buffer.from(buildFile(
    {
      __metadata__: { format: 'pt' },
      'w.0': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      'w.1': { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
      'w.2': { dtype: 'F16', shape: [4], data_offsets: [40, 48] },
      'w.3': { dtype: 'BOOL', shape: [3], data_offsets: [48, 51] },
    },
    new Uint8Array(51).map((_, i) => (i === 48 || i === 50 ? 1 : i === 49 ? 0 : i)),
  ));
  loadSafetensorsSync(writeTmp('base', base)); // the base itself is valid
  const headerEnd = 8 + Number(base.readBigUInt64LE(0));
  const random = rng(1234);
  const pick = (n: number) => Math.floor(random() * n);
  let errors = 0;
  let loaded = 0;
  const started = Date.now();
  for (let i = 0; i < 400; i++) {
    let bytes: Buffer;
    let mustFail: boolean;
    const kind = i % 4;
    if (kind === 0) {
      bytes = base.subarray(0, pick(base.length)); // any truncation is invalid
      mustFail = true;
    } else if (kind === 1) {
      bytes = Buffer.from(base);
      const choices = [pick(headerEnd + 64), 2 ** 32 + pick(100), Number.MAX_SAFE_INTEGER, headerEnd - 8 + 1 + pick(7)];
      const n = choices[pick(choices.length)]!;
      bytes.writeBigUInt64LE(BigInt(n === headerEnd - 8 ? n + 1 : n));
      mustFail = true; // any other length moves the data section, so sizes cannot match
    } else if (kind === 2) {
      bytes = Buffer.from(base);
      for (let k = 1 + pick(4); k > 0; k--) bytes[8 + pick(headerEnd - 8)] = pick(256);
      mustFail = false; // a flipped byte inside a name may leave a valid file
    } else {
      // Splice a random JSON token into a random place in the header text.
      const text = base.subarray(8, headerEnd).toString('latin1');
      const tokens = ['-1', '1e400', '"F32"', 'null', '[', ']', '{', '}', ',', ':', '"', '0.5', '[0,99999999999]', 'true', '\\u0000'];
      const at = pick(text.length);
      const garbled = text.slice(0, at) + tokens[pick(tokens.length)] + text.slice(at + pick(3));
      bytes = Buffer.from(buildFile(garbled, base.subarray(headerEnd), false));
      mustFail = false;
    }
    const file = writeTmp(`fuzz-${i}`, bytes);
    try {
      const { tensors } = loadSafetensorsSync(file);
      assert.ok(!mustFail, `mutation ${i} (kind ${kind}) loaded but must fail`);
      // Whatever loaded is consistent with its header.
      for (const t of tensors.values()) assert.equal(t.data.length, t.dims.reduce((a, b) => a * b, 1));
      loaded++;
    } catch (err) {
      assert.ok(err instanceof CheckpointError, `mutation ${i} (kind ${kind}) threw ${String(err)}`);
      assert.ok(err.message.startsWith(file) && err.message.length > file.length + 10, err.message);
      errors++;
    }
  }
  assert.ok(errors >= 300, `only ${errors} of 400 mutations were rejected (${loaded} loaded)`);
  assert.ok(Date.now() - started < 20_000, 'fuzzing took too long');
});

function writeTmp(name: string, bytes: Uint8Array): string {
  const file = join(tmp, `${name}.safetensors`);
  writeFileSync(file, bytes);
  return file;
}

test('writing is atomic: a failure leaves no file (and keeps an old one) and no temporary', async () => {
  const dir = mkdtempSync(join(tmp, 'atomic-'));
  const file = join(dir, 'model.safetensors');
  const good = new Map([['a', new Tensor('float32', new Float32Array([1, 2]), [2])]]);
  // Invalid bool data is found while streaming, after other tensors were written.
  const bad = new Map<string, Tensor>([
    ['big', Tensor.zeros('float32', [1000])],
    ['flag', new Tensor('bool', new Uint8Array([0, 2]), [2])],
  ]);
  assert.throws(() => saveSafetensorsSync(file, bad), /bool tensor "flag" holds 2 at element 1/);
  assert.equal(existsSync(file), false);
  await assert.rejects(saveSafetensors(file, bad), /bool tensor "flag"/);
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(dir), []);

  await saveSafetensors(file, good);
  const before = readFileSync(file);
  assert.throws(() => saveSafetensorsSync(file, bad), CheckpointError);
  await assert.rejects(saveSafetensors(file, bad), CheckpointError);
  assert.deepEqual(readFileSync(file), before, 'old file must be untouched');
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);

  // Structural problems are caught before anything is written.
  assert.throws(() => saveSafetensorsSync(file, { __metadata__: Tensor.zeros('float32', [1]) }), /cannot be named "__metadata__"/);
  assert.throws(() => saveSafetensorsSync(file, good, { format: 1 as unknown as string }), /key "format" holds a number/);
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
});
