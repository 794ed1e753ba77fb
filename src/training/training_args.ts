// The Trainer's arguments, as transformers' TrainingArguments (training_args.py): the same names
// and defaults for the fields this Trainer has, and one check of every value before a run starts.
import { SCHEDULER_TYPES, type SchedulerType } from './schedules.js';

export interface TrainingArguments {
  /** Where checkpoints, log.jsonl and (with save_model) the final model go. Required. */
  output_dir: string;
  /** Delete existing checkpoint-* folders in output_dir when starting a fresh run (default false: refuse). */
  overwrite_output_dir?: boolean;
  /** Epochs to train (may be fractional) when max_steps is not set (default 3). */
  num_train_epochs?: number;
  /** Total optimizer steps; overrides num_train_epochs when > 0 (default -1). */
  max_steps?: number;
  per_device_train_batch_size?: number;
  per_device_eval_batch_size?: number;
  gradient_accumulation_steps?: number;
  learning_rate?: number;
  weight_decay?: number;
  adam_beta1?: number;
  adam_beta2?: number;
  adam_epsilon?: number;
  lr_scheduler_type?: SchedulerType;
  warmup_steps?: number;
  warmup_ratio?: number;
  /** Clip the global gradient norm to this (0: no clipping; the norm is still logged). */
  max_grad_norm?: number;
  seed?: number;
  /** Log the mean loss every N steps (log.jsonl, progress lines). */
  logging_steps?: number;
  /** Evaluate on eval_dataset every N steps (0: only at the end, when there is an eval_dataset). */
  eval_steps?: number;
  /** Save a checkpoint every N steps (0: only at the end, on a new best metric, and on interrupt). */
  save_steps?: number;
  /** Keep at most this many checkpoints (oldest deleted first; the best one is always kept). */
  save_total_limit?: number | null;
  /** 'loss', 'cer', 'wer' or 'bleu' (with or without the 'eval_' prefix); the best checkpoint is kept by it. */
  metric_for_best_model?: string | null;
  /** Default: false for loss, cer and wer; true for bleu. */
  greater_is_better?: boolean | null;
  /** After training, load the weights of the best checkpoint into the model. */
  load_best_model_at_end?: boolean;
  /** Labels are cut to this many tokens (special tokens included). */
  max_target_length?: number;
  /**
   * Make every label row end with the model's eos_token_id when the tokenizer does not put it
   * there (GPT-2's tokenizer adds no special tokens: without it the model never learns to stop).
   * Default true; rows that already end with it are unchanged.
   */
  append_eos_token?: boolean;
  /** Evaluation: generate at most this long (default: the model's generation_config, else max_target_length + 1). */
  generation_max_length?: number | null;
  /** Evaluation: beams (default: the model's generation_config). */
  generation_num_beams?: number | null;
  /** Drop the last incomplete batch of each epoch. */
  dataloader_drop_last?: boolean;
  /** No progress bar or progress lines on stderr. */
  disable_tqdm?: boolean;
  /** Path of a checkpoint to continue from, or true for the latest one in output_dir. */
  resume_from_checkpoint?: string | boolean | null;
  /**
   * Not in HF: weight of an auxiliary CTC loss on the encoder's columns (training only; see
   * ctc.ts). 0 (default): off. For training line-image models from scratch.
   */
  ctc_weight?: number;
}

export type ResolvedTrainingArguments = Required<Omit<TrainingArguments, 'resume_from_checkpoint' | 'save_total_limit' | 'metric_for_best_model' | 'greater_is_better' | 'generation_max_length' | 'generation_num_beams'>> & {
  resume_from_checkpoint: string | boolean | null;
  save_total_limit: number | null;
  metric_for_best_model: string | null;
  greater_is_better: boolean | null;
  generation_max_length: number | null;
  generation_num_beams: number | null;
};

export const TRAINING_ARGUMENT_DEFAULTS: Omit<ResolvedTrainingArguments, 'output_dir'> = {
  overwrite_output_dir: false,
  num_train_epochs: 3,
  max_steps: -1,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  gradient_accumulation_steps: 1,
  learning_rate: 5e-5,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  lr_scheduler_type: 'linear',
  warmup_steps: 0,
  warmup_ratio: 0,
  max_grad_norm: 1,
  seed: 42,
  logging_steps: 10,
  eval_steps: 0,
  save_steps: 500,
  save_total_limit: null,
  metric_for_best_model: null,
  greater_is_better: null,
  load_best_model_at_end: false,
  max_target_length: 128,
  append_eos_token: true,
  ctc_weight: 0,
  generation_max_length: null,
  generation_num_beams: null,
  dataloader_drop_last: false,
  disable_tqdm: false,
  resume_from_checkpoint: null,
};

