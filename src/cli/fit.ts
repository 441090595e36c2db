import { computeDtypeOf, computeFit, readAttentionLayout, type FitOptions, type FitReport } from "../core/budget/index.js";
import { InputError } from "../core/errors.js";
import type { Checkpoint } from "../core/format/index.js";
import { assembleReport, getExitCode, runChecks, type SimulatedModel } from "../core/report/index.js";
import { describeFailedChecks } from "../render/checks.js";
import { renderFitCsv, renderFitMarkdown, renderFitTable } from "../render/fit.js";
import { jsonChunks } from "../render/json.js";
import { writeChunks } from "./write.js";
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
  switch (output.format) {
    case "json":
      await writeChunks(io, jsonChunks(report));
      break;
    case "markdown":
      io.stdout(renderFitMarkdown(report, output.units));
      break;
    case "csv":
      io.stdout(renderFitCsv(report));
      break;
    case "table":
      io.stdout(renderFitTable(report, { color: io.color, units: output.units, width: output.wide ? null : io.columns, explain: raw.explain === true }));
      break;
  }
  for (const line of describeFailedChecks(report.checks, output.units)) io.stderr(`qaudit: ${line}\n`);
  return getExitCode(report.checks);
}

/** The fit of one simulated model; config.json is required (the cache layout lives there). */
export function fitOf(checkpoint: Checkpoint, simulated: SimulatedModel, options: FitOptions): FitReport {
  const json = checkpoint.config?.json;
  if (json === undefined) throw new InputError(`fit needs config.json: ${checkpoint.source} has none beside its weights (the attention layout is read from it)`);
  const layout = readAttentionLayout(json);
  return computeFit(
    { layout, totals: simulated.totals, computeDtype: computeDtypeOf(simulated.tensors, simulated.scheme.torchDtype), ...(simulated.training === undefined ? {} : { training: simulated.training.components }) },
    options,
  );
}
