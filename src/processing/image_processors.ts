// Image processors: images → `pixel_values`, exactly as Python transformers computes them.
// Config keys, defaults and step order follow transformers' `image_processing_vit.py`,
// `image_processing_deit.py`, `image_processing_beit.py` and `image_processing_donut.py`; the
// numeric steps are in image_transforms.ts and resize.ts.
//
// transformers >= 5 has two backends per processor: `ViTImageProcessor` is the torchvision one
// (uint8 tensors resized by torchvision with antialias, rescale+normalize fused in float32) and
// `ViTImageProcessorPil` the PIL/numpy one (the "slow" processors of transformers 4). Their
// outputs differ by one 8-bit level in some pixels, so both are implemented: the classes named
// as Python's default ones reproduce the torchvision backend (the reference fixtures come from
// it), the *Pil classes (or `backend: 'pil'`) reproduce PIL bit for bit.
//
// Every image is first converted to RGB as `PIL.Image.convert('RGB')` does (see image.ts), as
// the processors expect 3-channel input.

import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Tensor } from '../runtime/tensor.js';
import { RawImage, loadImage, type ImageInput, type LoadImageOptions } from './image.js';
import { PILImageResampling } from './resize.js';
import {
  centerCrop,
  centerCropTv,
  rescaleAndNormalizeTv,
  resizeTv,
  getResizeOutputImageSize,
  getSizeWithAspectRatio,
  imageArray,
  normalize,
  pad,
  rescale,
  resize,
  rot90,
  toChannelsFirstBatch,
  type ImageArray,
} from './image_transforms.js';
import { readText, resolveFile } from './files.js';

export const IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5];
export const IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5];
export const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225];

export const IMAGE_PROCESSOR_NAME = 'preprocessor_config.json';

/** A `size` / `crop_size` dict, in one of transformers' accepted key sets. */
export interface SizeDict {
  height?: number;
  width?: number;
  shortest_edge?: number;
  longest_edge?: number;
  max_height?: number;
  max_width?: number;
}

const VALID_SIZE_KEYS = [['height', 'width'], ['shortest_edge'], ['shortest_edge', 'longest_edge'], ['longest_edge'], ['max_height', 'max_width']];

/**
 * `get_size_dict`: an int becomes {height, width} (or {shortest_edge} when not square by
 * default), a [h, w] pair {height, width}; a dict must use one of the valid key sets.
 */
