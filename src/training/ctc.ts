// Auxiliary CTC loss on the encoder, for training from scratch (joint CTC-attention training,
// Kim, Hori & Watanabe 2017).
//
// Why: a cross-attention decoder trained from scratch has to find where each character is before
// it can learn what it is, and meanwhile it lowers its loss as a language model. On the OCR recipe
// that is what happened: after 10,000 steps (320,000 lines) the model read lines of random
// characters at CER 0.94 and guessed plausible text of about the right length. CTC gives every
// image column of the encoder its own, alignment-free target, so the encoder learns the glyphs
// without waiting for the decoder's attention to find them.
//
// The head (a Linear from the encoder's hidden size to the decoder's vocabulary, the pad token as
// CTC's blank) lives only in the Trainer: the saved model is a plain VisionEncoderDecoder. Its
// gradient reaches the encoder through compute_gradients' `encoder_hidden_grad`. The encoder's
// patch grid is read as columns, left to right (the rows of a column averaged), so this is for
// line images with ViT-style encoders (ViT, DeiT, BEiT).

import { Graph } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import { CompiledGraph } from '../runtime/session.js';
import { Tensor } from '../runtime/tensor.js';
import { SeededRandom } from './random.js';

const NEG_INF = -Infinity;

function logAddExp(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * CTC's negative log-likelihood of `target` under per-frame log-probabilities `logp` ([T, C],
 * row-major) and its gradient with respect to the logits that gave them by log-softmax
 * (softmax − state occupancy). null when no alignment exists (T too short for the target).
 */
export function ctcLoss(logp: Float32Array, T: number, C: number, target: readonly number[], blank: number): { loss: number; grad: Float32Array } | null {
  const L = target.length;
  if (L === 0) throw new Error('ctcLoss: empty target');
  const S = 2 * L + 1;
  const ext = new Int32Array(S).fill(blank);
  for (let i = 0; i < L; i++) ext[2 * i + 1] = target[i]!;
  // s may come from s - 2 when it is a label that differs from the label two states back.
  const skip = (s: number) => s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2];
  const alpha = new Float64Array(T * S).fill(NEG_INF);
  const beta = new Float64Array(T * S).fill(NEG_INF); // beta(t, s): log P(frames t+1.. | state s at t)
  alpha[0] = logp[blank]!;
  if (S > 1) alpha[1] = logp[ext[1]!]!;
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let a = alpha[(t - 1) * S + s]!;
      if (s >= 1) a = logAddExp(a, alpha[(t - 1) * S + s - 1]!);
      if (skip(s)) a = logAddExp(a, alpha[(t - 1) * S + s - 2]!);
      alpha[t * S + s] = a === NEG_INF ? NEG_INF : a + logp[t * C + ext[s]!]!;
    }
  }
  beta[(T - 1) * S + S - 1] = 0;
  if (S > 1) beta[(T - 1) * S + S - 2] = 0;
  for (let t = T - 2; t >= 0; t--) {
    for (let s = 0; s < S; s++) {
      let b = beta[(t + 1) * S + s]! + logp[(t + 1) * C + ext[s]!]!;
      if (s + 1 < S) b = logAddExp(b, beta[(t + 1) * S + s + 1]! + logp[(t + 1) * C + ext[s + 1]!]!);
      if (s + 2 < S && skip(s + 2)) b = logAddExp(b, beta[(t + 1) * S + s + 2]! + logp[(t + 1) * C + ext[s + 2]!]!);
      beta[t * S + s] = b;
    }
  }
  const logP = S > 1 ? logAddExp(alpha[(T - 1) * S + S - 1]!, alpha[(T - 1) * S + S - 2]!) : alpha[(T - 1) * S]!;
  if (!Number.isFinite(logP)) return null;
  const grad = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < C; k++) grad[t * C + k] = Math.exp(logp[t * C + k]!);
    for (let s = 0; s < S; s++) {
      const ab = alpha[t * S + s]! + beta[t * S + s]!;
      if (ab !== NEG_INF) grad[t * C + ext[s]!] -= Math.exp(ab - logP);
    }
  }
  return { loss: -logP, grad };
}

export interface CtcHeadOptions {
  hidden_size: number;
  vocab_size: number;
  /** The CTC blank (a token that never occurs in the targets: the pad token). */
  blank: number;
  /** Token ids left out of the targets (bos, eos, decoder start). */
  special_ids: readonly number[];
  /** Tokens before the patch grid in the encoder's output (ViT/BEiT: 1 CLS; DeiT: 2). */
  prefix_tokens: number;
  /** The patch grid [rows, columns]. */
  grid: [number, number];
  init_std: number;
  seed: number;
}

/** The CTC head and its loss: weights `ctc_head.weight` [vocab, hidden] and `ctc_head.bias` [vocab]. */
export class CtcHead {
  readonly weight: Tensor;
  readonly bias: Tensor;
  private forwardGraph: Promise<CompiledGraph> | null = null;
  private backwardGraph: Promise<CompiledGraph> | null = null;

  constructor(readonly options: CtcHeadOptions) {
    const { hidden_size: d, vocab_size: C } = options;
    const rng = new SeededRandom(options.seed, 0xc7c);
    const w = new Float32Array(C * d);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal(0, options.init_std);
    this.weight = new Tensor('float32', w, [C, d]);
    this.bias = new Tensor('float32', new Float32Array(C), [C]);
  }

  /** The head's weights by name, to train with the model's (AdamW steps them in place). */
  named_parameters(): Map<string, Tensor> {
    return new Map([['ctc_head.weight', this.weight], ['ctc_head.bias', this.bias]]);
  }

