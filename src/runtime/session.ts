// Running graphs: a compiled graph owns one ONNX Runtime session. Feeds are checked against the
// graph's inputs before ORT sees them, so a wrong name, dtype or shape says which input and what
// it expected instead of an opaque ORT error.

import type * as ort from 'onnxruntime-node';
import { env } from '../env/index.js';
import { type DType, type Graph, type Shape, type Sym } from '../graph/graph.js';
import { describeOnnx, toOnnx } from '../graph/onnx.js';
import { lazySource, Tensor } from './tensor.js';

export interface SessionOptions {
  /** Threads for one op; default every core. */
  threads?: number;
  /** ORT graph optimisation level; default 'all'. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write the optimised model here (to check which ops ORT fused). */
  optimizedModelFilePath?: string;
  /**
   * Let the intra-op threads spin-wait for work after a run ends (ORT's default). Off here by
   * default (session.force_spinning_stop): they spin during a run, then sleep. Every session
   * has threads of its own, and in this library sessions take turns (encoder, then decode steps;
   * training step, then CTC head): threads still spinning after their run take the cores the next
   * session needs. Measured on 2 cores, ViT-B/16 + GPT-2: the first decode step after the encoder
   * took 38–51 ms with the encoder's threads spinning, 22–28 ms without.
   */
  spinAfterRun?: boolean;
  /**
   * Use the disk cache of optimised sessions (env.modelCache, where there is one). Default false:
   * it pays where weights are baked in (generation), not for graphs fed their weights (training).
   * A session loaded from it skips serialisation, ORT's graph optimisation and the copy of every
   * initializer (ORT maps the entry's data file).
   */
  cache?: boolean;
  /**
   * Let ONNX Runtime repack the constant weight matrices into its kernels' layout when the
   * session loads (its default). Default: setPrepackWeights()'s, true. Skipping it suits a
   * process that runs a session a few times: measured on 2 cores with the bundled OCR model, the
   * two sessions load 85 ms faster (a one-line `ved ocr` process ends 45–60 ms sooner), and every
   * later call is 10–20% slower, since the kernels then pack each weight as they go.
   */
  prepack?: boolean;
}

export interface CreateOptions extends SessionOptions {
  label?: string;
  /** What else the session depends on that the graph does not show (e.g. 'int8:blockwise'): part of the cache key. */
  cacheTag?: string;
  /**
   * Runs once, before the graph is serialised (never when the session comes from the cache):
   * work on the weights that the key already covers through cacheTag, such as quantization.
   */
  beforeSerialize?: () => void;
}

/** An input as a run must feed it (the graph itself is not kept: it holds the weights). */
export interface InputSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

let optimizedModelsDir: string | null = null;
/**
 * From now on, every session writes the model as ONNX Runtime optimised it to DIR/<label>.onnx
 * (null stops it): to check which ops ORT fused (LayerNorm, GELU, attention) in the real graphs.
 */
export function writeOptimizedModels(dir: string | null): void {
  optimizedModelsDir = dir;
}

let profilePrefix: string | null = null;
const profiled = new Set<CompiledGraph>();
/**
 * From now on, every session records ONNX Runtime's profile (each kernel's time in each run), to
 * be written to PREFIX<label>_<date>.json by endProfiling() (null stops it for sessions created
 * later): for benchmarks that ask where a run's time goes (bench/profile.ts).
 */
export function profileSessions(prefix: string | null): void {
  profilePrefix = prefix;
}
/** Write the profile of every open session created under profileSessions, and stop recording. */
export function endProfiling(): void {
  for (const cg of profiled) cg.endProfiling();
  profiled.clear();
}
function profiling(label: string | undefined): { enableProfiling?: boolean; profileFilePrefix?: string } {
  return profilePrefix === null ? {} : { enableProfiling: true, profileFilePrefix: `${profilePrefix}${fileLabel(label)}` };
}
/** A session's label as a file name (profiles, optimised models written out). */
function fileLabel(label: string | undefined): string {
  return (label ?? 'graph').replace(/[^\w.-]+/g, '_');
}

let prepackDefault = true;
/** Whether sessions created from now on repack their weights at load (SessionOptions.prepack). */
export function setPrepackWeights(on: boolean): void {
  prepackDefault = on;
}
const withPrepack = <T extends SessionOptions>(o: T): T => ({ ...o, prepack: o.prepack ?? prepackDefault });

