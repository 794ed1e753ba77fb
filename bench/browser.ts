// `npm run bench:browser [-- --rounds N]`: time per text line of the bundled OCR model in
// headless Chromium (onnxruntime-web, WASM + SIMD, threads on: the page is cross-origin
// isolated) against this Node process (onnxruntime-node), in the same run. Not part of npm test.
//
// Each line is read alone (batch 1: what the demo page does), greedy and with the model's 4
// beams, preprocessing included. Node and the browser take turns per round, so drift in this
// machine's speed falls on both; the median per line over rounds and lines is reported. Sessions
// are built by one untimed warm-up pass on each side.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { packageRoot } from '../src/cli/common.js';
import { startStaticServer } from '../src/cli/demo.js';
import { VisionEncoderDecoderModel } from '../src/models/vision_encoder_decoder.js';
import { AutoImageProcessor } from '../src/processing/image_processors.js';
import { median } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
  const rounds = Number(values.rounds);
  if (!existsSync(CHROMIUM)) throw new Error(`bench:browser needs ${CHROMIUM} (apt-get install -y chromium)`);
  const root = packageRoot();
  const modelDir = join(root, 'models', 'ved-ocr-small');
  const lines = readFileSync(join(root, 'examples', 'metadata.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { file_name: string }).file_name);

  const model = await VisionEncoderDecoderModel.from_pretrained(modelDir);
  const processor = await AutoImageProcessor.from_pretrained(modelDir);
  const nodeRead = async (file: string, num_beams: number) => {
    const t0 = performance.now();
    const { pixel_values } = await processor.preprocess(join(root, 'examples', file));
    await model.generate(pixel_values, { num_beams });
    return performance.now() - t0;
  };

  const server = await startStaticServer({ root });
  const profile = mkdtempSync(join(tmpdir(), 'ved-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/examples/browser/`);
    const setup = await page.evaluate(async () => {
      const m = await import('/dist/browser/vision-encoder-decoder.js' as string);
      const MODEL = '/models/ved-ocr-small/';
      const w = globalThis as unknown as Record<string, unknown>;
      w.bench = { model: await m.VisionEncoderDecoderModel.from_pretrained(MODEL), processor: await m.AutoImageProcessor.from_pretrained(MODEL) };
      return { isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, userAgent: navigator.userAgent };
    });
    const webRead = (file: string, num_beams: number) =>
      page.evaluate(
        async ({ file, num_beams }) => {
          const { model, processor } = (globalThis as unknown as { bench: { model: any; processor: any } }).bench;
          const t0 = performance.now();
          const { pixel_values } = await processor.preprocess(`/examples/${file}`);
          await model.generate(pixel_values, { num_beams });
          return performance.now() - t0;
        },
        { file, num_beams },
      );

    // Warm-up: builds both sides' sessions (and compiles the WASM), untimed.
    const warm = { node: performance.now(), web: 0 };
    for (const b of [1, 4]) await nodeRead(lines[0]!, b);
    warm.node = performance.now() - warm.node;
    warm.web = performance.now();
    for (const b of [1, 4]) await webRead(lines[0]!, b);
    warm.web = performance.now() - warm.web;

    const times: Record<string, number[]> = { 'node greedy': [], 'browser greedy': [], 'node 4 beams': [], 'browser 4 beams': [] };
    for (let r = 0; r < rounds; r++) {
      for (const file of lines) {
        for (const b of [1, 4]) {
          const label = b === 1 ? 'greedy' : '4 beams';
          times[`node ${label}`]!.push(await nodeRead(file, b));
          times[`browser ${label}`]!.push(await webRead(file, b));
        }
      }
    }
    console.log(`bench:browser — models/ved-ocr-small, ${lines.length} example lines × ${rounds} rounds, batch 1, preprocessing included`);
    console.log(`Chromium: ${setup.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? setup.userAgent}, onnxruntime-web WASM+SIMD, ${setup.isolated ? `cross-origin isolated (${setup.cores} threads)` : '1 thread (not isolated)'}`);
    console.log(`Node ${process.version}, onnxruntime-node, ${availableParallelism()} threads; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`first read (session creation): node ${warm.node.toFixed(0)} ms, browser ${warm.web.toFixed(0)} ms`);
    for (const label of ['greedy', '4 beams']) {
      const n = median(times[`node ${label}`]!);
      const w = median(times[`browser ${label}`]!);
      console.log(`${label.padEnd(8)} per line: node ${n.toFixed(1)} ms, browser ${w.toFixed(1)} ms (${(w / n).toFixed(2)}× node)`);
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
