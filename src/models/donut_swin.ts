// Donut-Swin (model_type 'donut-swin'): transformers' DonutSwinModel, Donut's image encoder. It is
// Swin (swin.ts) without the final LayerNorm: last_hidden_state is the last stage's output. Its
// blocks keep `attention.self.relative_position_index` as a persistent buffer, so checkpoints carry
// it (loaded and saved with the weights). The pooler averages the tokens (no weights).
//
// use_absolute_embeddings is refused: DonutSwinEmbeddings makes num_patches + 1 position rows
// for num_patches patch embeddings, and transformers' forward fails on the sum.

import { type Sym } from '../graph/graph.js';
import { type EncoderArch } from './architectures.js';
import { type AnyConfig, type Ctx } from './modeling_utils.js';
import { swinModelForward, type SwinEncoderOutputs, type SwinForwardOptions, type SwinVariant } from './swin.js';

const DONUT_SWIN: SwinVariant = { className: 'DonutSwinModel', finalLayerNorm: false, persistentIndex: true, positionRows: null };

export const DonutSwinModel = {
  model_type: 'donut-swin',
  checkpoint_prefixes: ['donut.'],

  forward(ctx: Ctx, config: AnyConfig, pixel_values: Sym, opts: SwinForwardOptions = {}): SwinEncoderOutputs {
    return swinModelForward(ctx, config, pixel_values, opts, DONUT_SWIN);
  },
} satisfies EncoderArch;
