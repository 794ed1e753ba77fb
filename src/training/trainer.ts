// The Trainer: fine-tunes a VisionEncoderDecoderModel on an image–text dataset, as transformers'
// (Seq2Seq)Trainer does, with the same argument names.
//
// One optimizer step = gradient_accumulation_steps micro-batches of per_device_train_batch_size
// examples. Each micro-batch's gradient is the model's mean token cross-entropy gradient; they
// are combined weighted by their number of label tokens, so accumulating k micro-batches gives
// the gradient of one batch k times as large (the loss of the whole batch is a mean over all
// its tokens). Then: clipping by global norm (torch's clip_grad_norm_), the learning rate of the
// schedule, one AdamW update (no weight decay on biases and LayerNorm weights).
//
// Reproducibility: epoch e visits the training set in the order of a shuffle seeded by
// (seed, e); micro-batch m of step s draws its dropout masks from the model's generator seeded by
// (seed, s, m). A checkpoint stores the weights, the optimizer moments, the step and the position
// in the epoch, so a resumed run computes exactly the losses an uninterrupted one does.
//
// Checkpoints are folders `output_dir/checkpoint-<step>/`: the model in HF format
// (config.json, generation_config.json, model.safetensors), the tokenizer and image processor
// files, `optimizer.safetensors` (exp_avg.<name> / exp_avg_sq.<name>, step in the metadata),
// `trainer_state.json` and `training_args.json`. Each is written in a temporary folder and
// renamed into place, so a crash never leaves half a checkpoint.

import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { VisionEncoderDecoderModel } from '../models/vision_encoder_decoder.js';
import type { BaseImageProcessor } from '../processing/image_processors.js';
import type { PreTrainedTokenizer } from '../processing/tokenizers.js';
import { Tensor } from '../runtime/tensor.js';
import { loadSafetensors, saveSafetensors } from '../weights/index.js';
import type { AnyConfig } from '../models/modeling_utils.js';
import { pair } from '../models/vit.js';
import { CtcHead } from './ctc.js';
import type { ImageTextDataset } from './datasets.js';
import { bleu, cer, wer } from './metrics.js';
import { AdamW, clip_grad_norm_, defaultNoDecay } from './optim.js';
import { get_scheduler, get_warmup_steps, type LrLambda } from './schedules.js';
import { resolveTrainingArguments, type ResolvedTrainingArguments, type TrainingArguments } from './training_args.js';
import { DROPOUT_TAG, SHUFFLE_TAG, Progress, deriveSeed, encodeLabels, fmt, getLastCheckpoint, listCheckpoints, type ProgressStream } from './trainer_utils.js';

export * from './training_args.js';
export * from './trainer_utils.js';

// ---------------------------------------------------------------------------------------------
// State

export interface LogEntry {
  step: number;
  epoch: number;
  [key: string]: number;
}

export interface TrainerState {
  global_step: number;
  /** Fractional epochs done. */
  epoch: number;
  /** The epoch in progress and how many micro-batches of it are done (where a resumed run starts). */
  epoch_index: number;
  batches_done_in_epoch: number;
  max_steps: number;
  num_train_epochs: number;
  steps_per_epoch: number;
  batches_per_epoch: number;
  train_batch_size: number;
  gradient_accumulation_steps: number;
  seed: number;
  /** Dropout seed of micro-batch m of step s: deriveSeed(seed, 2, s, m); shuffle of epoch e: deriveSeed(seed, 1, e). */
  seeds: { seed: number; shuffle: string; dropout: string };
  num_train_examples: number;
  best_metric: number | null;
  best_global_step: number | null;
  best_model_checkpoint: string | null;
  metric_for_best_model: string | null;
  log_history: LogEntry[];
  /** Losses since the last log line (so that a resumed run logs the same means). */
  logging_window: { loss_sum: number; steps: number; ctc_loss_sum?: number; ctc_examples?: number };
  /** Sum of every step's loss (train_loss = this / global_step). */
  total_loss_sum: number;
  samples_seen: number;
}

export interface TrainOutput {
  global_step: number;
  /** Mean loss over all steps of the run (resumed runs included). */
  training_loss: number;
  metrics: Record<string, number>;
  log_history: LogEntry[];
  best_metric: number | null;
  best_model_checkpoint: string | null;
  /** The last checkpoint written. */
  last_checkpoint: string | null;
  /** True when stopped early by stop() or Ctrl-C (a checkpoint was saved). */
  interrupted: boolean;
}

export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  num_tokens: number;
  num_samples: number;
}

