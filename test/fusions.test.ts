// Which ops ONNX Runtime runs for the generation graphs after its own optimisations: attention,
// LayerNorm and GELU must each be one kernel, not the dozen standard ops they are written with in
// the training graphs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { writeOptimizedModels } from '../src/runtime/session.js';
import { loadCase } from './model_helpers.js';

function opCounts(file: string): Map<string, number> {
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(file));
  const counts = new Map<string, number>();
  for (const n of model.graph!.node!) counts.set(n.opType!, (counts.get(n.opType!) ?? 0) + 1);
  return counts;
}

for (const [name, int8] of [['vit-gpt2', false], ['vit-gpt2', true], ['vit-trocr', false]] as const) {
  test(`${name}${int8 ? ' (int8)' : ''}: the optimised encoder and decode-step graphs use fused attention, LayerNorm and GELU kernels`, async () => {
    const c = loadCase(name);
    const dir = mkdtempSync(join(tmpdir(), 'ved-fusions-'));
    try {
      const model = await VisionEncoderDecoderModel.from_pretrained(join(c.dir, 'model'), int8 ? { dtype: 'int8' } : {});
      writeOptimizedModels(dir);
      try {
        await model.generate(c.io.get('pixel_values')!, { max_new_tokens: 2 });
      } finally {
        writeOptimizedModels(null);
      }
      const layers = (g: string) => (c.config[g] as Record<string, number>).num_hidden_layers ?? (c.config[g] as Record<string, number>).n_layer ?? (c.config[g] as Record<string, number>).decoder_layers!;
      const enc = opCounts(join(dir, 'encoder.onnx'));
      const step = opCounts(join(dir, 'decoder_step.onnx'));
      const fmt = (m: Map<string, number>) => [...m].map(([k, v]) => `${k}:${v}`).join(' ');
      assert.equal(enc.get('MultiHeadAttention'), layers('encoder'), `encoder: one attention kernel per layer (${fmt(enc)})`);
      assert.equal(step.get('MultiHeadAttention'), 2 * layers('decoder'), `step: self + cross attention kernels per layer (${fmt(step)})`);
      for (const [what, ops] of [['encoder', enc], ['step', step]] as const) {
        for (const plain of ['Softmax', 'Erf', 'Tanh', 'Pow', 'ReduceMean', 'Sqrt']) assert.ok(!ops.has(plain), `${what}: no unfused ${plain} (${fmt(ops)})`);
        assert.ok(ops.has('LayerNormalization') || ops.has('SkipLayerNormalization'), `${what}: LayerNorm kernels (${fmt(ops)})`);
        assert.ok(['Gelu', 'BiasGelu', 'FastGelu', 'QuickGelu'].some((g) => ops.has(g)), `${what}: a GELU kernel (${fmt(ops)})`);
      }
      if (int8) {
        assert.ok(enc.has('DynamicQuantizeMatMul') && !enc.has('MatMul'), `int8 encoder: every product quantized (${fmt(enc)})`);
        assert.ok(step.has('MatMulNBits') && !step.has('MatMul') && !step.has('Gemm'), `int8 step: every product quantized (${fmt(step)})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
