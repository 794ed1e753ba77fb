// JSON read and written the way Python transformers does it, so that a config saved here is
// byte-for-byte what `save_pretrained` writes in Python and loads there unchanged:
//   json.dumps(obj, indent=2, sort_keys=True) + "\n"   (ensure_ascii: non-ASCII as \uXXXX)
// Python keeps int and float apart (`0` vs `0.0`, `1e-05`); JavaScript numbers do not, so the
// writer is told which keys hold floats. +/-Infinity and NaN travel as {"__float__": "NaN"}.
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { readText } from '../hub/files.js';

/** Says whether the number at this key path (e.g. ['decoder', 'dropout']) is a Python float. */
export type FloatKeyTest = (path: readonly string[]) => boolean;

const FLOAT_TAG = '__float__';

/** Python's repr() of a float: shortest round-trip digits, `1.0`, `1e-05`, `1e+16`. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e');
  const sign = x < 0 ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intPart = digits.padEnd(exp + 1, '0').slice(0, exp + 1);
    const frac = digits.slice(exp + 1) || '0';
    return `${sign}${intPart}.${frac}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${sign}${m}e${e}`;
}

/** Python json's string encoding with ensure_ascii=True. */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `json.dumps(value, indent=2, sort_keys=True)` of Python, non-finite floats tagged. */
export function pythonJsonDumps(value: unknown, isFloat: FloatKeyTest = () => false): string {
  const write = (v: unknown, path: string[], indent: string): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return write({ [FLOAT_TAG]: pythonFloatRepr(v) }, path, indent);
      return Number.isInteger(v) && !isFloat(path) ? String(v) : pythonFloatRepr(v);
    }
    if (typeof v === 'string') return pythonString(v);
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      // Elements of a list share the list's key path: [0.5, 1.0] stays a list of floats.
      return `[\n${v.map((item) => inner + write(item, path, inner)).join(',\n')}\n${indent}]`;
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v as object).sort();
      if (keys.length === 0) return '{}';
      const rows = keys.map((k) => `${inner}${pythonString(k)}: ${write((v as Record<string, unknown>)[k], [...path, k], inner)}`);
      return `{\n${rows.join(',\n')}\n${indent}}`;
    }
    throw new Error(`cannot write ${typeof v} at '${path.join('.')}' as JSON`);
  };
  return write(value, [], '');
}

/** Reads a JSON object from a file; the error names the file and what was wrong. */
export async function readJsonObject(path: string, what = 'config file'): Promise<Record<string, unknown>> {
  const text = await readText(path, `a JSON ${what}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`It looks like the ${what} at '${path}' is not a valid JSON file: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`The ${what} at '${path}' must hold a JSON object, but holds ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return decodeSpecialFloats(parsed) as Record<string, unknown>;
}

/** {"__float__": "Infinity"} back to Infinity (as transformers' _decode_special_floats). */
export function decodeSpecialFloats(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeSpecialFloats);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === FLOAT_TAG && typeof o[FLOAT_TAG] === 'string') {
      const tag = o[FLOAT_TAG];
      if (tag === 'NaN') return NaN;
      if (tag === 'Infinity') return Infinity;
      if (tag === '-Infinity') return -Infinity;
      return o;
    }
    return Object.fromEntries(keys.map((k) => [k, decodeSpecialFloats(o[k])]));
  }
  return v;
}

/**
 * Writes `text` to `dir/filename` atomically: a temporary name in the same folder, then a
 * rename, so a reader never sees half a file. Creates `dir`; refuses a `dir` that is a file.
 */
export async function writeFileAtomic(dir: string, filename: string, text: string): Promise<string> {
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`Provided path (${dir}) should be a directory, not a file`);
  await mkdir(dir, { recursive: true });
  const target = join(dir, filename);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return target;
}
