// `ved serve` on loopback: its answers against `ved ocr --json`'s, batching against single
// requests, every refusal and fault the issue lists, and a SIGTERM stop of the real command.
// Every wait is bounded (until() and per-test timeouts), and every server is closed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from './helpers.js';
import type { ImageText } from '../src/cli/records.js';
import type { RawImage } from '../src/processing/image.js';
import { GenerateReader, ReadAborted } from '../src/serve/generate_reader.js';
import { OCRReader } from '../src/ocr/reader.js';
import type { BatchReader, ReadOptions } from '../src/serve/reader.js';
import { VedServer, type ServeOptions } from '../src/serve/server.js';
import { boundaryOf, parseMultipart } from '../src/serve/multipart.js';

const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL = join(ROOT, 'models', 'ved-ocr-small');
const EXAMPLES = [1, 2, 3, 4, 5, 6].map((i) => join(ROOT, 'examples', `line-${i}.png`));
const png = (file: string) => readFileSync(file);

interface CliRecord {
  file: string;
  text: string;
  token_ids: number[];
  lines?: Array<{ text: string; box: number[] }>;
  seconds: number;
}

function ved(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `ved ocr --json` over the examples, one image per batch, as a user runs it. */
function cliRecords(...extra: string[]): Map<string, CliRecord> {
  const r = ved('ocr', '--json', ...extra, ...EXAMPLES);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as CliRecord);
  return new Map(records.map((rec) => [basename(rec.file), rec]));
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let realReader: GenerateReader | null = null;
async function reader(): Promise<GenerateReader> {
  realReader ??= await GenerateReader.from_pretrained(MODEL);
  return realReader;
}

/** The reader `ved serve` uses for /v1/ocr, as `ved ocr` does: pages, lines and boxes. */
let pageReader: OCRReader | null = null;
async function ocrReader(): Promise<OCRReader> {
  pageReader ??= await OCRReader.from_pretrained(MODEL);
  return pageReader;
}

/** The real reader behind a gate the test opens, recording each batch it is given. */
class GatedReader implements BatchReader {
  batches: Array<{ size: number; options: ReadOptions; signal?: AbortSignal }> = [];
  private opened = false;
  private waiters: Array<() => void> = [];
  constructor(
    private readonly inner: BatchReader,
    open = false,
  ) {
    this.opened = open;
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
  async read(images: RawImage[], options: ReadOptions, signal?: AbortSignal): Promise<ImageText[]> {
    this.batches.push({ size: images.length, options, ...(signal ? { signal } : {}) });
    if (!this.opened) await new Promise<void>((r) => this.waiters.push(r));
    return this.inner.read(images, options, signal);
  }
}

const servers: VedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(inner: BatchReader, options: ServeOptions = {}): Promise<{ server: VedServer; url: string }> {
  const server = new VedServer({ log: () => undefined, ...options });
  servers.push(server);
  server.setLoaded({ task: 'ocr', reader: inner, model: 'ved-ocr-small' });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}` };
}

function form(files: string[], fields: Record<string, string> = {}): FormData {
  const fd = new FormData();
  for (const f of files) fd.append('image', new Blob([png(f)], { type: 'image/png' }), basename(f));
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}

const postImage = (url: string, body: Uint8Array | string, type = 'image/png') =>
  fetch(`${url}`, { method: 'POST', body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]), headers: { 'content-type': type } });

async function errorOf(res: Response, status: number): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(text.trim().split('\n').length, 1, 'one line');
  const body = JSON.parse(text) as { error: string };
  assert.deepEqual(Object.keys(body), ['error']);
  return body.error;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"=+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();

// `ved ocr` reads pages (lines and boxes) as /v1/ocr does with OCRReader; read whole
// (--layout none) it gives the token ids that the GenerateReader tests compare.
const expectedPages = cliRecords();
const expectedPagesGreedy = cliRecords('--num-beams', '1');
const expected = cliRecords('--layout', 'none');
const expectedGreedy = cliRecords('--layout', 'none', '--num-beams', '1');

test('answers equal what `ved ocr --json` prints for the same images (raw body and multipart)', { timeout: 180_000 }, async () => {
  const { url } = await start(await ocrReader());
  for (const file of EXAMPLES) {
    const res = await postImage(`${url}/v1/ocr`, png(file));
    assert.equal(res.status, 200);
    const got = (await res.json()) as Omit<CliRecord, 'file'> & { file: null };
    const want = expectedPages.get(basename(file))!;
    assert.deepEqual(Object.keys(got), Object.keys(want), 'same fields in the same order');
    assert.deepEqual({ ...got, seconds: 0 }, { ...want, file: null, seconds: 0 });
    assert.ok(got.seconds > 0);
  }
  const res = await fetch(`${url}/v1/ocr`, { method: 'POST', body: form(EXAMPLES.slice(0, 3)) });
  assert.equal(res.status, 200);
  const many = (await res.json()) as CliRecord[];
  assert.deepEqual(
    many.map((r) => ({ ...r, seconds: 0 })),
    EXAMPLES.slice(0, 3).map((f) => ({ ...expectedPages.get(basename(f))!, file: basename(f), seconds: 0 })),
  );
  // Options in the query, as form fields and as a JSON part: greedy, as `ved ocr --num-beams 1`.
  const viaQuery = (await (await postImage(`${url}/v1/ocr?num_beams=1`, png(EXAMPLES[2]!))).json()) as CliRecord;
  const viaField = (await (await fetch(`${url}/v1/ocr`, { method: 'POST', body: form([EXAMPLES[2]!], { num_beams: '1' }) })).json()) as CliRecord[];
  const viaJson = (await (await fetch(`${url}/v1/ocr`, { method: 'POST', body: form([EXAMPLES[2]!], { options: '{"num_beams": 1}' }) })).json()) as CliRecord[];
  const greedy = expectedPagesGreedy.get('line-3.png')!;
  for (const r of [viaQuery, viaField[0]!, viaJson[0]!]) assert.deepEqual(r.lines, greedy.lines);
  // A PNG whose header is intact but whose pixel data is cut off.
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, png(EXAMPLES[0]!).subarray(0, 2000)), 422), /^the request body: could not decode/);
  const short = (await (await postImage(`${url}/v1/ocr?max_new_tokens=3`, png(EXAMPLES[0]!))).json()) as CliRecord;
  // Byte-level tokens: at most 3 characters from each crop of the line.
  assert.ok(short.text.length <= 3 * Math.max(1, short.lines!.length * 2), `max_new_tokens=3 gave '${short.text}'`);
  assert.ok(short.text.length < expectedPages.get('line-1.png')!.text.length);
});

test('concurrent requests are batched, grouped by options, and each gets the text it gets alone', { timeout: 180_000 }, async () => {
  const gated = new GatedReader(await reader());
  const { url } = await start(gated, { maxBatchSize: 4, maxWaitMs: 200 });
  // A first request holds the worker at the gate while the others queue up behind it.
  const first = postImage(`${url}/v1/ocr`, png(EXAMPLES[0]!));
  await until(() => gated.batches.length === 1, 'the first batch');
  const beams = EXAMPLES.map((f) => postImage(`${url}/v1/ocr`, png(f)));
  const greedy = EXAMPLES.slice(0, 3).map((f) => postImage(`${url}/v1/ocr?num_beams=1`, png(f)));
  await until(async () => metric(await metrics(url), 'ved_queue_length') === 9, 'nine queued images');
  gated.open();
  const got = await Promise.all([first, ...beams, ...greedy].map(async (p) => (await p).json() as Promise<CliRecord>));
  assert.deepEqual(
    got.map((r) => r.token_ids),
    [EXAMPLES[0]!, ...EXAMPLES].map((f) => expected.get(basename(f))!.token_ids).concat(EXAMPLES.slice(0, 3).map((f) => expectedGreedy.get(basename(f))!.token_ids)),
  );
  // 1 alone, then the six 4-beam images as 4 + 2 and the three greedy ones as one batch (the
  // order of these three depends on which image finished decoding first).
  const shapes = gated.batches.map((b) => `${b.size}:${b.options.num_beams ?? 'default'}`);
  assert.equal(shapes[0], '1:default');
  assert.deepEqual(shapes.slice(1).sort(), ['2:default', '3:1', '4:default']);
  const m = await metrics(url);
  assert.equal(metric(m, 'ved_batch_size_count'), 4);
  assert.equal(metric(m, 'ved_batch_size_bucket{le="1"}'), 1);
  assert.equal(metric(m, 'ved_images_total'), 10);
  assert.equal(metric(m, 'ved_requests_total{endpoint="/v1/ocr",code="200"}'), 10);
  assert.equal(metric(m, 'ved_request_duration_seconds_count'), 10);
  assert.equal(metric(m, 'ved_requests_in_flight'), 0);
});

test('malformed requests, bad options and undecodable images get 4xx with a one-line JSON error', { timeout: 120_000 }, async () => {
  const { url } = await start(await reader(), { maxBodyBytes: 60_000, maxImagePixels: 1000, maxImages: 2 });
  const img = png(EXAMPLES[1]!);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr?num_beams=0`, img), 400), /num_beams must be an integer from 1 to 16, got "0"/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr?max_new_tokens=lots`, img), 400), /max_new_tokens/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr?beams=2`, img), 400), /unknown query parameter 'beams'; the options are num_beams, max_new_tokens/);
  assert.match(await errorOf(await fetch(`${url}/v1/ocr`, { method: 'POST', body: form([EXAMPLES[1]!], { options: '{"num_beams": 99}' }) }), 400), /num_beams must be an integer from 1 to 16, got 99/);
  assert.match(await errorOf(await fetch(`${url}/v1/ocr`, { method: 'POST', body: form([EXAMPLES[1]!], { options: '{nope' }) }), 400), /"options" part is not JSON/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, 'not an image at all'), 422), /request body: could not decode <19 bytes> as an image/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, new Uint8Array(0)), 422), /empty/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, img, 'application/json'), 415), /Content-Type application\/json is not accepted/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, '--x\r\nno headers end', 'multipart/form-data; boundary=x'), 400), /malformed multipart/);
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, 'hello', 'multipart/form-data'), 400), /no boundary/);
  assert.match(await errorOf(await fetch(`${url}/v1/ocr`, { method: 'POST', body: form([], { num_beams: '2' }) }), 400), /no image/);
  assert.match(await errorOf(await fetch(`${url}/v1/ocr`, { method: 'POST', body: form(EXAMPLES.slice(1, 4)) }), 413), /3 images, over the limit of 2 \(--max-images\)/);
  assert.match(await errorOf(await fetch(`${url}/v1/nope`), 404), /no endpoint \/v1\/nope/);
  const wrong = await fetch(`${url}/v1/ocr`);
  assert.equal(wrong.headers.get('allow'), 'POST');
  assert.match(await errorOf(wrong, 405), /takes POST, got GET/);
  assert.match(await errorOf(await postImage(`${url}/v1/caption`, img), 404), /\/v1\/caption is not served/);
  // Limits: body size (announced, and found while streaming an unannounced one) and pixels.
  assert.match(await errorOf(await postImage(`${url}/v1/ocr`, new Uint8Array(70_000)), 413), /70000 bytes, over the limit of 60000 \(--max-body-bytes\)/);
  const chunked = await rawRequest(url, '/v1/ocr', { 'content-type': 'image/png', 'transfer-encoding': 'chunked' }, (req) => {
    req.write(Buffer.alloc(40_000));
    req.write(Buffer.alloc(40_000));
    req.end();
  });
  assert.equal(chunked.status, 413);
  assert.match(chunked.body, /over the limit of 60000 bytes \(--max-body-bytes\)/);
  const pixels = await errorOf(await postImage(`${url}/v1/ocr`, img), 413);
  assert.match(pixels, /over the limit of 2000 \(2 × --max-image-pixels 1000\).*Raise --max-image-pixels, or give --max-image-pixels 0 for no limit/);
  assert.doesNotMatch(pixels, /maxImagePixels/);
  // The service still reads after all that.
  const m = await metrics(url);
  assert.equal(metric(m, 'ved_requests_in_flight'), 0);
  assert.ok(metric(m, 'ved_request_errors_total{endpoint="/v1/ocr",code="400"}') >= 6);
});

