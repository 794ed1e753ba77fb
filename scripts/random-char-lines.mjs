// Lines of random characters, rendered like `ved synth` lines: no language model can guess them,
// so a model trained on them must read. The bundled OCR model's training set mixes 15,000 of
// these (seed 11) with 40,000 `ved synth` lines. Usage (after npm install, which builds dist/):
//   node scripts/random-char-lines.mjs OUT COUNT SEED
import { generateTextLines } from '../dist/src/training/synthetic.js';

const [out, countArg, seedArg] = process.argv.slice(2);
const count = Number(countArg);
const seed = Number(seedArg);
if (!out || !(Number.isInteger(count) && count > 0) || !Number.isInteger(seed)) {
  console.error('usage: node scripts/random-char-lines.mjs OUT COUNT SEED');
  process.exit(2);
}
// A 32-bit LCG: the set is defined by this exact sequence.
let s = seed >>> 0;
const r = () => {
  s = (s * 1664525 + 1013904223) >>> 0;
  return s / 2 ** 32;
};
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const PUNCT = '.,:;-/()#$%&@!?\'"+*=_';
const pick = (a) => a[Math.floor(r() * a.length)];
const texts = Array.from({ length: count }, () => {
  const n = 3 + Math.floor(r() * 28);
  let t = '';
  for (let i = 0; i < n; i++) {
    const u = r();
    // A space now and then (never first, last or doubled), else lower 45%, upper 20%, digits 23%, punctuation 12%.
    t += u < 0.12 && t && !t.endsWith(' ') && i < n - 1 ? ' ' : pick(u < 0.45 ? LOWER : u < 0.65 ? UPPER : u < 0.88 ? DIGITS : PUNCT);
  }
  return t;
});
await generateTextLines({ out, count, seed, height: 40, texts });
console.log(`wrote ${count} lines to ${out}`);
