// The floor under a `ved ocr` process, for bench/startup.ts: `node startup_floor.js CACHE_DIR STEPS`.
// It imports nothing but onnxruntime-node (no module of this library, not even bench/'s), loads
// the two session entries a `ved ocr` run left in CACHE_DIR with the options that command uses,
// runs the encoder once and STEPS decode steps of one row on zero inputs, and exits.

import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * Runs in a fresh process: only onnxruntime-node, the session entries under `cacheDir` (the
 * encoder's and the decode step's, with the options `ved ocr` loads them with) and `steps` decode
 * steps of one row on zero inputs.
 */
async function floorChild(cacheDir: string, steps: number): Promise<void> {
  const ort = (await import('onnxruntime-node')).default;
  const options = {
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'disabled' as const,
    executionMode: 'sequential' as const,
    extra: { session: { force_spinning_stop: '1', disable_prepacking: '1' } },
  };
  const sessions = [];
  for (const d of readdirSync(cacheDir, { withFileTypes: true })) {
    if (d.isDirectory() && existsSync(join(cacheDir, d.name, 'model.onnx'))) sessions.push(await ort.InferenceSession.create(join(cacheDir, d.name, 'model.onnx'), options));
  }
  const encoder = sessions.find((s) => s.inputNames.includes('pixel_values'));
  const step = sessions.find((s) => s.inputNames.includes('past_idx'));
  if (sessions.length !== 2 || !encoder || !step) throw new Error(`bench/startup_floor: expected an encoder and a decode-step entry in ${cacheDir}, found ${sessions.length} entries`);
  const dims = (m: unknown) => ((m as { shape: (number | string)[] }).shape).map((d) => (typeof d === 'number' ? d : 1));
  const pixelDims = dims(encoder.inputMetadata.find((m) => m.name === 'pixel_values'));
  const cross = await encoder.run({ pixel_values: new ort.Tensor('float32', new Float32Array(pixelDims.reduce((a, b) => a * b, 1)), pixelDims) });
  const cacheDims = dims(step.inputMetadata.find((m) => m.name === 'cache.0.key'));
  const cache = new Float32Array((steps + 1) * cacheDims[1]! * cacheDims[2]!);
  const outputs = step.outputNames.filter((n) => n !== 'log_probs');
  for (let i = 0; i < steps; i++) {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.of(0n), [1, 1]),
      past_idx: new ort.Tensor('int32', Int32Array.from({ length: i }, (_, j) => j), [1, i]),
    };
    for (const name of step.inputNames) {
      if (name.startsWith('cache.')) feeds[name] = new ort.Tensor('float32', cache, [steps + 1, cacheDims[1]!, cacheDims[2]!]);
      else if (name.startsWith('cross.')) feeds[name] = cross[name]!;
    }
    await step.run(feeds, outputs);
  }
}

await floorChild(process.argv[2]!, Number(process.argv[3]));