export interface TrainerCallback {
  on_step_end?(info: StepInfo, trainer: Trainer): void | Promise<void>;
  on_log?(entry: LogEntry, trainer: Trainer): void | Promise<void>;
  on_evaluate?(metrics: Record<string, number>, trainer: Trainer): void | Promise<void>;
  on_save?(checkpoint: string, trainer: Trainer): void | Promise<void>;
}

export interface TrainerOptions {
  model: VisionEncoderDecoderModel;
  args: TrainingArguments;
  train_dataset: ImageTextDataset;
  eval_dataset?: ImageTextDataset | null;
  tokenizer: PreTrainedTokenizer;
  image_processor: BaseImageProcessor;
  callbacks?: TrainerCallback[];
  /** Install SIGINT/SIGTERM handlers during train() that save a checkpoint and stop (default true). */
  handle_signals?: boolean;
  /** Where progress and messages go (default process.stderr). */
  progress_stream?: ProgressStream;
}

class StopEvaluation extends Error {}

// ---------------------------------------------------------------------------------------------
// Trainer

/** sums[name] += w · grads[name]; a name new to the sums takes the gradient's own array, scaled in place. */
function addWeighted(sums: Map<string, Tensor>, grads: Map<string, Tensor>, w: number): void {
  for (const [name, g] of grads) {
    const d = g.data as Float32Array;
    const acc = sums.get(name);
    if (acc) {
      const a = acc.data as Float32Array;
      for (let i = 0; i < d.length; i++) a[i] = a[i]! + w * d[i]!;
    } else {
      for (let i = 0; i < d.length; i++) d[i] = w * d[i]!;
      sums.set(name, g);
    }
  }
}

export class Trainer {
  readonly model: VisionEncoderDecoderModel;
  readonly args: ResolvedTrainingArguments;
  readonly train_dataset: ImageTextDataset;
  readonly eval_dataset: ImageTextDataset | null;
  readonly tokenizer: PreTrainedTokenizer;
  readonly image_processor: BaseImageProcessor;
  readonly callbacks: TrainerCallback[];
  optimizer: AdamW | null = null;
  state: TrainerState | null = null;
  private stopRequested = false;
  private readonly handleSignals: boolean;
  private readonly progress: Progress;
  private readonly vocabSize: number;
  /** Longest label / generated sequence the decoder's position embeddings allow (null: no limit). */
  private readonly maxPositions: number | null;
  private lastCheckpoint: string | null = null;
  /** The auxiliary CTC head, while training with ctc_weight > 0. */
  ctc_head: CtcHead | null = null;

  constructor(options: TrainerOptions) {
    const { model, train_dataset, tokenizer, image_processor } = options;
    if (!model || typeof model.compute_gradients !== 'function') throw new Error('Trainer: `model` must be a VisionEncoderDecoderModel');
    if (!train_dataset || typeof train_dataset.loadBatch !== 'function') throw new Error('Trainer: `train_dataset` must be an ImageTextDataset (loadImageTextDataset)');
    if (!tokenizer || typeof tokenizer.call !== 'function') throw new Error('Trainer: `tokenizer` must be a tokenizer (AutoTokenizer.from_pretrained)');
    if (!image_processor || typeof image_processor.preprocess !== 'function') throw new Error('Trainer: `image_processor` must be an image processor (AutoImageProcessor.from_pretrained)');
    this.model = model;
    this.args = resolveTrainingArguments(options.args);
    this.train_dataset = train_dataset;
    this.eval_dataset = options.eval_dataset ?? null;
    this.tokenizer = tokenizer;
    this.image_processor = image_processor;
    this.callbacks = options.callbacks ?? [];
    this.handleSignals = options.handle_signals ?? true;
    this.progress = new Progress(!this.args.disable_tqdm, options.progress_stream);
    const cfg = model.config as unknown as Record<string, unknown>;
    for (const key of ['decoder_start_token_id', 'pad_token_id'] as const) {
      if (typeof cfg[key] !== 'number') {
        throw new Error(`Trainer: model.config.${key} is not set; set it to the tokenizer's ${key === 'pad_token_id' ? 'pad' : 'start (cls/bos)'} token id (ved train: --${key.replaceAll('_', '-')})`);
      }
    }
    const dec = model.config.decoder as unknown as Record<string, unknown>;
    this.vocabSize = dec.vocab_size as number;
    const positions = dec.n_positions ?? dec.max_position_embeddings;
    this.maxPositions = typeof positions === 'number' && positions > 0 ? positions : null;
    if (this.args.metric_for_best_model && !this.eval_dataset) {
      throw new Error(`Trainer: metric_for_best_model '${this.args.metric_for_best_model}' needs an eval_dataset`);
    }
    if (this.args.eval_steps > 0 && !this.eval_dataset) throw new Error('Trainer: eval_steps is set but there is no eval_dataset');
  }

