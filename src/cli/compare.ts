import { buildComparison, DEFAULT_COMPARE, type Comparison, type SchemeChoice } from "../core/report/index.js";
import { EXIT, UsageError } from "../core/errors.js";
import { renderComparisonCsv, renderComparisonMarkdown, renderComparisonTable } from "../render/compare.js";
import { formatBytes, formatCount } from "../render/units.js";
import type { CliIo } from "./io.js";
import { loadCheckpoint, type RawSourceOptions } from "./load.js";
import { parseSchemeList, parseSize, quantStorageOf, toOutputOptions, toSimulationOptions, type OutputOptions, type RawAuditOptions, type RawTrainingOptions } from "./options.js";
import { renderJson } from "../render/json.js";
import { simulatorFor } from "./simulate.js";

export interface RawCompareOptions extends RawAuditOptions {
  schemes?: string;
  perLayer?: boolean;
  pick?: boolean;
}

/** `qaudit compare <models...>`: every model under every scheme, side by side. */
export async function runCompare(models: string[], raw: RawCompareOptions & RawSourceOptions & RawTrainingOptions, io: CliIo): Promise<number> {
  const { simulate } = simulatorFor(raw);
  const choices = raw.schemes === undefined ? defaultSchemes(raw.train) : parseSchemeList(raw.schemes);
  const output = toOutputOptions(raw);
  // Scheme and double quant come from --schemes; the rest applies to every column (quant storage to the 4-bit ones).
  const base = { ...toSimulationOptions({ ...raw, scheme: undefined, doubleQuant: false, quantStorage: undefined }), quantStorage: quantStorageOf(raw) };
  const maxMemory = raw.maxMemory === undefined ? undefined : parseSize(raw.maxMemory, "--max-memory");
  if (raw.pick === true && maxMemory === undefined) throw new UsageError("--pick needs --max-memory");
  const checkpoints = [];
  for (const model of models) checkpoints.push(await loadCheckpoint(model, raw, io));
  const comparison = buildComparison(checkpoints, choices, base, { perLayer: raw.perLayer === true, ...(maxMemory === undefined ? {} : { maxMemory }), pick: raw.pick === true }, simulate);

  for (const warning of comparison.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
  if (raw.pick === true && output.format === "table") {
    // Script-friendly: the picked scheme alone (one line per model, tab-separated when several).
    io.stdout(comparison.pick!.map((p) => (p.scheme === null ? "" : models.length > 1 ? `${p.model}\t${p.scheme}\n` : `${p.scheme}\n`)).join(""));
  } else {
    io.stdout(renderComparison(comparison, output, io));
  }
  const unfit = (comparison.pick ?? []).filter((p) => p.scheme === null);
  const budget = `${formatCount(maxMemory ?? 0)} bytes${output.units === "bytes" ? "" : ` (${formatBytes(maxMemory ?? 0, output.units)})`}`;
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
    case "markdown":
      return renderComparisonMarkdown(comparison, output);
    case "csv":
      return renderComparisonCsv(comparison);
    case "table":
      return renderComparisonTable(comparison, { color: io.color, units: output.units });
  }
}
