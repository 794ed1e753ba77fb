// Image–text datasets in Hugging Face's `imagefolder` layout, read lazily.
//
// A dataset is a folder holding images and a metadata file that pairs them with text:
//
//   my_dataset/metadata.jsonl          {"file_name": "0001.png", "text": "Invoice 2023-04"}   one per line
//   my_dataset/metadata.csv            file_name,text  header, RFC-4180 quoting
//   my_dataset/train/metadata.jsonl    or one subfolder per split (train, validation, test),
//   my_dataset/validation/...          each with its own metadata file
//
// or a CSV/JSONL file given directly. `file_name` is relative to the metadata file's folder, as
// in `datasets.load_dataset("imagefolder", data_dir=...)`.
//
// Only the index (file names and texts) is held in memory; images are read when a batch asks for
// them, so a dataset larger than memory can be trained on. Bad rows are reported with their file
// and line and either skipped (one warning summarising them) or fatal; an image that cannot be
// read or decoded at batch time is reported with its path and left out of that batch rather
// than ending the epoch.

import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { loadImage, type LoadImageOptions, type RawImage } from '../processing/image.js';
import { permutation } from './random.js';

export type OnBadRow = 'skip' | 'error';

export interface LoadImageTextDatasetOptions {
  /** Which split: 'train' (default), 'validation' or 'test'. */
  split?: string;
  /** Column holding the text (default 'text'). */
  text_column?: string;
  /** Column holding the image's path relative to the metadata file (default 'file_name'). */
  image_column?: string;
  /** What to do with a malformed row, a missing image file or an empty text (default 'skip'). */
  on_bad_row?: OnBadRow;
  /**
   * When the dataset has no validation folder, hold out this fraction (0 < f < 1) of the train
   * rows as the 'validation' split, chosen by a seeded shuffle; the 'train' split is the rest.
   * A validation/ folder always wins over this.
   */
  validation_fraction?: number;
  /** Seed of the held-out choice (default 42). */
  seed?: number;
  /** Check at load time that each image file exists (default true). */
  check_files?: boolean;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

/** A row left out of the dataset, and why. */
export interface BadRow {
  file: string;
  kind: 'malformed row' | 'missing column' | 'empty text' | 'missing image';
  /** 1-based line where the row starts. */
  line: number;
  reason: string;
}

export interface ImageTextExample {
  image_path: string;
  text: string;
}

export interface LoadedExample extends ImageTextExample {
  /** Position in this dataset (as given to loadBatch). */
  index: number;
  /** The encoded file, as read from disk. */
  bytes: Uint8Array;
  /** Decoded RGB pixels (absent when loadBatch was asked not to decode). */
  image?: RawImage;
}

export interface FailedExample {
  index: number;
  image_path: string;
  reason: string;
}

export interface LoadedBatch {
  /** The examples that could be read (and decoded), in the order asked. */
  examples: LoadedExample[];
  /** The ones that could not, with the reason; they are also remembered in `dataset.failed_images`. */
  failed: FailedExample[];
}

export interface LoadBatchOptions {
  /** Decode each image to RGB (PIL's `convert('RGB')`) so that a corrupt file is caught here (default true). */
  decode?: boolean;
  /** How images are decoded: the pixel limit, and the option that sets it for error messages. */
  image?: LoadImageOptions;
}

const SPLIT_NAMES: Record<string, readonly string[]> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'val', 'dev'],
  test: ['test', 'testing', 'eval', 'evaluation'],
};
const METADATA_NAMES = ['metadata.jsonl', 'metadata.csv'];

/** The parsed index shared by a dataset and every view of it (shuffles, selections). */
interface Index {
  /** Folder that `file_name`s are relative to. */
  base: string;
  names: string[];
  texts: string[];
}

/**
 * One split of an image–text dataset: a view (an order over rows) of an index held in memory.
 * shuffle/select/train_test_split return new views and share the index.
 */
