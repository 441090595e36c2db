import { InputError } from "../errors.js";
import { jsonSyntaxError } from "./json.js";
import { JsonScanner, OPEN_OBJECT, QUOTE } from "./json-scanner.js";

/** `model.safetensors.index.json`: which shard holds each tensor. */
export interface ShardIndex {
  /** Shard file names in first-seen order, each validated as a plain relative name. */
  shards: string[];
  /** Per shard: its tensors and the bytes of their names (a header's size is about names + 85 bytes a tensor). */
  shardStats: ReadonlyMap<string, ShardStats>;
  /** Entries of the weight map, in all. */
  tensors: number;
  totalSize?: number;
  /** Every (tensor, shard) pair of the weight map, in the file's order. */
  forEachTensor(visit: (tensor: string, shard: string) => void): void;
  /**
   * Per shard, a fingerprint of the names it lists; worked out on first call (a second pass over the
   * text), which a source can place while its header reads are in flight.
   */
  fingerprints(): ReadonlyMap<string, NamesFingerprint>;
}

export interface ShardStats {
  tensors: number;
  nameBytes: number;
}

/**
 * A fingerprint of a set of tensor names, independent of their order: the sum and the exclusive-or
 * of a 32-bit hash of each. Two shards whose names agree in count and fingerprint hold the same names
 * (differing sets collide with odds near 2^-64), so a header is checked against its index entries
 * without hashing 100,000 names into a table. A collision would only skip the consistency check: the
 * figures always come from the headers.
 */
export class NamesFingerprint {
  private sum = 0;
  private xor = 0;

  add(name: string): void {
    this.addHash(fnv1a(name, name.length));
  }

  /** A name by its FNV-1a hash, worked out by the caller (NameRegistry hashes each name once for two uses). */
  addHash(h: number): void {
    this.sum = (this.sum + h) | 0;
    this.xor ^= h;
  }

  equals(other: NamesFingerprint): boolean {
    return this.sum === other.sum && this.xor === other.xor;
  }
}

/** FNV-1a of the first `length` UTF-16 code units of `text`, unsigned: the hash of names across qaudit. */
export function fnv1a(text: string, length: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Parses a shard index from its text. A large model's index names every tensor (163,000 of them,
 * 15 MB): as a JavaScript object that is over 40 MB of heap for a few seconds, so the text is
 * scanned instead, strictly (anything JSON.parse refuses is refused, with line and column), and kept
 * for a second scan when the tensors are checked against the headers.
 * Shard names come from the network or a stranger's disk, so they are checked.
 */
export function parseShardIndex(text: string, file: string): ShardIndex {
  const result = scanIndex(text, file);
  // Only the weight map that counts (the last, if the key repeats) is visited.
  const forEachTensor = (visit: (tensor: string, shard: string) => void): void => void scanIndex(text, file, { visit, map: result.maps });
  let fingerprints: Map<string, NamesFingerprint> | undefined;
  let tensors = 0;
  for (const stats of result.stats.values()) tensors += stats.tensors;
  return {
    shards: [...result.stats.keys()],
    shardStats: result.stats,
    tensors,
    ...(result.totalSize === undefined ? {} : { totalSize: result.totalSize }),
    forEachTensor,
    fingerprints: () => {
      if (fingerprints !== undefined) return fingerprints;
      const byShard = new Map<string, NamesFingerprint>();
      let last: string | undefined;
      let current: NamesFingerprint | undefined;
      forEachTensor((tensor, shard) => {
        if (shard !== last) {
          current = byShard.get(shard);
          if (current === undefined) byShard.set(shard, (current = new NamesFingerprint()));
          last = shard;
        }
        current!.add(tensor);
      });
      return (fingerprints = byShard);
    },
  };
}

/**
 * A copy of a string cut from the index text that does not keep that text alive: V8 makes a slice of a
 * long string point into it, so one shard name kept in the checkpoint would hold all 15 MB.
 */
const detached = (slice: string): string => JSON.parse(JSON.stringify(slice)) as string;

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

interface Scanned {
  stats: Map<string, ShardStats>;
  totalSize: number | undefined;
  /** How many weight_map keys the object has (JSON.parse keeps the last). */
  maps: number;
}


/**
 * One pass over the text, with JSON.parse's semantics for what it keeps: a repeated top-level key's
 * last value wins. Shape errors (no weight_map object, a shard that is not a string or escapes the
 * folder) are raised only once the whole text is known to be JSON, as JSON.parse would have failed first.
 */
function scanIndex(text: string, file: string, visiting?: { visit: (tensor: string, shard: string) => void; map: number }): Scanned {
  const s = new JsonScanner(text, (at) => {
    throw new InputError(jsonSyntaxError(text, at, file));
  });
  let maps = 0;
  let shapeError: string | undefined;
  let stats: Map<string, ShardStats> | undefined;
  let totalSize: number | undefined;
  s.ws();
  if (s.peek() !== OPEN_OBJECT) {
    s.value();
    s.end();
    throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  }
  s.members((key) => {
    if (key === "weight_map") {
      maps += 1;
      const visit = visiting?.map === maps ? visiting.visit : undefined;
      if (s.peek() !== OPEN_OBJECT) {
        stats = undefined;
        s.value();
        return;
      }
      // The last weight_map wins: its own statistics and its own first problem.
      const current = new Map<string, ShardStats>();
      let problem: string | undefined;
      let last: string | undefined;
      let entry: ShardStats | undefined;
      s.members((tensor) => {
        if (s.peek() !== QUOTE) {
          s.value();
          problem ??= `${file}: shard of tensor ${JSON.stringify(tensor)} is not a file name`;
          return;
        }
        const shard = s.string();
        if (shard !== last) {
          entry = current.get(shard);
          if (entry === undefined) {
            // Once per shard: a 163-shard index names each ~1,000 times.
            try {
              checkShardName(shard, file);
            } catch (error) {
              problem ??= (error as Error).message;
            }
            entry = { tensors: 0, nameBytes: 0 };
            current.set(detached(shard), entry);
          }
          last = shard;
        }
        entry!.tensors += 1;
        entry!.nameBytes += tensor.length;
        visit?.(tensor, shard);
      });
      stats = current;
      shapeError = problem;
    } else if (key === "metadata") {
      totalSize = undefined;
      if (s.peek() !== OPEN_OBJECT) return s.value();
      s.members((field) => {
        if (field !== "total_size") return s.value();
        totalSize = s.isNumber() ? s.number() : undefined;
        if (totalSize === undefined) s.value();
      });
    } else {
      s.value();
    }
  });
  s.end();
  if (stats === undefined) throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  if (shapeError !== undefined) throw new InputError(shapeError);
  if (stats.size === 0) throw new InputError(`${file}: "weight_map" names no shard`);
  return { stats, totalSize, maps };
}
