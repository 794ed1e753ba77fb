// A plain-loop float64 reference of the ViT family's forward pass (ViTModel, DeiTModel,
// BeitModel in eval mode), written from transformers' modeling files independently of the graph
// code, for configurations the Python fixtures do not cover. Slow, but the test models are tiny.
import { type Tensor } from '../src/runtime/tensor.js';

type Cfg = Record<string, any>;

/** erf to ~1e-15: Taylor series near 0, continued fraction for erfc further out. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz from the tail)
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

function act(name: string, x: number): number {
  switch (name) {
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'relu':
      return Math.max(0, x);
    case 'silu':
    case 'swish':
      return x / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
    default:
      throw new Error(`reference: activation ${name}`);
  }
}

const pairOf = (v: number | number[]): [number, number] => (Array.isArray(v) ? [v[0]!, v[1]!] : [v, v]);

/** rows × cols matrices as arrays of Float64Array rows. */
type Mat = Float64Array[];

function linear(x: Mat, w: Tensor, b: Tensor | undefined): Mat {
  const [o, i] = w.dims as [number, number];
  const wd = w.data as Float32Array;
  return x.map((row) => {
    const y = new Float64Array(o);
    for (let r = 0; r < o; r++) {
      let s = b ? (b.data as Float32Array)[r]! : 0;
      for (let c = 0; c < i; c++) s += row[c]! * wd[r * i + c]!;
      y[r] = s;
    }
    return y;
  });
}

function layerNorm(x: Mat, w: Tensor, b: Tensor, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    let m = 0;
    for (const v of row) m += v;
    m /= n;
    let v2 = 0;
    for (const v of row) v2 += (v - m) ** 2;
    v2 /= n;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = ((row[i]! - m) / Math.sqrt(v2 / 1 + eps)) * (w.data as Float32Array)[i]! + (b.data as Float32Array)[i]!;
    return y;
  });
}

/** torch.nn.functional.interpolate(mode='bilinear', align_corners=False) of [C, inH, inW] to [C, outH, outW]. */
export function bilinear(src: Float64Array[], inH: number, inW: number, outH: number, outW: number): Float64Array[] {
  const coord = (dst: number, inSize: number, outSize: number) => {
    const s = Math.max(0, (dst + 0.5) * (inSize / outSize) - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return { i0, i1, l: s - i0 };
  };
  return src.map((plane) => {
    const out = new Float64Array(outH * outW);
    for (let y = 0; y < outH; y++) {
      const cy = coord(y, inH, outH);
      for (let x = 0; x < outW; x++) {
        const cx = coord(x, inW, outW);
        const at = (r: number, c: number) => plane[r * inW + c]!;
        out[y * outW + x] =
          (1 - cy.l) * ((1 - cx.l) * at(cy.i0, cx.i0) + cx.l * at(cy.i0, cx.i1)) + cy.l * ((1 - cx.l) * at(cy.i1, cx.i0) + cx.l * at(cy.i1, cx.i1));
      }
    }
    return out;
  });
}

/**
 * BeitRelativePositionBias for an input window (wh, ww) from a table trained for the config's
 * window: the table's [(2Wh-1)(2Ww-1)] part viewed as [heads, 2Ww-1, 2Wh-1] and resized
 * bilinearly to [heads, 2wh-1, 2ww-1] (as transformers does, whatever the aspect), then indexed
 * by relative position, with three extra entries for the [CLS] rows/columns. Returns
 * bias[head][i][j] flattened over (i, j) in [0, N+1)².
 */
export function beitRelativeBias(table: Tensor, configWindow: [number, number], window: [number, number]): Float64Array[] {
  const heads = table.dims[1]!;
  const t = table.data as Float32Array;
  const oldH = 2 * configWindow[0] - 1;
  const oldW = 2 * configWindow[1] - 1;
  const newH = 2 * window[0] - 1;
  const newW = 2 * window[1] - 1;
  const oldN = oldH * oldW;
  // planes[h] = table[:oldN, h] viewed as [oldW, oldH]
  const planes = Array.from({ length: heads }, (_, h) => Float64Array.from({ length: oldN }, (_, k) => t[k * heads + h]!));
  const resized = bilinear(planes, oldW, oldH, newH, newW);
  const newN = newH * newW;
  const entry = (k: number, h: number) => (k < newN ? resized[h]![k]! : t[(oldN + (k - newN)) * heads + h]!);
  const area = window[0] * window[1];
  const S = area + 1;
  return Array.from({ length: heads }, (_, h) => {
    const out = new Float64Array(S * S);
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        let k: number;
        if (i === 0 && j === 0) k = newN + 2;
        else if (i === 0) k = newN;
        else if (j === 0) k = newN + 1;
        else {
          const [yi, xi] = [Math.floor((i - 1) / window[1]), (i - 1) % window[1]];
          const [yj, xj] = [Math.floor((j - 1) / window[1]), (j - 1) % window[1]];
          k = (yi - yj + window[0] - 1) * newW + (xi - xj + window[1] - 1);
        }
        out[i * S + j] = entry(k, h);
      }
    }
    return out;
  });
}

