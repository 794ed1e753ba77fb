// Runs the `gen_*` cases of a model fixture (test/fixtures/hf/models/<case>/) through generate()
// and compares the token ids with Python's. The decoder session comes from a factory, so the same
// helper checks the generation algorithms with a replay of recorded logits and, once the models
// exist, the real encoder-decoder end to end.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { GenerationConfig } from '../src/generation/configuration.js';
import { generate } from '../src/generation/search.js';
import type { DecoderSession } from '../src/generation/types.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { loadSafetensors } from '../src/weights/safetensors.js';

export interface GenerationCase {
  /** The fixture directory. */
  caseDir: string;
  /** The gen_* name without the prefix, e.g. 'beam3'. */
  name: string;
  /** case.json's generate[name]: the keyword arguments of Python's generate call. */
  kwargs: Record<string, unknown>;
  /** The model's generation_config.json merged with kwargs: what generate() runs with. */
  config: GenerationConfig;
  /** Every tensor of io.safetensors (pixel_values, greedy_scores, gen_*, ...). */
  io: Map<string, Tensor>;
  /** The number of images (pixel_values' first dimension). */
  batch_size: number;
}

export interface GenerationCaseResult {
  name: string;
  expected: bigint[][];
  actual: bigint[][];
  equal: boolean;
}

export type SessionFactory = (c: GenerationCase) => Promise<DecoderSession> | DecoderSession;

const rowsOf = (t: Tensor): bigint[][] => {
  const [rows, cols] = t.dims as [number, number];
  const data = t.data as BigInt64Array;
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
};

/**
 * For every `gen_NAME` of the case (or only those `names` lists), runs generate() on a session
 * from `sessionFactory` with the model's generation config plus case.json's kwargs, and compares
 * the sequences with Python's.
 */
export async function runGenerationFixture(caseDir: string, sessionFactory: SessionFactory, names?: readonly string[]): Promise<GenerationCaseResult[]> {
  const caseJson = JSON.parse(await readFile(join(caseDir, 'case.json'), 'utf8')) as { generate: Record<string, Record<string, unknown>> };
  const modelGeneration = JSON.parse(await readFile(join(caseDir, 'model', 'generation_config.json'), 'utf8')) as Record<string, unknown>;
  const { tensors: io } = await loadSafetensors(join(caseDir, 'io.safetensors'));
  const pixelValues = io.get('pixel_values');
  if (!pixelValues) throw new Error(`${caseDir}/io.safetensors has no pixel_values`);

  const results: GenerationCaseResult[] = [];
  for (const [name, kwargs] of Object.entries(caseJson.generate)) {
    if (names && !names.includes(name)) continue;
    const expectedTensor = io.get(`gen_${name}`);
    if (!expectedTensor) throw new Error(`${caseDir}/io.safetensors has no gen_${name}`);
    const config = GenerationConfig.from_dict(modelGeneration, kwargs);
    const c: GenerationCase = { caseDir, name, kwargs, config, io, batch_size: pixelValues.dims[0]! };
    const session = await sessionFactory(c);
    try {
      const out = await generate(session, c.batch_size, config);
      const expected = rowsOf(expectedTensor);
      const actual = rowsOf(out.sequences);
      results.push({ name, expected, actual, equal: JSON.stringify(expected.map(String)) === JSON.stringify(actual.map(String)) });
    } finally {
      session.dispose?.();
    }
  }
  return results;
}

/**
 * A session that replays a fixture's `greedy_scores` ([steps, images, vocab], the scores of each
 * greedy step): a row gets the recorded scores while its tokens are still those of `gen_greedy`,
 * and NaN logits once it leaves that path, so a result that depended on unrecorded logits cannot
 * pass by accident. Only greedy runs that stay on the recorded path can be reproduced.
 */
export class ReplaySession implements DecoderSession {
  readonly vocab_size: number;
  private rows: { image: number; tokens: bigint[] }[];
  private readonly steps: number;
  private readonly path: bigint[][];
  private readonly scores: Float32Array;
  private stepped = false;

  constructor(io: Map<string, Tensor>) {
    const scores = io.get('greedy_scores');
    const greedy = io.get('gen_greedy');
    if (!scores || !greedy) throw new Error('ReplaySession needs greedy_scores and gen_greedy');
    const [steps, images, vocab] = scores.dims as [number, number, number];
    this.steps = steps;
    this.vocab_size = vocab;
    this.scores = scores.data as Float32Array;
    this.path = rowsOf(greedy);
    this.rows = Array.from({ length: images }, (_, image) => ({ image, tokens: [] }));
  }

  expand(n: number): void {
    if (this.stepped) throw new Error('ReplaySession: expand() after the first step');
    this.rows = this.rows.flatMap((r) => Array.from({ length: n }, () => ({ image: r.image, tokens: [...r.tokens] })));
  }

  async step(new_tokens: BigInt64Array, cur_len: number): Promise<Float32Array> {
    this.stepped = true;
    if (new_tokens.length !== this.rows.length) throw new Error(`ReplaySession: ${new_tokens.length} tokens for ${this.rows.length} rows`);
    const V = this.vocab_size;
    const out = new Float32Array(this.rows.length * V).fill(NaN);
    this.rows.forEach((row, r) => {
      row.tokens.push(new_tokens[r]!);
      if (row.tokens.length !== cur_len) throw new Error(`ReplaySession: row ${r} has ${row.tokens.length} tokens, cur_len is ${cur_len}`);
      const path = this.path[row.image]!;
      const onPath = cur_len - 1 < this.steps && row.tokens.every((t, i) => path[i] === t);
      if (onPath) out.set(this.scores.subarray(((cur_len - 1) * this.path.length + row.image) * V, ((cur_len - 1) * this.path.length + row.image + 1) * V), r * V);
    });
    return out;
  }

  reorder(beam_idx: Int32Array): void {
    this.rows = Array.from(beam_idx, (i) => ({ image: this.rows[i]!.image, tokens: [...this.rows[i]!.tokens] }));
  }
}
