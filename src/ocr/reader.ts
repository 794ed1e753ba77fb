// Reading text from images with any line-reading VisionEncoderDecoder model (the bundled
// ved-ocr-small, a TrOCR checkpoint, ...): find the lines (layout.ts), cut each into crops the
// model reads well, normalise them (dark ink on white, stretched contrast), read all crops of
// all images in batches, and put the lines back together in reading order.
//
// The normalisation is what the bundled model was trained on (its training lines went through
// lineCrops too), and it is here, not in the CLI, so that every caller gets it.

import { join } from 'node:path';
import { packageRoot } from '../env/package.js';
import type { GenerateOptions, GenerationSettings } from '../generation/search.js';
import { VisionEncoderDecoderModel, type InferenceDtype } from '../models/vision_encoder_decoder.js';
import { RawImage, type ImageInput, type LoadImageOptions } from '../processing/image.js';
import { AutoProcessor, type ImageTextProcessor } from '../processing/processors.js';
import { Tensor, tensorRows } from '../runtime/tensor.js';
import type { Box, LayoutOptions } from './layout.js';
import { preparePage, type PreparedPage } from './page.js';

/** What generate() takes, less the streamer (crops of many lines are read in one call). */
export type GenerationOptions = Partial<GenerationSettings> & Omit<GenerateOptions, 'streamer'>;

export interface OCRLine {
  text: string;
  /** [x0, y0, x1, y1) of the line's ink in the image's pixels. */
  box: Box;
}

export interface OCRResult {
  /** The lines' texts joined by '\n', top to bottom. */
  text: string;
  lines: OCRLine[];
}

export interface ReadOptions extends GenerationOptions, LayoutOptions, LoadImageOptions {
  /** Crops per generate() call (default 32). */
  batch_size?: number;
  /** Called after each batch with the crops read so far and the total. */
  progress?: (done: number, total: number) => void;
}

/** The folder (or URL) of the model bundled with this package, read when no model is named. */
export function bundledOCRModel(): string {
  // In Node this module is dist/src/ocr/reader.js or a chunk of the `ved` bundle (dist/cli/), so
  // the package is found by its package.json; in a page it is inside the one-file bundle
  // dist/browser/vision-encoder-decoder.js, served over http(s) with the package's models/.
  const here = new URL(import.meta.url);
  if (here.protocol === 'file:') return join(packageRoot(), 'models', 'ved-ocr-small') + '/';
  return new URL('../../models/ved-ocr-small/', here).href;
}

export class OCRReader {
  constructor(
    readonly model: VisionEncoderDecoderModel,
    readonly processor: ImageTextProcessor,
  ) {}

  /** A reader over a model folder, hub id or URL; without one, the bundled OCR model. */
  static async from_pretrained(pathOrId: string = bundledOCRModel(), options: { dtype?: InferenceDtype } = {}): Promise<OCRReader> {
    const model = await VisionEncoderDecoderModel.from_pretrained(pathOrId, { dtype: options.dtype });
    const processor = await AutoProcessor.from_pretrained(pathOrId);
    return new OCRReader(model, processor);
  }

  /** Read every image: one result per image, its lines top to bottom. */
  async read(images: ImageInput | readonly ImageInput[], options: ReadOptions = {}): Promise<OCRResult[]> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    const { maxAspect, minHeight, maxImagePixels, maxImagePixelsOption } = options;
    const prepared: PreparedPage[] = [];
    for (const input of list) {
      const image = await RawImage.read(input, { maxImagePixels, maxImagePixelsOption });
      prepared.push(await preparePage(image, this.processor.image_processor, { maxAspect, minHeight }));
    }
    return this.readPrepared(prepared, options);
  }

  /** Read pages that preparePage (page.ts) made ready: one result per page, its lines top to bottom. */
  async readPrepared(prepared: readonly PreparedPage[], options: ReadOptions = {}): Promise<OCRResult[]> {
    // The layout's and the decoder's options are not generate()'s.
    const { batch_size = 32, progress, maxAspect: _a, minHeight: _h, maxImagePixels: _p, maxImagePixelsOption: _o, ...generateOptions } = options;
    if (!Number.isInteger(batch_size) || batch_size < 1) throw new Error(`OCRReader.read: batch_size must be a positive integer, got ${batch_size}`);
    // Each line's chunk texts and what its joints read, filled in once the crops of all images are read.
    const pages = prepared.map((p) => p.lines.map((l) => ({ box: l.box, parts: [] as string[], joints: [] as JointReading[] })));
    const crops: Array<{ done(text: string): void; page: PreparedPage; index: number }> = [];
    prepared.forEach((p, i) => {
      p.lineOfCrop.forEach((line, index) => crops.push({ done: (t) => pages[i]![line]!.parts.push(t), page: p, index }));
      const first = p.lineOfCrop.length;
      p.jointOfCrop.forEach(([line, joint], k) => {
        const { wide, at } = p.lines[line]!.joints![joint]!;
        crops.push({ done: (text) => (pages[i]![line]!.joints[joint] = { text, wide, at }), page: p, index: first + k });
      });
    });
    const texts: string[] = [];
    for (let start = 0; start < crops.length; start += batch_size) {
      const batch = crops.slice(start, start + batch_size);
      const [c, h, w] = batch[0]!.page.cropDims;
      const size = c * h * w;
      const data = new Float32Array(batch.length * size);
      batch.forEach((b, i) => {
        if (b.page.cropDims.some((d, k) => d !== [c, h, w][k])) throw new Error('OCRReader.readPrepared: crops of different sizes');
        data.set(b.page.pixels.subarray(b.index * size, (b.index + 1) * size), i * size);
      });
      texts.push(...(await this.generateTexts(new Tensor('float32', data, [batch.length, c, h, w]), generateOptions)));
      progress?.(texts.length, crops.length);
    }
    crops.forEach((c, i) => c.done(texts[i]!.trim()));
    return pages.map((page) => {
      const lines = page
        .map(({ box, parts, joints }) => ({ text: joinChunks(parts, joints), box }))
        .filter((l) => l.text.length > 0);
      return { text: lines.map((l) => l.text).join('\n'), lines };
    });
  }

  private async generateTexts(pixel_values: Tensor, options: GenerationOptions): Promise<string[]> {
    const ids = await this.model.generate(pixel_values, { ...options, num_return_sequences: 1 });
    return this.processor.batch_decode(tensorRows(ids), { skip_special_tokens: true });
  }
}

