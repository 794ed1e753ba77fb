// Running graphs: a compiled graph owns one ONNX Runtime session. Feeds are checked against the
// graph's inputs before ORT sees them, so a wrong name, dtype or shape says which input and what
// it expected instead of an opaque ORT error.

import type * as ort from 'onnxruntime-node';
import { env } from '../env/index.js';
import { type Graph, type Sym } from '../graph/graph.js';
import { toOnnx } from '../graph/onnx.js';
import { Tensor } from './tensor.js';

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
}

let optimizedModelsDir: string | null = null;
/**
 * From now on, every session writes the model as ONNX Runtime optimised it to DIR/<label>.onnx
 * (null stops it): to check which ops ORT fused (LayerNorm, GELU, attention) in the real graphs.
 */
export function writeOptimizedModels(dir: string | null): void {
  optimizedModelsDir = dir;
}

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

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: Sym[],
    readonly outputNames: string[],
    readonly label: string,
  ) {}

  /** Serialise the part of `graph` that `outputs` needs and open an ORT session on it. */
  static async create(graph: Graph, outputs: Record<string, Sym>, options: SessionOptions & { label?: string } = {}): Promise<CompiledGraph> {
    const bytes = toOnnx(graph, outputs);
    const optimizedModelFilePath = options.optimizedModelFilePath ?? (optimizedModelsDir ? `${optimizedModelsDir}/${(options.label ?? 'graph').replace(/[^\w.-]+/g, '_')}.onnx` : undefined);
    const session = await env.engine.InferenceSession.create(bytes, env.sessionOptions({ ...options, optimizedModelFilePath }));
    const inputs = graph.inputs.filter((s) => session.inputNames.includes(s.name));
    return new CompiledGraph(session, inputs, Object.keys(outputs), options.label ?? 'graph');
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

  async dispose(): Promise<void> {
    await this.session.release();
  }
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
