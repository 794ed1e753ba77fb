// The symbolic graph: tensors that only know their dtype and shape, and the nodes that make them.
// A model is a function that builds one of these; ONNX Runtime runs it (see onnx.ts, runtime/).
//
// Shapes mix numbers and names: 'batch', 'seq', 'past' stay symbolic so one session serves every
// batch size and length. A name beginning with '?' is a dimension nobody could work out at build
// time (a Reshape with -1 over symbolic dims, say); shape rules treat it as "anything".
//
// Control flow (ONNX If) takes branches that are graphs of their own: a branch is a Graph made
// with `parent`, reads values of the enclosing graph through `outer()` (ONNX's outer-scope
// references: by name, no inputs), and shares the enclosing graph's weights and name space.

import { Tensor, type DataType } from '../runtime/tensor.js';

export type DType = DataType;
export type Dim = number | string;
export type Shape = Dim[];

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'graph'; value: Subgraph };
export type Attrs = Record<string, AttrValue>;

// JavaScript numbers do not say whether they are ints or floats, and ONNX cares: tag them.
export const int = (value: number): AttrValue => ({ kind: 'int', value });
export const float = (value: number): AttrValue => ({ kind: 'float', value });
export const ints = (value: number[]): AttrValue => ({ kind: 'ints', value });
export const floats = (value: number[]): AttrValue => ({ kind: 'floats', value });
export const str = (value: string): AttrValue => ({ kind: 'string', value });
export const subgraph = (graph: Graph, outputs: Sym[]): AttrValue => ({ kind: 'graph', value: { graph, outputs } });

/** A branch of a control-flow node: its graph and the values it yields, in order. */
export interface Subgraph {
  graph: Graph;
  outputs: Sym[];
}

export class Sym {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    /** The node that computes it; null for graph inputs, parameters and constants. */
    readonly node: Node | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`;
  }
}

export interface Node {
  readonly op: string;
  readonly inputs: (Sym | null)[];
  readonly outputs: Sym[];
  readonly attrs: Attrs;
  readonly domain: string;
}

/** How parameters enter the ONNX model: baked in (inference, ORT pre-packs them) or fed each run (training). */
export type ParamMode = 'initializer' | 'input';

export interface GraphOptions {
  paramMode?: ParamMode;
  /** Training mode: dropout is live. */
  training?: boolean;
  /** Makes this graph a branch of a node of `parent` (see outer()); mode and training are inherited. */
  parent?: Graph;
}

/** Value names must be unique across a graph and all its branches (ONNX SSA): one pool for all. */
interface NamePool {
  names: Set<string>;
  counter: number;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Sym[] = [];
  /** Parameters by HF name, in first-use order; each name has one Sym, so tied weights share it. */
  readonly params = new Map<string, { sym: Sym; tensor: Tensor }>();
  /** Constants (and parameters in 'initializer' mode) by value name. */
  readonly initializers = new Map<string, Tensor>();
  readonly paramMode: ParamMode;
  readonly training: boolean;
  /** The graph this one is a branch of; null for a top-level graph. */
  readonly parent: Graph | null;
  /** For a branch: each value it reads from an enclosing graph (the Sym standing for it here → the enclosing Sym). */
  readonly captures = new Map<Sym, Sym>();
  private readonly capturedBy = new Map<Sym, Sym>();
  private readonly pool: NamePool;
  private readonly scalarCache = new Map<string, Sym>();

  constructor(options: GraphOptions = {}) {
    this.parent = options.parent ?? null;
    this.paramMode = options.paramMode ?? this.parent?.paramMode ?? 'initializer';
    this.training = options.training ?? this.parent?.training ?? false;
    this.pool = this.parent ? this.parent.pool : { names: new Set(), counter: 0 };
  }

  private get names(): Set<string> {
    return this.pool.names;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph: the name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  /**
   * A value of an enclosing graph, as this branch sees it: a Sym of this graph with the same name
   * and no node, which ONNX resolves from the outer scope. Asking twice gives the same Sym.
   */
  outer(x: Sym): Sym {
    if (x.graph === this) return x;
    if (!this.parent) throw new Error(`graph: ${x.name} belongs to another graph, and this graph is not a branch of it`);
    const up = this.parent.outer(x);
    let here = this.capturedBy.get(up);
    if (!here) {
      here = new Sym(this, up.name, up.dtype, up.shape, null);
      this.capturedBy.set(up, here);
      this.captures.set(here, up);
    }
    return here;
  }

  fresh(prefix: string): string {
    return this.claim(this.unused(prefix));
  }

  /** A name nothing uses yet (not claimed: pass it to input()). */
  unused(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.pool.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Sym {
    const s = new Sym(this, this.claim(name), dtype, [...shape], null);
    this.inputs.push(s);
    return s;
  }

  /**
   * A weight by its HF name. Asking twice for one name gives the same Sym (tying). A branch
   * declares weights in the top-level graph and reads them from there, so both branches of an If
   * share one copy.
   */
  param(name: string, tensor: Tensor): Sym {
    if (this.parent) return this.outer(this.parent.param(name, tensor));
    const seen = this.params.get(name);
    if (seen) {
      if (seen.tensor !== tensor && seen.tensor.dims.join() !== tensor.dims.join()) {
        throw new Error(`graph: parameter '${name}' used with shapes [${seen.tensor.dims}] and [${tensor.dims}]`);
      }
      return seen.sym;
    }
    const sym = new Sym(this, this.claim(name), tensor.type, [...tensor.dims], null);
    this.params.set(name, { sym, tensor });
    if (this.paramMode === 'initializer') this.initializers.set(name, tensor);
    else this.inputs.push(sym);
    return sym;
  }

  constant(tensor: Tensor, prefix = 'const'): Sym {
    const name = this.fresh(prefix);
    this.initializers.set(name, tensor);
    return new Sym(this, name, tensor.type, [...tensor.dims], null);
  }

  /** A scalar constant (rank 0), shared per value and dtype. */
  scalar(value: number, dtype: DType = 'float32'): Sym {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let s = this.scalarCache.get(key);
    if (!s) {
      const data = dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : dtype === 'float32' ? new Float32Array([value]) : null;
      if (!data) throw new Error(`graph.scalar: dtype ${dtype} is not supported for scalars`);
      s = this.constant(new Tensor(dtype, data, []), 'scalar');
      this.scalarCache.set(key, s);
    }
    return s;
  }

  /** A 1-D int64 constant, the form ONNX wants for shapes, axes and indices. */
  int64s(values: number[]): Sym {
    return this.constant(new Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]), 'ints');
  }

  addNode(op: string, inputs: (Sym | null)[], attrs: Attrs, outTypes: { dtype: DType; shape: Shape }[], domain = ''): Sym[] {
    for (const x of inputs) {
      if (x && x.graph !== this) throw new Error(`${op}: input ${x.name} belongs to another graph`);
    }
    const outputs: Sym[] = [];
    const node: Node = { op, inputs, outputs, attrs, domain };
    for (const t of outTypes) outputs.push(new Sym(this, this.fresh(op), t.dtype, t.shape, node));
    this.nodes.push(node);
    return outputs;
  }
}
