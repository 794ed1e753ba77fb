// The batcher's wait policy, with a reader that reads nothing (no model): when a batch starts,
// and which images it takes. Waits are generous so that a loaded machine does not flip them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, MAX_WAIT_FACTOR } from '../src/serve/batcher.js';
import type { ImageText } from '../src/cli/records.js';
import { RawImage } from '../src/processing/image.js';
import type { BatchReader } from '../src/serve/reader.js';

/** Each image is a 1×1 grey pixel whose value names it; the reader answers with that name. */
const image = (n: number) => RawImage.fromPixels(Uint8Array.of(n), 1, 1, 1);

/** Records each batch (the names of its images, and when it started); a batch ends when the test opens it. */
class Recorder implements BatchReader {
  batches: Array<{ names: number[]; at: number }> = [];
  private gates: Array<() => void> = [];
  constructor(private gated: boolean) {}
  async read(images: RawImage[]): Promise<ImageText[]> {
    this.batches.push({ names: images.map((i) => i.data[0]!), at: performance.now() });
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve));
    return images.map((i) => ({ text: String(i.data[0]) }));
  }
  openAll(): void {
    this.gated = false;
    for (const g of this.gates.splice(0)) g();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a full batch starts at once; at an idle service one that is not full waits maxWaitMs for more', async () => {
  const reader = new Recorder(false);
  const batcher = new Batcher(reader, { maxBatchSize: 3, maxWaitMs: 300 });
  const t0 = performance.now();
  const lone = batcher.submit([image(4)], {});
  const full = batcher.submit([image(1), image(2), image(3)], {});
  await Promise.all([lone.results, full.results]);
  // Image 4 came first and opened the batch; with 1, 2 and 3 it is full at once.
  assert.deepEqual(reader.batches.map((b) => b.names), [[4, 1, 2], [3]]);
  assert.ok(reader.batches[0]!.at - t0 < 250, `the full batch started after ${reader.batches[0]!.at - t0} ms`);
  await batcher.idle();
  const fresh = new Batcher(reader, { maxBatchSize: 3, maxWaitMs: 300 });
  const t1 = performance.now();
  assert.deepEqual((await fresh.submit([image(5)], {}).results).map((r) => r.result.text), ['5']);
  assert.ok(reader.batches[2]!.at - t1 >= 290, `the lone image waited ${reader.batches[2]!.at - t1} ms`);
});

test('right after a batch, the next one starts as soon as the clients it answered are back', async () => {
  const reader = new Recorder(false);
  const batcher = new Batcher(reader, { maxBatchSize: 8, maxWaitMs: 300 });
  // Two clients, each sending its next image as soon as it has the answer to the last, three times.
  const client = async (first: number) => {
    for (let k = 0; k < 3; k++) await batcher.submit([image(first + 10 * k)], {}).results;
  };
  const t0 = performance.now();
  await Promise.all([client(1), client(2)]);
  assert.deepEqual(reader.batches.map((b) => b.names), [[1, 2], [11, 12], [21, 22]]);
  // The first batch waited for company (maxWaitMs); the next ones did not wait for more than the two.
  const gaps = reader.batches.slice(1).map((b, i) => b.at - reader.batches[i]!.at);
  assert.ok(gaps.every((g) => g < 250), `batches followed each other after ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  assert.ok(performance.now() - t0 < 300 + 2 * 250);
  await batcher.idle();
});

test('images that came while a batch ran wait for the clients it answers: the next batch takes both', async () => {
  const reader = new Recorder(true);
  const batcher = new Batcher(reader, { maxBatchSize: 8, maxWaitMs: 400 });
  const first = batcher.submit([image(1), image(2)], {});
  await sleep(450); // the first batch starts after its wait, and is held at the gate
  assert.deepEqual(reader.batches.map((b) => b.names), [[1, 2]]);
  const during = batcher.submit([image(3)], {}); // arrives while the batch runs,
  await sleep(450); // and has waited longer than maxWaitMs by the time it ends
  reader.openAll();
  // The first batch's clients send again as soon as they are answered.
  const again = first.results.then(() => batcher.submit([image(4), image(5)], {}).results);
  await Promise.all([during.results, again]);
  // Counted from its arrival alone, image 3 would have started a batch of its own the moment
  // the first one ended, and 4 and 5 another after it.
  assert.deepEqual(reader.batches.map((b) => b.names), [[1, 2], [3, 4, 5]]);
  await batcher.idle();
});

test(`a batch waits while images keep joining it, at most ${MAX_WAIT_FACTOR} × maxWaitMs in all`, async () => {
  const reader = new Recorder(false);
  const maxWaitMs = 150;
  const batcher = new Batcher(reader, { maxBatchSize: 100, maxWaitMs });
  const t0 = performance.now();
  const subs = [];
  // One image every 50 ms (each well within maxWaitMs of the one before) for 1.2 s.
  for (let i = 0; i < 24; i++) {
    subs.push(batcher.submit([image(i)], {}));
    await sleep(50);
  }
  await Promise.all(subs.map((s) => s.results));
  const first = reader.batches[0]!;
  const waited = first.at - t0;
  assert.ok(first.names.length >= 3, `the first batch took ${first.names.length} images`);
  assert.ok(waited >= 2 * maxWaitMs, `the first batch waited ${waited} ms: more than maxWaitMs, as images kept coming`);
  assert.ok(waited < MAX_WAIT_FACTOR * maxWaitMs + 250, `the first batch waited ${waited} ms, not much over ${MAX_WAIT_FACTOR} × maxWaitMs`);
  assert.ok(reader.batches.length >= 2, 'the stream of images is cut into several batches');
  assert.deepEqual(reader.batches.flatMap((b) => b.names), Array.from({ length: 24 }, (_, i) => i), 'in arrival order, each once');
  await batcher.idle();
});

test('with maxBatchSize 1 every image is its own batch, started at once', async () => {
  const reader = new Recorder(false);
  const batcher = new Batcher(reader, { maxBatchSize: 1, maxWaitMs: 10_000 });
  const t0 = performance.now();
  const subs = [batcher.submit([image(1)], {}), batcher.submit([image(2)], {})];
  await Promise.all(subs.map((s) => s.results));
  assert.deepEqual(reader.batches.map((b) => b.names), [[1], [2]]);
  assert.ok(performance.now() - t0 < 5000);
});
