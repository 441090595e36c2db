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
 * each gets its names' fingerprint, and every name's two 32-bit hashes go into one table, which
 * notices a name met twice. assembleCheckpoint then has neither to do. The table holds numbers, not
 * strings: 163,000 names take 4 MB outside the JavaScript heap instead of a Set of ~10 MB inside it.
 * Two different names with both hashes equal (odds near 2^-64 a pair) count as a repeat too: it only
 * sends assembleCheckpoint to its exact check by name, which decides.
 */
export class NameRegistry {
  /** Open addressing, two slots per entry (the name's hashes); [0, 0] is an empty entry. */
  private table: Uint32Array;
  private entries = 0;
  repeats = false;
  headers = 0;

  /** `expected`: how many names will be registered, when known (an index says), so the table is made once. */
  constructor(expected = 0) {
    this.table = new Uint32Array(2 * tableSize(expected));
  }

  register(header: SafetensorsHeader): void {
    const names = new NamesFingerprint();
    const tensors = header.tensors;
    for (let i = 0; i < tensors.length; i++) {
      const name = tensors[i]!.name;
      // FNV-1a (also the fingerprint's hash) and a multiply-by-31 hash, in one pass over the name.
      let fnv = 0x811c9dc5;
      let x31 = name.length;
      for (let c = 0; c < name.length; c++) {
        const code = name.charCodeAt(c);
        fnv = Math.imul(fnv ^ code, 0x01000193);
        x31 = (Math.imul(x31, 31) + code) | 0;
      }
      names.addHash(fnv);
      if (!this.insert(fnv >>> 0 || 1, x31 >>> 0)) this.repeats = true;
    }
    header.names = names;
    this.headers += 1;
  }

  /** Adds the pair; false if it was there already. */
  private insert(first: number, second: number): boolean {
    if (2 * (this.entries + 1) > this.table.length / 2) this.grow();
    const table = this.table;
    const mask = table.length / 2 - 1;
    for (let slot = (first ^ Math.imul(second, 0x9e3779b1)) & mask; ; slot = (slot + 1) & mask) {
      const at = 2 * slot;
      if (table[at] === 0) {
        table[at] = first;
        table[at + 1] = second;
        this.entries += 1;
        return true;
      }
      if (table[at] === first && table[at + 1] === second) return false;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(2 * old.length);
    this.entries = 0;
    for (let at = 0; at < old.length; at += 2) if (old[at] !== 0) this.insert(old[at]!, old[at + 1]!);
  }
}

/**
 * Entries for `names` names at most half full: a power of two, at least 1,024. The count comes from an
 * index, which may claim anything: past a million names the table grows with the names that arrive.
 */
function tableSize(names: number): number {
  let size = 1024;
  while (size < 2 * Math.min(names, 1_000_000)) size *= 2;
  return size;
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
