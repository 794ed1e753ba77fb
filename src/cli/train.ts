// `ved train`: fine-tune (or train from scratch) a vision encoder-decoder model on an imagefolder
// dataset with the Trainer. The model comes from two configs (random init), from an encoder and
// a decoder checkpoint, from a whole checkpoint, or from a Trainer checkpoint to resume.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoConfig, VisionEncoderDecoderConfig, type PretrainedConfig } from '../models/configuration.js';
import { writeFileAtomic } from '../models/python_json.js';
import { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';
import { AutoImageProcessor, type BaseImageProcessor } from '../processing/image_processors.js';
import { AutoTokenizer, type PreTrainedTokenizer } from '../processing/tokenizers.js';
import { loadImageTextDataset, type ImageTextDataset, type OnBadRow } from '../training/datasets.js';
import { getLastCheckpoint, Trainer, type ProgressStream, type TrainingArguments } from '../training/trainer.js';
import { SCHEDULER_TYPES, type SchedulerType } from '../training/schedules.js';

export const TRAIN_HELP = `Usage: ved train [options] --data DIR --output-dir DIR (model source)

Train a vision encoder-decoder model on an image-text dataset. Checkpoints go to
OUTPUT_DIR/checkpoint-<step>/ (HF format + optimizer + trainer state), the log to
OUTPUT_DIR/log.jsonl, and the final model (loadable with --model) to OUTPUT_DIR.
Ctrl-C saves a checkpoint and exits (status 130); --resume continues it exactly.

Model source (one of):
  --encoder-config FILE --decoder-config FILE
                               random init from two config JSON files (with "model_type")
  --encoder PATH|ID --decoder PATH|ID
                               a pretrained encoder and decoder (cross-attention is new)
  --model PATH|ID              continue training a VisionEncoderDecoder checkpoint
  --resume DIR|latest          continue a Trainer checkpoint (latest: the newest in
                               --output-dir); its training_args.json supplies the defaults,
                               and the run's ved_train_data.json the data options

Model pieces:
  --tokenizer PATH|ID          tokenizer (default: the model folder; with --encoder/--decoder:
                               the decoder)
  --image-processor PATH|ID    preprocessor_config.json (default: the model folder; with
                               --encoder/--decoder: the encoder)
  --decoder-start-token-id N   when building from parts (default: the tokenizer's cls, else bos)
  --pad-token-id N             (default: the tokenizer's pad token)
  --eos-token-id N             (default: the tokenizer's sep, else eos)

Data:
  --data DIR                   imagefolder dataset: metadata.jsonl/.csv (file_name, text) or
                               train/ and validation/ subfolders (required, except to resume)
  --validation-data DIR        evaluation set (default: DIR's validation/ folder, if any)
  --validation-fraction F      hold out this fraction of the training rows for evaluation
  --on-bad-row skip|error      a bad metadata row is skipped with a warning (default) or fatal
  --max-target-length N        labels are cut to N tokens (default 128)
  --no-append-eos              keep labels exactly as the tokenizer makes them (default: end
                               each with the eos token when the tokenizer does not add it)

Training (HF TrainingArguments):
  --output-dir DIR             (required unless --resume DIR)
  --overwrite-output-dir       delete existing checkpoints in it instead of refusing
  --num-train-epochs X         (default 3)
  --max-steps N                total optimizer steps; overrides --num-train-epochs
  --batch-size N               per_device_train_batch_size (default 8)
  --eval-batch-size N          per_device_eval_batch_size (default 8)
  --gradient-accumulation-steps N    (default 1)
  --learning-rate X            (default 5e-5)
  --weight-decay X             AdamW decoupled decay, not on biases/LayerNorm (default 0)
  --adam-beta1 X --adam-beta2 X --adam-epsilon X   (defaults 0.9, 0.999, 1e-8)
  --lr-scheduler-type NAME     ${SCHEDULER_TYPES.join(', ')} (default linear)
  --warmup-steps N | --warmup-ratio X
  --max-grad-norm X            clip the global gradient norm (default 1; 0: no clipping)
  --ctc-weight X               add an auxiliary CTC loss on the encoder's patch columns, with
                               this weight (training only; not in HF; ViT/DeiT/BEiT encoders on
                               line images; speeds up learning to read from scratch; default 0)
  --seed N                     init, shuffling and dropout (default 42)
  --logging-steps N            (default 10)
  --eval-steps N               evaluate every N steps (default: only at the end)
  --save-steps N               checkpoint every N steps (default 500; 0: end only)
  --save-total-limit N         keep at most N checkpoints (the best is always kept)
  --metric-for-best-model M    loss, cer, wer or bleu
  --greater-is-better true|false     (default: true for bleu, false otherwise)
  --load-best-model-at-end     the final model is the best checkpoint's
  --generation-max-length N    evaluation: generated length limit
  --generation-num-beams N     evaluation: beams
  --drop-last                  drop the last incomplete batch of each epoch
  --no-progress                no progress bar / lines on stderr

Output:
  --json                       print a JSON summary on stdout at the end
  -h, --help                   show this help

Exit status: 0 done, 1 failure, 2 bad command line, 130 interrupted (checkpoint saved).
`;

const OPTIONS = {
  'encoder-config': { type: 'string' },
  'decoder-config': { type: 'string' },
  encoder: { type: 'string' },
  decoder: { type: 'string' },
  model: { type: 'string' },
  resume: { type: 'string' },
  tokenizer: { type: 'string' },
  'image-processor': { type: 'string' },
  'decoder-start-token-id': { type: 'string' },
  'pad-token-id': { type: 'string' },
  'eos-token-id': { type: 'string' },
  data: { type: 'string' },
  'validation-data': { type: 'string' },
  'validation-fraction': { type: 'string' },
  'on-bad-row': { type: 'string' },
  'max-target-length': { type: 'string' },
  'no-append-eos': { type: 'boolean' },
  'output-dir': { type: 'string' },
  'overwrite-output-dir': { type: 'boolean' },
  'num-train-epochs': { type: 'string' },
  'max-steps': { type: 'string' },
  'batch-size': { type: 'string' },
  'eval-batch-size': { type: 'string' },
  'gradient-accumulation-steps': { type: 'string' },
  'learning-rate': { type: 'string' },
  'weight-decay': { type: 'string' },
  'adam-beta1': { type: 'string' },
  'adam-beta2': { type: 'string' },
  'adam-epsilon': { type: 'string' },
  'lr-scheduler-type': { type: 'string' },
  'warmup-steps': { type: 'string' },
  'warmup-ratio': { type: 'string' },
  'max-grad-norm': { type: 'string' },
  'ctc-weight': { type: 'string' },
  seed: { type: 'string' },
  'logging-steps': { type: 'string' },
  'eval-steps': { type: 'string' },
  'save-steps': { type: 'string' },
  'save-total-limit': { type: 'string' },
  'metric-for-best-model': { type: 'string' },
  'greater-is-better': { type: 'string' },
  'load-best-model-at-end': { type: 'boolean' },
  'generation-max-length': { type: 'string' },
  'generation-num-beams': { type: 'string' },
  'drop-last': { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A mistake on the command line (exit status 2). */
class TrainUsageError extends Error {}

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

const usage = (msg: string): never => {
  throw new TrainUsageError(`${msg} (see 'ved train --help')`);
};

function intFlag(v: Values, flag: keyof typeof OPTIONS, min: number): number | undefined {
  const s = v[flag] as string | undefined;
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!/^-?\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min) usage(`--${flag} must be an integer >= ${min}, got '${s}'`);
  return n;
}

function numFlag(v: Values, flag: keyof typeof OPTIONS, min: number, max = Infinity, openMax = false): number | undefined {
  const s = v[flag] as string | undefined;
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max || (openMax && n === max)) {
    usage(`--${flag} must be a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}${openMax ? ')' : ']'}`}, got '${s}'`);
  }
  return n;
}

function readJsonFile(path: string, flag: string): Record<string, unknown> {
  if (!existsSync(path) || !statSync(path).isFile()) usage(`${flag}: ${path} is not a file`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${flag}: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${flag}: ${path} must hold a JSON object (a model config with "model_type")`);
  return v as Record<string, unknown>;
}

function configFromFile(path: string, flag: string): PretrainedConfig {
  const { model_type, ...rest } = readJsonFile(path, flag);
  if (typeof model_type !== 'string') throw new Error(`${flag}: ${path} has no "model_type" (e.g. "vit" for an encoder, "gpt2" or "bert" for a decoder)`);
  try {
    return AutoConfig.for_model(model_type, rest);
  } catch (e) {
    throw new Error(`${flag}: ${path}: ${(e as Error).message}`);
  }
}

/** The Trainer options given as flags (only those given: the rest keep their defaults). */
function trainingFlags(v: Values): Partial<TrainingArguments> {
  const a: Partial<TrainingArguments> = {};
  const set = <K extends keyof TrainingArguments>(k: K, value: TrainingArguments[K] | undefined) => {
    if (value !== undefined) a[k] = value;
  };
  set('num_train_epochs', numFlag(v, 'num-train-epochs', 0));
  if (a.num_train_epochs === 0) usage(`--num-train-epochs must be > 0, got '${v['num-train-epochs']}'`);
  set('max_steps', intFlag(v, 'max-steps', 1));
  set('per_device_train_batch_size', intFlag(v, 'batch-size', 1));
  set('per_device_eval_batch_size', intFlag(v, 'eval-batch-size', 1));
  set('gradient_accumulation_steps', intFlag(v, 'gradient-accumulation-steps', 1));
  set('learning_rate', numFlag(v, 'learning-rate', 0));
  set('weight_decay', numFlag(v, 'weight-decay', 0));
  set('adam_beta1', numFlag(v, 'adam-beta1', 0, 1, true));
  set('adam_beta2', numFlag(v, 'adam-beta2', 0, 1, true));
  set('adam_epsilon', numFlag(v, 'adam-epsilon', 0));
  if (v['lr-scheduler-type'] !== undefined) {
    if (!SCHEDULER_TYPES.includes(v['lr-scheduler-type'] as SchedulerType)) usage(`--lr-scheduler-type must be one of ${SCHEDULER_TYPES.join(', ')}, got '${v['lr-scheduler-type']}'`);
    a.lr_scheduler_type = v['lr-scheduler-type'] as SchedulerType;
  }
  set('warmup_steps', intFlag(v, 'warmup-steps', 0));
  set('warmup_ratio', numFlag(v, 'warmup-ratio', 0, 1));
  set('max_grad_norm', numFlag(v, 'max-grad-norm', 0));
  set('ctc_weight', numFlag(v, 'ctc-weight', 0));
  set('seed', intFlag(v, 'seed', 0));
  set('logging_steps', intFlag(v, 'logging-steps', 1));
  set('eval_steps', intFlag(v, 'eval-steps', 1));
  set('save_steps', intFlag(v, 'save-steps', 0));
  set('save_total_limit', intFlag(v, 'save-total-limit', 1));
  if (v['metric-for-best-model'] !== undefined) {
    const m = v['metric-for-best-model'].replace(/^eval_/, '');
    if (!['loss', 'cer', 'wer', 'bleu'].includes(m)) usage(`--metric-for-best-model must be loss, cer, wer or bleu, got '${v['metric-for-best-model']}'`);
    a.metric_for_best_model = m;
  }
  if (v['greater-is-better'] !== undefined) {
    const g = v['greater-is-better'].toLowerCase();
    if (g !== 'true' && g !== 'false') usage(`--greater-is-better must be true or false, got '${v['greater-is-better']}'`);
    a.greater_is_better = g === 'true';
  }
  if (v['load-best-model-at-end']) a.load_best_model_at_end = true;
  set('max_target_length', intFlag(v, 'max-target-length', 1));
  set('generation_max_length', intFlag(v, 'generation-max-length', 1));
  set('generation_num_beams', intFlag(v, 'generation-num-beams', 1));
  if (v['no-append-eos']) a.append_eos_token = false;
  if (v['drop-last']) a.dataloader_drop_last = true;
  if (v['no-progress']) a.disable_tqdm = true;
  if (v['overwrite-output-dir']) a.overwrite_output_dir = true;
  return a;
}

/** Special-token ids for a model built from parts: flags first, then the tokenizer's. */
function specialIds(v: Values, tokenizer: PreTrainedTokenizer): { decoder_start_token_id: number; pad_token_id: number; eos_token_id: number } {
  const start = intFlag(v, 'decoder-start-token-id', 0) ?? tokenizer.cls_token_id ?? tokenizer.bos_token_id;
  const pad = intFlag(v, 'pad-token-id', 0) ?? tokenizer.pad_token_id;
  const eos = intFlag(v, 'eos-token-id', 0) ?? tokenizer.sep_token_id ?? tokenizer.eos_token_id;
  if (start === null) usage('the tokenizer has no cls or bos token: give --decoder-start-token-id');
  if (pad === null) usage('the tokenizer has no pad token: give --pad-token-id');
  if (eos === null) usage('the tokenizer has no sep or eos token: give --eos-token-id');
  return { decoder_start_token_id: start!, pad_token_id: pad!, eos_token_id: eos! };
}

function checkVocab(model: VisionEncoderDecoderModel, tokenizer: PreTrainedTokenizer, tokenizerSource: string): void {
  const vocab = (model.config.decoder as unknown as { vocab_size: number }).vocab_size;
  const ids = model.config as unknown as Record<string, unknown>;
  for (const k of ['decoder_start_token_id', 'pad_token_id', 'eos_token_id']) {
    const id = ids[k];
    if (typeof id === 'number' && (id < 0 || id >= vocab)) throw new Error(`${k} ${id} is outside the decoder's vocabulary (vocab_size ${vocab})`);
  }
  if (tokenizer.length > vocab) {
    throw new Error(`the tokenizer (${tokenizerSource}) has ${tokenizer.length} tokens but the decoder's vocab_size is ${vocab}; use a matching tokenizer or a decoder config with vocab_size >= ${tokenizer.length}`);
  }
}

// The data options of a run, kept beside its checkpoints so that --resume needs only the
// checkpoint (HF's TrainingArguments, and so training_args.json, do not record the dataset).
const DATA_FILE = 'ved_train_data.json';
const DATA_KEYS = ['data', 'validation-data', 'validation-fraction', 'on-bad-row'] as const;

function definedOnly(v: Values, keys: readonly string[]): Partial<Values> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((v as Record<string, unknown>)[k] !== undefined) out[k] = (v as Record<string, unknown>)[k];
  return out as Partial<Values>;
}

