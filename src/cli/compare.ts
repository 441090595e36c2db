import { buildComparison, DEFAULT_COMPARE, type Comparison, type SchemeChoice, type SimulatedModel } from "../core/report/index.js";
import { EXIT, UsageError } from "../core/errors.js";
import { renderComparisonCsv, renderComparisonMarkdown, renderComparisonTable } from "../render/compare.js";
import { formatBytes, formatCount } from "../render/units.js";
import type { CliIo } from "./io.js";
import { loadModel, type RawSourceOptions } from "./load.js";
import { measureError, toSampling, type RawErrorOptions, type Sampling } from "./error.js";
import { fitOf } from "./fit.js";
import { hasFitOptions, toFitOptions, type RawFitOptions } from "./fit-options.js";
import type { Checkpoint } from "../core/format/index.js";
import { simulateScheme, type SimulationOptions } from "../core/storage/index.js";
import type { WeightReader } from "../io/weight-reader.js";
import { parseSchemeList, parseSize, quantStorageOf, toOutputOptions, toSimulationOptions, type OutputOptions, type RawAuditOptions, type RawTrainingOptions } from "./options.js";
import { jsonChunks, renderJson } from "../render/json.js";
import { renderComparisonHtml } from "../render/html.js";
import { emit } from "./write.js";
import { simulatorFor } from "./simulate.js";

export interface RawCompareOptions extends RawAuditOptions, RawFitOptions, Omit<RawErrorOptions, keyof RawAuditOptions> {
  schemes?: string;
  perLayer?: boolean;
  pick?: boolean;
  error?: boolean;
}

/** `qaudit compare <models...>`: every model under every scheme, side by side. */
export async function runCompare(models: string[], raw: RawCompareOptions & RawSourceOptions & RawTrainingOptions, io: CliIo): Promise<number> {
  const { simulate } = simulatorFor(raw);
  const choices = raw.schemes === undefined ? defaultSchemes(raw.train) : parseSchemeList(raw.schemes);
  toOutputOptions(raw); // checked before any read
  // Scheme and double quant come from --schemes; the rest applies to every column (quant storage to the 4-bit ones).
  const base = { ...toSimulationOptions({ ...raw, scheme: undefined, doubleQuant: false, quantStorage: undefined }), quantStorage: quantStorageOf(raw) };
  const maxMemory = raw.maxMemory === undefined ? undefined : parseSize(raw.maxMemory, "--max-memory");
  const fitOptions = hasFitOptions(raw) ? toFitOptions(raw) : undefined;
  if (raw.pick === true && maxMemory === undefined && fitOptions?.gpu == null) throw new UsageError("--pick needs --max-memory (or --gpu with fit options)");
  const sampling = raw.error === true ? toSampling(raw) : undefined;
  if (sampling === undefined && (raw.sample !== undefined || raw.full === true || raw.seed !== undefined || raw.tensors !== undefined)) throw new UsageError("--sample, --full, --seed and --tensors go with --error");
  const loaded = [];
  for (const model of models) loaded.push(await loadModel(model, raw, io));
  const checkpoints = loaded.map((l) => l.checkpoint);
  try {
    const fit = fitOptions === undefined ? undefined : (checkpoint: Checkpoint, report: SimulatedModel) => {
      const f = fitOf(checkpoint, report, fitOptions);
      return { total: f.total, fits: f.fits, kvCacheBytes: f.kvCache.bytes, maxContext: f.maxContext, maxBatch: f.maxBatch };
    };
    const comparison = buildComparison(checkpoints, choices, base, { perLayer: raw.perLayer === true, ...(maxMemory === undefined ? {} : { maxMemory }), pick: raw.pick === true, ...(fit === undefined ? {} : { fit }) }, simulate);
    if (sampling !== undefined) await addErrors(comparison, loaded, choices, base, sampling);
    return await finish(comparison, models, raw, io, maxMemory);
  } finally {
    await Promise.all(loaded.map((l) => l.reader.close()));
  }
}

/** Each row's measured error: the same sample, quantized under that row's scheme. */
async function addErrors(comparison: Comparison, loaded: Array<{ checkpoint: Checkpoint; reader: WeightReader }>, choices: SchemeChoice[], base: SimulationOptions, sampling: Sampling): Promise<void> {
  let i = 0;
  for (const { checkpoint, reader } of loaded) {
    for (const choice of choices) {
      const row = comparison.rows[i++]!;
      const simulation = { ...base, scheme: choice.scheme, doubleQuant: choice.doubleQuant };
      if (choice.scheme === "fp32") {
        row.error = { sqnrDb: null, rmse: 0, meanAbsError: 0, elements: 0, sampled: false, bytesRead: 0 };
        continue;
      }
      const simulated = simulateScheme(checkpoint, simulation);
      const error = await measureError(checkpoint, reader, simulated, simulation, { scheme: choice.scheme, doubleQuant: choice.doubleQuant, sampleBytes: sampling.sampleBytes, seed: sampling.seed }, sampling);
      row.error = { sqnrDb: error.overall.sqnrDb, rmse: error.overall.rmse, meanAbsError: error.overall.meanAbsError, elements: error.overall.elements, sampled: error.sampled, bytesRead: error.bytesRead };
    }
  }
}

async function finish(comparison: Comparison, models: string[], raw: RawCompareOptions & RawTrainingOptions, io: CliIo, maxMemory: number | undefined): Promise<number> {
  const output = toOutputOptions(raw);

  for (const warning of comparison.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
  if (raw.pick === true && output.format === "table") {
    // Script-friendly: the picked scheme alone (one line per model, tab-separated when several).
    io.stdout(comparison.pick!.map((p) => (p.scheme === null ? "" : models.length > 1 ? `${p.model}\t${p.scheme}\n` : `${p.scheme}\n`)).join(""));
  } else {
    await emit(io, output.out, output.format === "json" ? jsonChunks(comparison) : [renderComparison(comparison, output, io)]);
  }
  const unfit = (comparison.pick ?? []).filter((p) => p.scheme === null);
  const budget = maxMemory === undefined ? "the GPU" : `${formatCount(maxMemory)} bytes${output.units === "bytes" ? "" : ` (${formatBytes(maxMemory, output.units)})`}`;
  const what = raw.train === undefined ? "" : ` for ${raw.train} fine-tuning`;
  for (const p of unfit) io.stderr(`qaudit: no scheme of ${comparison.schemes.join(", ")} fits ${p.model}${what} in ${budget}\n`);
  return unfit.length > 0 ? EXIT.gate : EXIT.ok;
}

/** Full fine-tuning trains plain dtypes only; QLoRA needs a 4-bit base. */
function defaultSchemes(train: string | undefined): SchemeChoice[] {
  if (train === "full") return parseSchemeList("fp32,bf16,fp16");
  if (train === "qlora") return parseSchemeList("nf4+dq,nf4,fp4+dq,fp4");
  return DEFAULT_COMPARE;
}

function renderComparison(comparison: Comparison, output: OutputOptions, io: CliIo): string {
  switch (output.format) {
    case "json":
      return renderJson(comparison);
    case "html":
      return renderComparisonHtml(comparison, { units: output.units });
    case "markdown":
      return renderComparisonMarkdown(comparison, output);
    case "csv":
      return renderComparisonCsv(comparison);
    case "table":
      return renderComparisonTable(comparison, { color: io.color && output.out === null, units: output.units, width: output.wide || output.out !== null ? null : io.columns });
  }
}