/**
 * What a joint (TextLine.joints) was read as, whether its gap is a line height or wider, and where
 * the cut lies across it (0..1).
 */
export interface JointReading {
  text: string;
  wide: boolean;
  at?: number;
}

/**
 * A line's text from its chunks' texts and what their joints read: between two chunks, what the
 * joint shows between the end of the one and the start of the other when it lines up with both
 * and is a space, nothing, or one thin mark; otherwise a space if the joint reads one where the
 * cut lies (`at`: the letters just before and after that share of its text; anywhere in it
 * without `at`) or was not read (a cut is most often a space), nothing if not. A wide gap is
 * never nothing.
 */
export function joinChunks(texts: readonly string[], joints: readonly (JointReading | undefined)[]): string {
  let text = '';
  let glue = ' ';
  // A thin mark at the cut can show at the edge of both crops (each has a margin): read at the
  // end of one chunk and the start of the next, it counts as often as the joint shows it in a
  // row ("https://" + "/www..." with the joint's "ttps://www." is two slashes, not three).
  const parts = texts.map((p, k) => {
    const left = texts[k - 1] ?? '';
    const mark = left.at(-1);
    const j = joints[k - 1];
    if (mark === undefined || !THIN_MARKS.has(mark) || !p.startsWith(mark) || !j || j.text.length === 0) return p;
    const run = (s: string, from: number, step: 1 | -1) => {
      let n = 0;
      for (let i = from; i >= 0 && i < s.length && s[i] === mark; i += step) n++;
      return n;
    };
    let shown = 0;
    for (let i = 0; i < j.text.length; i++) if (j.text[i] === mark) shown = Math.max(shown, run(j.text, i, 1));
    const extra = run(left, left.length - 1, -1) + run(p, 0, 1) - Math.max(1, shown);
    return p.slice(Math.min(Math.max(0, extra), run(p, 0, 1)));
  });
  parts.forEach((p, k) => {
    if (p.length === 0) {
      // What an empty chunk held is unknown: keep its neighbours apart.
      glue = ' ';
      return;
    }
    text += text.length > 0 ? glue + p : p;
    const next = parts[k + 1];
    const j = joints[k];
    if (next === undefined || next.length === 0 || j === undefined || j.text.length === 0) glue = ' ';
    else {
      glue = between(p, next, j.text) ?? (spaceAtCut(j) ? ' ' : '');
      if (glue === '' && j.wide) glue = ' ';
    }
  });
  return text;
}

/**
 * Whether the joint's text has whitespace where the cut lies. A joint shows up to two line heights
 * on each side of the cut, so other gaps of the line may be read as spaces too ("The choir" across
 * a cut inside "choir"): only the letters around the cut's share of the text count.
 */
function spaceAtCut(j: JointReading): boolean {
  if (j.at === undefined) return /\s/.test(j.text);
  const cut = Math.round(j.at * j.text.length);
  return /\s/.test(j.text.slice(Math.max(0, cut - 1), cut + 1));
}

/** Marks too thin to make a segment of their own, so a cut can leave them between two chunks. */
const THIN_MARKS = new Set(['-', '\u2010', '\u2013', '\u2014', '.', ',', ':', ';', '/', '_', "'", '\u2019']);

/**
 * What `joint`, read across a cut, has between the end of `left` and the start of `right`: the
 * longest end of left found in it, then the longest start of right found after that. Null when
 * either is not found, or what lies between is more than whitespace around one thin mark (a
 * misread letter would be added to the text).
 */
function between(left: string, right: string, joint: string): string | null {
  let end = -1;
  for (let k = Math.min(left.length, joint.length); k >= 1 && end < 0; k--) {
    const at = joint.indexOf(left.slice(-k));
    if (at >= 0) end = at + k;
  }
  if (end < 0) return null;
  let start = -1;
  for (let k = Math.min(right.length, joint.length - end); k >= 1 && start < 0; k--) {
    start = joint.indexOf(right.slice(0, k), end);
  }
  if (start < 0) return null;
  const gap = joint.slice(end, start);
  const mark = gap.trim();
  if (mark.length > 0 && !THIN_MARKS.has(mark)) return null;
  return mark.length === 0 ? (gap.length > 0 ? ' ' : '') : gap.replace(/\s+/g, ' ');
}