function savedDataOptions(runDir: string): Partial<Values> {
  const file = join(runDir, DATA_FILE);
  return existsSync(file) ? definedOnly(readJsonFile(file, '--resume') as Values, DATA_KEYS) : {};
}

async function saveDataOptions(outputDir: string, v: Values): Promise<void> {
  const saved: Record<string, unknown> = definedOnly(v, DATA_KEYS);
  for (const k of ['data', 'validation-data'] as const) if (typeof saved[k] === 'string') saved[k] = resolve(saved[k] as string);
  await writeFileAtomic(outputDir, DATA_FILE, JSON.stringify(saved, null, 2) + '\n');
}

async function loadDatasets(v: Values, seed: number, io: TrainIO): Promise<{ train: ImageTextDataset; validation: ImageTextDataset | null }> {
  const data = v.data!;
  if (!existsSync(data)) usage(`--data: ${data} does not exist`);
  const onBad = (v['on-bad-row'] ?? 'skip') as OnBadRow;
  if (onBad !== 'skip' && onBad !== 'error') usage(`--on-bad-row must be skip or error, got '${v['on-bad-row']}'`);
  const fraction = numFlag(v, 'validation-fraction', 0, 1, true);
  if (fraction === 0) usage(`--validation-fraction must be between 0 and 1 (exclusive), got '${v['validation-fraction']}'`);
  if (fraction !== undefined && v['validation-data'] !== undefined) usage('give --validation-data or --validation-fraction, not both');
  const warn = (m: string) => io.stderr.write(`ved train: ${m}\n`);
  const common = { on_bad_row: onBad, warn, seed };
  const train = await loadImageTextDataset(data, { ...common, split: 'train', ...(fraction !== undefined ? { validation_fraction: fraction } : {}) });
  let validation: ImageTextDataset | null = null;
  if (fraction !== undefined) {
    validation = await loadImageTextDataset(data, { ...common, split: 'validation', validation_fraction: fraction });
  } else if (v['validation-data'] !== undefined) {
    const dir = v['validation-data'];
    if (!existsSync(dir)) usage(`--validation-data: ${dir} does not exist`);
    validation = await loadOptionalSplit(dir, 'validation', common) ?? (await loadImageTextDataset(dir, { ...common, split: 'train' }));
  } else {
    validation = await loadOptionalSplit(data, 'validation', common);
  }
  return { train, validation };
}

