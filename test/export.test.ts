// ved export: the If op of the graph layer, and exported models driven by plain onnxruntime-node
// (and by transformers.js when installed) give the ids and logits model.generate / model.forward give.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/graph/graph.js';
import * as F from '../src/graph/ops.js';
import { exportModel } from '../src/cli/export.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { CompiledGraph } from '../src/runtime/session.js';
import { Tensor } from '../src/runtime/tensor.js';
import { FIXTURES } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'ved-export-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('If: each branch reads outer values and shares one weight; ORT runs the chosen one', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['n', 3]);
  const cond = g.input('cond', 'bool', [1]);
  const w = new Tensor('float32', Float32Array.from([1, 2, 3]), [3]);
  const thenB = new Graph({ parent: g });
  const t = F.mul(thenB.outer(x), thenB.param('w', w));
  const elseB = new Graph({ parent: g });
  const e = F.add(F.mul(elseB.outer(x), 10), elseB.param('w', w));
  // An outer value passed straight through as a branch output needs an Identity in ONNX.
  const [y, passed] = F.ifThenElse(cond, { graph: thenB, outputs: [t, thenB.outer(x)] }, { graph: elseB, outputs: [e, F.neg(elseB.outer(x))] });
  assert.equal(g.initializers.size, 1, 'the weight is declared once, in the top-level graph');
  const cg = await CompiledGraph.create(g, { y: y!, passed: passed! });
  const xs = new Tensor('float32', Float32Array.from([1, 1, 1, 2, 2, 2]), [2, 3]);
  const yes = await cg.run({ x: xs, cond: new Tensor('bool', Uint8Array.from([1]), [1]) });
  assert.deepEqual(Array.from(yes['y']!.data as Float32Array), [1, 2, 3, 2, 4, 6]);
  assert.deepEqual(Array.from(yes['passed']!.data as Float32Array), [1, 1, 1, 2, 2, 2]);
  const no = await cg.run({ x: xs, cond: new Tensor('bool', Uint8Array.from([0]), [1]) });
  assert.deepEqual(Array.from(no['y']!.data as Float32Array), [11, 12, 13, 21, 22, 23]);
  assert.deepEqual(Array.from(no['passed']!.data as Float32Array), [-1, -1, -1, -2, -2, -2]);

  const other = new Graph({ parent: new Graph() });
  assert.throws(() => F.ifThenElse(cond, { graph: other, outputs: [] }, { graph: elseB, outputs: [] }), /then branch must be a Graph made with \{ parent \}/);
  assert.throws(() => F.ifThenElse(cond, { graph: thenB, outputs: [t] }, { graph: elseB, outputs: [e, e] }), /yields 1 outputs, the else branch 2/);
});

/** A model folder with a tokenizer and an image processor beside the checkpoint, as a hub repo has. */
function assemble(name: string, model: string, tokenizer: string, imageSize: number): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(model)) copyFileSync(join(model, f), join(dir, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizer, f), join(dir, f));
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      image_processor_type: 'ViTImageProcessor',
      do_resize: true,
      size: { height: imageSize, width: imageSize },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    }),
  );
  return dir;
}

function randomPixels(batch: number, size: number, seed: number): Tensor {
  const n = batch * 3 * size * size;
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return new Tensor('float32', data, [batch, 3, size, size]);
}

const ortTensor = (t: Tensor) => new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);

interface Drive {
  ids: bigint[][];
  /** Each step's logits, [B, V] flattened. */
  logits: Float32Array[];
}

/**
 * Greedy decoding with the exported files and nothing else: the encoder once, then the merged
 * decoder — use_cache_branch false with an empty cache on the first step, true after — feeding
 * back every present.* as past_key_values.*, exactly as transformers.js does. min_new_tokens and
 * forced_eos_token_id as in generate.
 */
