// The Node side of the environment boundary (src/env/types.ts): onnxruntime-node, files on disk,
// sharp (libvips) for image decoding.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, homedir } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { default as Sharp } from 'sharp';
import { decodeSimplePng, simplePngSize } from './png.js';
import type { DecodedPixels, Engine, EngineOptions, Environment, ModelCache, ReadOptions } from './types.js';
import { packageJson } from './package.js';
import { processIsAlive } from './process.js';

let defaultThreads = 0;
let sharpModule: Promise<typeof Sharp> | undefined;

const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or BMP';

/**
 * sharp with the settings that keep its output equal to PIL's: no EXIF auto-rotation (PIL does
 * not rotate), embedded ICC profiles ignored (PIL does not colour-manage), alpha left
 * unpremultiplied. 16-bit greyscale is clipped at 255 (PIL's I;16 → RGB), other 16-bit samples
 * keep their high byte (PIL's ';16B' unpacking), CMYK is converted with PIL's naive formula.
 */
async function decodeImage(bytes: Uint8Array, name: string, checkSizeOnce: (width: number, height: number) => void): Promise<DecodedPixels> {
  let checked = false;
  const checkSize = (width: number, height: number) => {
    if (!checked) checkSizeOnce(width, height);
    checked = true;
  };
  const png = simplePngSize(bytes);
  if (png) {
    checkSize(png.width, png.height);
    const pixels = decodeSimplePng(bytes);
    if (pixels) return pixels;
  }
  // Loaded on first use: libvips takes a quarter of a second to load, and most PNGs never need it.
  sharpModule ??= import('sharp').then((m) => m.default);
  const sharp = await sharpModule;
  // Read the header first so the pixel limit applies before any decoding.
  const open = () => sharp(bytes, { ignoreIcc: true, limitInputPixels: false, autoOrient: false });
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await open().metadata();
  } catch (e) {
    throw new Error(`loadImage: could not decode ${name} as an image (expected ${FORMATS}): ${(e as Error).message}`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new Error(`loadImage: ${name} has no image dimensions (expected ${FORMATS})`);
  checkSize(width, height);
  if (!['jpeg', 'png', 'webp', 'gif', 'tiff'].includes(meta.format)) {
    throw new Error(`loadImage: ${name} is ${meta.format}, expected ${FORMATS}`);
  }
  const grey = meta.space === 'b-w' || meta.space === 'grey16';
  const sixteen = meta.depth === 'ushort';
  if (meta.depth !== 'uchar' && !sixteen) {
    throw new Error(`loadImage: ${name} has ${meta.depth} samples; only 8- and 16-bit images are supported`);
  }
  try {
    if (meta.space === 'cmyk') {
      const { data, info } = await open().pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      return cmykToRgb(data, info.width, info.height, info.channels, name);
    }
    let pipeline = open();
    // Keep grey images grey (sharp would otherwise widen them to sRGB).
    if (grey) pipeline = pipeline.toColourspace(sixteen ? 'grey16' : 'b-w');
    const { data, info } = await pipeline.raw(sixteen ? { depth: 'ushort' } : undefined).toBuffer({ resolveWithObject: true });
    const ch = info.channels;
    if (!sixteen) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: ch };
    const src = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    const out = new Uint8Array(src.length);
    if (ch === 1) {
      for (let i = 0; i < src.length; i++) out[i] = src[i]! > 255 ? 255 : src[i]!;
    } else {
      for (let i = 0; i < src.length; i++) out[i] = src[i]! >> 8;
    }
    return { data: out, width: info.width, height: info.height, channels: ch };
  } catch (e) {
    throw new Error(`loadImage: could not decode ${name}: ${(e as Error).message}`);
  }
}

/** Convert.c cmyk2rgb: r = nk - c·nk/255 with nk = 255 - k, using PIL's MULDIV255 rounding. */
function cmykToRgb(data: Uint8Array, width: number, height: number, channels: number, name: string): DecodedPixels {
  if (channels < 4) throw new Error(`loadImage: CMYK image ${name} decoded to ${channels} channels, expected 4`);
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const nk = 255 - data[p + 3]!;
    for (let c = 0; c < 3; c++) {
      const tmp = data[p + c]! * nk + 128;
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, width, height, channels: 3 };
}

