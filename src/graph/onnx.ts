// Serialise a Graph to an ONNX ModelProto (opset 17) with onnx-proto, the protobuf classes
// generated from onnx.proto.

import onnxProto from 'onnx-proto';
import { Tensor } from '../runtime/tensor.js';
import { type AttrValue, type Graph, type Sym } from './graph.js';
import { OPSET, onnxTypeOf } from './ops.js';

const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;

function tensorProto(name: string, t: Tensor): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims, dataType: onnxTypeOf(t.type), rawData: bytes };
}

function attribute(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
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

/**
 * The ONNX bytes of the part of `graph` needed for `outputs` (a name → Sym map: the keys become
 * the output names). Nodes, inputs and initializers nothing depends on are left out.
 */
export function toOnnx(graph: Graph, outputs: Record<string, Sym>): Uint8Array {
  // Keep only what the outputs need.
  const needed = new Set<Sym>(Object.values(outputs));
  const nodes = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    nodes.push(n);
    for (const x of n.inputs) if (x) needed.add(x);
  }
  nodes.reverse();

  // An output can be a graph input or an intermediate that is also consumed: route it through
  // Identity when its name differs from the requested one.
  const renames: onnxProto.onnx.INodeProto[] = [];
  const outputInfos: onnxProto.onnx.IValueInfoProto[] = [];
  for (const [name, s] of Object.entries(outputs)) {
    if (name !== s.name) renames.push({ opType: 'Identity', input: [s.name], output: [name], name: `out_${name}` });
    outputInfos.push(valueInfo(s, name));
  }

  const neededNames = new Set([...needed].filter((s) => s.node === null).map((s) => s.name));
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'vision-encoder-decoder',
    graph: {
      name: 'graph',
      node: [
        ...nodes.map((n, i) => ({
          opType: n.op,
          domain: n.domain,
          name: `${n.op}_${i}`,
          input: n.inputs.map((x) => (x ? x.name : '')),
          output: n.outputs.map((o) => o.name),
          attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
        })),
        ...renames,
      ],
      input: graph.inputs.filter((s) => needed.has(s)).map((s) => valueInfo(s)),
      output: outputInfos,
      initializer: [...graph.initializers].filter(([name]) => neededNames.has(name)).map(([name, t]) => tensorProto(name, t)),
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
