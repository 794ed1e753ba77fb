// PyTorch checkpoints (`pytorch_model.bin`, torch.save) read without Python and without running
// anything from the file.
//
// torch.save (zip format, torch >= 1.6) writes a zip archive <root>/{data.pkl, data/<key>, version,
// byteorder?}. data.pkl pickles the state dict; each tensor is pickled as
//   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)
// where `storage` is a persistent id ('storage', torch.FloatStorage, '<key>', 'cpu', numel) naming
// the raw little-endian bytes in <root>/data/<key>. Several tensors may view one storage (tied
// weights: GPT-2's lm_head.weight and wte.weight), at an offset and with strides.
//
// The old format (torch < 1.6) is a stream of pickles: magic number, protocol, system info, the
// state dict (persistent ids carry the storage key), the list of storage keys, then each storage
// as an 8-byte element count and its bytes.
//
// Only the globals a state dict needs are resolved (see GLOBALS); any other is refused, so a
// malicious pickle cannot reach os.system, eval or anything else.

import * as fs from 'node:fs';
import { Tensor, type TensorData } from '../runtime/tensor.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './half.js';
import { CheckpointError, readExactSync } from './io.js';
import { PickleCallable, isTuple, typeName, unpickle } from './pickle.js';
import { ZipReader, isZipFileSync } from './zip.js';

export interface PytorchLoadOptions {
  /** Narrow float64 tensors to float32. Default: keep float64. */
  float64ToFloat32?: boolean;
  /** Return float16 tensors as 'float16' Tensors holding raw half bits. Default: widen to float32. */
  keepFloat16?: boolean;
}

type StorageDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** The value a `torch.XStorage` global resolves to: only a marker carrying the element type. */
class StorageType {
  constructor(
    readonly qualname: string,
    readonly dtype: StorageDtype,
  ) {}
}

/** A class that may appear as an argument (`_rebuild_from_type_v2`'s new_type), never called. */
class TypeMarker {
  constructor(readonly qualname: string) {}
}

interface StorageRef {
  key: string;
  dtype: StorageDtype;
  /** Elements, as recorded in the persistent id. */
  numel: number;
}