async function fetchBytes(url: string, o: ReadOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${url} (expected ${o.expected}): ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not fetch ${url} (expected ${o.expected}): HTTP ${res.status} ${res.statusText}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  try {
    o.validate?.(bytes);
  } catch (e) {
    throw new Error(`${url} is not ${o.expected}: ${(e as Error).message}`);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The cache of optimised sessions

const MODEL_FILE = 'model.onnx';
const DATA_FILE = `${MODEL_FILE}.data`;
const ENTRY_FILE = 'entry.json';
/** How much of each end of the data file entry.json fingerprints (the whole is too big to hash on every load). */
const EDGE = 1 << 16;
const TEMPORARY = /^\.tmp-(\d+)-[0-9a-f]{12}$/;

interface EntryRecord {
  key: string;
  identity: string;
  files: { name: string; size: number; sha256: string }[];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of the whole file, or for the data file of its first and last EDGE bytes. */
function fingerprintFile(path: string): { size: number; sha256: string } {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (basename(path) !== DATA_FILE || size <= 2 * EDGE) return { size, sha256: sha256(fs.readFileSync(fd)) };
    const buf = Buffer.alloc(2 * EDGE);
    fs.readSync(fd, buf, 0, EDGE, 0);
    fs.readSync(fd, buf, EDGE, EDGE, size - EDGE);
    return { size, sha256: sha256(buf) };
  } finally {
    fs.closeSync(fd);
  }
}


/** Rename first, then delete: a process that is reading the entry keeps its open files, and no one sees half a folder. */
function removeEntryDir(root: string, dir: string): void {
  const trash = join(root, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    fs.renameSync(dir, trash);
  } catch {
    return; // already gone (another process discarded it)
  }
  fs.rmSync(trash, { recursive: true, force: true });
}

/** The CPU as ORT's kernels see it: the same model name and instruction sets give the same optimised graph. */
function cpuIdentity(): string {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1] ?? '';
    return `${arch()}|${line('model name')}|${line('flags')}`;
  } catch {
    return `${arch()}|${cpus()[0]?.model ?? 'unknown'}`;
  }
}

function libraryVersion(): string {
  try {
    const pkg = packageJson();
    return `${pkg.name}@${pkg.version}`;
  } catch {
    return 'unknown';
  }
}

