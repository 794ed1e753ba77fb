// Tokenizers, as Python transformers 5's `TokenizersBackend` (the "fast" tokenizers) behaves.
//
// The tokenization pipeline itself (normalizer, pre-tokenizer, model, post-processor, decoder
// of tokenizer.json) is @huggingface/tokenizers. This file adds what transformers adds on top:
//   - special tokens from tokenizer_config.json / special_tokens_map.json, registered as
//     special added tokens the way transformers registers them with the Rust backend;
//   - decode with the Rust library's semantics (unknown ids dropped, special *added* tokens
//     skipped, no cleanup of its own) followed by transformers' `clean_up_tokenization`, which
//     v5 applies only when `clean_up_tokenization_spaces` is true (default false) and never to
//     BPE models;
//   - truncation, padding and int64 tensors (`call`, Python's `__call__`);
//   - tokenizer.json built in memory from legacy vocabulary files (vocab.json + merges.txt for
//     byte-level BPE, vocab.txt for WordPiece), as transformers' slow→fast converters build it.
import { Tokenizer } from '@huggingface/tokenizers';
import { fileExists, isOfflineMode, resolveFile, type ResolveOptions } from '../hub/hub.js';
import { readText } from '../hub/files.js';
import { Tensor } from '../runtime/tensor.js';

type Json = Record<string, any>;
type SpecialTokenValue = string | { content: string; [k: string]: unknown } | null | undefined;

export const SPECIAL_TOKENS_ATTRIBUTES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKENS_ATTRIBUTES)[number];

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP], <s> … </s>). Default true. */
  add_special_tokens?: boolean;
}
export interface DecodeOptions {
  skip_special_tokens?: boolean;
  /** Default: tokenizer_config.json's value, else false (transformers 5). Never applied to BPE models. */
  clean_up_tokenization_spaces?: boolean;
}
export interface CallOptions extends EncodeOptions {
  /** true / 'longest': pad to the longest row; 'max_length': pad to max_length. Default: no padding. */
  padding?: boolean | 'longest' | 'max_length' | 'do_not_pad';
  /** true / 'longest_first' / 'only_first': cut each row to max_length (special tokens included). */
  truncation?: boolean | 'longest_first' | 'only_first' | 'do_not_truncate';
  max_length?: number;
  pad_to_multiple_of?: number;
  padding_side?: 'right' | 'left';
  return_tensors?: 'int64';
}
export interface BatchEncoding {
  input_ids: Tensor;
  attention_mask: Tensor;
}
/** Token ids as a list, a typed array, or one row of an int64 / int32 tensor. */
export type TokenIds = readonly number[] | readonly bigint[] | BigInt64Array | Int32Array | Tensor;

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function tokenContent(v: SpecialTokenValue, where: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof v.content === 'string') return v.content;
  throw new Error(`${where}: expected a token string or an AddedToken object with "content", got ${JSON.stringify(v)}`);
}

// transformers' PreTrainedTokenizerBase.clean_up_tokenization, applied to the whole string.
export function clean_up_tokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

// The Rust library reads Metaspace's legacy `add_prefix_space` as the prepend scheme
// (true → "always", false → "never"); @huggingface/tokenizers only reads `prepend_scheme`.
function normalizeMetaspace(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(normalizeMetaspace);
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  if (o.type === 'Metaspace' && o.prepend_scheme === undefined && typeof o.add_prefix_space === 'boolean') {
    o.prepend_scheme = o.add_prefix_space ? 'always' : 'never';
  }
  for (const k of ['pretokenizers', 'decoders']) if (o[k]) normalizeMetaspace(o[k]);
}

