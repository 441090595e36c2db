import type { Check } from "../core/report/index.js";
import { formatBytes, formatCount, type Units } from "./units.js";

/** One line per failed gate: limit, actual, and by how much it missed. */
export function describeFailedChecks(checks: Check[], units: Units): string[] {
  return checks
    .filter((c) => !c.passed)
    .map((c) => {
      const show = (n: number): string => (c.name === "max-memory" ? `${formatCount(n)} bytes${units === "bytes" ? "" : ` (${formatBytes(n, units)})`}` : formatCount(n));
      const miss = c.name === "min-trainable" ? `under by ${show(c.limit - c.actual)}` : `over by ${show(c.actual - c.limit)}`;
      return `check failed: ${c.name}: limit ${show(c.limit)}, actual ${show(c.actual)}, ${miss}`;
    });
}
