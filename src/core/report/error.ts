import { pooledFigures, type ErrorFigures, type ErrorScheme, type SkippedTensor, type TensorMeasurement } from "../numerics/index.js";
import { layerIndex, namePattern, naturalOrder } from "./group.js";

/** One measured tensor, as the JSON contract names its fields. */
export type TensorError = { name: string } & ErrorFigures & {
  /** Elements of the tensor: `elements` over this is the share measured. */
  totalElements: number;
};

/** Repeated blocks (`layers.*.mlp.down_proj.weight ×32`): which layer suffers most and least. */
export interface ErrorGroup {
  pattern: string;
  count: number;
  worst: { name: string; sqnrDb: number | null };
  median: { name: string; sqnrDb: number | null };
  best: { name: string; sqnrDb: number | null };
  pooled: ErrorFigures;
}

export interface ErrorReport {
  scheme: ErrorScheme;
  doubleQuant: boolean;
  sampled: boolean;
  /** Per-tensor sample size in bytes; null with --full. */
  sampleBytes: number | null;
  seed: number;
  bytesRead: number;
  /** Bytes of the measured tensors' data: what --full would read. */
  candidateBytes: number;
  /** Bytes of every tensor in the checkpoint, for the share read. */
  modelBytes: number;
  /** Worst first (lowest SQNR); exact tensors last. */
  tensors: TensorError[];
  overall: { elements: number; rmse: number | null; sqnrDb: number | null; meanAbsError: number | null; overflow: number; underflow: number; nonFinite: number };
  groups: ErrorGroup[];
  /** Pooled over every measured tensor of each layer index. */
  layers: Array<{ index: number; elements: number; sqnrDb: number | null }>;
  skipped: SkippedTensor[];
  notes: string[];
  /** --keep-budget: the modules to keep unquantized so the model fits. */
  keep?: KeepPick;
}

/** --keep-budget's answer (computed by keep-budget.ts; part of the error section). */
export interface KeepPick {
  budget: number;
  /** Total bytes (parameters and quantization state) with nothing kept back. */
  baselineBytes: number;
  /** Total bytes with the picked modules kept, from the exact audit. */
  totalBytes: number;
  fits: boolean;
  /** Modules kept in the load dtype, worst error per byte first. */
  modules: string[];
  /** The whole `--skip-modules` / `llm_int8_skip_modules` list that realises it (the output head included). */
  skipModules: string[];
  /** Element-weighted SQNR of the measured tensors before and after (the kept ones count as exact). */
  sqnrBeforeDb: number | null;
  sqnrAfterDb: number | null;
}

export interface ErrorInputs {
  scheme: ErrorScheme;
  doubleQuant: boolean;
  sampleBytes: number | null;
  seed: number;
  bytesRead: number;
  candidateBytes: number;
  modelBytes: number;
  measurements: TensorMeasurement[];
  skipped: SkippedTensor[];
}

/** Lower SQNR is worse; null (exact or all-zero) sorts after every figure. */
function worseFirst(a: number | null, b: number | null): number {
  return (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY);
}

export function buildErrorReport(input: ErrorInputs): ErrorReport {
  const tensors: TensorError[] = input.measurements.map((m) => {
    return { name: m.plan.name, ...m.figures(), totalElements: m.plan.elements };
  });
  tensors.sort((a, b) => worseFirst(a.sqnrDb, b.sqnrDb) || naturalOrder(a.name, b.name));
  const overall = pooledFigures(input.measurements);

  const byPattern = new Map<string, TensorMeasurement[]>();
  const byLayer = new Map<number, TensorMeasurement[]>();
  for (const m of input.measurements) {
    const pattern = namePattern(m.plan.name);
    byPattern.set(pattern, [...(byPattern.get(pattern) ?? []), m]);
    const index = layerIndex(m.plan.name);
    if (index !== null) byLayer.set(index, [...(byLayer.get(index) ?? []), m]);
  }
  const groups: ErrorGroup[] = [...byPattern.entries()].map(([pattern, members]) => {
    const ranked = members.map((m) => ({ name: m.plan.name, sqnrDb: m.figures().sqnrDb })).sort((a, b) => worseFirst(a.sqnrDb, b.sqnrDb) || naturalOrder(a.name, b.name));
    return { pattern, count: members.length, worst: ranked[0]!, median: ranked[Math.floor((ranked.length - 1) / 2)]!, best: ranked[ranked.length - 1]!, pooled: pooledFigures(members) };
  });
  groups.sort((a, b) => worseFirst(a.worst.sqnrDb, b.worst.sqnrDb) || naturalOrder(a.pattern, b.pattern));
  const layers = [...byLayer.entries()].sort((a, b) => a[0] - b[0]).map(([index, members]) => {
    const fig = pooledFigures(members);
    return { index, elements: fig.elements, sqnrDb: fig.sqnrDb };
  });

  const notes: string[] = [];
  const sampled = input.measurements.some((m) => m.plan.sampled);
  if (sampled) notes.push(`sampled: whole quantization units at seeded positions (seed ${input.seed}), up to ${input.sampleBytes ?? 0} bytes per tensor; figures estimate each tensor's population (--full reads everything)`);
  if (sampled && input.doubleQuant && (input.scheme === "nf4" || input.scheme === "fp4")) {
    const example = input.measurements.find((m) => m.plan.sampled);
    if (example !== undefined) notes.push(`double quantization's offset is the mean absmax over all blocks of a tensor; sampled, it is estimated from the sampled blocks only (e.g. ${example.plan.name}: offset from ${example.offsetBlocks} of ${Math.ceil(example.plan.elements / 64)} blocks)`);
  }
  if (sampled && (overall.overflow > 0 || overall.underflow > 0)) notes.push("overflow and underflow are counts in the sample, not in the whole tensor");
  if (overall.nonFinite > 0) notes.push(`${overall.nonFinite} NaN or infinite values in the weights: their quantization units are excluded from every figure`);
  if (overall.overflow > 0) notes.push(`${overall.overflow} values overflow fp16 (|x| ≥ 65520): excluded from RMSE and SQNR (their error is infinite)${input.scheme === "int8" ? ", with their rows (bitsandbytes restores such rows as NaN)" : ""}`);
  return {
    scheme: input.scheme,
    doubleQuant: input.doubleQuant,
    sampled,
    sampleBytes: input.sampleBytes,
    seed: input.seed,
    bytesRead: input.bytesRead,
    candidateBytes: input.candidateBytes,
    modelBytes: input.modelBytes,
    tensors,
    overall: { elements: overall.elements, rmse: overall.rmse, sqnrDb: overall.sqnrDb, meanAbsError: overall.meanAbsError, overflow: overall.overflow, underflow: overall.underflow, nonFinite: overall.nonFinite },
    groups,
    layers,
    skipped: input.skipped,
    notes,
  };
}
