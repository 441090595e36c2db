/**
 * Error metrics over measured elements (spec quantization-error §6): sums in float64, pooled
 * across tensors rather than averaging decibels.
 */
export interface ErrorSums {
  /** Elements measured (finite input and finite result). */
  elements: number;
  sumSquares: number;
  sumSquaredError: number;
  sumAbsError: number;
  maxAbsError: number;
  /** fp16 casts (and int8's fp16 step) that became ±inf: excluded from the metrics. */
  overflow: number;
  /** Non-zero values that became 0 in an fp16 cast: kept in the metrics. */
  underflow: number;
  /** NaN or ±inf in the weights: counted, and their quantization unit excluded. */
  nonFinite: number;
}

export function emptySums(): ErrorSums {
  return { elements: 0, sumSquares: 0, sumSquaredError: 0, sumAbsError: 0, maxAbsError: 0, overflow: 0, underflow: 0, nonFinite: 0 };
}

/** Adds one measured pair (x, x̂). */
export function addPair(sums: ErrorSums, x: number, restored: number): void {
  const e = restored - x;
  const abs = Math.abs(e);
  sums.elements += 1;
  sums.sumSquares += x * x;
  sums.sumSquaredError += e * e;
  sums.sumAbsError += abs;
  if (abs > sums.maxAbsError) sums.maxAbsError = abs;
}

export function mergeSums(into: ErrorSums, from: ErrorSums): void {
  into.elements += from.elements;
  into.sumSquares += from.sumSquares;
  into.sumSquaredError += from.sumSquaredError;
  into.sumAbsError += from.sumAbsError;
  into.maxAbsError = Math.max(into.maxAbsError, from.maxAbsError);
  into.overflow += from.overflow;
  into.underflow += from.underflow;
  into.nonFinite += from.nonFinite;
}

export interface ErrorFigures {
  elements: number;
  rmse: number | null;
  meanAbsError: number | null;
  maxAbsError: number | null;
  /** 10·log10(Σx² / Σe²); null for an all-zero signal, or an exact result (Σe² = 0). */
  sqnrDb: number | null;
  overflow: number;
  underflow: number;
  nonFinite: number;
}

export function errorFigures(sums: ErrorSums): ErrorFigures {
  const n = sums.elements;
  return {
    elements: n,
    rmse: n === 0 ? null : Math.sqrt(sums.sumSquaredError / n),
    meanAbsError: n === 0 ? null : sums.sumAbsError / n,
    maxAbsError: n === 0 ? null : sums.maxAbsError,
    sqnrDb: n === 0 || sums.sumSquares === 0 || sums.sumSquaredError === 0 ? null : 10 * Math.log10(sums.sumSquares / sums.sumSquaredError),
    overflow: sums.overflow,
    underflow: sums.underflow,
    nonFinite: sums.nonFinite,
  };
}
