// The worker thread of PageReader (page_reader.ts): makes pages ready to read (page.ts: layout,
// crops, pixel values) with the model's image processor, while the main thread does others.
// Messages in: { id, width, height, channels, data } (the image's pixels); out: { id, page } or
// { id, error }, after one { ready: true } once the processor is loaded.

import { parentPort, workerData } from 'node:worker_threads';
import { preparePage } from '../ocr/page.js';
import { AutoImageProcessor } from '../processing/image_processors.js';
import { RawImage } from '../processing/image.js';

interface Job {
  id: number;
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

const port = parentPort!;
const processor = await AutoImageProcessor.from_pretrained((workerData as { model: string }).model);
port.on('message', (job: Job) => {
  preparePage(RawImage.fromPixels(job.data, job.width, job.height, job.channels), processor).then(
    (page) => port.postMessage({ id: job.id, page }, [page.pixels.buffer as ArrayBuffer]),
    (e: unknown) => port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
port.postMessage({ ready: true });
