// A small Windows BMP decoder: sharp (libvips) reads no BMP, and Python users feed BMP scans to
// OCR models. It yields what PIL's BmpImagePlugin yields after `convert('RGB')` (or RGBA where
// PIL opens the file as RGBA): palette images expanded, BGR reordered, 16-bit pixels widened
// with PIL's integer scaling (v * 255 / max), RLE8/RLE4 runs unpacked (unwritten pixels take
// palette index 0), bottom-up rows flipped.

export interface DecodedBmp {
  data: Uint8Array;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA: 32-bit bitfields with an alpha mask). */
  channels: 3 | 4;
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // 'BM'
}

/** Width and height from the header, so the pixel limit can be checked before decoding. */
export function bmpSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  const h = readHeader(bytes, name);
  return { width: h.width, height: h.height };
}

interface Header {
  offset: number;
  headerSize: number;
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  colors: number;
  masks: number[] | null;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function readHeader(b: Uint8Array, name: string): Header {
  const fail = (what: string): never => {
    throw new Error(`loadImage: ${name} is not a valid BMP file: ${what}`);
  };
  if (b.length < 26 || !isBmp(b)) fail('too short or missing the "BM" signature');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const offset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = BI_RGB;
  let colors = 0;
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries.
    width = dv.getUint16(18, true);
    rawHeight = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else if ([40, 52, 56, 64, 108, 124].includes(headerSize)) {
    if (b.length < 14 + Math.min(headerSize, 40)) fail('truncated header');
    width = dv.getInt32(18, true);
    rawHeight = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colors = dv.getUint32(46, true);
  } else {
    return fail(`unsupported header size ${headerSize}`);
  }
  if (width <= 0 || rawHeight === 0) fail(`bad dimensions ${width}x${rawHeight}`);
  let masks: number[] | null = null;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    // Masks follow a 40-byte header; V2+ headers carry them inside.
    const n = compression === BI_ALPHABITFIELDS || headerSize >= 56 ? 4 : 3;
    if (b.length < 54 + 4 * n) fail('truncated bitfield masks');
    masks = [];
    for (let i = 0; i < n; i++) masks.push(dv.getUint32(54 + 4 * i, true));
    if (n === 3) masks.push(0);
  }
  return { offset, headerSize, width, height: Math.abs(rawHeight), topDown: rawHeight < 0, bpp, compression, colors, masks };
}