async function loadOptionalSplit(dir: string, split: string, options: Record<string, unknown>): Promise<ImageTextDataset | null> {
  try {
    return await loadImageTextDataset(dir, { ...options, split });
  } catch (e) {
    if (/no '\w+' split/.test((e as Error).message)) return null;
    throw e;
  }
}

interface Built {
  model: VisionEncoderDecoderModel;
  tokenizer: PreTrainedTokenizer;
  image_processor: BaseImageProcessor;
  resume: string | null;
  savedArgs: Partial<TrainingArguments>;
}

async function buildModel(v: Values, seed: number, outputDir: string | undefined): Promise<Built> {
  const sources = [
    v['encoder-config'] !== undefined || v['decoder-config'] !== undefined ? 'configs' : null,
    v.encoder !== undefined || v.decoder !== undefined ? 'parts' : null,
    v.model !== undefined ? 'model' : null,
    v.resume !== undefined ? 'resume' : null,
  ].filter((s) => s !== null);
  if (sources.length === 0) usage('no model: give --encoder-config and --decoder-config, --encoder and --decoder, --model, or --resume');
  if (sources.length > 1) usage('give one model source: --encoder-config/--decoder-config, --encoder/--decoder, --model or --resume');
  const idsGiven = v['decoder-start-token-id'] !== undefined || v['pad-token-id'] !== undefined || v['eos-token-id'] !== undefined;

  const loadPieces = async (tokSource: string | undefined, ipSource: string | undefined, what: string) => {
    if (tokSource === undefined) usage(`--tokenizer is required with ${what}`);
    if (ipSource === undefined) usage(`--image-processor is required with ${what}`);
    const tokenizer = await AutoTokenizer.from_pretrained(tokSource!).catch((e: Error) => {
      throw new Error(`--tokenizer ${tokSource}: ${e.message}`);
    });
    const image_processor = await AutoImageProcessor.from_pretrained(ipSource!).catch((e: Error) => {
      throw new Error(`--image-processor ${ipSource}: ${e.message}`);
    });
    return { tokenizer, image_processor };
  };

  if (sources[0] === 'configs') {
    if (v['encoder-config'] === undefined || v['decoder-config'] === undefined) usage('--encoder-config and --decoder-config go together');
    const enc = configFromFile(v['encoder-config']!, '--encoder-config');
    const dec = configFromFile(v['decoder-config']!, '--decoder-config');
    const { tokenizer, image_processor } = await loadPieces(v.tokenizer, v['image-processor'], '--encoder-config/--decoder-config');
    const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec, specialIds(v, tokenizer));
    const model = new VisionEncoderDecoderModel({ config, seed });
    checkVocab(model, tokenizer, v.tokenizer!);
    return { model, tokenizer, image_processor, resume: null, savedArgs: {} };
  }
  if (sources[0] === 'parts') {
    if (v.encoder === undefined || v.decoder === undefined) usage('--encoder and --decoder go together');
    const { tokenizer, image_processor } = await loadPieces(v.tokenizer ?? v.decoder, v['image-processor'] ?? v.encoder, '--encoder/--decoder');
    const model = await VisionEncoderDecoderModel.from_encoder_decoder_pretrained(v.encoder!, v.decoder!, { seed, ...specialIds(v, tokenizer) });
    checkVocab(model, tokenizer, v.tokenizer ?? v.decoder!);
    return { model, tokenizer, image_processor, resume: null, savedArgs: {} };
  }
  let dir: string;
  let resume: string | null = null;
  let savedArgs: Partial<TrainingArguments> = {};
  if (sources[0] === 'resume') {
    if (v.resume === 'latest') {
      if (outputDir === undefined) usage('--resume latest needs --output-dir');
      const last = getLastCheckpoint(outputDir!);
      if (!last) usage(`--resume latest: no checkpoint-<step> folder in ${outputDir}`);
      resume = last!;
    } else {
      resume = v.resume!;
      if (!existsSync(join(resume, 'trainer_state.json'))) usage(`--resume: ${resume} is not a Trainer checkpoint (no trainer_state.json)`);
    }
    dir = resume;
    const argsFile = join(resume, 'training_args.json');
    if (existsSync(argsFile)) savedArgs = readJsonFile(argsFile, '--resume') as Partial<TrainingArguments>;
  } else {
    dir = v.model!;
  }
  const model = await VisionEncoderDecoderModel.from_pretrained(dir);
  const { tokenizer, image_processor } = await loadPieces(v.tokenizer ?? dir, v['image-processor'] ?? dir, sources[0] === 'resume' ? '--resume' : '--model');
  if (idsGiven) {
    const ids = specialIds(v, tokenizer);
    const cfg = model.config as unknown as Record<string, unknown>;
    const gen = model.generation_config as unknown as Record<string, unknown>;
    for (const [k, id] of Object.entries(ids)) {
      if (v[k.replaceAll('_', '-') as keyof Values] === undefined) continue;
      cfg[k] = id;
      gen[k] = id;
    }
  }
  checkVocab(model, tokenizer, v.tokenizer ?? dir);
  return { model, tokenizer, image_processor, resume, savedArgs };
}

