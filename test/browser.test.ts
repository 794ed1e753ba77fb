// The library in a real browser: headless Chromium opens a page served here on 127.0.0.1 and
// imports the browser build (dist/browser, onnxruntime-web) as a page does, with an import map.
// Compared with this process (onnxruntime-node, sharp), on the bundled OCR model and the example
// lines: the image processors' pixel values (exact), greedy and beam-search token ids (equal),
// the training loss, every gradient and one AdamW step (within 1e-4); and bad sources fail
// naming the URL, with nothing half-cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { startStaticServer } from '../src/cli/demo.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AutoImageProcessor, ViTImageProcessor } from '../src/processing/image_processors.js';
import { AutoTokenizer } from '../src/processing/tokenizers.js';
import { AdamW } from '../src/training/optim.js';
import { Tensor } from '../src/runtime/tensor.js';
import { OCRReader } from '../src/ocr/reader.js';

const CHROMIUM = '/usr/bin/chromium';
const MODEL_DIR = join(ROOT, 'models', 'ved-ocr-small');
const EXAMPLES = readFileSync(join(ROOT, 'examples', 'metadata.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { file_name: string; text: string });
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const ids = (t: Tensor) => (t.tolist() as bigint[][]).map((r) => r.map(Number));

test('browser: Chromium on onnxruntime-web gives node’s pixels, token ids, loss, gradients and AdamW step', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium)`, timeout: 180_000 }, async (t) => {
  const { chromium } = await import('playwright-core');

  // A folder of broken model files, and a second origin that sends no CORS headers.
  const bad = mkdtempSync(join(tmpdir(), 'ved-browser-bad-'));
  mkdirSync(join(bad, 'html-config'));
  writeFileSync(join(bad, 'html-config', 'config.json'), '<!doctype html><title>Not found</title>');
  mkdirSync(join(bad, 'bad-weights'));
  for (const f of ['config.json', 'generation_config.json']) copyFileSync(join(MODEL_DIR, f), join(bad, 'bad-weights', f));
  writeFileSync(join(bad, 'bad-weights', 'model.safetensors'), readFileSync(join(MODEL_DIR, 'model.safetensors')).subarray(0, 4096));
  const server = await startStaticServer({ root: ROOT, extra: { '/bad/': bad } });
  const foreign = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(readFileSync(join(MODEL_DIR, 'config.json')));
  });
  await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', () => r()));
  const foreignUrl = `http://127.0.0.1:${(foreign.address() as { port: number }).port}/model/`;
  // A port nothing listens on (Chromium refuses some low ports outright, which is another error).
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const deadUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}/model/`;
  await new Promise<void>((r) => closed.close(() => r()));

  const profile = mkdtempSync(join(tmpdir(), 'ved-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/examples/browser/`);

    // The reference, in this process.
    const model = await VisionEncoderDecoderModel.from_pretrained(MODEL_DIR);
    const tokenizer = await AutoTokenizer.from_pretrained(MODEL_DIR);
    const donut = await AutoImageProcessor.from_pretrained(MODEL_DIR);
    const vit = new ViTImageProcessor({ size: { height: 40, width: 200 }, resample: 3 });
    const files = EXAMPLES.map((e) => join(ROOT, 'examples', e.file_name));
    const { pixel_values } = await donut.preprocess(files);
    const vitPixels = (await vit.preprocess(files)).pixel_values;
    const greedy = ids(await model.generate(pixel_values, { num_beams: 1 }));
    const beams = ids(await model.generate(pixel_values, { num_beams: 4 }));
    const sampled = ids(await model.generate(pixel_values, { num_beams: 1, do_sample: true, top_k: 5, temperature: 0.7, seed: 7 }));
    model.dtype = 'int8';
    const int8 = ids(await model.generate(pixel_values, { num_beams: 1 }));
    model.dtype = 'float32';
    // Training on two lines: labels are the texts' token ids, -100 past each one's end.
    const rows = EXAMPLES.slice(0, 2).map((e) => tokenizer.encode(e.text));
    const L = Math.max(...rows.map((r) => r.length));
    const labels = rows.map((r) => [...r, ...Array(L - r.length).fill(-100)]);
    const trainPixels = new Tensor('float32', (pixel_values.data as Float32Array).slice(0, 2 * 3 * 32 * 384), [2, 3, 32, 384]);
    const { loss, grads } = await model.compute_gradients({ pixel_values: trainPixels, labels: new Tensor('int64', BigInt64Array.from(labels.flat(), BigInt), [2, L]) });
    const names = [...grads.keys()].sort();
    const opt = new AdamW(model.named_parameters(), { lr: 1e-3, weight_decay: 0.01 });
    opt.step(grads);
    const params = model.named_parameters();

    const web = await page.evaluate(
      async ({ files, labels, names, L }) => {
        const m = await import('/dist/browser/vision-encoder-decoder.js' as string);
        const b64 = (a: Float32Array) => {
          const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
          let s = '';
          for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
          return btoa(s);
        };
        const rows = (t: { tolist(): bigint[][] }) => t.tolist().map((r) => r.map(Number));
        const MODEL = '/models/ved-ocr-small/';
        const model = await m.VisionEncoderDecoderModel.from_pretrained(MODEL);
        const donut = await m.AutoImageProcessor.from_pretrained(MODEL);
        const vit = new m.ViTImageProcessor({ size: { height: 40, width: 200 }, resample: 3 });
        // The images as a page has them: URLs, and a Blob (as from a file input or a drop).
        const blob = await (await fetch(files[0])).blob();
        const { pixel_values } = await donut.preprocess([blob, ...files.slice(1)]);
        const vitPixels = (await vit.preprocess(files)).pixel_values;
        const t0 = performance.now();
        const greedy = rows(await model.generate(pixel_values, { num_beams: 1 }));
        const t1 = performance.now();
        const beams = rows(await model.generate(pixel_values, { num_beams: 4 }));
        const t2 = performance.now();
        const sampled = rows(await model.generate(pixel_values, { num_beams: 1, do_sample: true, top_k: 5, temperature: 0.7, seed: 7 }));
        // int8 weights: the graphs run onnxruntime's MatMulNBits and DynamicQuantizeMatMul kernels.
        model.dtype = 'int8';
        const int8 = rows(await model.generate(pixel_values, { num_beams: 1 }));
        model.dtype = 'float32';
        // A page through the OCR reader: layout analysis, crops, batched reading.
        const reader = await m.OCRReader.from_pretrained(MODEL);
        const pages = await reader.read(['/examples/page-1.png', '/examples/page-2.png'], { num_beams: 1 });
        const trainPixels = new m.Tensor('float32', pixel_values.data.slice(0, 2 * 3 * 32 * 384), [2, 3, 32, 384]);
        let training: unknown;
        try {
          const { loss, grads } = await model.compute_gradients({ pixel_values: trainPixels, labels: new m.Tensor('int64', BigInt64Array.from(labels.flat(), BigInt), [2, L]) });
          const opt = new m.AdamW(model.named_parameters(), { lr: 1e-3, weight_decay: 0.01 });
          opt.step(grads);
          const params = model.named_parameters();
          training = { loss, grads: names.map((n: string) => b64(grads.get(n).data)), params: names.map((n: string) => b64(params.get(n).data)) };
        } catch (e) {
          training = { error: (e as Error).message };
        }
        return { isolated: crossOriginIsolated, pixels: b64(pixel_values.data), vitPixels: b64(vitPixels.data), greedy, beams, sampled, int8, pages, ms: { greedy: t1 - t0, beams: t2 - t1 }, training };
      },
      { files: EXAMPLES.map((e) => `/examples/${e.file_name}`), labels, names, L },
    );

    await t.test('cross-origin isolated (WASM threads)', () => assert.equal(web.isolated, true));
    await t.test('image processors: the same pixel values (PNG decoding and resize exact)', () => {
      assert.equal(maxDiff(f32(web.pixels), pixel_values.data as Float32Array), 0);
      assert.equal(maxDiff(f32(web.vitPixels), vitPixels.data as Float32Array), 0);
    });
    await t.test('greedy, beam-search and sampled (seeded) token ids equal node’s; int8 too, but at a near-tie', async () => {
      assert.deepEqual(web.greedy, greedy);
      assert.deepEqual(web.beams, beams);
      assert.deepEqual(web.sampled, sampled);
      // int8: onnxruntime-web's WASM kernels (MatMulNBits, DynamicQuantizeMatMul) sum in another
      // order than onnxruntime-node's AVX-512 ones, so the two may part where the model itself
      // hesitates between two tokens. A row may differ only at a step where node's float32
      // logits put the two within 0.25 (measured with run 8: line-2's first token, "T" 5.881
      // against "-" 5.811), and in one row at most.
      const fresh = await VisionEncoderDecoderModel.from_pretrained(MODEL_DIR);
      const per = 3 * 32 * 384;
      let differing = 0;
      for (let i = 0; i < int8.length; i++) {
        const a = int8[i]!;
        const b = (web.int8 as number[][])[i]!;
        if (JSON.stringify(a) === JSON.stringify(b)) continue;
        differing++;
        let p = 0;
        while (a[p] === b[p]) p++;
        assert.ok(p > 0, `row ${i}: the decoder start differs`);
        const image = new Tensor('float32', (pixel_values.data as Float32Array).slice(i * per, (i + 1) * per), [1, 3, 32, 384]);
        const { logits } = await fresh.forward({ pixel_values: image, decoder_input_ids: new Tensor('int64', BigInt64Array.from(a.slice(0, p), BigInt), [1, p]) });
        const V = logits.dims[2]!;
        const last = (logits.data as Float32Array).subarray((p - 1) * V, p * V);
        const gap = Math.abs(last[a[p]!]! - last[b[p]!]!);
        assert.ok(gap < 0.25, `row ${i} parts at step ${p} (node ${a[p]}, browser ${b[p]}) where float32's logits are ${gap.toFixed(3)} apart`);
      }
      assert.ok(differing <= 1, `${differing} int8 rows differ`);
    });
    await t.test('OCRReader on pages: the same lines, boxes and texts as node', async () => {
      const reader = await OCRReader.from_pretrained(MODEL_DIR);
      const want = await reader.read(['page-1.png', 'page-2.png'].map((f) => join(ROOT, 'examples', f)), { num_beams: 1 });
      assert.deepEqual(web.pages, want);
      assert.ok(want[0]!.lines.length >= 7, JSON.stringify(want[0]));
    });
    await t.test('training: loss, gradients and one AdamW step within 1e-4', (t) => {
      const tr = web.training as { error?: string; loss: number; grads: string[]; params: string[] };
      assert.equal(tr.error, undefined, `onnxruntime-web could not run the training graph: ${tr.error}`);
      assert.ok(Math.abs(tr.loss - loss) < 1e-4, `loss ${tr.loss} vs node ${loss}`);
      // Adam's first step is lr·g/(|g|+ε) per weight (ε = 1e-8): where a gradient is itself
      // rounding noise (|g| ~ 1e-9, e.g. attention key biases, whose true gradient is 0) the two
      // engines' last-bit differences become different steps of up to lr. Weights with |g| ≥ 1e-6
      // (100 ε) must agree within 1e-4; the others are counted.
      let noisy = 0;
      let total = 0;
      names.forEach((n, i) => {
        const gw = f32(tr.grads[i]!);
        const gn = grads.get(n)!.data as Float32Array;
        const g = maxDiff(gw, gn);
        assert.ok(g < 1e-4, `gradient of ${n} differs by ${g}`);
        const pw = f32(tr.params[i]!);
        const pn = params.get(n)!.data as Float32Array;
        total += pw.length;
        for (let j = 0; j < pw.length; j++) {
          if (Math.max(Math.abs(gn[j]!), Math.abs(gw[j]!)) < 1e-6) {
            noisy++;
            continue;
          }
          const d = Math.abs(pw[j]! - pn[j]!);
          assert.ok(d < 1e-4, `${n}[${j}] after the AdamW step differs by ${d} (gradient ${gn[j]} here, ${gw[j]} in the browser)`);
        }
      });
      t.diagnostic(`AdamW step: ${total - noisy} weights compared, ${noisy} with |gradient| < 1e-6 not compared`);
    });

    await t.test('bad sources: an Error naming the URL and what was expected; nothing half-cached', async () => {
      const errors = await page.evaluate(
        async ({ foreignUrl, deadUrl }) => {
          const m = await import('/dist/browser/vision-encoder-decoder.js' as string);
          const fail = async (f: () => Promise<unknown>) => {
            try {
              await f();
              return 'no error';
            } catch (e) {
              return (e as Error).message;
            }
          };
          const cache = await caches.open('vision-encoder-decoder');
          const base = location.origin;
          const out = {
            unreachable: await fail(() => m.VisionEncoderDecoderModel.from_pretrained(deadUrl)),
            missing: await fail(() => m.VisionEncoderDecoderModel.from_pretrained('/models/no-such-model/')),
            cors: await fail(() => m.AutoConfig.from_pretrained(foreignUrl)),
            html: await fail(() => m.VisionEncoderDecoderModel.from_pretrained('/bad/html-config/')),
            weights: await fail(() => m.VisionEncoderDecoderModel.from_pretrained('/bad/bad-weights/')),
            image: await fail(() => m.loadImage('/models/ved-ocr-small/config.json')),
            cached: {
              goodConfig: !!(await cache.match(`${base}/bad/bad-weights/config.json`)),
              badWeights: !!(await cache.match(`${base}/bad/bad-weights/model.safetensors`)),
              htmlConfig: !!(await cache.match(`${base}/bad/html-config/config.json`)),
              modelWeights: !!(await cache.match(`${base}/models/ved-ocr-small/model.safetensors`)),
            },
          };
          return out;
        },
        { foreignUrl, deadUrl },
      );
      assert.ok(errors.unreachable.startsWith(`could not fetch ${deadUrl}config.json (expected a JSON config file): `), errors.unreachable);
      assert.match(errors.missing, /\/models\/no-such-model\/config\.json \(expected a JSON config file\): HTTP 404/);
      assert.match(errors.cors, new RegExp(`could not fetch ${foreignUrl.replace(/[./]/g, '\\$&')}config\\.json .*CORS`));
      assert.match(errors.html, /\/bad\/html-config\/config\.json is not a JSON config file: /);
      assert.match(errors.weights, /\/bad\/bad-weights\/model\.safetensors is not safetensors weights: .*truncated/);
      assert.match(errors.image, /loadImage: could not decode .*config\.json.* as an image/);
      assert.deepEqual(errors.cached, { goodConfig: true, badWeights: false, htmlConfig: false, modelWeights: true });
    });

    await t.test('no uncaught errors in the page', () => assert.deepEqual(pageErrors, []));
    t.diagnostic(`browser: greedy ${web.ms.greedy.toFixed(0)} ms, 4 beams ${web.ms.beams.toFixed(0)} ms for ${EXAMPLES.length} lines (first run includes session creation)`);
  } finally {
    await browser.close();
    await server.close();
    await new Promise<void>((r) => foreign.close(() => r()));
    rmSync(profile, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  }
});
