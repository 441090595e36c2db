import { bfloat16BitsOf, halfBitsOf, toBfloat16, toHalf } from "./casts.js";
import { FP4_CODE, FP4_RANK_BITS, fp4Table, NF4_CODE, nf4Table, nearestDynamicIndex, signedDynamicMap, type BucketTable } from "./codebooks.js";
import { decodeValues, halfTable, halvesOf, type DecodableDtype } from "./decode.js";
import type { ErrorSums } from "./metrics.js";

/**
 * bitsandbytes' quantize → dequantize round trips on decoded values, measured into `sums`
 * (spec quantization-error §2–§5). All arithmetic is fp32 (Math.fround) where bitsandbytes' is.
 * The loops are written for speed: no allocation or call per element where a table does.
 */
const f = Math.fround;

export const BLOCK = 64;
export const NESTED_BLOCK = 256;

/** Adds a run's local sums (kept in locals by the hot loops) to a tensor's. */
function addRun(sums: ErrorSums, elements: number, sumSquares: number, sumSquaredError: number, sumAbsError: number, maxAbsError: number): void {
  sums.elements += elements;
  sums.sumSquares += sumSquares;
  sums.sumSquaredError += sumSquaredError;
  sums.sumAbsError += sumAbsError;
  sums.maxAbsError = Math.max(sums.maxAbsError, maxAbsError);
}

/** Values as the dequantized tensor holds them: cast back to the input dtype. */
function castTo(dtype: DecodableDtype): (v: number) => number {
  return dtype === "F16" ? toHalf : dtype === "BF16" ? toBfloat16 : (v) => v;
}

/**
 * Per-block absmax (fp32; NaN skipped as CUDA's fmaxf does) and whether the block holds a non-finite
 * value. The hot loops here avoid branches on the data: real weights' signs are random, and a branch
 * on them is mispredicted half the time (measured: 3–5× slower than `Math.abs` and a select).
 */
export function blockAbsmax(x: Float32Array): { absmax: Float32Array; bad: Uint8Array } {
  const blocks = Math.ceil(x.length / BLOCK);
  const absmax = new Float32Array(blocks);
  const bad = new Uint8Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * BLOCK;
    const end = Math.min(x.length, start + BLOCK);
    let max = 0;
    for (let i = start; i < end; i++) max = Math.max(max, Math.abs(x[i]!));
    if (max !== max) {
      // Math.max keeps a NaN: this block holds one. Its absmax skips NaN, as fmaxf does.
      bad[b] = 1;
      max = 0;
      for (let i = start; i < end; i++) {
        const a = Math.abs(x[i]!);
        if (a > max) max = a;
      }
    } else if (max === Infinity) bad[b] = 1;
    absmax[b] = max;
  }
  return { absmax, bad };
}

/**
 * Decoded values and their blocks' absmax in one pass where the dtype allows it. For BF16 (the
 * usual checkpoint dtype) the absmax is taken on the 16-bit patterns: for non-NaN values the order
 * of |x| is the order of `bits & 0x7fff`, so the pass that widens each value also finds its block's
 * maximum, and the values are not read a second time. Same results as decodeValues + blockAbsmax.
 */
export function decodeBlocks(bytes: Uint8Array, dtype: DecodableDtype): { x: Float32Array; absmax: Float32Array; bad: Uint8Array } {
  if (dtype !== "BF16") {
    const x = decodeValues(bytes, dtype);
    return { x, ...blockAbsmax(x) };
  }
  const halves = halvesOf(bytes, Math.floor(bytes.length / 2));
  const x = new Float32Array(halves.length);
  return { x, ...bf16Blocks(halves, new Uint32Array(x.buffer)) };
}

/** The blocks' absmax alone (double quantization's first pass): for BF16 the values are not even widened. */
export function blockAbsmaxOf(bytes: Uint8Array, dtype: DecodableDtype): { absmax: Float32Array; bad: Uint8Array } {
  return dtype === "BF16" ? bf16Blocks(halvesOf(bytes, Math.floor(bytes.length / 2)), null) : blockAbsmax(decodeValues(bytes, dtype));
}

