// `ved serve`'s HTTP service on node:http: the endpoints, the limits, admission (a bounded number
// of requests in progress), timeouts, client disconnects, metrics and a graceful stop. The model
// is behind BatchReader (reader.ts) and batching in Batcher (batcher.ts); nothing here knows ONNX.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { imageRecord, type ImageRecord } from '../cli/records.js';
import { RawImage, type LoadImageOptions } from '../processing/image.js';
import { Batcher, Cancelled } from './batcher.js';
import { Counter, Gauge, Histogram } from './metrics.js';
import { boundaryOf, parseMultipart } from './multipart.js';
import type { BatchReader, ReadOptions, ServeTask } from './reader.js';

export interface ServeOptions {
  /** Images per batch at most; 1 turns batching off (default 8). */
  maxBatchSize?: number;
  /**
   * A batch that is not full waits MAX_WAIT_FACTOR (4) times this at most, from when its first
   * image arrived or the previous batch ended: for the clients that batch answered, or while
   * images keep coming within this many ms of each other (default 5). See batcher.ts.
   */
  maxWaitMs?: number;
  /** Requests in progress at once (uploading, waiting or being read); more get 503 (default 64). */
  maxQueue?: number;
  /** Largest request body in bytes (default 20 MiB). */
  maxBodyBytes?: number;
  /** Most images in one multipart request (default 16). */
  maxImages?: number;
  /** PIL's MAX_IMAGE_PIXELS rule: refused over 2 × this many pixels; null: no limit (default PIL's). */
  maxImagePixels?: number | null;
  /** Per-request time limit, from its arrival to its answer (default 60 s). */
  timeoutMs?: number;
  /** Largest num_beams and max_new_tokens a request may ask for (default 16 and 512). */
  maxNumBeams?: number;
  maxNewTokens?: number;
  /** Where the service writes its one-line notices (default stderr). */
  log?: (line: string) => void;
}

const DEFAULTS = {
  maxBatchSize: 8,
  maxWaitMs: 5,
  maxQueue: 64,
  maxBodyBytes: 20 * 1024 * 1024,
  maxImages: 16,
  timeoutMs: 60_000,
  maxNumBeams: 16,
  maxNewTokens: 512,
};

/** The option names a request may give, in the query, as form fields, or in a JSON "options" part. */
export const REQUEST_OPTIONS = ['num_beams', 'max_new_tokens'] as const;

const ENDPOINTS: Record<string, { method: string }> = {
  '/health': { method: 'GET' },
  '/metrics': { method: 'GET' },
  '/v1/ocr': { method: 'POST' },
  '/v1/caption': { method: 'POST' },
};

/** A request the service refuses: the status and the one-line reason sent as { "error" }. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What the service has loaded: a reader for the task the model does, and names for /health. */
export interface Loaded {
  task: ServeTask;
  reader: BatchReader;
  model: string;
}

export class VedServer {
  readonly http: Server;
  private readonly o: Required<Omit<ServeOptions, 'maxImagePixels' | 'log'>> & Pick<ServeOptions, 'maxImagePixels'>;
  private readonly log: (line: string) => void;
  private loaded: Loaded | null = null;
  private batcher: Batcher | null = null;
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | null = null;
  /** Seconds per image, smoothed: the Retry-After a refused client is told. */
  private secondsPerImage = 0.1;

