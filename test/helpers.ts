// Tiny builders for tests: checkpoints from tensor lists, without touching the disk.
import { readModelConfig } from "../src/core/format/config.js";
import { parseHeader } from "../src/core/format/header.js";
import { simulateScheme } from "../src/core/storage/simulate.js";
import type { Checkpoint } from "../src/core/format/checkpoint.js";
import type { StorageReport as Report } from "../src/core/storage/storage-report.js";
import type { SimulationOptions } from "../src/core/storage/schemes.js";
// @ts-expect-error plain JS generator shared with scripts/make-fixtures.mjs
import { headerJson } from "../scripts/safetensors-writer.mjs";

export type TensorSpec = [name: string, dtype: string, shape: number[]];

export function checkpointOf(tensors: TensorSpec[], config: Record<string, unknown> | null = null, source = "test"): Checkpoint {
  const json = new TextEncoder().encode(JSON.stringify(headerJson(tensors)));
  return { source, files: [{ name: "model.safetensors", header: parseHeader(json, "model.safetensors") }], config: config === null ? null : readModelConfig(config) };
}

export const DEFAULTS: SimulationOptions = { scheme: null, doubleQuant: false, quantStorage: "uint8", torchDtype: "auto", skipModules: null, experts: "fused" };

export function simulate(checkpoint: Checkpoint, options: Partial<SimulationOptions> = {}): Report {
  return simulateScheme(checkpoint, { ...DEFAULTS, ...options });
}

export function tensorOf(report: Report, name: string) {
  const found = report.tensors.find((t) => t.name === name);
  if (found === undefined) throw new Error(`no tensor ${name}`);
  return found;
}
