// The weights layer: checkpoint files in and out (safetensors, PyTorch .bin, sharded folders).
export { CheckpointError } from './io.js';
export {
  loadSafetensors,
  loadSafetensorsSync,
  readSafetensorsHeader,
  readSafetensorsHeaderSync,
  parseSafetensorsHeader,
  saveSafetensors,
  saveSafetensorsSync,
  DEFAULT_METADATA,
  MAX_HEADER_SIZE,
} from './safetensors.js';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsHeader, SafetensorsLoadOptions, LoadedSafetensors } from './safetensors.js';
export { float16BitsToFloat32, bfloat16BitsToFloat32, float32ToFloat16, float32ToFloat16Bits } from './half.js';
