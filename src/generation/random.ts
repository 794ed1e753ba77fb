// The random source of sampling. PyTorch's generator (Mersenne Twister / Philox plus its own
// multinomial kernel) cannot be reproduced bit for bit, so sampled tokens differ from Python's
// for the same seed; what we guarantee is that a seed always gives the same tokens here, and that
// tokens are drawn with exactly the probabilities of the processed scores.
//
// Generator: xoshiro128** (Blackman & Vigna, 2018), 128-bit state, period 2^128 - 1, passes
// BigCrush; seeded through SplitMix32 so that nearby seeds give unrelated streams. Uniform
// doubles use 53 random bits (two outputs), so every double in [0, 1) on the 2^-53 grid is
// equally likely.

export class RandomGenerator {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any safe integer or bigint (its low 64 bits are used). Without one, a random seed. */
  constructor(seed?: number | bigint) {
    let x: bigint;
    if (seed === undefined) {
      x = crypto.getRandomValues(new BigUint64Array(1))[0]!;
    } else if (typeof seed === 'bigint') {
      x = BigInt.asUintN(64, seed);
    } else {
      if (!Number.isSafeInteger(seed)) throw new Error(`\`seed\` must be an integer (or a bigint), got ${seed}`);
      x = BigInt.asUintN(64, BigInt(seed));
    }
    // SplitMix32 over both halves of the seed fills the state; it is never all zero.
    let sm = Number(x & 0xffffffffn) ^ Math.imul(Number(x >> 32n), 0x9e3779b9);
    const next = (): number => {
      sm = (sm + 0x9e3779b9) | 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * One index drawn with probability weights[i] / sum(weights), like torch.multinomial with one
   * sample. Weights must be finite and non-negative with a positive sum (torch's condition).
   */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || w === Infinity) throw new Error('probability tensor contains either `inf`, `nan` or element < 0');
      total += w;
    }
    if (!(total > 0)) throw new Error('invalid multinomial distribution (sum of probabilities <= 0)');
    const u = this.random() * total;
    let acc = 0;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (w === 0) continue;
      acc += w;
      last = i;
      if (u < acc) return i;
    }
    // u can only reach the end through rounding of the running sum: the last positive weight.
    return last;
  }

  /**
   * k distinct indices drawn without replacement, in draw order (each draw proportional to the
   * remaining weights), like torch.multinomial(weights, k, replacement=False).
   */
  sampleWithoutReplacement(weights: ArrayLike<number>, k: number): number[] {
    const w = Float64Array.from(weights as ArrayLike<number>);
    let positive = 0;
    for (const x of w) if (x > 0) positive++;
    if (k > positive) throw new Error(`cannot sample n_sample > prob_dist.size(-1) samples without replacement (${k} > ${positive} non-zero weights)`);
    const out: number[] = [];
    for (let j = 0; j < k; j++) {
      const i = this.categorical(w);
      out.push(i);
      w[i] = 0;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
