// What the service asks of a model: text for a batch of decoded images. The server holds only
// this interface, so it stays free of ONNX and testable with any reader; GenerateReader
// (generate_reader.ts) is the one over model.generate. A page reader that finds lines and reads
// them (OCRReader) fits as is: its read(images, options) returns { text, lines } per image.

import type { ImageText } from '../cli/records.js';
import type { RawImage } from '../processing/image.js';

/** The generation options a request may set; requests are batched together only when equal. */
export interface ReadOptions {
  num_beams?: number;
  max_new_tokens?: number;
}

export interface BatchReader {
  /**
   * One result per image, in order. `signal` is aborted when every request waiting on this batch
   * has gone (client disconnect, timeout): a reader may then stop early by rejecting.
   */
  read(images: RawImage[], options: ReadOptions, signal?: AbortSignal): Promise<ImageText[]>;
}

/** Whether the model reads text (OCR: /v1/ocr) or describes images (captioning: /v1/caption). */
export type ServeTask = 'ocr' | 'caption';
