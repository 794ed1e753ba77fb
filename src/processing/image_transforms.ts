// The numpy image operations of transformers' `image_transforms.py`, on channels-last arrays,
// with the same dtypes and the same order of floating-point operations, so that results are
// bit-identical to Python's:
//   - rescale: `image.astype(float64) * scale`, then cast to float32;
//   - normalize: float32 `(image - mean) / std` with mean and std cast to float32 first;
//   - resize: through PIL on uint8 (see resize.ts), float arrays converted to uint8 first exactly
//     as `to_pil_image` does and scaled back by 1/255 afterwards;
//   - center_crop / pad: zero padding, the same offsets (floor for the crop, ceil for its pad).

import { Tensor } from '../runtime/tensor.js';
import { resize as pilResize, resizeTorchvision, type TorchInterpolation } from './resize.js';

/** An image as transformers holds it between steps: height × width × channels, uint8 or float32. */
export interface ImageArray {
  data: Uint8Array | Float32Array;
  height: number;
  width: number;
  channels: number;
}

export function imageArray(data: Uint8Array | Uint8ClampedArray | Float32Array, height: number, width: number, channels: number): ImageArray {
  if (data.length !== height * width * channels) {
    throw new Error(`image array: ${data.length} values do not fill ${height}x${width}x${channels}`);
  }
  return { data: data instanceof Uint8ClampedArray ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data, height, width, channels };
}

/** `rescale`: multiply in float64, store float32. */
export function rescale(image: ImageArray, scale: number): ImageArray {
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * scale;
  return { ...image, data: out };
}

/** `normalize`: `(x - mean) / std` per channel, in float32 like numpy on a float32 array. */
export function normalize(image: ImageArray, mean: number | readonly number[], std: number | readonly number[]): ImageArray {
  const ch = image.channels;
  const expand = (v: number | readonly number[], what: string): Float32Array => {
    if (typeof v === 'number') return new Float32Array(ch).fill(v);
    if (v.length !== ch) throw new Error(`normalize: ${what} must have ${ch} elements (one per channel), got ${v.length}`);
    return Float32Array.from(v);
  };
  const m = expand(mean, 'image_mean');
  const s = expand(std, 'image_std');
  // uint8 images are cast to float32 first; each float32 operation rounds once, which
  // Math.fround of the double result reproduces exactly.
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const c = i % ch;
    out[i] = Math.fround(Math.fround(src[i]!) - m[c]!) / s[c]!;
  }
  return { ...image, data: out };
}

/**
 * `center_crop` to (height, width): offsets `(orig - crop) // 2`; an image smaller than the
 * crop is first placed, zero-padded, at offset `ceil((new - orig) / 2)` as transformers does.
 */
export function centerCrop(image: ImageArray, size: readonly [number, number]): ImageArray {
  const [cropH, cropW] = [Math.trunc(size[0]), Math.trunc(size[1])];
  if (cropH < 1 || cropW < 1) throw new Error(`center_crop: crop size must be positive, got ${size[0]}x${size[1]}`);
  const { height: h, width: w } = image;
  let top = Math.floor((h - cropH) / 2);
  let left = Math.floor((w - cropW) / 2);
  if (top >= 0 && left >= 0 && top + cropH <= h && left + cropW <= w) return cropArray(image, top, left, cropH, cropW);
  const newH = Math.max(cropH, h);
  const newW = Math.max(cropW, w);
  const padTop = Math.ceil((newH - h) / 2);
  const padLeft = Math.ceil((newW - w) / 2);
  const padded = pad(image, [
    [padTop, newH - h - padTop],
    [padLeft, newW - w - padLeft],
  ]);
  top += padTop;
  left += padLeft;
  const t = Math.max(0, top);
  const l = Math.max(0, left);
  return cropArray(padded, t, l, Math.min(newH, top + cropH) - t, Math.min(newW, left + cropW) - l);
}

export function cropArray(image: ImageArray, top: number, left: number, height: number, width: number): ImageArray {
  const ch = image.channels;
  const out = new (image.data instanceof Float32Array ? Float32Array : Uint8Array)(height * width * ch);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * image.width + left) * ch;
    out.set(image.data.subarray(s, s + width * ch), y * width * ch);
  }
  return { data: out, height, width, channels: ch };
}

/** `pad` in 'constant' mode: ((top, bottom), (left, right)) around the image, filled with `value`. */
export function pad(image: ImageArray, padding: readonly [readonly [number, number], readonly [number, number]], value = 0): ImageArray {
  const [[top, bottom], [left, right]] = padding;
  for (const p of [top, bottom, left, right]) {
    if (!Number.isInteger(p) || p < 0) throw new Error(`pad: padding must be non-negative integers, got ((${top}, ${bottom}), (${left}, ${right}))`);
  }
  const ch = image.channels;
  const h = image.height + top + bottom;
  const w = image.width + left + right;
  const out = new (image.data instanceof Float32Array ? Float32Array : Uint8Array)(h * w * ch);
  if (value !== 0) out.fill(value);
  for (let y = 0; y < image.height; y++) {
    const s = y * image.width * ch;
    out.set(image.data.subarray(s, s + image.width * ch), ((y + top) * w + left) * ch);
  }
  return { data: out, height: h, width: w, channels: ch };
}