  private readonly requests = new Counter('ved_requests_total', 'HTTP requests answered, by endpoint and status code.');
  private readonly errors = new Counter('ved_request_errors_total', 'Requests answered with a 4xx or 5xx status, by endpoint and status code.');
  private readonly disconnects = new Counter('ved_client_disconnects_total', 'Requests whose client left before the answer (mid-upload or mid-read).');
  private readonly images = new Counter('ved_images_total', 'Images read.');
  private readonly batchSizes = new Histogram('ved_batch_size', 'Images per batch the model read.', [1, 2, 4, 8, 16, 32, 64]);
  private readonly batchSeconds = new Histogram('ved_batch_duration_seconds', 'Wall time of one batch.', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  private readonly latency = new Histogram('ved_request_duration_seconds', 'Time from a request’s arrival to its answer (reading requests only).', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
  private readonly gauges = [
    new Gauge('ved_queue_length', 'Images waiting for a batch.', () => this.batcher?.queued ?? 0),
    new Gauge('ved_batch_images_running', 'Images in the batch being read now.', () => this.batcher?.reading ?? 0),
    new Gauge('ved_requests_in_flight', 'Reading requests admitted and not yet answered.', () => this.inFlight),
    new Gauge('ved_model_loaded', '1 once the model is loaded.', () => (this.loaded ? 1 : 0)),
  ];

  constructor(options: ServeOptions = {}) {
    const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as VedServer['o'];
    for (const k of ['maxBatchSize', 'maxQueue', 'maxBodyBytes', 'maxImages', 'timeoutMs', 'maxNumBeams', 'maxNewTokens'] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new Error(`VedServer: ${k} must be a positive integer, got ${o[k]}`);
    }
    if (!(o.maxWaitMs >= 0)) throw new Error(`VedServer: maxWaitMs must be 0 or more, got ${o.maxWaitMs}`);
    this.o = o;
    this.log = options.log ?? ((line) => void process.stderr.write(`${line}\n`));
    this.http = createServer((req, res) => this.handle(req, res));
    // Node's own backstop for a connection whose upload never ends; the per-request timer below
    // answers first with the JSON error, this one only catches what slips past it.
    this.http.requestTimeout = o.timeoutMs + 5000;
    this.http.headersTimeout = Math.min(o.timeoutMs, 60_000);
  }

  /** Starts answering reading requests with this model (until then they get 503, /health too). */
  setLoaded(loaded: Loaded): void {
    this.loaded = loaded;
    this.batcher = new Batcher(loaded.reader, {
      maxBatchSize: this.o.maxBatchSize,
      maxWaitMs: this.o.maxWaitMs,
      onBatch: (size, seconds) => {
        this.batchSizes.observe(size);
        this.batchSeconds.observe(seconds);
        this.images.inc({}, size);
        this.secondsPerImage = 0.8 * this.secondsPerImage + 0.2 * (seconds / size);
      },
    });
  }

  /** Listens; port 0 picks a free one. Resolves to the address actually bound. */
  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        const a = this.http.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /**
   * Stops taking requests (the listening socket closes; requests on open connections get 503),
   * lets those in progress finish, then closes every connection. A request still running
   * after its own time limit has been answered by then, so this ends within timeoutMs.
   */
  close(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const drained = new Promise<void>((resolve) => {
      this.drained = resolve;
      this.checkDrained();
    });
    return drained.then(() => {
      this.http.closeIdleConnections();
      return closed;
    });
  }

  /** The /metrics text. */
  metricsText(): string {
    return [this.requests, this.errors, this.disconnects, this.images, ...this.gauges, this.batchSizes, this.batchSeconds, this.latency].map((m) => m.text()).join('');
  }

  private checkDrained(): void {
    if (this.draining && this.inFlight === 0 && this.drained) {
      const done = this.drained;
      this.drained = null;
      done();
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://service.invalid');
    const endpoint = url.pathname in ENDPOINTS ? url.pathname : 'other';
    const send = (status: number, body: string, headers: Record<string, string>): void => {
      if (res.headersSent || res.destroyed) return;
      if (this.draining) headers = { ...headers, connection: 'close' };
      res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
      this.requests.inc({ endpoint, code: String(status) });
      if (status >= 400) this.errors.inc({ endpoint, code: String(status) });
      if (endpoint === '/v1/ocr' || endpoint === '/v1/caption') this.latency.observe((performance.now() - started) / 1000);
    };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      send(status, `${JSON.stringify(value)}\n`, { 'content-type': 'application/json; charset=utf-8', ...headers });
    const fail = (e: unknown) => {
      if (e instanceof HttpError) {
        // The body may not have been read: close the connection rather than parse what follows.
        json(e.status, { error: e.message }, e.headers);
      } else {
        const message = e instanceof Error ? e.message : String(e);
        this.log(`ved serve: ${req.method} ${url.pathname}: ${message}`);
        json(500, { error: `internal error: ${message.split('\n')[0]}` });
      }
    };

    const route = ENDPOINTS[url.pathname];
    if (!route) return fail(new HttpError(404, `no endpoint ${url.pathname}; the service has POST /v1/ocr, POST /v1/caption, GET /health, GET /metrics`));
    if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      req.resume();
      return fail(new HttpError(405, `${url.pathname} takes ${route.method}, got ${req.method}`, { allow: route.method, connection: 'close' }));
    }
    if (url.pathname === '/health') {
      if (!this.loaded) return json(503, { error: 'the model is still loading' }, { 'retry-after': '5' });
      // A stopping instance fails its health check so that a balancer stops sending it work.
      if (this.draining) return json(503, { error: 'the service is stopping' });
      return json(200, { status: 'ok', task: this.loaded.task, model: this.loaded.model });
    }
    if (url.pathname === '/metrics') return send(200, this.metricsText(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    this.read(url.pathname === '/v1/ocr' ? 'ocr' : 'caption', url, req, res, fail, json);
  }

  private read(
    task: ServeTask,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    fail: (e: unknown) => void,
    json: (status: number, value: unknown, headers?: Record<string, string>) => void,
  ): void {
    const refuse = (e: HttpError) => {
      // Nothing of the body is needed: let it drain, and close the connection after the answer.
      req.resume();
      fail(new HttpError(e.status, e.message, { connection: 'close', ...e.headers }));
    };
    if (this.draining) return refuse(new HttpError(503, 'the service is stopping; send the request to another instance', { 'retry-after': '1' }));
    if (!this.loaded || !this.batcher) return refuse(new HttpError(503, 'the model is still loading; retry shortly', { 'retry-after': '5' }));
    if (task !== this.loaded.task) {
      const other = task === 'ocr' ? 'an OCR model (--task ocr)' : 'a captioning model (--task caption)';
      return refuse(new HttpError(404, `/v1/${task} is not served: the loaded model ${this.loaded.model} is served as ${this.loaded.task} (POST /v1/${this.loaded.task}); start ved serve with ${other} for /v1/${task}`));
    }
    if (this.inFlight >= this.o.maxQueue) {
      const wait = Math.max(1, Math.ceil(this.secondsPerImage * (this.batcher.queued + this.batcher.reading)));
      return refuse(new HttpError(503, `the service is full (${this.inFlight} requests in progress, --max-queue ${this.o.maxQueue}); retry after ${wait} s`, { 'retry-after': String(wait) }));
    }
    let options: ReadOptions;
    let kind: 'raw' | 'multipart';
    let boundary: string | null = null;
    try {
      options = this.queryOptions(url.searchParams);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type === 'multipart/form-data') {
        kind = 'multipart';
        boundary = boundaryOf(req.headers['content-type']!);
        if (!boundary) throw new HttpError(400, 'Content-Type multipart/form-data has no boundary parameter');
      } else if (type.startsWith('image/') || type === 'application/octet-stream') {
        kind = 'raw';
      } else {
        throw new HttpError(415, `Content-Type ${type || '(none)'} is not accepted: send one image as the body with Content-Type image/* (e.g. curl --data-binary @a.png -H 'Content-Type: image/png'), or several as multipart/form-data (curl -F image=@a.png -F image=@b.png)`);
      }
      const length = req.headers['content-length'];
      if (length !== undefined && Number(length) > this.o.maxBodyBytes) {
        throw new HttpError(413, `the body is ${length} bytes, over the limit of ${this.o.maxBodyBytes} (--max-body-bytes)`);
      }
    } catch (e) {
      return refuse(e instanceof HttpError ? e : new HttpError(400, (e as Error).message));
    }

    // Admitted: this request holds a slot until it is answered or its client leaves.
    this.inFlight++;
    let released = false;
    let submission: { cancel(): void } | null = null;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      submission?.cancel();
      this.inFlight--;
      this.checkDrained();
    };
    const timer = setTimeout(() => {
      const uploading = !req.complete;
      fail(
        uploading
          ? new HttpError(408, `the upload did not finish within ${this.o.timeoutMs} ms (--timeout-ms)`, { connection: 'close' })
          : new HttpError(504, `the request was not read within ${this.o.timeoutMs} ms (--timeout-ms); the service is busy or the image too long to read`),
      );
      release();
    }, this.o.timeoutMs);
    res.on('close', () => {
      if (!res.writableFinished) this.disconnects.inc();
      release();
    });

    const answered = () => released || res.headersSent || res.destroyed;
    const run = async () => {
      const body = await readBody(req, this.o.maxBodyBytes);
      if (answered()) return;
      const inputs: Array<{ file: string | null; bytes: Buffer }> = [];
      if (kind === 'raw') {
        inputs.push({ file: null, bytes: body });
      } else {
        let parts;
        try {
          parts = parseMultipart(body, boundary!);
        } catch (e) {
          throw new HttpError(400, `malformed multipart/form-data body: ${(e as Error).message}`);
        }
        const fields: Record<string, unknown> = {};
        for (const part of parts) {
          const isImage = part.filename !== null || (part.contentType !== null && (part.contentType.startsWith('image/') || part.contentType === 'application/octet-stream'));
          if (isImage) {
            inputs.push({ file: part.filename ?? part.name, bytes: part.data });
          } else if (part.name === 'options') {
            let parsed: unknown;
            try {
              parsed = JSON.parse(part.data.toString('utf8'));
            } catch (e) {
              throw new HttpError(400, `the "options" part is not JSON: ${(e as Error).message}`);
            }
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, `the "options" part must be a JSON object such as {"num_beams": 4}`);
            Object.assign(fields, parsed);
          } else {
            fields[part.name] = part.data.toString('utf8');
          }
        }
        options = { ...options, ...this.checkOptions(fields, 'form field') };
      }
      if (inputs.length === 0) throw new HttpError(400, 'the request has no image: send one as the body (Content-Type image/*) or as multipart/form-data file parts');
      if (inputs.length > this.o.maxImages) throw new HttpError(413, `the request has ${inputs.length} images, over the limit of ${this.o.maxImages} (--max-images)`);
      const imageOptions: LoadImageOptions = { maxImagePixelsOption: '--max-image-pixels' };
      if (this.o.maxImagePixels !== undefined) imageOptions.maxImagePixels = this.o.maxImagePixels;
      const images = await Promise.all(
        inputs.map(({ file, bytes }) =>
          RawImage.read(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), imageOptions).catch((e: Error) => {
            const what = file === null ? 'the request body' : `image '${file}'`;
            const message = e.message.replace(/^loadImage: /, '');
            throw new HttpError(/decompression bomb/.test(message) ? 413 : 422, `${what}: ${message}`);
          }),
        ),
      );
      if (answered()) return;
      const sub = this.batcher!.submit(images, options);
      submission = sub;
      const results = await sub.results;
      if (answered()) return;
      const records: ImageRecord[] = results.map((r, i) => imageRecord(inputs[i]!.file, r.result, r.seconds));
      json(200, kind === 'raw' ? records[0] : records);
      submission = null; // done: nothing of it to withdraw
      release();
    };
    run().catch((e: unknown) => {
      if (e instanceof Cancelled || e instanceof ClientGone) return release();
      fail(e);
      release();
    });
  }

