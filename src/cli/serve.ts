// `ved serve`: the reading service over HTTP (src/serve/server.ts), with the model loaded here.
// It listens before the model is loaded, so that /health can say "loading" (503) to an
// orchestrator, and a port already taken is reported at once.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkModelArg, dtypeFlag, maxImagePixelsFlag, packageRoot, parse, positiveInt, UsageError, type Command } from './common.js';
import { BUNDLED_OCR_MODEL } from './generate.js';
import type { BatchReader, ServeTask } from '../serve/reader.js';

const HELP = `Usage: ved serve [options]

Serve a VisionEncoderDecoder model over HTTP, batching the images of concurrent requests.

  POST /v1/ocr       one image as the body (Content-Type image/*), or several as
                     multipart/form-data; answers what 'ved ocr --json' prints for it:
                     {"file", "text", "token_ids", "seconds"} (an array for multipart)
  POST /v1/caption   the same for a captioning model
  GET  /health       200 once the model is loaded (503 before)
  GET  /metrics      Prometheus text: requests, errors, queue length, batch sizes, latency

Request options, in the query (?num_beams=4&max_new_tokens=32), as multipart fields, or as a
multipart part named "options" holding JSON: num_beams, max_new_tokens. Errors are 4xx/5xx with
{"error": "..."}; a full service answers 503 with Retry-After. SIGTERM or SIGINT stops taking
requests, finishes those in progress, then exits 0 (a second signal exits at once, status 1).

Options:
  --model PATH|OWNER/NAME  model folder or hub id (default: the bundled ${BUNDLED_OCR_MODEL})
  --task ocr|caption       which endpoint the model serves (default: ocr for a TrOCR decoder
                           or the bundled model, caption otherwise)
  --host HOST              address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port N                 port (default 8080; 0: any free port, printed at start)
  --dtype float32|int8     weights to compute with (default float32)
  --threads N              ONNX Runtime's threads for one batch (default: one per core); on a
                           machine whose cores other processes also use, 1 is often faster
  --max-batch-size N       images per batch at most; 1 turns batching off (default 8)
  --max-wait-ms N          a batch that is not full waits 4 times this at most, from when its
                           first image arrived or the previous batch ended: for the clients that
                           batch answered, or while images keep coming within N ms (default 5)
  --max-queue N            requests in progress at once; more get 503 (default 64)
  --max-body-bytes N       largest request body (default 20971520, 20 MiB)
  --max-images N           most images in one multipart request (default 16)
  --max-image-pixels N     decompression-bomb limit, as PIL's Image.MAX_IMAGE_PIXELS: an image
                           of over 2 × N pixels is refused (413); 0 or 'none': no limit
                           (default 89478485, PIL's)
  --timeout-ms N           per-request time limit, arrival to answer (default 60000)
  -h, --help               show this help
`;

