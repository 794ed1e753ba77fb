// A small seeded random number generator for everything in training/ that must repeat exactly
// for a given seed: dataset shuffles and splits, synthetic text lines. Math.random cannot be
// seeded, so it is never used there.
//
// The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state,
// passes PractRand), seeded through splitmix32 so that nearby seeds (0, 1, 2…) give unrelated
// streams. A second number, `stream`, derives independent generators from one seed — e.g. one
// per synthetic line, so that line i is the same whatever the count or the order of rendering.

/** splitmix32: scrambles a 32-bit value; used only to expand seeds into generator state. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** A second normal deviate from the last Box–Muller pair, used by the next normal() call. */
  private spare: number | null = null;

  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed) || !Number.isFinite(stream)) {
      throw new Error(`SeededRandom: seed and stream must be finite numbers, got ${seed}, ${stream}`);
    }
    // Seeds beyond 32 bits keep their high part: fold both halves in.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    let s = splitmix32(lo ^ splitmix32(hi ^ splitmix32(stream >>> 0)));
    this.a = s;
    this.b = s = splitmix32(s);
    this.c = s = splitmix32(s);
    this.d = 1;
    // Discard the first outputs: sfc32's state needs a few rounds to mix.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [lo, hi] (both ends included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A standard normal deviate (Box–Muller), scaled. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('SeededRandom.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One element, with probability proportional to its weight. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