/** BF16 blocks' absmax from the 16-bit patterns, widening each value into `bits` on the way when asked. */
function bf16Blocks(halves: Uint16Array, bits: Uint32Array | null): { absmax: Float32Array; bad: Uint8Array } {
  const count = halves.length;
  const blocks = Math.ceil(count / BLOCK);
  const absmax = new Float32Array(blocks);
  const bad = new Uint8Array(blocks);
  const widened = new Uint32Array(1);
  const asFloat = new Float32Array(widened.buffer);
  for (let b = 0; b < blocks; b++) {
    const start = b * BLOCK;
    const end = Math.min(count, start + BLOCK);
    let max = 0;
    if (bits === null) for (let i = start; i < end; i++) max = Math.max(max, halves[i]! & 0x7fff);
    else {
      for (let i = start; i < end; i++) {
        const h = halves[i]!;
        bits[i] = h << 16;
        max = Math.max(max, h & 0x7fff);
      }
    }
    if (max > 0x7f80) {
      // A NaN in the block: its absmax skips NaN, as fmaxf does.
      bad[b] = 1;
      max = 0;
      for (let i = start; i < end; i++) {
        const a = halves[i]! & 0x7fff;
        if (a <= 0x7f80 && a > max) max = a;
      }
    } else if (max === 0x7f80) bad[b] = 1; // ±inf
    widened[0] = max << 16;
    absmax[b] = asFloat[0]!;
  }
  return { absmax, bad };
}

/** Double quantization (§3): absmax − offset, 8-bit blockwise over groups of 256 blocks, restored. */
export function doubleQuantize(absmax: Float32Array, offset: number): Float32Array {
  const map = signedDynamicMap();
  const restored = new Float32Array(absmax.length);
  for (let g = 0; g < absmax.length; g += NESTED_BLOCK) {
    const end = Math.min(absmax.length, g + NESTED_BLOCK);
    let max2 = 0;
    for (let b = g; b < end; b++) max2 = Math.max(max2, Math.abs(f(absmax[b]! - offset)));
    const absmax2 = f(max2);
    const inv2 = f(1 / absmax2);
    for (let b = g; b < end; b++) {
      const q2 = nearestDynamicIndex(f(f(absmax[b]! - offset) * inv2));
      restored[b] = f(f(map[q2]! * absmax2) + offset);
    }
  }
  return restored;
}

/** The offset double quantization subtracts: the mean of every block's absmax, summed in float64. */
export function absmaxOffset(absmax: Float32Array): number {
  let sum = 0;
  for (let b = 0; b < absmax.length; b++) sum += absmax[b]!;
  return absmax.length === 0 ? 0 : f(sum / absmax.length);
}

/**
 * NF4/FP4 blockwise (blocks of 64 from the start of `x`, which begins on a block boundary) with the
 * GPU mapping; `restoredAbsmax` is double quantization's absmax′ when it applies. A block has only
 * 16 possible restored values: they are computed (and cast) once per block.
 */
export function measureFourBit(x: Float32Array, type: "nf4" | "fp4", dtype: DecodableDtype, sums: ErrorSums, restoredAbsmax?: Float32Array, blocks: { absmax: Float32Array; bad: Uint8Array } = blockAbsmax(x)): void {
  const { absmax, bad } = blocks;
  const scaleFor = restoredAbsmax ?? absmax;
  const nf4 = type === "nf4";
  const code = nf4 ? NF4_CODE : FP4_CODE;
  const table: BucketTable = nf4 ? nf4Table() : fp4Table();
  const { low, scale: bucketScale, base, first, second } = table;
  const cast = castTo(dtype);
  const restoredOf = new Float64Array(16);
  const xBits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  let n = 0;
  let sx2 = 0;
  let se2 = 0;
  let sae = 0;
  let max = sums.maxAbsError;
  for (let b = 0; b < absmax.length; b++) {
    const start = b * BLOCK;
    const end = Math.min(x.length, start + BLOCK);
    if (bad[b] === 1) {
      for (let i = start; i < end; i++) if (!Number.isFinite(x[i]!)) sums.nonFinite += 1;
      continue;
    }
    const inv = f(1 / absmax[b]!);
    const scale = scaleFor[b]!;
    // Indexed by what the loop finds: NF4's nibble; for FP4 the sign bit and the rank among the
    // magnitudes (its nibble is the sign bit and the rank's code bits).
    for (let k = 0; k < 16; k++) restoredOf[k] = cast(f(code[nf4 ? k : (k & 8) | FP4_RANK_BITS[k & 7]!]! * scale));
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      const s = f(v * inv);
      // The nibble: thresholds counted by table (NF4 on s; FP4 on |s| with the sign bit for s < 0).
      const m = nf4 ? s : Math.abs(s);
      let k = ((m - low) * bucketScale) | 0;
      if (k < 0) k = 0;
      else if (k > 4095) k = 4095;
      const count = base[k]! + (m > first[k]! ? 1 : 0) + (m > second[k]! ? 1 : 0);
      // FP4's sign bit, from x's own bits rather than a branch on s < 0 (random in real weights). They
      // differ only for a zero (s = -0 or v = -0), whose x̂ is then -0 instead of +0: same error.
      const e = restoredOf[nf4 ? count : ((xBits[i]! >>> 31) << 3) | count]! - v;
      const ae = Math.abs(e);
      sx2 += v * v;
      se2 += e * e;
      sae += ae;
      max = ae > max ? ae : max;
    }
    n += end - start;
  }
  addRun(sums, n, sx2, se2, sae, max);
}