async function driveExport(dir: string, pixels: Tensor, o: { start: number; eos: number; forcedEos: number | null; steps: number }): Promise<Drive> {
  const encoder = await ort.InferenceSession.create(join(dir, 'onnx', 'encoder_model.onnx'));
  const decoder = await ort.InferenceSession.create(join(dir, 'onnx', 'decoder_model_merged.onnx'));
  const B = pixels.dims[0]!;
  const { last_hidden_state } = await encoder.run({ pixel_values: ortTensor(pixels) });
  const pastNames = decoder.inputNames.filter((n) => n.startsWith('past_key_values.'));
  const meta = new Map(decoder.inputMetadata.map((m) => [m.name, m]));
  let past: Record<string, ort.Tensor> = {};
  for (const n of pastNames) {
    const shape = (meta.get(n) as unknown as { shape: readonly (number | string)[] }).shape.map((d) => (d === 'batch_size' ? B : typeof d === 'number' ? d : 0));
    past[n] = new ort.Tensor('float32', new Float32Array(0), shape);
  }
  const ids: bigint[][] = Array.from({ length: B }, () => [BigInt(o.start)]);
  const logits: Float32Array[] = [];
  for (let step = 0; step < o.steps; step++) {
    const input_ids = new ort.Tensor('int64', BigInt64Array.from(ids.map((r) => r.at(-1)!)), [B, 1]);
    const use_cache_branch = new ort.Tensor('bool', Uint8Array.from([step > 0 ? 1 : 0]), [1]);
    const res = await decoder.run({ input_ids, encoder_hidden_states: last_hidden_state!, use_cache_branch, ...past });
    const out = res['logits']!;
    const V = out.dims[2]!;
    const data = out.data as Float32Array;
    logits.push(data.slice());
    for (let b = 0; b < B; b++) {
      const row = data.subarray(b * V, (b + 1) * V);
      let best = 0;
      if (o.forcedEos !== null && step === o.steps - 1) best = o.forcedEos;
      else for (let v = 1; v < V; v++) if (v !== o.eos && (row[v]! > row[best]! || best === o.eos)) best = v;
      ids[b]!.push(BigInt(best));
    }
    const next: Record<string, ort.Tensor> = {};
    for (const n of pastNames) next[n] = res[n.replace('past_key_values', 'present')]!;
    past = next;
  }
  return { ids, logits };
}

async function checkExport(name: string, fixture: string, tokenizer: string, expectInputs: string[]) {
  const src = assemble(name, join(FIXTURES, 'hf', 'models', fixture, 'model'), join(FIXTURES, 'hf', 'tokenizers', tokenizer), 32);
  const out = join(work, `${name}-onnx`);
  const { files } = await exportModel(src, out);
  for (const f of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json']) {
    assert.ok(files.includes(join(out, f)), `${f} written`);
  }
  const decoder = await ort.InferenceSession.create(join(out, 'onnx', 'decoder_model_merged.onnx'));
  for (const n of expectInputs) assert.ok(decoder.inputNames.includes(n), `input ${n} in ${decoder.inputNames.join(', ')}`);
  for (const n of decoder.inputNames.filter((n) => n.startsWith('past_key_values'))) {
    assert.ok(decoder.outputNames.includes(n.replace('past_key_values', 'present')), `output for ${n}`);
  }

  const model = await VisionEncoderDecoderModel.from_pretrained(src);
  const gc = model.generation_config;
  const pixels = randomPixels(2, 32, 7);
  const steps = 6;
  const drive = await driveExport(out, pixels, { start: gc.decoder_start_token_id as number, eos: gc.eos_token_id as number, forcedEos: (gc.forced_eos_token_id as number | null) ?? null, steps });
  const ours = await model.generate(pixels, { max_new_tokens: steps, min_new_tokens: steps });
  assert.deepEqual(drive.ids.map((r) => r.map(Number)), ours.tolist(), 'exported encoder + merged decoder, driven greedily, give model.generate ids');

  // Logits of every step against one full forward over the same ids.
  const L = steps;
  const dec = new Tensor('int64', BigInt64Array.from(drive.ids.flatMap((r) => r.slice(0, L))), [2, L]);
  const full = await model.forward({ pixel_values: pixels, decoder_input_ids: dec });
  const V = full.logits.dims[2]!;
  const fl = full.logits.data as Float32Array;
  let worst = 0;
  drive.logits.forEach((step, t) => {
    for (let b = 0; b < 2; b++) for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(step[b * V + v]! - fl[(b * L + t) * V + v]!));
  });
  assert.ok(worst < 1e-4, `logits match model.forward (max |diff| ${worst})`);
  return { out, pixels, ids: drive.ids, steps };
}

