// Image resizing that reproduces Pillow's `Image.resize` pixel for pixel.
//
// Python transformers resizes through PIL (`image_transforms.resize` → `PIL.Image.resize`), so
// a model's expected inputs depend on Pillow's exact arithmetic. This file re-implements it:
//   - the convolution resampler of libImaging/Resample.c (BOX, BILINEAR, HAMMING, BICUBIC,
//     LANCZOS): separable, horizontal pass then vertical pass, filter support widened by the
//     downscale factor, coefficients normalised to sum 1 and, for 8-bit images, converted to
//     fixed point with PRECISION_BITS = 22 and rounded; every pass writes 8-bit pixels
//     (clipped to 0..255), so the intermediate image is 8-bit like Pillow's;
//   - NEAREST through Pillow's affine "scale" transform (Geometry.c), which samples the source
//     at the pixel centre `box0 + (x + 0.5) * scale`, accumulated in double precision;
//   - `reducing_gap` (Image.py): an integer box `reduce()` (Reduce.c) before the resample;
//   - RGBA / LA images are premultiplied by alpha around the resample, as Pillow converts them
//     to 'RGBa' / 'La' first (and that branch ignores `reducing_gap`, as Pillow does).
// Float images (Pillow mode 'F') use the same coefficients in double precision without the
// fixed-point step, the result stored as float32.

/** Pillow's resampling filter ids (`PIL.Image.Resampling`), as stored in preprocessor_config.json. */
export const PILImageResampling = {
  NEAREST: 0,
  LANCZOS: 1,
  BILINEAR: 2,
  BICUBIC: 3,
  BOX: 4,
  HAMMING: 5,
} as const;
export type Resampling = (typeof PILImageResampling)[keyof typeof PILImageResampling];

const FILTER_NAMES = ['NEAREST', 'LANCZOS', 'BILINEAR', 'BICUBIC', 'BOX', 'HAMMING'];

/** Pixels, row-major, channels interleaved (height × width × channels). */
export interface PixelData<T extends Uint8Array | Uint8ClampedArray | Float32Array = Uint8Array | Uint8ClampedArray | Float32Array> {
  data: T;
  width: number;
  height: number;
  channels: number;
}

export interface ResizeOptions {
  /** One of PILImageResampling; Pillow's default is BICUBIC. */
  resample?: number;
  /** Source region [x0, y0, x1, y1] in pixels (floats allowed); default the whole image. */
  box?: readonly [number, number, number, number];
  /** Pillow's `reducing_gap`: reduce by an integer factor first when the scale allows it. */
  reducing_gap?: number | null;
}

// ---------------------------------------------------------------------------------------------
// Filters (Resample.c). Each is evaluated in double precision, as in C.

interface Filter {
  fn: (x: number) => number;
  support: number;
}

function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  x = x * Math.PI;
  return Math.sin(x) / x;
}

// Pillow writes the Hamming window constants as float literals (0.54f, 0.46f): they are rounded
// to float32 before being used in double arithmetic, which changes the low bits of the weights.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<number, Filter> = {
  [PILImageResampling.BOX]: { fn: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0), support: 0.5 },
  [PILImageResampling.BILINEAR]: {
    fn: (x) => {
      if (x < 0.0) x = -x;
      return x < 1.0 ? 1.0 - x : 0.0;
    },
    support: 1.0,
  },
  [PILImageResampling.HAMMING]: {
    fn: (x) => {
      if (x < 0.0) x = -x;
      if (x === 0.0) return 1.0;
      if (x >= 1.0) return 0.0;
      x = x * Math.PI;
      return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
    },
    support: 1.0,
  },
  [PILImageResampling.BICUBIC]: {
    // Keys' cubic convolution with a = -0.5.
    fn: (x) => {
      const a = -0.5;
      if (x < 0.0) x = -x;
      if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
      if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
      return 0.0;
    },
    support: 2.0,
  },
  [PILImageResampling.LANCZOS]: {
    fn: (x) => (-3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0),
    support: 3.0,
  },
};

// ---------------------------------------------------------------------------------------------
// Coefficients (precompute_coeffs in Resample.c).

interface Coeffs {
  ksize: number;
  /** Per output pixel: first source index and number of source pixels used. */
  bounds: Int32Array;
  /** Per output pixel: ksize normalised weights (double). */
  kk: Float64Array;
}