export class ImageTextDataset {
  /** The metadata file this split was read from. */
  readonly source: string;
  readonly split: string;
  /** Rows left out at load time (empty with on_bad_row 'error', which throws instead). */
  readonly bad_rows: readonly BadRow[];
  /** Image paths that failed to load at batch time, with the reason; later batches skip them at once. */
  readonly failed_images: Map<string, string>;
  private readonly index: Index;
  private readonly order: Uint32Array;
  private readonly warn: (message: string) => void;

  /** @internal use loadImageTextDataset */
  constructor(args: {
    source: string;
    split: string;
    index: Index;
    order: Uint32Array;
    bad_rows: readonly BadRow[];
    failed_images?: Map<string, string>;
    warn: (message: string) => void;
  }) {
    this.source = args.source;
    this.split = args.split;
    this.index = args.index;
    this.order = args.order;
    this.bad_rows = args.bad_rows;
    this.failed_images = args.failed_images ?? new Map();
    this.warn = args.warn;
  }

  get length(): number {
    return this.order.length;
  }

  get(i: number): ImageTextExample {
    if (!Number.isInteger(i) || i < 0 || i >= this.order.length) {
      throw new RangeError(`ImageTextDataset.get: index ${i} out of range for ${this.order.length} examples (${this.source})`);
    }
    const row = this.order[i]!;
    return { image_path: join(this.index.base, this.index.names[row]!), text: this.index.texts[row]! };
  }

  /** Every text, in this view's order (for tokenizer checks or vocabulary statistics). */
  texts(): string[] {
    return Array.from(this.order, (row) => this.index.texts[row]!);
  }

  /** A new view of the same rows in a seeded random order (the same seed gives the same order). */
  shuffle(seed: number): ImageTextDataset {
    const p = permutation(this.order.length, seed);
    return this.view(p.map((j) => this.order[j]!));
  }

  /** A new view of the given positions of this view, in that order. */
  select(indices: Iterable<number>): ImageTextDataset {
    const rows: number[] = [];
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.order.length) {
        throw new RangeError(`ImageTextDataset.select: index ${i} out of range for ${this.order.length} examples (${this.source})`);
      }
      rows.push(this.order[i]!);
    }
    return this.view(Uint32Array.from(rows));
  }

  /**
   * A seeded split into two disjoint views: `test` takes round(length × test_size) rows (at least
   * one, and at least one is left for `train`). The same seed gives the same split.
   */
  train_test_split(test_size: number, seed = 42): { train: ImageTextDataset; test: ImageTextDataset } {
    const [trainRows, testRows] = holdOut(this.order, test_size, seed, this.source);
    return { train: this.view(trainRows), test: this.view(testRows) };
  }

  /**
   * Batches of positions 0..length-1 in order (shuffle the dataset first for a random epoch).
   * The last batch is shorter unless drop_last.
   */
  *batches(batch_size: number, options: { drop_last?: boolean } = {}): Generator<number[]> {
    if (!Number.isInteger(batch_size) || batch_size < 1) {
      throw new Error(`ImageTextDataset.batches: batch_size must be a positive integer, got ${batch_size}`);
    }
    for (let start = 0; start < this.length; start += batch_size) {
      const end = Math.min(start + batch_size, this.length);
      if (end - start < batch_size && options.drop_last) return;
      const batch: number[] = [];
      for (let i = start; i < end; i++) batch.push(i);
      yield batch;
    }
  }

  /**
   * Reads (and by default decodes) the images of the given positions. An image that cannot be
   * read or decoded is reported with its path through the warning callback, listed in `failed`
   * and left out of `examples`; it never throws for a bad image, so an epoch goes on.
   */
  async loadBatch(indices: readonly number[], options: LoadBatchOptions = {}): Promise<LoadedBatch> {
    const decode = options.decode ?? true;
    const items = indices.map((index) => ({ index, ...this.get(index) }));
    const results = await Promise.all(items.map(async (item) => {
      const known = this.failed_images.get(item.image_path);
      if (known !== undefined) return { item, error: known };
      try {
        const bytes = await readFile(item.image_path);
        const image = decode ? await loadImage(bytes, options.image) : undefined;
        return { item, bytes, image };
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const reason = err.code === 'ENOENT' ? 'file not found' : err.message;
        this.failed_images.set(item.image_path, reason);
        this.warn(`${this.source}: image ${item.image_path} (example ${item.index}) cannot be loaded: ${reason}; left out of the batch`);
        return { item, error: reason };
      }
    }));
    const batch: LoadedBatch = { examples: [], failed: [] };
    for (const r of results) {
      if ('error' in r) batch.failed.push({ index: r.item.index, image_path: r.item.image_path, reason: r.error! });
      else batch.examples.push({ ...r.item, bytes: r.bytes, ...(r.image ? { image: r.image } : {}) });
    }
    return batch;
  }

  private view(order: Uint32Array): ImageTextDataset {
    return new ImageTextDataset({
      source: this.source,
      split: this.split,
      index: this.index,
      order,
      bad_rows: this.bad_rows,
      failed_images: this.failed_images,
      warn: this.warn,
    });
  }
}

