import type { Checkpoint } from "../format/index.js";
import { bytesOf, TORCH_DTYPES } from "../format/index.js";
import { simulateScheme, type SimulationOptions } from "../storage/index.js";
import type { ErrorReport, KeepPick } from "./error.js";

/**
 * `--keep-budget`: which modules to keep unquantized, highest measured error per byte first, so the
 * model still fits the budget. Every candidate set is checked with the exact audit.
 */
export function pickModulesToKeep(checkpoint: Checkpoint, simulation: SimulationOptions, error: ErrorReport, budget: number): KeepPick {
  const base = simulateScheme(checkpoint, simulation);
  const baseSkip = simulation.skipModules ?? [...new Set(base.tensors.filter((t) => t.kind === "output-head" && t.tiedTo === undefined).map((t) => moduleOf(t.name)))];
  const loadDtype = base.scheme.torchDtype;
  const elementDtype = Object.values(TORCH_DTYPES).find((d) => d.torchName === loadDtype)?.dtype ?? "BF16";
  const quantized = new Map(base.tensors.filter((t) => t.quantized).map((t) => [t.name, t]));
  const candidates = error.tensors.flatMap((t) => {
    const tensor = quantized.get(t.name);
    if (tensor === undefined || t.rmse === null || t.elements === 0 || !t.name.endsWith(".weight")) return [];
    const cost = bytesOf(tensor.logicalElements, elementDtype) - tensor.parameterBytes - tensor.quantStateBytes;
    // The measured squared error scaled from the sample to the whole tensor.
    const squaredError = t.rmse * t.rmse * t.totalElements;
    return [{ name: t.name, module: moduleOf(t.name), cost, squaredError }];
  });
  candidates.sort((a, b) => b.squaredError / Math.max(1, b.cost) - a.squaredError / Math.max(1, a.cost));

  const totalWith = (modules: string[]): number => simulateScheme(checkpoint, { ...simulation, skipModules: [...baseSkip, ...modules] }).totals.totalBytes;
  const chosen: string[] = [];
  let estimate = base.totals.totalBytes;
  for (const c of candidates) {
    if (estimate + c.cost > budget) continue;
    chosen.push(c.module);
    estimate += c.cost;
  }
  // The estimate adds per-tensor costs; the exact audit has the last word.
  let total = chosen.length === 0 ? base.totals.totalBytes : totalWith(chosen);
  while (chosen.length > 0 && total > budget) {
    chosen.pop();
    total = chosen.length === 0 ? base.totals.totalBytes : totalWith(chosen);
  }
  const kept = new Set(chosen);
  return {
    budget,
    baselineBytes: base.totals.totalBytes,
    totalBytes: total,
    fits: total <= budget,
    modules: chosen,
    skipModules: [...baseSkip, ...chosen],
    sqnrBeforeDb: pooledSqnr(error, () => true),
    sqnrAfterDb: pooledSqnr(error, (name) => !kept.has(moduleOf(name))),
  };
}

function moduleOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? name : name.slice(0, dot);
}

/** SQNR pooled over the measured tensors; excluded ones count as exact (their error leaves, their signal stays). */
function pooledSqnr(error: ErrorReport, quantizedStill: (name: string) => boolean): number | null {
  let signal = 0;
  let noise = 0;
  for (const t of error.tensors) {
    if (t.rmse === null || t.elements === 0) continue;
    const e2 = t.rmse * t.rmse * t.elements;
    const x2 = t.sqnrDb === null ? 0 : e2 * 10 ** (t.sqnrDb / 10);
    signal += x2;
    if (quantizedStill(t.name)) noise += e2;
  }
  return signal === 0 || noise === 0 ? null : 10 * Math.log10(signal / noise);
}

