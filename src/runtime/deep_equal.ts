// node:util's isDeepStrictEqual for the values configs hold (primitives, arrays, plain objects),
// in plain JavaScript so the config code runs in a browser too.

export function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => isDeepStrictEqual(v, bb[i]));
  }
  if (a instanceof Map || a instanceof Set) {
    const bb = b as Map<unknown, unknown> | Set<unknown>;
    if (a.size !== bb.size) return false;
    if (a instanceof Set) return [...a].every((v) => (bb as Set<unknown>).has(v));
    return [...a].every(([k, v]) => (bb as Map<unknown, unknown>).has(k) && isDeepStrictEqual(v, (bb as Map<unknown, unknown>).get(k)));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
