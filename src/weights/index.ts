// The weights layer: checkpoint files in and out (safetensors, PyTorch .bin, sharded folders).
export { CheckpointError } from './io.js';
export {
  loadSafetensors,
  loadSafetensorsSync,
  readSafetensorsHeader,
  readSafetensorsHeaderSync,
  parseSafetensorsHeader,
  safetensorsHeaderOfBytes,
  loadSafetensorsFromBytes,
  saveSafetensors,
  saveSafetensorsSync,
  DEFAULT_METADATA,
  MAX_HEADER_SIZE,
} from './safetensors.js';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsHeader, SafetensorsLoadOptions, LoadedSafetensors } from './safetensors.js';
export { float16BitsToFloat32, bfloat16BitsToFloat32, float32ToFloat16, float32ToFloat16Bits } from './half.js';
export { loadPytorchBin, loadPytorchBinSync } from './pytorch.js';
export type { PytorchLoadOptions } from './pytorch.js';
export {
  loadStateDict,
  saveStateDict,
  readShardIndex,
  splitStateDictIntoShards,
  parseShardSize,
  SAFE_WEIGHTS_NAME,
  SAFE_WEIGHTS_INDEX_NAME,
  WEIGHTS_NAME,
  WEIGHTS_INDEX_NAME,
} from './state_dict.js';
export type { LoadStateDictOptions, SaveStateDictOptions, ShardSplit } from './state_dict.js';
