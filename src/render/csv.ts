import type { Report } from "../core/report/index.js";
import { csvField } from "./text.js";
import { reportRows } from "./rows.js";

const COLUMNS = [
  "name",
  "count",
  "kind",
  "quantized",
  "original_shape",
  "original_dtype",
  "stored_shape",
  "stored_dtype",
  "logical_elements",
  "stored_elements",
  "trainable",
  "parameter_bytes",
  "quant_state_bytes",
  "tied_to",
  "format",
  "logical_shape",
] as const;

/** CSV (RFC 4180): a header row, then one row per tensor or group, per-instance figures as exact integers. */
export function renderCsv(report: Report, options: { allTensors: boolean }): string {
  const lines = [COLUMNS.join(",")];
  for (const { name, tensor: t, count } of reportRows(report, options.allTensors)) {
    const values: Array<string | number | boolean> = [
      name,
      count,
      t.kind,
      t.quantized,
      t.originalShape.join("x"),
      t.originalDtype,
      t.storedShape.join("x"),
      t.storedDtype,
      t.logicalElements,
      t.storedElements,
      t.trainable,
      t.parameterBytes,
      t.quantStateBytes,
      t.tiedTo ?? "",
      t.format ?? "",
      t.logicalShape?.join("x") ?? "",
    ];
    lines.push(values.map((v) => (typeof v === "string" ? csvField(v) : String(v))).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}