  private queryOptions(params: URLSearchParams): ReadOptions {
    const given: Record<string, string> = {};
    for (const [k, v] of params) given[k] = v;
    return this.checkOptions(given, 'query parameter');
  }

  /** Request options from strings (query, form fields) or JSON values, each checked against its range. */
  private checkOptions(given: Record<string, unknown>, where: string): ReadOptions {
    const out: ReadOptions = {};
    const max = { num_beams: this.o.maxNumBeams, max_new_tokens: this.o.maxNewTokens };
    for (const [k, v] of Object.entries(given)) {
      if (!(REQUEST_OPTIONS as readonly string[]).includes(k)) {
        throw new HttpError(400, `unknown ${where} '${k}'; the options are ${REQUEST_OPTIONS.join(', ')}`);
      }
      const key = k as (typeof REQUEST_OPTIONS)[number];
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || n < 1 || n > max[key]) {
        throw new HttpError(400, `${where} ${key} must be an integer from 1 to ${max[key]}, got ${JSON.stringify(v)}`);
      }
      out[key] = n;
    }
    return out;
  }
}

/** The client closed the connection before its upload ended. */
class ClientGone extends Error {}

/** The whole body, refused with 413 as soon as it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(413, `the body is over the limit of ${limit} bytes (--max-body-bytes)`, { connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('close', () => {
      if (!req.complete && !over) reject(new ClientGone('the client left mid-upload'));
    });
    req.on('error', () => {
      if (!over) reject(new ClientGone('the upload broke off'));
    });
  });
}
