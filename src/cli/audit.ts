import { simulateScheme } from "../core/simulate.js";
import type { Report } from "../core/types.js";
import { renderCsv } from "../render/csv.js";
import { renderJson } from "../render/json.js";
import { renderMarkdown } from "../render/markdown.js";
import { renderTable } from "../render/table.js";
import type { CliIo } from "./io.js";
import { loadCheckpoint, type RawSourceOptions } from "./load.js";
import { toOutputOptions, toSimulationOptions, type OutputOptions, type RawAuditOptions } from "./options.js";
import { EXIT } from "../core/errors.js";

/** `qaudit <model>`: load headers, simulate, render to stdout; warnings to stderr. */
export async function runAudit(model: string, raw: RawAuditOptions & RawSourceOptions, io: CliIo): Promise<number> {
  const simulation = toSimulationOptions(raw);
  const output = toOutputOptions(raw);
  const checkpoint = await loadCheckpoint(model, raw, io);
  const report = simulateScheme(checkpoint, simulation);
  for (const warning of report.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
  io.stdout(renderReport(report, output, io));
  return EXIT.ok;
}

export function renderReport(report: Report, output: OutputOptions, io: CliIo): string {
  switch (output.format) {
    case "json":
      return renderJson(report);
    case "markdown":
      return renderMarkdown(report, output);
    case "csv":
      return renderCsv(report, output);
    case "table":
      return renderTable(report, { ...output, color: io.color, width: io.columns });
  }
}
