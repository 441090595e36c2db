import { Chalk } from "chalk";
import type { Report } from "../core/report/index.js";
import type { TensorReport } from "../core/storage/index.js";
import { commonPrefix, narrowedNote, renderColumns, type Column } from "./grid.js";
import type { Row } from "./rows.js";
import { cleanText, wrapText } from "./text.js";
import { originalLabel, reportRows, schemeTitle, totalLines } from "./rows.js";
import { trainingRows, trainingTitle } from "./training.js";
import { formatBytes, formatCount, formatShape, type Units } from "./units.js";

export interface TableOptions {
  color: boolean;
  units: Units;
  /** One row per tensor instead of one per repeated block. */
  allTensors: boolean;
  /** Terminal width the table must fit; null: as wide as it needs (piped, or --wide). */
  width: number | null;
}

/** Prose wraps at the terminal's width, or at this when there is no terminal. */
export const PROSE_WIDTH = 100;

/** The terminal report: per-layer table, totals, and the plain-language explanation. */
export function renderTable(report: Report, options: TableOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const grouped = !options.allTensors;
  const narrow = options.width !== null && options.width < 160;
  const { rows, names, head, caption } = displayRows(reportRows(report, options.allTensors), narrow);
  const bytes = (n: number): string => (n === 0 ? c.dim("0") : formatBytes(n, options.units));
  // Section rows (a repeated block's heading in a narrow terminal) have no figures.
  const of = (f: (row: Row) => string): string[] => rows.map((row) => (row === null ? "" : f(row)));
  // Priorities: what goes first when the terminal is narrow (0 stays). The stored layout, the
  // trainable flag and the group's total are the point of the table; per-instance detail goes first.
  const columns: Column[] = [
    { head, align: "left", priority: 0, shrink: true, cells: names, style: (cell, r) => (rows[r]?.tensor.quantized === true ? c.cyan(cell) : rows[r] === null ? c.dim(cell) : cell) },
    ...(grouped ? [{ head: "×", align: "right" as const, priority: 0, cells: of(({ count }) => (count > 1 ? `×${count}` : "")) }] : []),
    { head: "original", align: "left", priority: 4, cells: of(({ tensor }) => originalLabel(tensor)) },
    { head: "stored", align: "left", priority: 0, cells: of(({ tensor }) => (tensor.tiedTo !== undefined ? c.dim(`tied to ${cleanText(tensor.tiedTo)}`) : `${formatShape(tensor.storedShape)} ${tensor.storedDtype}`)) },
    { head: "logical", align: "right", priority: 2, cells: of(({ tensor }) => formatCount(tensor.logicalElements)) },
    { head: "numel", align: "right", priority: 5, cells: of(({ tensor }) => formatCount(tensor.storedElements)) },
    { head: "train", align: "left", priority: 0, cells: of(({ tensor }) => trainMark(tensor, c)) },
    { head: "bytes", align: "right", priority: grouped ? 3 : 6, cells: of(({ tensor }) => bytes(tensor.parameterBytes)) },
    { head: "quant state", align: "right", priority: 1, cells: of(({ tensor }) => bytes(tensor.quantStateBytes)) },
    ...(grouped ? [{ head: "total bytes", align: "right" as const, priority: 0, cells: of(({ tensor, count }) => bytes(count * (tensor.parameterBytes + tensor.quantStateBytes))) }] : []),
  ];
  const { text, dropped } = renderColumns(columns.map((col) => ({ ...col, head: c.bold(col.head) })), options.width);
  const note = narrowedNote(dropped, options.width);
  const narrowed = note === "" ? [] : [c.dim(note)];
  const prose = Math.min(options.width ?? PROSE_WIDTH, 120);
  return [wrapText(header(report, c), options.width), [...(caption === "" ? [] : [c.dim(wrapText(caption, options.width))]), text, ...narrowed].join("\n"), totals(report, options, c), ...explanation(report, prose), ...training(report, options, c, prose)].join("\n\n") + "\n";
}

/**
 * Names as the table shows them. In a narrow terminal the prefix every name shares is said once in
 * the column head, and a repeated block (`layers.*.`) gets a heading row with its members indented
 * under it, so the part of a name that tells rows apart keeps its room.
 */
function displayRows(all: Row[], narrow: boolean): { rows: Array<Row | null>; names: string[]; head: string; caption: string } {
  const clean = all.map((row) => cleanText(row.name));
  if (!narrow) return { rows: all, names: clean, head: "tensor", caption: "" };
  const prefix = commonPrefix(clean);
  const rows: Array<Row | null> = [];
  const names: string[] = [];
  let section = "";
  all.forEach((row, i) => {
    const name = clean[i]!.slice(prefix.length);
    const block = /^(.*?\*\.)/.exec(name)?.[1] ?? "";
    if (block !== "" && block !== section) {
      rows.push(null);
      names.push(block.slice(0, -1));
    }
    section = block;
    rows.push(row);
    names.push(block === "" ? name : `  ${name.slice(block.length)}`);
  });
  return { rows, names, head: "tensor", caption: prefix === "" ? "" : `names below start with ${prefix}` };
}

function trainMark(tensor: TensorReport, c: InstanceType<typeof Chalk>): string {
  if (tensor.kind === "buffer") return c.dim("buffer");
  return tensor.trainable ? "yes" : c.yellow("no");
}

function header(report: Report, c: InstanceType<typeof Chalk>): string {
  const { scheme, model } = report;
  const name = schemeTitle(report);
  const files = model.files.length === 1 ? model.files[0] : `${model.files.length} files`;
  const rest = scheme.name === "stored" && scheme.torchDtype === "stored" ? "" : `, unquantized in ${scheme.torchDtype}`;
  return `${c.bold(cleanText(model.source))} (${cleanText(files ?? "")}, ${formatCount(model.tensorCount)} tensors): ${c.bold(name)}${rest}`;
}

function totals(report: Report, options: TableOptions, c: InstanceType<typeof Chalk>): string {
  const withExact = (n: number): string => (options.units === "bytes" ? formatBytes(n, "bytes") : `${formatBytes(n, options.units)} (${formatCount(n)} bytes)`);
  const lines = totalLines(report).map(({ label, value, bytes }): [string, string] => [label, bytes ? withExact(value) : formatCount(value)]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${label === "total" ? c.bold(value) : value}`).join("\n");
}

function training(report: Report, options: TableOptions, c: InstanceType<typeof Chalk>, prose: number): string[] {
  const t = report.training;
  if (t === undefined) return [];
  const rows = trainingRows(t, options.units);
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(labelWidth)}  ${label.startsWith("total") ? c.bold(value) : value}`);
  return [c.bold(wrap(trainingTitle(t, schemeTitle(report)), prose)), lines.join("\n"), wrap(t.peftLine, prose), t.notes.map((n) => wrap(n, Math.max(40, prose))).join("\n")];
}

function explanation(report: Report, width: number): string[] {
  const lines = report.explanation;
  return lines.length === 0 ? [] : [lines.map((line) => wrap(cleanText(line), Math.max(40, width))).join("\n\n")];
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
