import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer } from '../src/processing/tokenizers.js';
import { byteLevelOcrTokenizer } from '../src/training/ocr_tokenizer.js';

test('the OCR tokenizer: one token per byte, </s> appended, exact round trip of any text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ved-tok-'));
  try {
    for (const [name, json] of Object.entries(byteLevelOcrTokenizer())) writeFileSync(join(dir, name), JSON.stringify(json));
    const tok = await AutoTokenizer.from_pretrained(dir);
    assert.equal(tok.vocab_size, 260);
    assert.equal(tok.pad_token_id, 1);
    assert.equal(tok.eos_token_id, 2);
    assert.equal(tok.bos_token_id, 0);
    for (const text of ['Total: $45.20', '  two  spaces ', 'Café £3 €4 naïve', 'INV-2023-00417', 'a']) {
      const ids = tok.encode(text);
      assert.equal(ids.length, Buffer.byteLength(text, 'utf8') + 1, text);
      assert.equal(ids[ids.length - 1], 2);
      assert.equal(tok.decode(ids, { skip_special_tokens: true }), text);
      assert.equal(tok.decode([0, ...ids], { skip_special_tokens: true }), text);
    }
    assert.deepEqual(tok.encode('Ab', { add_special_tokens: false }), [4 + 65, 4 + 98]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
