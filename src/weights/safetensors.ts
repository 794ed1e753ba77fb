// The safetensors format (https://github.com/huggingface/safetensors), read and written with the
// same rules as its Rust reference implementation, which Python's `safetensors` wraps:
//
//   [8 bytes: header length N, u64 little-endian][N bytes: JSON header][data section]
//
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into the
// data section) plus an optional "__metadata__" string→string map. The tensors must tile the data
// section exactly: sorted by offset, each begins where the previous one ends, and the last one
// ends at the end of the file. The writer orders tensors by descending dtype alignment then by
// name, and pads the header with spaces to a multiple of 8 so every tensor is 8-byte aligned.
//
// Files can be several GB, so the reader never loads the whole file: it reads the header, checks
// it completely against the file size, then reads each tensor's bytes straight into that tensor's
// own typed array (fresh, hence aligned) through a file descriptor.

import * as fs from 'node:fs';
import { Tensor, type DataType, type TensorData, numel } from '../runtime/tensor.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './half.js';
import { CheckpointError, atomicWrite, atomicWriteSync, readExact, readExactSync, writeAll, writeAllSync } from './io.js';

/** The dtypes this library reads and writes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_SIZE: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

// Valid in the format but with no Tensor type here (unsigned wider than a byte, 8/6/4-bit floats,
// complex): recognised so the error can say "not supported" rather than "unknown".
const KNOWN_UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

// The Rust writer sorts by its Dtype enum, declared in increasing alignment order; only the
// relative order of the dtypes we write matters.
const DTYPE_RANK: Record<SafetensorsDtype, number> = { BOOL: 0, U8: 1, I8: 2, I16: 3, F16: 4, BF16: 5, I32: 6, F32: 7, F64: 8, I64: 9 };

const DTYPE_OF_TYPE: Record<DataType, SafetensorsDtype> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** The Rust reader's limit; checked before the header is allocated. */
export const MAX_HEADER_SIZE = 100_000_000;

export interface SafetensorsLoadOptions {
  /** Narrow F64 tensors to float32 (what a float32 model wants). Default: keep them float64. */
  float64ToFloat32?: boolean;
  /** Return F16 tensors as 'float16' Tensors holding the raw half bits. Default: widen to float32. */
  keepFloat16?: boolean;
  /**
   * float32 tensors are read from the file when first used, and may be dropped again
   * (Tensor.release): a model whose sessions hold its weights keeps no second copy in JavaScript.
   * A read checks that the file is still the one opened (device, inode, size, times) and throws
   * if it changed. Other dtypes, which are converted, are read at once.
   */
  lazy?: boolean;
}

/** One tensor as the header describes it; offsets are relative to the start of the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in file (offset) order. */
  entries: SafetensorsEntry[];
  /** `__metadata__`, or an empty object when the file has none. */
  metadata: Record<string, string>;
  /** Whether the file had a `__metadata__` entry at all. */
  hasMetadata: boolean;
  /** Absolute file offset of the data section (8 + header length). */
  dataStart: number;
}

