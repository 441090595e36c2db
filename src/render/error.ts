import { Chalk } from "chalk";
import type { Report, TensorError } from "../core/report/index.js";
import { commonPrefix, renderColumns, shortenName, type Column } from "./grid.js";
import { cleanText, csvField, markdownCode, wrapText } from "./text.js";
import { formatBytes, formatCount, type Units } from "./units.js";

export interface ErrorRenderOptions {
  color: boolean;
  units: Units;
  /** Terminal width; null: no limit. */
  width: number | null;
  format: "table" | "markdown" | "csv";
}

const db = (v: number | null, exact: boolean): string => (v === null ? (exact ? "exact" : "n/a") : v.toFixed(2));
const sig = (v: number | null): string => (v === null ? "n/a" : v === 0 ? "0" : v.toPrecision(4));

/** `qaudit error`: groups of repeated blocks worst first, the worst tensors, depth, and the totals. */
export function renderErrorTable(report: Report, options: ErrorRenderOptions): string {
  const error = report.error!;
  if (options.format === "csv") return renderErrorCsv(error.tensors);
  if (options.format === "markdown") return renderErrorMarkdown(report);
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const label = `${error.scheme}${error.doubleQuant ? "+dq" : ""}`;
  const how = error.sampled ? `sampled, up to ${formatBytes(error.sampleBytes ?? 0, options.units)} per tensor, seed ${error.seed}` : "every weight read";
  const share = error.modelBytes === 0 ? 0 : (100 * error.bytesRead) / error.modelBytes;
  const head = [
    `${c.bold(cleanText(report.model.source))}: ${c.bold(label)} error of ${formatCount(error.tensors.length)} tensors (${how})`,
    `read ${formatBytes(error.bytesRead, options.units)} (${formatCount(error.bytesRead)} bytes), ${share.toFixed(2)} % of the model's ${formatBytes(error.modelBytes, options.units)}`,
  ].join("\n");
  const width = options.width ?? Number.POSITIVE_INFINITY;
  const patterns = error.groups.map((g) => cleanText(g.pattern));
  const prefix = options.width === null ? "" : commonPrefix(patterns);
  const columns: Column[] = [
    { head: "tensor", align: "left", priority: 0, shrink: true, cells: patterns.map((p) => p.slice(prefix.length)) },
    { head: "×", align: "right", priority: 0, cells: error.groups.map((g) => (g.count > 1 ? `×${g.count}` : "")) },
    { head: "SQNR dB worst/med/best", align: "right", priority: 0, cells: error.groups.map((g) => {
      const exact = g.pooled.rmse === 0;
      return g.count === 1 ? db(g.worst.sqnrDb, exact) : `${db(g.worst.sqnrDb, exact)} / ${db(g.median.sqnrDb, exact)} / ${db(g.best.sqnrDb, exact)}`;
    }) },
    { head: "rmse", align: "right", priority: 2, cells: error.groups.map((g) => sig(g.pooled.rmse)) },
    { head: "max |err|", align: "right", priority: 1, cells: error.groups.map((g) => sig(g.pooled.maxAbsError)) },
  ];
  const table = [...(prefix === "" ? [] : [c.dim(wrapText(`names below start with ${prefix}`, options.width))]), renderColumns(columns.map((col) => ({ ...col, head: c.bold(col.head) })), options.width).text].join("\n");
  const worst = error.tensors.filter((t) => t.sqnrDb !== null).slice(0, 5);
  const worstLines = worst.length === 0 ? [] : [c.bold("worst tensors"), ...worst.map((t) => `  ${db(t.sqnrDb, false).padStart(7)} dB  ${shortenName(cleanText(t.name), Math.max(20, width - 14))}`)];
  const layers = error.layers.length === 0 ? [] : [c.bold("by layer index (pooled SQNR, dB)"), wrapCells(error.layers.map((l) => `${l.index}: ${db(l.sqnrDb, false)}`), options.width ?? 100)];
  const o = error.overall;
  const overall = wrapText(`overall (element-weighted): SQNR ${db(o.sqnrDb, o.rmse === 0)} dB, rmse ${sig(o.rmse)}, mean |err| ${sig(o.meanAbsError)}, ${formatCount(o.elements)} elements${o.overflow > 0 ? `, ${formatCount(o.overflow)} overflow` : ""}${o.underflow > 0 ? `, ${formatCount(o.underflow)} underflow` : ""}`, options.width);
  const skipped = error.skipped.length === 0 ? [] : [`skipped ${error.skipped.length}: ${error.skipped.slice(0, 3).map((s) => `${cleanText(s.name)} (${s.reason})`).join("; ")}${error.skipped.length > 3 ? "; …" : ""}`];
  const notes = error.notes.map((n) => wrapText(`note: ${n}`, options.width));
  const keep = keepLines(report, options.units, c);
  return `${[wrapText(head, options.width), table, worstLines.join("\n"), layers.join("\n"), overall, keep, [...skipped, ...notes].join("\n")].filter((s) => s.length > 0).join("\n\n")}\n`;
}

