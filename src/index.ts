// Public API: names follow Python transformers (see API.md).
export * from './api.js';
// Node only: they read and write folders on disk (datasets, checkpoints, fonts from node_modules).
export { loadImageTextDataset, ImageTextDataset, parseCsv } from './training/datasets.js';
export type { LoadImageTextDatasetOptions, BadRow, ImageTextExample, LoadedExample, FailedExample, LoadedBatch, LoadBatchOptions, OnBadRow, CsvRecord } from './training/datasets.js';
export { generateTextLines, renderTextLine, randomText, listFontFaces } from './training/synthetic.js';
export type { GenerateTextLinesOptions, GenerateTextLinesResult, RenderOptions, RenderedLine, FontFace, FontCategory, FontStyle } from './training/synthetic.js';
export { Trainer, resolveTrainingArguments, encodeLabels, listCheckpoints, getLastCheckpoint, deriveSeed, TRAINING_ARGUMENT_DEFAULTS } from './training/trainer.js';
export type { TrainingArguments, ResolvedTrainingArguments, TrainerOptions, TrainerState, TrainOutput, TrainerCallback, StepInfo, LogEntry, ProgressStream } from './training/trainer.js';
