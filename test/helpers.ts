import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled test under dist/test/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Ground truth copied from ../shared/fixtures into the repository. */
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** A seeded uniform generator on [0, 1) (mulberry32) for tests: the same seed checks the same points on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
