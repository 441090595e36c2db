import { InputError } from "../errors.js";
import type { SafetensorsHeader } from "./header.js";
import type { ModelConfig } from "./config.js";

export interface CheckpointFile {
  /** Name as the user or the repo knows it (relative path or repo file name). */
  name: string;
  header: SafetensorsHeader;
  /**
   * Contents of small tensors read from the data region when it is present: bitsandbytes'
   * `*.quant_state.bitsandbytes__*` JSON blobs, which hold a packed weight's original shape.
   */
  blobs?: Record<string, Uint8Array>;
}

/** A model as the sources hand it to the core: parsed headers and the config, no IO left. */
export interface Checkpoint {
  source: string;
  files: CheckpointFile[];
  config: ModelConfig | null;
}

/** `model.safetensors.index.json`: which shard holds each tensor. */
export interface ShardIndex {
  /** Shard file names in first-seen order, each validated as a plain relative name. */
  shards: string[];
  /** Tensor → shard, as parsed (every value checked to be a string); a 163k-entry Map cost more than it served. */
  weightMap: Readonly<Record<string, string>>;
  totalSize?: number;
}

/** Parses a shard index; shard names come from the network or a stranger's disk, so they are checked. */
export function parseShardIndex(json: unknown, file: string): ShardIndex {
  const root = json as { weight_map?: unknown; metadata?: { total_size?: unknown } } | null;
  if (typeof root !== "object" || root === null || typeof root.weight_map !== "object" || root.weight_map === null || Array.isArray(root.weight_map)) {
    throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  }
  const shards = new Set<string>();
  const map = root.weight_map as Record<string, unknown>;
  let last: unknown;
  for (const tensor in map) {
    const shard = map[tensor];
    if (shard === last) continue; // consecutive tensors mostly share a shard
    if (typeof shard !== "string") throw new InputError(`${file}: shard of tensor ${JSON.stringify(tensor)} is not a file name`);
    if (!shards.has(shard)) {
      checkShardName(shard, file); // once per shard: a 163-shard index names each ~1,000 times
      shards.add(shard);
    }
    last = shard;
  }
  const weightMap = map as Record<string, string>;
  if (shards.size === 0) throw new InputError(`${file}: "weight_map" names no shard`);
  const totalSize = root.metadata?.total_size;
  return { shards: [...shards], weightMap, ...(typeof totalSize === "number" ? { totalSize } : {}) };
}

/** A shard name must stay inside the model's folder: relative, no `..`, no backslashes or drive letters. */
export function checkShardName(shard: string, file: string): void {
  const bad =
    shard.length === 0 ||
    shard.startsWith("/") ||
    shard.includes("\\") ||
    shard.includes("\0") ||
    /^[A-Za-z]:/.test(shard) ||
    shard.split("/").some((part) => part === ".." || part === "." || part === "");
  if (bad) throw new InputError(`${file}: shard name ${JSON.stringify(shard)} escapes the model folder`);
}

/**
 * Puts parsed files together into one checkpoint and checks them against the index: every tensor the
 * index names must be in its shard, and no tensor may appear twice.
 */
export function assembleCheckpoint(source: string, files: CheckpointFile[], config: ModelConfig | null, index?: ShardIndex, indexName = "index"): Checkpoint {
  const seen = new Set<string>();
  for (const file of files) {
    for (const tensor of file.header.tensors) {
      if (seen.has(tensor.name)) {
        const other = files.find((f) => f !== file && f.header.tensors.some((t) => t.name === tensor.name))?.name ?? file.name;
        throw new InputError(`${file.name}: tensor ${JSON.stringify(tensor.name)} is also in ${other}`);
      }
      seen.add(tensor.name);
    }
  }
  if (index !== undefined) {
    for (const tensor in index.weightMap) {
      if (!seen.has(tensor)) throw new InputError(`${indexName}: tensor ${JSON.stringify(tensor)} is listed in ${index.weightMap[tensor]} but no shard holds it`);
    }
  }
  return { source, files, config };
}
