// Public API: names follow Python transformers (see API.md).
export { Tensor } from './runtime/tensor.js';
export type { DataType, TensorData } from './runtime/tensor.js';
