import { Chalk } from "chalk";
import type { FitReport } from "../core/budget/index.js";
import type { Report } from "../core/report/index.js";
import { renderGrid } from "./grid.js";
import { schemeTitle } from "./rows.js";
import { cleanText, csvField, wrapText } from "./text.js";
import { formatBytes, formatCount, type Units } from "./units.js";

export interface FitRenderOptions {
  color: boolean;
  units: Units;
  /** Terminal width; null: no limit. */
  width: number | null;
  /** Print the arithmetic (--explain). */
  explain: boolean;
}

/** `qaudit fit` in the terminal: the budget table, the verdict, the largest context and batch. */
export function renderFitTable(report: Report, options: FitRenderOptions): string {
  const fit = report.fit!;
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const bytes = (n: number): string => formatBytes(n, options.units);
  const rows = fit.components.map((comp) => [comp.name, bytes(comp.bytes), comp.exact ? "exact" : c.yellow("estimate"), fitBasis(comp.basis.replace(/^(exact|estimate): /, ""), options.width)]);
  rows.push([c.bold("total"), c.bold(bytes(fit.total)), fit.components.every((x) => x.exact) ? "exact" : c.yellow("estimate"), ""]);
  const sections = [wrapText(header(report, fit, c), options.width), renderGrid(["component", "bytes", "kind", "basis"].map((h) => c.bold(h)), rows, ["left", "right", "left", "left"]), verdict(fit, options.units, c)];
  // The engines' log lines are quoted whole when there is room (and with --wide or --json), else wrapped.
  const capacity = capacityLines(fit, options.units);
  if (capacity.length > 0) sections.push(capacity.map((l) => wrapText(l, options.width)).join("\n"));
  if (fit.llamaCpp !== undefined) sections.push(["llama.cpp will log:", ...fit.llamaCpp.logLines.map((l) => wrapText(`  ${l}`, options.width))].join("\n"));
  if (options.explain && fit.formula.length > 0) sections.push(["How the KV cache is counted:", ...fit.formula.map((l) => wrapText(`  ${l}`, options.width))].join("\n"));
  if (fit.notes.length > 0) sections.push(fit.notes.map((n) => wrapText(`note: ${n}`, options.width)).join("\n"));
  return `${sections.join("\n\n")}\n`;
}

function header(report: Report, fit: FitReport, c: InstanceType<typeof Chalk>): string {
  const what = report.training === undefined ? `${fit.engine}, ${formatCount(fit.context)} tokens × ${fit.batch} sequence${fit.batch === 1 ? "" : "s"}, KV cache ${fit.kvDtype}` : `${report.training.mode} fine-tuning, ${formatCount(fit.context)} tokens × ${fit.batch}`;
  const tp = fit.tensorParallel > 1 ? `, per GPU of ${fit.tensorParallel}` : "";
  return `${c.bold(cleanText(report.model.source))}: ${c.bold(schemeTitle(report))} on ${what}${tp}`;
}

