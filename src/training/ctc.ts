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
// CTC's blank) lives only in the Trainer: the saved model is a plain VisionEncoderDecoder. The loss
// is built into the model's gradient graph (compute_gradients' `auxiliary_loss`): the forward
// recursion over the frames written out as graph ops, whose gradient (autodiff) is the
// forward-backward algorithm's. Computing it outside the graph had needed the encoder's output
// first, an extra forward pass of the encoder each step (the OCR recipe trained 15-25% slower
// with the loss than without). The encoder's patch grid is read as columns, left to right (the
// rows of a column averaged), so this is for line images with ViT-style encoders (ViT, DeiT, BEiT).

import type { Graph, Sym } from '../graph/graph.js';
import * as F from '../graph/ops.js';
import type { EncoderAuxiliaryLoss } from '../models/vision_encoder_decoder.js';
import { Tensor } from '../runtime/tensor.js';
import { SeededRandom } from './random.js';

/**
 * log 0 that stays finite: exp(NEG - m) is 0 for any reachable m, and where every term is NEG,
 * NEG - NEG is 0 rather than -Infinity - -Infinity (NaN, in the loss and in its gradient).
 */
const NEG = -1e30;

/** The CTC loss of a batch as compute_gradients' auxiliary loss, and how to read its per-line losses. */
export interface CtcAuxiliaryLoss extends EncoderAuxiliaryLoss {
  /** The summed loss of the lines with an alignment, and how many there were. */
  result(outputs: Record<string, Tensor>): { loss_sum: number; examples: number };
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

