import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleu, cer, editDistance, tokenize13a, wer } from '../src/training/metrics.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('editDistance: textbook pairs', () => {
  assert.equal(editDistance([...'kitten'], [...'sitting']), 3);
  assert.equal(editDistance([...'flaw'], [...'lawn']), 2);
  assert.equal(editDistance([], [...'abc']), 3);
  assert.equal(editDistance([...'abc'], []), 3);
  assert.equal(editDistance(['a', 'b'], ['a', 'b']), 0);
});

test('cer: the example from evaluate\'s metric card', () => {
  const predictions = ['this is the prediction', 'there is an other sample'];
  const references = ['this is the reference', 'there is another one'];
  // evaluate prints 0.34146341463414637 = 14 edits / 41 reference characters.
  assert.equal(cer(predictions, references), 0.34146341463414637);
  assert.equal(cer(['hello world', 'good night moon'], ['hello world', 'good night moon']), 0);
});

test('cer: corpus-level, code points, strip, insertions above 1', () => {
  assert.equal(cer(['abd'], ['abc']), 1 / 3);
  // corpus-level: (1 + 0) / (3 + 7), not the mean of 1/3 and 0
  assert.equal(cer(['abd', 'abcdefg'], ['abc', 'abcdefg']), 1 / 10);
  assert.equal(cer(['hello world'], ['hello']), 6 / 5);
  assert.equal(cer(['  abc \n'], ['abc']), 0);
  assert.equal(cer(['😀x'], ['😀y']), 1 / 2); // one emoji is one character, not two UTF-16 units
  // jiwer ≥ 4 keeps inner double spaces; the older transform collapsed them
  assert.equal(cer(['a  b'], ['a b']), 1 / 3);
  assert.equal(cer(['a  b'], ['a b'], { collapse_spaces: true }), 0);
  assert.equal(cer([''], ['ab']), 1);
});

test('wer: the example from evaluate\'s metric card and jiwer\'s word rules', () => {
  const predictions = ['this is the prediction', 'there is an other sample'];
  const references = ['this is the reference', 'there is another one'];
  assert.equal(wer(predictions, references), 0.5);
  assert.equal(wer(['a  b   c '], ['a b c']), 0); // runs of spaces collapse
  assert.equal(wer(['a\tb'], ['a b']), 1); // a lone tab is not a word separator in jiwer: 1 sub + 1 del
  assert.equal(wer(['a \tb'], ['a b']), 0); // but a run of two whitespace characters becomes one space
  assert.equal(wer(['the cat sat', 'x'], ['the cat sat on the mat', 'x y']), 4 / 8);
});

test('cer/wer: bad input says what is wrong', () => {
  assert.throws(() => cer(['a'], ['a', 'b']), /1 predictions and 2 references/);
  assert.throws(() => wer(['a'], ['   ']), /reference 0 is empty/);
  assert.throws(() => cer([], []), /no predictions/);
});

test('tokenize13a: punctuation, numbers, apostrophes and entities', () => {
  assert.deepEqual(tokenize13a("Hello, world! It's 3.14 and 1,000 items (2019-2020)."), [
    'Hello', ',', 'world', '!', "It's", '3.14', 'and', '1,000', 'items', '(', '2019', '-', '2020', ')', '.',
  ]);
  assert.deepEqual(tokenize13a('a.b  fish &amp; chips-\nshop'), ['a', '.', 'b', 'fish', '&', 'chipsshop']);
  assert.deepEqual(tokenize13a('well-known'), ['well-known']);
});

test('bleu: the examples from evaluate\'s metric card', () => {
  const r = bleu(['hello there general kenobi', 'foo bar foobar'], [
    ['hello there general kenobi', 'hello there !'],
    ['foo bar foobar'],
  ]);
  assert.deepEqual(r, {
    bleu: 1.0, precisions: [1, 1, 1, 1], brevity_penalty: 1.0, length_ratio: 1.1666666666666667,
    translation_length: 7, reference_length: 6,
  });
  const single = bleu(['hello there general kenobi', 'foo bar foobar'], ['hello there general kenobi', 'foo bar foobar']);
  assert.equal(single.bleu, 1);
  assert.equal(single.length_ratio, 1);
});

test('bleu: hand-computed precisions, smoothing and brevity penalty', () => {
  // "the cat sat on the mat" vs "the cat is on the mat": 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3
  const r = bleu(['the cat sat on the mat'], ['the cat is on the mat']);
  assert.deepEqual(r.precisions, [5 / 6, 3 / 5, 1 / 4, 0]);
  assert.equal(r.bleu, 0);
  const s = bleu(['the cat sat on the mat'], ['the cat is on the mat'], { smooth: true });
  close(s.bleu, Math.pow((6 / 7) * (4 / 6) * (2 / 5) * (1 / 4), 1 / 4));
  // clipping: "the the the" against "the cat": "the" matches once
  assert.equal(bleu(['the the the'], ['the cat'], { max_order: 1 }).precisions[0], 1 / 3);
  // too short: c=2, r=6 → BP = exp(1 - 6/2)
  const short = bleu(['the cat'], ['the cat sat on the mat'], { max_order: 2 });
  close(short.brevity_penalty, Math.exp(-2));
  close(short.bleu, Math.exp(-2));
  // the shortest reference sets r (tensorflow/nmt), not the closest one
  assert.equal(bleu(['a b c d'], [['a b c d', 'a b']]).reference_length, 2);
  // an empty prediction scores 0 without dividing by zero
  assert.deepEqual(bleu([''], ['a b']), {
    bleu: 0, precisions: [0, 0, 0, 0], brevity_penalty: 0, length_ratio: 0, translation_length: 0, reference_length: 2,
  });
  assert.throws(() => bleu(['a'], [[]]), /references\[0\] must be a non-empty list/);
});
