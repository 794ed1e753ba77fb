// `ved export MODEL OUTDIR`: the model as ONNX files in the layout Optimum writes and
// transformers.js reads (onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx), beside the
// config, generation config, tokenizer and preprocessor files it needs.

import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toOnnx } from '../graph/onnx.js';
import { fileExists, resolveFile } from '../hub/hub.js';
import { encoderGraph, mergedDecoderGraph, transformersJsCaveat } from '../models/onnx_export.js';
import { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';
import { checkModelArg, parse, UsageError, type Command } from './common.js';

const HELP = `Usage: ved export [options] MODEL OUTDIR

Write MODEL (a folder or an OWNER/NAME hub id) as ONNX files in the layout Optimum exports and
transformers.js loads:

  OUTDIR/onnx/encoder_model.onnx         pixel_values -> last_hidden_state
  OUTDIR/onnx/decoder_model_merged.onnx  input_ids, encoder_hidden_states, past_key_values.*,
                                         use_cache_branch -> logits, present.*
  OUTDIR/config.json, generation_config.json, and the tokenizer and preprocessor files MODEL has

Weights are float32 initializers. Cache tensors are named as transformers.js expects for the
decoder type: past_key_values.N.decoder.key / .encoder.key (bart, mbart, trocr) or
past_key_values.N.key (gpt2, bert, roberta).

Options:
  --force      write into OUTDIR even if it already holds an onnx/ folder
  -h, --help   show this help
`;

/** Files transformers.js and Python read beside the weights, copied when MODEL has them. */
export const SIDE_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'sentencepiece.bpe.model',
  'spiece.model',
];

export interface ExportResult {
  files: string[];
  warnings: string[];
}

/** Export `modelPath` into `outDir` (see HELP). Returns the files written and what a user should know. */
export async function exportModel(modelPath: string, outDir: string, opts: { force?: boolean } = {}): Promise<ExportResult> {
  const onnxDir = join(outDir, 'onnx');
  if (existsSync(onnxDir) && !opts.force) throw new Error(`${onnxDir} already exists; pass --force to overwrite it`);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new Error(`${outDir} is a file; expected a folder to write into`);
  const model = await VisionEncoderDecoderModel.from_pretrained(modelPath);
  model.eval();
  mkdirSync(onnxDir, { recursive: true });
  const files: string[] = [];
  const warnings: string[] = [];

  const write = (name: string, bytes: Uint8Array) => {
    // protobuf cannot hold a message of 2 GiB or more; ONNX's external-data layout would be needed.
    if (bytes.byteLength >= 2 ** 31) throw new Error(`${name} would be ${bytes.byteLength} bytes, over ONNX's 2 GiB single-file limit`);
    const path = join(onnxDir, name);
    writeFileSync(path, bytes);
    files.push(path);
  };
  const enc = encoderGraph(model);
  write('encoder_model.onnx', toOnnx(enc.graph, enc.outputs));
  const dec = mergedDecoderGraph(model);
  write('decoder_model_merged.onnx', toOnnx(dec.graph, dec.outputs));

  for (const name of SIDE_FILES) {
    if (!(await fileExists(modelPath, name))) continue;
    const dest = join(outDir, name);
    copyFileSync(await resolveFile(modelPath, name), dest);
    files.push(dest);
  }
  if (!files.some((f) => f.endsWith('generation_config.json'))) {
    await model.generation_config.save_pretrained(outDir);
    files.push(join(outDir, 'generation_config.json'));
  }
  const present = new Set(readdirSync(outDir));
  if (!present.has('tokenizer.json')) warnings.push(`${modelPath} has no tokenizer.json: transformers.js needs one to decode (pipelines), though the model runs without`);
  if (!present.has('preprocessor_config.json')) warnings.push(`${modelPath} has no preprocessor_config.json: transformers.js pipelines need one to prepare images`);
  const caveat = transformersJsCaveat(model);
  if (caveat) warnings.push(caveat);
  return { files, warnings };
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a model as ONNX files for transformers.js / Optimum (encoder + merged decoder)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('export', argv, { force: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError(`ved export: expected MODEL and OUTDIR, got ${positionals.length} argument(s) (see 'ved export --help')`);
    const model = checkModelArg('export', 'MODEL', positionals[0]!);
    const out = resolve(positionals[1]!);
    const { files, warnings } = await exportModel(model, out, { force: values.force === true });
    for (const w of warnings) process.stderr.write(`ved export: warning: ${w}\n`);
    for (const f of files) process.stdout.write(`${f}\n`);
    return 0;
  },
};
