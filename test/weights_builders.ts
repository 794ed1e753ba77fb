// Hand-built PyTorch checkpoints for the weights tests: a pickle writer emitting the opcodes
// torch.save uses, and a minimal zip writer (stored or deflated entries). Independent of the
// reader under test.
import { deflateRawSync } from 'node:zlib';

// CRC-32 (zip's), written out: zlib.crc32 only exists from Node 20.15.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class PickleWriter {
  private bytes: number[] = [];
  constructor(protocol = 2) {
    this.bytes.push(0x80, protocol);
  }
  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  text(s: string): this {
    this.bytes.push(...Buffer.from(s, 'latin1'));
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63).text(`${module}\n${name}\n`);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, ...len, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, ...b);
  }
  mark(): this { return this.op(0x28); }
  tuple(): this { return this.op(0x74); }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
  tensor(storageClass: string, key: string, numel: number, offset: number, size: number[], stride: number[], legacy = false): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    // The legacy format's persistent id has a sixth field, view_metadata (None).
    this.mark().str('storage').global('torch', storageClass).str(key).str('cpu').int(numel);
    if (legacy) this.op(0x4e);
    this.tuple().op(0x51); // BINPERSID
    this.int(offset).ints(size).ints(stride).op(0x89); // NEWFALSE
    this.global('collections', 'OrderedDict').op(0x29, 0x52); // EMPTY_TUPLE REDUCE
    return this.tuple().op(0x52);
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

/** A state dict pickle: {name: tensor(...)} in order. */
export interface TensorSpec { name: string; storage: string; key: string; numel: number; offset: number; size: number[]; stride: number[] }

export function stateDictPickle(tensors: TensorSpec[], legacy = false): Uint8Array {
  const w = new PickleWriter().op(0x7d).mark(); // EMPTY_DICT MARK
  for (const t of tensors) w.str(t.name).tensor(t.storage, t.key, t.numel, t.offset, t.size, t.stride, legacy);
  return w.op(0x75).stop(); // SETITEMS
}

/** A zip archive of the given entries (stored unless `deflate` names them). */
export function buildZip(entries: Array<[string, Uint8Array]>, deflate: Set<string> = new Set(), zip64 = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = deflate.has(name) ? deflateRawSync(data) : Buffer.from(data);
    const method = deflate.has(name) ? 8 : 0;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : compressed.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    // ZIP64 extra field: the saturated fields' real values (uncompressed, compressed, offset).
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(compressed.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      central.writeUInt16LE(extra.length, 30);
    }
    centrals.push(central, nameBytes, extra);
    offset += 30 + nameBytes.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([...locals, cd, eocd]);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(cd.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...locals, cd, record, locator, eocd]);
}

/** A torch.save-style zip checkpoint: archive/data.pkl, archive/data/<key>, archive/version. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, options: { root?: string; byteorder?: string; deflate?: boolean; zip64?: boolean } = {}): Buffer {
  const root = options.root ?? 'archive';
  const entries: Array<[string, Uint8Array]> = [[`${root}/data.pkl`, pickle]];
  if (options.byteorder) entries.push([`${root}/byteorder`, Buffer.from(options.byteorder)]);
  for (const [key, bytes] of Object.entries(storages)) entries.push([`${root}/data/${key}`, bytes]);
  entries.push([`${root}/version`, Buffer.from('3\n')]);
  return buildZip(entries, options.deflate ? new Set(entries.map(([n]) => n)) : new Set(), options.zip64);
}

/**
 * The pre-1.6 torch.save stream: magic number, protocol 1001, system info, the state dict,
 * the storage keys, then per storage an 8-byte element count and its bytes.
 */
export function torchLegacy(tensors: TensorSpec[], storages: Array<[string, number, Uint8Array]>): Buffer {
  const magic = Buffer.from([0x80, 0x02, 0x8a, 0x0a, ...Buffer.from('6cfc9c46f9206aa85019', 'hex'), 0x2e]);
  const protocol = Buffer.from([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]);
  const sysInfo = new PickleWriter().op(0x7d).mark().str('protocol_version').int(1001).str('little_endian').op(0x88).op(0x75).stop();
  const main = stateDictPickle(tensors, true);
  const keys = new PickleWriter().op(0x5d).mark();
  for (const [key] of storages) keys.str(key);
  const parts: Uint8Array[] = [magic, protocol, sysInfo, main, keys.op(0x65).stop()];
  for (const [, numel, bytes] of storages) {
    const count = Buffer.alloc(8);
    count.writeBigInt64LE(BigInt(numel));
    parts.push(count, bytes);
  }
  return Buffer.concat(parts);
}