function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  // The box is float32 in C and `in1 - in0` is a float subtraction, then widened to double.
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const off = xx * ksize;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      kk[off + x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) kk[off + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** normalize_coeffs_8bpc: weights to fixed point, rounded half away from zero. */
function fixedPoint(kk: Float64Array): Int32Array {
  const out = new Int32Array(kk.length);
  for (let i = 0; i < kk.length; i++) {
    const v = kk[i]!;
    out[i] = v < 0 ? Math.trunc(-0.5 + v * FIXED_ONE) : Math.trunc(0.5 + v * FIXED_ONE);
  }
  return out;
}

/** clip8: the accumulator (with its rounding half already added) shifted back to 8 bits, clipped. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// One pass along x (horizontal) over rows [offset, offset + outH) of the source.
function horizontal8(src: PixelData, outW: number, outH: number, offset: number, c: Coeffs): Uint8Array {
  const { data, width, channels: ch } = src;
  const k = fixedPoint(c.kk);
  const out = new Uint8Array(outW * outH * ch);
  for (let yy = 0; yy < outH; yy++) {
    const rowIn = (yy + offset) * width * ch;
    const rowOut = yy * outW * ch;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2]!;
      const xmax = c.bounds[xx * 2 + 1]!;
      const koff = xx * c.ksize;
      for (let b = 0; b < ch; b++) {
        let ss = HALF;
        for (let x = 0; x < xmax; x++) ss += data[rowIn + (x + xmin) * ch + b]! * k[koff + x]!;
        out[rowOut + xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

function vertical8(src: PixelData, outH: number, c: Coeffs): Uint8Array {
  const { data, width, channels: ch } = src;
  const k = fixedPoint(c.kk);
  const rowLen = width * ch;
  const out = new Uint8Array(rowLen * outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.bounds[yy * 2]!;
    const ymax = c.bounds[yy * 2 + 1]!;
    const koff = yy * c.ksize;
    for (let i = 0; i < rowLen; i++) {
      let ss = HALF;
      for (let y = 0; y < ymax; y++) ss += data[(y + ymin) * rowLen + i]! * k[koff + y]!;
      out[yy * rowLen + i] = clip8(ss);
    }
  }
  return out;
}

function horizontalF(src: PixelData, outW: number, outH: number, offset: number, c: Coeffs): Float32Array {
  const { data, width, channels: ch } = src;
  const out = new Float32Array(outW * outH * ch);
  for (let yy = 0; yy < outH; yy++) {
    const rowIn = (yy + offset) * width * ch;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2]!;
      const xmax = c.bounds[xx * 2 + 1]!;
      const koff = xx * c.ksize;
      for (let b = 0; b < ch; b++) {
        let ss = 0.0;
        for (let x = 0; x < xmax; x++) ss += data[rowIn + (x + xmin) * ch + b]! * c.kk[koff + x]!;
        out[(yy * outW + xx) * ch + b] = ss;
      }
    }
  }
  return out;
}

function verticalF(src: PixelData, outH: number, c: Coeffs): Float32Array {
  const { data, width, channels: ch } = src;
  const rowLen = width * ch;
  const out = new Float32Array(rowLen * outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.bounds[yy * 2]!;
    const ymax = c.bounds[yy * 2 + 1]!;
    const koff = yy * c.ksize;
    for (let i = 0; i < rowLen; i++) {
      let ss = 0.0;
      for (let y = 0; y < ymax; y++) ss += data[(y + ymin) * rowLen + i]! * c.kk[koff + y]!;
      out[yy * rowLen + i] = ss;
    }
  }
  return out;
}

/** ImagingResampleInner: horizontal pass over only the rows the vertical pass will read, then vertical. */
function resample(src: PixelData, xsize: number, ysize: number, filter: Filter, box: Float32Array): PixelData {
  const isFloat = src.data instanceof Float32Array;
  const needH = xsize !== src.width || box[0] !== 0 || box[2] !== xsize;
  const needV = ysize !== src.height || box[1] !== 0 || box[3] !== ysize;
  const vert = precomputeCoeffs(src.height, box[1]!, box[3]!, ysize, filter);
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[ysize * 2 - 2]! + vert.bounds[ysize * 2 - 1]!;
  let cur: PixelData = src;
  if (needH) {
    const horiz = precomputeCoeffs(src.width, box[0]!, box[2]!, xsize, filter);
    // The vertical pass reads the horizontally resampled rows relative to the first used row.
    for (let i = 0; i < ysize; i++) vert.bounds[i * 2] -= yFirst;
    const rows = yLast - yFirst;
    const data = isFloat ? horizontalF(cur, xsize, rows, yFirst, horiz) : horizontal8(cur, xsize, rows, yFirst, horiz);
    cur = { data, width: xsize, height: rows, channels: src.channels };
  }
  if (needV) {
    const data = isFloat ? verticalF(cur, ysize, vert) : vertical8(cur, ysize, vert);
    cur = { data, width: cur.width, height: ysize, channels: src.channels };
  }
  if (cur === src) cur = { ...src, data: src.data.slice() };
  return cur;
}

/** NEAREST: ImagingScaleAffine with a = [(x1-x0)/xsize, 0, x0, 0, (y1-y0)/ysize, y0]. */
function nearest(src: PixelData, xsize: number, ysize: number, box: Float32Array): PixelData {
  const ch = src.channels;
  const a0 = Math.fround(box[2]! - box[0]!) / xsize;
  const a4 = Math.fround(box[3]! - box[1]!) / ysize;
  // COORD(v): negative → -1 (outside), else truncation. Positions are accumulated by repeated
  // addition, exactly as the C loop does, not recomputed by multiplication.
  const coord = (v: number) => (v < 0.0 ? -1 : Math.trunc(v));
  const xin = new Int32Array(xsize);
  let xo = box[0]! + a0 * 0.5;
  for (let x = 0; x < xsize; x++) {
    xin[x] = coord(xo);
    xo += a0;
  }
  const out = new (src.data instanceof Float32Array ? Float32Array : Uint8Array)(xsize * ysize * ch);
  let yo = box[1]! + a4 * 0.5;
  for (let y = 0; y < ysize; y++) {
    const yi = coord(yo);
    yo += a4;
    if (yi < 0 || yi >= src.height) continue; // rows outside stay 0 (Pillow fills them)
    for (let x = 0; x < xsize; x++) {
      const xi = xin[x]!;
      if (xi < 0 || xi >= src.width) continue;
      const s = (yi * src.width + xi) * ch;
      const d = (y * xsize + x) * ch;
      for (let b = 0; b < ch; b++) out[d + b] = src.data[s + b]!;
    }
  }
  return { data: out, width: xsize, height: ysize, channels: ch };
}

// ---------------------------------------------------------------------------------------------
// reduce() (Reduce.c): mean of each xscale × yscale block with Pillow's integer rounding; the
// last column/row may be partial blocks, averaged over their own area.

function reduceDivider(area: number): number {
  // division_UINT32: a float32 division of 2^32 by (256 · area), truncated to an integer.
  return Math.floor(Math.fround(4294967296 / (256 * area)));
}

export function reduce(src: PixelData, xscale: number, yscale: number, box?: readonly [number, number, number, number]): PixelData {
  const [bx, by, bx1, by1] = box ?? [0, 0, src.width, src.height];
  const bw = bx1 - bx;
  const bh = by1 - by;
  if (!Number.isInteger(xscale) || !Number.isInteger(yscale) || xscale < 1 || yscale < 1) {
    throw new Error(`reduce: factors must be integers >= 1, got (${xscale}, ${yscale})`);
  }
  if (bx < 0 || by < 0 || bx1 > src.width || by1 > src.height || bw <= 0 || bh <= 0) {
    throw new Error(`reduce: box [${bx}, ${by}, ${bx1}, ${by1}] must be a non-empty region inside ${src.width}x${src.height}`);
  }
  const ch = src.channels;
  const outW = Math.ceil(bw / xscale);
  const outH = Math.ceil(bh / yscale);
  const isFloat = src.data instanceof Float32Array;
  const out = isFloat ? new Float32Array(outW * outH * ch) : new Uint8Array(outW * outH * ch);
  for (let y = 0; y < outH; y++) {
    const y0 = by + y * yscale;
    const y1 = Math.min(y0 + yscale, by + bh);
    for (let x = 0; x < outW; x++) {
      const x0 = bx + x * xscale;
      const x1 = Math.min(x0 + xscale, bx + bw);
      const area = (x1 - x0) * (y1 - y0);
      for (let b = 0; b < ch; b++) {
        let ss = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) ss += src.data[(yy * src.width + xx) * ch + b]!;
        const o = (y * outW + x) * ch + b;
        if (isFloat) out[o] = ss * (1.0 / area);
        else out[o] = Math.floor(((ss + Math.floor(area / 2)) * reduceDivider(area)) / 16777216);
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: ch };
}

// ---------------------------------------------------------------------------------------------
// Premultiplied alpha for RGBA / LA (Convert.c: rgbA2rgba uses MULDIV255, the inverse divides).

function premultiply(src: PixelData): PixelData {
  const { data, channels: ch } = src;
  const out = new Uint8Array(data.length);
  const a = ch - 1;
  for (let i = 0; i < data.length; i += ch) {
    const alpha = data[i + a]!;
    for (let b = 0; b < a; b++) {
      const tmp = data[i + b]! * alpha + 128;
      out[i + b] = ((tmp >> 8) + tmp) >> 8;
    }
    out[i + a] = alpha;
  }
  return { ...src, data: out };
}

function unpremultiply(src: PixelData): PixelData {
  const { data, channels: ch } = src;
  const out = new Uint8Array(data.length);
  const a = ch - 1;
  for (let i = 0; i < data.length; i += ch) {
    const alpha = data[i + a]!;
    for (let b = 0; b < a; b++) {
      const v = data[i + b]!;
      out[i + b] = alpha === 255 || alpha === 0 ? v : Math.min(255, Math.floor((255 * v) / alpha));
    }
    out[i + a] = alpha;
  }
  return { ...src, data: out };
}

// ---------------------------------------------------------------------------------------------

function checkImage(src: PixelData): void {
  const { width, height, channels, data } = src;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize: image width and height must be positive integers, got ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new Error(`resize: images need 1 to 4 channels, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new Error(`resize: data has ${data.length} values but ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
}

/**
 * Resize like `PIL.Image.resize((width, height), resample, box, reducing_gap)`.
 * 8-bit data (Uint8Array / Uint8ClampedArray) follows Pillow's 8-bit modes (L, LA, RGB, RGBA);
 * Float32Array data with one channel follows mode 'F'.
 */
export function resize(src: PixelData, width: number, height: number, options: ResizeOptions = {}): PixelData {
  checkImage(src);
  const filterId = options.resample ?? PILImageResampling.BICUBIC;
  if (!Number.isInteger(filterId) || filterId < 0 || filterId > 5) {
    throw new Error(`resize: unknown resampling filter (${filterId}); use one of ${FILTER_NAMES.map((n, i) => `${n} (${i})`).join(', ')}`);
  }
  const reducingGap = options.reducing_gap ?? null;
  if (reducingGap !== null && !(reducingGap >= 1.0)) throw new Error(`resize: reducing_gap must be 1.0 or greater, got ${reducingGap}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize: height and width must be positive integers, got ${width}x${height}`);
  }
  const isFloat = src.data instanceof Float32Array;
  if (isFloat && src.channels !== 1) throw new Error(`resize: float32 images must have 1 channel (Pillow mode 'F'), got ${src.channels}`);
  const box = options.box ?? [0, 0, src.width, src.height];
  if (box.length !== 4) throw new Error(`resize: box must be [x0, y0, x1, y1], got [${box.join(', ')}]`);

  // Image.resize: same size and whole image → plain copy.
  if (width === src.width && height === src.height && box[0] === 0 && box[1] === 0 && box[2] === src.width && box[3] === src.height) {
    return { ...src, data: src.data.slice() };
  }
  // Image.resize converts RGBA/LA to premultiplied alpha and calls itself without reducing_gap.
  if (!isFloat && (src.channels === 2 || src.channels === 4) && filterId !== PILImageResampling.NEAREST) {
    return unpremultiply(resizeBands(premultiply(src), width, height, filterId, box, null));
  }
  return resizeBands(src, width, height, filterId, box, reducingGap);
}

/** Image.resize after the mode checks: optional reduce(), then the C resize. */
function resizeBands(
  src: PixelData,
  width: number,
  height: number,
  filterId: number,
  box: readonly number[],
  reducingGap: number | null,
): PixelData {
  let img: PixelData = src;
  let b: [number, number, number, number] = [box[0]!, box[1]!, box[2]!, box[3]!];
  if (reducingGap !== null && filterId !== PILImageResampling.NEAREST) {
    // Python's int() truncates; `or 1` turns 0 into 1.
    const fx = Math.trunc((b[2] - b[0]) / width / reducingGap) || 1;
    const fy = Math.trunc((b[3] - b[1]) / height / reducingGap) || 1;
    if (fx > 1 || fy > 1) {
      const safe = safeBox(src, width, height, filterId, b);
      img = reduce(src, fx, fy, safe);
      b = [(b[0] - safe[0]) / fx, (b[1] - safe[1]) / fy, (b[2] - safe[0]) / fx, (b[3] - safe[1]) / fy];
    }
  }
  return resampleBox(img, width, height, filterId, b);
}

const FILTER_SUPPORT: Record<number, number> = { 4: 0.5, 2: 1.0, 5: 1.0, 3: 2.0, 1: 3.0 };

/** Image._get_safe_box: the integer source region the resample may touch. */
function safeBox(src: PixelData, width: number, height: number, filterId: number, box: number[]): [number, number, number, number] {
  const support = FILTER_SUPPORT[filterId]! - 0.5;
  const sx = support * ((box[2]! - box[0]!) / width);
  const sy = support * ((box[3]! - box[1]!) / height);
  return [
    Math.max(0, Math.trunc(box[0]! - sx)),
    Math.max(0, Math.trunc(box[1]! - sy)),
    Math.min(src.width, Math.ceil(box[2]! + sx)),
    Math.min(src.height, Math.ceil(box[3]! + sy)),
  ];
}

/** The C side of `im.resize(size, resample, box)` (_imaging.c `_resize`). */
function resampleBox(src: PixelData, xsize: number, ysize: number, filterId: number, boxIn: number[]): PixelData {
  const box = Float32Array.from(boxIn); // C receives the box as float[4]
  if (box[0]! < 0 || box[1]! < 0) throw new Error(`resize: box offset can't be negative, got [${boxIn.join(', ')}]`);
  if (box[2]! > src.width || box[3]! > src.height) {
    throw new Error(`resize: box [${boxIn.join(', ')}] can't exceed the image size ${src.width}x${src.height}`);
  }
  if (box[2]! - box[0]! < 0 || box[3]! - box[1]! < 0) throw new Error(`resize: box can't be empty, got [${boxIn.join(', ')}]`);
  // Integer box of exactly the requested size: Pillow crops instead of resampling.
  if (Number.isInteger(box[0]) && box[2]! - box[0]! === xsize && Number.isInteger(box[1]) && box[3]! - box[1]! === ysize) {
    return crop(src, box[0]!, box[1]!, xsize, ysize);
  }
  if (filterId === PILImageResampling.NEAREST) return nearest(src, xsize, ysize, box);
  return resample(src, xsize, ysize, FILTERS[filterId]!, box);
}

function crop(src: PixelData, x0: number, y0: number, w: number, h: number): PixelData {
  const ch = src.channels;
  const out = new (src.data instanceof Float32Array ? Float32Array : Uint8Array)(w * h * ch);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * src.width + x0) * ch;
    out.set(src.data.subarray(s, s + w * ch), y * w * ch);
  }
  return { data: out, width: w, height: h, channels: ch };
}

