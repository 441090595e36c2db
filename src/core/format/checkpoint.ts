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
  /** Tensors the index names. */
  tensorCount: number;
  /** Per shard: tensors and the bytes of their names (a header's size is about names + 85 bytes a tensor). */
  shardStats: ReadonlyMap<string, { tensors: number; nameBytes: number }>;
  totalSize?: number;
}

/** Parses a shard index; shard names come from the network or a stranger's disk, so they are checked. */
export function parseShardIndex(json: unknown, file: string): ShardIndex {
  const root = json as { weight_map?: unknown; metadata?: { total_size?: unknown } } | null;
  if (typeof root !== "object" || root === null || typeof root.weight_map !== "object" || root.weight_map === null || Array.isArray(root.weight_map)) {
    throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  }
  const stats = new Map<string, { tensors: number; nameBytes: number }>();
  const map = root.weight_map as Record<string, unknown>;
  let last: unknown;
  let current: { tensors: number; nameBytes: number } | undefined;
  let tensorCount = 0;
  // One pass: validate shard names (once each), count tensors, and size each shard's header.
  for (const tensor in map) {
    tensorCount += 1;
    const shard = map[tensor];
    if (shard !== last) {
      if (typeof shard !== "string") throw new InputError(`${file}: shard of tensor ${JSON.stringify(tensor)} is not a file name`);
      current = stats.get(shard);
      if (current === undefined) {
        checkShardName(shard, file); // once per shard: a 163-shard index names each ~1,000 times
        current = { tensors: 0, nameBytes: 0 };
        stats.set(shard, current);
      }
      last = shard;
    }
    current!.tensors += 1;
    current!.nameBytes += tensor.length;
  }
  const weightMap = map as Record<string, string>;
  if (stats.size === 0) throw new InputError(`${file}: "weight_map" names no shard`);
  const totalSize = root.metadata?.total_size;
  return { shards: [...stats.keys()], weightMap, tensorCount, shardStats: stats, ...(typeof totalSize === "number" ? { totalSize } : {}) };
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
    // Header tensors are unique: if as many of them are in the index as the index names, every
    // tensor the index names is held. Only when they differ is the index walked to name one.
    let listed = 0;
    for (const name of seen) if (Object.prototype.hasOwnProperty.call(index.weightMap, name)) listed += 1;
    if (listed !== index.tensorCount) {
      for (const tensor in index.weightMap) {
        if (!seen.has(tensor)) throw new InputError(`${indexName}: tensor ${JSON.stringify(tensor)} is listed in ${index.weightMap[tensor]} but no shard holds it`);
      }
    }
  }
  return { source, files, config };
}
