// Public API: names follow Python transformers (see API.md).
export { Tensor } from './runtime/tensor.js';
export type { DataType, TensorData } from './runtime/tensor.js';
export { resolveFile, fileExists, hubCacheDir, hubEndpoint, hubFileUrl, isOfflineMode, clearResolvedFiles, HubError, RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError, EntryNotFoundError, LocalEntryNotFoundError } from './hub/hub.js';
export type { ResolveOptions, Progress } from './hub/hub.js';
export * from './weights/index.js';
export { cer, wer, bleu, tokenize13a, editDistance } from './training/metrics.js';
export type { CerOptions, BleuOptions, BleuResult } from './training/metrics.js';
export { loadImageTextDataset, ImageTextDataset, parseCsv } from './training/datasets.js';
export type { LoadImageTextDatasetOptions, BadRow, ImageTextExample, LoadedExample, FailedExample, LoadedBatch, LoadBatchOptions, OnBadRow, CsvRecord } from './training/datasets.js';
export { SeededRandom, permutation } from './training/random.js';
export { AutoTokenizer, PreTrainedTokenizer, TokenizersBackend, PreTrainedTokenizerFast, GPT2Tokenizer, BertTokenizer, RobertaTokenizer, BartTokenizer, XLMRobertaTokenizer, MBartTokenizer, MBart50Tokenizer, NllbTokenizer, tokenizerClassFor, loadTokenizerFiles, byteLevelBpeTokenizerJson, wordPieceTokenizerJson, clean_up_tokenization, SPECIAL_TOKENS_ATTRIBUTES } from './processing/tokenizers.js';
export type { EncodeOptions, DecodeOptions, CallOptions, BatchEncoding, TokenIds, SpecialTokenName } from './processing/tokenizers.js';
export { PretrainedConfig, ViTConfig, DeiTConfig, BeitConfig, SwinConfig, DonutSwinConfig, GPT2Config, BertConfig, RobertaConfig, BartConfig, MBartConfig, TrOCRConfig, VisionEncoderDecoderConfig, AutoConfig, CONFIG_MAPPING, CONFIG_NAME, TRANSFORMERS_VERSION, splitEncoderDecoderKwargs } from './models/configuration.js';
export type { ConfigDict, ConfigClass, FromPretrainedOptions } from './models/configuration.js';
export { GenerationConfig, GENERATION_CONFIG_NAME, GENERATION_CONFIG_KEYS } from './generation/configuration.js';
export type { UpdateOptions } from './generation/configuration.js';