  /** Ask the running train() to stop after the current step and save a checkpoint (what Ctrl-C does). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Micro-batches (positions in the training set) per epoch. */
  get batches_per_epoch(): number {
    const n = this.train_dataset.length;
    const bs = this.args.per_device_train_batch_size;
    return this.args.dataloader_drop_last ? Math.floor(n / bs) : Math.ceil(n / bs);
  }

  /** Loads, preprocesses and labels one batch of dataset positions (bad images are left out). */
  async prepareBatch(dataset: ImageTextDataset, indices: readonly number[]): Promise<{ pixel_values: Tensor; labels: Tensor; num_tokens: number; texts: string[] } | null> {
    const batch = await dataset.loadBatch(indices);
    if (batch.examples.length === 0) return null;
    const { pixel_values } = await this.image_processor.preprocess(batch.examples.map((e) => e.image!));
    const texts = batch.examples.map((e) => e.text);
    const eos = this.args.append_eos_token ? (this.model.config as unknown as Record<string, unknown>).eos_token_id : null;
    const { labels, num_tokens } = encodeLabels(this.tokenizer, texts, this.labelLength, this.vocabSize, typeof eos === 'number' ? eos : null);
    return { pixel_values, labels, num_tokens, texts };
  }

  /**
   * The gradient of one optimizer step: the micro-batches' gradients weighted by their label
   * tokens, i.e. the gradient of the mean token loss over all of them. `dropout_seeds` (one per
   * micro-batch) reseed the model's dropout before each.
   */
  async accumulate_gradients(dataset: ImageTextDataset, micro_batches: readonly (readonly number[])[], dropout_seeds?: readonly number[]): Promise<{ loss: number; grads: Map<string, Tensor>; num_tokens: number; num_samples: number; ctc_loss_sum: number; ctc_examples: number }> {
    // The first micro-batch's gradient waits: alone, it is the step's gradient as it is. With a
    // second, both are added into sums weighted by their tokens, the first one's arrays becoming
    // the sums (scaled in place), so no step allocates and zeroes a second copy of every weight.
    const sums = new Map<string, Tensor>();
    let first: Map<string, Tensor> | null = null;
    let lossSum = 0;
    let tokens = 0;
    let samples = 0;
    let ctcSum = 0;
    let ctcExamples = 0;
    for (let m = 0; m < micro_batches.length; m++) {
      const b = await this.prepareBatch(dataset, micro_batches[m]!);
      if (!b || b.num_tokens === 0) continue;
      // The CTC loss joins the same gradient graph, reading the encoder states the decoder reads.
      const aux = this.ctc_head?.auxiliaryLoss(b.labels, this.args.ctc_weight / b.num_tokens);
      if (dropout_seeds) this.model.set_dropout_seed(dropout_seeds[m]!);
      const { loss, grads, auxiliary_outputs } = await this.model.compute_gradients({ pixel_values: b.pixel_values, labels: b.labels, auxiliary_loss: aux });
      if (aux) {
        const r = aux.result(auxiliary_outputs);
        ctcSum += r.loss_sum;
        ctcExamples += r.examples;
      }
      if (!Number.isFinite(loss)) throw new Error(`training loss is ${loss} at micro-batch ${m} (examples ${micro_batches[m]!.join(', ')}); lower the learning rate or check the data`);
      const w = b.num_tokens;
      lossSum += loss * w;
      tokens += w;
      samples += b.texts.length;
      // Micro-batches without labels were skipped, so only the first counted one has all the tokens.
      if (tokens === w) {
        first = grads;
        continue;
      }
      if (first) {
        addWeighted(sums, first, tokens - w);
        first = null;
      }
      addWeighted(sums, grads, w);
    }
    // One micro-batch: its gradient is already the step's (the gradient of its mean token loss);
    // weighting it by its tokens and dividing again would cost two passes over every weight.
    if (first) return { loss: lossSum / tokens, grads: first, num_tokens: tokens, num_samples: samples, ctc_loss_sum: ctcSum, ctc_examples: ctcExamples };
    for (const g of sums.values()) {
      const a = g.data as Float32Array;
      if (tokens > 0) for (let i = 0; i < a.length; i++) a[i] = a[i]! / tokens;
    }
    return { loss: tokens > 0 ? lossSum / tokens : NaN, grads: sums, num_tokens: tokens, num_samples: samples, ctc_loss_sum: ctcSum, ctc_examples: ctcExamples };
  }