class DiskModelCache implements ModelCache {
  private identityMemo: string | null = null;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    if (!(maxBytes > 0)) throw new Error(`session cache: the size bound must be a positive number of bytes, got ${maxBytes}`);
  }

  get identity(): string {
    this.identityMemo ??= JSON.stringify({ ort: (ort.env as { versions?: Record<string, string> }).versions ?? null, cpu: cpuIdentity(), library: libraryVersion() });
    return this.identityMemo;
  }

  key(parts: (string | Uint8Array)[]): string {
    const h = createHash('sha256');
    for (const p of parts) {
      const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      h.update(`${typeof p === 'string' ? 's' : 'b'}${bytes.byteLength}:`);
      h.update(bytes);
    }
    return h.digest('hex');
  }

  private entryDir(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`model cache: a key must be 64 hex digits, got ${JSON.stringify(key)}`);
    return join(this.dir, key);
  }

  find(key: string): string | null {
    const dir = this.entryDir(key);
    if (!fs.existsSync(dir)) return null;
    if (this.valid(key, dir)) {
      // entry.json's modification time is the entry's last use, for pruning.
      const now = new Date();
      try {
        fs.utimesSync(join(dir, ENTRY_FILE), now, now);
      } catch {
        // read-only cache: it is still served, only its age is not updated
      }
      return join(dir, MODEL_FILE);
    }
    removeEntryDir(this.dir, dir);
    return null;
  }

  private valid(key: string, dir: string): boolean {
    try {
      const rec = JSON.parse(fs.readFileSync(join(dir, ENTRY_FILE), 'utf8')) as EntryRecord;
      if (rec.key !== key || rec.identity !== this.identity || !Array.isArray(rec.files) || !rec.files.some((f) => f.name === MODEL_FILE)) return false;
      for (const f of rec.files) {
        if (f.name !== basename(f.name)) return false;
        const p = join(dir, f.name);
        if (fs.statSync(p).size !== f.size) return false;
        if (fingerprintFile(p).sha256 !== f.sha256) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  async publish(key: string, write: (modelPath: string) => Promise<void>): Promise<string> {
    const final = this.entryDir(key);
    fs.mkdirSync(this.dir, { recursive: true });
    this.removeStaleTemporaries();
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(tmp);
    try {
      await write(join(tmp, MODEL_FILE));
      const files = fs.readdirSync(tmp).sort().map((name) => ({ name, ...fingerprintFile(join(tmp, name)) }));
      const rec: EntryRecord = { key, identity: this.identity, files };
      fs.writeFileSync(join(tmp, ENTRY_FILE), JSON.stringify(rec, null, 1));
      for (let attempt = 0; ; attempt++) {
        try {
          fs.renameSync(tmp, final);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt > 0) throw e;
          // Another process published this key first: theirs is as good as ours, if complete.
          const theirs = this.find(key);
          if (theirs) {
            fs.rmSync(tmp, { recursive: true, force: true });
            return theirs;
          }
        }
      }
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    // Pruned once the entry is in place, outside the rename's error handling: the entry is
    // published whatever happens here, and a prune that fails is tried again by the next publish.
    try {
      this.prune(key);
    } catch {
      // (a folder another process is removing, or one this process may not delete)
    }
    return join(final, MODEL_FILE);
  }

  discard(key: string): void {
    removeEntryDir(this.dir, this.entryDir(key));
  }

  /**
   * Remove the least recently used entries other than `keep` until all fit in maxBytes. An entry
   * a process has open stays readable to it (removal renames, then deletes; its mapped files live
   * on until it closes them); the next process to want it builds it again.
   */
  private prune(keep: string): void {
    if (this.maxBytes === Infinity) return;
    const entries: { dir: string; bytes: number; used: number }[] = [];
    let total = 0;
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const dir = join(this.dir, name);
      let bytes = 0;
      let used = 0;
      try {
        used = fs.statSync(join(dir, ENTRY_FILE)).mtimeMs;
        for (const f of fs.readdirSync(dir)) bytes += fs.statSync(join(dir, f)).size;
      } catch {
        continue; // being removed by another process
      }
      total += bytes;
      if (name !== keep) entries.push({ dir, bytes, used });
    }
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      removeEntryDir(this.dir, e.dir);
      total -= e.bytes;
    }
  }

  /** Temporary folders of writers that died (SIGKILL leaves them), and trash a dead process left. */
  private removeStaleTemporaries(): void {
    for (const name of fs.readdirSync(this.dir)) {
      const m = TEMPORARY.exec(name) ?? /^\.trash-(\d+)-[0-9a-f]{12}$/.exec(name);
      if (!m || Number(m[1]) === process.pid || processIsAlive(Number(m[1]))) continue;
      fs.rmSync(join(this.dir, name), { recursive: true, force: true });
    }
  }
}

/** The session cache's default bound: a few large models' sessions (TrOCR-base's float32 pair is about 1.4 GB). */
const DEFAULT_CACHE_BYTES = 4 * 1024 ** 3;

/** VED_SESSION_CACHE_SIZE: bytes, with an optional K, M or G (powers of 1024), or 'unlimited'. */
export function parseCacheSize(setting: string | undefined): number {
  if (setting === undefined || setting === '') return DEFAULT_CACHE_BYTES;
  if (setting === 'unlimited') return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(setting.trim());
  const bytes = m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : NaN;
  if (!(bytes >= 1)) throw new Error(`VED_SESSION_CACHE_SIZE: expected a size such as 4G, 500M or 1048576 (bytes), or 'unlimited'; got ${JSON.stringify(setting)}`);
  return Math.floor(bytes);
}

/**
 * VED_SESSION_CACHE: a folder, or 'off'. Default: $XDG_CACHE_HOME (or ~/.cache) /
 * vision-encoder-decoder/sessions. VED_SESSION_CACHE_SIZE bounds it (default 4G).
 */
function defaultModelCache(): ModelCache | null {
  const setting = process.env['VED_SESSION_CACHE'];
  if (setting === 'off' || setting === '0') return null;
  const maxBytes = parseCacheSize(process.env['VED_SESSION_CACHE_SIZE']);
  if (setting) return new DiskModelCache(setting, maxBytes);
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return new DiskModelCache(join(base, 'vision-encoder-decoder', 'sessions'), maxBytes);
}

let modelCache: ModelCache | null | undefined;
let onnxProtoModule: ReturnType<Environment['onnxProto']> | undefined;

