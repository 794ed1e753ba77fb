// `ved eval MODEL --data DIR`: generate for every example of an imagefolder dataset and score the
// texts against the references with CER, WER and BLEU-4 (as Hugging Face evaluate computes them).

import type { ImageTextDataset } from '../training/datasets.js';
import { checkModelArg, dtypeFlag, maxImagePixelsFlag, parse, positiveInt, Progress, UsageError, type Command } from './common.js';
import { tensorRows } from '../runtime/tensor.js';
import { eosIds, hitLengthLimit } from '../generation/rows.js';

const HELP = `Usage: ved eval [options] MODEL --data DIR

Generate a text for every example of an image-text dataset and print the character error
rate, word error rate and corpus BLEU-4 against the reference texts.

DIR is an imagefolder dataset: a folder with metadata.jsonl or metadata.csv
(file_name,text), or train/, validation/, test/ subfolders each holding one.

Options:
  --data DIR            the dataset (required)
  --split NAME          which split (default: test, else validation, else train / the whole folder)
  --limit N             only the first N examples
  --batch-size N        images per forward pass (default 8)
  --num-beams N         beam search with N beams (default: the model's generation config)
  --max-new-tokens N    at most N generated tokens per image (default: the model's)
  --dtype float32|int8  weights to compute with (int8: every weight matrix quantized; default float32)
  --max-image-pixels N  decompression-bomb limit, as PIL's Image.MAX_IMAGE_PIXELS: an image of
                        over 2 × N pixels is unreadable (reported, left out); 0 or 'none': no
                        limit (default 89478485, PIL's)
  --layout none|lines   none (default): each image read whole; lines: as \`ved ocr\` reads it
                        (lines found, crops normalised, texts joined by newlines)
  --json                print one JSON object: {"model", "data", "split", "examples", "failed",
                        "cer", "wer", "bleu", "seconds"}
  -h, --help            show this help

Progress goes to stderr. Images that cannot be read are reported and left out of the scores.
`;