export function decodeBmp(b: Uint8Array, name: string): DecodedBmp {
  const h = readHeader(b, name);
  const fail = (what: string): never => {
    throw new Error(`loadImage: cannot decode BMP ${name}: ${what}`);
  };
  const { width, height, bpp } = h;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);

  // Palette for 1/4/8-bit images.
  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    if (![1, 4, 8].includes(bpp)) fail(`unsupported bit depth ${bpp}`);
    const entry = h.headerSize === 12 ? 3 : 4;
    const n = h.colors > 0 && h.colors <= 1 << bpp ? h.colors : 1 << bpp;
    const start = 14 + h.headerSize + (h.masks && h.headerSize === 40 ? (h.compression === BI_ALPHABITFIELDS ? 16 : 12) : 0);
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < n; i++) {
      const p = start + i * entry;
      if (p + 3 > b.length) fail('truncated palette');
      palette[i * 3] = b[p + 2]!;
      palette[i * 3 + 1] = b[p + 1]!;
      palette[i * 3 + 2] = b[p]!;
    }
  }

  // Which pixel rows of the output each stored row fills.
  const outRow = (storedRow: number) => (h.topDown ? storedRow : height - 1 - storedRow);

  if (h.compression === BI_RLE8 || h.compression === BI_RLE4) {
    if (!palette || (h.compression === BI_RLE8 ? bpp !== 8 : bpp !== 4)) fail('RLE compression needs an 8- or 4-bit palette image');
    const idx = new Uint8Array(width * height);
    let x = 0;
    let y = 0;
    let p = h.offset;
    const put = (v: number) => {
      if (x < width && y < height) idx[outRow(y) * width + x] = v;
      x++;
    };
    while (p + 1 < b.length && y < height) {
      const count = b[p]!;
      const val = b[p + 1]!;
      p += 2;
      if (count > 0) {
        for (let i = 0; i < count; i++) put(h.compression === BI_RLE8 ? val : i % 2 === 0 ? val >> 4 : val & 15);
      } else if (val === 0) {
        x = 0;
        y++;
      } else if (val === 1) {
        break;
      } else if (val === 2) {
        x += b[p]!;
        y += b[p + 1]!;
        p += 2;
      } else {
        // Absolute run of `val` pixels, padded to a 16-bit boundary.
        const nbytes = h.compression === BI_RLE8 ? val : Math.ceil(val / 2);
        for (let i = 0; i < val; i++) {
          const byte = b[p + (h.compression === BI_RLE8 ? i : i >> 1)] ?? 0;
          put(h.compression === BI_RLE8 ? byte : i % 2 === 0 ? byte >> 4 : byte & 15);
        }
        p += nbytes + (nbytes & 1);
      }
    }
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < idx.length; i++) out.set(palette!.subarray(idx[i]! * 3, idx[i]! * 3 + 3), i * 3);
    return { data: out, width, height, channels: 3 };
  }

  if (h.compression !== BI_RGB && h.compression !== BI_BITFIELDS && h.compression !== BI_ALPHABITFIELDS) {
    fail(`unsupported compression ${h.compression} (JPEG/PNG-in-BMP are not read)`);
  }
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  if (h.offset + stride * height > b.length) fail(`pixel data truncated (need ${stride * height} bytes at offset ${h.offset}, file has ${b.length})`);

  // 16/32-bit: channel masks (defaults: 5-5-5 and BGRX).
  let masks = h.masks;
  if (bpp === 16 && !masks) masks = [0x7c00, 0x03e0, 0x001f, 0];
  if (bpp === 32 && !masks) masks = [0xff0000, 0xff00, 0xff, 0];
  const hasAlpha = bpp === 32 && masks !== null && masks[3] !== 0;
  const channels = hasAlpha ? 4 : 3;
  if ((bpp === 16 || bpp === 32) && masks) {
    for (const m of masks.slice(0, channels)) if (m === 0 && bpp === 16) fail('zero colour mask');
  } else if (bpp !== 24 && !palette) {
    fail(`unsupported bit depth ${bpp}`);
  }
  const field = (m: number) => {
    // shift and maximum of one mask: PIL widens n-bit fields with v * 255 / (2^n - 1).
    let shift = 0;
    if (m === 0) return { shift: 0, max: 0 };
    while (((m >>> shift) & 1) === 0) shift++;
    return { shift, max: m >>> shift };
  };
  const fields = masks ? masks.map(field) : [];

  const out = new Uint8Array(width * height * channels);
  for (let sy = 0; sy < height; sy++) {
    const row = h.offset + sy * stride;
    const o = outRow(sy) * width * channels;
    for (let x = 0; x < width; x++) {
      const d = o + x * channels;
      if (palette) {
        const bitPos = x * bpp;
        const byte = b[row + (bitPos >> 3)]!;
        const v = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        out[d] = palette[v * 3]!;
        out[d + 1] = palette[v * 3 + 1]!;
        out[d + 2] = palette[v * 3 + 2]!;
      } else if (bpp === 24) {
        out[d] = b[row + x * 3 + 2]!;
        out[d + 1] = b[row + x * 3 + 1]!;
        out[d + 2] = b[row + x * 3]!;
      } else {
        const px = bpp === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        for (let c = 0; c < channels; c++) {
          const f = fields[c]!;
          const v = f.max === 0 ? 0 : (px & masks![c]!) >>> f.shift;
          out[d + c] = f.max === 255 ? v : f.max === 0 ? 0 : Math.floor((v * 255) / f.max);
        }
      }
    }
  }
  return { data: out, width, height, channels };
}