// The Metaspace decoder as in Rust: in the first token every replacement character is dropped
// (not only a leading one), unless the prepend scheme is "never"; elsewhere each becomes a space.
function rustMetaspaceDecoders(decoder: any): void {
  if (!decoder) return;
  if (Array.isArray(decoder.decoders)) decoder.decoders.forEach(rustMetaspaceDecoders);
  if (decoder.config?.type !== 'Metaspace') return;
  const replacement: string = decoder.config.replacement ?? '\u2581';
  const dropInFirst = (decoder.config.prepend_scheme ?? 'always') !== 'never';
  decoder.decode_chain = (tokens: string[]) =>
    tokens.map((t, i) => [...t].map((c) => (c === replacement ? (i === 0 && dropInFirst ? '' : ' ') : c)).join(''));
}

/** Number of entries in the model's own vocabulary (without added tokens), as Rust's get_vocab_size(false). */
function modelVocabTokens(model: Json): string[] {
  if (model.type === 'Unigram') return (model.vocab as [string, number][]).map((e) => e[0]);
  if (model.vocab && typeof model.vocab === 'object') return Object.keys(model.vocab);
  throw new Error(`tokenizer.json: model.vocab is missing or not an object (model type '${model.type}')`);
}

function modelVocabIds(model: Json): Map<string, number> {
  if (model.type === 'Unigram') return new Map((model.vocab as [string, number][]).map((e, i) => [e[0], i]));
  return new Map(Object.entries(model.vocab as Record<string, number>));
}

/**
 * A tokenizer as transformers' PreTrainedTokenizer(Fast): built from a parsed tokenizer.json and
 * the tokenizer_config.json settings (special tokens, padding side, model_max_length…).
 */
export class PreTrainedTokenizer {
  /** Special tokens a class sets when tokenizer_config.json does not (its `__init__` defaults). */
  static defaultSpecialTokens: Partial<Record<SpecialTokenName, string>> = {};

  readonly backend: Tokenizer;
  readonly config: Json;
  readonly tokenizer_json: Json;
  bos_token: string | null = null;
  eos_token: string | null = null;
  unk_token: string | null = null;
  sep_token: string | null = null;
  pad_token: string | null = null;
  cls_token: string | null = null;
  mask_token: string | null = null;
  /** additional_special_tokens / extra_special_tokens of the config. */
  readonly extra_special_tokens: string[];
  padding_side: 'right' | 'left';
  truncation_side: 'right' | 'left';
  model_max_length: number;
  clean_up_tokenization_spaces: boolean;
  private readonly specialIds: Set<number>;
  private readonly modelSize: number;
  private readonly fullSize: number;

  constructor(tokenizerJson: Json, tokenizerConfig: Json = {}) {
    if (!tokenizerJson || typeof tokenizerJson !== 'object' || !tokenizerJson.model || typeof tokenizerJson.model !== 'object') {
      throw new Error('tokenizer.json: expected an object with a "model" section');
    }
    const json = clone(tokenizerJson);
    const config = { ...tokenizerConfig };
    json.added_tokens = (json.added_tokens ?? []) as AddedTokenJson[];
    for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) json[k] ??= null;
    normalizeMetaspace(json.pre_tokenizer);
    normalizeMetaspace(json.decoder);

    const defaults = (this.constructor as typeof PreTrainedTokenizer).defaultSpecialTokens;
    for (const name of SPECIAL_TOKENS_ATTRIBUTES) {
      const v = name in config ? tokenContent(config[name], `tokenizer_config.json "${name}"`) : (defaults[name] ?? null);
      this[name] = v;
    }
    const extra = config.extra_special_tokens ?? config.additional_special_tokens ?? [];
    if (!Array.isArray(extra)) {
      // transformers 5 also accepts a dict of named extra tokens (e.g. {"image_token": "<image>"}).
      if (extra && typeof extra === 'object') this.extra_special_tokens = Object.values(extra).map((v, i) => tokenContent(v as SpecialTokenValue, `extra_special_tokens[${i}]`)!);
      else throw new Error(`tokenizer_config.json "additional_special_tokens": expected a list of tokens, got ${JSON.stringify(extra)}`);
    } else {
      this.extra_special_tokens = extra.map((v: SpecialTokenValue, i: number) => tokenContent(v, `additional_special_tokens[${i}]`)!);
    }

