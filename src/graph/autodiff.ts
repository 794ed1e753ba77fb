// Reverse-mode autodiff over the graph: walk the nodes backwards from the loss, ask each node's
// vector-Jacobian rule (ops.ts) for its inputs' gradients, and add up gradients that meet (a
// tensor used twice, tied weights). The result is more graph, run by the same engine.

import { type Sym } from './graph.js';
import { add, NON_DIFFERENTIABLE, VJP } from './ops.js';

/**
 * Append the backward graph of `loss` (a scalar) and return d loss / d x for each x in `wrt`.
 * An x that the loss does not depend on gets null.
 */
export function grad(loss: Sym, wrt: Sym[], seed?: Sym): (Sym | null)[] {
  const g = loss.graph;
  if (!seed && loss.shape.length !== 0) throw new Error(`grad: the loss must be a scalar, got [${loss.shape.join(', ')}] (or pass a seed gradient)`);

  // Forward reachability: only nodes that depend on something in `wrt` need a gradient.
  const wanted = new Set<Sym>(wrt);
  const live = new Set<Sym>(wrt);
  for (const node of g.nodes) {
    if (node.inputs.some((x) => x && live.has(x))) for (const o of node.outputs) live.add(o);
  }
  if (!live.has(loss)) return wrt.map(() => null);

  const grads = new Map<Sym, Sym>();
  grads.set(loss, seed ?? g.scalar(1, loss.dtype));
  const accumulate = (x: Sym, d: Sym) => {
    const prev = grads.get(x);
    grads.set(x, prev ? add(prev, d) : d);
  };

  const forward = g.nodes.slice(); // the backward pass appends nodes; walk only the forward ones
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    const gouts = node.outputs.map((o) => grads.get(o) ?? null);
    if (gouts.every((x) => x === null)) continue;
    const needs = node.inputs.map((x) => x !== null && live.has(x) && (x.node !== null || wanted.has(x)));
    if (!needs.some(Boolean)) continue;
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    const rule = VJP.get(node.op);
    if (!rule) throw new Error(`grad: op ${node.op} has no gradient rule (needed for ${node.outputs[0]!.name})`);
    const dins = rule({ node, inputs: node.inputs, outputs: node.outputs, gouts, needs });
    dins.forEach((d, k) => {
      const x = node.inputs[k];
      if (d && x && needs[k]) accumulate(x, d);
    });
  }
  return wrt.map((x) => grads.get(x) ?? null);
}
