// The common PNG, decoded by pngjs (which inflates with node:zlib): 8-bit greyscale, grey + alpha,
// RGB or RGBA, no tRNS colour key. Loading sharp (libvips) costs a `ved ocr` process about a
// quarter of a second before it reads one pixel; these PNGs, the usual screenshot and scan, need
// none of it. Lossless, so the pixels are the file's, as sharp and PIL give them. Anything else
// (palette, 16-bit, a colour key, a bad CRC, a truncated file) returns null and goes to sharp,
// which decodes it as PIL does or says what is wrong with it.

import pngjs from 'pngjs';
import type { DecodedPixels } from './types.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Channels per PNG colour type that this path takes (0 grey, 2 RGB, 4 grey + alpha, 6 RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * The header's size, or null when this is not a PNG this path takes. Read before any decoding,
 * so that the pixel limit refuses a decompression bomb before it is inflated.
 */
export function simplePngSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colour] = bytes.subarray(24, 26);
  if (depth !== 8 || CHANNELS[colour!] === undefined || width === 0 || height === 0) return null;
  return { width, height };
}

/** Decode a PNG that simplePngSize accepted; null on anything unexpected (then sharp decodes it). */
export function decodeSimplePng(bytes: Uint8Array): DecodedPixels | null {
  const size = simplePngSize(bytes);
  if (!size) return null;
  const colour = bytes[25]!;
  const channels = CHANNELS[colour]!;
  let png: pngjs.PNGWithMetadata;
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
  } catch {
    return null;
  }
  // A tRNS colour key turns grey or RGB into an image with alpha: sharp's way, not this one.
  if (png.alpha !== ((colour & 4) !== 0) || png.width !== size.width || png.height !== size.height) return null;
  // pngjs expands every pixel to RGBA; keep the file's own channels (one loop per layout: this
  // runs for every pixel of every image a service reads).
  const rgba = png.data;
  const n = png.width * png.height;
  if (channels === 4) return { data: new Uint8Array(rgba.buffer, rgba.byteOffset, n * 4), width: png.width, height: png.height, channels };
  const out = new Uint8Array(n * channels);
  if (channels === 3) {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 3) {
      out[o] = rgba[s]!;
      out[o + 1] = rgba[s + 1]!;
      out[o + 2] = rgba[s + 2]!;
    }
  } else if (channels === 2) {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 2) {
      out[o] = rgba[s]!;
      out[o + 1] = rgba[s + 3]!;
    }
  } else {
    for (let i = 0, s = 0; i < n; i++, s += 4) out[i] = rgba[s]!;
  }
  return { data: out, width: png.width, height: png.height, channels };
}