export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a header (its raw bytes) against the size of the file it came from. Every problem is
 * a CheckpointError naming `file`; on success the entries tile the data section exactly, so the
 * reader's allocations are bounded by the file size.
 */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileSize - dataStart;
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where it then fails the '{' check as in Rust.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new CheckpointError(file, 'safetensors header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new CheckpointError(file, `safetensors header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 16))}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(file, `safetensors header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) throw new CheckpointError(file, `safetensors header must be a JSON object, got ${describe(json)}`);

  let metadata: Record<string, string> = {};
  let hasMetadata = false;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      // serde reads it as Option<HashMap<String, String>>: null means absent.
      if (info === null) continue;
      if (!isPlainObject(info)) throw new CheckpointError(file, `safetensors __metadata__ must be an object mapping strings to strings, got ${describe(info)}`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new CheckpointError(file, `safetensors __metadata__ must map strings to strings, but key ${JSON.stringify(k)} holds ${describe(v)}`);
      }
      metadata = { ...(info as Record<string, string>) };
      hasMetadata = true;
      continue;
    }
    entries.push(parseEntry(file, name, info, dataLength));
  }

  // The tensors must tile [0, dataLength) in offset order, as Rust's Metadata::validate demands.
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of entries) {
    const [begin, stop] = e.dataOffsets;
    if (begin < end) {
      throw new CheckpointError(file, `safetensors tensor ${JSON.stringify(e.name)} (data_offsets [${begin}, ${stop}]) overlaps tensor ${JSON.stringify(previous!.name)} (data_offsets [${previous!.dataOffsets.join(', ')}])`);
    }
    if (begin > end) {
      throw new CheckpointError(file, `safetensors data section has a gap: bytes [${end}, ${begin}) before tensor ${JSON.stringify(e.name)} belong to no tensor (tensors must be contiguous)`);
    }
    end = stop;
    previous = e;
  }
  if (end !== dataLength) {
    throw new CheckpointError(file, `safetensors data section is ${dataLength} bytes but its tensors cover ${end} (the file has trailing bytes or the header lies)`);
  }
  return { entries, metadata, hasMetadata, dataStart };
}

