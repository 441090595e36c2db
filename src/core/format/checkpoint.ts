import { InputError } from "../errors.js";
import type { SafetensorsHeader } from "./header.js";
import type { ModelConfig } from "./config.js";
import { NamesFingerprint, type ShardIndex } from "./shard-index.js";

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

/**
 * Puts parsed files together into one checkpoint and checks them against the index: every tensor the
 * index names must be in a shard, no tensor may appear twice. With an index, `files` are its shards in
 * its order.
 */
export function assembleCheckpoint(source: string, files: CheckpointFile[], config: ModelConfig | null, index?: ShardIndex, indexName = "index", registry?: NameRegistry): Checkpoint {
  // With a registry that met no name twice, the names are known distinct: no second set of them.
  const seen = registry !== undefined && !registry.repeats && registry.headers === files.length ? undefined : distinctNames(files);
  if (index !== undefined && !listsHeadersExactly(index, files)) {
    const held = seen ?? distinctNames(files);
    // The exact check, by name: each listed tensor held somewhere, none listed twice.
    const named = new Set<string>();
    index.forEachTensor((tensor, shard) => {
      if (!held.has(tensor)) throw new InputError(`${indexName}: tensor ${JSON.stringify(tensor)} is listed in ${shard} but no shard holds it`);
      // A key twice in one JSON object: JSON.parse would keep one silently; which shard was meant is unknowable.
      if (named.has(tensor)) throw new InputError(`${indexName}: tensor ${JSON.stringify(tensor)} is listed twice`);
      named.add(tensor);
    });
  }
  return { source, files, config };
}

/**
 * Headers registered as they arrive (a source calls `register` while it waits for the next one):
 * each gets its names' fingerprint, and every name goes into one set, which notices a name in two
 * shards. assembleCheckpoint then has neither to do.
 */
export class NameRegistry {
  private readonly seen = new Set<string>();
  repeats = false;
  headers = 0;

  register(header: SafetensorsHeader): void {
    const names = new NamesFingerprint();
    const tensors = header.tensors;
    for (let i = 0; i < tensors.length; i++) {
      const name = tensors[i]!.name;
      names.add(name);
      if (this.seen.has(name)) this.repeats = true;
      else this.seen.add(name);
    }
    header.names = names;
    this.headers += 1;
  }
}

/** Every tensor name of the files, refusing one that is in two of them. */
function distinctNames(files: CheckpointFile[]): Set<string> {
  const seen = new Set<string>();
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const tensors = file.header.tensors;
    for (let i = 0; i < tensors.length; i++) {
      const name = tensors[i]!.name;
      if (seen.has(name)) {
        const other = files.find((g) => g !== file && g.header.tensors.some((t) => t.name === name))?.name ?? file.name;
        throw new InputError(`${file.name}: tensor ${JSON.stringify(name)} is also in ${other}`);
      }
      seen.add(name);
    }
  }
  return seen;
}

/**
 * The usual case, checked without a table of 100,000 names: each shard's header holds exactly the
 * tensors the index lists for it (same count, same fingerprint). Any difference falls back to the
 * check by name, which says what is wrong.
 */
function listsHeadersExactly(index: ShardIndex, files: CheckpointFile[]): boolean {
  if (files.length !== index.shards.length) return false;
  const fingerprints = index.fingerprints();
  return index.shards.every((shard, i) => {
    const header = files[i]!.header;
    const tensors = header.tensors;
    if (tensors.length !== index.shardStats.get(shard)!.tensors) return false;
    let names = header.names;
    if (names === undefined) {
      names = new NamesFingerprint();
      for (let t = 0; t < tensors.length; t++) names.add(tensors[t]!.name);
    }
    return names.equals(fingerprints.get(shard)!);
  });
}
