// A small read-only ZIP reader for torch.save checkpoints (Node has none built in). torch writes
// uncompressed ("stored") entries, padded so each entry's data is 64-byte aligned, and switches to
// ZIP64 records past 4 GB; deflated entries (a re-zipped checkpoint) are inflated with zlib.
// Only the central directory is trusted for names and sizes; every offset and size is checked
// against the file before anything is read or allocated.

import * as fs from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { CheckpointError, readExactSync } from './io.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const U32_MAX = 0xffffffff;

export function isZipFileSync(path: string): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    const head = new Uint8Array(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && new DataView(head.buffer).getUint32(0, true) === LOCAL_SIGNATURE;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a 64-bit little-endian size; larger than 2^53 cannot be a real offset in a real file. */
function u64(view: DataView, at: number, file: string, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(file, `zip ${what} ${v} is impossibly large`);
  return Number(v);
}

export class ZipReader {
  readonly path: string;
  readonly entries: Map<string, ZipEntry>;
  readonly fileSize: number;
  private fd: number;

  private constructor(path: string, fd: number, fileSize: number, entries: Map<string, ZipEntry>) {
    this.path = path;
    this.fd = fd;
    this.fileSize = fileSize;
    this.entries = entries;
  }

  static openSync(path: string): ZipReader {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      return new ZipReader(path, fd, size, readCentralDirectory(path, fd, size));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Absolute file offset of an entry's data, from its local header. */
  private dataOffset(entry: ZipEntry): number {
    const local = new Uint8Array(30);
    if (entry.localHeaderOffset + 30 > this.fileSize) throw new CheckpointError(this.path, `zip entry ${entry.name} has its local header past the end of the file`);
    readExactSync(this.fd, local, entry.localHeaderOffset, this.path, `the zip local header of ${entry.name}`);
    const view = new DataView(local.buffer);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) throw new CheckpointError(this.path, `zip entry ${entry.name}: bad local header signature (corrupted archive)`);
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.fileSize) {
      throw new CheckpointError(this.path, `zip entry ${entry.name} (${entry.compressedSize} bytes at offset ${start}) runs past the end of the file (${this.fileSize} bytes): truncated`);
    }
    return start;
  }

  /**
   * Reads an entry's uncompressed bytes into `target`, which must be exactly its size: stored
   * entries go straight from the file into the caller's (aligned) array, without a copy.
   */
  readInto(entry: ZipEntry, target: Uint8Array): void {
    if (target.length !== entry.uncompressedSize) {
      throw new CheckpointError(this.path, `zip entry ${entry.name} holds ${entry.uncompressedSize} bytes, expected ${target.length}`);
    }
    const start = this.dataOffset(entry);
    if (entry.method === 0) {
      readExactSync(this.fd, target, start, this.path, `zip entry ${entry.name}`);
      return;
    }
    const compressed = new Uint8Array(entry.compressedSize);
    readExactSync(this.fd, compressed, start, this.path, `zip entry ${entry.name}`);
    let out: Buffer;
    try {
      // maxOutputLength stops a lying size (or a zip bomb) from allocating without bound.
      out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (err) {
      throw new CheckpointError(this.path, `zip entry ${entry.name} does not inflate to its recorded ${entry.uncompressedSize} bytes: ${(err as Error).message}`);
    }
    if (out.length !== entry.uncompressedSize) {
      throw new CheckpointError(this.path, `zip entry ${entry.name} inflates to ${out.length} bytes, but the directory records ${entry.uncompressedSize}`);
    }
    target.set(out);
  }

  read(entry: ZipEntry): Uint8Array {
    const out = new Uint8Array(entry.uncompressedSize);
    this.readInto(entry, out);
    return out;
  }
}

function readCentralDirectory(file: string, fd: number, size: number): Map<string, ZipEntry> {
  // The end-of-central-directory record is 22 bytes plus a comment of up to 65535 bytes.
  const tailLength = Math.min(size, 22 + 65535 + 20);
  if (size < 22) throw new CheckpointError(file, `file is ${size} bytes, too short to be a zip archive`);
  const tail = new Uint8Array(tailLength);
  readExactSync(fd, tail, size - tailLength, file, 'the zip end of central directory');
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD_SIGNATURE && i + 22 + tv.getUint16(i + 20, true) <= tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new CheckpointError(file, 'no zip end-of-central-directory record: truncated, or not a zip archive');
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    // ZIP64: a locator just before the EOCD points at the ZIP64 end record with the real values.
    const loc = eocd - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR_SIGNATURE) throw new CheckpointError(file, 'zip64 archive without its zip64 locator (corrupted)');
    const recordOffset = u64(tv, loc + 8, file, 'zip64 record offset');
    if (recordOffset + 56 > size) throw new CheckpointError(file, 'zip64 end record lies past the end of the file (truncated)');
    const rec = new Uint8Array(56);
    readExactSync(fd, rec, recordOffset, file, 'the zip64 end of central directory');
    const rv = new DataView(rec.buffer);
    if (rv.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw new CheckpointError(file, 'bad zip64 end-of-central-directory signature (corrupted)');
    count = u64(rv, 32, file, 'entry count');
    cdSize = u64(rv, 40, file, 'central directory size');
    cdOffset = u64(rv, 48, file, 'central directory offset');
  }
  if (cdOffset + cdSize > size) throw new CheckpointError(file, `zip central directory (${cdSize} bytes at ${cdOffset}) runs past the end of the file (${size} bytes): truncated`);
  // Each central record is at least 46 bytes: a count the directory cannot hold is a lie.
  if (count * 46 > cdSize) throw new CheckpointError(file, `zip central directory of ${cdSize} bytes cannot hold ${count} entries (corrupted)`);

  const cd = new Uint8Array(cdSize);
  readExactSync(fd, cd, cdOffset, file, 'the zip central directory');
  const view = new DataView(cd.buffer);
  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || view.getUint32(p, true) !== CENTRAL_SIGNATURE) throw new CheckpointError(file, `zip central directory entry ${i} is malformed (corrupted archive)`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let uncompressedSize = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cdSize) throw new CheckpointError(file, `zip central directory entry ${i} runs past the directory (corrupted archive)`);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLength));
    // ZIP64 extra field: 64-bit values for whichever 32-bit fields are saturated, in this order.
    for (let q = p + 46 + nameLength; q + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = view.getUint16(q, true);
      const len = view.getUint16(q + 2, true);
      if (id === 0x0001) {
        let r = q + 4;
        const take = (what: string) => {
          if (r + 8 > q + 4 + len) throw new CheckpointError(file, `zip entry ${name}: zip64 extra field too short for its ${what}`);
          const v = u64(view, r, file, what);
          r += 8;
          return v;
        };
        if (uncompressedSize === U32_MAX) uncompressedSize = take('uncompressed size');
        if (compressedSize === U32_MAX) compressedSize = take('compressed size');
        if (localHeaderOffset === U32_MAX) localHeaderOffset = take('local header offset');
      }
      q += 4 + len;
    }
    if (flags & 1) throw new CheckpointError(file, `zip entry ${name} is encrypted; checkpoints must not be`);
    if (method !== 0 && method !== 8) throw new CheckpointError(file, `zip entry ${name} uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    if (method === 0 && compressedSize !== uncompressedSize) throw new CheckpointError(file, `zip entry ${name} is stored but its sizes differ (${compressedSize} vs ${uncompressedSize})`);
    // Deflate cannot expand more than about 1032:1, so a larger recorded size is a lie that
    // would otherwise make the caller allocate it.
    if (method === 8 && uncompressedSize > compressedSize * 1032 + 1024) throw new CheckpointError(file, `zip entry ${name} claims ${uncompressedSize} bytes from ${compressedSize} deflated bytes (corrupted)`);
    if (localHeaderOffset + 30 + compressedSize > size) throw new CheckpointError(file, `zip entry ${name} runs past the end of the file (truncated)`);
    entries.set(name, { name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p = end;
  }
  return entries;
}