export const env: Environment = {
  name: 'node',
  engine: ort as unknown as Engine,
  setDefaultThreads(n: number) {
    defaultThreads = n;
  },
  sessionOptions(o: EngineOptions) {
    const session: Record<string, string> = o.spinAfterRun ? {} : { force_spinning_stop: '1' };
    // Subnormal floats flushed to zero (FTZ/DAZ, on ORT's threads and, through ORT's first
    // session, on the main thread that runs it). On Intel cores every product with a subnormal
    // input is a microcode assist: a [900, 512] x [512, 512] MatMul took 3.8 ms, 8.2 ms with 1%
    // of its inputs subnormal and 43 ms with 10%; Swin's shifted-window mask (-100 before softmax)
    // makes them, and the Donut-sized encoder ran 2.4x its bound (1.05x flushed). A subnormal is
    // under 1.2e-38: flushing it moves no result by anything parity can see. ORT sets the mode on
    // the thread of the process's first session, node's main thread, so JavaScript there computes
    // with flushed subnormals too: VED_FLUSH_SUBNORMALS=0 keeps IEEE subnormals everywhere.
    if (process.env['VED_FLUSH_SUBNORMALS'] !== '0') session['set_denormal_as_zero'] = '1';
    if (o.prepack === false) session['disable_prepacking'] = '1';
    const extraTop: { logSeverityLevel?: 0 | 1 | 2 | 3 | 4 } = {};
    const optimizedModelFilePath = o.saveCacheEntry ?? o.optimizedModelFilePath;
    if (o.saveCacheEntry) {
      // Initializers in a file beside the graph: loading maps it rather than parsing and copying them.
      session['optimized_model_external_initializers_file_name'] = basename(o.saveCacheEntry) + '.data';
      session['optimized_model_external_initializers_min_size_in_bytes'] = '1024';
      // Not session.save_external_prepacked_constant_initializers: with ORT 1.30 it loaded
      // TrOCR-base's encoder 3× faster, but int8 sessions saved so generated wrong tokens and a
      // BEiT + RoBERTa fixture crashed (SIGSEGV) in its first run.
      // ORT warns that the saved graph fits this CPU only; the cache key names the CPU.
      Object.assign(extraTop, { logSeverityLevel: 3 });
    }
    return {
      intraOpNumThreads: o.threads ?? (defaultThreads || availableParallelism()),
      interOpNumThreads: 1,
      graphOptimizationLevel: o.optimization ?? 'all',
      executionMode: 'sequential',
      ...(optimizedModelFilePath ? { optimizedModelFilePath } : {}),
      ...(Object.keys(session).length ? { extra: { session } } : {}),
      ...extraTop,
    };
  },
  onnxProto() {
    // A CommonJS package: require() loads it synchronously, so toOnnx stays synchronous.
    onnxProtoModule ??= createRequire(import.meta.url)('onnx-proto') as ReturnType<Environment['onnxProto']>;
    return onnxProtoModule;
  },
  get modelCache() {
    if (modelCache === undefined) modelCache = defaultModelCache();
    return modelCache;
  },
  setModelCacheDir(dir: string | null, options: { maxBytes?: number } = {}) {
    modelCache = dir === null ? null : new DiskModelCache(dir, options.maxBytes ?? parseCacheSize(process.env['VED_SESSION_CACHE_SIZE']));
  },
  diskHubCache: true,
  asUrl(location: string) {
    return /^https?:\/\//i.test(location) ? new URL(location) : null;
  },
  async localKind(location: string) {
    const s = await stat(location).catch(() => null);
    return s?.isFile() ? 'file' : s?.isDirectory() ? 'directory' : null;
  },
  async urlExists(url: string) {
    let res: Response;
    try {
      res = await fetch(url, { method: 'HEAD' });
    } catch (e) {
      throw new Error(`could not reach ${url}: ${(e as Error).message}`);
    }
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw new Error(`${url} answered HTTP ${res.status} ${res.statusText}`);
  },
  async readBytes(location: string, o: ReadOptions) {
    if (this.asUrl(location)) return fetchBytes(location, o);
    return readFile(location);
  },
  decodeImage,
  async imageObjectPixels() {
    return null;
  },
  warn(message: string, type?: string) {
    process.emitWarning(message, type);
  },
};