export interface ReferenceOutputs {
  /** [B][S][D] */
  last_hidden_state: Mat[];
  hidden_states: Mat[][];
  /** [B][D] */
  pooler_output: Float64Array[] | null;
}

/** The forward pass of ViTModel ('vit'), DeiTModel ('deit') or BeitModel ('beit') in eval mode. */
export function referenceForward(config: Cfg, w: Map<string, Tensor>, pixel: Tensor): ReferenceOutputs {
  const kind = config.model_type as 'vit' | 'deit' | 'beit';
  const D: number = config.hidden_size;
  const heads: number = config.num_attention_heads;
  const hd = D / heads;
  const eps: number = config.layer_norm_eps ?? 1e-12;
  const [B, C, H, W] = pixel.dims as [number, number, number, number];
  const [ph, pw] = pairOf(config.patch_size);
  const [gh, gw] = [Math.floor(H / ph), Math.floor(W / pw)];
  const px = pixel.data as Float32Array;
  const get = (k: string) => {
    const t = w.get(k);
    if (!t) throw new Error(`reference: no weight ${k}`);
    return t;
  };
  const pw_ = get('embeddings.patch_embeddings.projection.weight').data as Float32Array;
  const pb = get('embeddings.patch_embeddings.projection.bias').data as Float32Array;
  const out: ReferenceOutputs = { last_hidden_state: [], hidden_states: [], pooler_output: null };
  const pooled: Float64Array[] = [];

  const beit = kind === 'beit';
  const [ih, iw] = pairOf(config.image_size);
  const configWindow: [number, number] = [Math.floor(ih / ph), Math.floor(iw / pw)];
  const sharedBias = beit && config.use_shared_relative_position_bias ? beitRelativeBias(get('encoder.relative_position_bias.relative_position_bias_table'), configWindow, [gh, gw]) : null;

  for (let b = 0; b < B; b++) {
    const tokens: Mat = [];
    tokens.push(Float64Array.from(get('embeddings.cls_token').data as Float32Array));
    if (kind === 'deit') tokens.push(Float64Array.from(get('embeddings.distillation_token').data as Float32Array));
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const e = new Float64Array(D);
        for (let o = 0; o < D; o++) {
          let s = pb[o]!;
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < ph; ky++)
              for (let kx = 0; kx < pw; kx++) s += px[((b * C + c) * H + y * ph + ky) * W + x * pw + kx]! * pw_[((o * C + c) * ph + ky) * pw + kx]!;
          e[o] = s;
        }
        tokens.push(e);
      }
    }
    if (!beit || config.use_absolute_position_embeddings) {
      const pos = get('embeddings.position_embeddings').data as Float32Array;
      tokens.forEach((t, i) => t.forEach((v, d) => (t[d] = v + pos[i * D + d]!)));
    }
    let h: Mat = tokens;
    const S = h.length;
    const hs: Mat[] = [];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      hs.push(h);
      const p = `encoder.layer.${l}.`;
      const x = layerNorm(h, get(p + 'layernorm_before.weight'), get(p + 'layernorm_before.bias'), eps);
      const q = linear(x, get(p + 'attention.attention.query.weight'), w.get(p + 'attention.attention.query.bias'));
      const k = linear(x, get(p + 'attention.attention.key.weight'), w.get(p + 'attention.attention.key.bias'));
      const v = linear(x, get(p + 'attention.attention.value.weight'), w.get(p + 'attention.attention.value.bias'));
      const layerBias = beit && config.use_relative_position_bias ? beitRelativeBias(get(p + 'attention.attention.relative_position_bias.relative_position_bias_table'), configWindow, [gh, gw]) : null;
      const ctx: Mat = Array.from({ length: S }, () => new Float64Array(D));
      for (let hh = 0; hh < heads; hh++) {
        for (let i = 0; i < S; i++) {
          const sc = new Float64Array(S);
          for (let j = 0; j < S; j++) {
            let s = 0;
            for (let d = 0; d < hd; d++) s += q[i]![hh * hd + d]! * k[j]![hh * hd + d]!;
            s /= Math.sqrt(hd);
            if (layerBias) s += layerBias[hh]![i * S + j]!;
            if (sharedBias) s += sharedBias[hh]![i * S + j]!;
            sc[j] = s;
          }
          const m = Math.max(...sc);
          let z = 0;
          for (let j = 0; j < S; j++) z += (sc[j] = Math.exp(sc[j]! - m));
          for (let j = 0; j < S; j++)
            for (let d = 0; d < hd; d++) ctx[i]![hh * hd + d]! += (sc[j]! / z) * v[j]![hh * hd + d]!;
        }
      }
      let a = linear(ctx, get(p + 'attention.output.dense.weight'), get(p + 'attention.output.dense.bias'));
      const l1 = w.get(p + 'lambda_1');
      if (l1) a = a.map((r) => r.map((v2, d) => v2 * (l1.data as Float32Array)[d]!));
      const h1 = a.map((r, i) => r.map((v2, d) => v2 + h[i]![d]!));
      let m = layerNorm(h1, get(p + 'layernorm_after.weight'), get(p + 'layernorm_after.bias'), eps);
      m = linear(m, get(p + 'intermediate.dense.weight'), get(p + 'intermediate.dense.bias')).map((r) => r.map((v2) => act(config.hidden_act, v2)));
      m = linear(m, get(p + 'output.dense.weight'), get(p + 'output.dense.bias'));
      const l2 = w.get(p + 'lambda_2');
      if (l2) m = m.map((r) => r.map((v2, d) => v2 * (l2.data as Float32Array)[d]!));
      h = m.map((r, i) => r.map((v2, d) => v2 + h1[i]![d]!));
    }
    hs.push(h);
    const meanPool = beit && config.use_mean_pooling;
    const last = meanPool ? h : layerNorm(h, get('layernorm.weight'), get('layernorm.bias'), eps);
    out.last_hidden_state.push(last);
    out.hidden_states.push(hs);
    if (beit) {
      if (meanPool) {
        const mean = new Float64Array(D);
        for (let i = 1; i < S; i++) for (let d = 0; d < D; d++) mean[d]! += last[i]![d]! / (S - 1);
        pooled.push(layerNorm([mean], get('pooler.layernorm.weight'), get('pooler.layernorm.bias'), eps)[0]!);
      } else pooled.push(last[0]!);
    } else {
      const y = linear([last[0]!], get('pooler.dense.weight'), get('pooler.dense.bias'))[0]!;
      pooled.push(y.map((v2) => act(config.pooler_act ?? 'tanh', v2)));
    }
  }
  out.pooler_output = pooled;
  return out;
}
