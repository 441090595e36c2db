import { TORCH_DTYPES, type TorchDtype } from "../core/dtypes.js";
import { UsageError } from "../core/errors.js";
import { QUANT_STORAGE, SCHEME_NAMES, type QuantStorage, type SchemeName, type SimulationOptions } from "../core/types.js";
import { UNITS, type Units } from "../render/units.js";

export const FORMATS = ["table", "json", "markdown", "csv"] as const;
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
}

export interface OutputOptions {
  format: Format;
  units: Units;
  allTensors: boolean;
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
    quantStorage: raw.quantStorage === undefined ? "uint8" : oneOf(raw.quantStorage, QUANT_STORAGE_CHOICES, "--quant-storage"),
    torchDtype: raw.torchDtype === undefined ? "auto" : oneOf(raw.torchDtype, TORCH_DTYPE_CHOICES, "--torch-dtype"),
    skipModules: raw.skipModules === undefined ? null : parseList(raw.skipModules),
  };
}

export function toOutputOptions(raw: RawAuditOptions): OutputOptions {
  if (raw.json === true && raw.format !== undefined && raw.format !== "json") {
    throw new UsageError(`--json and --format ${raw.format} disagree; use one`);
  }
  return {
    format: raw.json === true ? "json" : raw.format === undefined ? "table" : oneOf(raw.format, FORMATS, "--format"),
    units: raw.units === undefined ? "iec" : oneOf(raw.units, UNITS, "--units"),
    allTensors: raw.allTensors === true,
  };
}

function parseList(value: string): string[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError("--skip-modules needs at least one module name");
  return names;
}

export function oneOf<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} ${JSON.stringify(value)} is not one of: ${choices.join(", ")}`);
}

export type { SchemeName };