    // As TokenizersBackend.__init__: added tokens listed in tokenizer_config.json's
    // added_tokens_decoder, then every named and extra special token, join the backend's added
    // vocabulary (as special tokens) when they are not there yet. A token already in the model's
    // vocabulary keeps its id; a new one gets the next free id, as the Rust AddedVocabulary does.
    const vocabIds = modelVocabIds(json.model);
    this.modelSize = vocabIds.size;
    const added: AddedTokenJson[] = json.added_tokens;
    const addToken = (content: string, fields: Partial<AddedTokenJson>, wantedId?: number) => {
      const existing = added.find((t) => t.content === content);
      if (existing) {
        if (fields.special) existing.special = true;
        return;
      }
      let id = vocabIds.get(content);
      if (id === undefined) {
        const taken = new Set(added.map((t) => t.id));
        const maxAdded = added.reduce((m, t) => Math.max(m, t.id), -1);
        id = wantedId !== undefined && !taken.has(wantedId) && wantedId >= this.modelSize ? wantedId : Math.max(this.modelSize, maxAdded + 1);
      }
      added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...fields });
    };
    const decoderEntries = Object.entries((config.added_tokens_decoder ?? {}) as Record<string, Json>).sort((a, b) => Number(a[0]) - Number(b[0]));
    for (const [id, tok] of decoderEntries) {
      const content = tokenContent(tok as SpecialTokenValue, `tokenizer_config.json added_tokens_decoder["${id}"]`)!;
      addToken(content, {
        single_word: !!tok.single_word,
        lstrip: !!tok.lstrip,
        rstrip: !!tok.rstrip,
        normalized: tok.normalized ?? !tok.special,
        special: !!tok.special,
      }, Number(id));
    }
    for (const name of SPECIAL_TOKENS_ATTRIBUTES) if (this[name] !== null) addToken(this[name]!, { special: true });
    for (const t of this.extra_special_tokens) addToken(t, { special: true });
    added.sort((a, b) => a.id - b.id);

    // The library's own config knobs we do not want: it would clean up on decode by itself.
    const backendConfig = { ...config, clean_up_tokenization_spaces: false };
    delete (backendConfig as Json).additional_special_tokens;
    try {
      this.backend = new Tokenizer(json, backendConfig);
    } catch (err) {
      throw new Error(`tokenizer.json: @huggingface/tokenizers could not build it: ${(err as Error).message}`);
    }
    rustMetaspaceDecoders(this.backend.decoder);

    this.tokenizer_json = json;
    this.config = config;
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    this.fullSize = new Set([...vocabIds.keys(), ...added.map((t) => t.content)]).size;
    this.padding_side = config.padding_side ?? 'right';
    this.truncation_side = config.truncation_side ?? 'right';
    for (const [k, v] of [['padding_side', this.padding_side], ['truncation_side', this.truncation_side]] as const) {
      if (v !== 'right' && v !== 'left') throw new Error(`tokenizer_config.json "${k}": expected "right" or "left", got ${JSON.stringify(v)}`);
    }
    this.model_max_length = typeof config.model_max_length === 'number' ? config.model_max_length : 1e30;
    this.clean_up_tokenization_spaces = config.clean_up_tokenization_spaces === true;
  }

  /** Loads tokenizer.json (or legacy vocabulary files) and tokenizer_config.json from a folder or hub id. */
  static async from_pretrained(pathOrId: string, options: ResolveOptions = {}): Promise<PreTrainedTokenizer> {
    const { json, config } = await loadTokenizerFiles(pathOrId, options);
    const cls = this === PreTrainedTokenizer ? tokenizerClassFor(config.tokenizer_class) : this;
    return new cls(json, config);
  }

  // ---- vocabulary -----------------------------------------------------------------------------

  /** Size of the model's vocabulary, without added tokens (Python's `vocab_size`). */
  get vocab_size(): number {
    return this.modelSize;
  }
  /** Size of the full vocabulary with added tokens (Python's `len(tokenizer)`). */
  get length(): number {
    return this.fullSize;
  }
  len(): number {
    return this.fullSize;
  }
  get_vocab(): Map<string, number> {
    return this.backend.get_vocab(true);
  }

  convert_tokens_to_ids(tokens: string): number | null;
  convert_tokens_to_ids(tokens: readonly string[]): (number | null)[];
  convert_tokens_to_ids(tokens: string | readonly string[]): number | null | (number | null)[] {
    // As Python: an unknown token maps to unk_token_id (None when there is no unk token).
    const one = (t: string) => this.backend.token_to_id(t) ?? (this.unk_token !== null ? (this.backend.token_to_id(this.unk_token) ?? null) : null);
    return typeof tokens === 'string' ? one(tokens) : tokens.map(one);
  }

  convert_ids_to_tokens(ids: number, skip_special_tokens?: boolean): string | null;
  convert_ids_to_tokens(ids: TokenIds, skip_special_tokens?: boolean): (string | null)[];
  convert_ids_to_tokens(ids: number | TokenIds, skip_special_tokens = false): string | null | (string | null)[] {
    if (typeof ids === 'number') return this.backend.id_to_token(ids) ?? null;
    return idList(ids, 'convert_ids_to_tokens')
      .filter((id) => !(skip_special_tokens && this.specialIds.has(id)))
      .map((id) => this.backend.id_to_token(id) ?? null);
  }

  private idOf(name: SpecialTokenName): number | null {
    const t = this[name];
    return t === null ? null : (this.convert_tokens_to_ids(t) as number | null);
  }
  get bos_token_id(): number | null {
    return this.idOf('bos_token');
  }
  get eos_token_id(): number | null {
    return this.idOf('eos_token');
  }
  get unk_token_id(): number | null {
    return this.idOf('unk_token');
  }
  get sep_token_id(): number | null {
    return this.idOf('sep_token');
  }
  get pad_token_id(): number | null {
    return this.idOf('pad_token');
  }
  get cls_token_id(): number | null {
    return this.idOf('cls_token');
  }
  get mask_token_id(): number | null {
    return this.idOf('mask_token');
  }
  /** Named special tokens, then the extra ones, without duplicates (Python's all_special_tokens). */
  get all_special_tokens(): string[] {
    const named = SPECIAL_TOKENS_ATTRIBUTES.map((n) => this[n]).filter((t): t is string => t !== null);
    return [...new Set([...named, ...this.extra_special_tokens])];
  }
  get all_special_ids(): number[] {
    return this.all_special_tokens.map((t) => this.convert_tokens_to_ids(t) as number);
  }

  // ---- encoding -------------------------------------------------------------------------------

  /** The tokens of `text` (no special tokens unless asked), as Python's `tokenize`. */
  tokenize(text: string, { add_special_tokens = false }: EncodeOptions = {}): string[] {
    return this.encodeTokens(text, add_special_tokens, null);
  }

  /** Token ids of one text, as Python's `encode`. */
  encode(text: string, { add_special_tokens = true }: EncodeOptions = {}): number[] {
    return this.tokensToIds(this.encodeTokens(text, add_special_tokens, null));
  }

  // Model tokens of the text, cut to leave room for the special tokens (as Rust's truncation in
  // post_process), then the post-processor's template.
  private encodeTokens(text: string, addSpecial: boolean, maxLength: number | null): string[] {
    if (typeof text !== 'string') throw new Error(`tokenizer: text must be a string, got ${text === null ? 'null' : typeof text}`);
    let tokens = this.backend.tokenize(text, { add_special_tokens: false });
    const post = this.backend.post_processor;
    if (maxLength !== null) {
      const nSpecial = addSpecial && post ? post([], null, true).tokens.length : 0;
      const keep = Math.max(0, maxLength - nSpecial);
      if (tokens.length > keep) tokens = this.truncation_side === 'right' ? tokens.slice(0, keep) : tokens.slice(tokens.length - keep);
    }
    return post ? post(tokens, null, addSpecial).tokens : tokens;
  }

  private tokensToIds(tokens: string[]): number[] {
    const unk = this.unk_token !== null ? this.backend.token_to_id(this.unk_token) : undefined;
    return tokens.map((t) => {
      const id = this.backend.token_to_id(t) ?? unk;
      if (id === undefined) throw new Error(`tokenizer: token ${JSON.stringify(t)} is not in the vocabulary and there is no unk_token`);
      return id;
    });
  }

  /**
   * Python's `tokenizer(texts, padding=…, truncation=…, max_length=…, return_tensors=…)`:
   * int64 `input_ids` and `attention_mask` of shape [batch, length].
   */
  call(texts: string | readonly string[], options: CallOptions = {}): BatchEncoding {
    const { add_special_tokens = true, padding = false, truncation = false, pad_to_multiple_of } = options;
    if (options.return_tensors !== undefined && options.return_tensors !== 'int64') {
      throw new Error(`tokenizer.call: return_tensors must be 'int64' (tensors are int64 Tensors), got ${JSON.stringify(options.return_tensors)}`);
    }
    const batch = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(batch) || batch.some((t) => typeof t !== 'string')) throw new Error('tokenizer.call: texts must be a string or an array of strings');
    const truncate = truncation === true || truncation === 'longest_first' || truncation === 'only_first';
    if (!truncate && truncation !== false && truncation !== 'do_not_truncate') throw new Error(`tokenizer.call: unknown truncation ${JSON.stringify(truncation)}`);
    const padMode = padding === true || padding === 'longest' ? 'longest' : padding === 'max_length' ? 'max_length' : padding === false || padding === 'do_not_pad' ? null : undefined;
    if (padMode === undefined) throw new Error(`tokenizer.call: padding must be true, 'longest', 'max_length' or false, got ${JSON.stringify(padding)}`);
    // As Python: without max_length, truncation and max_length padding use model_max_length.
    let maxLength = options.max_length ?? null;
    if (maxLength === null && (truncate || padMode === 'max_length') && this.model_max_length < 1e29) maxLength = this.model_max_length;
    if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 0)) throw new Error(`tokenizer.call: max_length must be a non-negative integer, got ${maxLength}`);
    if (padMode === 'max_length' && maxLength === null) throw new Error("tokenizer.call: padding='max_length' needs max_length (the tokenizer has no model_max_length)");

    const rows = batch.map((t) => this.tokensToIds(this.encodeTokens(t, add_special_tokens, truncate ? maxLength : null)));
    let width = padMode === 'max_length' ? Math.max(maxLength!, ...rows.map((r) => r.length)) : Math.max(0, ...rows.map((r) => r.length));
    if (padMode !== null && pad_to_multiple_of && width % pad_to_multiple_of !== 0) width += pad_to_multiple_of - (width % pad_to_multiple_of);
    if (padMode === null && rows.some((r) => r.length !== width)) {
      throw new Error('tokenizer.call: the rows have different lengths; pass padding: true (and/or truncation: true) to make one tensor of them');
    }
    const padId = this.pad_token_id;
    if (padMode !== null && padId === null && rows.some((r) => r.length < width)) {
      throw new Error('tokenizer.call: asked to pad but the tokenizer has no pad_token (set one in tokenizer_config.json, e.g. the eos token)');
    }
    const side = options.padding_side ?? this.padding_side;
    const ids = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((r, b) => {
      const offset = b * width + (side === 'left' ? width - r.length : 0);
      for (let j = 0; j < width; j++) ids[b * width + j] = BigInt(padId ?? 0);
      for (let j = 0; j < r.length; j++) {
        ids[offset + j] = BigInt(r[j]);
        mask[offset + j] = 1n;
      }
    });
    return { input_ids: new Tensor('int64', ids, [rows.length, width]), attention_mask: new Tensor('int64', mask, [rows.length, width]) };
  }

  // ---- decoding -------------------------------------------------------------------------------

  /** Text of a sequence of ids, as Python's `decode`. */
  decode(ids: TokenIds, options: DecodeOptions = {}): string {
    const list = idList(ids, 'decode');
    // As Rust's Tokenizer::decode: ids it does not know are dropped, special added tokens are
    // skipped on request, and the decoder (or a plain space join) makes the text.
    const tokens: string[] = [];
    for (const id of list) {
      if (options.skip_special_tokens && this.specialIds.has(id)) continue;
      const t = this.backend.id_to_token(id);
      if (t !== undefined) tokens.push(t);
    }
    const decoder = this.backend.decoder;
    let text = decoder ? decoder.decode(tokens) : tokens.join(' ');
    const cleanup = options.clean_up_tokenization_spaces ?? this.clean_up_tokenization_spaces;
    // transformers 5 skips this for BPE models, where it would eat real spaces before punctuation.
    const isBpe = this.tokenizer_json.model.type === 'BPE';
    if (cleanup && (!isBpe || this.config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true)) {
      text = clean_up_tokenization(text);
    }
    return text;
  }

  /** One text per row: rows as arrays, or an int64 / int32 tensor [batch, length]. */
  batch_decode(rows: readonly (readonly number[] | readonly bigint[])[] | Tensor, options: DecodeOptions = {}): string[] {
    if (rows instanceof Tensor) {
      if (rows.dims.length !== 2) throw new Error(`batch_decode: expected a 2-D tensor [batch, length], got dims [${rows.dims.join(', ')}]`);
      const [b, l] = rows.dims;
      return Array.from({ length: b }, (_, i) => this.decode(tensorRow(rows, i * l, l), options));
    }
    if (!Array.isArray(rows)) throw new Error('batch_decode: expected an array of id arrays or a 2-D Tensor');
    return rows.map((r) => this.decode(r, options));
  }
}

