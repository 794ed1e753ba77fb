// Processors: an image processor and a tokenizer behind one object, as transformers'
// ProcessorMixin subclasses TrOCRProcessor and DonutProcessor (processing_trocr.py,
// processing_donut.py) and AutoProcessor (processing_auto.py).
//
// What differs from Python, and why:
//   - `call` returns `labels` with padded positions set to -100 (the ignore index of the loss),
//     which is what every TrOCR/Donut fine-tuning recipe does by hand after calling the processor.
//     The positions come from the attention mask, not from `labels == pad_token_id`: GPT-2-style
//     tokenizers use the eos token as pad, and comparing ids would also hide the real eos.
//   - a batch of texts is padded to the longest by default, so that labels are one tensor.
//   - AutoProcessor falls back to a generic image + tokenizer processor when no file names a
//     processor class (Python would return only the tokenizer or only the image processor).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileExists, resolveFile, type ResolveOptions } from '../hub/hub.js';
import { readText } from '../hub/files.js';
import { Tensor } from '../runtime/tensor.js';
import type { ImageInput } from './image.js';
import { AutoImageProcessor, BaseImageProcessor, type PreprocessOptions } from './image_processors.js';
import { AutoTokenizer, PreTrainedTokenizer, type CallOptions, type DecodeOptions, type TokenIds } from './tokenizers.js';

type Json = Record<string, unknown>;

export const PROCESSOR_NAME = 'processor_config.json';

/** What a processor is called with: images, texts, or both (Python's `processor(images=…, text=…)`). */
export interface ProcessorInputs {
  images?: ImageInput | readonly ImageInput[];
  text?: string | readonly string[];
}

/**
 * Options of one call: tokenizer keys go to the tokenizer, every other key to the image processor
 * (Python's `_merge_kwargs` split into text_kwargs and images_kwargs).
 */
export type ProcessorCallOptions = CallOptions & PreprocessOptions;

export interface ProcessorOutput {
  /** float32 [N, 3, H, W], when images were given. */
  pixel_values?: Tensor;
  /** int64 [N, L], when text was given: the token ids with padding set to -100. */
  labels?: Tensor;
  /** int64 [N, L], when text was given: the token ids as the tokenizer gives them (padding = pad id). */
  input_ids?: Tensor;
  /** int64 [N, L], when text was given: 1 for tokens, 0 for padding. */
  attention_mask?: Tensor;
}

export interface ProcessorFromPretrainedOptions extends ResolveOptions {
  /** Which arithmetic the image processor reproduces (default 'torchvision', as transformers 5). */
  backend?: 'torchvision' | 'pil';
}

const TOKENIZER_KEYS = new Set(['add_special_tokens', 'padding', 'truncation', 'max_length', 'pad_to_multiple_of', 'padding_side', 'return_tensors']);

function splitOptions(options: ProcessorCallOptions): { text: CallOptions; images: PreprocessOptions } {
  const text: Record<string, unknown> = {};
  const images: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) (TOKENIZER_KEYS.has(k) ? text : images)[k] = v;
  return { text: text as CallOptions, images: images as PreprocessOptions };
}

/** Copy of input_ids with every position the attention mask marks as padding set to -100. */
export function labelsFromEncoding(input_ids: Tensor, attention_mask: Tensor): Tensor {
  const ids = input_ids.data as BigInt64Array;
  const mask = attention_mask.data as BigInt64Array;
  if (ids.length !== mask.length) throw new Error(`labelsFromEncoding: input_ids has ${ids.length} entries but attention_mask has ${mask.length}`);
  const out = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = mask[i] === 0n ? -100n : ids[i]!;
  return new Tensor('int64', out, [...input_ids.dims]);
}

/**
 * An image processor and a tokenizer used together: images in, pixel values out; texts in,
 * labels out; generated ids in, text out. The generic processor of AutoProcessor's fallback,
 * and the base of TrOCRProcessor and DonutProcessor.
 */
export class ImageTextProcessor {
  /** Python's class name, written as `processor_class` by save_pretrained (null: not written). */
  static readonly processor_class: string | null = null;

  readonly image_processor: BaseImageProcessor;
  readonly tokenizer: PreTrainedTokenizer;

