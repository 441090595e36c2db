import pLimit from "p-limit";
import { UsageError, InputError } from "../core/errors.js";
import type { Checkpoint } from "../core/format/index.js";
import { ERROR_SCHEMES, isSkipped, plannedBytes, planTensor, TensorMeasurement, type ErrorScheme, type PlanOptions, type SkippedTensor, type TensorPlan, ELEMENT_BYTES } from "../core/numerics/index.js";
import { assembleReport, buildErrorReport, getExitCode, pickModulesToKeep, type ErrorReport, type SimulatedModel } from "../core/report/index.js";
import { simulateScheme, type SimulationOptions } from "../core/storage/index.js";
import type { WeightReader } from "../io/weight-reader.js";
import { renderErrorTable } from "../render/error.js";
import { jsonChunks } from "../render/json.js";
import { emit } from "./write.js";
import { renderHtml } from "../render/html.js";
import type { CliIo } from "./io.js";
import { loadModel, type RawSourceOptions } from "./load.js";
import { oneOf, parseSize, parseWholeNumber, toOutputOptions, toSimulationOptions, type RawAuditOptions } from "./options.js";

export interface RawErrorOptions extends RawAuditOptions {
  sample?: string;
  full?: boolean;
  tensors?: string;
  seed?: string;
  maxBytes?: string;
  keepBudget?: string;
}

const DEFAULT_SAMPLE = "256KiB";
/** Data reads in flight at once: each holds up to one 4 MiB chunk and its decoded values. */
const MAX_DATA_READS = 8;

/** `qaudit error <model>`: quantize sampled (or all) real weight bytes as bitsandbytes does, measure the error. */
export async function runError(model: string, raw: RawErrorOptions & RawSourceOptions, io: CliIo): Promise<number> {
  if (raw.scheme === undefined) throw new UsageError(`error needs --scheme (${ERROR_SCHEMES.join(", ")})`);
  const scheme = oneOf(raw.scheme, ERROR_SCHEMES, "--scheme");
  const simulation = toSimulationOptions(raw);
  const output = toOutputOptions(raw);
  const { sampleBytes, seed, maxBytes, concurrency, pattern } = toSampling(raw);
  const keepBudget = raw.keepBudget === undefined ? null : parseSize(raw.keepBudget, "--keep-budget");
  if (keepBudget !== null && (scheme === "fp16" || scheme === "bf16")) throw new UsageError("--keep-budget picks modules to keep out of a quantizing scheme: use --scheme nf4, fp4 or int8");

  const { checkpoint, reader } = await loadModel(model, raw, io);
  try {
    const simulated = simulateScheme(checkpoint, simulation);
    const progress = await progressBar(io, raw.quiet === true);
    let error: ErrorReport;
    try {
      error = await measureError(checkpoint, reader, simulated, simulation, { scheme, doubleQuant: simulation.doubleQuant, sampleBytes, seed }, { pattern, maxBytes, concurrency, onProgress: progress.update });
    } finally {
      progress.stop();
    }
    if (keepBudget !== null) error.keep = pickModulesToKeep(checkpoint, simulation, error, keepBudget);
    const report = assembleReport(simulated, { checks: [], error });
    for (const warning of report.warnings) io.stderr(`qaudit: warning: ${warning}\n`);
    const toFile = output.out !== null;
    await emit(
      io,
      output.out,
      output.format === "json" ? jsonChunks(report) : output.format === "html" ? [renderHtml(report, { units: output.units })] : [renderErrorTable(report, { color: io.color && !toFile, units: output.units, width: output.wide || toFile ? null : io.columns, format: output.format })],
    );
    return getExitCode(report.checks);
  } finally {
    await reader.close();
  }
}

/** Sampling and read limits, shared by `error` and `compare --error`. */
export interface Sampling extends MeasureLimits {
  sampleBytes: number | null;
  seed: number;
}

export function toSampling(raw: RawErrorOptions & RawSourceOptions): Sampling {
  if (raw.full === true && raw.sample !== undefined) throw new UsageError("--full and --sample disagree; use one");
  const sampleBytes = raw.full === true ? null : parseSize(raw.sample ?? DEFAULT_SAMPLE, "--sample");
  if (sampleBytes !== null && sampleBytes < 1) throw new UsageError("--sample needs at least 1 byte");
  return {
    sampleBytes,
    seed: raw.seed === undefined ? 0 : parseWholeNumber(raw.seed, "--seed", { min: 0, max: 2 ** 32 - 1 }),
    maxBytes: raw.maxBytes === undefined ? null : parseSize(raw.maxBytes, "--max-bytes"),
    // A sampled read holds a few KiB per range: as many in flight as for headers. A full read holds 4 MiB each.
    concurrency: Math.min(sampleBytes === null ? MAX_DATA_READS : 32, parseWholeNumber(raw.concurrency ?? "32", "--concurrency", { min: 1, max: 1024 })),
    pattern: raw.tensors,
  };
}

