// Text-generation metrics computed exactly as Hugging Face `evaluate` computes them, so that a
// number reported here can be compared with one from a Python training script:
//
//   cer  — evaluate's "cer" on jiwer ≥ 4: per pair, jiwer's default character transform
//          (strip, then one token per Unicode code point), summed edits / summed reference length.
//   wer  — evaluate's "wer": jiwer's default word transform (collapse runs of whitespace, strip,
//          split on " "), summed edits / summed reference words.
//   bleu — evaluate's "bleu": tensorflow/nmt's compute_bleu over sacrebleu's 13a tokenizer.
//
// Both error rates are corpus-level (total edits over total reference length), not the mean of
// per-line rates: a long line counts for more than a short one, as in evaluate.

/** Python's whitespace (str.isspace / str.split / str.strip / re `\s`), which differs from JS `\s`:
 *  Python counts \x1c-\x1f and \x85 and not U+FEFF. */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
const PY_MULTI_SPACE = new RegExp(`[${PY_WS}][${PY_WS}]+`, 'g');
const PY_SPLIT = new RegExp(`[${PY_WS}]+`);

/** Python's `s.strip()`. */
function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** Python's `s.split()` with no argument: split on whitespace runs, no empty pieces. */
function pySplit(s: string): string[] {
  return s.split(PY_SPLIT).filter((w) => w.length > 0);
}

/**
 * Levenshtein distance between two token sequences (unit costs for insert, delete, substitute).
 * Two rows of the table are kept, so memory is O(len(b)).
 */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (ai === b[j - 1] ? 0 : 1);
      const del = prev[j] + 1;
      const ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

function checkPairs(metric: string, predictions: readonly string[], references: readonly unknown[]): void {
  if (!Array.isArray(predictions) || !Array.isArray(references)) {
    throw new Error(`${metric}: predictions and references must be arrays of strings`);
  }
  if (predictions.length !== references.length) {
    throw new Error(
      `${metric}: got ${predictions.length} predictions and ${references.length} references; ` +
        'they must pair up one to one',
    );
  }
  if (predictions.length === 0) throw new Error(`${metric}: no predictions to score (empty lists)`);
  predictions.forEach((p, i) => {
    if (typeof p !== 'string') throw new Error(`${metric}: prediction ${i} is ${typeof p}, expected a string`);
  });
}

/** Sums edits and reference lengths over the pairs, as evaluate's loop over jiwer does. */
function errorRate(
  metric: string,
  predictions: readonly string[],
  references: readonly string[],
  tokenize: (s: string) => string[],
): number {
  checkPairs(metric, predictions, references);
  let edits = 0;
  let total = 0;
  for (let i = 0; i < references.length; i++) {
    const ref = references[i];
    if (typeof ref !== 'string') throw new Error(`${metric}: reference ${i} is ${typeof ref}, expected a string`);
    const refTokens = tokenize(ref);
    // jiwer refuses empty references (a rate over zero reference tokens is undefined).
    if (refTokens.length === 0) {
      throw new Error(`${metric}: reference ${i} is empty after jiwer's normalisation (${JSON.stringify(ref)}); ` +
        'jiwer rejects empty references');
    }
    edits += editDistance(refTokens, tokenize(predictions[i]));
    total += refTokens.length;
  }
  return edits / total;
}

export interface CerOptions {
  /** Also collapse runs of whitespace to one space before comparing, as evaluate's "cer" did with
   *  jiwer < 4 (its own transform). Default false: jiwer ≥ 4's default only strips. */
  collapse_spaces?: boolean;
}

/**
 * Character error rate: total character edits / total reference characters (Unicode code points,
 * spaces included), after stripping leading and trailing whitespace of each string.
 */
export function cer(predictions: string[], references: string[], options: CerOptions = {}): number {
  const collapse = options.collapse_spaces ?? false;
  return errorRate('cer', predictions, references, (s) => {
    const t = pyStrip(collapse ? s.replace(PY_MULTI_SPACE, ' ') : s);
    return Array.from(t); // code points, as Python's list(str)
  });
}

/**
 * Word error rate: total word edits / total reference words. Words are jiwer's: runs of two or
 * more whitespace characters become one space, the ends are stripped, and the text is split on
 * the space character (a lone tab does not separate words, exactly as in jiwer).
 */
export function wer(predictions: string[], references: string[]): number {
  return errorRate('wer', predictions, references, (s) =>
    pyStrip(s.replace(PY_MULTI_SPACE, ' '))
      .split(' ')
      .filter((w) => w.length > 0),
  );
}

// sacrebleu's 13a tokenizer (mteval-v13a, used by WMT), as shipped in evaluate's bleu metric.
const RE_13A: Array<[RegExp, string]> = [
  // Every ASCII punctuation mark except the apostrophe, period, comma and hyphen becomes a token.
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  // Period and comma split off unless between digits (3.14 and 1,000 stay whole).
  [/([^0-9])([.,])/g, '$1 $2 '],
  [/([.,])([^0-9])/g, ' $1 $2'],
  // A dash after a digit splits off (2019-2020 → 2019 - 2020).
  [/([0-9])(-)/g, '$1 $2 '],
];