/** A tensor as the pickle describes it: a strided view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

const ELEMENT_SIZE: Record<StorageDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

const STORAGE_TYPES: Record<string, StorageDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** Builds the allow-list for one file (errors name it). */
function makeFindClass(file: string): (module: string, name: string) => unknown {
  const bad = (what: string): never => {
    throw new CheckpointError(file, what);
  };
  const nonNegativeInt = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`torch tensor ${what} must be a non-negative integer, got ${typeName(v)} ${String(v)}`);
    return v as number;
  };
  const intTuple = (v: unknown, what: string): number[] => {
    if (!isTuple(v) && !Array.isArray(v)) bad(`torch tensor ${what} must be a tuple of integers, got ${typeName(v)}`);
    return (v as unknown[]).map((x) => nonNegativeInt(x, `${what} entry`));
  };
  const rebuildTensor = (args: readonly unknown[]): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage && typeof storage === 'object' && 'key' in storage && 'dtype' in storage)) bad(`torch tensor storage must be a persistent storage reference, got ${typeName(storage)}`);
    const s = intTuple(size, 'size');
    const st = intTuple(stride, 'stride');
    if (s.length !== st.length) bad(`torch tensor size (${s.length} dims) and stride (${st.length} dims) disagree`);
    return new TensorRef(storage as StorageRef, nonNegativeInt(offset, 'storage offset'), s, st);
  };
  const asTensor = (v: unknown, what: string): TensorRef => {
    if (!(v instanceof TensorRef)) bad(`${what} expects a tensor, got ${typeName(v)}`);
    return v as TensorRef;
  };
  const callables: Record<string, PickleCallable> = {};
  const allow = (qualname: string, fn: (args: readonly unknown[]) => unknown) => {
    callables[qualname] = new PickleCallable(qualname, fn);
  };
  allow('collections.OrderedDict', (args) => {
    const out = new Map<unknown, unknown>();
    if (args.length > 0 && args[0] !== null) {
      const items = args[0];
      if (!Array.isArray(items)) bad(`collections.OrderedDict expects a list of pairs, got ${typeName(items)}`);
      for (const pair of items as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) bad('collections.OrderedDict expects (key, value) pairs');
        out.set((pair as unknown[])[0], (pair as unknown[])[1]);
      }
    }
    return out;
  });
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  allow('torch._utils._rebuild_tensor_v2', rebuildTensor);
  allow('torch._utils._rebuild_tensor', rebuildTensor);
  // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
  allow('torch._utils._rebuild_parameter', (args) => asTensor(args[0], 'torch._utils._rebuild_parameter'));
  allow('torch._utils._rebuild_parameter_with_state', (args) => asTensor(args[0], 'torch._utils._rebuild_parameter_with_state'));
  // (func, new_type, args, state): torch >= 1.11 wraps tensor subclasses this way.
  allow('torch._tensor._rebuild_from_type_v2', (args) => {
    const [func, newType, inner] = args;
    if (!(func instanceof PickleCallable)) bad(`torch._tensor._rebuild_from_type_v2 needs an allowed rebuild function, got ${typeName(func)}`);
    if (!(newType instanceof TypeMarker)) bad(`torch._tensor._rebuild_from_type_v2 needs torch.Tensor or torch.nn.Parameter, got ${typeName(newType)}`);
    if (!isTuple(inner)) bad(`torch._tensor._rebuild_from_type_v2 needs an argument tuple, got ${typeName(inner)}`);
    return asTensor((func as PickleCallable).fn(inner as readonly unknown[]), 'torch._tensor._rebuild_from_type_v2');
  });
  const markers: Record<string, TypeMarker> = {
    'torch.Tensor': new TypeMarker('torch.Tensor'),
    'torch.nn.parameter.Parameter': new TypeMarker('torch.nn.parameter.Parameter'),
  };
  return (module, name) => {
    const qualname = `${module}.${name}`;
    if (callables[qualname]) return callables[qualname];
    if (markers[qualname]) return markers[qualname];
    if (module === 'torch' && STORAGE_TYPES[name]) return new StorageType(qualname, STORAGE_TYPES[name]!);
    throw new CheckpointError(file, `refusing to load pickle global ${qualname}: only PyTorch state-dict types are allowed`);
  };
}