/** Set the thread count used by sessions created from now on (0 = every core). */
export function setDefaultThreads(n: number): void {
  env.setDefaultThreads(n);
}

function toOrt(t: Tensor): ort.Tensor {
  return new env.engine.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}
function fromOrt(t: ort.Tensor): Tensor {
  return new Tensor(t.type as Tensor['type'], t.data as Tensor['data'], t.dims as number[]);
}

/** How the last session of this process was opened (tests and benchmarks check it). */
export let lastSessionSource: 'built' | 'cache' | 'cache-miss' = 'built';

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: InputSpec[],
    readonly outputNames: string[],
    readonly label: string,
    /** 'cache': loaded from the disk cache; 'cache-miss': built, saved to it, then loaded from it; 'built': from the graph only. */
    readonly source: 'built' | 'cache' | 'cache-miss',
  ) {}

  /**
   * Open an ORT session on the part of `graph` that `outputs` needs: from the disk cache of
   * optimised sessions when it has this graph with these weights, else by serialising the graph
   * (and saving ORT's optimised version to the cache).
   */
  static async create(graph: Graph, outputs: Record<string, Sym>, options: CreateOptions = {}): Promise<CompiledGraph> {
    let prepared = false;
    const prepare = () => {
      if (!prepared) options.beforeSerialize?.();
      prepared = true;
    };
    const cache = env.modelCache;
    let session: ort.InferenceSession | null = null;
    let source: CompiledGraph['source'] = 'built';
    if (cache && options.cache === true && !options.optimizedModelFilePath && !optimizedModelsDir && options.optimization !== 'disabled') {
      try {
        ({ session, source } = await openCached(cache, graph, outputs, options, prepare));
      } catch (e) {
        env.warn(`${options.label ?? 'graph'}: the session cache in ${cache.dir} failed (${(e as Error).message}); building the session without it`, 'SessionCacheWarning');
      }
    }
    if (!session) {
      prepare();
      const bytes = toOnnx(graph, outputs);
      const optimizedModelFilePath = options.optimizedModelFilePath ?? (optimizedModelsDir ? `${optimizedModelsDir}/${fileLabel(options.label)}.onnx` : undefined);
      session = await env.engine.InferenceSession.create(bytes, { ...env.sessionOptions(withPrepack({ ...options, optimizedModelFilePath })), ...profiling(options.label) });
    }
    const names = new Set(session.inputNames);
    const inputs = graph.inputs.filter((s) => names.has(s.name)).map((s) => ({ name: s.name, dtype: s.dtype, shape: [...s.shape] }));
    lastSessionSource = source;
    const cg = new CompiledGraph(session, inputs, Object.keys(outputs), options.label ?? 'graph', source);
    if (profilePrefix !== null) profiled.add(cg);
    return cg;
  }

  /** The names of the inputs a run must feed. */
  get inputNames(): string[] {
    return this.inputs.map((s) => s.name);
  }

  private check(feeds: Record<string, Tensor>): void {
    const bound = new Map<string, { size: number; by: string }>();
    for (const s of this.inputs) {
      const t = feeds[s.name];
      if (!t) throw new Error(`${this.label}: missing input '${s.name}' (${s.dtype} [${s.shape.join(', ')}])`);
      if (t.type !== s.dtype) throw new Error(`${this.label}: input '${s.name}' must be ${s.dtype}, got ${t.type}`);
      if (t.dims.length !== s.shape.length) {
        throw new Error(`${this.label}: input '${s.name}' must have shape [${s.shape.join(', ')}], got [${t.dims.join(', ')}]`);
      }
      s.shape.forEach((d, i) => {
        const got = t.dims[i]!;
        if (typeof d === 'number') {
          if (got !== d) throw new Error(`${this.label}: input '${s.name}' must have shape [${s.shape.join(', ')}], got [${t.dims.join(', ')}] (axis ${i})`);
        } else if (!d.startsWith('?')) {
          const prev = bound.get(d);
          if (prev && prev.size !== got) {
            throw new Error(`${this.label}: input '${s.name}' has ${d} = ${got} on axis ${i}, but '${prev.by}' has ${d} = ${prev.size}`);
          }
          bound.set(d, { size: got, by: s.name });
        }
      });
    }
    const known = new Set(this.inputNames);
    for (const k of Object.keys(feeds)) {
      if (!known.has(k)) throw new Error(`${this.label}: unknown input '${k}' (inputs: ${this.inputNames.join(', ') || 'none'})`);
    }
  }

  async run(feeds: Record<string, Tensor>, outputNames: string[] = this.outputNames): Promise<Record<string, Tensor>> {
    this.check(feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const s of this.inputs) ortFeeds[s.name] = toOrt(feeds[s.name]!);
    const res = await this.session.run(ortFeeds, outputNames);
    const out: Record<string, Tensor> = {};
    for (const name of outputNames) out[name] = fromOrt(res[name]!);
    return out;
  }

  /** Write the profile of every run so far (sessions created under profileSessions only). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async dispose(): Promise<void> {
    profiled.delete(this);
    await this.session.release();
  }
}

/**
 * The cache key of a session: the graph as ONNX with the weights' bytes left out, each weight by
 * the lasting name of its bytes when they are still only in their file (lazySource), else by its
 * content; the options that shape ORT's optimised graph; and the cache's identity (ORT version,
 * CPU, library version).
 */
