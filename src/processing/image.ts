// Images in memory and their decoding, matching what Python gets from
// `PIL.Image.open(x).convert('RGB')` — the input every image processor here expects.
//
// The environment decodes (src/env: sharp in Node, createImageBitmap in a browser) with the
// settings that keep its output equal to PIL's; BMP, which sharp cannot read, has its own
// decoder here. Conversions to RGB follow Pillow's Convert.c: grey replicated, alpha dropped
// (not composited).

import { env, type DecodedPixels } from '../env/index.js';
import { decodeBmp, isBmp, bmpSize } from './bmp.js';
import { resize, type ResizeOptions } from './resize.js';

/** PIL's default `Image.MAX_IMAGE_PIXELS`: above it PIL warns, above twice it PIL refuses the image. */
export const MAX_IMAGE_PIXELS = 89_478_485;

export interface LoadImageOptions {
  /**
   * Decompression-bomb limit as PIL's `Image.MAX_IMAGE_PIXELS`: an image with more than twice
   * this many pixels is refused, one with more than this many gives a warning. `null` disables it.
   */
  maxImagePixels?: number | null;
  /**
   * How the program's user sets the limit (e.g. `--max-image-pixels` of `ved ocr`): errors and
   * warnings then name it instead of this API's `maxImagePixels`, which that user never sees.
   */
  maxImagePixelsOption?: string;
}

/**
 * Blob, ImageData, ImageBitmap, HTMLImageElement and canvases are read where the environment has
 * them (a browser; Node has Blob).
 */
export type ImageInput = string | URL | Uint8Array | ArrayBuffer | RawImage | Blob | ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

export class RawImage {
  /** Pixels row-major, channels interleaved: 1 = L, 2 = LA, 3 = RGB, 4 = RGBA. */
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;

  constructor(data: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`RawImage: width and height must be positive integers, got ${width}x${height}`);
    }
    if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
      throw new Error(`RawImage: channels must be 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA), got ${channels}`);
    }
    if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
      throw new Error(`RawImage: data must be a Uint8Array or Uint8ClampedArray, got ${(data as object)?.constructor?.name}`);
    }
    if (data.length !== width * height * channels) {
      throw new Error(`RawImage: data has ${data.length} bytes but ${width}x${height}x${channels} needs ${width * height * channels}`);
    }
    this.data = data;
    this.width = width;
    this.height = height;
    this.channels = channels;
  }

  /** [width, height], as PIL's `Image.size`. */
  get size(): [number, number] {
    return [this.width, this.height];
  }

  /** PIL's mode name for this layout. */
  get mode(): 'L' | 'LA' | 'RGB' | 'RGBA' {
    return (['L', 'LA', 'RGB', 'RGBA'] as const)[this.channels - 1]!;
  }

  /**
   * Decode an image (file path, http(s) URL, encoded bytes, or a RawImage, returned as is),
   * keeping its channels: grey stays 1 channel, alpha is kept.
   */
  static async read(input: ImageInput, options: LoadImageOptions = {}): Promise<RawImage> {
    if (input instanceof RawImage) return input;
    const pixels = await env.imageObjectPixels(input);
    if (pixels) return fromDecoded(pixels);
    const { bytes, name } = await readInput(input);
    return decode(bytes, name, options);
  }

  /** Pixels already decoded, interleaved (height × width × channels). */
  static fromPixels(data: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number): RawImage {
    return new RawImage(data, width, height, channels);
  }

  /** `convert('RGB')` as PIL: grey replicated, alpha dropped without compositing. */
  rgb(): RawImage {
    if (this.channels === 3) return this;
    const n = this.width * this.height;
    const out = new Uint8Array(n * 3);
    const ch = this.channels;
    for (let i = 0; i < n; i++) {
      if (ch <= 2) {
        const v = this.data[i * ch]!;
        out[i * 3] = v;
        out[i * 3 + 1] = v;
        out[i * 3 + 2] = v;
      } else {
        out[i * 3] = this.data[i * 4]!;
        out[i * 3 + 1] = this.data[i * 4 + 1]!;
        out[i * 3 + 2] = this.data[i * 4 + 2]!;
      }
    }
    return new RawImage(out, this.width, this.height, 3);
  }

  /** `convert(mode)` for the modes RawImage holds (L uses PIL's ITU-R 601-2 luma, rounded as PIL). */
  convert(mode: 'L' | 'RGB' | 'RGBA'): RawImage {
    if (mode === this.mode) return this;
    if (mode === 'RGB') return this.rgb();
    const n = this.width * this.height;
    const ch = this.channels;
    if (mode === 'RGBA') {
      const out = new Uint8Array(n * 4);
      for (let i = 0; i < n; i++) {
        const gray = ch <= 2;
        for (let c = 0; c < 3; c++) out[i * 4 + c] = this.data[i * ch + (gray ? 0 : c)]!;
        out[i * 4 + 3] = ch === 2 || ch === 4 ? this.data[i * ch + ch - 1]! : 255;
      }
      return new RawImage(out, this.width, this.height, 4);
    }
    if (mode === 'L') {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (ch <= 2) out[i] = this.data[i * ch]!;
        else {
          // Convert.c L24: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16
          const p = i * ch;
          out[i] = (this.data[p]! * 19595 + this.data[p + 1]! * 38470 + this.data[p + 2]! * 7471 + 0x8000) >>> 16;
        }
      }
      return new RawImage(out, this.width, this.height, 1);
    }
    throw new Error(`RawImage.convert: unsupported mode '${mode as string}', expected 'L', 'RGB' or 'RGBA'`);
  }

  /** `PIL.Image.resize((width, height), resample, box, reducing_gap)`, bit-exact. */
  resize(width: number, height: number, options: ResizeOptions = {}): RawImage {
    const r = resize(this, width, height, options);
    return new RawImage(r.data as Uint8Array, r.width, r.height, r.channels);
  }
}

