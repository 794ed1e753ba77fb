// Exact conversions between 16-bit floats and float32. Both directions work on bit patterns,
// so widening is lossless (every half and bfloat16 value, NaN payloads included, is a float32)
// and narrowing rounds to nearest-even as torch's `.half()` does.

let HALF_TO_FLOAT_BITS: Uint32Array | undefined;

/** float32 bit pattern of every IEEE half bit pattern (65536 entries, built on first use). */
function halfTable(): Uint32Array {
  if (HALF_TO_FLOAT_BITS) return HALF_TO_FLOAT_BITS;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f) {
      // Inf / NaN: keep the payload in the top mantissa bits.
      bits = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant === 0) {
      bits = sign;
    } else {
      // Subnormal half: normalise the mantissa; each shift lowers the exponent by one.
      let e = 113;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
    table[h] = bits >>> 0;
  }
  HALF_TO_FLOAT_BITS = table;
  return table;
}

/** IEEE binary16 bit patterns → float32 values. */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = table[bits[i]!]!;
  return out;
}

/** bfloat16 bit patterns → float32 values (bfloat16 is the top half of a float32). */
export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** One float32 value → IEEE binary16 bits, rounding to nearest-even; overflow gives ±Inf. */
export function float32ToFloat16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  // NaN becomes the canonical quiet NaN 0x7e00 (with its sign), as c10's fp16 conversion does.
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Carry into the exponent is right: it rounds up to the next power of two (or to Inf).
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

/** float32 values → IEEE binary16 bit patterns. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}