  /** Labels are cut to max_target_length, and to the decoder's position limit. */
  get labelLength(): number {
    return Math.min(this.args.max_target_length, this.maxPositions ?? Infinity);
  }

  private generationOptions(): Record<string, unknown> {
    const gc = this.model.generation_config as unknown as Record<string, unknown>;
    const opts: Record<string, unknown> = {};
    if (this.args.generation_max_length !== null) opts.max_length = this.args.generation_max_length;
    else if (gc.max_length == null && gc.max_new_tokens == null) opts.max_length = Math.min(this.args.max_target_length + 1, this.maxPositions ?? Infinity);
    if (this.args.generation_num_beams !== null) opts.num_beams = this.args.generation_num_beams;
    return opts;
  }

  /**
   * Evaluates on eval_dataset (or `dataset`): mean token loss, and text generated with the
   * model's generation settings (+ generation_max_length / generation_num_beams) scored by CER,
   * WER and BLEU-4 against the dataset's texts. Dropout is off while evaluating.
   */
  async evaluate(dataset: ImageTextDataset | null = this.eval_dataset): Promise<Record<string, number>> {
    if (!dataset) throw new Error('Trainer.evaluate: no eval_dataset');
    const wasTraining = this.model.training;
    this.model.eval();
    const start = performance.now();
    let lossSum = 0;
    let tokens = 0;
    const predictions: string[] = [];
    const references: string[] = [];
    const gen = this.generationOptions();
    try {
      for (const indices of dataset.batches(this.args.per_device_eval_batch_size)) {
        if (this.stopRequested) throw new StopEvaluation();
        const b = await this.prepareBatch(dataset, indices);
        if (!b) continue;
        const out = await this.model.forward({ pixel_values: b.pixel_values, labels: b.labels });
        if (b.num_tokens > 0) {
          lossSum += out.loss! * b.num_tokens;
          tokens += b.num_tokens;
        }
        const ids = await this.model.generate(b.pixel_values, gen);
        predictions.push(...this.tokenizer.batch_decode(ids, { skip_special_tokens: true }).map((s) => s.trim()));
        references.push(...b.texts);
      }
    } finally {
      this.model.train(wasTraining);
    }
    if (references.length === 0) throw new Error(`Trainer.evaluate: no example of ${dataset.source} could be loaded`);
    const seconds = (performance.now() - start) / 1000;
    return {
      eval_loss: tokens > 0 ? lossSum / tokens : NaN,
      eval_cer: cer(predictions, references),
      eval_wer: wer(predictions, references),
      eval_bleu: bleu(predictions, references).bleu,
      eval_samples: references.length,
      eval_runtime: seconds,
      eval_samples_per_second: references.length / Math.max(seconds, 1e-9),
    };
  }

  /** Writes the model, tokenizer and image processor files into `dir` (default output_dir). */
  async save_model(dir: string = this.args.output_dir): Promise<void> {
    await this.model.save_pretrained(dir);
    await this.saveProcessing(dir);
  }

  private async saveProcessing(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    await this.image_processor.save_pretrained(dir);
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(this.tokenizer.tokenizer_json, null, 2) + '\n');
    const config: Record<string, unknown> = { ...this.tokenizer.config };
    config.tokenizer_class ??= this.tokenizer.constructor.name === 'PreTrainedTokenizer' ? 'PreTrainedTokenizerFast' : this.tokenizer.constructor.name;
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  /** Copies a checkpoint's weights into the model (in place: compiled graphs keep working). */
  async load_model_weights(checkpoint: string): Promise<void> {
    const file = join(checkpoint, 'model.safetensors');
    if (!existsSync(file)) throw new Error(`${checkpoint}: no model.safetensors (not a checkpoint folder)`);
    const { tensors } = await loadSafetensors(file);
    for (const [name, t] of this.model.state_dict()) {
      const src = tensors.get(name);
      if (!src) throw new Error(`${file}: has no weight '${name}'; the checkpoint is of a different model`);
      if (src.type !== t.type || src.size !== t.size) throw new Error(`${file}: '${name}' is ${src.type} [${src.dims}], the model's ${t.type} [${t.dims}]`);
      (t.data as Float32Array).set(src.data as Float32Array);
    }
    this.model.weights_changed(); // generation sessions hold a copy of the weights
  }

