// The reader behind /v1/ocr: OCRReader's pages (lines and boxes, as `ved ocr` reads them), with a
// batch's pages made ready to read (layout, crops, pixel values: ocr/page.ts) half in a worker
// thread while the main thread does the other half, as each page's are independent of the
// others'; then all their crops are read together. The model sits idle while pages are made
// ready, so this halves that wait for a batch of several images; one image is made ready here.
// Until the worker has started, or if it fails, every page is made ready on the main thread.

import { Worker } from 'node:worker_threads';
import type { ImageText } from '../cli/records.js';
import type { InferenceDtype } from '../models/vision_encoder_decoder.js';
import { preparePage, type PreparedPage } from '../ocr/page.js';
import { OCRReader } from '../ocr/reader.js';
import type { RawImage } from '../processing/image.js';
import type { BatchReader, ReadOptions } from './reader.js';

type Reply = { ready: true } | { id: number; page: PreparedPage } | { id: number; error: string };

export class PageReader implements BatchReader {
  private worker: Worker | null = null;
  private ready = false;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(p: PreparedPage): void; reject(e: Error): void }>();
  /** Pages the worker made ready (tests check that it takes part). */
  pagesByWorker = 0;

  /** `modelId`: where the worker loads the same image processor from (the reader's model). */
  constructor(
    readonly reader: OCRReader,
    modelId: string | null,
  ) {
    if (modelId !== null) this.start(modelId);
  }

  static async from_pretrained(modelId: string, options: { dtype?: InferenceDtype } = {}): Promise<PageReader> {
    return new PageReader(await OCRReader.from_pretrained(modelId, options), modelId);
  }

  private start(modelId: string): void {
    const worker = new Worker(new URL('./prepare_worker.js', import.meta.url), { workerData: { model: modelId } });
    worker.on('message', (m: Reply) => {
      if ('ready' in m) {
        this.ready = true;
        return;
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in m) w.reject(new Error(m.error));
      else {
        this.pagesByWorker++;
        w.resolve(m.page);
      }
    });
    const gone = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.ready = false;
      for (const w of this.waiting.values()) w.reject(new Error(`the page worker ${why}`));
      this.waiting.clear();
    };
    worker.on('error', (e) => gone(`failed: ${e.message}`));
    worker.on('exit', (code) => gone(`exited (${code})`));
    // An idle worker must not keep the process alive (after the listeners: they ref it again);
    // one with pages to make ready does, as the caller awaits them.
    worker.unref();
    this.worker = worker;
  }

  /** Stops the worker (the service does not need to: the worker does not keep it alive). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.ready = false;
    for (const job of this.waiting.values()) job.reject(new Error('the page worker was closed'));
    this.waiting.clear();
    await w?.terminate();
  }

  private prepareThere(image: RawImage): Promise<PreparedPage> {
    const id = this.nextId++;
    const data = image.data.slice();
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker!.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ id, width: image.width, height: image.height, channels: image.channels, data }, [data.buffer]);
    });
  }

  async read(images: RawImage[], options: ReadOptions): Promise<ImageText[]> {
    const processor = this.reader.processor.image_processor;
    // The worker takes the second half (sent first, so that it starts at once); this thread the first.
    const here = this.worker && this.ready && images.length > 1 ? Math.ceil(images.length / 2) : images.length;
    const there = images.slice(here).map((image) => this.prepareThere(image));
    // A rejection is awaited below; until then it must not count as unhandled.
    there.forEach((p) => p.catch(() => undefined));
    const prepared: PreparedPage[] = [];
    for (const image of images.slice(0, here)) prepared.push(await preparePage(image, processor));
    prepared.push(...(await Promise.all(there)));
    return this.reader.readPrepared(prepared, options);
  }
}