function tensorRow(t: Tensor, start: number, length: number): number[] {
  if (t.type !== 'int64' && t.type !== 'int32') throw new Error(`token ids must be an int64 or int32 tensor, got ${t.type}`);
  return Array.from(t.data.subarray(start, start + length) as BigInt64Array | Int32Array, Number);
}

function idList(ids: TokenIds, where: string): number[] {
  let list: number[];
  if (ids instanceof Tensor) {
    const n = ids.dims.reduce((a, b) => a * b, 1);
    if (ids.dims.length > 2 || (ids.dims.length === 2 && ids.dims[0] !== 1)) {
      throw new Error(`${where}: expected one row of ids (dims [L] or [1, L]), got dims [${ids.dims.join(', ')}]; use batch_decode for a batch`);
    }
    list = tensorRow(ids, 0, n);
  } else if (Array.isArray(ids) || ids instanceof BigInt64Array || ids instanceof Int32Array) {
    list = Array.from(ids as ArrayLike<number | bigint>, Number);
  } else {
    throw new Error(`${where}: expected an array of token ids or a Tensor, got ${typeof ids}`);
  }
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0) {
      throw new Error(`${where}: token id ${id} is not a valid id${id === -100 ? ' (-100 marks ignored label positions: replace it with pad_token_id before decoding)' : ''}`);
    }
  }
  return list;
}