// ---------------------------------------------------------------------------------------------
// torchvision / PyTorch resize of uint8 images (`tvF.resize(..., antialias=True)` →
// `F.interpolate(mode='bilinear'|'bicubic', antialias=True)` on a uint8 tensor), which is what
// transformers >= 5 uses in its default ("torchvision backend") image processors.
//
// ATen's uint8 kernel (UpSampleKernel.cpp, _compute_indices_int16_weights_aa, and its AVX2
// twin) is Pillow's algorithm with one difference: the normalised weights are stored as int16
// with a per-axis precision p, the largest p < 22 for which the biggest weight still fits
// (round(w_max · 2^(p+1)) < 2^15), instead of Pillow's fixed 22 bits. A pass computes
// clamp((2^(p-1) + Σ pixel · weight) >> p, 0, 255); the horizontal pass runs first, and a pass
// whose size does not change is skipped. Cubic weights use a = -0.5 written as ATen writes it.

/** The interpolation modes torchvision applies to uint8 tensors. */
export type TorchInterpolation = 'nearest-exact' | 'bilinear' | 'bicubic';

function torchCubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1; // cubic_convolution1
  if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; // cubic_convolution2
  return 0.0;
}

function torchWeights(inSize: number, outSize: number, interpSize: number, filter: (x: number) => number) {
  const scale = inSize / outSize; // area_pixel_compute_scale without align_corners
  const support = scale >= 1.0 ? interpSize * 0.5 * scale : interpSize * 0.5;
  const ksize = Math.ceil(support) * 2 + 1;
  const invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  const kk = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0.0;
    for (let j = 0; j < xsize; j++) {
      const w = filter((j + xmin - center + 0.5) * invscale);
      kk[i * ksize + j] = w;
      total += w;
    }
    if (total !== 0.0) for (let j = 0; j < xsize; j++) kk[i * ksize + j] /= total;
    bounds[i * 2] = xmin;
    bounds[i * 2 + 1] = xsize;
  }
  // Precision: stop at the first p whose next step would overflow int16 (at most 22).
  let wMax = kk[0]!;
  for (let i = 0; i < kk.length; i++) if (kk[i]! > wMax) wMax = kk[i]!;
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const k = new Int32Array(kk.length);
  for (let i = 0; i < kk.length; i++) {
    const v = kk[i]!;
    // (int) cast then stored as int16
    k[i] = ((v < 0 ? Math.trunc(-0.5 + v * 2 ** precision) : Math.trunc(0.5 + v * 2 ** precision)) << 16) >> 16;
  }
  return { ksize, bounds, k, precision };
}