/** ('storage', torch.XStorage, key, location, numel[, view_metadata]) → a storage reference. */
function makePersistentLoad(file: string): (pid: unknown) => StorageRef {
  return (pid) => {
    if (!isTuple(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new CheckpointError(file, `unsupported pickle persistent id ${typeName(pid)}: expected ('storage', type, key, location, numel)`);
    }
    const [, type, key, , numel, view] = pid;
    if (!(type instanceof StorageType)) throw new CheckpointError(file, `persistent storage id names ${typeName(type)}, not a torch storage class`);
    if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new CheckpointError(file, `persistent storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new CheckpointError(file, `storage ${key} has a bad element count ${String(numel)}`);
    if (view !== undefined && view !== null) throw new CheckpointError(file, `storage ${key} is a legacy storage view, which is not supported`);
    return { key, dtype: type.dtype, numel };
  };
}

/** The unpickled top-level object → name → TensorRef, in pickle order. */
function stateDictEntries(file: string, value: unknown): Array<[string, TensorRef]> {
  if (!(value instanceof Map)) throw new CheckpointError(file, `checkpoint holds ${typeName(value)}, expected a state dict (a dict of tensors)`);
  const out: Array<[string, TensorRef]> = [];
  for (const [k, v] of value) {
    if (typeof k !== 'string') throw new CheckpointError(file, `state dict key ${String(k)} is ${typeName(k)}, expected a string`);
    if (!(v instanceof TensorRef)) throw new CheckpointError(file, `state dict entry ${JSON.stringify(k)} is ${typeName(v)}, not a tensor`);
    out.push([k, v]);
  }
  return out;
}

function rawArray(dtype: StorageDtype, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int16': return new Int16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
  }
}

/** torch stores in the machine's order, recorded in `byteorder` (absent means little-endian). */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * The elements of a strided view, as a new contiguous array (or the storage itself when the view
 * is all of it and nothing else uses it).
 */
function materialize(file: string, name: string, ref: TensorRef, storage: TensorData, exclusive: boolean): TensorData {
  const n = ref.size.reduce((a, b) => a * b, 1);
  if (n === 0) return rawArray(ref.storage.dtype, 0);
  // A view with more elements than its storage overlaps itself (stride 0, expand()); state dicts
  // never hold one, and refusing it bounds every allocation by the file size.
  if (n > storage.length) {
    throw new CheckpointError(file, `tensor ${JSON.stringify(name)} has ${n} elements but its storage ${ref.storage.key} only ${storage.length}: overlapping (expanded) views are not supported`);
  }
  let last = ref.offset;
  for (let d = 0; d < ref.size.length; d++) last += (ref.size[d]! - 1) * ref.stride[d]!;
  if (last >= storage.length) {
    throw new CheckpointError(file, `tensor ${JSON.stringify(name)} (offset ${ref.offset}, size [${ref.size.join(', ')}], stride [${ref.stride.join(', ')}]) reaches element ${last} of storage ${ref.storage.key}, which has ${storage.length}`);
  }
  // Contiguous (row-major, ignoring dims of size 1) → one slice.
  let expected = 1;
  let contiguous = true;
  for (let d = ref.size.length - 1; d >= 0; d--) {
    if (ref.size[d] !== 1 && ref.stride[d] !== expected) contiguous = false;
    expected *= ref.size[d]!;
  }
  if (contiguous) {
    if (exclusive && ref.offset === 0 && n === storage.length) return storage;
    return storage.slice(ref.offset, ref.offset + n) as TensorData;
  }
  const out = rawArray(ref.storage.dtype, n) as unknown as { [i: number]: number | bigint };
  const src = storage as unknown as { [i: number]: number | bigint };
  const rank = ref.size.length;
  const index = new Array<number>(rank).fill(0);
  let at = ref.offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[at]!;
    // Odometer increment over the dims, last dim fastest.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      at += ref.stride[d]!;
      if (index[d]! < ref.size[d]!) break;
      at -= ref.stride[d]! * ref.size[d]!;
      index[d] = 0;
    }
  }
  return out as unknown as TensorData;
}

function toTensor(raw: TensorData, dtype: StorageDtype, dims: number[], o: PytorchLoadOptions): Tensor {
  switch (dtype) {
    case 'float32': return new Tensor('float32', raw, dims);
    case 'float64': return o.float64ToFloat32 ? new Tensor('float32', Float32Array.from(raw as Float64Array), dims) : new Tensor('float64', raw, dims);
    case 'float16': return o.keepFloat16 ? new Tensor('float16', raw, dims) : new Tensor('float32', float16BitsToFloat32(raw as Uint16Array), dims);
    case 'bfloat16': return new Tensor('float32', bfloat16BitsToFloat32(raw as Uint16Array), dims);
    default: return new Tensor(dtype, raw, dims);
  }
}

/**
 * Turns the pickle's tensor descriptions into Tensors, reading each storage once through
 * `readStorage` (tensors that share a storage, like tied weights, each get their own copy).
 */
function buildTensors(
  file: string,
  entries: Array<[string, TensorRef]>,
  storageBytes: (ref: StorageRef) => number,
  readStorage: (ref: StorageRef, into: Uint8Array) => void,
  bigEndian: boolean,
  options: PytorchLoadOptions,
): Map<string, Tensor> {
  // How many tensors view each storage: a storage viewed by one tensor can become that tensor's
  // data without a copy; a shared one is kept until its last view is built.
  const users = new Map<string, number>();
  const byKey = new Map<string, StorageRef>();
  for (const [, ref] of entries) {
    const seen = byKey.get(ref.storage.key);
    if (seen && (seen.dtype !== ref.storage.dtype || seen.numel !== ref.storage.numel)) {
      throw new CheckpointError(file, `storage ${ref.storage.key} is described two ways (${seen.dtype}×${seen.numel} and ${ref.storage.dtype}×${ref.storage.numel})`);
    }
    if (!seen) {
      // Checked before allocating: a lying element count must not allocate gigabytes.
      const need = ref.storage.numel * ELEMENT_SIZE[ref.storage.dtype];
      const have = storageBytes(ref.storage);
      if (have < need) throw new CheckpointError(file, `storage ${ref.storage.key} holds ${have} bytes, but ${ref.storage.numel} ${ref.storage.dtype} elements need ${need}`);
    }
    byKey.set(ref.storage.key, ref.storage);
    users.set(ref.storage.key, (users.get(ref.storage.key) ?? 0) + 1);
  }
  const remaining = new Map(users);
  const loaded = new Map<string, TensorData>();
  const out = new Map<string, Tensor>();
  for (const [name, ref] of entries) {
    const key = ref.storage.key;
    let storage = loaded.get(key);
    if (!storage) {
      storage = rawArray(ref.storage.dtype, ref.storage.numel);
      const bytes = new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
      readStorage(ref.storage, bytes);
      if (bigEndian) swapBytes(bytes, ELEMENT_SIZE[ref.storage.dtype]);
      loaded.set(key, storage);
    }
    const data = materialize(file, name, ref, storage, users.get(key) === 1);
    remaining.set(key, remaining.get(key)! - 1);
    if (remaining.get(key) === 0) loaded.delete(key);
    out.set(name, toTensor(data, ref.storage.dtype, ref.size, options));
  }
  return out;
}

/** Reads a torch.save zip checkpoint. */
function loadZipCheckpoint(path: string, options: PytorchLoadOptions): Map<string, Tensor> {
  const zip = ZipReader.openSync(path);
  try {
    // The archive's root folder is free ('archive', 'pytorch_model', ...): find data.pkl in it.
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new CheckpointError(path, `expected one <root>/data.pkl in the torch zip archive, found ${pkls.length ? pkls.join(', ') : 'none'}`);
    const root = pkls[0]!.slice(0, -'data.pkl'.length);
    const pkl = zip.read(zip.entries.get(pkls[0]!)!);
    const value = unpickle(pkl, { file: path, name: pkls[0]!, findClass: makeFindClass(path), persistentLoad: makePersistentLoad(path) }).value;
    const entries = stateDictEntries(path, value);

    const byteorderEntry = zip.entries.get(`${root}byteorder`);
    let bigEndian = false;
    if (byteorderEntry) {
      const order = new TextDecoder().decode(zip.read(byteorderEntry)).trim();
      if (order !== 'little' && order !== 'big') throw new CheckpointError(path, `${root}byteorder says ${JSON.stringify(order)}, expected "little" or "big"`);
      bigEndian = order === 'big';
    }
    const storageEntry = (ref: StorageRef) => {
      const entry = zip.entries.get(`${root}data/${ref.key}`);
      if (!entry) throw new CheckpointError(path, `storage ${ref.key} is missing from the archive (no ${root}data/${ref.key})`);
      return entry;
    };
    return buildTensors(path, entries, (ref) => storageEntry(ref).uncompressedSize, (ref, into) => {
      const entry = storageEntry(ref);
      if (entry.uncompressedSize === into.length) zip.readInto(entry, into);
      else into.set(zip.read(entry).subarray(0, into.length));
    }, bigEndian, options);
  } finally {
    zip.close();
  }
}

// The legacy format starts with this magic number (pickled as a LONG1).
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function loadLegacyCheckpoint(path: string, options: PytorchLoadOptions): Map<string, Tensor> {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    // The pickles come first and are small; read up to 64 MB of prefix for them, then the storages
    // are read one by one straight from the file.
    const prefix = new Uint8Array(Math.min(size, 64 << 20));
    readExactSync(fd, prefix, 0, path, 'the legacy torch pickles');
    const findClass = makeFindClass(path);
    const run = (start: number, name: string, persistentLoad?: (pid: unknown) => unknown) =>
      unpickle(prefix, { file: path, name, findClass, persistentLoad, start });
    const notTorch = () => new CheckpointError(path, 'not a PyTorch checkpoint: neither a zip archive nor a legacy torch.save file (no magic number)');
    let magic: { value: unknown; end: number };
    try {
      magic = run(0, 'magic number');
    } catch {
      throw notTorch();
    }
    if (magic.value !== LEGACY_MAGIC) throw notTorch();
    const protocol = run(magic.end, 'protocol version');
    if (protocol.value !== 1001) throw new CheckpointError(path, `legacy torch protocol ${String(protocol.value)} is not supported (expected 1001)`);
    const sysInfo = run(protocol.end, 'system info');
    const littleEndian = sysInfo.value instanceof Map ? sysInfo.value.get('little_endian') !== false : true;
    const main = run(sysInfo.end, 'state dict', makePersistentLoad(path));
    const entries = stateDictEntries(path, main.value);
    const keys = run(main.end, 'storage keys');
    if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new CheckpointError(path, 'legacy storage key list is not a list of strings');
    // After the key list: for each key, an 8-byte element count then the bytes. Walk it once to
    // find each storage's offset (sizes come from the persistent ids, checked against the counts).
    const refs = new Map<string, StorageRef>();
    for (const [, r] of entries) refs.set(r.storage.key, r.storage);
    const offsets = new Map<string, number>();
    let at = keys.end;
    const count = new Uint8Array(8);
    for (const key of keys.value as string[]) {
      readExactSync(fd, count, at, path, `the element count of storage ${key}`);
      const n = Number(new DataView(count.buffer).getBigInt64(0, littleEndian));
      const ref = refs.get(key);
      const elementSize = ref ? ELEMENT_SIZE[ref.dtype] : 0;
      if (ref && n !== ref.numel) throw new CheckpointError(path, `storage ${key} records ${n} elements, the pickle says ${ref.numel}`);
      if (!ref) throw new CheckpointError(path, `storage ${key} is stored but no tensor uses it`);
      offsets.set(key, at + 8);
      at += 8 + n * elementSize;
      if (at > size) throw new CheckpointError(path, `storage ${key} runs past the end of the file (truncated)`);
    }
    const bytesOf = (ref: StorageRef) => {
      if (!offsets.has(ref.key)) throw new CheckpointError(path, `storage ${ref.key} is missing from the file`);
      return ref.numel * ELEMENT_SIZE[ref.dtype];
    };
    return buildTensors(path, entries, bytesOf, (ref, into) => {
      const offset = offsets.get(ref.key);
      if (offset === undefined) throw new CheckpointError(path, `storage ${ref.key} is missing from the file`);
      readExactSync(fd, into, offset, path, `storage ${ref.key}`);
    }, !littleEndian, options);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads a PyTorch state dict (`pytorch_model.bin`): name → Tensor, in the file's order. Tensors
 * that share storage (tied weights) come back as separate, equal Tensors.
 */
export function loadPytorchBinSync(path: string, options: PytorchLoadOptions = {}): Map<string, Tensor> {
  if (fs.statSync(path).size < 4) throw new CheckpointError(path, 'file is too short to be a PyTorch checkpoint');
  return isZipFileSync(path) ? loadZipCheckpoint(path, options) : loadLegacyCheckpoint(path, options);
}

/** loadPytorchBinSync behind a Promise, for symmetry with loadSafetensors. */
export async function loadPytorchBin(path: string, options: PytorchLoadOptions = {}): Promise<Map<string, Tensor>> {
  return loadPytorchBinSync(path, options);
}
