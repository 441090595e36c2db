import { getExitCode, runChecks } from "../core/report/index.js";
import { assembleReport, type Report } from "../core/report/index.js";
import { describeFailedChecks } from "../render/checks.js";
import { jsonChunks, renderJson } from "../render/json.js";
import { emit } from "./write.js";
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
  await emit(io, output.out, output.format === "json" ? jsonChunks(report) : [await renderReport(report, output, io)]);
  for (const line of describeFailedChecks(report.checks, output.units)) io.stderr(`qaudit: ${line}\n`);
  return getExitCode(report.checks);
}

/** The report in a text format; each renderer is loaded only when asked for (the table's pulls in cli-table3 and chalk). */
export async function renderReport(report: Report, output: OutputOptions, io: CliIo): Promise<string> {
  switch (output.format) {
    case "json":
      return renderJson(report);
    case "markdown":
      return (await import("../render/markdown.js")).renderMarkdown(report, output);
    case "csv":
      return (await import("../render/csv.js")).renderCsv(report, output);
    case "html":
      return (await import("../render/html.js")).renderHtml(report, { units: output.units });
    case "table":
      return (await import("../render/table.js")).renderTable(report, { ...output, color: io.color && output.out === null, width: output.wide || output.out !== null ? null : io.columns });
  }
}