/** Decode an image and convert it to RGB, as `PIL.Image.open(x).convert('RGB')`. */
export async function loadImage(input: ImageInput, options: LoadImageOptions = {}): Promise<RawImage> {
  return (await RawImage.read(input, options)).rgb();
}

function describe(input: unknown): string {
  if (typeof input === 'string') return `'${input}'`;
  if (input instanceof URL) return `'${input.href}'`;
  if (input instanceof Uint8Array) return `<${input.length} bytes>`;
  if (input instanceof ArrayBuffer) return `<${input.byteLength} bytes>`;
  return String(input);
}

async function readInput(input: ImageInput): Promise<{ bytes: Uint8Array; name: string }> {
  const name = describe(input);
  if (input instanceof Uint8Array) return { bytes: input, name };
  if (input instanceof ArrayBuffer) return { bytes: new Uint8Array(input), name };
  if (typeof Blob !== 'undefined' && input instanceof Blob) return { bytes: new Uint8Array(await input.arrayBuffer()), name: `<Blob ${input.type || 'untyped'}, ${input.size} bytes>` };
  const url = input instanceof URL ? input : typeof input === 'string' ? env.asUrl(input) : null;
  if (url) {
    try {
      return { bytes: await env.readBytes(url.href, { expected: 'an image', cache: false }), name };
    } catch (e) {
      throw new Error(`loadImage: ${(e as Error).message}`);
    }
  }
  if (typeof input === 'string') {
    try {
      return { bytes: await env.readBytes(input, { expected: 'an image', cache: false }), name };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
      throw new Error(`loadImage: cannot read image file ${name}: ${why}`);
    }
  }
  throw new Error(
    `loadImage: expected a file path, an http(s) URL, encoded image bytes (Uint8Array/Buffer/ArrayBuffer/Blob), a RawImage (or in a browser ImageData, ImageBitmap, an <img> or a canvas), got ${
      input === null ? 'null' : typeof input === 'object' ? (input as object).constructor?.name : typeof input
    }`,
  );
}

function fromDecoded(p: DecodedPixels): RawImage {
  return new RawImage(p.data, p.width, p.height, p.channels);
}

/** PIL's `_decompression_bomb_check`: error above 2 × limit, warning above the limit. */
function checkPixels(width: number, height: number, name: string, options: LoadImageOptions): void {
  const limit = options.maxImagePixels === undefined ? MAX_IMAGE_PIXELS : options.maxImagePixels;
  if (limit === null) return;
  const pixels = width * height;
  const option = options.maxImagePixelsOption;
  if (pixels > 2 * limit) {
    const fix = option ? `Raise ${option}, or give ${option} 0 for no limit,` : 'Pass { maxImagePixels: null }';
    throw new Error(
      `loadImage: image ${name} is ${width}x${height} = ${pixels} pixels, over the limit of ${2 * limit} ` +
        `(2 × ${option ?? 'maxImagePixels'} ${limit}); this could be a decompression bomb. ${fix} to load it anyway.`,
    );
  }
  if (pixels > limit) {
    env.warn(`image ${name} is ${pixels} pixels, over ${option ?? 'maxImagePixels'} ${limit}: could be a decompression bomb`, 'DecompressionBombWarning');
  }
}

async function decode(bytes: Uint8Array, name: string, options: LoadImageOptions): Promise<RawImage> {
  if (bytes.length === 0) throw new Error(`loadImage: ${name} is empty, expected an encoded JPEG, PNG, WebP, GIF, TIFF or BMP image`);
  if (isBmp(bytes)) {
    const { width, height } = bmpSize(bytes, name);
    checkPixels(width, height, name, options);
    const img = decodeBmp(bytes, name);
    return new RawImage(img.data, img.width, img.height, img.channels);
  }
  return fromDecoded(await env.decodeImage(bytes, name, (width, height) => checkPixels(width, height, name, options)));
}