// ---- tokenizer classes (tokenizer_config.json "tokenizer_class") -------------------------------
// With a tokenizer.json they share the machinery; they differ in the special tokens their
// Python `__init__` sets when the config leaves them out.

const ROBERTA_SPECIALS = { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' };

export class TokenizersBackend extends PreTrainedTokenizer {}
export class PreTrainedTokenizerFast extends PreTrainedTokenizer {}
export class GPT2Tokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
}
export class BertTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' };
}
export class RobertaTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}
export class BartTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}
export class XLMRobertaTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}
export class MBartTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}
export class MBart50Tokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}
export class NllbTokenizer extends PreTrainedTokenizer {
  static override defaultSpecialTokens = ROBERTA_SPECIALS;
}

const TOKENIZER_CLASSES: Record<string, typeof PreTrainedTokenizer> = {
  TokenizersBackend,
  PreTrainedTokenizerFast,
  GPT2Tokenizer,
  BertTokenizer,
  RobertaTokenizer,
  BartTokenizer,
  XLMRobertaTokenizer,
  MBartTokenizer,
  MBart50Tokenizer,
  NllbTokenizer,
};

/** The class for a tokenizer_config.json "tokenizer_class" ("…Fast" names the same class). */
export function tokenizerClassFor(name: unknown): typeof PreTrainedTokenizer {
  if (name === undefined || name === null) return PreTrainedTokenizer;
  if (typeof name !== 'string') throw new Error(`tokenizer_config.json "tokenizer_class": expected a string, got ${JSON.stringify(name)}`);
  // Other classes (TrOCR's processors name Roberta or XLM-R ones; Donut's XLMRoberta) run on
  // tokenizer.json with the generic machinery and the config's special tokens.
  return TOKENIZER_CLASSES[name.replace(/Fast$/, '')] ?? PreTrainedTokenizer;
}

