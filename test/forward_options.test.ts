// The rest of the documented forward signature, and generation's cache against recomputation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tensor } from '../src/runtime/tensor.js';
import { AdamW } from '../src/training/optim.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { loadCase, maxRelErr } from './model_helpers.js';

const c = loadCase('vit-gpt2');
const pixel_values = c.io.get('pixel_values')!;
const labels = c.io.get('labels')!;

function close(a: Tensor, b: Tensor, what: string) {
  const e = maxRelErr(a, b, 1e-2);
  assert.ok(e <= 1e-4, `${what}: rel err ${e}`);
}

test('encoder_outputs, decoder_inputs_embeds, output_hidden_states / output_attentions, use_cache + past_key_values', async () => {
  const model = await VisionEncoderDecoderModel.from_pretrained(join(c.dir, 'model'));
  const full = await model.forward({ pixel_values, labels, output_hidden_states: true, output_attentions: true, use_cache: true });
  const enc = c.config.encoder;
  const dec = c.config.decoder;
  assert.equal(full.encoder_hidden_states!.length, enc.num_hidden_layers + 1);
  assert.equal(full.encoder_attentions!.length, enc.num_hidden_layers);
  assert.equal(full.decoder_hidden_states!.length, dec.n_layer + 1);
  assert.equal(full.decoder_attentions!.length, dec.n_layer);
  assert.equal(full.cross_attentions!.length, dec.n_layer);
  const [B, T] = labels.dims as [number, number];
  const S = full.encoder_last_hidden_state.dims[1]!;
  assert.deepEqual(full.cross_attentions![0]!.dims, [B, dec.n_head, T, S]);
  assert.deepEqual(full.decoder_attentions![0]!.dims, [B, dec.n_head, T, T]);
  assert.equal(full.past_key_values!.length, dec.n_layer);
  assert.deepEqual(full.past_key_values![0]!.self.key.dims, [B, dec.n_head, T, dec.n_embd / dec.n_head]);

  // Skipping the encoder with its output gives the same logits.
  const skip = await model.forward({ encoder_outputs: { last_hidden_state: full.encoder_last_hidden_state }, labels });
  close(skip.logits, full.logits, 'encoder_outputs');

  // Continuing from a cache: the first T-2 positions, then the last 2 with past_key_values.
  const ids = (await import('../src/models/vision_encoder_decoder.js')).shiftTokensRight(labels, 0, 1);
  const head = new Tensor('int64', (ids.data as BigInt64Array).filter((_, i) => i % T < T - 2), [B, T - 2]);
  const tail = new Tensor('int64', (ids.data as BigInt64Array).filter((_, i) => i % T >= T - 2), [B, 2]);
  const first = await model.forward({ pixel_values, decoder_input_ids: head, use_cache: true });
  const rest = await model.forward({ decoder_input_ids: tail, past_key_values: first.past_key_values! });
  const V = dec.vocab_size;
  const want = new Float32Array(B * 2 * V);
  for (let b = 0; b < B; b++) want.set((full.logits.data as Float32Array).subarray((b * T + T - 2) * V, (b * T + T) * V), b * 2 * V);
  close(rest.logits, new Tensor('float32', want, [B, 2, V]), 'past_key_values continuation');

  // Embeddings instead of ids: the same logits.
  const wte = model.named_parameters().get('decoder.transformer.wte.weight')!;
  const D = wte.dims[1]!;
  const emb = new Float32Array(B * T * D);
  (ids.data as BigInt64Array).forEach((id, i) => emb.set((wte.data as Float32Array).subarray(Number(id) * D, (Number(id) + 1) * D), i * D));
  const viaEmbeds = await model.forward({ pixel_values, decoder_inputs_embeds: new Tensor('float32', emb, [B, T, D]), labels });
  close(viaEmbeds.logits, full.logits, 'decoder_inputs_embeds');

  await assert.rejects(model.forward({ pixel_values, labels, bogus: 1 } as never), /unknown input 'bogus'/);
  await assert.rejects(model.forward({ pixel_values: new Tensor('float32', new Float32Array(3 * 8 * 8), [1, 3, 8, 8]), labels }), /pixel_values must be float32 \[batch, 3, 32, 32\]/);
  await assert.rejects(model.generate(pixel_values, { num_beams: 2, num_return_sequences: 3 }), /num_return_sequences/);
  await assert.rejects(model.generate(pixel_values, { max_new_tokenz: 3 }), /unknown option "max_new_tokenz".*Valid options:.*max_new_tokens/);
});

async function greedyByRecomputation(model: VisionEncoderDecoderModel, N: number): Promise<number[][]> {
  const B = pixel_values.dims[0]!;
  const V = c.config.decoder.vocab_size;
  let rows: bigint[][] = Array.from({ length: B }, () => [1n]);
  for (let s = 0; s < N; s++) {
    const L = rows[0]!.length;
    const out = await model.forward({ pixel_values, decoder_input_ids: new Tensor('int64', BigInt64Array.from(rows.flat()), [B, L]) });
    rows = rows.map((r, b) => {
      const logits = (out.logits.data as Float32Array).subarray((b * L + L - 1) * V, (b * L + L) * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
      return [...r, BigInt(best)];
    });
  }
  return rows.map((r) => r.map(Number));
}

test('greedy generation with the KV cache equals greedy recomputing the whole prefix each step', async () => {
  const model = await VisionEncoderDecoderModel.from_pretrained(join(c.dir, 'model'));
  const N = 8;
  const cached = await model.generate(pixel_values, { max_new_tokens: N, min_new_tokens: N });
  assert.deepEqual(cached.tolist(), await greedyByRecomputation(model, N));

  // Generation bakes the weights into its sessions: after an optimizer step it must see the new ones.
  const opt = new AdamW(model.named_parameters(), { lr: 0.05 });
  opt.step((await model.compute_gradients({ pixel_values, labels })).grads);
  const after = await model.generate(pixel_values, { max_new_tokens: N, min_new_tokens: N });
  assert.deepEqual(after.tolist(), await greedyByRecomputation(model, N));
  assert.notDeepEqual(after.tolist(), cached.tolist(), 'a large step changes what the model generates');
});