  /** Copies saved weights in (a resumed run). */
  load_state_dict(tensors: Map<string, Tensor>, source: string): void {
    for (const [name, t] of this.named_parameters()) {
      const saved = tensors.get(name);
      if (!saved || saved.type !== 'float32' || saved.dims.join() !== t.dims.join()) {
        throw new Error(`${source}: expected ${name} float32 [${t.dims.join(', ')}], got ${saved ? `${saved.type} [${saved.dims.join(', ')}]` : 'nothing'}`);
      }
      (t.data as Float32Array).set(saved.data as Float32Array);
    }
  }

  /** Encoder output [B, tokens, d] → column features [B, columns, d] (rows averaged). */
  private columns(h: Tensor): Float32Array {
    const [B, N, d] = h.dims as [number, number, number];
    const [rows, cols] = this.options.grid;
    const p = this.options.prefix_tokens;
    if (N !== p + rows * cols) throw new Error(`CTC head: the encoder gave ${N} tokens; expected ${p} + ${rows}×${cols} patches`);
    const src = h.data as Float32Array;
    const out = new Float32Array(B * cols * d);
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const from = (b * N + p + r * cols + c) * d;
          const to = (b * cols + c) * d;
          for (let k = 0; k < d; k++) out[to + k] += src[from + k]! / rows;
        }
      }
    }
    return out;
  }

  private graphs(): [Promise<CompiledGraph>, Promise<CompiledGraph>] {
    const { hidden_size: d, vocab_size: C } = this.options;
    if (!this.forwardGraph) {
      const g = new Graph({ paramMode: 'input' });
      const x = g.input('columns', 'float32', ['batch', 'cols', d]);
      const w = g.input('weight', 'float32', [C, d]);
      const b = g.input('bias', 'float32', [C]);
      this.forwardGraph = CompiledGraph.create(g, { logp: F.logSoftmax(F.add(F.matmul(x, F.transpose(w, [1, 0])), b), -1) }, { label: 'ctc_head.forward' });
    }
    if (!this.backwardGraph) {
      const g = new Graph({ paramMode: 'input' });
      const x = g.input('columns', 'float32', ['batch', 'cols', d]);
      const w = g.input('weight', 'float32', [C, d]);
      const dz = g.input('dlogits', 'float32', ['batch', 'cols', C]);
      const dzFlat = F.reshape(dz, [-1, C]);
      this.backwardGraph = CompiledGraph.create(g, {
        dweight: F.matmul(F.transpose(dzFlat, [1, 0]), F.reshape(x, [-1, d])),
        dbias: F.reduceSum(dzFlat, [0], false),
        dcolumns: F.matmul(dz, w),
      }, { label: 'ctc_head.backward' });
    }
    return [this.forwardGraph, this.backwardGraph];
  }

  /**
   * The CTC losses of a batch (summed, with how many examples had an alignment) and, scaled by
   * `scale`, the gradients of that sum: for the head's weights and for the encoder's output.
   */
  async lossAndGradients(encoder_last_hidden_state: Tensor, labels: Tensor, scale: number): Promise<{ loss_sum: number; examples: number; encoder_hidden_grad: Tensor; grads: Map<string, Tensor> }> {
    const [B, N, d] = encoder_last_hidden_state.dims as [number, number, number];
    const { vocab_size: C, blank } = this.options;
    const [rows, T] = this.options.grid;
    const cols = this.columns(encoder_last_hidden_state);
    const [fwd, bwd] = await Promise.all(this.graphs());
    const colT = new Tensor('float32', cols, [B, T, d]);
    const { logp } = await fwd.run({ columns: colT, weight: this.weight, bias: this.bias });
    const lp = logp!.data as Float32Array;

    const special = new Set([...this.options.special_ids, blank]);
    const L = labels.dims[1]!;
    const ids = labels.data as BigInt64Array;
    const dlogits = new Float32Array(B * T * C);
    let loss_sum = 0;
    let examples = 0;
    for (let b = 0; b < B; b++) {
      const target: number[] = [];
      for (let j = 0; j < L; j++) {
        const id = Number(ids[b * L + j]!);
        if (id >= 0 && !special.has(id)) target.push(id);
      }
      if (target.length === 0) continue;
      const r = ctcLoss(lp.subarray(b * T * C, (b + 1) * T * C), T, C, target, blank);
      if (!r) continue; // more characters than columns can hold: no CTC signal for this line
      loss_sum += r.loss;
      examples++;
      for (let i = 0; i < r.grad.length; i++) dlogits[b * T * C + i] = r.grad[i]! * scale;
    }
    const res = await bwd.run({ columns: colT, weight: this.weight, dlogits: new Tensor('float32', dlogits, [B, T, C]) });
    // Spread each column's gradient back over its rows' tokens (the mean's Jacobian); CLS gets none.
    const dcol = res['dcolumns']!.data as Float32Array;
    const dh = new Float32Array(B * N * d);
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < T; c++) {
          const to = (b * N + this.options.prefix_tokens + r * T + c) * d;
          const from = (b * T + c) * d;
          for (let k = 0; k < d; k++) dh[to + k] = dcol[from + k]! / rows;
        }
      }
    }
    return {
      loss_sum,
      examples,
      encoder_hidden_grad: new Tensor('float32', dh, [B, N, d]),
      grads: new Map([['ctc_head.weight', res['dweight']!], ['ctc_head.bias', res['dbias']!]]),
    };
  }
}
