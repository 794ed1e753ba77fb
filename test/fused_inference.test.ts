// The generation graphs use ONNX Runtime's fused attention kernels (MultiHeadAttention) where the
// training graphs use plain ops. For encoder and decoder kinds and options the Python fixtures do
// not cover (no Q/K/V bias, beams grouped per image), the logits of every generated step must be
// those of forward() on the generated prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoConfig, VisionEncoderDecoderConfig } from '../src/models/configuration.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { Tensor } from '../src/runtime/tensor.js';
import { maxRelErr } from './model_helpers.js';

const cases: [string, Record<string, unknown>, string, Record<string, unknown>][] = [
  ['vit', { qkv_bias: false }, 'gpt2', {}],
  ['deit', { qkv_bias: true }, 'trocr', { d_model: 16, decoder_layers: 2, decoder_attention_heads: 2, decoder_ffn_dim: 32, use_learned_position_embeddings: false }],
  ['beit', { use_relative_position_bias: true, use_mask_token: false }, 'gpt2', {}],
  ['beit', { use_shared_relative_position_bias: true, layer_scale_init_value: 0.1 }, 'gpt2', {}],
  ['vit', {}, 'bert', { hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, is_decoder: true, add_cross_attention: true }],
];

for (const [encType, encExtra, decType, decExtra] of cases) {
  test(`${encType} ${JSON.stringify(encExtra)} + ${decType}: each generated step's logits (fused kernels, 2 images x 3 beams) equal forward() on the prefix`, async () => {
    const enc = AutoConfig.for_model(encType, { hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, image_size: 16, patch_size: 4, initializer_range: 0.3, ...encExtra });
    const decBase: Record<string, unknown> = decType === 'gpt2' ? { n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32 } : {};
    // Weights larger than the default 0.02 std, so the encoder's states move the logits.
    const dec = AutoConfig.for_model(decType, { vocab_size: 24, max_position_embeddings: 32, initializer_range: 0.3, init_std: 0.3, ...decBase, ...decExtra });
    const config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec, { decoder_start_token_id: 0, pad_token_id: 1, eos_token_id: 2 });
    const model = new VisionEncoderDecoderModel({ config, seed: 5 });
    let s = 7;
    const noise = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    // Biases (and relative position tables) start at zero: give them values, or a dropped bias
    // would go unnoticed.
    for (const [, t] of model.named_parameters()) {
      const d = t.data as Float32Array;
      if (t.dims.length === 1 || d.every((v) => v === 0)) d.forEach((v, i) => (d[i] = v + 0.2 * noise()));
    }
    const pixel_values = new Tensor('float32', Float32Array.from({ length: 2 * 3 * 16 * 16 }, noise), [2, 3, 16, 16]);
    const out = await model.generate(pixel_values, { num_beams: 3, num_return_sequences: 3, max_new_tokens: 4, min_new_tokens: 4, return_dict_in_generate: true, output_logits: true });
    const seqs = out.sequences;
    const [rows, L] = seqs.dims as [number, number];
    const ids = seqs.data as BigInt64Array;
    const beam = out.beam_indices!.data as BigInt64Array;
    // Each step's logits belong to the beam row the hypothesis came from; follow the first
    // returned hypothesis of each image back through beam_indices and compare its rows.
    for (let r = 0; r < rows; r += 3) {
      const image = r / 3;
      const prefix = new Tensor('int64', ids.slice(r * L, r * L + L - 1), [1, L - 1]);
      const px = new Tensor('float32', (pixel_values.data as Float32Array).slice(image * 3 * 256, (image + 1) * 3 * 256), [1, 3, 16, 16]);
      const ref = (await model.forward({ pixel_values: px, decoder_input_ids: prefix })).logits;
      const V = ref.dims[2]!;
      for (let t = 0; t < L - 1; t++) {
        const from = Number(beam[r * (L - 1) + t]!);
        const got = new Tensor('float32', (out.logits![t]!.data as Float32Array).slice(from * V, (from + 1) * V), [V]);
        const want = new Tensor('float32', (ref.data as Float32Array).slice(t * V, (t + 1) * V), [V]);
        const e = maxRelErr(got, want, 1e-2);
        assert.ok(e <= 1e-4, `image ${image}, step ${t}: rel err ${e}`);
      }
    }
  });
}