// fl(1/127) as bitsandbytes multiplies by it when dequantizing LLM.int8 weights.
const ROUNDER = 6_755_399_441_055_744; // 1.5 · 2^52
const INV_127 = f(7.874015718698502e-3);

/** LLM.int8 (§4): fp16 cast, row-wise absmax (SCB), round half to even, x̂ = fl(fl(q·SCB)·fl(1/127)). */
export function measureInt8(x: Float32Array, rowLength: number, sums: ErrorSums): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const table = halfTable();
  const h = new Float32Array(rowLength);
  let max = sums.maxAbsError;
  for (let start = 0; start + rowLength <= x.length; start += rowLength) {
    let scb = 0;
    let excluded = false;
    for (let i = 0; i < rowLength; i++) {
      const half = table[halfBitsOf(bits[start + i]!)]!;
      h[i] = half;
      const a = Math.abs(half);
      scb = a > scb ? a : scb; // NaN fails the comparison
      excluded = excluded || a !== a || a === Infinity;
    }
    if (excluded) {
      // A row with an overflow dequantizes to NaN in bitsandbytes: excluded from the metrics, counted.
      for (let i = 0; i < rowLength; i++) {
        const v = x[start + i]!;
        if (!Number.isFinite(v)) sums.nonFinite += 1;
        else if (!Number.isFinite(h[i]!)) sums.overflow += 1;
      }
      continue;
    }
    const scale = f(127 / scb);
    let sx2 = 0;
    let se2 = 0;
    let sae = 0;
    for (let i = 0; i < rowLength; i++) {
      const product = f(h[i]! * scale);
      // Round half to even by the hardware: adding and taking away 1.5·2^52 leaves the nearest
      // integer, ties to even (|product| ≤ 127 here). Only a zero's sign can differ from
      // roundHalfEven, and no sum below sees it.
      const q = product !== product ? 0 : product + ROUNDER - ROUNDER;
      const v = x[start + i]!;
      const e = f(f(q * scb) * INV_127) - v;
      const ae = Math.abs(e);
      sx2 += v * v;
      se2 += e * e;
      sae += ae;
      max = ae > max ? ae : max;
    }
    addRun(sums, rowLength, sx2, se2, sae, max);
  }
}

/** fp16 / bf16 casts (§5): overflow excluded and counted, underflow counted and kept. */
export function measureCast(x: Float32Array, target: "fp16" | "bf16", sums: ErrorSums): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const table = halfTable();
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  let n = 0;
  let sx2 = 0;
  let se2 = 0;
  let sae = 0;
  let max = sums.maxAbsError;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v !== v || v === Infinity || v === -Infinity) {
      sums.nonFinite += 1;
      continue;
    }
    let restored: number;
    if (target === "fp16") restored = table[halfBitsOf(bits[i]!)]!;
    else {
      scratchBits[0] = bfloat16BitsOf(bits[i]!);
      restored = scratch[0]!;
    }
    if (restored === Infinity || restored === -Infinity) {
      sums.overflow += 1;
      continue;
    }
    if (restored === 0 && v !== 0) sums.underflow += 1;
    const e = restored - v;
    const ae = Math.abs(e);
    n += 1;
    sx2 += v * v;
    se2 += e * e;
    sae += ae;
    max = ae > max ? ae : max;
  }
  addRun(sums, n, sx2, se2, sae, max);
}
