// The tokenizer the bundled OCR model uses: byte-level, one token per UTF-8 byte (no merges), so
// any text is representable, nothing is unknown, and an OCR error costs one character, not a
// word piece. Written as a standard tokenizer.json (ByteLevel pre-tokenizer and decoder, as
// GPT-2's) that Python transformers and transformers.js load as they are.

/** <s> starts decoding, </s> ends it, <pad> pads labels, <unk> is never produced (every byte has a token). */
export const OCR_SPECIAL_TOKENS = ['<s>', '<pad>', '</s>', '<unk>'] as const;

/** GPT-2's byte ↔ printable-character map (bytes_to_unicode), which the ByteLevel pre-tokenizer uses. */
function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}

export interface TokenizerFiles {
  'tokenizer.json': Record<string, unknown>;
  'tokenizer_config.json': Record<string, unknown>;
}

/** tokenizer.json + tokenizer_config.json: 4 special tokens then the 256 bytes (vocab 260). Encoding adds </s> at the end. */
export function byteLevelOcrTokenizer(): TokenizerFiles {
  const vocab: Record<string, number> = {};
  OCR_SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = i));
  byteToUnicode().forEach((c, b) => (vocab[c] = OCR_SPECIAL_TOKENS.length + b));
  const added = OCR_SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const eos = { id: '</s>', type_id: 0 };
  return {
    'tokenizer.json': {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: eos }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: eos }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: eos }],
        special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      },
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
    },
    'tokenizer_config.json': {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: '<s>',
      eos_token: '</s>',
      pad_token: '<pad>',
      unk_token: '<unk>',
      model_max_length: 64,
      clean_up_tokenization_spaces: false,
    },
  };
}
