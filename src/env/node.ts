// The Node side of the environment boundary (src/env/types.ts): onnxruntime-node, files on disk,
// sharp (libvips) for image decoding.

import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { DecodedPixels, Engine, EngineOptions, Environment, ReadOptions } from './types.js';

let defaultThreads = 0;

const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or BMP';

/**
 * sharp with the settings that keep its output equal to PIL's: no EXIF auto-rotation (PIL does
 * not rotate), embedded ICC profiles ignored (PIL does not colour-manage), alpha left
 * unpremultiplied. 16-bit greyscale is clipped at 255 (PIL's I;16 → RGB), other 16-bit samples
 * keep their high byte (PIL's ';16B' unpacking), CMYK is converted with PIL's naive formula.
 */
async function decodeImage(bytes: Uint8Array, name: string, checkSize: (width: number, height: number) => void): Promise<DecodedPixels> {
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

export const env: Environment = {
  name: 'node',
  engine: ort as unknown as Engine,
  setDefaultThreads(n: number) {
    defaultThreads = n;
  },
  sessionOptions(o: EngineOptions) {
    return {
      intraOpNumThreads: o.threads ?? (defaultThreads || availableParallelism()),
      interOpNumThreads: 1,
      graphOptimizationLevel: o.optimization ?? 'all',
      executionMode: 'sequential',
      ...(o.optimizedModelFilePath ? { optimizedModelFilePath: o.optimizedModelFilePath } : {}),
      ...(o.spinAfterRun ? {} : { extra: { session: { force_spinning_stop: '1' } } }),
    };
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