function parseEntry(file: string, name: string, info: unknown, dataLength: number): SafetensorsEntry {
  const where = `safetensors tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(info)) throw new CheckpointError(file, `${where} must be an object {dtype, shape, data_offsets}, got ${describe(info)}`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in info)) throw new CheckpointError(file, `${where} has no "${key}" (expected {dtype, shape, data_offsets})`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') throw new CheckpointError(file, `${where}: dtype must be a string, got ${describe(dtype)}`);
  if (!(dtype in DTYPE_SIZE)) {
    const supported = Object.keys(DTYPE_SIZE).join(', ');
    if (KNOWN_UNSUPPORTED.has(dtype)) throw new CheckpointError(file, `${where}: dtype ${dtype} is not supported (supported: ${supported})`);
    throw new CheckpointError(file, `${where}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${supported})`);
  }
  const size = DTYPE_SIZE[dtype as SafetensorsDtype];
  if (!Array.isArray(shape)) throw new CheckpointError(file, `${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new CheckpointError(file, `${where}: shape must be an array of non-negative integers, got [${shape.map((x) => JSON.stringify(x)).join(', ')}]`);
    }
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    throw new CheckpointError(file, `${where}: data_offsets must be [begin, end], two non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new CheckpointError(file, `${where}: data_offsets [${begin}, ${end}] has begin > end`);
  if (end > dataLength) {
    throw new CheckpointError(file, `${where}: data_offsets [${begin}, ${end}] end beyond the data section (${dataLength} bytes)`);
  }
  // BigInt: a shape like [2**40, 2**40] must be caught, not rounded.
  const nbytes = (shape as number[]).reduce((acc: bigint, d) => acc * BigInt(d), 1n) * BigInt(size);
  if (nbytes !== BigInt(end - begin)) {
    throw new CheckpointError(file, `${where}: byte length ${end - begin} (data_offsets [${begin}, ${end}]) does not match shape [${shape.join(', ')}] × ${size} bytes (${dtype}) = ${nbytes}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/** Reads the 8-byte length; checks it against the limit and the file size before anything is allocated. */
function headerLength(file: string, prefix: Uint8Array, fileSize: number): number {
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) {
    throw new CheckpointError(file, `safetensors header length ${n} is larger than the ${MAX_HEADER_SIZE}-byte limit (not a safetensors file, or corrupted)`);
  }
  if (n + 8n > BigInt(fileSize)) {
    throw new CheckpointError(file, `safetensors header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  }
  return Number(n);
}

function checkMinimumSize(file: string, fileSize: number): void {
  if (fileSize < 8) {
    throw new CheckpointError(file, `file is ${fileSize} bytes, shorter than the 8-byte safetensors header length: truncated or not a safetensors file`);
  }
}

/** A tensor's destination array, and how to turn what was read into the Tensor returned. */
function allocate(file: string, e: SafetensorsEntry): { bytes: Uint8Array; finish: (o: SafetensorsLoadOptions) => Tensor } {
  const n = numel(e.shape);
  let raw: TensorData;
  try {
    switch (e.dtype) {
      case 'F64': raw = new Float64Array(n); break;
      case 'F32': raw = new Float32Array(n); break;
      case 'F16': case 'BF16': raw = new Uint16Array(n); break;
      case 'I64': raw = new BigInt64Array(n); break;
      case 'I32': raw = new Int32Array(n); break;
      case 'I16': raw = new Int16Array(n); break;
      case 'I8': raw = new Int8Array(n); break;
      case 'U8': case 'BOOL': raw = new Uint8Array(n); break;
    }
  } catch (err) {
    throw new CheckpointError(file, `cannot allocate tensor ${JSON.stringify(e.name)} (${e.dtype} [${e.shape.join(', ')}]): ${(err as Error).message}`);
  }
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const finish = (o: SafetensorsLoadOptions): Tensor => {
    switch (e.dtype) {
      case 'F64': return o.float64ToFloat32 ? new Tensor('float32', Float32Array.from(raw as Float64Array), e.shape) : new Tensor('float64', raw, e.shape);
      case 'F32': return new Tensor('float32', raw, e.shape);
      case 'F16': return o.keepFloat16 ? new Tensor('float16', raw, e.shape) : new Tensor('float32', float16BitsToFloat32(raw as Uint16Array), e.shape);
      case 'BF16': return new Tensor('float32', bfloat16BitsToFloat32(raw as Uint16Array), e.shape);
      case 'I64': return new Tensor('int64', raw, e.shape);
      case 'I32': return new Tensor('int32', raw, e.shape);
      case 'I16': return new Tensor('int16', raw, e.shape);
      case 'I8': return new Tensor('int8', raw, e.shape);
      case 'U8': return new Tensor('uint8', raw, e.shape);
      case 'BOOL': return new Tensor('bool', raw, e.shape);
    }
  };
  return { bytes, finish };
}

/** Reads and validates only the header (names, dtypes, shapes, metadata) of a safetensors file. */
export function readSafetensorsHeaderSync(path: string): SafetensorsHeader {
  const fd = fs.openSync(path, 'r');
  try {
    return readHeaderFromFd(path, fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readHeaderFromFd(path: string, fd: number): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  checkMinimumSize(path, fileSize);
  const prefix = new Uint8Array(8);
  readExactSync(fd, prefix, 0, path, 'the safetensors header length');
  const n = headerLength(path, prefix, fileSize);
  const headerBytes = new Uint8Array(n);
  readExactSync(fd, headerBytes, 8, path, 'the safetensors header');
  return parseSafetensorsHeader(path, headerBytes, fileSize);
}

/** What identifies a file's content without reading it: device, inode, size, modification and change times. */
function fileIdentity(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** A float32 tensor read from `path` on use, refusing a file that changed since `identity` was taken. */
function lazyTensor(path: string, identity: string, dataStart: number, e: SafetensorsEntry): Tensor {
  const load = () => {
    const fd = fs.openSync(path, 'r');
    try {
      const now = fileIdentity(fs.fstatSync(fd, { bigint: true }));
      if (now !== identity) throw new CheckpointError(path, `the file changed on disk since the model was loaded, so tensor ${JSON.stringify(e.name)} cannot be read again; load the model again`);
      const { bytes, finish } = allocate(path, e);
      readExactSync(fd, bytes, dataStart + e.dataOffsets[0], path, `tensor ${JSON.stringify(e.name)}`);
      return finish({}).data;
    } finally {
      fs.closeSync(fd);
    }
  };
  return Tensor.lazy('float32', e.shape, load, `safetensors:${path}:${identity}:${dataStart + e.dataOffsets[0]}`);
}

/** Loads every tensor of a safetensors file (synchronously). */
export function loadSafetensorsSync(path: string, options: SafetensorsLoadOptions = {}): LoadedSafetensors {
  const fd = fs.openSync(path, 'r');
  try {
    const header = readHeaderFromFd(path, fd);
    const tensors = new Map<string, Tensor>();
    for (const e of header.entries) {
      const { bytes, finish } = allocate(path, e);
      readExactSync(fd, bytes, header.dataStart + e.dataOffsets[0], path, `tensor ${JSON.stringify(e.name)}`);
      tensors.set(e.name, finish(options));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and validates only the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await fs.promises.open(path, 'r');
  try {
    return await readHeaderFromHandle(path, fh);
  } finally {
    await fh.close();
  }
}

async function readHeaderFromHandle(path: string, fh: fs.promises.FileHandle): Promise<SafetensorsHeader> {
  const fileSize = (await fh.stat()).size;
  checkMinimumSize(path, fileSize);
  const prefix = new Uint8Array(8);
  await readExact(fh, prefix, 0, path, 'the safetensors header length');
  const n = headerLength(path, prefix, fileSize);
  const headerBytes = new Uint8Array(n);
  await readExact(fh, headerBytes, 8, path, 'the safetensors header');
  return parseSafetensorsHeader(path, headerBytes, fileSize);
}

/**
 * Loads every tensor of a safetensors file. F16/BF16 are widened to float32, F64 stays float64
 * (unless `float64ToFloat32`), BOOL gives 'bool' Tensors; the Map is in file order.
 */
export async function loadSafetensors(path: string, options: SafetensorsLoadOptions = {}): Promise<LoadedSafetensors> {
  const fh = await fs.promises.open(path, 'r');
  try {
    const header = await readHeaderFromHandle(path, fh);
    const tensors = new Map<string, Tensor>();
    const identity = options.lazy ? fileIdentity(await fh.stat({ bigint: true })) : '';
    for (const e of header.entries) {
      if (options.lazy && e.dtype === 'F32') {
        tensors.set(e.name, lazyTensor(path, identity, header.dataStart, e));
        continue;
      }
      const { bytes, finish } = allocate(path, e);
      await readExact(fh, bytes, header.dataStart + e.dataOffsets[0], path, `tensor ${JSON.stringify(e.name)}`);
      tensors.set(e.name, finish(options));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** The header of a safetensors file held in memory (fetched in a browser); throws as the file readers do. */
export function safetensorsHeaderOfBytes(name: string, bytes: Uint8Array): SafetensorsHeader {
  checkMinimumSize(name, bytes.length);
  const n = headerLength(name, bytes.subarray(0, 8), bytes.length);
  return parseSafetensorsHeader(name, bytes.subarray(8, 8 + n), bytes.length);
}

/** Every tensor of a safetensors file held in memory, as loadSafetensors gives them. */
export function loadSafetensorsFromBytes(name: string, bytes: Uint8Array, options: SafetensorsLoadOptions = {}): LoadedSafetensors {
  const header = safetensorsHeaderOfBytes(name, bytes);
  const tensors = new Map<string, Tensor>();
  for (const e of header.entries) {
    const { bytes: target, finish } = allocate(name, e);
    target.set(bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]));
    tensors.set(e.name, finish(options));
  }
  return { tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** What transformers' save_pretrained passes to safetensors. */
export const DEFAULT_METADATA: Readonly<Record<string, string>> = Object.freeze({ format: 'pt' });

interface Prepared {
  header: Uint8Array; // the 8-byte length followed by the padded JSON header
  order: Array<{ name: string; tensor: Tensor }>;
}

const utf8 = new TextEncoder();

function prepare(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> | null): Prepared {
  const items = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const order: Array<{ name: string; tensor: Tensor; dtype: SafetensorsDtype; key: Uint8Array }> = [];
  for (const [name, tensor] of items) {
    if (typeof name !== 'string') throw new CheckpointError(path, `tensor names must be strings, got ${describe(name)}`);
    if (name === '__metadata__') throw new CheckpointError(path, `a tensor cannot be named "__metadata__" (reserved by the safetensors header)`);
    if (!(tensor instanceof Tensor)) throw new CheckpointError(path, `tensor ${JSON.stringify(name)} is not a Tensor (got ${describe(tensor)})`);
    const dtype = DTYPE_OF_TYPE[tensor.type];
    if (!dtype) throw new CheckpointError(path, `tensor ${JSON.stringify(name)} has type ${JSON.stringify(tensor.type)}, which safetensors cannot store`);
    const n = numel(tensor.dims);
    if (!tensor.dims.every((d) => Number.isSafeInteger(d) && d >= 0) || tensor.data.length !== n || tensor.data.BYTES_PER_ELEMENT !== DTYPE_SIZE[dtype]) {
      throw new CheckpointError(path, `tensor ${JSON.stringify(name)} (${tensor.type}) has ${tensor.data.length} ${tensor.data.constructor.name} elements for dims [${tensor.dims.join(', ')}]`);
    }
    order.push({ name, tensor, dtype, key: utf8.encode(name) });
  }
  // Descending dtype alignment, then name by UTF-8 bytes (Rust's String order).
  order.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || Buffer.compare(a.key, b.key));

  if (metadata !== null) {
    if (!isPlainObject(metadata)) throw new CheckpointError(path, `metadata must be an object mapping strings to strings, got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(path, `metadata must map strings to strings, but key ${JSON.stringify(k)} holds ${describe(v)}`);
    }
  }
  // Built by hand, not with JSON.stringify of an object: JS objects list integer-like keys first,
  // which would break the order. JSON.stringify of a string escapes exactly as serde_json does.
  const parts: string[] = [];
  if (metadata !== null) {
    parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, tensor, dtype } of order) {
    const end = offset + tensor.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${tensor.dims.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8; // spaces so the data section starts 8-byte aligned
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, order };
}