  constructor(image_processor: BaseImageProcessor, tokenizer: PreTrainedTokenizer) {
    const name = (this.constructor as typeof ImageTextProcessor).processor_class ?? 'ImageTextProcessor';
    if (!(image_processor instanceof BaseImageProcessor)) throw new Error(`${name}: You need to specify an \`image_processor\` (an image processor instance, e.g. from AutoImageProcessor.from_pretrained).`);
    if (!(tokenizer instanceof PreTrainedTokenizer)) throw new Error(`${name}: You need to specify a \`tokenizer\` (a tokenizer instance, e.g. from AutoTokenizer.from_pretrained).`);
    this.image_processor = image_processor;
    this.tokenizer = tokenizer;
  }

  /** Loads both parts from one folder or hub id (preprocessor_config.json and the tokenizer files). */
  static async from_pretrained<T extends ImageTextProcessor>(
    this: new (image_processor: BaseImageProcessor, tokenizer: PreTrainedTokenizer) => T,
    pathOrId: string,
    options: ProcessorFromPretrainedOptions = {},
  ): Promise<T> {
    const { image_processor, tokenizer } = await loadParts(pathOrId, options);
    return new this(image_processor, tokenizer);
  }

  /** Python's `processor(images=…, text=…)`; see ProcessorOutput for what comes back. */
  async call(inputs: ProcessorInputs, options: ProcessorCallOptions = {}): Promise<ProcessorOutput> {
    if (!inputs || typeof inputs !== 'object') throw new Error(`${this.name}.call: expected { images?, text? }, got ${JSON.stringify(inputs)}`);
    const { images, text } = inputs;
    if (images === undefined && text === undefined) throw new Error(`${this.name}.call: You need to specify either an \`images\` or \`text\` input to process.`);
    const split = splitOptions(options);
    const out: ProcessorOutput = {};
    if (images !== undefined) out.pixel_values = (await this.image_processor.preprocess(images, split.images)).pixel_values;
    if (text !== undefined) {
      const textOptions: CallOptions = { padding: true, ...this.textDefaults(images !== undefined), ...split.text };
      const enc = this.tokenizer.call(text, textOptions);
      out.input_ids = enc.input_ids;
      out.attention_mask = enc.attention_mask;
      out.labels = labelsFromEncoding(enc.input_ids, enc.attention_mask);
    }
    if (out.pixel_values && out.labels && out.pixel_values.dims[0] !== out.labels.dims[0]) {
      throw new Error(`${this.name}.call: ${out.pixel_values.dims[0]} image(s) but ${out.labels.dims[0]} text(s); give one text per image`);
    }
    return out;
  }

  /** Tokenizer options a subclass sets by default (Donut: no special tokens next to images). */
  protected textDefaults(_withImages: boolean): CallOptions {
    return {};
  }

  /** Texts of generated ids (an int64 [B, L] tensor or arrays of ids); -100 is read as padding. */
  batch_decode(rows: Tensor | readonly (readonly number[] | readonly bigint[])[], options: DecodeOptions = {}): string[] {
    if (rows instanceof Tensor) {
      if (rows.dims.length !== 2) throw new Error(`${this.name}.batch_decode: expected a 2-D tensor [batch, length], got dims [${rows.dims.join(', ')}]`);
      const [b, l] = rows.dims as [number, number];
      const data = rows.data as BigInt64Array | Int32Array;
      const list = Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * l, (i + 1) * l) as ArrayLike<number | bigint>, Number));
      return list.map((r) => this.decode(r, options));
    }
    if (!Array.isArray(rows)) throw new Error(`${this.name}.batch_decode: expected an array of id arrays or a 2-D Tensor`);
    return rows.map((r) => this.decode(r, options));
  }

  /** Text of one row of ids. Label rows hold -100 for padding: those positions are dropped. */
  decode(ids: TokenIds, options: DecodeOptions = {}): string {
    if (Array.isArray(ids) || ids instanceof BigInt64Array || ids instanceof Int32Array) {
      const list = Array.from(ids as ArrayLike<number | bigint>, Number);
      return this.tokenizer.decode(list.filter((id) => id !== -100), options);
    }
    return this.tokenizer.decode(ids, options);
  }

  /**
   * Writes preprocessor_config.json and the tokenizer (tokenizer.json, tokenizer_config.json),
   * each naming `processor_class` as Python writes it, so that Python's AutoProcessor and ours
   * load the same class back.
   */
  async save_pretrained(dir: string): Promise<string[]> {
    if (typeof dir !== 'string' || !dir) throw new Error(`${this.name}.save_pretrained: dir must be a non-empty path, got ${JSON.stringify(dir)}`);
    await mkdir(dir, { recursive: true });
    const processorClass = (this.constructor as typeof ImageTextProcessor).processor_class;
    const withClass = (config: Json): Json => {
      const c: Json = { ...config };
      if (processorClass) c.processor_class = processorClass;
      else delete c.processor_class;
      return sortKeys(c);
    };
    const files = [join(dir, 'preprocessor_config.json'), join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json')];
    await writeFile(files[0]!, JSON.stringify(withClass(this.image_processor.to_dict()), null, 2) + '\n');
    await writeFile(files[1]!, JSON.stringify(this.tokenizer.tokenizer_json, null, 2) + '\n');
    const tokConfig: Json = { ...this.tokenizer.config };
    // Python names the class it was; without a name, ours reads it back as the generic class.
    tokConfig.tokenizer_class ??= this.tokenizer.constructor.name === 'PreTrainedTokenizer' ? 'PreTrainedTokenizerFast' : this.tokenizer.constructor.name;
    await writeFile(files[2]!, JSON.stringify(withClass(tokConfig), null, 2) + '\n');
    return files;
  }

  protected get name(): string {
    return (this.constructor as typeof ImageTextProcessor).processor_class ?? 'ImageTextProcessor';
  }
}

