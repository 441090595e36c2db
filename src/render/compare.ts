import { Chalk } from "chalk";
import type { Comparison } from "../core/report/index.js";
import { narrowedNote, renderColumns, type Column } from "./grid.js";
import { cleanText, wrapText } from "./text.js";
import { formatBytes, formatCount, type Units } from "./units.js";

export interface ComparisonRenderOptions {
  color: boolean;
  units: Units;
  /** Terminal width; null or absent: no limit. */
  width?: number | null;
}

interface CompareColumn {
  head: string;
  align: "left" | "right";
  cell: (row: Comparison["rows"][number]) => string;
  /** Dropped first (lowest) in a narrow terminal; 0 stays. */
  priority?: number;
}

function columns(comparison: Comparison, units: Units): CompareColumn[] {
  const several = comparison.models.length > 1;
  const fits = comparison.maxMemory !== undefined;
  return [
    ...(several ? [{ head: "model", align: "left" as const, cell: (r: Comparison["rows"][number]) => r.model }] : []),
    { head: "scheme", align: "left", cell: (r) => r.label },
    { head: "sum(p.numel())", align: "right", cell: (r) => formatCount(r.totals.reportedParameters) },
    { head: "trainable", align: "right", cell: (r) => formatCount(r.totals.trainableParameters) },
    { head: "parameter bytes", align: "right", cell: (r) => formatBytes(r.totals.parameterBytes, units) },
    { head: "quant state", align: "right", cell: (r) => formatBytes(r.totals.quantStateBytes, units) },
    { head: "total", align: "right", cell: (r) => formatBytes(r.totals.totalBytes, units) },
    { head: "bits/param", align: "right", cell: (r) => r.bitsPerParameter.toFixed(3) },
    { head: "ratio", align: "right", cell: (r) => `${r.ratio.toFixed(3)}×` },
    ...(comparison.rows.some((r) => r.training !== undefined)
      ? [
          { head: "train params", align: "right" as const, cell: (r: Comparison["rows"][number]) => formatCount(r.training?.trainableParameters ?? 0) },
          { head: "training total", align: "right" as const, cell: (r: Comparison["rows"][number]) => formatBytes(r.training?.total ?? 0, units) },
        ]
      : []),
    ...(comparison.rows.some((r) => r.fit !== undefined)
      ? [
          { head: "fit total", align: "right" as const, cell: (r: Comparison["rows"][number]) => formatBytes(r.fit?.total ?? 0, units) },
          { head: "max context", align: "right" as const, cell: (r: Comparison["rows"][number]) => (r.fit?.maxContext == null ? "" : formatCount(r.fit.maxContext)) },
        ]
      : []),
    ...(comparison.rows.some((r) => r.error !== undefined)
      ? [{ head: "SQNR dB", align: "right" as const, cell: (r: Comparison["rows"][number]) => (r.error === undefined ? "" : r.error.sqnrDb === null ? (r.error.rmse === 0 ? "exact" : "n/a") : r.error.sqnrDb.toFixed(2)) }]
      : []),
    ...(fits || comparison.rows.some((r) => r.fits !== undefined) ? [{ head: "fits", align: "left" as const, cell: (r: Comparison["rows"][number]) => (r.fits === true ? "yes" : "no") }] : []),
  ];
}

function title(comparison: Comparison, units: Units): string {
  const models = comparison.models.map((m) => m.source).join(", ");
  const budget = comparison.maxMemory === undefined ? "" : `; budget ${formatBytes(comparison.maxMemory, units)}`;
  // Plain-dtype schemes hold everything in their dtype; the quantized ones hold the rest in one load dtype.
  const quantized = comparison.rows.find((r) => ["int8", "fp4", "nf4"].includes(r.scheme.name));
  const rest = quantized === undefined ? "" : `; quantized schemes keep the rest in ${quantized.scheme.torchDtype}`;
  return `${models}: ${comparison.schemes.join(", ")}${rest}${budget}`;
}

// Narrow terminals drop these first: detail that the totals or other columns already imply.
const PRIORITY: Readonly<Record<string, number>> = { "quant state": 1, "parameter bytes": 2, "bits/param": 3, trainable: 4, "train params": 5, ratio: 6, "max context": 7 };