/** A bar on stderr for reads of more than 64 MiB, when someone watches (a terminal, no --quiet). */
async function progressBar(io: CliIo, quiet: boolean): Promise<{ update: (read: number, planned: number) => void; stop: () => void }> {
  if (!io.stderrIsTTY || quiet) return { update: () => {}, stop: () => {} };
  const { default: cliProgress } = await import("cli-progress");
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  return {
    update: (read, planned) => {
      if (planned < 64 * 1024 * 1024) return;
      if (bar === undefined) {
        bar = new cliProgress.SingleBar({ stream: process.stderr, format: "weights {bar} {percentage}% | {mb} of {total_mb} MB", hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(planned, 0, { mb: 0, total_mb: Math.round(planned / 1e6) });
      }
      bar.update(read, { mb: Math.round(read / 1e6) });
    },
    stop: () => bar?.stop(),
  };
}

export interface MeasureLimits {
  /** Bytes read so far of those planned (a progress bar on a terminal). */
  onProgress?: (read: number, planned: number) => void;
  pattern: string | undefined;
  maxBytes: number | null;
  concurrency: number;
}

/** Plans, reads and measures one model under one scheme: the `error` section. */
export async function measureError(checkpoint: Checkpoint, reader: WeightReader, simulated: SimulatedModel, simulation: SimulationOptions, options: PlanOptions, limits: MeasureLimits): Promise<ErrorReport> {
  const { plans, skipped } = planMeasurements(checkpoint, simulated, simulation, options, limits.pattern);
  const planned = plannedBytes(plans);
  if (limits.maxBytes !== null && planned > limits.maxBytes) {
    throw new UsageError(`this measurement reads ${planned.toLocaleString("en-US")} bytes, over --max-bytes ${limits.maxBytes.toLocaleString("en-US")}; sample less (--sample) or narrow --tensors`);
  }
  const measurements = await measureAll(plans, options.scheme, options.doubleQuant, reader, limits.concurrency, (read) => limits.onProgress?.(read, planned));
  return buildErrorReport({
    ...options,
    bytesRead: measurements.bytesRead,
    candidateBytes: plans.reduce((s, p) => s + p.elements * ELEMENT_BYTES[p.dtype], 0),
    modelBytes: checkpoint.files.reduce((s, f) => s + f.header.dataBytes, 0),
    measurements: measurements.done,
    skipped,
  });
}

/** The tensors the scheme would quantize (every cast one for fp16/bf16), as read plans. */
function planMeasurements(checkpoint: Checkpoint, simulated: SimulatedModel, simulation: SimulationOptions, options: PlanOptions, pattern: string | undefined): { plans: TensorPlan[]; skipped: SkippedTensor[] } {
  const cast = options.scheme === "fp16" || options.scheme === "bf16";
  const selected = new Set(simulated.tensors.filter((t) => (cast ? t.kind !== "buffer" : t.quantized)).map((t) => t.name));
  const packed = new Map<string, string>();
  if (simulated.sourceQuantization !== undefined) {
    const stored = simulateScheme(checkpoint, { ...simulation, scheme: null });
    for (const t of stored.tensors) if (t.format !== undefined) packed.set(t.name, t.format);
  }
  const matches = pattern === undefined ? () => true : globMatcher(pattern);
  const plans: TensorPlan[] = [];
  const skipped: SkippedTensor[] = [];
  for (const file of checkpoint.files) {
    const dataStart = 8 + file.header.headerBytes;
    for (const tensor of file.header.tensors) {
      if (!matches(tensor.name)) continue;
      const format = packed.get(tensor.name);
      if (format !== undefined) {
        skipped.push({ name: tensor.name, reason: `saved already quantized (${format})` });
        continue;
      }
      if (!selected.has(tensor.name)) continue;
      const plan = planTensor(tensor, file.name, dataStart, options);
      if (isSkipped(plan)) skipped.push(plan);
      else plans.push(plan);
    }
  }
  if (plans.length === 0 && skipped.length === 0) throw new UsageError(`no tensor to measure${pattern === undefined ? "" : ` matches --tensors ${JSON.stringify(pattern)}`} under --scheme ${options.scheme}`);
  return { plans, skipped };
}

async function measureAll(plans: TensorPlan[], scheme: ErrorScheme, doubleQuant: boolean, reader: WeightReader, concurrency: number, onRead: (bytesRead: number) => void): Promise<{ done: TensorMeasurement[]; bytesRead: number }> {
  const limit = pLimit(concurrency);
  let bytesRead = 0;
  const read = async (plan: TensorPlan, start: number, end: number): Promise<Uint8Array> => {
    const bytes = await reader.read(plan.file, start, end);
    bytesRead += bytes.length;
    onRead(bytesRead);
    if (bytes.length < end - start) {
      throw new InputError(`${plan.file}: tensor ${JSON.stringify(plan.name)}: data shorter than its offsets say (bytes ${start}–${end} asked, ${bytes.length} read; a header-only file has no weights to measure)`);
    }
    return bytes;
  };
  const done = await Promise.all(
    plans.map((plan) =>
      limit(async () => {
        const m = new TensorMeasurement(plan, scheme, doubleQuant);
        // A sample is small: keep its bytes between the offset pass and the measuring pass.
        const kept: Uint8Array[] = [];
        if (m.needsOffsetPass) {
          for (const range of plan.ranges) {
            const bytes = await read(plan, range.start, range.end);
            m.addOffsetChunk(bytes);
            if (plan.sampled) kept.push(bytes);
          }
        }
        for (const [i, range] of plan.ranges.entries()) m.measureChunk(kept[i] ?? (await read(plan, range.start, range.end)));
        return m;
      }),
    ),
  );
  return { done, bytesRead };
}

/** `*` matches any run of characters, everything else itself; linear-time, no regular expression. */
export function globMatcher(pattern: string): (name: string) => boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return (name) => name.includes(pattern);
  return (name) => {
    if (!name.startsWith(parts[0]!)) return false;
    let at = parts[0]!.length;
    for (let i = 1; i < parts.length - 1; i++) {
      const found = name.indexOf(parts[i]!, at);
      if (found < 0) return false;
      at = found + parts[i]!.length;
    }
    const last = parts[parts.length - 1]!;
    return name.length - last.length >= at && name.endsWith(last);
  };
}