test('export vit-gpt2: decoder-only cache names, ids and logits as model.generate / forward; transformers.js agrees', async (t) => {
  const r = await checkExport('vit-gpt2', 'vit-gpt2', 'bpe-gpt2', ['input_ids', 'encoder_hidden_states', 'use_cache_branch', 'past_key_values.0.key', 'past_key_values.1.value']);
  let tjs: typeof import('@huggingface/transformers');
  try {
    tjs = await import('@huggingface/transformers');
  } catch {
    t.skip('@huggingface/transformers is not installed');
    return;
  }
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = dirname(r.out);
  const m = await tjs.AutoModelForVision2Seq.from_pretrained(basename(r.out), { dtype: 'fp32', device: 'cpu' });
  const pv = new tjs.Tensor('float32', r.pixels.data as Float32Array, r.pixels.dims);
  const seq = (await m.generate({ pixel_values: pv, max_new_tokens: r.steps, min_new_tokens: r.steps, do_sample: false })) as InstanceType<typeof tjs.Tensor>;
  assert.deepEqual((seq.tolist() as bigint[][]).map((row) => row.map(Number)), r.ids.map((row) => row.map(Number)), 'transformers.js generate on the exported folder gives our ids');
  // The image-to-text pipeline runs end to end on the folder (image processor + tokenizer included).
  const captioner = await tjs.pipeline('image-to-text', basename(r.out), { dtype: 'fp32', device: 'cpu' });
  const res = (await captioner(join(FIXTURES, 'hf', 'images', 'square_rgb.png'), { max_new_tokens: 4 })) as { generated_text: string }[];
  assert.equal(typeof res[0]!.generated_text, 'string');
  await m.dispose();
});

test('export vit-mbart40: seq2seq cache names, enc_to_dec_proj in the decoder, ids and logits as ours', async () => {
  await checkExport('vit-mbart40', 'vit-mbart40', 'unigram-xlmr', [
    'input_ids',
    'encoder_hidden_states',
    'use_cache_branch',
    'past_key_values.0.decoder.key',
    'past_key_values.0.encoder.value',
  ]);
});

test('export vit-trocr: runs in transformers.js with the seq2seq layout', async (t) => {
  const r = await checkExport('vit-trocr', 'vit-trocr', 'bpe-gpt2', ['past_key_values.0.decoder.key', 'past_key_values.0.encoder.key']);
  let tjs: typeof import('@huggingface/transformers');
  try {
    tjs = await import('@huggingface/transformers');
  } catch {
    t.skip('@huggingface/transformers is not installed');
    return;
  }
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = dirname(r.out);
  const m = await tjs.AutoModelForVision2Seq.from_pretrained(basename(r.out), { dtype: 'fp32', device: 'cpu' });
  const pv = new tjs.Tensor('float32', r.pixels.data as Float32Array, r.pixels.dims);
  const seq = (await m.generate({ pixel_values: pv, max_new_tokens: r.steps, min_new_tokens: r.steps, do_sample: false })) as InstanceType<typeof tjs.Tensor>;
  assert.deepEqual((seq.tolist() as bigint[][]).map((row) => row.map(Number)), r.ids.map((row) => row.map(Number)));
  await m.dispose();
});

test('ved export: refuses an existing onnx/ folder without --force', async () => {
  const src = join(FIXTURES, 'hf', 'models', 'vit-gpt2', 'model');
  const out = join(work, 'twice');
  const first = await exportModel(src, out);
  assert.ok(first.warnings.some((w) => /no tokenizer\.json/.test(w)), 'a model without a tokenizer is exported, with a warning');
  await assert.rejects(exportModel(src, out), /already exists; pass --force/);
  await exportModel(src, out, { force: true });
});