const METRICS = ['loss', 'cer', 'wer', 'bleu'] as const;

/** Fills in defaults and checks every value; a bad one is an Error naming the argument and what it takes. */
export function resolveTrainingArguments(args: TrainingArguments): ResolvedTrainingArguments {
  if (!args || typeof args !== 'object') throw new Error('TrainingArguments: expected an object');
  const known = new Set(['output_dir', ...Object.keys(TRAINING_ARGUMENT_DEFAULTS)]);
  for (const k of Object.keys(args)) if (!known.has(k)) throw new Error(`TrainingArguments: unknown argument '${k}'; valid: ${[...known].join(', ')}`);
  const a = { ...TRAINING_ARGUMENT_DEFAULTS, ...Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) } as ResolvedTrainingArguments;
  if (typeof a.output_dir !== 'string' || a.output_dir.length === 0) throw new Error('TrainingArguments: output_dir must be a non-empty path');
  const bad = (k: string, want: string): never => {
    throw new Error(`TrainingArguments: ${k} must be ${want}, got ${JSON.stringify((a as Record<string, unknown>)[k])}`);
  };
  const int = (k: keyof ResolvedTrainingArguments, min: number) => {
    const v = a[k] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(k, `an integer >= ${min}`);
  };
  const num = (k: keyof ResolvedTrainingArguments, min: number, max = Infinity, openMax = false) => {
    const v = a[k] as unknown;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (openMax && v === max)) bad(k, `a number in [${min}, ${max}${openMax ? ')' : ']'}`);
  };
  const bool = (k: keyof ResolvedTrainingArguments) => {
    if (typeof a[k] !== 'boolean') bad(k, 'true or false');
  };
  num('num_train_epochs', 0);
  if (!Number.isInteger(a.max_steps) || (a.max_steps < 1 && a.max_steps !== -1)) bad('max_steps', 'a positive integer (or -1: use num_train_epochs)');
  if (a.max_steps === -1 && !(a.num_train_epochs > 0)) bad('num_train_epochs', 'a number > 0 when max_steps is not set');
  int('per_device_train_batch_size', 1);
  int('per_device_eval_batch_size', 1);
  int('gradient_accumulation_steps', 1);
  num('learning_rate', 0);
  num('weight_decay', 0);
  num('adam_beta1', 0, 1, true);
  num('adam_beta2', 0, 1, true);
  num('adam_epsilon', 0);
  if (!SCHEDULER_TYPES.includes(a.lr_scheduler_type)) bad('lr_scheduler_type', `one of ${SCHEDULER_TYPES.join(', ')}`);
  int('warmup_steps', 0);
  num('warmup_ratio', 0, 1);
  num('max_grad_norm', 0);
  num('ctc_weight', 0);
  if (!Number.isSafeInteger(a.seed) || a.seed < 0) bad('seed', 'a non-negative integer');
  int('logging_steps', 1);
  int('eval_steps', 0);
  int('save_steps', 0);
  if (a.save_total_limit !== null) int('save_total_limit', 1);
  if (a.metric_for_best_model !== null) {
    const m = String(a.metric_for_best_model).replace(/^eval_/, '');
    if (!(METRICS as readonly string[]).includes(m)) bad('metric_for_best_model', `one of ${METRICS.join(', ')} (optionally prefixed 'eval_')`);
    a.metric_for_best_model = `eval_${m}`;
  } else if (a.load_best_model_at_end) {
    a.metric_for_best_model = 'eval_loss';
  }
  if (a.greater_is_better !== null) bool('greater_is_better');
  else if (a.metric_for_best_model !== null) a.greater_is_better = a.metric_for_best_model === 'eval_bleu';
  bool('load_best_model_at_end');
  bool('overwrite_output_dir');
  bool('dataloader_drop_last');
  bool('disable_tqdm');
  bool('append_eos_token');
  int('max_target_length', 1);
  if (a.generation_max_length !== null) int('generation_max_length', 1);
  if (a.generation_num_beams !== null) int('generation_num_beams', 1);
  const r = a.resume_from_checkpoint;
  if (r !== null && typeof r !== 'boolean' && (typeof r !== 'string' || r.length === 0)) bad('resume_from_checkpoint', 'a checkpoint path, true (the latest in output_dir) or false');
  return a;
}