/** TrOCR: a ViT/DeiT image processor and a RoBERTa/XLM-R tokenizer. */
export class TrOCRProcessor extends ImageTextProcessor {
  static override readonly processor_class: string = 'TrOCRProcessor';
}

type DonutValue = string | string[] | DonutObject | DonutValue[];
interface DonutObject {
  [key: string]: DonutValue;
}

/** Donut: a Donut image processor, an XLM-R tokenizer, and `token2json` for its tagged outputs. */
export class DonutProcessor extends ImageTextProcessor {
  static override readonly processor_class: string = 'DonutProcessor';

  // As Python: with images, the text is a prompt/target sequence that carries its own task
  // tokens, so the tokenizer's <s> … </s> are not added unless asked.
  protected override textDefaults(withImages: boolean): CallOptions {
    return withImages ? { add_special_tokens: false } : {};
  }

  /** The tokenizer's added tokens, content → id (Python's `tokenizer.get_added_vocab()`). */
  get_added_vocab(): Map<string, number> {
    const added = (this.tokenizer.tokenizer_json.added_tokens ?? []) as { id: number; content: string }[];
    return new Map([...added].sort((a, b) => a.id - b.id).map((t) => [t.content, t.id]));
  }

  /**
   * A generated sequence `<s_key>value</s_key>…` as an ordered object, exactly as Python's
   * DonutProcessor.token2json: nested tags become objects, `<sep/>` separates list items, a leaf
   * that is an added token `<name/>` becomes `name`; text without tags is `{ text_sequence }`.
   */
  token2json(tokens: string, is_inner_value?: false, added_vocab?: ReadonlySet<string> | ReadonlyMap<string, number>): DonutObject;
  token2json(tokens: string, is_inner_value: true, added_vocab?: ReadonlySet<string> | ReadonlyMap<string, number>): DonutValue[];
  token2json(tokens: string, is_inner_value = false, added_vocab?: ReadonlySet<string> | ReadonlyMap<string, number>): DonutObject | DonutValue[] {
    if (typeof tokens !== 'string') throw new Error(`DonutProcessor.token2json: tokens must be a string (a decoded sequence), got ${typeof tokens}`);
    const vocab = added_vocab ?? this.get_added_vocab();
    return token2json(tokens, is_inner_value, vocab);
  }
}

