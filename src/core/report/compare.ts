import type { TrainingComponents, TrainingReport } from "../budget/index.js";
import type { Checkpoint } from "../format/index.js";
import type { SchemeName, SimulationOptions } from "../storage/index.js";
import { simulateScheme } from "../storage/index.js";
import type { StorageReport, Totals } from "../storage/index.js";
import { groupKey, naturalOrder } from "./group.js";
import { SCHEMA_VERSION } from "./report.js";

/** One column of a comparison: a scheme, with double quant for the 4-bit ones (`nf4+dq`). */
export interface SchemeChoice {
  scheme: SchemeName;
  doubleQuant: boolean;
}

export function schemeLabel(choice: SchemeChoice): string {
  return `${choice.scheme}${choice.doubleQuant ? "+dq" : ""}`;
}

export const DEFAULT_COMPARE: SchemeChoice[] = [
  { scheme: "fp32", doubleQuant: false },
  { scheme: "fp16", doubleQuant: false },
  { scheme: "int8", doubleQuant: false },
  { scheme: "fp4", doubleQuant: false },
  { scheme: "nf4", doubleQuant: false },
  { scheme: "nf4", doubleQuant: true },
];

/**
 * Fidelity rank, best first: fp32 > bf16 = fp16 > int8 > nf4 > fp4 (QLoRA: NF4 beats FP4 at the same
 * size); double quant costs about 0.37 bit of absmax precision per 64 values, so it ranks just after
 * the same scheme without it.
 */
const FIDELITY: Record<SchemeName, number> = { fp32: 0, bf16: 1, fp16: 1, int8: 2, nf4: 3, fp4: 4 };
export function fidelityRank(choice: SchemeChoice): number {
  return FIDELITY[choice.scheme] + (choice.doubleQuant ? 0.5 : 0);
}

export interface ComparisonRow {
  model: string;
  label: string;
  scheme: StorageReport["scheme"];
  totals: Totals;
  /** Total bytes (parameters and quantization state) × 8 per logical parameter. */
  bitsPerParameter: number;
  /** totalBytes over the first row's. */
  ratio: number;
  /** Whether totalBytes (or, with --train, the training total) is within --max-memory (absent without it). */
  fits?: boolean;
  /** With --train: the fine-tuning components under this scheme. */
  training?: TrainingComponents & { trainableParameters: number };
  /** With fit options: the whole budget (weights, KV cache, activations, overhead) under this scheme. */
  fit?: { total: number; fits: boolean | null; kvCacheBytes: number; maxContext: number | null; maxBatch: number | null };
  /** With --error: the measured error of this scheme (fp32/fp16/bf16 rows: of the cast). */
  error?: { sqnrDb: number | null; rmse: number | null; meanAbsError: number | null; elements: number; sampled: boolean; bytesRead: number };
}

export interface LayerComparison {
  model: string;
  /** Group pattern (layer indices as `*`). */
  tensor: string;
  count: number;
  /** Bytes of the whole group (parameters and quantization state) under each scheme label. */
  bytes: Record<string, number>;
}

export interface ModelComparison {
  model: StorageReport["model"];
  reports: SimulatedModel[];
}

/** The comparison report every renderer draws from; its JSON shape is part of the public contract. */
export interface Comparison {
  schemaVersion: typeof SCHEMA_VERSION;
  kind: "comparison";
  models: Array<StorageReport["model"]>;
  schemes: string[];
  rows: ComparisonRow[];
  perLayer?: LayerComparison[];
  maxMemory?: number;
  pick?: Array<{ model: string; scheme: string | null }>;
  /** Every distinct warning of the simulations (unmatched --skip-modules, unknown packings, …). */
  warnings: string[];
}

export interface ComparisonOptions {
  perLayer: boolean;
  maxMemory?: number;
  pick: boolean;
  /** Fit options given: the budget of one model under one scheme (compare applies --max-memory to its total). */
  fit?: (checkpoint: Checkpoint, report: SimulatedModel) => NonNullable<ComparisonRow["fit"]>;
}

/** How one model is simulated under one scheme: a plain load, or a fine-tuning run (--train). */
export type Simulate = (checkpoint: Checkpoint, options: SimulationOptions) => SimulatedModel;

/** One model under one scheme: the storage report, with the fine-tuning section under --train. */
export type SimulatedModel = StorageReport & { training?: TrainingReport };

