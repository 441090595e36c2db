import { TORCH_DTYPES, type TorchDtype } from "../core/format/index.js";
import type { Gates } from "../core/report/index.js";
import { UsageError } from "../core/errors.js";
import { EXPERT_LAYOUTS, QUANT_STORAGE, SCHEME_NAMES, unsafeSkipPattern, type QuantStorage, type SchemeName, type SimulationOptions } from "../core/storage/index.js";
import type { SchemeChoice } from "../core/report/index.js";
import { OPTIMIZERS, TRAIN_MODES, type OptimizerName, type TrainingOptions } from "../core/budget/index.js";
import { UNITS, type Units } from "../render/units.js";

export const FORMATS = ["table", "json", "markdown", "csv", "html"] as const;
export type Format = (typeof FORMATS)[number];
export const TORCH_DTYPE_CHOICES = ["auto", ...(Object.keys(TORCH_DTYPES) as TorchDtype[])] as const;
export const QUANT_STORAGE_CHOICES = Object.keys(QUANT_STORAGE) as QuantStorage[];

/** Options as commander hands them over (strings and flags, before any checking). */
export interface RawAuditOptions {
  scheme?: string;
  doubleQuant?: boolean;
  quantStorage?: string;
  torchDtype?: string;
  skipModules?: string;
  allTensors?: boolean;
  json?: boolean;
  format?: string;
  units?: string;
  experts?: string;
  maxMemory?: string;
  maxParams?: string;
  logical?: boolean;
  minTrainable?: string;
  wide?: boolean;
  out?: string;
}

export interface OutputOptions {
  format: Format;
  units: Units;
  allTensors: boolean;
  /** --wide: tables as wide as they need, whatever the terminal. */
  wide: boolean;
  /** --out: write the output to this file instead of stdout. */
  out: string | null;
}

/** Turns raw flags into simulation options; impossible combinations are usage errors. */
export function toSimulationOptions(raw: RawAuditOptions): SimulationOptions {
  const scheme = raw.scheme === undefined ? null : oneOf(raw.scheme, SCHEME_NAMES, "--scheme");
  const fourBit = scheme === "fp4" || scheme === "nf4";
  if (raw.doubleQuant === true && !fourBit) throw new UsageError("--double-quant applies to the 4-bit schemes only (--scheme fp4 or nf4)");
  if (raw.quantStorage !== undefined && !fourBit) throw new UsageError("--quant-storage applies to the 4-bit schemes only (--scheme fp4 or nf4)");
  return {
    scheme,
    doubleQuant: raw.doubleQuant === true,
    quantStorage: quantStorageOf(raw),
    torchDtype: raw.torchDtype === undefined ? "auto" : oneOf(raw.torchDtype, TORCH_DTYPE_CHOICES, "--torch-dtype"),
    skipModules: raw.skipModules === undefined ? null : parseSkipModules(raw.skipModules),
    experts: raw.experts === undefined ? "fused" : oneOf(raw.experts, EXPERT_LAYOUTS, "--experts"),
  };
}

export function toGates(raw: RawAuditOptions): Gates {
  if (raw.logical === true && raw.maxParams === undefined) throw new UsageError("--logical goes with --max-params");
  return {
    ...(raw.maxMemory === undefined ? {} : { maxMemory: parseSize(raw.maxMemory, "--max-memory") }),
    ...(raw.maxParams === undefined ? {} : { maxParams: parseCount(raw.maxParams, "--max-params"), logical: raw.logical === true }),
    ...(raw.minTrainable === undefined ? {} : { minTrainable: parseCount(raw.minTrainable, "--min-trainable") }),
  };
}

export function quantStorageOf(raw: RawAuditOptions): QuantStorage {
  return raw.quantStorage === undefined ? "uint8" : oneOf(raw.quantStorage, QUANT_STORAGE_CHOICES, "--quant-storage");
}

export function toOutputOptions(raw: RawAuditOptions): OutputOptions {
  if (raw.json === true && raw.format !== undefined && raw.format !== "json") {
    throw new UsageError(`--json and --format ${raw.format} disagree; use one`);
  }
  return {
    format: raw.json === true ? "json" : raw.format === undefined ? "table" : oneOf(raw.format, FORMATS, "--format"),
    units: raw.units === undefined ? "iec" : oneOf(raw.units, UNITS, "--units"),
    allTensors: raw.allTensors === true,
    wide: raw.wide === true,
    out: raw.out ?? null,
  };
}


