import type { Comparison } from "../core/report/index.js";
import type { Report } from "../core/report/index.js";

/** The JSON contract (schemaVersion 1; schema/*.schema.json): the same object the table draws. */
export function renderJson(value: Report | Comparison): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
