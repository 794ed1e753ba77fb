// Dynamic batching across requests: images from concurrent requests wait in one queue, and a
// single worker reads them in batches of up to maxBatchSize images with equal generation options.
// A batch that is not full waits at most MAX_WAIT_FACTOR × maxWaitMs, counted from when its
// oldest image arrived or the previous batch ended, whichever is later:
// - right after a batch, until as many images wait as there were waiting then plus the ones that
//   batch read (the clients it has just answered, back with their next request);
// - otherwise while images keep joining it, each within maxWaitMs of the one before.
// (Counted from arrival alone, the images that came in while a batch ran would start the next one
// the moment it ends, before the clients it has just answered can send again: under steady load
// the clients split into groups that take turns, each in batches a fraction of the size they
// could be. A lone client's next request, expected, starts at once.) One batch runs at a
// time: ONNX Runtime already uses every core for one batch, and a larger batch is where the
// speed comes from (the decoder's weights are streamed once per step for all its rows).

import type { ImageText } from '../cli/records.js';
import type { RawImage } from '../processing/image.js';
import type { BatchReader, ReadOptions } from './reader.js';

/** A batch that is not full waits at most this many times maxWaitMs for images to join it. */
export const MAX_WAIT_FACTOR = 4;

export interface BatcherOptions {
  /** Images per batch at most (1: no batching). */
  maxBatchSize: number;
  /**
   * A batch that is not full waits MAX_WAIT_FACTOR times this at most (after its oldest arrived
   * and the previous batch ended); with no batch just ended, only while images keep joining it
   * within this many ms of each other.
   */
  maxWaitMs: number;
  /** Called after every batch that ran to its end: its size and wall time. */
  onBatch?: (size: number, seconds: number) => void;
}

/** What each image of a request gets: its result and its share of its batch's time. */
export interface ItemResult {
  result: ImageText;
  seconds: number;
}

/** The request has been withdrawn (its client left, or it ran out of time). */
export class Cancelled extends Error {
  constructor() {
    super('the request was withdrawn');
    this.name = 'Cancelled';
  }
}

interface Item {
  image: RawImage;
  options: ReadOptions;
  key: string;
  enqueuedAt: number;
  cancelled: boolean;
  resolve(r: ItemResult): void;
  reject(e: unknown): void;
}

/** A request's images in the batcher: their results in order, and a way to withdraw them. */
export interface Submission {
  results: Promise<ItemResult[]>;
  /** Drops the images still waiting; a running batch is stopped if nobody else waits on it. */
  cancel(): void;
}

/** Requests with equal options can share a batch; `undefined` (the model's default) is its own value. */
export function optionsKey(o: ReadOptions): string {
  return `beams=${o.num_beams ?? ''};new=${o.max_new_tokens ?? ''}`;
}

export class Batcher {
  private queue: Item[] = [];
  private running: { items: Item[]; controller: AbortController } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  /** When the last batch ended (performance.now()). */
  private freeSince = -Infinity;
  /** How many images the next batch may expect, right after the last one ended (0: none). */
  private expected = 0;

  constructor(
    private readonly reader: BatchReader,
    private readonly options: BatcherOptions,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) throw new Error(`Batcher: maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    if (!(options.maxWaitMs >= 0)) throw new Error(`Batcher: maxWaitMs must be 0 or more, got ${options.maxWaitMs}`);
  }

  /** Images waiting for a batch (not those being read). */
  get queued(): number {
    return this.queue.length;
  }

  /** Images in the batch being read now. */
  get reading(): number {
    return this.running?.items.length ?? 0;
  }

  submit(images: readonly RawImage[], options: ReadOptions): Submission {
    const key = optionsKey(options);
    const items: Item[] = [];
    const promises = images.map(
      (image) =>
        new Promise<ItemResult>((resolve, reject) => {
          items.push({ image, options, key, enqueuedAt: performance.now(), cancelled: false, resolve, reject });
        }),
    );
    const results = Promise.all(promises);
    // A withdrawn request's caller may no longer listen; its rejection must not crash the process.
    results.catch(() => undefined);
    this.queue.push(...items);
    this.pump();
    return {
      results,
      cancel: () => {
        const mine = new Set(items);
        this.queue = this.queue.filter((i) => !mine.has(i));
        for (const item of items) {
          if (item.cancelled) continue;
          item.cancelled = true;
          item.reject(new Cancelled());
        }
        if (this.running && this.running.items.every((i) => i.cancelled)) this.running.controller.abort();
        this.pump();
      },
    };
  }

  /** Resolves once nothing waits and nothing runs. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.running) return;
    if (this.queue.length === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    const first = this.queue[0]!;
    const same = this.queue.filter((i) => i.key === first.key);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (same.length < this.options.maxBatchSize) {
      // A batch that is not full waits (see the top of this file): for the images expected
      // right after a batch, else while images keep joining it; MAX_WAIT_FACTOR × maxWaitMs at most.
      const { maxWaitMs } = this.options;
      const opened = Math.max(first.enqueuedAt, this.freeSince);
      const cap = opened + MAX_WAIT_FACTOR * maxWaitMs;
      const lastJoined = Math.max(same[same.length - 1]!.enqueuedAt, this.freeSince);
      const now = performance.now();
      let wait: number;
      if (this.expected > 0 && now < this.freeSince + MAX_WAIT_FACTOR * maxWaitMs) {
        wait = same.length >= this.expected ? 0 : cap - now;
      } else {
        wait = Math.min(lastJoined + maxWaitMs, cap) - now;
      }
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
    }
    this.expected = 0;
    const batch = same.slice(0, this.options.maxBatchSize);
    const taken = new Set(batch);
    this.queue = this.queue.filter((i) => !taken.has(i));
    void this.run(batch);
  }

  private async run(batch: Item[]): Promise<void> {
    const controller = new AbortController();
    this.running = { items: batch, controller };
    try {
      const t0 = performance.now();
      let results: ImageText[];
      try {
        results = await this.reader.read(batch.map((i) => i.image), batch[0]!.options, controller.signal);
        if (results.length !== batch.length) throw new Error(`the reader returned ${results.length} results for ${batch.length} images`);
      } catch (e) {
        if (controller.signal.aborted) return; // everyone waiting on it has gone and was told
        if (batch.length === 1) {
          batch[0]!.reject(e);
          return;
        }
        // One bad image must not fail the requests it happened to share a batch with: read
        // each alone, so that only the one that fails again gets the error.
        for (const item of batch) {
          if (item.cancelled) continue;
          try {
            const t1 = performance.now();
            const [r] = await this.reader.read([item.image], item.options);
            if (!r) throw new Error('the reader returned no result for the image');
            item.resolve({ result: r, seconds: (performance.now() - t1) / 1000 });
          } catch (err) {
            item.reject(err);
          }
        }
        return;
      }
      const seconds = (performance.now() - t0) / 1000;
      this.options.onBatch?.(batch.length, seconds);
      batch.forEach((item, i) => item.resolve({ result: results[i]!, seconds: seconds / batch.length }));
    } finally {
      this.running = null;
      this.freeSince = performance.now();
      this.expected = this.queue.length + batch.length;
      this.pump();
    }
  }
}
