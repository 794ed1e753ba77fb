// DeiT (model_type 'deit'): transformers' DeiTModel as AutoModel builds it — ViT with a second
// special token: [CLS] and the distillation token before the patches, and position embeddings
// over patches + 2. Its layers, final LayerNorm and pooler (`pooler.dense`) are ViT's
// ("Copied from ViT" in transformers), so they come from vit.ts. Unlike ViT, _init_weights
// zeroes the tokens and the position embeddings.

import { type Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { type EncoderArch } from './architectures.js';
import { type AnyConfig, type Ctx, truncNormal, zeros } from './modeling_utils.js';
import { checkPixelValues, expandToBatch, type ForwardOptions, patchEmbeddings, type VisionEncoderOutputs, vitEncoderAndHeads, vitLayerSettings } from './vit.js';

export const DeiTModel = {
  model_type: 'deit',
  checkpoint_prefixes: ['deit.'],

  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: ForwardOptions = {}): VisionEncoderOutputs {
    const s = vitLayerSettings(config);
    const size = checkPixelValues(config, pixel_values, true);
    const emb = ctx.scope('embeddings');
    // DeiTEmbeddings: patches, then [CLS] and distillation tokens in front, positions, dropout.
    const { embeddings: patches, grid } = patchEmbeddings(emb.scope('patch_embeddings'), config, pixel_values, size, truncNormal(s.std));
    const cls = emb.param('cls_token', [1, 1, s.hidden], zeros);
    const distillation = emb.param('distillation_token', [1, 1, s.hidden], zeros);
    const positions = emb.param('position_embeddings', [1, grid[0] * grid[1] + 2, s.hidden], zeros);
    let x = F.concat([expandToBatch(cls, patches), expandToBatch(distillation, patches), patches], 1);
    x = ctx.dropout(F.add(x, positions), s.hiddenDropout);
    return vitEncoderAndHeads(ctx, config, x, opts);
  },
} satisfies EncoderArch;
