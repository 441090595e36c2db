import { EXIT } from "../errors.js";
import type { Totals } from "../storage/index.js";

/** CI budget gates, each optional. */
export interface Gates {
  /** Total bytes: parameters and quantization state. */
  maxMemory?: number;
  maxParams?: number;
  /** --max-params counts logical parameters instead of sum(p.numel()). */
  logical?: boolean;
  minTrainable?: number;
}

export interface Check {
  name: "max-memory" | "max-params" | "min-trainable";
  limit: number;
  actual: number;
  passed: boolean;
}

/** `memoryBytes`: what --max-memory limits; the fit total when `fit` computed one. */
export function runChecks(totals: Totals, gates: Gates, memoryBytes: number = totals.totalBytes): Check[] {
  const checks: Check[] = [];
  if (gates.maxMemory !== undefined) checks.push(upTo("max-memory", gates.maxMemory, memoryBytes));
  if (gates.maxParams !== undefined) checks.push(upTo("max-params", gates.maxParams, gates.logical === true ? totals.logicalParameters : totals.reportedParameters));
  if (gates.minTrainable !== undefined) {
    checks.push({ name: "min-trainable", limit: gates.minTrainable, actual: totals.trainableParameters, passed: totals.trainableParameters >= gates.minTrainable });
  }
  return checks;
}

function upTo(name: Check["name"], limit: number, actual: number): Check {
  return { name, limit, actual, passed: actual <= limit };
}

/** Exit code of an audit whose report rendered: 5 when any gate failed. */
export function getExitCode(checks: Check[]): number {
  return checks.every((c) => c.passed) ? EXIT.ok : EXIT.gate;
}
