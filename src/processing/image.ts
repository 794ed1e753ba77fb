// Images in memory and their decoding, matching what Python gets from
// `PIL.Image.open(x).convert('RGB')` — the input every image processor here expects.
//
// Decoding uses sharp (libvips) for JPEG, PNG, WebP, GIF and TIFF, with the settings that keep
// its output equal to PIL's: no EXIF auto-rotation (PIL does not rotate), embedded ICC profiles
// ignored (PIL does not colour-manage), alpha left unpremultiplied. Conversions to RGB follow
// Pillow's Convert.c: grey replicated, alpha dropped (not composited), 16-bit greyscale clipped
// at 255 (PIL's I;16 → RGB), other 16-bit samples keep their high byte (PIL's ';16B' unpacking),
// CMYK converted with PIL's naive formula. BMP, which sharp cannot read, has its own decoder.

import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
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

export type ImageInput = string | URL | Uint8Array | ArrayBuffer | RawImage;

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
  const url = input instanceof URL ? input : typeof input === 'string' && /^https?:\/\//i.test(input) ? new URL(input) : null;
  if (url) {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`loadImage: could not fetch ${name}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new Error(`loadImage: could not fetch ${name}: HTTP ${res.status} ${res.statusText}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), name };
  }
  if (typeof input === 'string') {
    try {
      return { bytes: await readFile(input), name };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
      throw new Error(`loadImage: cannot read image file ${name}: ${why}`);
    }
  }
  throw new Error(
    `loadImage: expected a file path, an http(s) URL, encoded image bytes (Uint8Array/Buffer/ArrayBuffer) or a RawImage, got ${
      input === null ? 'null' : typeof input === 'object' ? (input as object).constructor?.name : typeof input
    }`,
  );
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
    process.emitWarning(`image ${name} is ${pixels} pixels, over ${option ?? 'maxImagePixels'} ${limit}: could be a decompression bomb`, 'DecompressionBombWarning');
  }
}

const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or BMP';

async function decode(bytes: Uint8Array, name: string, options: LoadImageOptions): Promise<RawImage> {
  if (bytes.length === 0) throw new Error(`loadImage: ${name} is empty, expected an encoded ${FORMATS} image`);
  if (isBmp(bytes)) {
    const { width, height } = bmpSize(bytes, name);
    checkPixels(width, height, name, options);
    const img = decodeBmp(bytes, name);
    return new RawImage(img.data, img.width, img.height, img.channels);
  }
  // Read the header first so the pixel limit applies before any decoding.
  const open = () => sharp(bytes, { ignoreIcc: true, limitInputPixels: false, autoOrient: false });
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await open().metadata();
  } catch (e) {
    throw new Error(`loadImage: could not decode ${name} as an image (expected ${FORMATS}): ${(e as Error).message}`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new Error(`loadImage: ${name} has no image dimensions (expected ${FORMATS})`);
  checkPixels(width, height, name, options);
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
    if (!sixteen) return new RawImage(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, ch);
    const src = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    const out = new Uint8Array(src.length);
    if (ch === 1) {
      // PIL opens 16-bit greyscale as I;16 and convert('RGB') clips it at 255.
      for (let i = 0; i < src.length; i++) out[i] = src[i]! > 255 ? 255 : src[i]!;
    } else {
      // PIL unpacks multi-band 16-bit samples (RGB;16B, LA;16B, ...) to their high byte.
      for (let i = 0; i < src.length; i++) out[i] = src[i]! >> 8;
    }
    return new RawImage(out, info.width, info.height, ch);
  } catch (e) {
    throw new Error(`loadImage: could not decode ${name}: ${(e as Error).message}`);
  }
}

/** Convert.c cmyk2rgb: r = nk - c·nk/255 with nk = 255 - k, using PIL's MULDIV255 rounding. */
function cmykToRgb(data: Uint8Array, width: number, height: number, channels: number, name: string): RawImage {
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
  return new RawImage(out, width, height, 3);
}