  /**
   * The CTC loss of a batch, its lines' targets read from `labels` (special tokens and padding
   * left out), for compute_gradients: the lines' losses summed and multiplied by `scale` join
   * the objective. A line with more characters than the image has columns (counting a blank
   * between repeated characters) has no alignment and adds nothing.
   */
  auxiliaryLoss(labels: Tensor, scale: number): CtcAuxiliaryLoss {
    const { vocab_size: C, blank, grid } = this.options;
    const T = grid[1];
    const [B, L] = labels.dims as [number, number];
    const special = new Set([...this.options.special_ids, blank]);
    const ids = labels.data as BigInt64Array;
    const targets: number[][] = [];
    for (let b = 0; b < B; b++) {
      const target: number[] = [];
      for (let j = 0; j < L; j++) {
        const id = Number(ids[b * L + j]!);
        if (id >= 0 && !special.has(id)) target.push(id);
      }
      targets.push(target);
    }
    const fits = targets.map((t) => t.length > 0 && t.length + t.filter((k, i) => i > 0 && k === t[i - 1]).length <= T);
    // States of the extended target (blank, c1, blank, c2, ..., blank), padded to the longest line's.
    const S = 2 * Math.max(1, ...targets.map((t) => t.length)) + 1;
    const onehot = new Float32Array(B * C * S);
    const skip = new Float32Array(3 * S * B);
    const end = new Float32Array(S * B).fill(NEG);
    const weights = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      const ext = [blank, ...targets[b]!.flatMap((k) => [k, blank])];
      ext.forEach((k, s) => (onehot[(b * C + k) * S + s] = 1));
      // The predecessor two states back counts only from a character to a different one.
      for (let s = 0; s < S; s++) skip[(2 * S + s) * B + b] = s >= 2 && s < ext.length && ext[s] !== blank && ext[s] !== ext[s - 2] ? 0 : NEG;
      if (fits[b]) {
        end[(ext.length - 1) * B + b] = 0;
        end[(ext.length - 2) * B + b] = 0;
        weights[b] = scale;
      } else end[b] = 0; // a finite loss, weighted 0
    }
    // Row r of the predecessors holds state s - r, read from the states padded with two NEG in front.
    const predecessors = new BigInt64Array(3 * S);
    for (let r = 0; r < 3; r++) for (let s = 0; s < S; s++) predecessors[r * S + s] = BigInt(s + 2 - r);
    // A path starts in the first blank or the first character (S is 3 or more).
    const start = new Float32Array(S).fill(NEG);
    start[0] = start[1] = 0;
    return {
      key: `ctc:${grid.join('x')}:${this.options.prefix_tokens}:${C}:${this.options.hidden_size}`,
      build: (graph, h) => this.buildLoss(graph, h),
      feeds: {
        'ctc_head.weight': this.weight,
        'ctc_head.bias': this.bias,
        ctc_onehot: new Tensor('float32', onehot, [B, C, S]),
        ctc_predecessors: new Tensor('int64', predecessors, [3, S]),
        ctc_skip: new Tensor('float32', skip, [3, S, B]),
        ctc_start: new Tensor('float32', start, [S, 1]),
        ctc_end: new Tensor('float32', end, [S, B]),
        ctc_weights: new Tensor('float32', weights, [B]),
      },
      result: (outputs) => {
        const losses = outputs['ctc_losses']!.data as Float32Array;
        let loss_sum = 0;
        let examples = 0;
        for (let b = 0; b < B; b++) {
          if (!fits[b]) continue;
          loss_sum += losses[b]!;
          examples++;
        }
        return { loss_sum, examples };
      },
    };
  }

  /**
   * The graph of the weighted loss: per-frame log-probabilities from the encoder's columns, then
   * CTC's forward recursion in log space, alpha_t(s) = emit_t(s) + logsumexp over alpha_{t-1} at
   * s, s - 1 and (where allowed) s - 2, with states on the first axis and lines on the second.
   */
  private buildLoss(graph: Graph, h: Sym): { loss: Sym; weights: Record<string, Sym>; outputs: Record<string, Sym> } {
    const { hidden_size: d, vocab_size: C, prefix_tokens: p, grid } = this.options;
    const [rows, T] = grid;
    const N = h.shape[1];
    if (typeof N === 'number' && N !== p + rows * T) throw new Error(`CTC head: the encoder gives ${N} tokens; expected ${p} + ${rows}×${T} patches`);
    const w = graph.input('ctc_head.weight', 'float32', [C, d]);
    const bias = graph.input('ctc_head.bias', 'float32', [C]);
    const onehot = graph.input('ctc_onehot', 'float32', ['batch', C, 'ctc_states']);
    const predecessors = graph.input('ctc_predecessors', 'int64', [3, 'ctc_states']);
    const skip = graph.input('ctc_skip', 'float32', [3, 'ctc_states', 'batch']);
    const start = graph.input('ctc_start', 'float32', ['ctc_states', 1]);
    const end = graph.input('ctc_end', 'float32', ['ctc_states', 'batch']);
    const lineWeights = graph.input('ctc_weights', 'float32', ['batch']);

    // Columns: the patch grid's rows averaged (CLS and other prefix tokens left out).
    const patches = F.reshape(F.slice(h, [p], [F.END], [1]), [-1, rows, T, d]);
    const columns = rows === 1 ? F.reshape(patches, [-1, T, d]) : F.reduceMean(patches, [1], false);
    const logp = F.logSoftmax(F.add(F.matmul(columns, F.transpose(w, [1, 0])), bias), -1);
    // Each state's log-probability at each frame, [T, S, B]: the one-hot product picks ext[s].
    const emit = F.transpose(F.matmul(logp, onehot), [1, 2, 0]);
    const frames = F.split(emit, new Array<number>(T).fill(1), 0).map((e) => F.squeeze(e, [0]));
    const logSumExp = (x: Sym): Sym => {
      // The max only steadies the sum: its own gradient cancels (ReduceMax takes none).
      const m = F.reduceMax(x, [0], false);
      return F.add(F.log(F.reduceSum(F.exp(F.sub(x, m)), [0], false)), m);
    };
    let alpha = F.add(frames[0]!, start);
    for (let t = 1; t < T; t++) {
      const padded = F.pad(alpha, [2, 0, 0, 0], NEG);
      alpha = F.add(logSumExp(F.add(F.gather(padded, predecessors, 0), skip)), frames[t]!);
    }
    const losses = F.neg(logSumExp(F.add(alpha, end)));
    return {
      loss: F.reduceSum(F.mul(losses, lineWeights), [0], false),
      weights: { 'ctc_head.weight': w, 'ctc_head.bias': bias },
      outputs: { ctc_losses: losses },
    };
  }
}
