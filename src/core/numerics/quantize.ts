import { signedDynamicMap, FP4_CODE, fp4Nibble, NF4_CODE, nf4Nibble, nearestDynamicIndex } from "./codebooks.js";
import { toBfloat16, toHalf, roundHalfEvenSigned } from "./casts.js";
import type { DecodableDtype } from "./decode.js";
import { addPair, type ErrorSums } from "./metrics.js";

/**
 * bitsandbytes' quantize → dequantize round trips on decoded values, measured into `sums`
 * (spec quantization-error §2–§5). All arithmetic is fp32 (Math.fround) where bitsandbytes' is.
 */
const f = Math.fround;

export const BLOCK = 64;
export const NESTED_BLOCK = 256;

/** Values as the dequantized tensor holds them: cast back to the input dtype. */
function castTo(dtype: DecodableDtype): (v: number) => number {
  return dtype === "F16" ? toHalf : dtype === "BF16" ? toBfloat16 : (v) => v;
}

/** Per-block absmax (fp32; NaN skipped as CUDA's fmaxf does) and whether the block holds a non-finite value. */
export function blockAbsmax(x: Float32Array): { absmax: Float32Array; bad: Uint8Array } {
  const blocks = Math.ceil(x.length / BLOCK);
  const absmax = new Float32Array(blocks);
  const bad = new Uint8Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let max = 0;
    const end = Math.min(x.length, (b + 1) * BLOCK);
    for (let i = b * BLOCK; i < end; i++) {
      const v = x[i]!;
      if (!Number.isFinite(v)) bad[b] = 1;
      const a = Math.abs(v);
      if (a > max) max = a;
    }
    absmax[b] = max;
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
 * GPU mapping; `restoredAbsmax` is double quantization's absmax′ when it applies.
 */
export function measureFourBit(x: Float32Array, type: "nf4" | "fp4", dtype: DecodableDtype, sums: ErrorSums, restoredAbsmax?: Float32Array): void {
  const { absmax, bad } = blockAbsmax(x);
  const scaleFor = restoredAbsmax ?? absmax;
  const code = type === "nf4" ? NF4_CODE : FP4_CODE;
  const nibble = type === "nf4" ? nf4Nibble : fp4Nibble;
  const cast = castTo(dtype);
  for (let b = 0; b < absmax.length; b++) {
    const start = b * BLOCK;
    const end = Math.min(x.length, start + BLOCK);
    if (bad[b] === 1) {
      for (let i = start; i < end; i++) if (!Number.isFinite(x[i]!)) sums.nonFinite += 1;
      continue;
    }
    const inv = f(1 / absmax[b]!);
    const scale = scaleFor[b]!;
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      const restored = cast(f(code[nibble(f(v * inv))]! * scale));
      addPair(sums, v, restored);
    }
  }
}

// fl(1/127) as bitsandbytes multiplies by it when dequantizing LLM.int8 weights.
const INV_127 = f(7.874015718698502e-3);

/** LLM.int8 (§4): fp16 cast, row-wise absmax (SCB), round half to even, x̂ = fl(fl(q·SCB)·fl(1/127)). */
export function measureInt8(x: Float32Array, rowLength: number, sums: ErrorSums): void {
  const h = new Float32Array(rowLength);
  for (let start = 0; start + rowLength <= x.length; start += rowLength) {
    let scb = 0;
    let excluded = false;
    for (let i = 0; i < rowLength; i++) {
      const v = x[start + i]!;
      if (!Number.isFinite(v)) {
        sums.nonFinite += 1;
        excluded = true;
        continue;
      }
      const half = toHalf(v);
      h[i] = half;
      if (!Number.isFinite(half)) {
        sums.overflow += 1;
        excluded = true;
      } else if (Math.abs(half) > scb) scb = Math.abs(half);
    }
    // A row with an overflow dequantizes to NaN in bitsandbytes: excluded from the metrics, counted above.
    if (excluded) continue;
    const scale = f(127 / scb);
    for (let i = 0; i < rowLength; i++) {
      const product = f(h[i]! * scale);
      const q = Number.isNaN(product) ? 0 : roundHalfEvenSigned(product);
      addPair(sums, x[start + i]!, f(f(q * scb) * INV_127));
    }
  }
}

/** fp16 / bf16 casts (§5): overflow excluded and counted, underflow counted and kept. */
export function measureCast(x: Float32Array, target: "fp16" | "bf16", sums: ErrorSums): void {
  const cast = target === "fp16" ? toHalf : toBfloat16;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) {
      sums.nonFinite += 1;
      continue;
    }
    const restored = cast(v);
    if (!Number.isFinite(restored)) {
      sums.overflow += 1;
      continue;
    }
    if (restored === 0 && v !== 0) sums.underflow += 1;
    addPair(sums, v, restored);
  }
}