function sessionKey(cache: NonNullable<typeof env.modelCache>, graph: Graph, outputs: Record<string, Sym>, options: CreateOptions): string {
  const weights: [string, Tensor][] = [];
  const model = describeOnnx(graph, outputs, {
    omitData: (name, t) => {
      if (!graph.params.has(name)) return false;
      weights.push([name, t]);
      return true;
    },
  });
  // Bytes (constants' data) as hex: JSON would spell a Uint8Array out index by index.
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  // Numbers JSON cannot tell apart (NaN, ±Infinity are all null; -0 is 0) spelled out.
  const structure = JSON.stringify(model, (_, v: unknown) =>
    v instanceof Uint8Array ? `bytes:${hex(v)}` : typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `number:${Object.is(v, -0) ? '-0' : v}` : v,
  );
  const parts: (string | Uint8Array)[] = [cache.identity, options.optimization ?? 'all', options.cacheTag ?? '', structure];
  for (const [name, t] of weights) {
    parts.push(name);
    const src = lazySource(t);
    parts.push(src ?? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return cache.key(parts);
}

async function openCached(
  cache: NonNullable<typeof env.modelCache>,
  graph: Graph,
  outputs: Record<string, Sym>,
  options: CreateOptions,
  prepare: () => void,
): Promise<{ session: ort.InferenceSession; source: CompiledGraph['source'] }> {
  const key = sessionKey(cache, graph, outputs, options);
  // The saved graph is already optimised (for this CPU: the key says which): loading it again
  // with optimisations on would only spend the time again.
  const load = (path: string) => env.engine.InferenceSession.create(path, { ...env.sessionOptions(withPrepack({ ...options, optimization: 'disabled' })), ...profiling(options.label) });
  const found = cache.find(key);
  if (found) {
    try {
      return { session: await load(found), source: 'cache' };
    } catch {
      cache.discard(key); // it passed the checks but ORT refuses it: build it again
    }
  }
  const path = await cache.publish(key, async (modelPath) => {
    prepare();
    const bytes = toOnnx(graph, outputs);
    // This session only writes the entry: one loaded from the entry holds a single, mapped copy
    // of the weights, where one made from the bytes holds the parsed model beside them. It never
    // runs, so it does not repack its weights either.
    const writer = await env.engine.InferenceSession.create(bytes, env.sessionOptions({ ...options, saveCacheEntry: modelPath, prepack: false }));
    await writer.release();
  });
  return { session: await load(path), source: 'cache-miss' };
}

/**
 * A small cache of compiled graphs by key, so a model builds each session once (encoder, decoder
 * step, training step) and reuses it for every call.
 */
export class SessionCache {
  private readonly entries = new Map<string, Promise<CompiledGraph>>();

  get(key: string, make: () => Promise<CompiledGraph>): Promise<CompiledGraph> {
    let e = this.entries.get(key);
    if (!e) {
      e = make();
      this.entries.set(key, e);
      e.catch(() => this.entries.delete(key));
    }
    return e;
  }

  /** Drop (and release) every entry whose key starts with `prefix`. */
  async drop(prefix: string): Promise<void> {
    for (const [key, e] of [...this.entries]) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      await (await e.catch(() => null))?.dispose().catch(() => {});
    }
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await (await e).dispose().catch(() => {});
  }
}
