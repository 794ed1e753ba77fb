// `ved ocr` and `ved caption`: images → text with a VisionEncoderDecoderModel and the processor
// saved next to it. Both commands are this one function; they differ in the default model.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseStreamer } from '../generation/types.js';
import type { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';
import type { ImageTextProcessor } from '../processing/processors.js';
import type { PreTrainedTokenizer } from '../processing/tokenizers.js';
import { tensorRows } from '../runtime/tensor.js';
import { eosIds, hitLengthLimit, trimRow } from '../generation/rows.js';
import { checkModelArg, dtypeFlag, maxImagePixelsFlag, packageRoot, parse, positiveInt, UsageError } from './common.js';
import { imageRecord } from './records.js';
import { expandImageArgs } from './inputs.js';

/** The model `ved ocr` uses without --model, relative to the package root. */
export const BUNDLED_OCR_MODEL = join('models', 'ved-ocr-small');
/** Up to this many images, sessions skip ONNX Runtime's weight repacking (SessionOptions.prepack). */
const FEW_IMAGES = 8;

export function generateHelp(command: 'ocr' | 'caption'): string {
  const what = command === 'ocr' ? 'Read the text in images (OCR)' : 'Describe images in words (captioning)';
  const model =
    command === 'ocr'
      ? `  --model PATH|OWNER/NAME  model folder or hub id (default: the bundled ${BUNDLED_OCR_MODEL})`
      : '  --model PATH|OWNER/NAME  model folder or hub id (required)';
  return `Usage: ved ${command} [options] IMAGE...

${what} with a VisionEncoderDecoder model. The image processor and tokenizer are
loaded from the model folder (preprocessor_config.json, tokenizer.json).

IMAGE may be a file, a folder (its images, sorted by name) or a glob with *, ? and **
(quote it to let ved expand it: 'scans/**/*.png').

Options:
${model}
  --num-beams N            beam search with N beams (default: the model's generation config)
  --max-new-tokens N       at most N generated tokens per image (default: the model's)
  --batch-size N           images per forward pass (default 1; with --layout lines, line
                           crops per forward pass, default 16)
  --dtype float32|int8     weights to compute with: int8 quantizes every weight matrix per
                           output column (faster, slightly less exact; default float32)
  --max-image-pixels N     decompression-bomb limit, as PIL's Image.MAX_IMAGE_PIXELS: an image
                           of over N pixels gives a warning, of over 2 × N is refused; 0 or
                           'none': no limit (default 89478485, PIL's)
${command === 'ocr' ? `  --layout lines|none      lines (default): find the text lines of each image (pages,
                           receipts, screenshots, light text on dark), read them in
                           batches of --batch-size crops, one output line per text line;
                           none: read each image whole as one line, as it is
` : ''}  --json                   one JSON object per image and line: ${command === 'ocr' ? `{"file", "text",
                           "lines": [{"text", "box": [x0, y0, x1, y1]}], "seconds"} (with
                           --layout none: {"file", "text", "token_ids", "seconds"})` : `{"file", "text",
                           "token_ids", "seconds"}`}; token_ids is the generated
                           row up to its end-of-sequence token, seconds the image's share of
                           its batch's preprocessing and generation time
  -h, --help               show this help

${command === 'ocr' ? `Each image's text lines are printed top to bottom when the image is read, prefixed
"FILE<TAB>" when there are several images. With --layout none, t` : 'T'}he text is printed as it is generated
(greedy search; beam search prints each text when its batch is done): one line per image,
"FILE<TAB>TEXT" when there are several images, the text alone for one.
`;
}

const OPTIONS = {
  model: { type: 'string' },
  'num-beams': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'batch-size': { type: 'string' },
  dtype: { type: 'string' },
  layout: { type: 'string' },
  'max-image-pixels': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function runGenerate(command: 'ocr' | 'caption', argv: string[]): Promise<number> {
  const { values, positionals } = parse(command, argv, OPTIONS);
  if (values.help) {
    process.stdout.write(generateHelp(command));
    return 0;
  }
  const layout = values.layout ?? (command === 'ocr' ? 'lines' : 'none');
  if (command === 'caption' && values.layout !== undefined) throw new UsageError(`ved caption: unknown option --layout (see 'ved caption --help')`);
  if (layout !== 'lines' && layout !== 'none') throw new UsageError(`ved ${command}: --layout must be 'lines' or 'none', got '${layout}'`);
  const numBeams = positiveInt(command, '--num-beams', values['num-beams']);
  const maxNewTokens = positiveInt(command, '--max-new-tokens', values['max-new-tokens']);
  const batchSize = positiveInt(command, '--batch-size', values['batch-size']) ?? 1;
  const dtype = dtypeFlag(command, values.dtype);
  const imageOptions = maxImagePixelsFlag(command, values['max-image-pixels']);
  if (positionals.length === 0) throw new UsageError(`ved ${command}: no IMAGE given (see 'ved ${command} --help')`);

  const files = expandImageArgs(command, positionals);
  let modelArg = values.model;
  if (modelArg === undefined) {
    if (command === 'caption') throw new UsageError(`ved caption: --model is required (a model folder or OWNER/NAME hub id)`);
    const bundled = join(packageRoot(), BUNDLED_OCR_MODEL);
    if (!existsSync(join(bundled, 'config.json'))) {
      throw new Error(`ved ocr: no bundled model is installed (${bundled} is missing); pass --model PATH|OWNER/NAME`);
    }
    modelArg = bundled;
  }
  const modelId = checkModelArg(command, '--model', modelArg);

  // Loaded here, not at the top: `ved --help` and argument errors need no ONNX Runtime.
  const { VisionEncoderDecoderModel } = await import('../models/vision_encoder_decoder.js');
  const { AutoProcessor } = await import('../processing/processors.js');
  // A few images: the sessions load faster without repacking their weights than the calls lose
  // (bundled model, 2 cores: one line 0.56 → 0.50 s, a page 0.76 → 0.70 s, 16 lines 1.08 → 1.02 s;
  // 48 lines the same either way).
  if (files.length <= FEW_IMAGES) (await import('../runtime/session.js')).setPrepackWeights(false);
  const model = await VisionEncoderDecoderModel.from_pretrained(modelId, { dtype }).catch((e: Error) => {
    throw new Error(`ved ${command}: cannot load the model ${modelArg}: ${e.message}`);
  });
  const processor = await AutoProcessor.from_pretrained(modelId).catch((e: Error) => {
    throw new Error(`ved ${command}: cannot load the processor (image processor + tokenizer) of ${modelArg}: ${e.message}`);
  });

  const options: Record<string, unknown> = { num_return_sequences: 1 };
  if (numBeams !== undefined) options.num_beams = numBeams;
  if (maxNewTokens !== undefined) options.max_new_tokens = maxNewTokens;
  if (layout === 'lines') return readPages(command, model, processor, files, { ...options, ...imageOptions }, values['batch-size'] === undefined ? 16 : batchSize, values.json === true);
  const beams = numBeams ?? model.generation_config.num_beams ?? 1;
  const eos = eosIds(model);
  const label = files.length > 1;

  for (let start = 0; start < files.length; start += batchSize) {
    const batch = files.slice(start, start + batchSize);
    const t0 = performance.now();
    const { pixel_values } = await processor.image_processor.preprocess(batch, imageOptions).catch((e: Error) => {
      throw new Error(`ved ${command}: ${e.message}`);
    });
    // Python refuses a streamer with beam search; then each text is printed when its batch ends.
    const printer = !values.json && beams === 1 ? new StreamPrinter(processor.tokenizer, label ? batch : null, eos) : null;
    const ids = await model.generate(pixel_values, printer ? { ...options, streamer: printer } : options);
    const seconds = (performance.now() - t0) / 1000 / batch.length;
    const rows = tensorRows(ids);
    const texts = processor.batch_decode(rows, { skip_special_tokens: true });
    batch.forEach((file, i) => {
      if (hitLengthLimit(rows[i]!, eos)) process.stderr.write(`ved ${command}: ${file}: stopped at the length limit (${rows[i]!.length} tokens) before the end-of-text token; raise it with --max-new-tokens\n`);
      if (values.json) {
        process.stdout.write(JSON.stringify(imageRecord(file, { text: texts[i]!, token_ids: trimRow(rows[i]!, eos) }, seconds)) + '\n');
      } else if (!printer) {
        process.stdout.write(label ? `${file}\t${texts[i]}\n` : `${texts[i]}\n`);
      }
    });
  }
  return 0;
}

/**
 * `ved ocr` on pages: OCRReader finds each image's lines and reads their crops in batches of
 * --batch-size (crops of several images share a batch); one image's lines are printed as soon
 * as it is read.
 */
async function readPages(
  command: string,
  model: VisionEncoderDecoderModel,
  processor: ImageTextProcessor,
  files: readonly string[],
  options: Record<string, unknown>,
  batchSize: number,
  json: boolean,
): Promise<number> {
  const { OCRReader } = await import('../ocr/reader.js');
  const reader = new OCRReader(model, processor);
  const label = files.length > 1;
  // Images go in groups, so that the crops of small images share generate() calls.
  const group = Math.max(1, Math.min(16, batchSize));
  for (let start = 0; start < files.length; start += group) {
    const batch = files.slice(start, start + group);
    const t0 = performance.now();
    const results = await reader.read(batch, { ...options, batch_size: batchSize }).catch((e: Error) => {
      throw new Error(`ved ${command}: ${e.message}`);
    });
    const seconds = (performance.now() - t0) / 1000 / batch.length;
    batch.forEach((file, i) => {
      const r = results[i]!;
      if (json) process.stdout.write(JSON.stringify(imageRecord(file, r, seconds)) + '\n');
      else for (const line of r.lines) process.stdout.write(label ? `${file}\t${line.text}\n` : `${line.text}\n`);
    });
  }
  return 0;
}

/**
 * Prints the rows of one batch while generate() runs, in order: the first row streams live; when
 * it ends (its end-of-sequence token), the next row's text so far is printed and it streams on.
 * Each row is decoded whole at every step and only the new part is written, so that multi-token
 * characters and the decoder's spacing come out as the full decode gives them; a trailing U+FFFD
 * (half a UTF-8 character) is held back until the next token completes it.
 */
export class StreamPrinter implements BaseStreamer {
  private rows: number[][] = [];
  private done: boolean[] = [];
  private printed: string[] = [];
  private current = 0;

  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    /** File names to label the lines with, or null for the bare text. */
    private readonly labels: readonly string[] | null,
    private readonly eos: readonly number[],
    private readonly write: (s: string) => void = (s) => void process.stdout.write(s),
  ) {}

  put(tokens: bigint[]): void {
    if (this.rows.length === 0) {
      // The first put holds the decoder start tokens (Python puts the prompt first); they are
      // part of the row, as in the ids generate returns and batch_decode reads.
      this.rows = tokens.map((t) => [Number(t)]);
      this.done = tokens.map(() => false);
      this.printed = tokens.map(() => '');
      if (this.labels) this.write(`${this.labels[0]}\t`);
      return;
    }
    tokens.forEach((t, r) => {
      if (this.done[r]) return; // finished rows get pad tokens
      const id = Number(t);
      this.rows[r]!.push(id);
      if (this.eos.includes(id)) this.done[r] = true;
    });
    this.flush(false);
  }

  end(): void {
    if (this.rows.length === 0) return;
    this.done.fill(true);
    this.flush(true);
  }

  private flush(final: boolean): void {
    while (this.current < this.rows.length) {
      const r = this.current;
      const finished = final || this.done[r]!;
      let text = this.tokenizer.decode(this.rows[r]!, { skip_special_tokens: true });
      if (!finished) text = text.replace(/\uFFFD+$/, '');
      // Like Python's TextStreamer: print what is new past what was printed.
      if (text.length > this.printed[r]!.length && (finished || text.startsWith(this.printed[r]!))) {
        this.write(text.slice(this.printed[r]!.length));
        this.printed[r] = text;
      }
      if (!finished) return;
      this.write('\n');
      this.current++;
      if (this.labels && this.current < this.rows.length) this.write(`${this.labels[this.current]}\t`);
    }
  }
}
