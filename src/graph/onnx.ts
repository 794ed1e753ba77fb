// Serialise a Graph to an ONNX ModelProto (opset 17) with onnx-proto, the protobuf classes
// generated from onnx.proto. Branches of If nodes become GraphProto attributes.

import type onnxProto from 'onnx-proto';
import { env } from '../env/index.js';
import { Tensor } from '../runtime/tensor.js';
import { type AttrValue, type Graph, type Node, type Subgraph, type Sym } from './graph.js';
import { OPSET, onnxTypeOf } from './ops.js';

// onnx.proto's AttributeProto.AttributeType, as numbers: the protobuf classes are loaded only to
// encode (describeOnnx needs none of them).
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

/** Initializers to write without their data (name, dtype and dims only): a description of the graph for a cache key. */
type OmitData = ((name: string, t: Tensor) => boolean) | null;

function tensorProto(name: string, t: Tensor, omit = false): onnxProto.onnx.ITensorProto {
  if (omit) return { name, dims: t.dims, dataType: onnxTypeOf(t.type) };
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims, dataType: onnxTypeOf(t.type), rawData: bytes };
}

/** `node`: the name of the node holding the attribute, which makes a branch's value names unique. */
function attribute(name: string, a: AttrValue, node: string): onnxProto.onnx.IAttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: AT.INT, i: a.value };
    case 'float':
      return { name, type: AT.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AT.INTS, ints: a.value };
    case 'floats':
      return { name, type: AT.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AT.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: AT.TENSOR, t: tensorProto('', a.value) };
    case 'graph':
      // A branch's outputs are named after its node and attribute, so they clash with no other value.
      return { name, type: AT.GRAPH, g: graphProto(a.value.graph, a.value.outputs.map((o, i) => [`${node}/${name}:${i}`, o]), `${node}/${name}`) };
  }
}

function valueInfo(s: Sym, name = s.name): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxTypeOf(s.dtype),
        // Named dims become dim_param so ORT checks that feeds agree; unknown ones are left open.
        shape: { dim: s.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : d.startsWith('?') ? {} : { dimParam: d })) },
      },
    },
  };
}

/** The nodes `outputs` need, in graph order, and every value they read (branches' outer reads included). */
function prune(graph: Graph, outputs: Sym[]): { nodes: Node[]; needed: Set<Sym> } {
  const needed = new Set<Sym>(outputs);
  const nodes: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    nodes.push(n);
    for (const x of n.inputs) if (x) needed.add(x);
    for (const a of Object.values(n.attrs)) if (a.kind === 'graph') for (const x of branchReads(a.value)) needed.add(x);
  }
  return { nodes: nodes.reverse(), needed };
}

/** The values of the enclosing graph that a branch (and branches inside it) reads. */
function branchReads(b: Subgraph): Sym[] {
  const { needed } = prune(b.graph, b.outputs);
  const out: Sym[] = [];
  for (const x of needed) {
    const up = b.graph.captures.get(x);
    if (up) out.push(up);
  }
  return out;
}

/**
 * A GraphProto of the part of `graph` that `outputs` ([name, Sym] pairs) needs. A top-level graph
 * lists its inputs; a branch has none (it reads its parent's values by name) and holds only its
 * own constants, the weights living in the top-level graph.
 */
function graphProto(graph: Graph, outputs: [string, Sym][], name: string, omit: OmitData = null): onnxProto.onnx.IGraphProto {
  const { nodes, needed } = prune(graph, outputs.map(([, s]) => s));
  const prefix = graph.parent ? `${name}/` : '';

  // Node names must be unique in the whole model: a branch's are prefixed with the branch's name.
  // An output can be a graph input, an outer value or an intermediate that is also consumed:
  // route it through Identity when its name differs from the requested one.
  const renames: onnxProto.onnx.INodeProto[] = [];
  const outputInfos: onnxProto.onnx.IValueInfoProto[] = [];
  for (const [out, s] of outputs) {
    if (out !== s.name) renames.push({ opType: 'Identity', input: [s.name], output: [out], name: `${prefix}out_${out}` });
    outputInfos.push(valueInfo(s, out));
  }

  const neededNames = new Set([...needed].filter((s) => s.node === null && !graph.captures.has(s)).map((s) => s.name));
  return {
    name,
    node: [
      ...nodes.map((n, i) => {
        const nodeName = `${prefix}${n.op}_${i}`;
        return {
          opType: n.op,
          domain: n.domain,
          name: nodeName,
          input: n.inputs.map((x) => (x ? x.name : '')),
          output: n.outputs.map((o) => o.name),
          attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v, nodeName)),
        };
      }),
      ...renames,
    ],
    input: graph.parent ? [] : graph.inputs.filter((s) => needed.has(s)).map((s) => valueInfo(s)),
    output: outputInfos,
    initializer: [...graph.initializers].filter(([n]) => neededNames.has(n)).map(([n, t]) => tensorProto(n, t, omit?.(n, t) ?? false)),
  };
}

/**
 * The ONNX bytes of the part of `graph` needed for `outputs` (a name → Sym map: the keys become
 * the output names). Nodes, inputs and initializers nothing depends on are left out.
 */
export function toOnnx(graph: Graph, outputs: Record<string, Sym>): Uint8Array {
  const { onnx } = env.onnxProto();
  return onnx.ModelProto.encode(onnx.ModelProto.create(describeOnnx(graph, outputs))).finish();
}

/**
 * The ModelProto toOnnx encodes, as plain objects; `omitData` leaves out the bytes of the
 * initializers it picks (name, dtype and dims stay): with the weights left out, a description
 * of the graph for a cache key.
 */
export function describeOnnx(graph: Graph, outputs: Record<string, Sym>, options: { omitData?: OmitData } = {}): onnxProto.onnx.IModelProto {
  if (graph.parent) throw new Error('toOnnx: serialise the top-level graph, not a branch');
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'vision-encoder-decoder',
    graph: graphProto(graph, Object.entries(outputs), 'graph', options.omitData ?? null),
  };
}