const OPTIONS = {
  model: { type: 'string' },
  task: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  dtype: { type: 'string' },
  threads: { type: 'string' },
  'max-batch-size': { type: 'string' },
  'max-wait-ms': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'max-images': { type: 'string' },
  'max-image-pixels': { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

function nonNegativeInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new UsageError(`ved serve: ${flag} must be 0 or a positive integer, got '${value}'`);
  return Number(value);
}

/** The task a model is served for when --task is not given: TrOCR-style decoders read text. */
function guessTask(modelId: string, bundled: boolean): ServeTask {
  if (bundled) return 'ocr';
  const config = join(modelId, 'config.json');
  if (!existsSync(config)) return 'caption';
  try {
    const c = JSON.parse(readFileSync(config, 'utf8')) as { decoder?: { model_type?: string } };
    return c.decoder?.model_type === 'trocr' ? 'ocr' : 'caption';
  } catch {
    return 'caption'; // loading the model will report the bad config.json
  }
}

export const serve: Command = {
  name: 'serve',
  summary: 'serve a model over HTTP, batching concurrent requests',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parse('serve', argv, OPTIONS);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`ved serve: unexpected argument '${positionals[0]}' (the model is --model PATH; see 'ved serve --help')`);
    const host = values.host ?? '127.0.0.1';
    const port = nonNegativeInt('--port', values.port) ?? 8080;
    if (port > 65535) throw new UsageError(`ved serve: --port must be at most 65535, got ${port}`);
    if (values.task !== undefined && values.task !== 'ocr' && values.task !== 'caption') throw new UsageError(`ved serve: --task must be ocr or caption, got '${values.task}'`);
    const dtype = dtypeFlag('serve', values.dtype);
    const threads = positiveInt('serve', '--threads', values.threads);
    const { maxImagePixels } = maxImagePixelsFlag('serve', values['max-image-pixels']);
    const serverOptions = {
      maxBatchSize: positiveInt('serve', '--max-batch-size', values['max-batch-size']),
      maxWaitMs: nonNegativeInt('--max-wait-ms', values['max-wait-ms']),
      maxQueue: positiveInt('serve', '--max-queue', values['max-queue']),
      maxBodyBytes: positiveInt('serve', '--max-body-bytes', values['max-body-bytes']),
      maxImages: positiveInt('serve', '--max-images', values['max-images']),
      timeoutMs: positiveInt('serve', '--timeout-ms', values['timeout-ms']),
      maxImagePixels,
    };
    let modelArg = values.model;
    const bundled = modelArg === undefined;
    if (modelArg === undefined) {
      modelArg = join(packageRoot(), BUNDLED_OCR_MODEL);
      if (!existsSync(join(modelArg, 'config.json'))) throw new Error(`ved serve: no bundled model is installed (${modelArg} is missing); pass --model PATH|OWNER/NAME`);
    }
    const modelId = checkModelArg('serve', '--model', modelArg);
    const task: ServeTask = (values.task as ServeTask | undefined) ?? guessTask(modelId, bundled);

    const { VedServer } = await import('../serve/server.js');
    const server = new VedServer(serverOptions);
    const address = await server.listen(port, host).catch((e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
      throw new Error(`ved serve: cannot listen on ${host}:${port}: ${why}`);
    });
    const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
    process.stderr.write(`ved serve: listening on http://${shown}:${address.port} (loading ${modelArg} for /v1/${task})\n`);

    let stopping: Promise<void> | null = null;
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        if (stopping) {
          // A second signal: the operator does not want to wait for the requests in progress.
          process.stderr.write(`ved serve: ${signal} again: exiting without finishing the requests in progress\n`);
          process.exit(1);
        }
        process.stderr.write(`ved serve: ${signal}: finishing the requests in progress, taking no more\n`);
        stopping = server.close().then(resolve);
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

    if (threads !== undefined) {
      const { setDefaultThreads } = await import('../runtime/session.js');
      setDefaultThreads(threads);
    }
    // OCR reads pages (lines and boxes, as `ved ocr` does); captioning reads each image whole.
    const { GenerateReader } = await import('../serve/generate_reader.js');
    const { PageReader } = await import('../serve/page_reader.js');
    const load = task === 'ocr' ? PageReader.from_pretrained(modelId, { dtype }) : GenerateReader.from_pretrained(modelId, { dtype });
    const reader: BatchReader = await load.catch(async (e: Error) => {
      await server.close(); // else the open socket keeps the process alive after the error
      throw new Error(`ved serve: ${e.message}`);
    });
    // The first generate builds the ONNX Runtime sessions (seconds): do it before taking requests,
    // so that the first client does not pay for it and /health turns 200 only when it is fast.
    const { RawImage } = await import('../processing/image.js');
    await reader.read([RawImage.fromPixels(new Uint8Array(64 * 64 * 3).fill(255), 64, 64, 3)], { max_new_tokens: 2 });
    if (!stopping) {
      server.setLoaded({ task, reader, model: modelArg });
      process.stderr.write(`ved serve: ready: POST http://${shown}:${address.port}/v1/${task}\n`);
    }
    await stopped;
    process.stderr.write('ved serve: stopped\n');
    return 0;
  },
};