/** A request written by hand (for chunked bodies and clients that leave); resolves to the answer or to the socket's error. */
function rawRequest(
  url: string,
  path: string,
  headers: Record<string, string>,
  write: (req: ReturnType<typeof request>) => void,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    write(req);
  });
}

test('a full service answers 503 with Retry-After; a request over its time limit gets 504 and frees its slot', { timeout: 120_000 }, async () => {
  const gated = new GatedReader(await reader());
  const { url } = await start(gated, { maxQueue: 2, timeoutMs: 1500 });
  const held = [postImage(`${url}/v1/ocr`, png(EXAMPLES[0]!)), postImage(`${url}/v1/ocr`, png(EXAMPLES[1]!))];
  await until(async () => metric(await metrics(url), 'ved_requests_in_flight') === 2, 'two requests in progress');
  const full = await postImage(`${url}/v1/ocr`, png(EXAMPLES[2]!));
  assert.match(full.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.match(await errorOf(full, 503), /the service is full \(2 requests in progress, --max-queue 2\); retry after \d+ s/);
  // The gate stays shut: both run out of time (one being read, one queued) and leave.
  for (const r of await Promise.all(held)) assert.match(await errorOf(r, 504), /not read within 1500 ms \(--timeout-ms\)/);
  const m = await metrics(url);
  assert.equal(metric(m, 'ved_requests_in_flight'), 0);
  assert.equal(metric(m, 'ved_queue_length'), 0);
  assert.equal(gated.batches[0]!.signal?.aborted, true, 'the batch nobody waits for is told to stop');
  gated.open();
  const ok = await postImage(`${url}/v1/ocr`, png(EXAMPLES[2]!));
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as CliRecord).text, expected.get('line-3.png')!.text);
});