  private resolveResume(resume: string | boolean | null): string | null {
    if (resume === null || resume === false) return null;
    if (resume === true) {
      const last = getLastCheckpoint(this.args.output_dir);
      if (!last) throw new Error(`resume_from_checkpoint: no checkpoint-<step> folder with a trainer_state.json in ${resolve(this.args.output_dir)}`);
      return last;
    }
    if (!existsSync(join(resume, 'trainer_state.json'))) throw new Error(`resume_from_checkpoint: ${resume} is not a checkpoint (no trainer_state.json)`);
    return resume;
  }

  private writeLog(entry: Record<string, unknown>): void {
    appendFileSync(join(this.args.output_dir, 'log.jsonl'), JSON.stringify(entry) + '\n');
  }

  private async emit<K extends keyof TrainerCallback>(name: K, arg: Parameters<NonNullable<TrainerCallback[K]>>[0]): Promise<void> {
    for (const cb of this.callbacks) {
      const f = cb[name] as ((a: unknown, t: Trainer) => void | Promise<void>) | undefined;
      if (f) await f.call(cb, arg, this);
    }
  }

  async train(options: { resume_from_checkpoint?: string | boolean | null } = {}): Promise<TrainOutput> {
    const args = this.args;
    const out = args.output_dir;
    const bpe = this.batches_per_epoch;
    if (bpe === 0) {
      throw new Error(`the training set has ${this.train_dataset.length} examples, fewer than one batch of ${args.per_device_train_batch_size} with dataloader_drop_last`);
    }
    const accum = args.gradient_accumulation_steps;
    const stepsPerEpoch = Math.ceil(bpe / accum);
    const maxSteps = args.max_steps > 0 ? args.max_steps : Math.max(1, Math.ceil(args.num_train_epochs * stepsPerEpoch));
    const numEpochs = Math.ceil(maxSteps / stepsPerEpoch);
    const resumeFrom = this.resolveResume(options.resume_from_checkpoint ?? args.resume_from_checkpoint);

    mkdirSync(out, { recursive: true });
    if (!resumeFrom) {
      const old = listCheckpoints(out);
      if (old.length > 0) {
        if (!args.overwrite_output_dir) {
          throw new Error(`output_dir ${resolve(out)} already has checkpoints (${old.map((c) => `checkpoint-${c.step}`).join(', ')}); resume from them (resume_from_checkpoint) or pass overwrite_output_dir`);
        }
        for (const c of old) rmSync(c.path, { recursive: true, force: true });
      }
    }

    const params = this.model.named_parameters();
    this.ctc_head = args.ctc_weight > 0 ? await this.makeCtcHead(resumeFrom) : null;
    if (this.ctc_head) for (const [name, t] of this.ctc_head.named_parameters()) params.set(name, t);
    const optimizer = new AdamW(params, {
      lr: args.learning_rate,
      betas: [args.adam_beta1, args.adam_beta2],
      eps: args.adam_epsilon,
      weight_decay: args.weight_decay,
      no_decay: defaultNoDecay,
    });
    this.optimizer = optimizer;
    const warmup = get_warmup_steps(maxSteps, args.warmup_steps, args.warmup_ratio);
    const schedule: LrLambda = get_scheduler(args.lr_scheduler_type, { num_warmup_steps: warmup, num_training_steps: maxSteps });

    let state: TrainerState = {
      global_step: 0,
      epoch: 0,
      epoch_index: 0,
      batches_done_in_epoch: 0,
      max_steps: maxSteps,
      num_train_epochs: numEpochs,
      steps_per_epoch: stepsPerEpoch,
      batches_per_epoch: bpe,
      train_batch_size: args.per_device_train_batch_size,
      gradient_accumulation_steps: accum,
      seed: args.seed,
      seeds: { seed: args.seed, shuffle: 'deriveSeed(seed, 1, epoch)', dropout: 'deriveSeed(seed, 2, step, micro_batch)' },
      num_train_examples: this.train_dataset.length,
      best_metric: null,
      best_global_step: null,
      best_model_checkpoint: null,
      metric_for_best_model: args.metric_for_best_model,
      log_history: [],
      logging_window: { loss_sum: 0, steps: 0 },
      total_loss_sum: 0,
      samples_seen: 0,
    };
    if (resumeFrom) {
      const saved = JSON.parse(readFileSync(join(resumeFrom, 'trainer_state.json'), 'utf8')) as TrainerState;
      const mismatch: string[] = [];
      if (saved.train_batch_size !== state.train_batch_size) mismatch.push(`per_device_train_batch_size ${saved.train_batch_size} → ${state.train_batch_size}`);
      if (saved.gradient_accumulation_steps !== accum) mismatch.push(`gradient_accumulation_steps ${saved.gradient_accumulation_steps} → ${accum}`);
      if (saved.seed !== args.seed) mismatch.push(`seed ${saved.seed} → ${args.seed}`);
      if (saved.num_train_examples !== this.train_dataset.length) mismatch.push(`training examples ${saved.num_train_examples} → ${this.train_dataset.length}`);
      if (mismatch.length) this.progress.message(`warning: resuming ${resumeFrom} with different settings (${mismatch.join(', ')}): the run will not repeat an uninterrupted one`);
      await this.load_model_weights(resumeFrom);
      const optFile = join(resumeFrom, 'optimizer.safetensors');
      if (!existsSync(optFile)) throw new Error(`${resumeFrom}: no optimizer.safetensors`);
      await optimizer.load(optFile);
      state = { ...state, ...pick(saved, ['global_step', 'epoch', 'epoch_index', 'batches_done_in_epoch', 'best_metric', 'best_global_step', 'best_model_checkpoint', 'log_history', 'logging_window', 'total_loss_sum', 'samples_seen']) };
      if (state.batches_done_in_epoch >= bpe) {
        state.epoch_index += 1;
        state.batches_done_in_epoch = 0;
      }
      this.progress.message(`Resuming from ${resumeFrom} at step ${state.global_step} (epoch ${state.epoch_index}, batch ${state.batches_done_in_epoch})`);
    }
    this.state = state;
    // The log starts as the state's history: entries of an interrupted run past the checkpoint go.
    writeFileSync(join(out, 'log.jsonl'), state.log_history.map((e) => JSON.stringify(e) + '\n').join(''));

    this.stopRequested = false;
    let signalCount = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signalCount++;
      if (signalCount > 1) {
        this.progress.message(`${sig} again: exiting without saving`);
        process.exit(130);
      }
      this.progress.message(`${sig}: saving a checkpoint after this step (press Ctrl-C again to quit at once)`);
      this.stop();
    };
    if (this.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }

    const startTime = performance.now();
    const startStep = state.global_step;
    let windowStart = performance.now();
    let windowSamples = 0;
    let samplesThisRun = 0;
    let lastEvalStep = -1;
    let lastSaveStep = resumeFrom ? state.global_step : -1;
    let interrupted = false;
    let lastGradNorm = 0;
    let lastLr = optimizer.lr;
    let lastEvalMetrics: Record<string, number> = {};

    const doEvaluate = async (): Promise<Record<string, number> | null> => {
      let metrics: Record<string, number>;
      try {
        metrics = await this.evaluate();
      } catch (e) {
        if (e instanceof StopEvaluation) return null;
        throw e;
      }
      lastEvalStep = state.global_step;
      lastEvalMetrics = metrics;
      const entry: LogEntry = { step: state.global_step, epoch: state.epoch, ...metrics };
      state.log_history.push(entry);
      this.writeLog(entry);
      this.progress.message(`eval step ${state.global_step}: loss ${fmt(metrics.eval_loss!)} | CER ${fmt(metrics.eval_cer!)} | WER ${fmt(metrics.eval_wer!)} | BLEU ${fmt(metrics.eval_bleu!)}`);
      await this.emit('on_evaluate', metrics);
      return metrics;
    };

    const isBetter = (v: number): boolean => {
      if (!Number.isFinite(v)) return false;
      if (state.best_metric === null) return true;
      return args.greater_is_better ? v > state.best_metric : v < state.best_metric;
    };

    const save = async (): Promise<string> => {
      const dir = await this.saveCheckpoint(state);
      lastSaveStep = state.global_step;
      this.lastCheckpoint = dir;
      await this.emit('on_save', dir);
      return dir;
    };

    /** After an evaluation: a new best is recorded and saved at once, so the best checkpoint exists. */
    const afterEvaluate = async (metrics: Record<string, number> | null): Promise<void> => {
      const key = args.metric_for_best_model;
      if (!metrics || !key) return;
      const v = metrics[key]!;
      if (isBetter(v)) {
        state.best_metric = v;
        state.best_global_step = state.global_step;
        state.best_model_checkpoint = resolve(out, `checkpoint-${state.global_step}`);
        await save();
      }
    };

