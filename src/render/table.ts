import { Chalk } from "chalk";
import type { Report } from "../core/report/index.js";
import type { TensorReport } from "../core/storage/index.js";
import { renderGrid, type Align } from "./grid.js";
import { originalLabel, reportRows, schemeTitle, totalLines } from "./rows.js";
import { trainingRows, trainingTitle } from "./training.js";
import { formatBytes, formatCount, formatShape, type Units } from "./units.js";

export interface TableOptions {
  color: boolean;
  units: Units;
  /** One row per tensor instead of one per repeated block. */
  allTensors: boolean;
  /** Terminal width, for wrapping the explanation. */
  width: number;
}

/** The terminal report: per-layer table, totals, and the plain-language explanation. */
export function renderTable(report: Report, options: TableOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const grouped = !options.allTensors;
  const head = ["tensor", ...(grouped ? ["×"] : []), "original", "stored", "logical", "numel", "train", "bytes", "quant state", ...(grouped ? ["total bytes"] : [])];
  const rows: string[][] = [];
  for (const { name, tensor, count } of reportRows(report, options.allTensors)) {
    const bytes = (n: number): string => (n === 0 ? c.dim("0") : formatBytes(n, options.units));
    rows.push([
      tensor.quantized ? c.cyan(name) : name,
      ...(grouped ? [count > 1 ? `×${count}` : ""] : []),
      originalLabel(tensor),
      tensor.tiedTo !== undefined ? c.dim(`tied to ${tensor.tiedTo}`) : `${formatShape(tensor.storedShape)} ${tensor.storedDtype}`,
      formatCount(tensor.logicalElements),
      formatCount(tensor.storedElements),
      trainMark(tensor, c),
      bytes(tensor.parameterBytes),
      bytes(tensor.quantStateBytes),
      ...(grouped ? [bytes(count * (tensor.parameterBytes + tensor.quantStateBytes))] : []),
    ]);
  }
  const aligns = head.map((h): Align => (["tensor", "original", "stored", "train"].includes(h) ? "left" : "right"));
  const table = renderGrid(head.map((h) => c.bold(h)), rows, aligns);
  return [header(report, c), table, totals(report, options, c), ...explanation(report, options.width), ...training(report, options, c)].join("\n\n") + "\n";
}

function trainMark(tensor: TensorReport, c: InstanceType<typeof Chalk>): string {
  if (tensor.kind === "buffer") return c.dim("buffer");
  return tensor.trainable ? "yes" : c.yellow("no");
}

function header(report: Report, c: InstanceType<typeof Chalk>): string {
  const { scheme, model } = report;
  const name = schemeTitle(report);
  const files = model.files.length === 1 ? model.files[0] : `${model.files.length} files`;
  const rest = scheme.name === "stored" && scheme.torchDtype === "stored" ? "" : `, unquantized tensors in ${scheme.torchDtype}`;
  return `${c.bold(model.source)} (${files}, ${formatCount(model.tensorCount)} tensors): ${c.bold(name)}${rest}`;
}

function totals(report: Report, options: TableOptions, c: InstanceType<typeof Chalk>): string {
  const withExact = (n: number): string => (options.units === "bytes" ? formatBytes(n, "bytes") : `${formatBytes(n, options.units)} (${formatCount(n)} bytes)`);
  const lines = totalLines(report).map(({ label, value, bytes }): [string, string] => [label, bytes ? withExact(value) : formatCount(value)]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${label === "total" ? c.bold(value) : value}`).join("\n");
}

function training(report: Report, options: TableOptions, c: InstanceType<typeof Chalk>): string[] {
  const t = report.training;
  if (t === undefined) return [];
  const rows = trainingRows(t, options.units);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${label.startsWith("total") ? c.bold(value) : value}`);
  return [c.bold(trainingTitle(t, schemeTitle(report))), lines.join("\n"), t.peftLine, t.notes.map((n) => wrap(n, Math.max(40, options.width))).join("\n")];
}

function explanation(report: Report, width: number): string[] {
  const lines = report.explanation;
  return lines.length === 0 ? [] : [lines.map((line) => wrap(line, Math.max(40, width))).join("\n\n")];
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line.length === 0 ? word : `${line} ${word}`;
    }
  }
  if (line.length > 0) out.push(line);
  return out.join("\n");
}