test('a client that disconnects mid-upload or mid-generation frees its slot; generation stops', { timeout: 120_000 }, async () => {
  const gated = new GatedReader(await reader());
  const { url } = await start(gated, { maxQueue: 1 });
  // Mid-upload: 100 of an announced 10,000 bytes, then the socket goes.
  const upload = request(`${url}/v1/ocr`, { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': '10000' } });
  upload.on('error', () => undefined);
  upload.write(Buffer.alloc(100));
  await until(async () => metric(await metrics(url), 'ved_requests_in_flight') === 1, 'the upload to be admitted');
  upload.destroy();
  await until(async () => metric(await metrics(url), 'ved_requests_in_flight') === 0, 'the slot to be freed after the upload broke off');
  // Mid-generation: the request reaches the reader, then its client leaves.
  const controller = new AbortController();
  const leaving = fetch(`${url}/v1/ocr`, { method: 'POST', body: new Blob([png(EXAMPLES[1]!)]), headers: { 'content-type': 'image/png' }, signal: controller.signal });
  leaving.catch(() => undefined);
  await until(() => gated.batches.length === 1, 'the request to reach the reader');
  controller.abort();
  await assert.rejects(leaving);
  await until(async () => metric(await metrics(url), 'ved_requests_in_flight') === 0, 'the slot to be freed after the client left');
  assert.equal(gated.batches[0]!.signal?.aborted, true, 'the batch nobody waits for is told to stop');
  assert.equal(metric(await metrics(url), 'ved_client_disconnects_total'), 2);
  gated.open();
  const ok = await postImage(`${url}/v1/ocr`, png(EXAMPLES[0]!));
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as CliRecord).text, expected.get('line-1.png')!.text);
});

