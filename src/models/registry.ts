// Architectures by model_type. One import and one entry per architecture file.
import { type DecoderArch, type EncoderArch } from './architectures.js';
import { GPT2 } from './gpt2.js';
import { BERT } from './bert.js';
import { BART } from './bart.js';
import { MBART } from './mbart.js';
import { TROCR } from './trocr.js';
import { ROBERTA } from './roberta.js';
import { ViTModel } from './vit.js';
import { DeiTModel } from './deit.js';
import { BeitModel } from './beit.js';
import { SwinModel } from './swin.js';
import { DonutSwinModel } from './donut_swin.js';

export const ENCODERS: Record<string, EncoderArch> = {
  vit: ViTModel,
  deit: DeiTModel,
  beit: BeitModel,
  swin: SwinModel,
  'donut-swin': DonutSwinModel,
};

export const DECODERS: Record<string, DecoderArch> = {
  roberta: ROBERTA,
  bart: BART,
  bert: BERT,
  gpt2: GPT2,
  mbart: MBART,
  trocr: TROCR,
};