/** Tokenises one line as sacrebleu's Tokenizer13a does. */
export function tokenize13a(line: string): string[] {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  for (const [re, repl] of RE_13A) s = s.replace(re, repl);
  return pySplit(s);
}

export interface BleuOptions {
  /** Longest n-gram counted (default 4: BLEU-4). */
  max_order?: number;
  /** Lin & Och (2004) add-one smoothing of every precision (default false). */
  smooth?: boolean;
  /** Replaces the 13a tokenizer, like evaluate's `tokenizer` argument. */
  tokenizer?: (text: string) => string[];
}

export interface BleuResult {
  bleu: number;
  /** Modified n-gram precision for n = 1..max_order (over the whole corpus). */
  precisions: number[];
  brevity_penalty: number;
  length_ratio: number;
  translation_length: number;
  reference_length: number;
}

/** Counts the n-grams of each order 1..maxOrder (index n-1); a key is the JSON of the tokens,
 *  which keeps distinct token tuples distinct whatever characters they hold. */
function ngramCounts(tokens: string[], maxOrder: number): Array<Map<string, number>> {
  const byOrder: Array<Map<string, number>> = [];
  for (let n = 1; n <= maxOrder; n++) {
    const counts = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = JSON.stringify(tokens.slice(i, i + n));
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    byOrder.push(counts);
  }
  return byOrder;
}

/**
 * Corpus BLEU as evaluate's "bleu": clipped n-gram matches and candidate n-gram counts are summed
 * over the corpus, precisions combined by geometric mean, times the brevity penalty
 * exp(1 - r/c) when the candidate total c is at most r, where r sums the *shortest* reference of
 * each line (tensorflow/nmt's choice, not the closest length). `references` is one string per
 * prediction or a list of alternatives per prediction.
 */
export function bleu(predictions: string[], references: string[] | string[][], options: BleuOptions = {}): BleuResult {
  const maxOrder = options.max_order ?? 4;
  const smooth = options.smooth ?? false;
  const tokenize = options.tokenizer ?? tokenize13a;
  if (!Number.isInteger(maxOrder) || maxOrder < 1) throw new Error(`bleu: max_order must be a positive integer, got ${maxOrder}`);
  checkPairs('bleu', predictions, references);
  // evaluate looks at the first reference only to decide whether lists were given.
  const refLists: string[][] = typeof references[0] === 'string'
    ? (references as string[]).map((r) => [r])
    : (references as string[][]);
  refLists.forEach((refs, i) => {
    if (!Array.isArray(refs) || refs.length === 0 || refs.some((r) => typeof r !== 'string')) {
      throw new Error(`bleu: references[${i}] must be a non-empty list of strings (or every reference a string)`);
    }
  });

  const matches = new Array<number>(maxOrder).fill(0);
  const possible = new Array<number>(maxOrder).fill(0);
  let referenceLength = 0;
  let translationLength = 0;
  for (let i = 0; i < predictions.length; i++) {
    const refs = refLists[i].map(tokenize);
    const hyp = tokenize(predictions[i]);
    referenceLength += Math.min(...refs.map((r) => r.length));
    translationLength += hyp.length;
    // An n-gram may be matched as often as it occurs in the single reference that has it most.
    const refCounts = refs.map((r) => ngramCounts(r, maxOrder));
    const hypCounts = ngramCounts(hyp, maxOrder);
    for (let n = 0; n < maxOrder; n++) {
      for (const [k, c] of hypCounts[n]) {
        const maxInRef = Math.max(0, ...refCounts.map((rc) => rc[n].get(k) ?? 0));
        matches[n] += Math.min(c, maxInRef);
      }
    }
    for (let n = 1; n <= maxOrder; n++) {
      if (hyp.length - n + 1 > 0) possible[n - 1] += hyp.length - n + 1;
    }
  }

  const precisions = matches.map((m, i) =>
    smooth ? (m + 1) / (possible[i] + 1) : possible[i] > 0 ? m / possible[i] : 0,
  );
  const geoMean = Math.min(...precisions) > 0
    ? Math.exp(precisions.reduce((s, p) => s + (1 / maxOrder) * Math.log(p), 0))
    : 0;
  let ratio = 0;
  let bp = 0;
  if (referenceLength > 0 && translationLength > 0) {
    ratio = translationLength / referenceLength;
    bp = ratio > 1 ? 1 : Math.exp(1 - 1 / ratio);
  }
  return {
    bleu: geoMean * bp,
    precisions,
    brevity_penalty: bp,
    length_ratio: ratio,
    translation_length: translationLength,
    reference_length: referenceLength,
  };
}