/** Where `ved train` writes: the summary to stdout; progress, warnings and errors to stderr. */
export interface TrainIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
}

/** Runs `ved train`; resolves to the exit status (errors are printed as one line on stderr). */
export async function trainCommand(argv: string[], io: TrainIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`${message.startsWith('ved train') ? '' : 'ved train: '}${message.split('\n')[0]}\n`);
    if (process.env.VED_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return e instanceof TrainUsageError ? 2 : 1;
  }
}

async function run(argv: string[], io: TrainIO): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') usage(`unknown option ${/'([^']+)'/.exec(err.message)?.[1] ?? err.message}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
      const o = (OPTIONS as Record<string, { type: string }>)[name.replace(/^--/, '')];
      usage(o?.type === 'boolean' ? `${name} takes no value` : `${name} needs a value`);
    }
    return usage(err.message.split('\n')[0]!);
  }
  if (values.help) {
    io.stdout.write(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) usage(`unexpected argument '${positionals[0]}'`);
  if (values.data === undefined && values.resume === undefined) usage('--data DIR is required');

  const flags = trainingFlags(values);
  const built = await buildModel(values, flags.seed ?? 42, values['output-dir']);
  const { resume_from_checkpoint: _r, output_dir: savedOut, ...saved } = built.savedArgs;
  const outputDir = values['output-dir'] ?? (built.resume ? (savedOut ?? dirname(resolve(built.resume))) : undefined);
  if (outputDir === undefined) usage('--output-dir DIR is required');
  if (built.resume) Object.assign(values, { ...savedDataOptions(dirname(resolve(built.resume))), ...definedOnly(values, DATA_KEYS) });
  if (values.data === undefined) usage(`--data DIR is required (${join(dirname(resolve(built.resume!)), DATA_FILE)} does not record it)`);
  await saveDataOptions(outputDir!, values);
  const args: TrainingArguments = { ...saved, ...flags, output_dir: outputDir! };
  const { train, validation } = await loadDatasets(values, args.seed ?? 42, io);

  const trainer = new Trainer({ model: built.model, args, train_dataset: train, eval_dataset: validation, tokenizer: built.tokenizer, image_processor: built.image_processor, progress_stream: io.stderr });
  const result = await trainer.train({ resume_from_checkpoint: built.resume });
  if (!result.interrupted) {
    await trainer.save_model(outputDir);
    if (!args.disable_tqdm) io.stderr.write(`ved train: saved the model to ${resolve(outputDir!)} (step ${result.global_step}, train loss ${result.training_loss.toFixed(4)})\n`);
  }
  if (values.json) {
    io.stdout.write(JSON.stringify({
      output_dir: resolve(outputDir!),
      global_step: result.global_step,
      training_loss: result.training_loss,
      interrupted: result.interrupted,
      last_checkpoint: result.last_checkpoint,
      best_model_checkpoint: result.best_model_checkpoint,
      best_metric: result.best_metric,
      metrics: result.metrics,
    }) + '\n');
  }
  return result.interrupted ? 130 : 0;
}

/** The `ved train` entry of main.ts's command table. */
export const train = {
  name: 'train',
  summary: 'train or fine-tune a model on an image-text dataset',
  help: TRAIN_HELP,
  run: trainCommand,
};
