import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { mkdir, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { checkShardName, MAX_HEADER_BYTES, MAX_INDEX_BYTES } from "../../core/format/index.js";
import { openRegularFile, readRegion, readSmallFile, readTextRegion } from "../files.js";
import { HubError } from "./errors.js";

/** Bytes [at, at + length) of an entry's payload. */
export interface Region {
  at: number;
  length: number;
}

/**
 * Everything an audit of one commit needs, so a second audit needs at most the revision lookup: what
 * the entry's manifest says. The index and the headers stay in the entry's file until read
 * (`openSnapshot`), each as the bytes the Hub sent.
 */
export interface CachedSnapshot {
  /** The entry's file. */
  path: string;
  /** Weight files in order, relative to the repo root. */
  files: string[];
  /** config.json text, or null when the repo has none. */
  config: string | null;
  /** Where model.safetensors.index.json's bytes are, when sharded. */
  index: Region | null;
  /** Where each weight file's header JSON bytes are, and the file's total size. */
  headers: Record<string, Region & { size?: number }>;
  /** bitsandbytes quant-state blobs read from data regions, by checkpoint file and tensor. */
  blobs?: Record<string, Record<string, string>>;
}

const SHA = /^[0-9a-f]{40}$/;
/** Bumped whenever the entry's shape changes: entries of another version are misses. */
export const CACHE_FORMAT = 3;
/** A manifest lists files and regions, config.json and blobs: a few tens of kilobytes; more is not ours. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** The manifest's length, at the very end of an entry. */
const TRAILER_BYTES = 8;

/**
 * Header cache under XDG_CACHE_HOME/qaudit/v3/<endpoint hash>: `models--org--name/refs/<revision>`
 * holds a commit sha, `models--org--name/snapshots/<sha>[--subfolder].entry` one snapshot: the index's
 * and the headers' bytes as the Hub sent them, then a JSON manifest saying where each is, then the
 * manifest's length (8 bytes, little-endian). Entries are written atomically and validated on
 * reading: anything malformed, of another format version, or inconsistent (no files, a file without
 * its header, a region past the payload) is a miss, never an empty report.
 */
export class HeaderCache {
  private readonly root: string;

  constructor(root: string, endpoint: string) {
    // Two endpoints (the Hub and a mirror) may serve different content under the same names.
    this.root = join(root, `v${CACHE_FORMAT}`, createHash("sha256").update(endpoint).digest("hex").slice(0, 16));
  }

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    const sha = (await readText(this.refPath(repo, revision), 64))?.trim();
    return sha !== undefined && SHA.test(sha) ? sha : undefined;
  }

  async writeRef(repo: string, revision: string, sha: string): Promise<void> {
    await writeAtomic(this.refPath(repo, revision), sha);
  }

  /** The entry's manifest, checked against the entry's size; a missing or damaged entry is a miss (it is rewritten after the next read). */
  async readSnapshot(repo: string, sha: string, subfolder: string): Promise<CachedSnapshot | undefined> {
    const path = this.snapshotPath(repo, sha, subfolder);
    let opened: { handle: FileHandle; size: number };
    try {
      opened = await openRegularFile(path);
    } catch {
      return undefined;
    }
    const { handle, size } = opened;
    try {
      if (size < TRAILER_BYTES) return undefined;
      const trailer = await readRegion(handle, size - TRAILER_BYTES, TRAILER_BYTES);
      const length = new DataView(trailer.buffer, trailer.byteOffset, TRAILER_BYTES).getBigUint64(0, true);
      if (length > BigInt(Math.min(MAX_MANIFEST_BYTES, size - TRAILER_BYTES))) return undefined;
      const payload = size - TRAILER_BYTES - Number(length);
      const manifest = await readTextRegion(handle, payload, Number(length));
      return validSnapshot(JSON.parse(manifest.text), path, payload);
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /**
   * A snapshot written while it is read: the index first, then each header as it arrives, so a model
   * of 163 shards is never held whole. The entry appears only when `finish` renames it into place;
   * `abandon` removes it.
   */
  snapshotWriter(repo: string, sha: string, subfolder: string, start: { files: string[]; config: string | null; index: string | null }, indexSlice?: number): SnapshotWriter {
    return new SnapshotWriter(this.snapshotPath(repo, sha, subfolder), start, indexSlice);
  }

  private repoDir(repo: string): string {
    return join(this.root, `models--${repo.replace(/\//g, "--")}`);
  }

  private refPath(repo: string, revision: string): string {
    // Every character that could make a path component special ("/", ".", "..") is encoded.
    return join(this.repoDir(repo), "refs", encodeURIComponent(revision).replace(/\./g, "%2E"));
  }

  private snapshotPath(repo: string, sha: string, subfolder: string): string {
    if (!SHA.test(sha)) throw new Error(`not a commit sha: ${sha}`);
    const suffix = subfolder === "" ? "" : `--${encodeURIComponent(subfolder).replace(/\./g, "%2E")}`;
    return join(this.repoDir(repo), "snapshots", `${sha}${suffix}.entry`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

const isRegion = (v: unknown, payload: number, max: number): v is number[] =>
  Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0) && (v[1] as number) <= max && (v[0] as number) + (v[1] as number) <= payload;

/** A weight file's name as a shard index may give it (the entry is a file anyone with the account can edit). */
const isShardName = (file: string): boolean => {
  try {
    checkShardName(file, "cache entry");
    return true;
  } catch {
    return false;
  }
};

/** The manifest as written by this version, its regions inside the `payload` bytes before it; or undefined. */
export function validSnapshot(value: unknown, path: string, payload: number): CachedSnapshot | undefined {
  if (!isObject(value) || own(value, "format") !== CACHE_FORMAT) return undefined;
  const files = own(value, "files");
  const config = own(value, "config");
  const index = own(value, "index");
  const headers = own(value, "headers");
  const blobs = own(value, "blobs");
  if (!Array.isArray(files) || files.length === 0 || !files.every(isString) || !files.every(isShardName)) return undefined;
  if (!(config === null || isString(config)) || !(index === null || (isRegion(index, payload, MAX_INDEX_BYTES) && index.length === 2)) || !isObject(headers)) return undefined;
  const regions = Object.create(null) as CachedSnapshot["headers"];
  for (const file of files) {
    const entry = own(headers, file);
    if (!isRegion(entry, payload, MAX_HEADER_BYTES)) return undefined;
    const [at, length, size] = entry as [number, number, number?];
    // The shortest header is "{}".
    if (length < 2) return undefined;
    regions[file] = { at, length, ...(size === undefined ? {} : { size }) };
  }
  if (blobs !== undefined && !(isObject(blobs) && Object.values(blobs).every((b) => isObject(b) && Object.values(b).every(isString)))) return undefined;
  return {
    path,
    files,
    config,
    index: index === null ? null : { at: index[0]!, length: index[1]! },
    headers: regions,
    ...(blobs === undefined ? {} : { blobs: blobs as CachedSnapshot["blobs"] & object }),
  };
}

/** An entry opened for reading its index and headers (close it after). */
export interface SnapshotFile {
  index(): Promise<string | null>;
  /** A header's JSON bytes, in a buffer of their own. */
  header(file: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens an entry whose manifest readSnapshot checked. An entry changed since (it is replaced only by
 * renaming, so this takes a damaged disk or a hand) reads short, and says so.
 */
export async function openSnapshot(snapshot: CachedSnapshot): Promise<SnapshotFile> {
  const { handle } = await openRegularFile(snapshot.path);
  const damaged = (): HubError => new HubError(`the header cache entry ${snapshot.path} is damaged; rerun with --no-cache`);
  return {
    async index() {
      if (snapshot.index === null) return null;
      const { text, length } = await readTextRegion(handle, snapshot.index.at, snapshot.index.length);
      if (length < snapshot.index.length) throw damaged();
      return text;
    },
    async header(file) {
      const region = snapshot.headers[file]!;
      const bytes = await readRegion(handle, region.at, region.length);
      if (bytes.length < region.length) throw damaged();
      return bytes;
    },
    close: () => handle.close(),
  };
}

async function readText(path: string, maxBytes: number): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await readSmallFile(path, maxBytes));
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/** Characters of the index encoded and written at a time. */
const INDEX_SLICE = 1 << 20;

/**
 * Writes an entry to a temporary file as its pieces come: the index, each header as it arrives, and
 * the manifest, written last, recording where each piece went. Writes are synchronous: a header's
 * bytes go to the file before the call returns (before they move to the parser's thread), so nothing
 * is copied or queued; a write of a ~135 KB header to the page cache takes well under a millisecond,
 * while the thread would otherwise wait for the network. A failed write only stops the writing: a
 * cache that cannot be written costs speed, never an audit.
 */
export class SnapshotWriter {
  private readonly temp: string;
  /** The temporary file, until a write fails or the entry is finished or abandoned. */
  private fd: number | undefined;
  /** Bytes written so far: where the next piece goes. */
  private written = 0;
  private readonly manifest: { format: number; files: string[]; config: string | null; index: [number, number] | null; headers: Record<string, number[]> };

  constructor(
    private readonly path: string,
    start: { files: string[]; config: string | null; index: string | null },
    slice = INDEX_SLICE,
  ) {
    this.temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(this.temp, "w");
    } catch {
      this.fd = undefined;
    }
    this.manifest = { format: CACHE_FORMAT, files: start.files, config: start.config, index: null, headers: Object.create(null) as Record<string, number[]> };
    const text = start.index;
    if (text === null) return;
    const at = this.written;
    // Encoded a slice at a time: a 15 MB index is never held as bytes. A slice never ends between the
    // two halves of a surrogate pair (each half alone would be encoded as U+FFFD); a slice of one
    // character that is a pair's first half takes the second half too.
    for (let from = 0; from < text.length; ) {
      let end = Math.min(text.length, from + slice);
      if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end += end - 1 > from ? -1 : 1;
      this.write(ENCODER.encode(text.slice(from, end)));
      from = end;
    }
    this.manifest.index = [at, this.written - at];
  }

  /** One weight file's header: its JSON bytes as read, and the file's size when known. */
  header(file: string, json: Uint8Array, size: number | undefined): void {
    const at = this.written;
    this.write(json);
    this.manifest.headers[file] = size === undefined ? [at, json.length] : [at, json.length, size];
  }

  /** Writes the manifest (with the quant-state blobs, if any) and moves the entry into place. */
  async finish(blobs: CachedSnapshot["blobs"]): Promise<void> {
    const manifest = ENCODER.encode(JSON.stringify(blobs === undefined ? this.manifest : { ...this.manifest, blobs }));
    const trailer = new Uint8Array(TRAILER_BYTES);
    new DataView(trailer.buffer).setBigUint64(0, BigInt(manifest.length), true);
    this.write(manifest);
    this.write(trailer);
    if (!this.close()) return this.abandon();
    await rename(this.temp, this.path).catch(() => rm(this.temp, { force: true }).catch(() => {}));
  }

  /** Stops and removes the unfinished entry. */
  async abandon(): Promise<void> {
    this.close();
    await rm(this.temp, { force: true }).catch(() => {});
  }

  private write(bytes: Uint8Array): void {
    if (this.fd === undefined) return;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done);
      this.written += bytes.length;
    } catch {
      this.close();
    }
  }

  /** Closes the file; false if it was closed already (after a failed write) or fails to close. */
  private close(): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    this.fd = undefined;
    try {
      closeSync(fd);
      return true;
    } catch {
      return false;
    }
  }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const ENCODER = new TextEncoder();