/** `np.rot90(image, k)` on the (height, width) plane: k quarter turns counter-clockwise. */
export function rot90(image: ImageArray, k = 1): ImageArray {
  k = ((k % 4) + 4) % 4;
  let cur = image;
  for (let t = 0; t < k; t++) {
    const { height: h, width: w, channels: ch } = cur;
    const out = new (cur.data instanceof Float32Array ? Float32Array : Uint8Array)(cur.data.length);
    // Counter-clockwise: out[i][j] = in[j][w - 1 - i], output is w × h.
    for (let i = 0; i < w; i++) {
      for (let j = 0; j < h; j++) {
        const s = (j * w + (w - 1 - i)) * ch;
        const d = (i * h + j) * ch;
        for (let c = 0; c < ch; c++) out[d + c] = cur.data[s + c]!;
      }
    }
    cur = { data: out, height: w, width: h, channels: ch };
  }
  return cur;
}

/**
 * `_rescale_for_pil_conversion`: uint8 goes to PIL as is; integer-valued floats in [0, 255] are
 * cast; floats in [0, 1] are multiplied by 255 first; anything else cannot become uint8.
 */
function needsRescaleForPil(data: Float32Array): boolean {
  let allInt = true;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // np.allclose(image, image.astype(int)): |a - b| <= 1e-8 + 1e-5 * |b|
    const t = Math.trunc(v);
    if (allInt && !(Math.abs(v - t) <= 1e-8 + 1e-5 * Math.abs(t))) allInt = false;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (allInt) {
    if (min >= 0 && max <= 255) return false;
    throw new Error(`resize: the image contains values outside [0, 255], got [${min}, ${max}], which cannot be converted to uint8 for PIL`);
  }
  if (min >= 0 && max <= 1) return true;
  throw new Error(`resize: the image contains values outside [0, 1], got [${min}, ${max}], which cannot be converted to uint8 for PIL`);
}

/**
 * transformers' `image_transforms.resize(image, (height, width), resample, reducing_gap)`:
 * the pixels go through PIL as uint8 (channels 1, 3 or 4), and come back uint8 — or float32
 * scaled back into [0, 1] when a [0, 1] float image had to be multiplied by 255 for PIL.
 */
export function resize(
  image: ImageArray,
  size: readonly [number, number],
  resample: number = 2,
  reducingGap: number | null = null,
): ImageArray {
  const [height, width] = size;
  let data: Uint8Array;
  let rescaled = false;
  if (image.data instanceof Float32Array) {
    rescaled = needsRescaleForPil(image.data);
    const src = rescaled ? rescale(image, 255).data : image.data;
    // numpy's astype(uint8) truncates toward zero.
    data = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) data[i] = Math.trunc(src[i]!);
  } else {
    data = image.data;
  }
  const out = pilResize({ data, width: image.width, height: image.height, channels: image.channels }, width, height, {
    resample,
    reducing_gap: reducingGap,
  });
  const result: ImageArray = { data: out.data as Uint8Array, height: out.height, width: out.width, channels: out.channels };
  return rescaled ? rescale(result, 1 / 255) : result;
}

/** Stack channels-last images into a float32 [N, C, H, W] tensor (`to_channel_dimension_format` FIRST). */
export function toChannelsFirstBatch(images: readonly ImageArray[]): Tensor {
  if (images.length === 0) throw new Error('preprocess: no images given');
  const { height: h, width: w, channels: ch } = images[0]!;
  for (const [i, im] of images.entries()) {
    if (im.height !== h || im.width !== w || im.channels !== ch) {
      throw new Error(
        `preprocess: images in a batch must end up the same size to be stacked; image 0 is ${ch}x${h}x${w}, image ${i} is ${im.channels}x${im.height}x${im.width}`,
      );
    }
  }
  const plane = h * w;
  const out = new Float32Array(images.length * ch * plane);
  images.forEach((im, n) => planesInto(out, n * ch * plane, im.data, plane, ch));
  return new Tensor('float32', out, [images.length, ch, h, w]);
}

/** Channels-last pixels into `ch` planes from `base`; one pass per plane, sequential writes (3× faster than interleaved writes). */
function planesInto(out: Float32Array, base: number, data: ImageArray['data'], plane: number, ch: number): void {
  for (let c = 0; c < ch; c++) {
    const o = base + c * plane;
    for (let p = 0, k = c; p < plane; p++, k += ch) out[o + p] = data[k]!;
  }
}

// ---------------------------------------------------------------------------------------------
// The torchvision backend of transformers >= 5 (image_processing_backends.TorchvisionBackend):
// uint8 tensors resized by torchvision, rescale and normalize fused into one float32 normalize.