    this.model.train();
    try {
      outer: for (let epoch = state.epoch_index; state.global_step < maxSteps; epoch++) {
        const order = this.train_dataset.shuffle(deriveSeed(args.seed, SHUFFLE_TAG, epoch));
        const batches = [...order.batches(args.per_device_train_batch_size, { drop_last: args.dataloader_drop_last })];
        let b = epoch === state.epoch_index ? state.batches_done_in_epoch : 0;
        while (b < batches.length && state.global_step < maxSteps) {
          const step = state.global_step;
          const micro = batches.slice(b, b + accum);
          const seeds = micro.map((_, m) => deriveSeed(args.seed, DROPOUT_TAG, step, m));
          const r = await this.accumulate_gradients(order, micro, seeds);
          b += micro.length;
          const gradNorm = clip_grad_norm_(r.grads, args.max_grad_norm);
          optimizer.set_lr_factor(schedule(step));
          const lr = optimizer.lr;
          if (r.num_tokens > 0) optimizer.step(r.grads);
          else this.progress.message(`warning: step ${step + 1} had no usable examples (images could not be loaded); no update`);

          state.global_step = step + 1;
          if (b >= batches.length) {
            state.epoch_index = epoch + 1;
            state.batches_done_in_epoch = 0;
          } else {
            state.epoch_index = epoch;
            state.batches_done_in_epoch = b;
          }
          state.epoch = epoch + b / bpe;
          const loss = r.num_tokens > 0 ? r.loss : 0;
          state.total_loss_sum += loss;
          state.samples_seen += r.num_samples;
          state.logging_window.loss_sum += loss;
          state.logging_window.steps += 1;
          if (this.ctc_head) {
            state.logging_window.ctc_loss_sum = (state.logging_window.ctc_loss_sum ?? 0) + r.ctc_loss_sum;
            state.logging_window.ctc_examples = (state.logging_window.ctc_examples ?? 0) + r.ctc_examples;
          }
          samplesThisRun += r.num_samples;
          windowSamples += r.num_samples;
          lastGradNorm = gradNorm;
          lastLr = lr;

          const now = performance.now();
          const elapsed = (now - startTime) / 1000;
          const done = state.global_step - startStep;
          const eta = (elapsed / Math.max(1, done)) * (maxSteps - state.global_step);
          const isLogStep = state.global_step % args.logging_steps === 0 || state.global_step === maxSteps;
          const sps = samplesThisRun / Math.max(elapsed, 1e-9);
          const windowLoss = state.logging_window.loss_sum / state.logging_window.steps;
          this.progress.update({ step: state.global_step, total: maxSteps, loss: windowLoss, lr, samples_per_second: sps, eta }, isLogStep);
          if (isLogStep) {
            const entry: LogEntry = {
              step: state.global_step,
              epoch: state.epoch,
              loss: windowLoss,
              lr,
              grad_norm: gradNorm,
              samples_per_second: windowSamples / Math.max((now - windowStart) / 1000, 1e-9),
            };
            if (this.ctc_head) {
              // Per line, and how many lines had an alignment (more characters than columns have none).
              entry.ctc_loss = (state.logging_window.ctc_loss_sum ?? 0) / Math.max(1, state.logging_window.ctc_examples ?? 0);
              entry.ctc_examples = state.logging_window.ctc_examples ?? 0;
            }
            state.log_history.push(entry);
            this.writeLog(entry);
            state.logging_window = { loss_sum: 0, steps: 0 };
            windowStart = now;
            windowSamples = 0;
            await this.emit('on_log', entry);
          }
          await this.emit('on_step_end', { step: state.global_step, loss, lr, grad_norm: gradNorm, num_tokens: r.num_tokens, num_samples: r.num_samples });

          if (args.eval_steps > 0 && state.global_step % args.eval_steps === 0 && !this.stopRequested) {
            await afterEvaluate(await doEvaluate());
          }
          if (args.save_steps > 0 && state.global_step % args.save_steps === 0 && lastSaveStep !== state.global_step) await save();
          if (this.stopRequested) {
            interrupted = state.global_step < maxSteps;
            break outer;
          }
        }
      }
      if (!interrupted && this.eval_dataset && lastEvalStep !== state.global_step && !this.stopRequested) {
        await afterEvaluate(await doEvaluate());
      }
      if (lastSaveStep !== state.global_step) await save();
    } finally {
      if (this.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      this.progress.end();
      this.model.eval();
    }

    if (!interrupted && args.load_best_model_at_end && state.best_model_checkpoint && state.best_global_step !== state.global_step) {
      this.progress.message(`Loading the best model (${args.metric_for_best_model} ${fmt(state.best_metric!)}) from ${state.best_model_checkpoint}`);
      await this.load_model_weights(state.best_model_checkpoint);
    }
    const runtime = (performance.now() - startTime) / 1000;
    const metrics: Record<string, number> = {
      train_runtime: runtime,
      train_samples_per_second: samplesThisRun / Math.max(runtime, 1e-9),
      train_steps_per_second: (state.global_step - startStep) / Math.max(runtime, 1e-9),
      train_loss: state.total_loss_sum / Math.max(1, state.global_step),
      epoch: state.epoch,
      grad_norm: lastGradNorm,
      learning_rate: lastLr,
      ...lastEvalMetrics,
    };
    if (interrupted) this.progress.message(`Stopped at step ${state.global_step}; resume with resume_from_checkpoint ${this.lastCheckpoint}`);
    return {
      global_step: state.global_step,
      training_loss: metrics.train_loss!,
      metrics,
      log_history: state.log_history,
      best_metric: state.best_metric,
      best_model_checkpoint: state.best_model_checkpoint,
      last_checkpoint: this.lastCheckpoint,
      interrupted,
    };
  }

