import { computeDtypeOf, computeFit, fitCurve, readAttentionLayout, type FitInput, type FitOptions, type FitReport } from "../core/budget/index.js";
import { InputError } from "../core/errors.js";
import type { Checkpoint } from "../core/format/index.js";
import { assembleReport, getExitCode, runChecks, type SimulatedModel } from "../core/report/index.js";
import { describeFailedChecks } from "../render/checks.js";
import { renderFitCsv, renderFitMarkdown, renderFitTable } from "../render/fit.js";
import { jsonChunks } from "../render/json.js";
import { emit } from "./write.js";
import { renderHtml } from "../render/html.js";
import { toFitOptions, type RawFitOptions } from "./fit-options.js";
import type { CliIo } from "./io.js";
import { loadCheckpoint, type RawSourceOptions } from "./load.js";
import { toGates, toOutputOptions, toSimulationOptions, type RawAuditOptions, type RawTrainingOptions } from "./options.js";
import { simulatorFor } from "./simulate.js";

/** `qaudit fit <model>`: weights, KV cache, activations and overhead against a GPU. */
export async function runFit(model: string, raw: RawAuditOptions & RawSourceOptions & RawTrainingOptions & RawFitOptions, io: CliIo): Promise<number> {
  const { simulate, adjust } = simulatorFor(raw);
  const simulation = adjust(toSimulationOptions(raw));
  const output = toOutputOptions(raw);
  const gates = toGates(raw);
  const options = toFitOptions(raw);
  const checkpoint = await loadCheckpoint(model, raw, io);
  const simulated = simulate(checkpoint, simulation);
  const fit = fitOf(checkpoint, simulated, options);
  const report = assembleReport(simulated, { checks: runChecks(simulated.totals, gates, fit.total), training: simulated.training, fit });
  for (const warning of report.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
  const toFile = output.out !== null;
  const text = (): string => {
    switch (output.format) {
      case "json":
        return "";
      case "markdown":
        return renderFitMarkdown(report, output.units);
      case "csv":
        return renderFitCsv(report);
      case "html":
        return renderHtml(report, { units: output.units, fitCurve: curveOf(checkpoint, simulated, options) });
      case "table":
        return renderFitTable(report, { color: io.color && !toFile, units: output.units, width: output.wide || toFile ? null : io.columns, explain: raw.explain === true });
    }
  };
  await emit(io, output.out, output.format === "json" ? jsonChunks(report) : [text()]);
  for (const line of describeFailedChecks(report.checks, output.units)) io.stderr(`qaudit: ${line}\n`);
  return getExitCode(report.checks);
}

/** The fit of one simulated model; config.json is required (the cache layout lives there). */
export function fitOf(checkpoint: Checkpoint, simulated: SimulatedModel, options: FitOptions): FitReport {
  return computeFit(fitInput(checkpoint, simulated), options);
}

function fitInput(checkpoint: Checkpoint, simulated: SimulatedModel): FitInput {
  const json = checkpoint.config?.json;
  if (json === undefined) throw new InputError(`fit needs config.json: ${checkpoint.source} has none beside its weights (the attention layout is read from it)`);
  const layout = readAttentionLayout(json);
  return { layout, totals: simulated.totals, computeDtype: computeDtypeOf(simulated.tensors, simulated.scheme.torchDtype), ...(simulated.training === undefined ? {} : { training: simulated.training.components }) };
}

function curveOf(checkpoint: Checkpoint, simulated: SimulatedModel, options: FitOptions): Array<{ context: number; total: number }> {
  return fitCurve(fitInput(checkpoint, simulated), options);
}