export class AutoTokenizer {
  /** Python's AutoTokenizer.from_pretrained: the class named by tokenizer_config.json. */
  static from_pretrained(pathOrId: string, options: ResolveOptions = {}): Promise<PreTrainedTokenizer> {
    return PreTrainedTokenizer.from_pretrained(pathOrId, options);
  }
}

// ---- files ------------------------------------------------------------------------------------

async function readJson(path: string, name: string): Promise<Json> {
  let text: string;
  try {
    text = await readText(path, `a JSON ${name}`);
  } catch (err) {
    throw new Error(`${name}: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v;
  } catch (err) {
    throw new Error(`${name} (${path}) is not valid: ${(err as Error).message}`);
  }
}

async function optionalJson(pathOrId: string, filename: string, options: ResolveOptions): Promise<Json | null> {
  if (!(await fileExists(pathOrId, filename, options))) return null;
  return await readJson(await resolveFile(pathOrId, filename, options), filename);
}

const SENTENCEPIECE_FILES = ['sentencepiece.bpe.model', 'spiece.model', 'sentencepiece.model', 'tokenizer.model', 'source.spm'];

/** tokenizer.json (or one built from legacy vocabulary files) and the merged tokenizer config. */
export async function loadTokenizerFiles(pathOrId: string, options: ResolveOptions = {}): Promise<{ json: Json; config: Json }> {
  const config: Json = (await optionalJson(pathOrId, 'tokenizer_config.json', options)) ?? {};
  // As transformers' from_pretrained: special_tokens_map.json overrides tokenizer_config.json.
  const specialMap = await optionalJson(pathOrId, 'special_tokens_map.json', options);
  if (specialMap) Object.assign(config, specialMap);

  if (await fileExists(pathOrId, 'tokenizer.json', options)) {
    return { json: await readJson(await resolveFile(pathOrId, 'tokenizer.json', options), 'tokenizer.json'), config };
  }
  const addedTokens = await optionalJson(pathOrId, 'added_tokens.json', options);
  if (addedTokens) {
    // Legacy added tokens: {"token": id}; they become entries of added_tokens_decoder.
    const decoder: Json = { ...(config.added_tokens_decoder ?? {}) };
    for (const [content, id] of Object.entries(addedTokens)) {
      if (!Number.isInteger(id)) throw new Error(`added_tokens.json: the id of ${JSON.stringify(content)} must be an integer, got ${JSON.stringify(id)}`);
      decoder[String(id)] ??= { content, special: false, normalized: true };
    }
    config.added_tokens_decoder = decoder;
  }
  // Without a tokenizer_class, legacy files are read as the classes that wrote them.
  if ((await fileExists(pathOrId, 'vocab.json', options)) && (await fileExists(pathOrId, 'merges.txt', options))) {
    config.tokenizer_class ??= 'GPT2Tokenizer';
    const vocab = await readJson(await resolveFile(pathOrId, 'vocab.json', options), 'vocab.json');
    const merges = await readText(await resolveFile(pathOrId, 'merges.txt', options), 'a BPE merges.txt');
    return { json: byteLevelBpeTokenizerJson(vocab, merges, config), config };
  }
  if (await fileExists(pathOrId, 'vocab.txt', options)) {
    config.tokenizer_class ??= 'BertTokenizer';
    const vocab = await readText(await resolveFile(pathOrId, 'vocab.txt', options), 'a WordPiece vocab.txt');
    return { json: wordPieceTokenizerJson(vocab, config), config };
  }
  for (const f of SENTENCEPIECE_FILES) {
    if (await fileExists(pathOrId, f, options)) {
      throw new Error(
        `${pathOrId} has only a sentencepiece model (${f}) and no tokenizer.json: reading sentencepiece models is not supported. Save tokenizer.json with Python (AutoTokenizer.from_pretrained(...).save_pretrained(dir)) and load that.`,
      );
    }
  }
  const offline = options.local_files_only || isOfflineMode() ? ' (offline mode is on: only cached files were looked at)' : '';
  throw new Error(`${pathOrId} has no tokenizer: looked for tokenizer.json, vocab.json + merges.txt and vocab.txt${offline}`);
}

/**
 * tokenizer.json for a byte-level BPE (GPT-2, RoBERTa, BART) from vocab.json and merges.txt, as
 * transformers' GPT2Converter / RobertaConverter build it.
 */
export function byteLevelBpeTokenizerJson(vocab: Json, mergesText: string, config: Json = {}): Json {
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id)) throw new Error(`vocab.json: the id of ${JSON.stringify(tok)} must be an integer, got ${JSON.stringify(id)}`);
  }
  const merges: [string, string][] = [];
  mergesText.split('\n').forEach((line, i) => {
    const l = line.replace(/\r$/, '');
    if (l === '' || (i === 0 && l.startsWith('#version'))) return;
    const parts = l.split(' ');
    if (parts.length !== 2) throw new Error(`merges.txt line ${i + 1}: expected two symbols separated by one space, got ${JSON.stringify(l)}`);
    merges.push([parts[0], parts[1]]);
  });
  const addPrefixSpace = config.add_prefix_space === true;
  const cls = String(config.tokenizer_class ?? '').replace(/Fast$/, '');
  const robertaLike = ['RobertaTokenizer', 'BartTokenizer', 'LongformerTokenizer'].includes(cls);
  let postProcessor: Json = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
  if (robertaLike) {
    const sep = tokenContent(config.sep_token, 'sep_token') ?? '</s>';
    const clsTok = tokenContent(config.cls_token, 'cls_token') ?? '<s>';
    const idOf = (t: string) => {
      if (!(t in vocab)) throw new Error(`vocab.json: special token ${JSON.stringify(t)} is missing`);
      return vocab[t] as number;
    };
    postProcessor = { type: 'RobertaProcessing', sep: [sep, idOf(sep)], cls: [clsTok, idOf(clsTok)], add_prefix_space: addPrefixSpace, trim_offsets: true };
  } else if (config.add_bos_token === true) {
    // GPT-2 with add_bos_token: "<bos> $A" as GPT2Converter's template.
    const bos = tokenContent(config.bos_token, 'bos_token') ?? '<|endoftext|>';
    postProcessor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] } },
    };
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/** tokenizer.json for a BERT WordPiece from vocab.txt (one token per line), as transformers' BertConverter. */
export function wordPieceTokenizerJson(vocabText: string, config: Json = {}): Json {
  const vocab: Record<string, number> = {};
  const lines = vocabText.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    vocab[line.replace(/\r$/, '')] = i;
  });
  const tok = (name: string, dflt: string) => tokenContent(config[name], name) ?? dflt;
  const cls = tok('cls_token', '[CLS]');
  const sep = tok('sep_token', '[SEP]');
  for (const t of [cls, sep]) if (!(t in vocab)) throw new Error(`vocab.txt: special token ${JSON.stringify(t)} is missing`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: { [cls]: { id: cls, ids: [vocab[cls]], tokens: [cls] }, [sep]: { id: sep, ids: [vocab[sep]], tokens: [sep] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: tok('unk_token', '[UNK]'), continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
