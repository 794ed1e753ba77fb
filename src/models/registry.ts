// Architectures by model_type. One import and one entry per architecture file.
import { type DecoderArch, type EncoderArch } from './architectures.js';

export const ENCODERS: Record<string, EncoderArch> = {};

export const DECODERS: Record<string, DecoderArch> = {};