export function get_size_dict(
  size: unknown,
  { default_to_square = true, height_width_order = true, max_size = null as number | null, param_name = 'size' } = {},
): SizeDict {
  let dict: Record<string, unknown>;
  if (typeof size === 'number') {
    if (default_to_square) {
      if (max_size !== null) throw new Error(`Cannot specify both ${param_name}: int and max_size when default_to_square is true`);
      dict = { height: size, width: size };
    } else {
      dict = max_size !== null ? { shortest_edge: size, longest_edge: max_size } : { shortest_edge: size };
    }
  } else if (Array.isArray(size)) {
    if (size.length !== 2) throw new Error(`${param_name} as a list must have 2 elements, got [${size.join(', ')}]`);
    dict = height_width_order ? { height: size[0], width: size[1] } : { height: size[1], width: size[0] };
  } else if (size === null || size === undefined) {
    if (max_size === null) throw new Error(`${param_name} must be given`);
    dict = { longest_edge: max_size };
  } else if (typeof size === 'object') {
    dict = { ...(size as Record<string, unknown>) };
  } else {
    throw new Error(`${param_name} must be an int, a [height, width] pair or a dict, got ${JSON.stringify(size)}`);
  }
  const keys = Object.keys(dict).sort();
  if (!VALID_SIZE_KEYS.some((set) => set.length === keys.length && [...set].sort().every((k, i) => k === keys[i]))) {
    throw new Error(
      `${param_name} must have one of the following set of keys: ${VALID_SIZE_KEYS.map((s) => `{${s.join(', ')}}`).join(', ')}, got {${keys.join(', ')}}`,
    );
  }
  for (const k of keys) {
    const v = dict[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${param_name}.${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return dict as SizeDict;
}

/** Options of `preprocess`, overriding the processor's own settings for one call. */
export interface PreprocessOptions extends LoadImageOptions {
  do_resize?: boolean;
  size?: SizeDict | number | [number, number];
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: SizeDict | number | [number, number];
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number | number[];
  image_std?: number | number[];
  // Donut
  do_thumbnail?: boolean;
  do_align_long_axis?: boolean;
  do_pad?: boolean;
  /** Donut: pad by a random amount on each side instead of centring (Math.random, not numpy's RNG). */
  random_padding?: boolean;
}

export type Backend = 'torchvision' | 'pil';

export interface FromPretrainedOptions {
  /** AutoImageProcessor: which backend's arithmetic to reproduce (default 'torchvision', as transformers 5). */
  backend?: Backend;
  revision?: string;
  cache_dir?: string;
  local_files_only?: boolean;
  token?: string;
  /** Config overrides, as keyword arguments to Python's from_pretrained. */
  [key: string]: unknown;
}

type Config = Record<string, unknown>;

// Which config keys each processor takes, with transformers' defaults.
interface Settings {
  do_resize: boolean;
  size: SizeDict;
  resample: number;
  do_center_crop: boolean;
  crop_size: SizeDict;
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: number | number[];
  image_std: number | number[];
  do_thumbnail: boolean;
  do_align_long_axis: boolean;
  do_pad: boolean;
}

const LOADER_KEYS = new Set(['revision', 'cache_dir', 'local_files_only', 'token', 'onProgress', 'backend']);
const TYPE_KEYS = new Set(['image_processor_type', 'feature_extractor_type']);

function checkResample(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 5) {
    throw new Error(`${where}: resample must be a PIL resampling filter id 0-5 (NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5), got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkBool(v: unknown, key: string, where: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function checkNumber(v: unknown, key: string, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function checkMeanStd(v: unknown, key: string, where: string): number | number[] {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as number[];
  throw new Error(`${where}: ${key} must be a number or a list of numbers (one per channel), got ${JSON.stringify(v)}`);
}

/** The steps shared by every processor; subclasses set defaults and the order of steps. */
export abstract class BaseImageProcessor {
  /** Name written as `image_processor_type` (Python's class name). */
  static readonly processorType: string = 'BaseImageProcessor';
  /** Whose arithmetic this class reproduces: transformers' TorchvisionBackend or PilBackend. */
  static readonly backend: Backend = 'torchvision';
  /** The config keys this processor reads, with their defaults. */
  protected static readonly defaults: Partial<Settings> = {};

  do_resize!: boolean;
  size!: SizeDict;
  resample!: number;
  do_center_crop!: boolean;
  crop_size!: SizeDict;
  do_rescale!: boolean;
  rescale_factor!: number;
  do_normalize!: boolean;
  image_mean!: number | number[];
  image_std!: number | number[];
  do_thumbnail!: boolean;
  do_align_long_axis!: boolean;
  do_pad!: boolean;
  /** Config keys this processor does not use, kept for to_dict (as Python keeps them as attributes). */
  readonly extra: Config = {};

  constructor(config: Config = {}) {
    const cls = this.constructor as typeof BaseImageProcessor;
    const where = cls.processorType;
    const defaults = cls.defaults;
    const c: Config = { ...this.legacyKeys(config) };
    for (const [k, v] of Object.entries(c)) {
      if (!(k in defaults) && !TYPE_KEYS.has(k)) this.extra[k] = v;
    }
    const get = <K extends keyof Settings>(k: K): Settings[K] | undefined =>
      k in defaults ? ((c[k] ?? defaults[k]) as Settings[K]) : undefined;
    const assign = (k: keyof Settings, check: (v: unknown) => unknown) => {
      if (k in defaults) (this as unknown as Config)[k] = check(get(k));
    };
    for (const k of ['do_resize', 'do_center_crop', 'do_rescale', 'do_normalize', 'do_thumbnail', 'do_align_long_axis', 'do_pad'] as const) {
      assign(k, (v) => checkBool(v, k, where));
    }
    assign('resample', (v) => checkResample(v, where));
    assign('rescale_factor', (v) => checkNumber(v, 'rescale_factor', where));
    assign('image_mean', (v) => checkMeanStd(v, 'image_mean', where));
    assign('image_std', (v) => checkMeanStd(v, 'image_std', where));
    assign('size', (v) => this.sizeDict(v, 'size'));
    assign('crop_size', (v) => get_size_dict(v, { param_name: 'crop_size' }));
  }

  /** Renamed keys of older feature-extractor configs. */
  protected legacyKeys(config: Config): Config {
    return config;
  }

  /** How this processor reads its `size` key (Donut takes an old [width, height] list). */
  protected sizeDict(size: unknown, param: string): SizeDict {
    return get_size_dict(size, { param_name: param });
  }

  static from_dict<T extends BaseImageProcessor>(this: new (config?: Config) => T, config: Config): T {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new Error(`from_dict: expected a preprocessor config object, got ${JSON.stringify(config)}`);
    }
    return new this(config);
  }

  /** Read `preprocessor_config.json` from a local directory or hub id; extra options override keys. */
  static async from_pretrained<T extends BaseImageProcessor>(
    this: new (config?: Config) => T,
    pathOrId: string,
    options: FromPretrainedOptions = {},
  ): Promise<T> {
    const { config } = await readPreprocessorConfig(pathOrId, options);
    return new this({ ...config, ...overrides(options) });
  }

  /** The config as Python's `to_dict()` (the keys this processor uses, plus unknown ones kept). */
  to_dict(): Config {
    const cls = this.constructor as typeof BaseImageProcessor;
    const out: Config = { ...this.extra };
    for (const k of Object.keys(cls.defaults)) out[k] = structuredClone((this as unknown as Config)[k]);
    out.image_processor_type = cls.processorType;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async save_pretrained(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, IMAGE_PROCESSOR_NAME);
    await writeFile(file, JSON.stringify(this.to_dict(), null, 2) + '\n');
    return file;
  }

  get backend(): Backend {
    return (this.constructor as typeof BaseImageProcessor).backend;
  }

  /** Images (path, URL, encoded bytes or RawImage; one or an array) → `{ pixel_values }` float32 [N, 3, H, W]. */
  async preprocess(images: ImageInput | readonly ImageInput[], options: PreprocessOptions = {}): Promise<{ pixel_values: Tensor }> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    if (list.length === 0) throw new Error(`${(this.constructor as typeof BaseImageProcessor).processorType}.preprocess: no images given`);
    const s = this.settings(options);
    const arrays: ImageArray[] = [];
    for (const input of list) {
      const img = input instanceof RawImage ? input.rgb() : await loadImage(input, options);
      arrays.push(this.processImage(imageArray(img.data, img.height, img.width, 3), s, options));
    }
    return { pixel_values: toChannelsFirstBatch(arrays) };
  }

  /** Alias of `preprocess`, for Python's `processor(images)`. */
  call(images: ImageInput | readonly ImageInput[], options: PreprocessOptions = {}): Promise<{ pixel_values: Tensor }> {
    return this.preprocess(images, options);
  }

  /** One image through this processor's steps. */
  protected abstract processImage(image: ImageArray, s: Settings, options: PreprocessOptions): ImageArray;

  /** The processor's settings with one call's overrides, validated. */
  protected settings(o: PreprocessOptions): Settings {
    const where = `${(this.constructor as typeof BaseImageProcessor).processorType}.preprocess`;
    const pick = <K extends keyof Settings>(k: K): Settings[K] => ((o as Config)[k] ?? (this as unknown as Config)[k]) as Settings[K];
    const s: Settings = {
      do_resize: pick('do_resize'),
      size: o.size !== undefined ? this.sizeDict(o.size, 'size') : this.size,
      resample: o.resample !== undefined ? checkResample(o.resample, where) : this.resample,
      do_center_crop: pick('do_center_crop'),
      crop_size: o.crop_size !== undefined ? get_size_dict(o.crop_size, { param_name: 'crop_size' }) : this.crop_size,
      do_rescale: pick('do_rescale'),
      rescale_factor: pick('rescale_factor'),
      do_normalize: pick('do_normalize'),
      image_mean: pick('image_mean'),
      image_std: pick('image_std'),
      do_thumbnail: pick('do_thumbnail'),
      do_align_long_axis: pick('do_align_long_axis'),
      do_pad: pick('do_pad'),
    };
    if (s.do_rescale) checkNumber(s.rescale_factor, 'rescale_factor', where);
    if (s.do_normalize) {
      checkMeanStd(s.image_mean, 'image_mean', where);
      checkMeanStd(s.image_std, 'image_std', where);
    }
    return s;
  }

  /**
   * Resize to a size dict, as the PIL backend does: {height, width} exactly; {shortest_edge}
   * keeping the aspect ratio (optionally capped by longest_edge); {max_height, max_width}
   * fitting inside.
   */
  protected resizeTo(image: ImageArray, size: SizeDict, resample: number): ImageArray {
    const { height: h, width: w } = image;
    let target: [number, number];
    if (size.shortest_edge !== undefined && size.longest_edge !== undefined) {
      target = getSizeWithAspectRatio(h, w, size.shortest_edge, size.longest_edge);
    } else if (size.shortest_edge !== undefined) {
      target = getResizeOutputImageSize(h, w, size.shortest_edge);
    } else if (size.max_height !== undefined && size.max_width !== undefined) {
      const scale = Math.min(size.max_height / h, size.max_width / w);
      target = [Math.trunc(h * scale), Math.trunc(w * scale)];
    } else if (size.height !== undefined && size.width !== undefined) {
      target = [size.height, size.width];
    } else {
      throw new Error(`size must contain 'height' and 'width', 'shortest_edge' (+ 'longest_edge') or 'max_height' and 'max_width', got ${JSON.stringify(size)}`);
    }
    return this.resizeExact(image, target, resample);
  }

  /** Resize to (height, width) with this backend's arithmetic. */
  protected resizeExact(image: ImageArray, size: [number, number], resample: number): ImageArray {
    return this.backend === 'pil' ? resize(image, size, resample) : resizeTv(image, size, resample);
  }

  protected crop(image: ImageArray, crop: SizeDict): ImageArray {
    if (crop.height === undefined || crop.width === undefined) {
      throw new Error(`crop_size must have keys 'height' and 'width', got ${JSON.stringify(crop)}`);
    }
    return this.backend === 'pil' ? centerCrop(image, [crop.height, crop.width]) : centerCropTv(image, [crop.height, crop.width]);
  }

  /** Rescale and normalize, the last steps of every processor here. */
  protected finish(image: ImageArray, s: Settings): ImageArray {
    if (this.backend === 'torchvision') {
      return rescaleAndNormalizeTv(image, s.do_rescale, s.rescale_factor, s.do_normalize, s.image_mean, s.image_std);
    }
    if (s.do_rescale) image = rescale(image, s.rescale_factor);
    if (s.do_normalize) image = normalize(image, s.image_mean, s.image_std);
    return image;
  }
}

function overrides(options: FromPretrainedOptions): Config {
  return Object.fromEntries(Object.entries(options).filter(([k]) => !LOADER_KEYS.has(k)));
}

async function readPreprocessorConfig(pathOrId: string, options: FromPretrainedOptions): Promise<{ config: Config; file: string }> {
  const file = await resolveFile(pathOrId, IMAGE_PROCESSOR_NAME, options as { revision?: string });
  let config: unknown;
  try {
    config = JSON.parse(await readText(file, 'a JSON image processor config'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${file}: expected a JSON object of image processor settings`);
  return { config: config as Config, file };
}

// ---------------------------------------------------------------------------------------------

/** ViT (also Swin and TrOCR checkpoints): resize → rescale → normalize. */
export class ViTImageProcessor extends BaseImageProcessor {
  static override readonly processorType: string = 'ViTImageProcessor';
  protected static override readonly defaults: Partial<Settings> = {
    do_resize: true,
    size: { height: 224, width: 224 },
    resample: PILImageResampling.BILINEAR,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: IMAGENET_STANDARD_MEAN,
    image_std: IMAGENET_STANDARD_STD,
  };

  protected processImage(image: ImageArray, s: Settings): ImageArray {
    if (s.do_resize) image = this.resizeTo(image, s.size, s.resample);
    return this.finish(image, s);
  }
}

/** DeiT: resize (256) → center crop (224) → rescale → normalize. */
export class DeiTImageProcessor extends BaseImageProcessor {
  static override readonly processorType: string = 'DeiTImageProcessor';
  protected static override readonly defaults: Partial<Settings> = {
    do_resize: true,
    size: { height: 256, width: 256 },
    resample: PILImageResampling.BICUBIC,
    do_center_crop: true,
    crop_size: { height: 224, width: 224 },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: IMAGENET_STANDARD_MEAN,
    image_std: IMAGENET_STANDARD_STD,
  };

  protected processImage(image: ImageArray, s: Settings): ImageArray {
    if (s.do_resize) image = this.resizeTo(image, s.size, s.resample);
    if (s.do_center_crop) image = this.crop(image, s.crop_size);
    return this.finish(image, s);
  }
}

/** BEiT: as DeiT for images (`do_reduce_labels` only concerns segmentation maps). */
export class BeitImageProcessor extends DeiTImageProcessor {
  static override readonly processorType: string = 'BeitImageProcessor';

  protected override legacyKeys(config: Config): Config {
    // Old configs name it reduce_labels; transformers renamed it do_reduce_labels.
    if ('reduce_labels' in config && !('do_reduce_labels' in config)) {
      const { reduce_labels, ...rest } = config;
      return { ...rest, do_reduce_labels: reduce_labels };
    }
    return config;
  }

  override to_dict(): Config {
    return { do_reduce_labels: false, ...super.to_dict() };
  }
}


/**
 * Donut: align long axis (rotate 90° clockwise when the orientations differ) → resize the
 * shorter side to min(size) → thumbnail to fit in size → pad to size (centred) → rescale →
 * normalize.
 */
export class DonutImageProcessor extends BaseImageProcessor {
  static override readonly processorType: string = 'DonutImageProcessor';
  protected static override readonly defaults: Partial<Settings> = {
    do_resize: true,
    size: { height: 2560, width: 1920 },
    resample: PILImageResampling.BILINEAR,
    do_thumbnail: true,
    do_align_long_axis: false,
    do_pad: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: IMAGENET_STANDARD_MEAN,
    image_std: IMAGENET_STANDARD_STD,
  };

  /** The old DonutFeatureExtractor took size as [width, height]. */
  protected override sizeDict(size: unknown, param: string): SizeDict {
    const s = Array.isArray(size) ? [...size].reverse() : size;
    const d = get_size_dict(s, { param_name: param });
    if (d.height === undefined || d.width === undefined) throw new Error(`DonutImageProcessor: ${param} must have keys 'height' and 'width', got ${JSON.stringify(d)}`);
    return d;
  }

  protected processImage(image: ImageArray, s: Settings, options: PreprocessOptions): ImageArray {
    const H = s.size.height!;
    const W = s.size.width!;
    if (s.do_align_long_axis) image = alignLongAxis(image, H, W);
    if (s.do_resize) image = this.resizeExact(image, getResizeOutputImageSize(image.height, image.width, Math.min(H, W)), s.resample);
    if (s.do_thumbnail) {
      const t = thumbnailSize(image.height, image.width, H, W);
      // transformers 5 passes the processor's resample to thumbnail (4.x used BICUBIC with reducing_gap=2).
      if (t) image = this.resizeExact(image, t, s.resample);
    }
    if (s.do_pad) image = padImage(image, H, W, options.random_padding === true);
    return this.finish(image, s);
  }
}

/** `align_long_axis`: np.rot90(image, 3) — a quarter turn clockwise — when orientations differ. */
export function alignLongAxis(image: ImageArray, height: number, width: number): ImageArray {
  const { height: h, width: w } = image;
  if ((width < height && w > h) || (width > height && w < h)) return rot90(image, 3);
  return image;
}

/**
 * Donut's `thumbnail` size: shrink (never enlarge) to fit in (height, width) keeping the aspect
 * ratio; null when the image already fits.
 */
export function thumbnailSize(ih: number, iw: number, height: number, width: number): [number, number] | null {
  let h = Math.min(ih, height);
  let w = Math.min(iw, width);
  if (h === ih && w === iw) return null;
  if (ih > iw) w = Math.trunc((iw * h) / ih);
  else if (iw > ih) h = Math.trunc((ih * w) / iw);
  return [h, w];
}

/** Donut's `pad_image`: zero-pad to (height, width), centred (floor on top/left) or at random. */
export function padImage(image: ImageArray, height: number, width: number, randomPadding = false): ImageArray {
  const dh = height - image.height;
  const dw = width - image.width;
  if (dh < 0 || dw < 0) {
    throw new Error(`pad_image: the image (${image.height}x${image.width}) is larger than the pad size (${height}x${width}); enable do_thumbnail or enlarge size`);
  }
  const top = randomPadding ? Math.floor(Math.random() * (dh + 1)) : Math.floor(dh / 2);
  const left = randomPadding ? Math.floor(Math.random() * (dw + 1)) : Math.floor(dw / 2);
  return pad(image, [
    [top, dh - top],
    [left, dw - left],
  ]);
}

// PIL backends (transformers 5's *ImageProcessorPil, the arithmetic of transformers 4's processors).
export class ViTImageProcessorPil extends ViTImageProcessor {
  static override readonly backend: Backend = 'pil';
}
export class DeiTImageProcessorPil extends DeiTImageProcessor {
  static override readonly backend: Backend = 'pil';
}
export class BeitImageProcessorPil extends BeitImageProcessor {
  static override readonly backend: Backend = 'pil';
}
export class DonutImageProcessorPil extends DonutImageProcessor {
  static override readonly backend: Backend = 'pil';
}

// Legacy names: transformers kept the old *FeatureExtractor classes as aliases.
export const ViTFeatureExtractor = ViTImageProcessor;
export const DeiTFeatureExtractor = DeiTImageProcessor;
export const BeitFeatureExtractor = BeitImageProcessor;
export const DonutFeatureExtractor = DonutImageProcessor;

const PROCESSORS: Record<string, Record<Backend, new (config?: Config) => BaseImageProcessor>> = {
  ViTImageProcessor: { torchvision: ViTImageProcessor, pil: ViTImageProcessorPil },
  DeiTImageProcessor: { torchvision: DeiTImageProcessor, pil: DeiTImageProcessorPil },
  BeitImageProcessor: { torchvision: BeitImageProcessor, pil: BeitImageProcessorPil },
  DonutImageProcessor: { torchvision: DonutImageProcessor, pil: DonutImageProcessorPil },
};

/** Which processor a model type uses when its config names none (transformers' auto mapping). */
const BY_MODEL_TYPE: Record<string, string> = {
  vit: 'ViTImageProcessor',
  swin: 'ViTImageProcessor',
  deit: 'DeiTImageProcessor',
  beit: 'BeitImageProcessor',
  'donut-swin': 'DonutImageProcessor',
};

/** A processor class name from a config value: FeatureExtractor, Fast and Pil spellings map to ours. */
function canonicalName(name: string): string {
  return name.replace(/FeatureExtractor$/, 'ImageProcessor').replace(/(Fast|Pil)$/, '');
}

export class AutoImageProcessor {
  /**
   * Read `preprocessor_config.json` and build the processor its `image_processor_type` (or
   * legacy `feature_extractor_type`) names; without either, the model's config.json type decides.
   */
  static async from_pretrained(pathOrId: string, options: FromPretrainedOptions = {}): Promise<BaseImageProcessor> {
    const { config, file } = await readPreprocessorConfig(pathOrId, options);
    const named = (config.image_processor_type ?? config.feature_extractor_type) as unknown;
    let type: string;
    if (typeof named === 'string') {
      type = canonicalName(named);
    } else {
      const modelType = await modelTypeOf(pathOrId, options);
      if (!modelType || !BY_MODEL_TYPE[modelType]) {
        throw new Error(
          `${file} has no image_processor_type or feature_extractor_type` +
            (modelType ? `, and model_type '${modelType}' has no known image processor` : ', and no config.json says the model type') +
            `. Supported: ${Object.keys(PROCESSORS).join(', ')}`,
        );
      }
      type = BY_MODEL_TYPE[modelType]!;
    }
    const backend = options.backend ?? (typeof named === 'string' && named.endsWith('Pil') ? 'pil' : 'torchvision');
    if (backend !== 'pil' && backend !== 'torchvision') throw new Error(`AutoImageProcessor: backend must be 'torchvision' or 'pil', got ${JSON.stringify(backend)}`);
    const cls = PROCESSORS[type]?.[backend];
    if (!cls) {
      throw new Error(`${file}: unsupported image processor type '${String(named)}'. Supported: ${Object.keys(PROCESSORS).join(', ')} (and their FeatureExtractor names)`);
    }
    return new cls({ ...config, ...overrides(options) });
  }
}

async function modelTypeOf(pathOrId: string, options: FromPretrainedOptions): Promise<string | null> {
  let cfg: Config;
  try {
    cfg = JSON.parse(await readText(await resolveFile(pathOrId, 'config.json', options as { revision?: string }), 'a JSON model config')) as Config;
  } catch {
    return null;
  }
  const enc = cfg.encoder as Config | undefined;
  const t = cfg.model_type === 'vision-encoder-decoder' && enc ? enc.model_type : cfg.model_type;
  return typeof t === 'string' ? t : null;
}
