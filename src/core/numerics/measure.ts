import { decodeValues } from "./decode.js";
import { emptySums, errorFigures, mergeSums, type ErrorFigures, type ErrorSums } from "./metrics.js";
import type { ErrorScheme, TensorPlan } from "./plan.js";
import { blockAbsmaxOf, decodeBlocks, doubleQuantize, measureCast, measureFourBit, measureInt8 } from "./quantize.js";

const f = Math.fround;

/**
 * One tensor's measurement, fed its planned ranges' bytes in order. Double quantization needs the
 * offset (the mean absmax over all blocks) before any block is measured: it is accumulated in a
 * first pass over the same ranges (`needsOffsetPass`), from the sampled blocks when sampling.
 */
export class TensorMeasurement {
  readonly sums: ErrorSums = emptySums();
  private absmaxSum = 0;
  private absmaxBlocks = 0;

  constructor(
    readonly plan: TensorPlan,
    private readonly scheme: ErrorScheme,
    private readonly doubleQuant: boolean,
  ) {}

  get needsOffsetPass(): boolean {
    return this.doubleQuant && (this.scheme === "nf4" || this.scheme === "fp4");
  }

  /** First pass (double quant): the blocks' absmax, for the offset. */
  addOffsetChunk(bytes: Uint8Array): void {
    const { absmax } = blockAbsmaxOf(bytes, this.plan.dtype);
    for (let b = 0; b < absmax.length; b++) this.absmaxSum += absmax[b]!;
    this.absmaxBlocks += absmax.length;
  }

  /** The offset: mean over every block read, summed in float64 and rounded once. */
  get offset(): number {
    return this.absmaxBlocks === 0 ? 0 : f(this.absmaxSum / this.absmaxBlocks);
  }

  get offsetBlocks(): number {
    return this.absmaxBlocks;
  }

  /** Quantizes, restores and measures one range (whole units). */
  measureChunk(bytes: Uint8Array): void {
    switch (this.scheme) {
      case "nf4":
      case "fp4": {
        const { x, ...blocks } = decodeBlocks(bytes, this.plan.dtype);
        const restored = this.doubleQuant ? doubleQuantize(blocks.absmax, this.offset) : undefined;
        measureFourBit(x, this.scheme, this.plan.dtype, this.sums, restored, blocks);
        break;
      }
      case "int8":
        measureInt8(decodeValues(bytes, this.plan.dtype), this.plan.rowLength, this.sums);
        break;
      case "fp16":
      case "bf16":
        measureCast(decodeValues(bytes, this.plan.dtype), this.scheme, this.sums);
        break;
    }
  }

  figures(): ErrorFigures {
    return errorFigures(this.sums);
  }
}

/** Element-weighted totals over tensors: pooled sums, never an average of decibels. */
export function pooledFigures(measurements: Iterable<{ sums: ErrorSums }>): ErrorFigures {
  const total = emptySums();
  for (const m of measurements) mergeSums(total, m.sums);
  return errorFigures(total);
}
