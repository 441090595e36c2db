import type { TensorInfo } from "../format/index.js";
import { ELEMENT_BYTES, isDecodable, type DecodableDtype } from "./decode.js";
import { BLOCK, NESTED_BLOCK } from "./quantize.js";

/**
 * Which bytes `qaudit error` reads (spec quantization-error §7): whole quantization units, so every
 * sampled element is quantized with the state it has in a full run wherever that state is local.
 */
export const ERROR_SCHEMES = ["nf4", "fp4", "int8", "fp16", "bf16"] as const;
export type ErrorScheme = (typeof ERROR_SCHEMES)[number];

/** Elements per unit of work for the casts, where any unit is exact. */
const CAST_UNIT = 4096;
/** Largest read handed to the decoder at once: bounds memory whatever the tensor's size. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface ReadRange {
  /** Byte offsets inside the file (header included), end exclusive. */
  start: number;
  end: number;
  /** First element of the range within the tensor. */
  firstElement: number;
}

export interface TensorPlan {
  name: string;
  file: string;
  dtype: DecodableDtype;
  elements: number;
  /** Elements per quantization unit (64-block, 256-block group, row, or a cast chunk). */
  unitElements: number;
  units: number;
  /** Ranges to read, in order, each a whole number of units and at most CHUNK_BYTES (but one unit). */
  ranges: ReadRange[];
  sampled: boolean;
  /** int8: the row length. */
  rowLength: number;
}

export interface SkippedTensor {
  name: string;
  reason: string;
}

export interface PlanOptions {
  scheme: ErrorScheme;
  doubleQuant: boolean;
  /** Bytes per tensor to sample; null reads everything (--full). */
  sampleBytes: number | null;
  seed: number;
}

/** One tensor's plan; `dataStart` is where the file's data region begins (8 + header length). */
export function planTensor(tensor: TensorInfo, file: string, dataStart: number, options: PlanOptions): TensorPlan | SkippedTensor {
  if (!isDecodable(tensor.dtype)) return { name: tensor.name, reason: `dtype ${tensor.dtype} is not decoded (only F32, F16 and BF16 weights are measured)` };
  if (tensor.elements === 0) return { name: tensor.name, reason: "no elements" };
  const size = ELEMENT_BYTES[tensor.dtype];
  const rowLength = tensor.shape.length === 0 ? 1 : tensor.shape[tensor.shape.length - 1]!;
  const unitElements = unitOf(options, rowLength);
  if (unitElements === 0) return { name: tensor.name, reason: "rows of length 0" };
  const units = Math.ceil(tensor.elements / unitElements);
  const wanted = options.sampleBytes === null ? units : Math.max(1, Math.floor(options.sampleBytes / size / unitElements));
  const sampled = wanted < units;
  const runs = sampled ? sampleRuns(units, wanted, options.seed ^ hashName(tensor.name)) : [[0, units] as [number, number]];
  const base = dataStart + tensor.dataStart;
  const unitsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (unitElements * size)));
  const ranges: ReadRange[] = [];
  for (const [from, to] of runs) {
    for (let u = from; u < to; u += unitsPerChunk) {
      const first = u * unitElements;
      const last = Math.min(tensor.elements, Math.min(to, u + unitsPerChunk) * unitElements);
      ranges.push({ start: base + first * size, end: base + last * size, firstElement: first });
    }
  }
  return { name: tensor.name, file, dtype: tensor.dtype, elements: tensor.elements, unitElements, units, ranges, sampled, rowLength };
}

function unitOf(options: PlanOptions, rowLength: number): number {
  switch (options.scheme) {
    case "nf4":
    case "fp4":
      // Double quant's absmax2 is local to 256 blocks: sample whole groups so it is exact.
      return options.doubleQuant ? BLOCK * NESTED_BLOCK : BLOCK;
    case "int8":
      return rowLength;
    case "fp16":
    case "bf16":
      return CAST_UNIT;
  }
}

/**
 * `wanted` of `units` units as up to 8 runs of consecutive units, one in each equal stratum of the
 * tensor (a spread over depth without one request per unit), placed by a seeded generator.
 */
export function sampleRuns(units: number, wanted: number, seed: number): Array<[number, number]> {
  const next = mulberry32(seed);
  const runs = Math.min(8, wanted);
  const out: Array<[number, number]> = [];
  for (let r = 0; r < runs; r++) {
    const length = Math.floor(wanted / runs) + (r < wanted % runs ? 1 : 0);
    const stratumStart = Math.floor((r * units) / runs);
    const stratumEnd = Math.floor(((r + 1) * units) / runs);
    const room = Math.max(0, stratumEnd - stratumStart - length);
    const start = stratumStart + Math.floor(next() * (room + 1));
    out.push([start, Math.min(stratumEnd, start + length)]);
  }
  return out;
}

/** mulberry32: a small, well-known 32-bit generator; the same positions on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of a tensor name: each tensor's sample positions differ, and repeat across runs. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function isSkipped(plan: TensorPlan | SkippedTensor): plan is SkippedTensor {
  return "reason" in plan;
}

export function plannedBytes(plans: TensorPlan[]): number {
  return plans.reduce((sum, p) => sum + p.ranges.reduce((s, r) => s + r.end - r.start, 0), 0);
}
