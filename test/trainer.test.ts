// The Trainer and `ved train` on a tiny random ViT + GPT-2 model and a tiny imagefolder of
// solid-colour squares: the loss falls through the CLI; an interrupted and resumed run repeats an
// uninterrupted one loss for loss; schedules, clipping and gradient accumulation against hand
// computations; checkpoint rotation and the best checkpoint; clear errors for bad options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { AutoConfig, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AutoImageProcessor, type BaseImageProcessor } from '../src/processing/image_processors.js';
import { AutoTokenizer, type PreTrainedTokenizer } from '../src/processing/tokenizers.js';
import { Tensor } from '../src/runtime/tensor.js';
import { loadImageTextDataset, type ImageTextDataset } from '../src/training/datasets.js';
import { AdamW, clip_grad_norm_ } from '../src/training/optim.js';
import { get_scheduler, get_warmup_steps } from '../src/training/schedules.js';
import { encodeLabels, listCheckpoints, resolveTrainingArguments, Trainer, type LogEntry, type TrainingArguments } from '../src/training/trainer.js';
import { trainCommand } from '../src/cli/train.js';
import { loadSafetensorsSync } from '../src/weights/index.js';
import { FIXTURES, ROOT } from './helpers.js';

let dir: string;
let data: string;
let pieces: string;
let encConfig: string;
let decConfig: string;
let tokenizer: PreTrainedTokenizer;
let imageProcessor: BaseImageProcessor;
let trainSet: ImageTextDataset;
let evalSet: ImageTextDataset;

const ENC = { model_type: 'vit', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, image_size: 32, patch_size: 8 };
const DEC = { model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 400, n_positions: 64, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };
const COLOURS: Array<[string, [number, number, number]]> = [
  ['red', [220, 30, 30]], ['green', [30, 200, 40]], ['blue', [30, 40, 220]],
  ['black', [0, 0, 0]], ['white', [250, 250, 250]], ['yellow', [240, 230, 20]],
];

function tinyModel(seed: number, dropout = 0): VisionEncoderDecoderModel {
  const { model_type: et, ...enc } = ENC;
  const { model_type: dt, ...dec } = DEC;
  const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
    AutoConfig.for_model(et, enc),
    AutoConfig.for_model(dt, { ...dec, resid_pdrop: dropout, embd_pdrop: dropout, attn_pdrop: dropout }),
    { decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 0 },
  );
  return new VisionEncoderDecoderModel({ config, seed });
}

function lossLog(history: LogEntry[]): Array<[number, number]> {
  return history.filter((e) => 'loss' in e).map((e) => [e.step, e.loss!]);
}

function readLog(out: string): LogEntry[] {
  return readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
}

