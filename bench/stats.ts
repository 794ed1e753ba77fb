// Summaries of repeated timings, shared by the benchmarks.

/** The median (the mean of the two middle values for an even count); NaN for none. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
