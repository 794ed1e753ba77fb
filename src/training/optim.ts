// torch.optim.AdamW: Adam with decoupled weight decay and bias correction, updating the model's
// weights in place (they are the same Float32Arrays the model feeds to its graphs).

import { type Tensor } from '../runtime/tensor.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weight_decay?: number;
  /** Names that get no weight decay (HF's Trainer: biases and LayerNorm weights). */
  no_decay?: (name: string) => boolean;
}

export interface AdamWState {
  step: number;
  exp_avg: Map<string, Float32Array>;
  exp_avg_sq: Map<string, Float32Array>;
}

export class AdamW {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weight_decay: number;
  private readonly noDecay: (name: string) => boolean;
  state: AdamWState = { step: 0, exp_avg: new Map(), exp_avg_sq: new Map() };

  constructor(
    readonly params: Map<string, Tensor>,
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weight_decay = 1e-2, no_decay = () => false }: AdamWOptions = {},
  ) {
    if (!(lr >= 0)) throw new Error(`AdamW: lr must be >= 0, got ${lr}`);
    if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new Error(`AdamW: betas must be in [0, 1), got [${betas}]`);
    if (!(eps >= 0)) throw new Error(`AdamW: eps must be >= 0, got ${eps}`);
    this.lr = lr;
    this.betas = betas;
    this.eps = eps;
    this.weight_decay = weight_decay;
    this.noDecay = no_decay;
  }

  /** One update from gradients by parameter name. Parameters without a gradient are left alone, as torch does. */
  step(grads: Map<string, Tensor>): void {
    this.state.step += 1;
    const t = this.state.step;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const stepSize = this.lr / bc1;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`AdamW.step: gradient for '${name}', which is not a parameter of this optimizer`);
      if (p.size !== g.size) throw new Error(`AdamW.step: gradient for '${name}' has ${g.size} elements, the parameter ${p.size}`);
      const w = p.data as Float32Array;
      const d = g.data as Float32Array;
      let m = this.state.exp_avg.get(name);
      let v = this.state.exp_avg_sq.get(name);
      if (!m || !v) {
        m = new Float32Array(w.length);
        v = new Float32Array(w.length);
        this.state.exp_avg.set(name, m);
        this.state.exp_avg_sq.set(name, v);
      }
      const decay = this.noDecay(name) ? 0 : this.lr * this.weight_decay;
      for (let i = 0; i < w.length; i++) {
        if (decay) w[i] = w[i]! * (1 - decay);
        m[i] = m[i]! * b1 + (1 - b1) * d[i]!;
        v[i] = v[i]! * b2 + (1 - b2) * d[i]! * d[i]!;
        w[i] = w[i]! - stepSize * (m[i]! / (Math.sqrt(v[i]!) / bc2Sqrt + this.eps));
      }
    }
  }
}

/** HF Trainer's rule: no weight decay for biases and LayerNorm weights. */
export function defaultNoDecay(name: string): boolean {
  return name.endsWith('.bias') || /(layer_?norm|LayerNorm|ln_\w+|ln_f|_layer_norm|layernorm_\w+)\.weight$/i.test(name) || /norm\d*\.weight$/.test(name);
}