export function oneOf<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} ${JSON.stringify(value)} is not one of: ${choices.join(", ")}`);
}


const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A byte size: `1234567`, `5GiB`, `4.5GB`, `512 MiB` (decimal kB/MB/GB/TB, binary KiB/MiB/GiB/TiB). */
export function parseSize(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(text);
  if (match === null) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a size (examples: 1234567, 5GiB, 4.5GB)`);
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? "b").toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag} ${JSON.stringify(text)} is too large`);
  return bytes;
}

const COUNT_SUFFIXES: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, t: 1e12 };

/** A count: `7000000000`, `7,000,000,000`, `7_000_000_000`, `7B`, `3.6B`, `500M`. */
export function parseCount(text: string, flag: string): number {
  const match = /^\s*(\d+(?:[,_]\d{3})*(?:\.\d+)?)\s*([kmbt])?\s*$/i.exec(text);
  if (match === null) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a count (examples: 7000000000, 7B, 350M)`);
  const n = Math.floor(Number(match[1]!.replace(/[,_]/g, "")) * (COUNT_SUFFIXES[(match[2] ?? "").toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} ${JSON.stringify(text)} is too large`);
  return n;
}

/** `fp32,bf16,int8,nf4,nf4+dq`: each a scheme, `+dq` only on the 4-bit ones, none twice. */
export function parseSchemeList(text: string): SchemeChoice[] {
  const valid = [...SCHEME_NAMES, "fp4+dq", "nf4+dq"];
  const seen = new Set<string>();
  const choices = text.split(",").map((raw) => {
    const label = raw.trim();
    const [name, extra] = label.split("+", 2) as [string, string | undefined];
    if (!(SCHEME_NAMES as readonly string[]).includes(name) || (extra !== undefined && extra !== "dq")) {
      throw new UsageError(`--schemes: ${JSON.stringify(label)} is not a scheme; valid: ${valid.join(", ")}`);
    }
    if (extra === "dq" && name !== "fp4" && name !== "nf4") {
      throw new UsageError(`--schemes: ${label} is impossible (double quant applies to fp4 and nf4 only); valid: ${valid.join(", ")}`);
    }
    if (seen.has(label)) throw new UsageError(`--schemes: ${label} is listed twice; valid: ${valid.join(", ")}`);
    seen.add(label);
    return { scheme: name as SchemeName, doubleQuant: extra === "dq" };
  });
  if (choices.length === 0) throw new UsageError(`--schemes needs at least one of: ${valid.join(", ")}`);
  return choices;
}

export interface RawTrainingOptions {
  train?: string;
  optimizer?: string;
  mixedPrecision?: boolean;
  loraR?: string;
  targetModules?: string;
  adapterDtype?: string;
  prepareKbit?: boolean;
}

/** Training options; target modules stay undefined until the model's type can supply PEFT's default. */
export function toTrainingOptions(raw: RawTrainingOptions): (Omit<TrainingOptions, "targetModules"> & { targetModules?: TrainingOptions["targetModules"] }) | undefined {
  if (raw.train === undefined) {
    const stray = (["optimizer", "mixedPrecision", "loraR", "targetModules", "adapterDtype"] as const).find((k) => raw[k] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --train`);
    return undefined;
  }
  const mode = oneOf(raw.train, TRAIN_MODES, "--train");
  if (mode === "full" && (raw.loraR !== undefined || raw.targetModules !== undefined || raw.adapterDtype !== undefined)) {
    throw new UsageError("--lora-r, --target-modules and --adapter-dtype go with --train lora or qlora");
  }
  const r = raw.loraR === undefined ? 8 : parseWholeNumber(raw.loraR, "--lora-r", { min: 1 });
  const targets = raw.targetModules === undefined ? undefined : raw.targetModules.trim() === "all-linear" ? ("all-linear" as const) : parseNames(raw.targetModules, "--target-modules");
  return {
    mode,
    optimizer: raw.optimizer === undefined ? "adamw" : oneOf(raw.optimizer, Object.keys(OPTIMIZERS) as OptimizerName[], "--optimizer"),
    mixedPrecision: raw.mixedPrecision === true,
    loraR: r,
    ...(targets === undefined ? {} : { targetModules: targets }),
    adapterDtype: raw.adapterDtype === undefined ? "fp32" : oneOf(raw.adapterDtype, Object.keys(TORCH_DTYPES) as TorchDtype[], "--adapter-dtype"),
    prepareKbit: raw.prepareKbit !== false,
  };
}

function parseSkipModules(value: string): string[] {
  const names = parseNames(value, "--skip-modules");
  for (const name of names) {
    const why = unsafeSkipPattern(name);
    if (why !== null) throw new UsageError(`--skip-modules ${JSON.stringify(name)} is refused: ${why}; use module names or simple patterns`);
  }
  return names;
}

function parseNames(value: string, flag: string): string[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`${flag} needs at least one module name`);
  return names;
}

/**
 * A whole number written in decimal digits (`16`, `4096`), within bounds: the one parser for every
 * numeric option, so `0x10`, `1e3`, `abc`, `-1` and values past 2^53 are refused the same way.
 */
export function parseWholeNumber(text: string, flag: string, bounds: { min: number; max?: number }): number {
  const trimmed = text.trim();
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const value = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    throw new UsageError(`${flag} takes a whole number from ${bounds.min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}, not ${JSON.stringify(text)}`);
  }
  return value;
}