function verdict(fit: FitReport, units: Units, c: InstanceType<typeof Chalk>): string {
  if (fit.gpu === null || fit.fits === null) {
    const pool = fit.vllm === undefined ? "" : ` (KV pool ${formatBytes(fit.vllm.availableKvBytes, units)}: ${fit.fits === true ? "these requests fit" : "these requests do not fit"})`;
    return `No GPU given (--gpu H100, --gpu 24GiB): total ${formatBytes(fit.total, units)} (${formatCount(fit.total)} bytes)${pool}.`;
  }
  const limit = fit.limit ?? fit.gpu.bytes;
  const share = limit === fit.gpu.bytes ? "" : ` (${fit.vllm?.gpuUtil ?? 1} of it: ${formatBytes(limit, units)})`;
  const gpuLine = `GPU ${cleanText(fit.gpu.name)}: ${formatBytes(fit.gpu.bytes, units)} as the runtime reports it${share}`;
  const room = limit - fit.total;
  // vLLM takes its whole KV pool at start-up: what fits is a count of blocks, not bytes to spare.
  const v = fit.vllm;
  const line =
    v !== undefined
      ? fit.fits
        ? c.green(`fits: ${fit.batch} request${fit.batch === 1 ? "" : "s"} of ${formatCount(fit.context)} tokens ${fit.batch === 1 ? "takes" : "take"} ${formatCount(v.blocksNeeded)} of the pool's ${formatCount(v.blocks)} blocks`)
        : c.red(`does not fit: ${formatCount(v.blocksNeeded)} blocks needed, the pool holds ${formatCount(v.blocks)}`)
      : fit.fits
        ? c.green(`fits with ${formatBytes(Math.max(0, room), units)} to spare`)
        : c.red(`does not fit: ${formatBytes(Math.max(0, -room), units)} over`);
  const maxima = [
    fit.maxContext === null ? "" : fit.maxContext === 0 ? "no context fits at this batch" : `largest context at batch ${fit.batch}: ${formatCount(fit.maxContext)} tokens`,
    fit.maxBatch === null ? "" : fit.maxBatch === 0 ? "no batch fits at this context" : `largest batch at ${formatCount(fit.context)} tokens: ${formatCount(fit.maxBatch)}`,
  ].filter((s) => s.length > 0);
  return [gpuLine, line, ...maxima].join("\n");
}

function capacityLines(fit: FitReport, units: Units): string[] {
  const v = fit.vllm;
  if (v === undefined) return [];
  return [
    `vLLM KV pool: ${formatBytes(v.availableKvBytes, units)} (${formatCount(v.availableKvBytes)} bytes), ${formatCount(v.blocks)} blocks of ${v.blockSize} tokens`,
    `vLLM will log: GPU KV cache size: ${formatCount(v.tokens)} tokens`,
    `               Maximum concurrency for ${formatCount(fit.context)} tokens per request: ${v.maxConcurrency.toFixed(2)}x`,
    `  newer builds: GPU KV cache size: ${formatCount(v.tokensNewLog)} tokens, Maximum concurrency for ${formatCount(fit.context)} tokens per request: ${v.maxConcurrency.toFixed(2)}x`,
  ];
}

// The basis column takes what is left of the terminal (the other columns and borders take 56);
// long sources are cut with an ellipsis: --json carries them whole.
function fitBasis(text: string, width: number | null): string {
  if (width === null) return text;
  const room = Math.max(16, width - 56);
  return text.length <= room ? text : `${text.slice(0, room - 1)}…`;
}

/** Markdown: the budget as a GitHub table. */
export function renderFitMarkdown(report: Report, units: Units): string {
  const fit = report.fit!;
  const lines = ["| component | bytes | exact | basis |", "|---|---:|---|---|"];
  for (const comp of fit.components) lines.push(`| ${comp.name} | ${formatBytes(comp.bytes, units)} | ${comp.exact ? "exact" : "estimate"} | ${comp.basis.replace(/\|/g, "\\|")} |`);
  lines.push(`| **total** | **${formatBytes(fit.total, units)}** | | |`);
  const gpu = fit.gpu === null ? "" : `\n\nGPU ${fit.gpu.name}: ${formatBytes(fit.gpu.bytes, units)}; ${fit.fits === true ? "fits" : "does not fit"}; largest context ${formatCount(fit.maxContext ?? 0)}, largest batch ${formatCount(fit.maxBatch ?? 0)}.`;
  return `${lines.join("\n")}${gpu}\n`;
}

/** CSV: one row per component, exact integers. */
export function renderFitCsv(report: Report): string {
  const fit = report.fit!;
  const rows = ["component,bytes,exact,basis", ...fit.components.map((comp) => `${csvField(comp.name)},${comp.bytes},${comp.exact},${csvField(comp.basis)}`), `total,${fit.total},${fit.components.every((x) => x.exact)},`];
  return `${rows.join("\n")}\n`;
}