export function buildComparison(checkpoints: Checkpoint[], choices: SchemeChoice[], base: SimulationOptions, options: ComparisonOptions, simulate: Simulate = simulateScheme): Comparison {
  const models = compareSchemes(checkpoints, choices, base, simulate);
  const rows = comparisonRows(models, options.maxMemory);
  const fit = options.fit;
  if (fit !== undefined) {
    let i = 0;
    checkpoints.forEach((checkpoint, m) => {
      for (const report of models[m]!.reports) {
        const row = rows[i++]!;
        row.fit = fit(checkpoint, report);
        if (options.maxMemory !== undefined) row.fits = row.fit.total <= options.maxMemory && row.fit.fits !== false;
        else if (row.fit.fits !== null) row.fits = row.fit.fits;
      }
    });
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: "comparison",
    models: models.map((m) => m.model),
    schemes: choices.map(schemeLabel),
    rows,
    ...(options.perLayer ? { perLayer: compareLayers(models) } : {}),
    ...(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory }),
    ...(options.pick ? { pick: pickScheme(rows, choices) } : {}),
    warnings: [...new Set(models.flatMap((m) => m.reports.flatMap((r) => r.warnings.map((w) => (models.length > 1 ? `${m.model.source}: ${w}` : w)))))],
  };
}

/** Simulates each model under each scheme; the rest of the options stay as given. */
export function compareSchemes(checkpoints: Checkpoint[], choices: SchemeChoice[], base: SimulationOptions, simulate: Simulate = simulateScheme): ModelComparison[] {
  return checkpoints.map((checkpoint) => {
    const reports = choices.map((choice) => simulate(checkpoint, { ...base, scheme: choice.scheme, doubleQuant: choice.doubleQuant }));
    return { model: reports[0]!.model, reports };
  });
}

export function comparisonRows(models: ModelComparison[], maxMemory?: number): ComparisonRow[] {
  const first = models[0]?.reports[0]?.totals.totalBytes ?? 0;
  return models.flatMap(({ model, reports }) =>
    reports.map((report) => {
      const { totals } = report;
      const row: ComparisonRow = {
        model: model.source,
        label: schemeLabel({ scheme: report.scheme.name as SchemeName, doubleQuant: report.scheme.doubleQuant }),
        scheme: report.scheme,
        totals,
        bitsPerParameter: totals.logicalParameters === 0 ? 0 : (totals.totalBytes * 8) / totals.logicalParameters,
        ratio: first === 0 ? 0 : totals.totalBytes / first,
      };
      const training = report.training;
      if (training !== undefined) row.training = { ...training.components, trainableParameters: training.trainableParameters };
      if (maxMemory !== undefined) row.fits = (training?.components.total ?? totals.totalBytes) <= maxMemory;
      return row;
    }),
  );
}

/** Per group of tensors, its bytes under every scheme, side by side. */
export function compareLayers(models: ModelComparison[]): LayerComparison[] {
  return models.flatMap(({ model, reports }) => {
    const groups = new Map<string, LayerComparison>();
    reports.forEach((report, column) => {
      const label = schemeLabel({ scheme: report.scheme.name as SchemeName, doubleQuant: report.scheme.doubleQuant });
      for (const tensor of report.tensors) {
        // Scheme-independent key: name pattern and the tensor as stored in the checkpoint.
        const { key, pattern } = groupKey(tensor, false);
        let group = groups.get(key);
        if (group === undefined) {
          group = { model: model.source, tensor: pattern, count: 0, bytes: {} };
          groups.set(key, group);
        }
        if (column === 0) group.count += 1;
        group.bytes[label] = (group.bytes[label] ?? 0) + tensor.parameterBytes + tensor.quantStateBytes;
      }
    });
    return [...groups.values()].sort((a, b) => naturalOrder(a.tensor, b.tensor));
  });
}

/** The best-fidelity scheme whose total fits, per model (ties: fewer bytes, then the order given). */
export function pickScheme(rows: ComparisonRow[], choices: SchemeChoice[]): Array<{ model: string; scheme: string | null }> {
  const models = [...new Set(rows.map((r) => r.model))];
  return models.map((model) => {
    const fitting = rows
      .map((row, i) => ({ row, choice: choices[i % choices.length]! }))
      .filter(({ row }) => row.model === model && row.fits === true)
      .sort((a, b) => fidelityRank(a.choice) - fidelityRank(b.choice) || a.row.totals.totalBytes - b.row.totals.totalBytes);
    return { model, scheme: fitting[0]?.row.label ?? null };
  });
}
