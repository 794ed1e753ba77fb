// The composite model against Python on every model fixture: loss, logits and encoder states,
// masked logits, every gradient, one AdamW step, save/load, and every generate() case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AdamW } from '../src/training/optim.js';
import { loadSafetensorsSync } from '../src/weights/index.js';
import { Tensor } from '../src/runtime/tensor.js';
import { checkpointGrads, loadCase, maxRelErr } from './model_helpers.js';

const CASES = (process.env.VED_CASES ?? 'vit-gpt2,vit48-bert,swin-bert,vit-trocr,deit24-bart24,beit40-roberta40,donutswin3-trocrsin12,vit-mbart40').split(',');

// Elementwise relative error, with elements under 1% of the tensor's largest magnitude judged
// against that 1%: float32 rounding alone puts Python's own float32 outputs ~1e-4 away from
// float64 on near-zero elements, so a pure per-element ratio would measure noise.
const TOL_FLOOR = 1e-2;

function maxAbs(t: Tensor): number {
  return (t.data as Float32Array).reduce((a, v) => Math.max(a, Math.abs(v)), 0);
}

function ids(t: Tensor): number[][] {
  return t.tolist() as number[][];
}

for (const name of CASES) {
  test(`${name}: forward, gradients, AdamW, save/load and generate match Python`, async (t) => {
    const c = loadCase(name);
    const io = c.io;
    const model = await VisionEncoderDecoderModel.from_pretrained(join(c.dir, 'model'));
    assert.deepEqual(model.loading_info, { missing_keys: [], unexpected_keys: [] });

    await t.test('loss, logits, encoder states', async () => {
      const out = await model.forward({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! });
      const refLoss = io.get('loss')!.data[0] as number;
      assert.ok(Math.abs(out.loss! - refLoss) <= 1e-4 * Math.abs(refLoss), `loss ${out.loss} vs ${refLoss}`);
      const el = maxRelErr(out.logits, io.get('logits')!, TOL_FLOOR);
      assert.ok(el <= 1e-4, `logits rel err ${el}`);
      const ee = maxRelErr(out.encoder_last_hidden_state, io.get('encoder_last_hidden_state')!, TOL_FLOOR);
      assert.ok(ee <= 1e-4, `encoder states rel err ${ee}`);
    });

    await t.test('logits with decoder_attention_mask', async () => {
      const out = await model.forward({
        pixel_values: io.get('pixel_values')!,
        decoder_input_ids: io.get('decoder_input_ids')!,
        decoder_attention_mask: io.get('decoder_attention_mask')!,
      });
      const e = maxRelErr(out.logits, io.get('logits_masked')!, TOL_FLOOR);
      assert.ok(e <= 1e-4, `masked logits rel err ${e}`);
    });

    await t.test('every gradient, then one AdamW step', async () => {
      const { loss, grads } = await model.compute_gradients({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! });
      assert.ok(Math.abs(loss - (io.get('loss')!.data[0] as number)) <= 1e-4 * Math.abs(loss));
      const ref = checkpointGrads(c);
      const missing = [...ref.keys()].filter((k) => !grads.has(k));
      assert.deepEqual(missing, [], 'gradients Python has and we do not');
      let worst = 0;
      let worstName = '';
      let gmax = 0;
      for (const g of ref.values()) for (const v of g.data as Float32Array) gmax = Math.max(gmax, Math.abs(v));
      for (const [k, g] of ref) {
        // A gradient that is zero in exact arithmetic (attention key biases: softmax is shift-
        // invariant) is float noise in both; judge those against the largest gradient.
        const scale = (g.data as Float32Array).reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        const e = scale < 1e-6 * gmax ? maxAbs(grads.get(k)!) / gmax / 1e-3 * 1e-5 : maxRelErr(grads.get(k)!, g, TOL_FLOOR);
        if (e > worst) [worst, worstName] = [e, k];
      }
      assert.ok(worst <= 1e-3, `worst gradient rel err ${worst} at ${worstName}`);
      const extra = [...grads.keys()].filter((k) => !ref.has(k));
      for (const k of extra) assert.ok((grads.get(k)!.data as Float32Array).every((v) => v === 0), `gradient of ${k} that Python has none for`);

      const fresh = await VisionEncoderDecoderModel.from_pretrained(join(c.dir, 'model'));
      const opt = new AdamW(fresh.named_parameters(), { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01 });
      const g2 = (await fresh.compute_gradients({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! })).grads;
      for (const k of extra) g2.delete(k);
      opt.step(g2);
      const after = (await fresh.forward({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! })).loss!;
      const refAfter = io.get('loss_after_adamw_step')!.data[0] as number;
      assert.ok(Math.abs(after - refAfter) <= 1e-3 * Math.abs(refAfter), `loss after AdamW ${after} vs ${refAfter}`);
    });

    await t.test('save_pretrained then from_pretrained: same files and outputs', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ved-save-'));
      try {
        await model.save_pretrained(dir);
        const saved = loadSafetensorsSync(join(dir, 'model.safetensors')).tensors;
        assert.deepEqual([...saved.keys()].sort(), [...c.weights.keys()].sort());
        for (const [k, v] of c.weights) assert.deepEqual(saved.get(k)!.data, v.data, k);
        const again = await VisionEncoderDecoderModel.from_pretrained(dir);
        const a = await model.forward({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! });
        const b = await again.forward({ pixel_values: io.get('pixel_values')!, labels: io.get('labels')! });
        assert.deepEqual(b.logits.data, a.logits.data);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    await t.test('generate: every gen_* case', async () => {
      for (const [gname, kwargs] of Object.entries(c.case.generate as Record<string, Record<string, unknown>>)) {
        const ref = io.get(`gen_${gname}`);
        if (!ref) continue;
        const got = await model.generate(io.get('pixel_values')!, kwargs);
        assert.deepEqual(ids(got), ids(ref), `gen_${gname}`);
      }
    });

    await t.test('generate: each greedy step\'s scores (the fused inference graphs) match Python\'s', async (st) => {
      const ref = io.get('greedy_scores'); // [steps, images, vocab]
      const kwargs = (c.case.generate as Record<string, Record<string, unknown>>)['greedy'];
      if (!ref || !kwargs) return st.skip('no greedy_scores in this fixture');
      const out = await model.generate(io.get('pixel_values')!, { ...kwargs, return_dict_in_generate: true, output_scores: true });
      const [steps, images, vocab] = ref.dims as [number, number, number];
      assert.equal(out.scores!.length, steps);
      out.scores!.forEach((s, i) => {
        const want = (ref.data as Float32Array).slice(i * images * vocab, (i + 1) * images * vocab);
        // Processors set some scores to -inf (forced tokens): those must match exactly.
        const got = (s.data as Float32Array).slice();
        want.forEach((w, j) => {
          if (!Number.isFinite(w)) {
            assert.equal(got[j], w, `step ${i}, score ${j}`);
            got[j] = want[j] = 0;
          }
        });
        const e = maxRelErr(new Tensor('float32', got, [images, vocab]), new Tensor('float32', want, [images, vocab]), TOL_FLOOR);
        assert.ok(e <= 1e-4, `step ${i}: scores rel err ${e}`);
      });
    });
  });
}
