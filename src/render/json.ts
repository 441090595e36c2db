import type { Report } from "../core/types.js";

/** The JSON contract (schemaVersion 1): the report object itself, as the table draws it. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