/** Splits `order` into [kept, held out] by a seeded shuffle. */
function holdOut(order: Uint32Array, fraction: number, seed: number, source: string): [Uint32Array, Uint32Array] {
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`${source}: the held-out fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  }
  if (order.length < 2) throw new Error(`${source}: ${order.length} example(s) cannot be split in two`);
  const k = Math.min(order.length - 1, Math.max(1, Math.round(order.length * fraction)));
  const p = permutation(order.length, seed);
  // Rows keep their file order inside each part, so that a split changes nothing but membership.
  const held = Array.from(p.subarray(0, k)).sort((a, b) => a - b);
  const isHeld = new Uint8Array(order.length);
  for (const j of held) isHeld[j] = 1;
  const kept: number[] = [];
  for (let j = 0; j < order.length; j++) if (!isHeld[j]) kept.push(order[j]!);
  return [Uint32Array.from(kept), Uint32Array.from(held, (j) => order[j]!)];
}

/**
 * Loads one split of an image–text dataset (see the file header for the layouts). The split
 * comes from its own subfolder when there is one; otherwise 'train' is the whole metadata file
 * and 'validation' exists only as a seeded `validation_fraction` held out from it.
 */
export async function loadImageTextDataset(path: string, options: LoadImageTextDatasetOptions = {}): Promise<ImageTextDataset> {
  const split = options.split ?? 'train';
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const root = resolve(path);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new Error(`loadImageTextDataset: ${root} does not exist`);

  let source: string;
  let carve: 'none' | 'train' | 'validation' = 'none';
  if (st.isFile()) {
    source = root;
    carve = carveFor(split, options, `${root} is a single file`);
  } else {
    const splits = findSplitFolders(root);
    if (splits.size > 0) {
      // An explicit validation folder wins; without one, a validation_fraction carves both the
      // 'validation' split and the rest ('train') out of the train folder, disjointly.
      const carveTrain = !splits.has('validation') && splits.has('train') && options.validation_fraction !== undefined;
      if (carveTrain && (split === 'train' || split === 'validation')) {
        source = splits.get('train')!;
        carve = split;
      } else if (splits.has(split)) {
        source = splits.get(split)!;
      } else {
        throw new Error(
          `loadImageTextDataset: ${root} has no '${split}' split; it has ${[...splits.keys()].map((s) => `'${s}'`).join(', ')}` +
            (split === 'validation' ? ' (pass validation_fraction to hold out part of train)' : ''),
        );
      }
    } else {
      const meta = findMetadata(root);
      if (!meta) {
        throw new Error(
          `loadImageTextDataset: ${root} has no metadata.jsonl or metadata.csv, and no train/, validation/ or test/ ` +
            'subfolder holding one; expected rows {"file_name": ..., "text": ...}',
        );
      }
      source = meta;
      carve = carveFor(split, options, `${root} has no split subfolders`);
    }
  }

  const { index, bad_rows } = await readIndex(source, options);
  if (bad_rows.length > 0) {
    const byReason = new Map<string, number>();
    for (const b of bad_rows) byReason.set(b.kind, (byReason.get(b.kind) ?? 0) + 1);
    const summary = [...byReason].map(([k, n]) => `${n} ${k}`).join(', ');
    const first = bad_rows.slice(0, 3).map((b) => `line ${b.line}: ${b.reason}`).join('; ');
    warn(`${source}: skipped ${bad_rows.length} of ${bad_rows.length + index.names.length} rows (${summary}); ${first}` +
      (bad_rows.length > 3 ? '; ... (see dataset.bad_rows)' : ''));
  }
  if (index.names.length === 0) throw new Error(`loadImageTextDataset: ${source} has no usable rows`);

  let order: Uint32Array = Uint32Array.from({ length: index.names.length }, (_, i) => i);
  if (carve !== 'none') {
    const [kept, held] = holdOut(order, options.validation_fraction!, options.seed ?? 42, source);
    order = carve === 'validation' ? held : kept;
  }
  return new ImageTextDataset({ source, split, index, order, bad_rows, warn });
}

/** For a source without a validation folder: which part of it the split is. */
function carveFor(split: string, options: LoadImageTextDatasetOptions, why: string): 'none' | 'train' | 'validation' {
  if (split === 'train') return options.validation_fraction === undefined ? 'none' : 'train';
  if (split === 'validation' && options.validation_fraction !== undefined) return 'validation';
  throw new Error(
    `loadImageTextDataset: no '${split}' split: ${why}` +
      (split === 'validation' ? '; pass validation_fraction to hold out part of it' : '; only \'train\' is available'),
  );
}

/** Split subfolders that hold a metadata file, by canonical split name. */
function findSplitFolders(root: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [split, names] of Object.entries(SPLIT_NAMES)) {
    for (const name of names) {
      const meta = findMetadata(join(root, name));
      if (meta) {
        found.set(split, meta);
        break;
      }
    }
  }
  return found;
}

function findMetadata(dir: string): string | null {
  const present = METADATA_NAMES.map((n) => join(dir, n)).filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
  if (present.length > 1) {
    throw new Error(`loadImageTextDataset: ${dir} has both metadata.jsonl and metadata.csv; keep one`);
  }
  return present[0] ?? null;
}

/** Reads a metadata file into an index, sorting out bad rows. */
async function readIndex(source: string, options: LoadImageTextDatasetOptions): Promise<{ index: Index; bad_rows: BadRow[] }> {
  const textColumn = options.text_column ?? 'text';
  const imageColumn = options.image_column ?? 'file_name';
  const onBad = options.on_bad_row ?? 'skip';
  if (onBad !== 'skip' && onBad !== 'error') throw new Error(`loadImageTextDataset: on_bad_row must be 'skip' or 'error', got '${onBad as string}'`);
  const checkFiles = options.check_files ?? true;
  const base = dirname(source);
  const index: Index = { base, names: [], texts: [] };
  const bad_rows: BadRow[] = [];

  const bad = (line: number, kind: BadRow['kind'], reason: string): void => {
    if (onBad === 'error') throw new Error(`${source}:${line}: ${reason}`);
    bad_rows.push({ file: source, line, kind, reason });
  };
  const accept = (line: number, row: Record<string, unknown>): void => {
    const name = row[imageColumn];
    const text = row[textColumn];
    if (typeof name !== 'string' || name.length === 0) {
      return bad(line, 'missing column', `missing ${imageColumn}: expected a non-empty string, got ${describeValue(name)}`);
    }
    if (typeof text !== 'string') return bad(line, 'missing column', `missing ${textColumn}: expected a string, got ${describeValue(text)}`);
    if (text.trim().length === 0) return bad(line, 'empty text', `empty ${textColumn} for ${name}`);
    if (checkFiles && !statSync(join(base, name), { throwIfNoEntry: false })?.isFile()) {
      return bad(line, 'missing image', `missing image file: ${join(base, name)} does not exist`);
    }
    index.names.push(name);
    index.texts.push(text);
  };

  const ext = extname(source).toLowerCase();
  if (ext === '.jsonl') {
    // One JSON object per line, streamed: the file may be larger than we want to hold as a string.
    const lines = createInterface({ input: createReadStream(source, 'utf8'), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const raw of lines) {
      lineNo++;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        bad(lineNo, 'malformed row', `malformed JSON (${(e as Error).message})`);
        continue;
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        bad(lineNo, 'malformed row', `malformed row: expected a JSON object {"${imageColumn}": ..., "${textColumn}": ...}, got ${describeValue(row)}`);
        continue;
      }
      accept(lineNo, row as Record<string, unknown>);
    }
  } else if (ext === '.csv') {
    const text = readFileSync(source, 'utf8');
    const records = parseCsv(text);
    if (records.length === 0 || records[0]!.error) {
      throw new Error(`${source}:1: expected a header line naming the columns, e.g. ${imageColumn},${textColumn}`);
    }
    const header = records[0]!.fields;
    for (const col of [imageColumn, textColumn]) {
      if (!header.includes(col)) {
        throw new Error(`${source}:${records[0]!.line}: header has no '${col}' column (columns: ${header.join(', ')})`);
      }
    }
    for (const rec of records.slice(1)) {
      if (rec.error) {
        bad(rec.line, 'malformed row', `malformed CSV: ${rec.error}`);
        continue;
      }
      if (rec.fields.length !== header.length) {
        bad(rec.line, 'malformed row', `malformed CSV: expected ${header.length} fields as in the header, found ${rec.fields.length}`);
        continue;
      }
      const row: Record<string, unknown> = {};
      header.forEach((h, k) => { row[h] = rec.fields[k]; });
      accept(rec.line, row);
    }
  } else {
    throw new Error(`loadImageTextDataset: ${source}: expected a .jsonl or .csv metadata file`);
  }
  return { index, bad_rows };
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
  /** Set when the record is malformed (its fields are then unreliable). */
  error?: string;
}

/**
 * RFC 4180 CSV: comma-separated fields, a field in double quotes may hold commas, line breaks and
 * doubled quotes (""); records end at CRLF, LF or CR outside quotes. Blank lines are skipped, a
 * leading byte-order mark is ignored. A quote inside an unquoted field is kept as a character
 * (as Python's csv module does); text after a closing quote, or a quote left open at the end of
 * the file, marks the record as malformed.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    // A blank line (no characters before its break) is no record.
    if (text[i] === '\n' || text[i] === '\r') {
      i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let error: string | undefined;
    let field = '';
    let endOfRecord = false;
    while (!endOfRecord) {
      if (text[i] === '"') {
        // Quoted field: runs to the next quote not doubled.
        i++;
        let closed = false;
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          field += c;
          i++;
        }
        if (!closed) {
          error = `a quoted field opened on line ${start} is never closed`;
        } else if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          error ??= `unexpected character ${JSON.stringify(text[i])} after a closing quote (line ${line})`;
          // Skip to the end of the field to resynchronise.
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++;
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      }
      fields.push(field);
      field = '';
      if (i >= n) {
        endOfRecord = true;
      } else if (text[i] === ',') {
        i++;
        // A comma at the very end of the input still ends a last, empty field.
        if (i >= n) {
          fields.push('');
          endOfRecord = true;
        }
      } else {
        // Line break: CRLF, LF or CR.
        i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        endOfRecord = true;
      }
    }
    records.push(error ? { fields, line: start, error } : { fields, line: start });
  }
  return records;
}