function renderErrorCsv(tensors: TensorError[]): string {
  const num = (v: number | null): string => (v === null ? "" : String(v));
  const rows = ["name,elements,rmse,mean_abs_error,max_abs_error,sqnr_db,overflow,underflow", ...tensors.map((t) => [csvField(t.name), t.elements, num(t.rmse), num(t.meanAbsError), num(t.maxAbsError), num(t.sqnrDb), t.overflow, t.underflow].join(","))];
  return `${rows.join("\n")}\n`;
}

function renderErrorMarkdown(report: Report): string {
  const error = report.error!;
  const lines = ["| tensor | × | SQNR dB (worst / median / best) | rmse |", "|---|---:|---|---:|"];
  for (const g of error.groups) lines.push(`| ${markdownCode(g.pattern)} | ${g.count} | ${db(g.worst.sqnrDb, g.pooled.rmse === 0)} / ${db(g.median.sqnrDb, g.pooled.rmse === 0)} / ${db(g.best.sqnrDb, g.pooled.rmse === 0)} | ${sig(g.pooled.rmse)} |`);
  return `${lines.join("\n")}\n\nOverall SQNR ${db(error.overall.sqnrDb, error.overall.rmse === 0)} dB over ${formatCount(error.overall.elements)} elements (${error.scheme}${error.doubleQuant ? "+dq" : ""}).\n`;
}

function wrapCells(cells: string[], width: number): string {
  const lines: string[] = [];
  let line = " ";
  for (const cell of cells) {
    if (line.length + cell.length + 2 > width && line.trim().length > 0) {
      lines.push(line);
      line = " ";
    }
    line += ` ${cell.padEnd(11)}`;
  }
  if (line.trim().length > 0) lines.push(line);
  return lines.map((l) => l.trimEnd()).join("\n");
}

function keepLines(report: Report, units: Units, c: InstanceType<typeof Chalk>): string {
  const keep = report.error?.keep;
  if (keep === undefined) return "";
  const budget = `${formatBytes(keep.budget, units)} (${formatCount(keep.budget)} bytes)`;
  if (!keep.fits) return c.red(`--keep-budget ${budget}: does not fit even fully quantized (${formatBytes(keep.baselineBytes, units)})`);
  if (keep.modules.length === 0) return `--keep-budget ${budget}: no module can be kept back within it (fully quantized: ${formatBytes(keep.baselineBytes, units)})`;
  const sqnr = keep.sqnrBeforeDb === null ? "" : `\n  measured SQNR ${keep.sqnrBeforeDb.toFixed(2)} dB → ${keep.sqnrAfterDb === null ? "exact" : `${keep.sqnrAfterDb.toFixed(2)} dB`}`;
  return [
    c.bold(`--keep-budget ${budget}: keep ${keep.modules.length} module${keep.modules.length === 1 ? "" : "s"} unquantized, total ${formatBytes(keep.totalBytes, units)} (${formatCount(keep.totalBytes)} bytes, exact audit)`),
    `  --skip-modules ${cleanText(keep.skipModules.join(","))}`,
    `  llm_int8_skip_modules=${cleanText(JSON.stringify(keep.skipModules))}${sqnr}`,
  ].join("\n");
}