function torchPass(src: PixelData, outW: number, outH: number, horizontal: boolean, w: ReturnType<typeof torchWeights>): Uint8Array {
  const { data, width, channels: ch } = src;
  const { bounds, k, ksize, precision } = w;
  const out = new Uint8Array(outW * outH * ch);
  const half = 1 << (precision - 1);
  // A tap's step in data: the next pixel of the row, or the same pixel of the next row. Walking
  // by it keeps the direction test and the index arithmetic out of the innermost loop.
  const step = horizontal ? ch : width * ch;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const min = bounds[o * 2]!;
      const n = bounds[o * 2 + 1]!;
      const koff = o * ksize;
      const first = horizontal ? (y * width + min) * ch : (min * width + x) * ch;
      const at = (y * outW + x) * ch;
      for (let b = 0; b < ch; b++) {
        let ss = half;
        for (let i = 0, p = first + b; i < n; i++, p += step) ss += data[p]! * k[koff + i]!;
        const v = ss >> precision;
        out[at + b] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

/** `torch.nn.functional.interpolate(x, (height, width), mode, antialias=True)` on a uint8 image. */
export function resizeTorchvision(src: PixelData, width: number, height: number, mode: TorchInterpolation): PixelData {
  checkImage(src);
  if (src.data instanceof Float32Array) throw new Error('resizeTorchvision: only uint8 images are supported');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeTorchvision: height and width must be positive integers, got ${width}x${height}`);
  }
  const ch = src.channels;
  if (width === src.width && height === src.height) return { ...src, data: Uint8Array.from(src.data) };
  if (mode === 'nearest-exact') {
    // src = min(floor((dst + 0.5) · scale), in - 1) with a float32 scale, as ATen's nearest-exact.
    const sx = Math.fround(src.width / width);
    const sy = Math.fround(src.height / height);
    const idx = (d: number, s: number, n: number) => Math.min(Math.floor(Math.fround(Math.fround(d + 0.5) * s)), n - 1);
    const out = new Uint8Array(width * height * ch);
    for (let y = 0; y < height; y++) {
      const yi = idx(y, sy, src.height);
      for (let x = 0; x < width; x++) {
        const s = (yi * src.width + idx(x, sx, src.width)) * ch;
        for (let b = 0; b < ch; b++) out[(y * width + x) * ch + b] = src.data[s + b]!;
      }
    }
    return { data: out, width, height, channels: ch };
  }
  const interpSize = mode === 'bicubic' ? 4 : 2;
  const filter = mode === 'bicubic' ? torchCubic : FILTERS[PILImageResampling.BILINEAR]!.fn;
  let cur: PixelData = src;
  if (width !== src.width) {
    const w = torchWeights(src.width, width, interpSize, filter);
    cur = { data: torchPass(cur, width, cur.height, true, w), width, height: cur.height, channels: ch };
  }
  if (height !== src.height) {
    const w = torchWeights(src.height, height, interpSize, filter);
    cur = { data: torchPass(cur, cur.width, height, false, w), width: cur.width, height, channels: ch };
  }
  return cur;
}
