// PageReader (the reader behind ved serve's /v1/ocr): a batch's pages, half of them made ready
// in its worker thread, read exactly as OCRReader reads each alone; without its worker, the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { RawImage } from '../src/processing/image.js';
import { PageReader } from '../src/serve/page_reader.js';

const MODEL = join(ROOT, 'models', 'ved-ocr-small');
const FILES = [1, 2, 3, 4, 5, 6].map((i) => join(ROOT, 'examples', `line-${i}.png`)).concat([join(ROOT, 'examples', 'page-1.png')]);

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('PageReader: a batch made ready half in its worker reads as each page alone', { timeout: 180_000 }, async () => {
  const pages = await PageReader.from_pretrained(MODEL);
  try {
    const images = await Promise.all(FILES.map(async (f) => RawImage.read(new Uint8Array(readFileSync(f)))));
    const alone = [];
    for (const image of images) alone.push((await pages.reader.read([image]))[0]!);
    assert.ok(alone[6]!.lines.length > 3, 'the page has several lines');
    await until(() => (pages as unknown as { ready: boolean }).ready, 'the worker');
    const batch = await pages.read([...images, ...images.slice(0, 3)], {});
    assert.ok(pages.pagesByWorker >= 4, `the worker made ${pages.pagesByWorker} pages ready`);
    assert.deepEqual(batch, [...alone, ...alone.slice(0, 3)]);
    // A lone image is made ready where it is.
    const before = pages.pagesByWorker;
    assert.deepEqual(await pages.read([images[1]!], {}), [alone[1]]);
    assert.equal(pages.pagesByWorker, before);
    // Without its worker, the same.
    await pages.close();
    assert.deepEqual(await pages.read(images, {}), alone);
  } finally {
    await pages.close();
  }
});