/** transformers' pil_torch_interpolation_mapping, restricted to what torchvision does on tensors. */
function torchMode(resample: number): TorchInterpolation {
  switch (resample) {
    case 0:
      return 'nearest-exact';
    case 2:
      return 'bilinear';
    case 3:
    case 1: // LANCZOS: transformers warns and uses BICUBIC on tensors
      return 'bicubic';
    default:
      throw new Error(
        `resize: resample ${resample} (${resample === 4 ? 'BOX' : 'HAMMING'}) is not supported by the torchvision backend; use the PIL backend (backend: 'pil')`,
      );
  }
}

/** `tvF.resize(image, (height, width), interpolation, antialias=True)` on a uint8 image. */
export function resizeTv(image: ImageArray, size: readonly [number, number], resample: number = 2): ImageArray {
  if (image.data instanceof Float32Array) throw new Error('resize: the torchvision backend resizes uint8 images only (resize before rescaling)');
  const out = resizeTorchvision({ data: image.data, width: image.width, height: image.height, channels: image.channels }, size[1], size[0], torchMode(resample));
  return { data: out.data as Uint8Array, height: out.height, width: out.width, channels: out.channels };
}

/**
 * `TorchvisionBackend._rescale_and_normalize`: with both steps, mean and std are multiplied by
 * 1/rescale_factor (float32) and the uint8 image normalized directly; rescale alone is a float32
 * multiply; normalize alone a float32 `(x - mean) / std`.
 */
export function rescaleAndNormalizeTv(
  image: ImageArray,
  doRescale: boolean,
  rescaleFactor: number,
  doNormalize: boolean,
  mean: number | readonly number[],
  std: number | readonly number[],
): ImageArray {
  const ch = image.channels;
  const src = image.data;
  const out = new Float32Array(src.length);
  if (doNormalize) {
    const vec = (v: number | readonly number[], what: string) => {
      const a = typeof v === 'number' ? new Array<number>(ch).fill(v) : [...v];
      if (a.length !== ch) throw new Error(`normalize: ${what} must have ${ch} elements (one per channel), got ${a.length}`);
      const inv = Math.fround(1.0 / rescaleFactor);
      return Float32Array.from(a, (x) => (doRescale ? Math.fround(x) * inv : x));
    };
    const m = vec(mean, 'image_mean');
    const s = vec(std, 'image_std');
    // Channel by channel with the channel's constants in hand: the same arithmetic as
    // (x - m[i % ch]) / s[i % ch] per element, without a modulo and two table reads each.
    for (let c = 0; c < ch; c++) {
      const mc = m[c]!;
      const sc = s[c]!;
      for (let i = c; i < src.length; i += ch) out[i] = Math.fround(src[i]! - mc) / sc;
    }
  } else if (doRescale) {
    const f = Math.fround(rescaleFactor);
    for (let i = 0; i < src.length; i++) out[i] = src[i]! * f;
  } else {
    out.set(src);
  }
  return { ...image, data: out };
}

/** TorchvisionBackend.center_crop: zero-pad (floor before, ceil after) when too small, then crop at int((h - ch) / 2). */
export function centerCropTv(image: ImageArray, size: readonly [number, number]): ImageArray {
  const [cropH, cropW] = size;
  let img = image;
  if (cropW > img.width || cropH > img.height) {
    const dw = Math.max(cropW - img.width, 0);
    const dh = Math.max(cropH - img.height, 0);
    img = pad(img, [
      [Math.floor(dh / 2), Math.floor((dh + 1) / 2)],
      [Math.floor(dw / 2), Math.floor((dw + 1) / 2)],
    ]);
    if (img.width === cropW && img.height === cropH) return img;
  }
  return cropArray(img, Math.trunc((img.height - cropH) / 2), Math.trunc((img.width - cropW) / 2), cropH, cropW);
}

// ---------------------------------------------------------------------------------------------
// Output sizes (image_transforms.get_resize_output_image_size and friends).

/**
 * `get_resize_output_image_size(image, size, default_to_square=False, max_size)`: the shorter
 * side becomes `size`, the longer `int(size * long / short)`. Returns (height, width).
 */
export function getResizeOutputImageSize(height: number, width: number, size: number, maxSize: number | null = null): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== null) {
    if (maxSize <= size) throw new Error(`max_size = ${maxSize} must be strictly greater than the requested size for the smaller edge size = ${size}`);
    if (newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
  }
  return width <= height ? [newLong, newShort] : [newShort, newLong];
}

/** `get_size_with_aspect_ratio((h, w), shortest_edge, longest_edge)`. Returns (height, width). */
export function getSizeWithAspectRatio(height: number, width: number, size: number, maxSize: number | null = null): [number, number] {
  let rawSize: number | null = null;
  if (maxSize !== null) {
    const minOrig = Math.min(height, width);
    const maxOrig = Math.max(height, width);
    if ((maxOrig / minOrig) * size > maxSize) {
      rawSize = (maxSize * minOrig) / maxOrig;
      size = pyRound(rawSize);
    }
  }
  if ((height <= width && height === size) || (width <= height && width === size)) return [height, width];
  if (width < height) return [rawSize !== null ? Math.trunc((rawSize * height) / width) : Math.trunc((size * height) / width), size];
  return [size, rawSize !== null ? Math.trunc((rawSize * width) / height) : Math.trunc((size * width) / height)];
}

/** Python's round(): half to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