// Python's re.escape for the characters that matter in a JS pattern.
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function token2json(input: string, isInner: boolean, addedVocab: ReadonlySet<string> | ReadonlyMap<string, number>): DonutObject | DonutValue[] {
  let tokens = input;
  const output: DonutObject = {};
  while (tokens) {
    // Python's `.` stops at '\n' only; JS's also at '\r', U+2028 and U+2029, hence [^\n].
    const start = /<s_([^\n]*?)>/i.exec(tokens);
    if (!start) break;
    const key = start[1]!;
    const startToken = start[0];
    const end = new RegExp(`</s_${escapeRegExp(key)}>`, 'i').exec(tokens);
    if (!end) {
      tokens = tokens.replaceAll(startToken, '');
      continue;
    }
    const endToken = end[0];
    const content = new RegExp(`${escapeRegExp(startToken)}([\\s\\S]*?)${escapeRegExp(endToken)}`, 'i').exec(tokens);
    if (content) {
      const inner = pyStrip(content[1]!);
      if (inner.includes('<s_') && inner.includes('</s_')) {
        // A node holding other tags.
        let value: DonutValue = token2json(inner, true, addedVocab) as DonutValue[];
        if (value.length > 0) {
          if (value.length === 1) value = value[0]!;
          output[key] = value;
        }
      } else {
        const leaves: string[] = [];
        for (let leaf of inner.split('<sep/>')) {
          leaf = pyStrip(leaf);
          // Categorical values are special tokens like <yes/>: keep the name.
          if (addedVocab.has(leaf) && leaf[0] === '<' && leaf.slice(-2) === '/>') leaf = leaf.slice(1, -2);
          leaves.push(leaf);
        }
        output[key] = leaves.length === 1 ? leaves[0]! : leaves;
      }
    }
    tokens = pyStrip(tokens.slice(tokens.indexOf(endToken) + endToken.length));
    if (tokens.slice(0, 6) === '<sep/>') {
      return [output, ...(token2json(tokens.slice(6), true, addedVocab) as DonutValue[])];
    }
  }
  if (Object.keys(output).length > 0) return isInner ? [output] : output;
  return isInner ? [] : { text_sequence: tokens };
}

// Python's str.strip(): whitespace as str.isspace (JS trim lacks \x1c-\x1f and has \uFEFF).
function pyStrip(s: string): string {
  const ws = /[\s\x1c-\x1f\x85]/;
  let a = 0;
  let b = s.length;
  while (a < b && ws.test(s[a]!) && s[a] !== '\uFEFF') a++;
  while (b > a && ws.test(s[b - 1]!) && s[b - 1] !== '\uFEFF') b--;
  return s.slice(a, b);
}

function sortKeys(o: Json): Json {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function loadParts(pathOrId: string, options: ProcessorFromPretrainedOptions): Promise<{ image_processor: BaseImageProcessor; tokenizer: PreTrainedTokenizer }> {
  const { backend, ...resolve } = options;
  const image_processor = await AutoImageProcessor.from_pretrained(pathOrId, { ...resolve, ...(backend ? { backend } : {}) });
  const tokenizer = await AutoTokenizer.from_pretrained(pathOrId, resolve);
  return { image_processor, tokenizer };
}

const PROCESSOR_CLASSES: Record<string, typeof ImageTextProcessor> = {
  TrOCRProcessor,
  DonutProcessor,
};

async function readJsonIfPresent(pathOrId: string, filename: string, options: ResolveOptions): Promise<{ json: Json; file: string } | null> {
  if (!(await fileExists(pathOrId, filename, options))) return null;
  const file = await resolveFile(pathOrId, filename, options);
  let json: unknown;
  try {
    json = JSON.parse(await readText(file, `a JSON ${filename}`));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
  return { json: json as Json, file };
}

export class AutoProcessor {
  private constructor() {}

  /**
   * The processor a folder or hub id names: `processor_class` of processor_config.json, else of
   * preprocessor_config.json, else of tokenizer_config.json, else of config.json (Python's order);
   * with none, a generic ImageTextProcessor of the image processor and tokenizer found there.
   */
  static async from_pretrained(pathOrId: string, options: ProcessorFromPretrainedOptions = {}): Promise<ImageTextProcessor> {
    const { backend: _backend, ...resolve } = options;
    let named: { name: string; file: string } | null = null;
    for (const filename of [PROCESSOR_NAME, 'preprocessor_config.json', 'tokenizer_config.json', 'config.json']) {
      const found = await readJsonIfPresent(pathOrId, filename, resolve);
      if (!found || found.json.processor_class === undefined || found.json.processor_class === null) continue;
      const v = found.json.processor_class;
      if (typeof v !== 'string') throw new Error(`${found.file}: "processor_class" must be a class name string, got ${JSON.stringify(v)}`);
      named = { name: v, file: found.file };
      break;
    }
    let cls: typeof ImageTextProcessor = ImageTextProcessor;
    if (named) {
      const c = PROCESSOR_CLASSES[named.name];
      if (!c) throw new Error(`${named.file}: processor_class '${named.name}' is not supported; supported: ${Object.keys(PROCESSOR_CLASSES).join(', ')}`);
      cls = c;
    }
    const { image_processor, tokenizer } = await loadParts(pathOrId, options);
    return new cls(image_processor, tokenizer);
  }
}
