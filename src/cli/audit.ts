import { getExitCode, runChecks } from "../core/report/index.js";
import { assembleReport, type Report } from "../core/report/index.js";
import { describeFailedChecks } from "../render/checks.js";
import { renderCsv } from "../render/csv.js";
import { jsonChunks } from "../render/json.js";
import { emit } from "./write.js";
import { renderHtml } from "../render/html.js";
import { renderMarkdown } from "../render/markdown.js";
import { renderTable } from "../render/table.js";
import type { CliIo } from "./io.js";
import { loadCheckpoint, type RawSourceOptions } from "./load.js";
import { simulatorFor } from "./simulate.js";
import { toGates, toOutputOptions, toSimulationOptions, type OutputOptions, type RawAuditOptions, type RawTrainingOptions } from "./options.js";

/** `qaudit <model>`: load headers, simulate, render to stdout; warnings and failed gates to stderr. */
export async function runAudit(model: string, raw: RawAuditOptions & RawSourceOptions & RawTrainingOptions, io: CliIo): Promise<number> {
  const { simulate, adjust } = simulatorFor(raw);
  const simulation = adjust(toSimulationOptions(raw));
  const output = toOutputOptions(raw);
  const gates = toGates(raw);
  const checkpoint = await loadCheckpoint(model, raw, io);
  const simulated = simulate(checkpoint, simulation);
  const report = assembleReport(simulated, { checks: runChecks(simulated.totals, gates), training: simulated.training });
  for (const warning of report.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
  if (report.model.tensorCount === 0 && report.checks.length > 0) io.stderr("qaudit: warning: the model has no tensors: every budget check passes trivially\n");
  await emit(io, output.out, output.format === "json" ? jsonChunks(report) : [renderReport(report, output, io)]);
  for (const line of describeFailedChecks(report.checks, output.units)) io.stderr(`qaudit: ${line}\n`);
  return getExitCode(report.checks);
}

export function renderReport(report: Report, output: OutputOptions, io: CliIo): string {
  switch (output.format) {
    case "json":
      return [...jsonChunks(report)].join("");
    case "markdown":
      return renderMarkdown(report, output);
    case "csv":
      return renderCsv(report, output);
    case "html":
      return renderHtml(report, { units: output.units });
    case "table":
      return renderTable(report, { ...output, color: io.color && output.out === null, width: output.wide || output.out !== null ? null : io.columns });
  }
}