/** Runs trainCommand in-process with its stdout and stderr captured. */
async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await trainCommand(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ved-trainer-'));
  data = join(dir, 'data');
  mkdirSync(data);
  const rows: string[] = [];
  let i = 0;
  for (const [name, [r, g, b]] of COLOURS) {
    // Two texts per colour of different lengths (so that token-weighted accumulation matters).
    for (const text of [name, `a ${name} square on paper`]) {
      const file = `img${i++}.png`;
      await sharp({ create: { width: 40, height: 24, channels: 3, background: { r, g, b } } }).png().toFile(join(data, file));
      rows.push(JSON.stringify({ file_name: file, text }));
    }
  }
  writeFileSync(join(data, 'metadata.jsonl'), rows.join('\n') + '\n');
  pieces = join(dir, 'pieces');
  mkdirSync(pieces);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(FIXTURES, 'hf', 'tokenizers', 'bpe-gpt2', f), join(pieces, f));
  writeFileSync(join(pieces, 'preprocessor_config.json'), JSON.stringify({
    image_processor_type: 'ViTImageProcessor', do_resize: true, size: { height: 32, width: 32 }, do_rescale: true,
    rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
  }));
  encConfig = join(dir, 'encoder.json');
  decConfig = join(dir, 'decoder.json');
  writeFileSync(encConfig, JSON.stringify(ENC));
  writeFileSync(decConfig, JSON.stringify(DEC));
  tokenizer = await AutoTokenizer.from_pretrained(pieces);
  imageProcessor = await AutoImageProcessor.from_pretrained(pieces);
  trainSet = await loadImageTextDataset(data, { validation_fraction: 0.25, seed: 1 });
  evalSet = await loadImageTextDataset(data, { split: 'validation', validation_fraction: 0.25, seed: 1 });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('ved train from two configs: the loss falls over 30 steps; checkpoints, log, final model', async () => {
  const out = join(dir, 'cli-run');
  const { code, stdout, stderr } = await runCli([
    '--encoder-config', encConfig, '--decoder-config', decConfig, '--tokenizer', pieces, '--image-processor', pieces,
    '--data', data, '--validation-fraction', '0.25', '--output-dir', out, '--max-steps', '30', '--batch-size', '4',
    '--learning-rate', '3e-3', '--warmup-steps', '3', '--logging-steps', '5', '--save-steps', '10', '--save-total-limit', '2',
    '--eval-steps', '30', '--generation-max-length', '8', '--json',
  ]);
  assert.equal(code, 0, stderr);
  // Not a TTY here: plain progress lines.
  assert.match(stderr, /step 30\/30 \| loss \d+\.\d+ \| lr [\d.e+-]+ \| [\d.]+ samples\/s \| ETA/);
  const summary = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(summary.global_step, 30);
  assert.equal(summary.interrupted, false);
  const log = readLog(out);
  const losses = lossLog(log);
  assert.deepEqual(losses.map(([s]) => s), [5, 10, 15, 20, 25, 30]);
  const first = losses[0]![1];
  const last = losses[losses.length - 1]![1];
  assert.ok(last < 0.8 * first, `loss should fall clearly: ${first} → ${last}`);
  for (const e of log.filter((e) => 'loss' in e)) {
    for (const k of ['lr', 'grad_norm', 'samples_per_second', 'epoch']) assert.ok(Number.isFinite(e[k]), `log entry ${JSON.stringify(e)} lacks ${k}`);
  }
  const evalEntry = log.find((e) => 'eval_loss' in e)!;
  assert.equal(evalEntry.step, 30);
  for (const k of ['eval_cer', 'eval_wer', 'eval_bleu']) assert.ok(Number.isFinite(evalEntry[k]), k);
  assert.equal(summary.metrics.eval_loss, evalEntry.eval_loss);
  // save_total_limit 2 over saves at 10, 20, 30.
  assert.deepEqual(listCheckpoints(out).map((c) => c.step), [20, 30]);
  const ckpt = join(out, 'checkpoint-30');
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'training_args.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json']) {
    assert.ok(existsSync(join(ckpt, f)), `checkpoint lacks ${f}`);
  }
  const opt = loadSafetensorsSync(join(ckpt, 'optimizer.safetensors'));
  assert.equal(opt.metadata?.step, '30');
  assert.ok(opt.tensors.has('exp_avg.decoder.transformer.wte.weight') && opt.tensors.has('exp_avg_sq.encoder.embeddings.patch_embeddings.projection.weight'));
  const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8'));
  assert.equal(state.global_step, 30);
  assert.equal(state.log_history.length, log.length);
  assert.ok(!readdirSync(out).some((n) => n.startsWith('.tmp-')), 'no temporary checkpoint folder left');
  // The final model in output_dir loads and generates; its weights are the last checkpoint's.
  const model = await VisionEncoderDecoderModel.from_pretrained(out);
  const ip = await AutoImageProcessor.from_pretrained(out);
  const tok = await AutoTokenizer.from_pretrained(out);
  assert.equal(tok.length, tokenizer.length);
  const { pixel_values } = await ip.preprocess(join(data, 'img0.png'));
  const ids = await model.generate(pixel_values, { max_new_tokens: 4 });
  assert.equal(ids.dims[0], 1);
  const a = loadSafetensorsSync(join(out, 'model.safetensors')).tensors;
  const b = loadSafetensorsSync(join(ckpt, 'model.safetensors')).tensors;
  assert.deepEqual(a.get('decoder.transformer.wte.weight')!.data, b.get('decoder.transformer.wte.weight')!.data);
});

