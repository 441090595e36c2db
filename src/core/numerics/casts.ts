/**
 * Rounding fp32 values to binary16 and bfloat16, round to nearest even (spec quantization-error §5).
 * Works on the fp32 bit pattern, so it does not depend on the runtime having Math.f16round.
 */
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** fp16(x): overflow to ±inf from 65520, subnormals on the 2^-24 grid, 2^-25 (a tie) to 0. */
export function toHalf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? -1 : 1;
  if (a >= 65_520) return sign * Infinity;
  if (a < 2 ** -14) return sign * roundHalfEven(a * 2 ** 24) * 2 ** -24;
  scratch[0] = a;
  const exponent = ((scratchBits[0]! >>> 23) & 0xff) - 127;
  const ulp = 2 ** (exponent - 10);
  return sign * roundHalfEven(a / ulp) * ulp;
}

/** bf16(x): `(u + 0x7FFF + ((u >> 16) & 1)) >> 16`, NaN kept NaN. */
export function toBfloat16(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  scratch[0] = x;
  const u = scratchBits[0]!;
  scratchBits[0] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return scratch[0];
}

/** Round half to even of a double, either sign (CUDA's __float2int_rn, torch.round): Math.round rounds ties up, and an odd result of a tie steps down. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The binary16 bit pattern nearest an fp32 bit pattern (round half to even), in integer arithmetic:
 * the fast path of `toHalf` for whole arrays (same results; a property test holds them equal).
 */
export function halfBitsOf(u: number): number {
  const a = u & 0x7fffffff;
  // Normal halves, the common case (2^-14 ≤ |x| < 65520), in a function small enough to inline:
  // rebias the exponent (127 → 15) and round the 13 dropped bits half to even by adding 0xfff plus
  // the kept last bit; a carry out of the mantissa steps the exponent, as it should. No branch on the
  // dropped bits, which are random in real weights.
  if (a - 0x38800000 >>> 0 < 0x0efff000) return ((u >>> 16) & 0x8000) | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  return halfBitsOfEdge(u);
}

/** halfBitsOf outside the normal range: NaN, infinities, overflow and subnormals. */
function halfBitsOfEdge(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0); // inf, NaN
  if (a >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 overflows
  // Below 2^-14: the subnormal grid of 2^-24; 2^-25 itself is a tie and goes to 0 (even).
  if (a <= 0x33000000) return sign;
  const e = a >>> 23;
  const m = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) === 1)) q += 1;
  return sign | q;
}

/** bfloat16 rounding of an fp32 bit pattern, as bits of the fp32 it becomes (NaN kept NaN). */
export function bfloat16BitsOf(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return u | 0x400000;
  return (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
}