test('GenerateReader stops between decoding steps once its signal is aborted', { timeout: 120_000 }, async () => {
  const r = await reader();
  const { RawImage } = await import('../src/processing/image.js');
  const image = await RawImage.read(EXAMPLES[2]!);
  const controller = new AbortController();
  const reading = r.read([image, image], { num_beams: 4 }, controller.signal);
  setImmediate(() => controller.abort());
  await assert.rejects(reading, ReadAborted);
  // The model is fine afterwards.
  const [again] = await r.read([image], {});
  assert.deepEqual(again!.token_ids, expected.get('line-3.png')!.token_ids);
});

test('multipart parsing: quoted boundary and names, several parts, fields, and what is malformed', () => {
  const type = 'multipart/form-data; boundary="a b:c"';
  const boundary = boundaryOf(type)!;
  assert.equal(boundary, 'a b:c');
  const body = Buffer.from(
    'preamble\r\n--a b:c\r\nContent-Disposition: form-data; name="image"; filename="x \\"1\\".png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--a b:c\r\n' +
      'Content-Disposition: form-data; name=num_beams\r\n\r\n2\r\n--a b:c--\r\nepilogue',
    'latin1',
  );
  const parts = parseMultipart(body, boundary);
  assert.deepEqual(
    parts.map((p) => [p.name, p.filename, p.contentType, p.data.toString('latin1')]),
    [
      ['image', 'x "1".png', 'image/png', '\x89PNG'],
      ['num_beams', null, null, '2'],
    ],
  );
  assert.throws(() => parseMultipart(Buffer.from('no delimiter'), 'b'), /no boundary line --b/);
  assert.throws(() => parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated'), 'b'), /ends without its closing boundary/);
  assert.throws(() => parseMultipart(Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--'), 'b'), /no Content-Disposition/);
});

test('ved serve: ready on an ephemeral port; SIGTERM finishes the request in progress, refuses new ones, exits 0', { timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await until(() => /ready: POST http:\/\/127\.0\.0\.1:\d+\/v1\/ocr/.test(stderr) || child.exitCode !== null, 'ved serve to be ready', 120_000);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const url = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${url}/health`)).status, 200);
    // An upload half sent when SIGTERM comes: it is in progress, so it is finished and answered.
    const body = png(EXAMPLES[3]!);
    let sendRest: () => void = () => undefined;
    const inProgress = rawRequest(url, '/v1/ocr', { 'content-type': 'image/png', 'content-length': String(body.length) }, (req) => {
      req.write(body.subarray(0, 1000));
      sendRest = () => req.end(body.subarray(1000));
    });
    await until(async () => metric(await metrics(url), 'ved_requests_in_flight') === 1, 'the upload to be admitted');
    child.kill('SIGTERM');
    await until(() => /SIGTERM: finishing/.test(stderr), 'the SIGTERM notice');
    await assert.rejects(fetch(`${url}/health`), 'the listening socket is closed');
    sendRest();
    const answer = await inProgress;
    assert.equal(answer.status, 200, answer.body);
    const record = JSON.parse(answer.body) as CliRecord;
    assert.deepEqual(record.lines, expectedPages.get('line-4.png')!.lines);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /ved serve: stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('ved serve usage errors exit 2 naming the option; a taken port exits 1', { timeout: 60_000 }, async () => {
  for (const [args, re] of [
    [['--port', 'x'], /--port must be 0 or a positive integer, got 'x'/],
    [['--max-batch-size', '0'], /--max-batch-size must be a positive integer/],
    [['--task', 'translate'], /--task must be ocr or caption/],
    [['--max-image-pixels=-5'], /--max-image-pixels must be a pixel count, or 0 or 'none'/],
    [['--bogus'], /unknown option --bogus/],
  ] as const) {
    const r = ved('serve', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const { url } = await start(await reader());
  const r = ved('serve', '--port', new URL(url).port);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ved serve: cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
});

test('ved ocr, caption and eval take --max-image-pixels, and the refusal names it', { timeout: 180_000 }, () => {
  const r = ved('ocr', '--max-image-pixels', '1000', EXAMPLES[0]!);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /over the limit of 2000 \(2 × --max-image-pixels 1000\).*Raise --max-image-pixels, or give --max-image-pixels 0 for no limit, to load it anyway/);
  assert.doesNotMatch(r.stderr, /maxImagePixels/);
  const c = ved('caption', '--model', MODEL, '--max-image-pixels', '1000', EXAMPLES[0]!);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /--max-image-pixels 1000/);
  for (const none of ['none', '0']) {
    const ok = ved('ocr', '--json', '--max-image-pixels', none, EXAMPLES[0]!);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as CliRecord).text, expectedPages.get('line-1.png')!.text);
  }
  // 12,288-pixel lines: over 1000 pixels each warns, over 2 × 10,000 none is refused.
  const e = ved('eval', MODEL, '--data', join(ROOT, 'examples'), '--limit', '2', '--max-image-pixels', '1000');
  assert.equal(e.code, 1);
  assert.match(e.stderr, /cannot be loaded: .*2 × --max-image-pixels 1000/);
  assert.match(e.stderr, /none of the 2 images/);
});