/** A run of tinyModel(3, 0.1) that a SIGINT (as from Ctrl-C) stops after step 3. */
function trainInterruptedAtStep3(args: TrainingArguments) {
  return new Trainer({
    model: tinyModel(3, 0.1),
    args,
    train_dataset: trainSet,
    tokenizer,
    image_processor: imageProcessor,
    callbacks: [{ on_step_end: (info) => void (info.step === 3 && process.emit('SIGINT')) }],
  }).train();
}

const RESUME_ARGS: Omit<TrainingArguments, 'output_dir'> = {
  max_steps: 6,
  // 9 examples in micro-batches of 1, two per step: step 3 stops mid-epoch, step 5 ends epoch 0.
  per_device_train_batch_size: 1,
  gradient_accumulation_steps: 2,
  learning_rate: 2e-3,
  weight_decay: 0.01,
  lr_scheduler_type: 'linear',
  warmup_steps: 2,
  max_grad_norm: 0.5,
  logging_steps: 1,
  save_steps: 0,
  seed: 7,
  disable_tqdm: true,
};

test('interrupted (SIGINT) at step 3 and resumed = uninterrupted 6 steps, loss for loss', async () => {
  const straightOut = join(dir, 'straight');
  const straight = await new Trainer({ model: tinyModel(3, 0.1), args: { ...RESUME_ARGS, output_dir: straightOut }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train();
  assert.equal(straight.global_step, 6);
  assert.equal(straight.interrupted, false);
  const ref = lossLog(straight.log_history);
  assert.equal(ref.length, 6);
  assert.ok(ref.every(([, l]) => Number.isFinite(l)));
  // Dropout is live in training (so resuming must reproduce its masks): two seeds, two losses.
  const probe = tinyModel(3, 0.1).train();
  const t = new Trainer({ model: probe, args: { output_dir: join(dir, 'probe') }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor });
  const l1 = (await t.accumulate_gradients(trainSet, [[0, 1]], [1])).loss;
  const l2 = (await t.accumulate_gradients(trainSet, [[0, 1]], [2])).loss;
  const l1again = (await t.accumulate_gradients(trainSet, [[0, 1]], [1])).loss;
  assert.notEqual(l1, l2);
  assert.equal(l1, l1again);

  // lr per step: linear with 2 warmup steps over 6 (the step's update uses factor(step - 1)).
  const lrs = straight.log_history.filter((e) => 'lr' in e).map((e) => e.lr!);
  const factors = [0, 0.5, 1, 0.75, 0.5, 0.25];
  lrs.forEach((lr, i) => assert.ok(Math.abs(lr - 2e-3 * factors[i]!) < 1e-12, `lr at step ${i + 1}: ${lr}`));

  const brokenOut = join(dir, 'interrupted');
  const first = await trainInterruptedAtStep3({ ...RESUME_ARGS, output_dir: brokenOut });
  assert.equal(first.interrupted, true);
  assert.equal(first.global_step, 3);
  assert.deepEqual(listCheckpoints(brokenOut).map((c) => c.step), [3]);
  assert.ok(process.listenerCount('SIGINT') === 0 || !process.listeners('SIGINT').some((l) => l.name === 'onSignal'), 'SIGINT handler removed');

  // A model with other weights: the checkpoint's weights and optimizer state must take over.
  const resumed = await new Trainer({ model: tinyModel(99, 0.1), args: { ...RESUME_ARGS, output_dir: brokenOut }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train({ resume_from_checkpoint: true });
  assert.equal(resumed.global_step, 6);
  const got = lossLog(resumed.log_history);
  assert.deepEqual(got.map(([s]) => s), [1, 2, 3, 4, 5, 6]);
  got.forEach(([s, l], i) => assert.ok(Math.abs(l - ref[i]![1]) <= 1e-6, `step ${s}: resumed loss ${l} vs uninterrupted ${ref[i]![1]}`));
  assert.ok(Math.abs(resumed.training_loss - straight.training_loss) <= 1e-6);
  assert.deepEqual(readLog(brokenOut).map((e) => e.step), [1, 2, 3, 4, 5, 6]);
  // Final weights equal too.
  const wa = loadSafetensorsSync(join(straightOut, 'checkpoint-6', 'model.safetensors')).tensors.get('decoder.transformer.h.0.attn.c_attn.weight')!.data as Float32Array;
  const wb = loadSafetensorsSync(join(brokenOut, 'checkpoint-6', 'model.safetensors')).tensors.get('decoder.transformer.h.0.attn.c_attn.weight')!.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i]! - wb[i]!));
  assert.ok(worst <= 1e-6, `final weights differ by ${worst}`);
});

test('ctc_weight: an auxiliary CTC loss is logged and changes the update, its head is checkpointed (not in the model), and a resumed run repeats an uninterrupted one', async () => {
  const args = { ...RESUME_ARGS, ctc_weight: 0.5 };
  const straightOut = join(dir, 'ctc-straight');
  const straight = await new Trainer({ model: tinyModel(3, 0.1), args: { ...args, output_dir: straightOut }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train();
  const logged = straight.log_history.filter((e) => 'ctc_loss' in e);
  assert.equal(logged.length, 6);
  // Short texts fit the 4 patch columns; 'a red square on paper' (5 tokens) does not and is left out.
  assert.ok(logged.every((e) => Number.isFinite(e.ctc_loss) && e.ctc_examples! <= 2 && (e.ctc_examples === 0 || e.ctc_loss! > 0)), JSON.stringify(logged));
  assert.ok(logged.filter((e) => e.ctc_examples! > 0).length >= 4, JSON.stringify(logged));
  assert.ok(logged.some((e) => e.ctc_examples! < 2), 'some lines have no alignment');
  const ckpt = join(straightOut, 'checkpoint-6');
  const head = loadSafetensorsSync(join(ckpt, 'ctc_head.safetensors')).tensors;
  assert.deepEqual([...head.keys()].sort(), ['ctc_head.bias', 'ctc_head.weight']);
  assert.deepEqual(head.get('ctc_head.weight')!.dims, [400, 32]);
  assert.ok(![...loadSafetensorsSync(join(ckpt, 'model.safetensors')).tensors.keys()].some((k) => k.startsWith('ctc_head')));
  // The decoder loss before any update (warmup: step 1 has lr 0) is the same with or without the
  // auxiliary loss; after step 2's update it differs.
  const plain = await new Trainer({ model: tinyModel(3, 0.1), args: { ...RESUME_ARGS, max_steps: 3, output_dir: join(dir, 'ctc-off') }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train();
  const on = lossLog(straight.log_history);
  const off = lossLog(plain.log_history);
  assert.equal(on[1]![1], off[1]![1]);
  assert.notEqual(on[2]![1], off[2]![1]);

  const brokenOut = join(dir, 'ctc-interrupted');
  await trainInterruptedAtStep3({ ...args, output_dir: brokenOut });
  assert.ok(existsSync(join(brokenOut, 'checkpoint-3', 'ctc_head.safetensors')));
  const resumed = await new Trainer({ model: tinyModel(99, 0.1), args: { ...args, output_dir: brokenOut }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train({ resume_from_checkpoint: true });
  const pick = (h: LogEntry[], k: string) => h.filter((e) => k in e).map((e) => e[k]!);
  for (const k of ['loss', 'ctc_loss']) {
    const a = pick(straight.log_history, k);
    const b = pick(resumed.log_history, k);
    assert.equal(b.length, 6);
    b.forEach((v, i) => assert.ok(Math.abs(v - a[i]!) <= 1e-5 * Math.max(1, Math.abs(a[i]!)), `${k} at step ${i + 1}: resumed ${v} vs uninterrupted ${a[i]}`));
  }
});

test('Ctrl-C on a running `ved train` process saves a checkpoint (exit 130); --resume latest finishes the run', async () => {
  const out = join(dir, 'sigint');
  const script = `import(${JSON.stringify(join(ROOT, 'dist', 'src', 'cli', 'train.js'))}).then(async (m) => { process.exitCode = await m.trainCommand(process.argv.slice(1)); });`;
  const argv = ['--encoder-config', encConfig, '--decoder-config', decConfig, '--tokenizer', pieces, '--image-processor', pieces,
    '--data', data, '--output-dir', out, '--max-steps', '400', '--batch-size', '2', '--learning-rate', '1e-3', '--logging-steps', '1', '--save-steps', '0'];
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const timer = setInterval(() => {
      if (existsSync(join(out, 'log.jsonl')) && readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').length > 3) {
        clearInterval(timer);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('exit', (c) => {
      clearInterval(timer);
      resolvePromise(c);
    });
    child.on('error', reject);
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /SIGINT: saving a checkpoint/);
  const saved = listCheckpoints(out);
  assert.equal(saved.length, 1);
  const step = saved[0]!.step;
  assert.ok(step >= 3 && step < 400, `stopped at ${step}`);
  assert.deepEqual(readLog(out).map((e) => e.step), Array.from({ length: step }, (_, i) => i + 1));
  // Resume with fewer total steps than planned: continue to 'step + 2'.
  // The run's data options come back from ved_train_data.json: no --data needed.
  assert.equal(JSON.parse(readFileSync(join(out, 'ved_train_data.json'), 'utf8')).data, resolve(data));
  const r = await runCli(['--resume', 'latest', '--output-dir', out, '--max-steps', String(step + 2), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()).global_step, step + 2);
  assert.deepEqual(readLog(out).map((e) => e.step), Array.from({ length: step + 2 }, (_, i) => i + 1));
});

test('schedules match hand-computed values; warmup steps from a ratio', () => {
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  const lin = get_scheduler('linear', { num_warmup_steps: 4, num_training_steps: 20 });
  near(lin(0), 0);
  near(lin(2), 0.5);
  near(lin(4), 1);
  near(lin(12), 8 / 16);
  near(lin(20), 0);
  near(lin(25), 0);
  const cos = get_scheduler('cosine', { num_warmup_steps: 4, num_training_steps: 20 });
  near(cos(1), 0.25);
  near(cos(4), 1);
  near(cos(8), 0.5 * (1 + Math.cos(Math.PI * 0.25)));
  near(cos(12), 0.5);
  near(cos(20), 0);
  const cw = get_scheduler('constant_with_warmup', { num_warmup_steps: 4, num_training_steps: 20 });
  near(cw(3), 0.75);
  near(cw(15), 1);
  near(get_scheduler('constant', { num_training_steps: 5 })(0), 1);
  assert.equal(get_warmup_steps(100, 0, 0.05), 5);
  assert.equal(get_warmup_steps(101, 0, 0.05), 6);
  assert.equal(get_warmup_steps(100, 7, 0.5), 7);
  assert.throws(() => get_scheduler('exponential' as 'linear', { num_training_steps: 5 }), /lr_scheduler_type 'exponential'.*constant, constant_with_warmup, linear, cosine/);
});

test('clip_grad_norm_: the global norm over all gradients, scaled as torch', () => {
  const g = () => new Map([['a', new Tensor('float32', new Float32Array([3, 0]), [2])], ['b', new Tensor('float32', new Float32Array([0, 4, 0]), [3])]]);
  const grads = g();
  const norm = clip_grad_norm_(grads, 1);
  assert.ok(Math.abs(norm - 5) < 1e-9);
  const coef = 1 / (5 + 1e-6);
  assert.ok(Math.abs((grads.get('a')!.data[0] as number) - 3 * coef) < 1e-6);
  assert.ok(Math.abs((grads.get('b')!.data[1] as number) - 4 * coef) < 1e-6);
  const big = g();
  assert.equal(clip_grad_norm_(big, 10), 5);
  assert.deepEqual(Array.from(big.get('b')!.data as Float32Array), [0, 4, 0], 'below max_norm: untouched');
  const off = g();
  clip_grad_norm_(off, 0);
  assert.deepEqual(Array.from(off.get('a')!.data as Float32Array), [3, 0], 'max_norm 0: untouched');
});

test('AdamW: param groups (no decay on biases/LayerNorm), lr factor, state round trip', async () => {
  const params = () => new Map([['layer.weight', new Tensor('float32', new Float32Array([1, -2]), [2])], ['layer.bias', new Tensor('float32', new Float32Array([0.5]), [1])]]);
  const grads = new Map([['layer.weight', new Tensor('float32', new Float32Array([0.1, 0.2]), [2])], ['layer.bias', new Tensor('float32', new Float32Array([-0.3]), [1])]]);
  const p = params();
  const opt = new AdamW(p, { lr: 0.1, weight_decay: 0.5, no_decay: (n) => n.endsWith('.bias') });
  opt.set_lr_factor(0.5);
  opt.step(grads);
  // First step: m̂/√v̂ = sign(g); the weight also decays by lr·wd, the bias does not.
  const lr = 0.05;
  assert.ok(Math.abs((p.get('layer.weight')!.data[0] as number) - (1 * (1 - lr * 0.5) - lr)) < 1e-6);
  assert.ok(Math.abs((p.get('layer.bias')!.data[0] as number) - (0.5 + lr)) < 1e-6);
  const file = join(dir, 'opt.safetensors');
  await opt.save(file);
  const p2 = params();
  const opt2 = new AdamW(p2, { lr: 0.1, weight_decay: 0.5, no_decay: (n) => n.endsWith('.bias') });
  await opt2.load(file);
  assert.equal(opt2.state.step, 1);
  assert.deepEqual(opt2.state.exp_avg.get('layer.weight'), opt.state.exp_avg.get('layer.weight'));
  assert.equal(opt2.param_groups[0]!.lr, 0.05);
  const bad = new AdamW(new Map([['other', new Tensor('float32', new Float32Array(2), [2])]]));
  await assert.rejects(bad.load(file), /'layer\.(weight|bias)', which is not a parameter/);
});

test('gradient accumulation: 2 micro-batches of 1 = one batch of 2 (token-weighted)', async () => {
  const model = tinyModel(5);
  const trainer = new Trainer({ model, args: { output_dir: join(dir, 'accum'), max_target_length: 32 }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor });
  // Two examples whose label lengths differ (a plain mean of the two gradients would be wrong).
  const lens = [0, 1, 2, 3].map((i) => encodeLabels(tokenizer, [trainSet.get(i).text], 32, 400, 0).num_tokens);
  const j = lens.findIndex((n) => n !== lens[0]);
  assert.ok(j > 0, 'need two examples of different lengths');
  const together = await trainer.accumulate_gradients(trainSet, [[0, j]]);
  const apart = await trainer.accumulate_gradients(trainSet, [[0], [j]]);
  assert.equal(together.num_tokens, apart.num_tokens);
  assert.ok(Math.abs(together.loss - apart.loss) <= 1e-5 * Math.abs(together.loss), `${together.loss} vs ${apart.loss}`);
  const one = await trainer.accumulate_gradients(trainSet, [[0]]);
  const two = await trainer.accumulate_gradients(trainSet, [[j]]);
  let worst = 0;
  let plainWorst = 0;
  for (const [name, g] of together.grads) {
    const a = g.data as Float32Array;
    const b = apart.grads.get(name)!.data as Float32Array;
    const u = one.grads.get(name)!.data as Float32Array;
    const v = two.grads.get(name)!.data as Float32Array;
    let scale = 1e-6;
    for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
      plainWorst = Math.max(plainWorst, Math.abs(a[i]! - (u[i]! + v[i]!) / 2) / scale);
    }
  }
  assert.equal(together.grads.size, apart.grads.size);
  assert.ok(worst <= 1e-4, `accumulated gradient rel err ${worst}`);
  assert.ok(plainWorst > 1e-2, `an unweighted mean should differ (it did by ${plainWorst}): the test must be sensitive`);
});

test('gradient accumulation, bit for bit: one micro-batch is its own gradient; several are summed weighted by their tokens', async () => {
  const model = tinyModel(6);
  const trainer = new Trainer({ model, args: { output_dir: join(dir, 'accum-bits'), max_target_length: 32 }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor });
  // The same dropout seeds, so each micro-batch sees the same noise alone as in the pair.
  const one = await trainer.accumulate_gradients(trainSet, [[0]], [11]);
  const two = await trainer.accumulate_gradients(trainSet, [[1]], [12]);
  const pair = await trainer.accumulate_gradients(trainSet, [[0], [1]], [11, 12]);
  const w0 = one.num_tokens;
  const w1 = two.num_tokens;
  assert.equal(pair.num_tokens, w0 + w1);
  let mismatches = 0;
  for (const [name, g] of pair.grads) {
    const got = g.data as Float32Array;
    const u = one.grads.get(name)!.data as Float32Array;
    const v = two.grads.get(name)!.data as Float32Array;
    // float32 sums as the loop stores them: w0·u, then + w1·v, then / (w0 + w1).
    for (let i = 0; i < got.length; i++) {
      const want = Math.fround(Math.fround(Math.fround(w0 * u[i]!) + w1 * v[i]!) / (w0 + w1));
      if (!Object.is(got[i], want)) mismatches++;
    }
  }
  assert.equal(mismatches, 0);
});

test('save_total_limit keeps the best checkpoint; load_best_model_at_end loads it', async () => {
  const base: TrainingArguments = {
    output_dir: '', max_steps: 8, per_device_train_batch_size: 3, learning_rate: 3e-3, eval_steps: 2, save_steps: 2, save_total_limit: 1,
    logging_steps: 2, generation_max_length: 4, disable_tqdm: true, seed: 3,
  };
  // greater_is_better on the loss: the best is the first evaluation (the loss falls), not the last.
  const out = join(dir, 'best-first');
  const trainer = new Trainer({ model: tinyModel(4), args: { ...base, output_dir: out, metric_for_best_model: 'loss', greater_is_better: true, load_best_model_at_end: true }, train_dataset: trainSet, eval_dataset: evalSet, tokenizer, image_processor: imageProcessor });
  const r = await trainer.train();
  const evals = r.log_history.filter((e) => 'eval_loss' in e);
  assert.deepEqual(evals.map((e) => e.step), [2, 4, 6, 8]);
  const bestStep = evals.reduce((b, e) => (e.eval_loss! > b.eval_loss! ? e : b)).step;
  assert.equal(r.best_model_checkpoint, join(out, `checkpoint-${bestStep}`));
  assert.equal(r.best_metric, evals.find((e) => e.step === bestStep)!.eval_loss);
  assert.notEqual(bestStep, 8);
  assert.deepEqual(listCheckpoints(out).map((c) => c.step), [bestStep, 8], 'limit 1: the newest and the best');
  const best = loadSafetensorsSync(join(out, `checkpoint-${bestStep}`, 'model.safetensors')).tensors;
  for (const [name, t] of trainer.model.state_dict()) assert.deepEqual(t.data, best.get(name)!.data, `${name} is not the best checkpoint's`);

  // The usual direction with CER: the best step is the one with the lowest eval_cer (first of ties).
  const out2 = join(dir, 'best-cer');
  const r2 = await new Trainer({ model: tinyModel(4), args: { ...base, output_dir: out2, save_total_limit: 2, metric_for_best_model: 'eval_cer' }, train_dataset: trainSet, eval_dataset: evalSet, tokenizer, image_processor: imageProcessor }).train();
  const evals2 = r2.log_history.filter((e) => 'eval_cer' in e);
  const min = evals2.reduce((b, e) => (e.eval_cer! < b.eval_cer! ? e : b));
  assert.equal(r2.best_metric, min.eval_cer);
  assert.equal(r2.best_model_checkpoint, join(out2, `checkpoint-${min.step}`));
  const kept = listCheckpoints(out2).map((c) => c.step);
  assert.ok(kept.includes(min.step) && kept.includes(8) && kept.length <= 2, `kept ${kept}`);
});

test('bad options: one clear line and a non-zero exit; bad Trainer arguments throw naming them', async () => {
  const base = ['--tokenizer', pieces, '--image-processor', pieces, '--data', data, '--output-dir', join(dir, 'bad')];
  const cfg = ['--encoder-config', encConfig, '--decoder-config', decConfig];
  const cases: Array<[string[], number, RegExp]> = [
    [base, 2, /no model: give --encoder-config and --decoder-config/],
    [[...cfg, ...base, '--learning-rate', 'fast'], 2, /--learning-rate must be a number >= 0, got 'fast'/],
    [[...cfg, ...base, '--lr-scheduler-type', 'step'], 2, /--lr-scheduler-type must be one of constant, constant_with_warmup, linear, cosine/],
    [[...cfg, ...base, '--batch-size', '0'], 2, /--batch-size must be an integer >= 1, got '0'/],
    [[...cfg, ...base, '--frobnicate'], 2, /unknown option --frobnicate/],
    [[...cfg, ...base, '--max-steps'], 2, /--max-steps needs a value/],
    [['--encoder-config', encConfig, ...base], 2, /--encoder-config and --decoder-config go together/],
    [[...cfg, '--model', pieces, ...base], 2, /give one model source/],
    [[...cfg, ...base.slice(0, 4), '--data', join(dir, 'nope'), '--output-dir', join(dir, 'bad')], 2, /--data: .*nope does not exist/],
    [[...cfg, ...base, '--validation-fraction', '1.5'], 2, /--validation-fraction must be a number in \[0, 1\)/],
    [['--resume', data, '--data', data], 2, /--resume: .* is not a Trainer checkpoint/],
  ];
  for (const [argv, code, re] of cases) {
    const r = await runCli(argv);
    assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^ved train: /);
  }
  // A decoder vocabulary smaller than the tokenizer's.
  const small = join(dir, 'small-decoder.json');
  writeFileSync(small, JSON.stringify({ ...DEC, vocab_size: 100 }));
  const r = await runCli(['--encoder-config', encConfig, '--decoder-config', small, ...base]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has 400 tokens but the decoder's vocab_size is 100/);
  const noType = join(dir, 'no-type.json');
  writeFileSync(noType, JSON.stringify({ hidden_size: 8 }));
  const r2 = await runCli(['--encoder-config', noType, '--decoder-config', decConfig, ...base]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /--encoder-config: .*no-type\.json has no "model_type"/);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: ved train/);

  assert.throws(() => resolveTrainingArguments({ output_dir: 'x', warmup_ratio: 2 }), /warmup_ratio must be a number in \[0, 1\], got 2/);
  assert.throws(() => resolveTrainingArguments({ output_dir: 'x', lr_scheduler_type: 'poly' as 'linear' }), /lr_scheduler_type must be one of/);
  assert.throws(() => resolveTrainingArguments({ output_dir: 'x', metric_for_best_model: 'accuracy' }), /metric_for_best_model must be one of loss, cer, wer, bleu/);
  assert.throws(() => resolveTrainingArguments({ output_dir: 'x', learning_rate_typo: 1 } as unknown as TrainingArguments), /unknown argument 'learning_rate_typo'/);
  assert.throws(() => new Trainer({ model: tinyModel(1), args: { output_dir: 'x', eval_steps: 5 }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }), /eval_steps is set but there is no eval_dataset/);
  // A fresh run into a folder with checkpoints is refused; resuming a non-checkpoint is refused.
  const used = join(dir, 'cli-run');
  await assert.rejects(new Trainer({ model: tinyModel(1), args: { output_dir: used, max_steps: 1 }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train(), /already has checkpoints .*overwrite_output_dir/);
  await assert.rejects(new Trainer({ model: tinyModel(1), args: { output_dir: join(dir, 'x2'), max_steps: 1 }, train_dataset: trainSet, tokenizer, image_processor: imageProcessor }).train({ resume_from_checkpoint: data }), /is not a checkpoint \(no trainer_state\.json\)/);
});