function tensorBytes(path: string, name: string, t: Tensor): Uint8Array {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.type === 'bool') {
    // torch reads any other byte as an undefined bool; refuse to write one.
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) throw new CheckpointError(path, `bool tensor ${JSON.stringify(name)} holds ${bytes[bad]} at element ${bad}; bool data must be 0 or 1`);
  }
  return bytes;
}

/**
 * Writes tensors as a safetensors file exactly as Python's safetensors does (same header bytes,
 * same order). `metadata` defaults to {"format":"pt"} as transformers writes; null writes none.
 * The file appears at `path` only once complete (written to a temporary name, then renamed).
 */
export function saveSafetensorsSync(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> | null = { ...DEFAULT_METADATA },
): void {
  const { header, order } = prepare(path, tensors, metadata);
  atomicWriteSync(path, (fd) => {
    writeAllSync(fd, header);
    for (const { name, tensor } of order) writeAllSync(fd, tensorBytes(path, name, tensor));
  });
}

/** The asynchronous twin of saveSafetensorsSync. */
export async function saveSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> | null = { ...DEFAULT_METADATA },
): Promise<void> {
  const { header, order } = prepare(path, tensors, metadata);
  await atomicWrite(path, async (fh) => {
    await writeAll(fh, header);
    for (const { name, tensor } of order) await writeAll(fh, tensorBytes(path, name, tensor));
  });
}

/** Size in bytes a tensor takes in a safetensors file (used to shard checkpoints). */
export function safetensorsByteSize(t: Tensor): number {
  return t.data.byteLength;
}