export function renderComparisonTable(comparison: Comparison, options: ComparisonRenderOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const cols = columns(comparison, options.units);
  const fitted: Column[] = cols.map((col) => ({
    head: c.bold(col.head),
    align: col.align,
    priority: Object.prototype.hasOwnProperty.call(PRIORITY, col.head) ? PRIORITY[col.head]! : 0,
    cells: comparison.rows.map((row) => cleanText(col.cell(row))),
    ...(col.head === "fits" ? { style: (cell: string, r: number) => (comparison.rows[r]!.fits === false ? c.yellow(cell) : cell) } : {}),
    ...(col.head === "model" ? { shrink: true } : {}),
  }));
  const { text, dropped } = renderColumns(fitted, options.width ?? null);
  const width = options.width ?? null;
  const note = narrowedNote(dropped, width);
  const parts = [c.bold(wrapText(cleanText(title(comparison, options.units)), width)), note === "" ? text : `${text}\n${c.dim(note)}`];
  if (comparison.perLayer !== undefined) {
    const several = comparison.models.length > 1;
    const head = [...(several ? ["model"] : []), "tensor", "×", ...comparison.schemes];
    const layers = comparison.perLayer.map((layer) => [
      ...(several ? [layer.model] : []),
      layer.tensor,
      layer.count > 1 ? `×${layer.count}` : "",
      ...comparison.schemes.map((s) => formatBytes(layer.bytes[s] ?? 0, options.units)),
    ]);
    const perLayer: Column[] = head.map((h, i) => ({
      head: c.bold(h),
      align: h === "model" || h === "tensor" ? "left" : "right",
      // The model's name may give way first; the tensor's shrinks in the middle; the figures stay.
      priority: h === "model" ? 1 : 0,
      ...(h === "tensor" ? { shrink: true } : {}),
      cells: layers.map((row) => cleanText(row[i] ?? "")),
    }));
    parts.push(renderColumns(perLayer, width).text);
  }
  if (comparison.pick !== undefined) parts.push(comparison.pick.map((p) => `pick${comparison.models.length > 1 ? ` for ${p.model}` : ""}: ${p.scheme ?? "none fits"}`).join("\n"));
  return `${parts.join("\n\n")}\n`;
}

export function renderComparisonMarkdown(comparison: Comparison, options: { units: Units }): string {
  const cols = columns(comparison, options.units);
  const cell = (s: string): string => s.replace(/\|/g, "\\|");
  const lines = [
    `### ${cell(title(comparison, options.units))}`,
    "",
    `| ${cols.map((col) => col.head).join(" | ")} |`,
    `|${cols.map((col) => (col.align === "right" ? "--:" : "---")).join("|")}|`,
    ...comparison.rows.map((row) => `| ${cols.map((col) => cell(col.cell(row))).join(" | ")} |`),
  ];
  if (comparison.perLayer !== undefined) {
    lines.push("", `| tensor | × | ${comparison.schemes.join(" | ")} |`, `|---|--:|${comparison.schemes.map(() => "--:").join("|")}|`);
    for (const layer of comparison.perLayer) {
      lines.push(`| \`${cell(layer.tensor)}\` | ${layer.count} | ${comparison.schemes.map((s) => formatBytes(layer.bytes[s] ?? 0, options.units)).join(" | ")} |`);
    }
  }
  if (comparison.pick !== undefined) lines.push("", ...comparison.pick.map((p) => `**pick${comparison.models.length > 1 ? ` for ${cell(p.model)}` : ""}:** ${p.scheme ?? "none fits"}`));
  return `${lines.join("\n")}\n`;
}

/** CSV: one row per model and scheme (or, with --per-layer, per tensor group), exact integers. */
export function renderComparisonCsv(comparison: Comparison): string {
  const quote = (v: string | number | boolean): string => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines: string[] = [];
  if (comparison.perLayer !== undefined) {
    lines.push(["model", "tensor", "count", ...comparison.schemes.map((s) => `${s}_bytes`)].join(","));
    for (const l of comparison.perLayer) lines.push([l.model, l.tensor, l.count, ...comparison.schemes.map((s) => l.bytes[s] ?? 0)].map(quote).join(","));
  } else {
    lines.push("model,scheme,double_quant,logical_parameters,reported_parameters,trainable_parameters,parameter_bytes,quant_state_bytes,total_bytes,bits_per_parameter,ratio,fits");
    for (const r of comparison.rows) {
      const t = r.totals;
      lines.push(
        [r.model, r.scheme.name, r.scheme.doubleQuant, t.logicalParameters, t.reportedParameters, t.trainableParameters, t.parameterBytes, t.quantStateBytes, t.totalBytes, r.bitsPerParameter, r.ratio, r.fits ?? ""]
          .map(quote)
          .join(","),
      );
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}
