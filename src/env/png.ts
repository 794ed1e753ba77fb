// The common PNG, decoded with node:zlib: 8-bit greyscale, grey + alpha, RGB or RGBA, not
// interlaced, no tRNS colour key. Loading sharp (libvips) costs a `ved ocr` process about a
// quarter of a second before it reads one pixel; these PNGs, the usual screenshot and scan, need
// none of it. Lossless, so the pixels are the file's, as sharp and PIL give them. Anything else
// (palette, 16-bit, interlace, a bad CRC, a truncated file) returns null and goes to sharp, which
// decodes it or says what is wrong with it.

import { inflateSync } from 'node:zlib';
import type { DecodedPixels } from './types.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The header's size, or null when this is not a PNG this decoder takes. */
export function simplePngSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colour, compression, filter, interlace] = bytes.subarray(24, 29);
  if (depth !== 8 || CHANNELS[colour!] === undefined || compression !== 0 || filter !== 0 || interlace !== 0 || width === 0 || height === 0) return null;
  return { width, height };
}

/** Decode a PNG that simplePngSize accepted; null on anything unexpected (then sharp decodes it). */
export function decodeSimplePng(bytes: Uint8Array): DecodedPixels | null {
  const size = simplePngSize(bytes);
  if (!size) return null;
  const { width, height } = size;
  const channels = CHANNELS[bytes[25]!]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let pos = 8;
  let ended = false;
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + len;
    if (end > bytes.length) return null;
    if (crc32(bytes, pos + 4, pos + 8 + len) !== view.getUint32(pos + 8 + len)) return null;
    if (type === 'IDAT') idat.push(bytes.subarray(pos + 8, pos + 8 + len));
    else if (type === 'tRNS' || type === 'PLTE') return null; // a colour key gives an alpha channel: sharp's way
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos = end;
  }
  if (!ended || idat.length === 0) return null;
  let raw: Uint8Array;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  } catch {
    return null;
  }
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) return null;
  const out = new Uint8Array(height * stride);
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + stride), row);
        break;
      case 1:
        for (let x = 0; x < stride; x++) out[row + x] = (raw[src + x]! + (x >= bpp ? out[row + x - bpp]! : 0)) & 0xff;
        break;
      case 2:
        for (let x = 0; x < stride; x++) out[row + x] = (raw[src + x]! + (y > 0 ? out[prev + x]! : 0)) & 0xff;
        break;
      case 3:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? out[row + x - bpp]! : 0;
          const b = y > 0 ? out[prev + x]! : 0;
          out[row + x] = (raw[src + x]! + ((a + b) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? out[row + x - bpp]! : 0;
          const b = y > 0 ? out[prev + x]! : 0;
          const c = x >= bpp && y > 0 ? out[prev + x - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          out[row + x] = (raw[src + x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        return null;
    }
  }
  return { data: out, width, height, channels };
}
