// `pipeline('image-to-text', model?)`, as in transformers.js and Python: a function from images to
// `[{ generated_text }]`. With no model it is the bundled OCR model reading pages (OCRReader);
// a model whose decoder is TrOCR reads pages too; any other model (a captioner) reads each image
// whole.

import type { GenerateOptions, GenerationSettings } from '../generation/search.js';
import { VisionEncoderDecoderModel, type InferenceDtype } from '../models/vision_encoder_decoder.js';
import type { ImageInput } from '../processing/image.js';
import { AutoProcessor, type ImageTextProcessor } from '../processing/processors.js';
import { tensorRows } from '../runtime/tensor.js';
import { OCRReader, bundledOCRModel, type GenerationOptions, type ReadOptions } from './reader.js';

export interface ImageToTextOutput {
  generated_text: string;
}

export interface PipelineOptions {
  /** Weights generate() computes with (default 'float32'). */
  dtype?: InferenceDtype;
  /** 'lines': find the text lines of each image and read them (default for OCR models); 'none': each image whole. */
  layout?: 'lines' | 'none';
}

export type PipelineCallOptions = GenerationOptions & Pick<ReadOptions, 'batch_size' | 'maxImagePixels'>;

export interface ImageToTextPipeline {
  (images: ImageInput, options?: PipelineCallOptions): Promise<ImageToTextOutput[]>;
  (images: readonly ImageInput[], options?: PipelineCallOptions): Promise<ImageToTextOutput[][]>;
  readonly task: 'image-to-text';
  readonly model: VisionEncoderDecoderModel;
  readonly processor: ImageTextProcessor;
  readonly tokenizer: ImageTextProcessor['tokenizer'];
  /** The page reader, when this pipeline reads lines. */
  readonly reader: OCRReader | null;
}

export type PipelineTask = 'image-to-text';

/**
 * A task's pipeline. `model` is a folder, hub id or URL (default: the bundled OCR model);
 * options: `dtype`, `layout`. Generation options (num_beams, max_new_tokens, ...) can be given
 * here too and are the call's defaults.
 */
export async function pipeline(
  task: PipelineTask,
  model?: string | null,
  options: PipelineOptions & PipelineCallOptions = {},
): Promise<ImageToTextPipeline> {
  if (task !== 'image-to-text') throw new Error(`pipeline: unsupported task '${String(task)}', expected 'image-to-text'`);
  const { dtype, layout, ...defaults } = options;
  const id = model ?? bundledOCRModel();
  const loaded = await VisionEncoderDecoderModel.from_pretrained(id, { dtype });
  const processor = await AutoProcessor.from_pretrained(id);
  const readsLines = layout === undefined ? loaded.config.decoder.model_type === 'trocr' : layout === 'lines';
  if (layout !== undefined && layout !== 'lines' && layout !== 'none') throw new Error(`pipeline: layout must be 'lines' or 'none', got '${String(layout)}'`);
  const reader = readsLines ? new OCRReader(loaded, processor) : null;

  async function run(images: ImageInput | readonly ImageInput[], call: PipelineCallOptions = {}): Promise<ImageToTextOutput[] | ImageToTextOutput[][]> {
    const many = Array.isArray(images);
    const list = many ? (images as readonly ImageInput[]) : [images as ImageInput];
    const opts = { ...defaults, ...call };
    let texts: string[];
    if (reader) {
      texts = (await reader.read(list, opts)).map((r) => r.text);
    } else {
      const { batch_size, maxImagePixels, ...generateOptions } = opts;
      texts = [];
      const size = batch_size ?? 8;
      for (let s = 0; s < list.length; s += size) {
        const { pixel_values } = await processor.image_processor.preprocess(list.slice(s, s + size) as ImageInput[], { maxImagePixels });
        const ids = await loaded.generate(pixel_values, { ...generateOptions, num_return_sequences: 1 });
        texts.push(...processor.batch_decode(tensorRows(ids), { skip_special_tokens: true }));
      }
    }
    const out = texts.map((t) => [{ generated_text: t }]);
    return many ? out : out[0]!;
  }
  return Object.assign(run as ImageToTextPipeline, {
    task: 'image-to-text' as const,
    model: loaded,
    processor,
    tokenizer: processor.tokenizer,
    reader,
  });
}
