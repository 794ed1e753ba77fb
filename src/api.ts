// The public API that runs in Node and in a browser alike: src/index.ts (Node) and
// src/browser.ts (the page bundle) both export it, each adding what only it has.
export { Tensor } from './runtime/tensor.js';
export type { DataType, TensorData } from './runtime/tensor.js';
export { resolveFile, fileExists, hubCacheDir, hubEndpoint, hubFileUrl, isOfflineMode, clearResolvedFiles, HubError, RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError, EntryNotFoundError, LocalEntryNotFoundError } from './hub/hub.js';
export type { ResolveOptions, Progress } from './hub/hub.js';
export * from './weights/index.js';
export { cer, wer, bleu, tokenize13a, editDistance } from './training/metrics.js';
export type { CerOptions, BleuOptions, BleuResult } from './training/metrics.js';
export { SeededRandom, permutation } from './training/random.js';
export { AutoTokenizer, PreTrainedTokenizer, TokenizersBackend, PreTrainedTokenizerFast, GPT2Tokenizer, BertTokenizer, RobertaTokenizer, BartTokenizer, XLMRobertaTokenizer, MBartTokenizer, MBart50Tokenizer, NllbTokenizer, tokenizerClassFor, loadTokenizerFiles, byteLevelBpeTokenizerJson, wordPieceTokenizerJson, clean_up_tokenization, SPECIAL_TOKENS_ATTRIBUTES } from './processing/tokenizers.js';
export type { EncodeOptions, DecodeOptions, CallOptions, BatchEncoding, TokenIds, SpecialTokenName } from './processing/tokenizers.js';
export { PretrainedConfig, ViTConfig, DeiTConfig, BeitConfig, SwinConfig, DonutSwinConfig, GPT2Config, BertConfig, RobertaConfig, BartConfig, MBartConfig, TrOCRConfig, VisionEncoderDecoderConfig, AutoConfig, CONFIG_MAPPING, CONFIG_NAME, TRANSFORMERS_VERSION, splitEncoderDecoderKwargs } from './models/configuration.js';
export type { ConfigDict, ConfigClass, FromPretrainedOptions } from './models/configuration.js';
export { GenerationConfig, GENERATION_CONFIG_NAME, GENERATION_CONFIG_KEYS } from './generation/configuration.js';
export type { UpdateOptions } from './generation/configuration.js';
export { RawImage, loadImage, MAX_IMAGE_PIXELS } from './processing/image.js';
export type { ImageInput, LoadImageOptions } from './processing/image.js';
export { resize as resizePixels, resizeTorchvision, reduce, PILImageResampling } from './processing/resize.js';
export type { PixelData, ResizeOptions, Resampling, TorchInterpolation } from './processing/resize.js';
export {
  AutoImageProcessor,
  BaseImageProcessor,
  ViTImageProcessor,
  DeiTImageProcessor,
  BeitImageProcessor,
  DonutImageProcessor,
  ViTImageProcessorPil,
  DeiTImageProcessorPil,
  BeitImageProcessorPil,
  DonutImageProcessorPil,
  ViTFeatureExtractor,
  DeiTFeatureExtractor,
  BeitFeatureExtractor,
  DonutFeatureExtractor,
  get_size_dict,
  IMAGENET_STANDARD_MEAN,
  IMAGENET_STANDARD_STD,
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
} from './processing/image_processors.js';
export type { Backend, SizeDict, PreprocessOptions, FromPretrainedOptions as ImageProcessorFromPretrainedOptions } from './processing/image_processors.js';
export { VisionEncoderDecoderModel, ParameterMap, shiftTokensRight } from './models/vision_encoder_decoder.js';
export type { EncoderAuxiliaryLoss, ForwardInputs, ForwardOutput, LayerCache, LoadingInfo, InferenceDtype, FromPretrainedOptions as ModelFromPretrainedOptions } from './models/vision_encoder_decoder.js';
export { AdamW, defaultNoDecay } from './training/optim.js';
export type { AdamWOptions, AdamWState } from './training/optim.js';
export { Graph, Sym } from './graph/graph.js';
export { quantizeWeightsInt8, quantizeColumns } from './graph/quantize.js';
export { grad } from './graph/autodiff.js';
export { CompiledGraph, SessionCache, setDefaultThreads, setPrepackWeights } from './runtime/session.js';
export { AutoProcessor, ImageTextProcessor, TrOCRProcessor, DonutProcessor, labelsFromEncoding, PROCESSOR_NAME } from './processing/processors.js';
export type { ProcessorInputs, ProcessorCallOptions, ProcessorOutput, ProcessorFromPretrainedOptions } from './processing/processors.js';
export { generate, prepareGenerationConfig, DEFAULT_MAX_NEW_TOKENS, GENERATE_OPTION_KEYS } from './generation/search.js';
export type { GenerateOptions } from './generation/search.js';
export type { DecoderSession, BaseStreamer, StreamerCallback, GenerateOutput } from './generation/types.js';
export { TokenIteratorStreamer } from './generation/streamers.js';
export { RandomGenerator } from './generation/random.js';
export {
  LogitsProcessor,
  LogitsProcessorList,
  buildLogitsProcessor,
  MinLengthLogitsProcessor,
  MinNewTokensLengthLogitsProcessor,
  RepetitionPenaltyLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  SequenceBiasLogitsProcessor,
  NoBadWordsLogitsProcessor,
  ForcedBOSTokenLogitsProcessor,
  ForcedEOSTokenLogitsProcessor,
  InfNanRemoveLogitsProcessor,
  ExponentialDecayLengthPenalty,
  LogitNormalization,
  SuppressTokensAtBeginLogitsProcessor,
  SuppressTokensLogitsProcessor,
  TemperatureLogitsWarper,
  TopHLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  MinPLogitsWarper,
  TypicalLogitsWarper,
  EpsilonLogitsWarper,
  EtaLogitsWarper,
} from './generation/logits_process.js';
export type { InputIds, LogitsProcessorOptions } from './generation/logits_process.js';
export { clip_grad_norm_ } from './training/optim.js';
export type { AdamWParamGroup } from './training/optim.js';
export { get_scheduler, get_constant_schedule, get_constant_schedule_with_warmup, get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup, get_warmup_steps, SCHEDULER_TYPES } from './training/schedules.js';
export type { SchedulerType, LrLambda } from './training/schedules.js';
export { OCRReader, bundledOCRModel } from './ocr/reader.js';
export type { OCRLine, OCRResult, ReadOptions } from './ocr/reader.js';
export { findTextLines, toGray, otsuThreshold, cropMargin } from './ocr/layout.js';
export { lineCrop, lineCrops, jointCrops } from './ocr/crops.js';
export type { TextLine, Joint, Box, LayoutOptions } from './ocr/layout.js';
export { pipeline } from './ocr/pipeline.js';
export type { ImageToTextPipeline, ImageToTextOutput, PipelineOptions, PipelineCallOptions, PipelineTask } from './ocr/pipeline.js';