  /** Writes checkpoint-<step> atomically (temporary folder, then rename) and applies save_total_limit. */
  private async saveCheckpoint(state: TrainerState): Promise<string> {
    const out = this.args.output_dir;
    const name = `checkpoint-${state.global_step}`;
    const final = join(out, name);
    const tmp = join(out, `.tmp-${name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await this.model.save_pretrained(tmp);
    await this.saveProcessing(tmp);
    await this.optimizer!.save(join(tmp, 'optimizer.safetensors'));
    if (this.ctc_head) await saveSafetensors(join(tmp, CTC_HEAD_FILE), this.ctc_head.named_parameters());
    const { resume_from_checkpoint: _r, ...args } = this.args;
    writeFileSync(join(tmp, 'training_args.json'), JSON.stringify(args, null, 2) + '\n');
    writeFileSync(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    if (existsSync(final)) {
      const old = join(out, `.old-${name}-${process.pid}`);
      rmSync(old, { recursive: true, force: true });
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, final);
    }
    this.rotateCheckpoints(state);
    return resolve(final);
  }

  /** The auxiliary CTC head: new (seeded by args.seed), or the resumed checkpoint's. */
  private async makeCtcHead(resumeFrom: string | null): Promise<CtcHead> {
    const cfg = this.model.config as unknown as Record<string, unknown> & { encoder: AnyConfig; decoder: AnyConfig };
    const enc = cfg.encoder;
    const prefix = ({ vit: 1, beit: 1, deit: 2 } as Record<string, number>)[enc.model_type as string];
    if (prefix === undefined) throw new Error(`ctc_weight: the auxiliary CTC loss reads a ViT, DeiT or BEiT encoder's patch columns; this encoder is '${enc.model_type as string}'`);
    const [ph, pw] = pair(enc, 'patch_size', 16);
    const [ih, iw] = pair(enc, 'image_size', 224);
    const ids = ['bos_token_id', 'eos_token_id', 'decoder_start_token_id'].map((k) => cfg[k] ?? cfg.decoder[k]).filter((v): v is number => typeof v === 'number');
    const head = new CtcHead({
      hidden_size: enc.hidden_size as number,
      vocab_size: cfg.decoder.vocab_size as number,
      blank: cfg.pad_token_id as number,
      special_ids: ids,
      prefix_tokens: prefix,
      grid: [Math.floor(ih / ph), Math.floor(iw / pw)],
      init_std: (enc.initializer_range as number | undefined) ?? 0.02,
      seed: this.args.seed,
    });
    const file = resumeFrom ? join(resumeFrom, CTC_HEAD_FILE) : null;
    if (file && existsSync(file)) {
      head.load_state_dict((await loadSafetensors(file)).tensors, file);
    } else if (file) this.progress.message(`warning: ${resumeFrom} has no ${CTC_HEAD_FILE}; the CTC head starts fresh`);
    return head;
  }

  /** save_total_limit: delete the oldest checkpoints, never the best one nor the newest. */
  private rotateCheckpoints(state: TrainerState): void {
    const limit = this.args.save_total_limit;
    if (limit === null) return;
    const all = listCheckpoints(this.args.output_dir);
    let excess = all.length - limit;
    const best = state.best_model_checkpoint ? resolve(state.best_model_checkpoint) : null;
    const newest = all.length ? resolve(all[all.length - 1]!.path) : null;
    for (const c of all) {
      if (excess <= 0) break;
      const p = resolve(c.path);
      if (p === best || p === newest) continue;
      rmSync(p, { recursive: true, force: true });
      excess--;
    }
  }
}

/** The auxiliary CTC head's weights in a checkpoint (not part of the model). */
const CTC_HEAD_FILE = 'ctc_head.safetensors';

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) {
    if (obj[k] === undefined) throw new Error(`trainer_state.json: missing '${String(k)}'`);
    out[k] = obj[k];
  }
  return out;
}