const OPTIONS = {
  data: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  'batch-size': { type: 'string' },
  'num-beams': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  dtype: { type: 'string' },
  'max-image-pixels': { type: 'string' },
  layout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The asked split; without one, the first of test, validation, train the dataset has. */
async function loadSplit(data: string, split: string | undefined): Promise<ImageTextDataset> {
  const { loadImageTextDataset } = await import('../training/datasets.js');
  const warn = (m: string) => process.stderr.write(`ved eval: ${m}\n`);
  if (split !== undefined) return loadImageTextDataset(data, { split, warn });
  for (const s of ['test', 'validation']) {
    try {
      return await loadImageTextDataset(data, { split: s, warn });
    } catch (e) {
      // Only "this split is not there" moves on; anything else is the dataset's real problem.
      if (!new RegExp(`no '${s}' split`).test((e as Error).message)) throw e;
    }
  }
  return loadImageTextDataset(data, { split: 'train', warn });
}

export const evaluate: Command = {
  name: 'eval',
  summary: 'score a model on an image-text dataset (CER, WER, BLEU-4)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('eval', argv, OPTIONS);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`ved eval: expected one MODEL, got ${positionals.length} (see 'ved eval --help')`);
    if (values.data === undefined) throw new UsageError(`ved eval: --data DIR is required (an imagefolder dataset)`);
    const limit = positiveInt('eval', '--limit', values.limit);
    const batchSize = positiveInt('eval', '--batch-size', values['batch-size']) ?? 8;
    const numBeams = positiveInt('eval', '--num-beams', values['num-beams']);
    const maxNewTokens = positiveInt('eval', '--max-new-tokens', values['max-new-tokens']);
    const dtype = dtypeFlag('eval', values.dtype);
    const imageOptions = maxImagePixelsFlag('eval', values['max-image-pixels']);
    const layout = values.layout ?? 'none';
    if (layout !== 'lines' && layout !== 'none') throw new UsageError(`ved eval: --layout must be 'none' or 'lines', got '${layout}'`);
    const model = positionals[0]!;
    const modelId = checkModelArg('eval', 'MODEL', model);

    let dataset = await loadSplit(values.data, values.split).catch((e: Error) => {
      throw new Error(`ved eval: --data ${values.data}: ${e.message.replace(/^loadImageTextDataset: /, '')}`);
    });
    if (limit !== undefined && limit < dataset.length) dataset = dataset.select(Array.from({ length: limit }, (_, i) => i));

    // Loaded here, not at the top: `ved --help` and argument errors need no ONNX Runtime.
    const { VisionEncoderDecoderModel } = await import('../models/vision_encoder_decoder.js');
    const { AutoProcessor } = await import('../processing/processors.js');
    const { bleu, cer, wer } = await import('../training/metrics.js');
    const vedModel = await VisionEncoderDecoderModel.from_pretrained(modelId, { dtype }).catch((e: Error) => {
      throw new Error(`ved eval: cannot load the model ${model}: ${e.message}`);
    });
    const processor = await AutoProcessor.from_pretrained(modelId).catch((e: Error) => {
      throw new Error(`ved eval: cannot load the processor (image processor + tokenizer) of ${model}: ${e.message}`);
    });
    const options: Record<string, unknown> = { num_return_sequences: 1 };
    if (numBeams !== undefined) options.num_beams = numBeams;
    if (maxNewTokens !== undefined) options.max_new_tokens = maxNewTokens;

    const predictions: string[] = [];
    const references: string[] = [];
    let failed = 0;
    let cut = 0;
    const eos = eosIds(vedModel);
    const { OCRReader } = await import('../ocr/reader.js');
    const reader = layout === 'lines' ? new OCRReader(vedModel, processor) : null;
    const progress = new Progress();
    const t0 = performance.now();
    for (const indices of dataset.batches(batchSize)) {
      const { examples, failed: bad } = await dataset.loadBatch(indices, { image: imageOptions });
      failed += bad.length;
      if (examples.length > 0 && reader) {
        const pages = await reader.read(examples.map((e) => e.image!), { ...options, batch_size: batchSize });
        predictions.push(...pages.map((p) => p.text));
        references.push(...examples.map((e) => e.text));
      } else if (examples.length > 0) {
        const { pixel_values } = await processor.image_processor.preprocess(examples.map((e) => e.image!));
        const rows = tensorRows(await vedModel.generate(pixel_values, options));
        predictions.push(...processor.batch_decode(rows, { skip_special_tokens: true }));
        cut += rows.filter((row) => hitLengthLimit(row, eos)).length;
        references.push(...examples.map((e) => e.text));
      }
      const done = predictions.length + failed;
      const secs = (performance.now() - t0) / 1000;
      progress.update(`ved eval: ${done}/${dataset.length} examples, ${secs.toFixed(1)} s` + (failed ? `, ${failed} unreadable` : ''));
    }
    progress.done();
    if (cut > 0) process.stderr.write(`ved eval: warning: ${cut} of ${predictions.length} outputs stopped at the length limit before the end-of-text token (so they may be cut); raise it with --max-new-tokens\n`);
    if (predictions.length === 0) throw new Error(`ved eval: none of the ${dataset.length} images of ${dataset.source} could be read`);
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      model,
      data: values.data,
      split: dataset.split,
      examples: predictions.length,
      failed,
      cer: cer(predictions, references),
      wer: wer(predictions, references),
      bleu: bleu(predictions, references).bleu,
      seconds: Number(seconds.toFixed(3)),
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      process.stdout.write(
        `examples  ${result.examples}${failed ? ` (${failed} unreadable, left out)` : ''}\n` +
          `CER       ${result.cer.toFixed(4)}\nWER       ${result.wer.toFixed(4)}\nBLEU-4    ${result.bleu.toFixed(4)}\n`,
      );
    }
    return 0;
  },
};
