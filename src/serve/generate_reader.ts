// BatchReader over VisionEncoderDecoderModel.generate: the whole image is one text, as
// `ved ocr` / `ved caption` read it (same preprocessing, decode and token trimming).

import { tensorRows } from '../runtime/tensor.js';
import { eosIds, trimRow } from '../generation/rows.js';
import type { ImageText } from '../cli/records.js';
import { LogitsProcessor } from '../generation/logits_process.js';
import type { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';
import type { RawImage } from '../processing/image.js';
import type { ImageTextProcessor } from '../processing/processors.js';
import type { BatchReader, ReadOptions } from './reader.js';

/** Thrown between decoding steps once the batch's signal is aborted. */
export class ReadAborted extends Error {
  constructor() {
    super('generation stopped: every request of the batch has gone');
    this.name = 'ReadAborted';
  }
}

/**
 * generate() has no cancellation of its own, but runs the caller's logits processors at every
 * step (greedy and beam search alike): this one leaves the scores untouched and throws once the
 * signal is aborted, which ends the generation between two steps.
 */
class AbortCheck extends LogitsProcessor {
  override readonly rowwise = true;
  constructor(private readonly signal: AbortSignal) {
    super();
  }
  process(_input_ids: unknown, scores: Float32Array): Float32Array {
    if (this.signal.aborted) throw new ReadAborted();
    return scores;
  }
}

export class GenerateReader implements BatchReader {
  private readonly eos: number[];

  constructor(
    readonly model: VisionEncoderDecoderModel,
    readonly processor: ImageTextProcessor,
  ) {
    this.eos = eosIds(model);
  }

  /** Loads the model and the processor saved next to it (image processor + tokenizer). */
  static async from_pretrained(modelId: string, options: { dtype?: 'float32' | 'int8' } = {}): Promise<GenerateReader> {
    const { VisionEncoderDecoderModel } = await import('../models/vision_encoder_decoder.js');
    const { AutoProcessor } = await import('../processing/processors.js');
    const model = await VisionEncoderDecoderModel.from_pretrained(modelId, { dtype: options.dtype ?? 'float32' }).catch((e: Error) => {
      throw new Error(`cannot load the model ${modelId}: ${e.message}`);
    });
    const processor = await AutoProcessor.from_pretrained(modelId).catch((e: Error) => {
      throw new Error(`cannot load the processor (image processor + tokenizer) of ${modelId}: ${e.message}`);
    });
    return new GenerateReader(model, processor);
  }

  async read(images: RawImage[], options: ReadOptions, signal?: AbortSignal): Promise<ImageText[]> {
    if (images.length === 0) return [];
    if (signal?.aborted) throw new ReadAborted();
    const { pixel_values } = await this.processor.image_processor.preprocess(images);
    const generateOptions: Record<string, unknown> = { num_return_sequences: 1 };
    if (options.num_beams !== undefined) generateOptions.num_beams = options.num_beams;
    if (options.max_new_tokens !== undefined) generateOptions.max_new_tokens = options.max_new_tokens;
    if (signal) generateOptions.logits_processor = [new AbortCheck(signal)];
    const rows = tensorRows(await this.model.generate(pixel_values, generateOptions));
    const texts = this.processor.batch_decode(rows, { skip_special_tokens: true });
    return rows.map((row, i) => ({ text: texts[i]!, token_ids: trimRow(row, this.eos) }));
  }
}
