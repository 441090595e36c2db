import { createHash } from "node:crypto";
import { mkdir, open, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readSmallFile } from "../files.js";

/** Everything an audit of one commit needs, so a second audit needs at most the revision lookup. */
export interface CachedSnapshot {
  /** Weight files in order, relative to the repo root. */
  files: string[];
  /** config.json text, or null when the repo has none. */
  config: string | null;
  /** model.safetensors.index.json text, when sharded. */
  index: string | null;
  /** Each weight file's header JSON text and the file's total size. */
  headers: Record<string, { json: string; size?: number }>;
  /** bitsandbytes quant-state blobs read from data regions, by checkpoint file and tensor. */
  blobs?: Record<string, Record<string, string>>;
}

const SHA = /^[0-9a-f]{40}$/;
/** Bumped whenever the entry's shape changes: entries of another version are misses. */
export const CACHE_FORMAT = 2;
/** A snapshot holds headers: 163 shards of 1,000 tensors take ~15 MB; more than this is not ours. */
const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

/**
 * Header cache under XDG_CACHE_HOME/qaudit/v2/<endpoint hash>: `models--org--name/refs/<revision>`
 * holds a commit sha, `models--org--name/snapshots/<sha>[--subfolder].json` one snapshot. Entries are
 * written atomically and validated on reading: anything malformed, of another format version, or
 * inconsistent (no files, a file without its header) is a miss, never an empty report.
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

  async readSnapshot(repo: string, sha: string, subfolder: string): Promise<CachedSnapshot | undefined> {
    const text = await readText(this.snapshotPath(repo, sha, subfolder), MAX_SNAPSHOT_BYTES);
    if (text === undefined) return undefined;
    try {
      return validSnapshot(JSON.parse(text));
    } catch {
      return undefined; // a damaged entry is a miss; it is rewritten after the next read
    }
  }

  /**
   * A snapshot written while it is read: each header goes to the file as it arrives, so a model of
   * 163 shards is never held as one 40 MB text (one JSON object, `{ format, ...CachedSnapshot }`, the
   * headers in arrival order). The entry appears only when `finish` renames it into place; `abandon`
   * removes it.
   */
  snapshotWriter(repo: string, sha: string, subfolder: string, start: Pick<CachedSnapshot, "files" | "config" | "index">): SnapshotWriter {
    return new SnapshotWriter(this.snapshotPath(repo, sha, subfolder), start);
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
    return join(this.repoDir(repo), "snapshots", `${sha}${suffix}.json`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

/** The entry as written by this version, or undefined. */
export function validSnapshot(value: unknown): CachedSnapshot | undefined {
  if (!isObject(value) || own(value, "format") !== CACHE_FORMAT) return undefined;
  const files = own(value, "files");
  const config = own(value, "config");
  const index = own(value, "index");
  const headers = own(value, "headers");
  const blobs = own(value, "blobs");
  if (!Array.isArray(files) || files.length === 0 || !files.every(isString)) return undefined;
  if (!(config === null || isString(config)) || !(index === null || isString(index)) || !isObject(headers)) return undefined;
  for (const file of files) {
    const entry = own(headers, file);
    if (!isObject(entry) || !isString(own(entry, "json"))) return undefined;
    const size = own(entry, "size");
    if (size !== undefined && !(typeof size === "number" && Number.isSafeInteger(size) && size >= 0)) return undefined;
  }
  if (blobs !== undefined && !(isObject(blobs) && Object.values(blobs).every((b) => isObject(b) && Object.values(b).every(isString)))) return undefined;
  return { files, config, index, headers: headers as CachedSnapshot["headers"], ...(blobs === undefined ? {} : { blobs: blobs as CachedSnapshot["blobs"] & object }) };
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

/**
 * Appends a snapshot's pieces to a temporary file in order (writes are queued, never interleaved).
 * A failed write only stops the writing: a cache that cannot be written costs speed, never an audit.
 */
const STRING_SLICE = 1 << 20;

export class SnapshotWriter {
  private readonly temp: string;
  private queue: Promise<FileHandle | undefined>;
  private first = true;

  constructor(
    private readonly path: string,
    start: Pick<CachedSnapshot, "files" | "config" | "index">,
  ) {
    this.temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    const opening = mkdir(dirname(path), { recursive: true }).then(() => open(this.temp, "w"));
    this.queue = opening.then(
      (file) => file,
      () => undefined,
    );
    this.append(`{"format":${CACHE_FORMAT},"files":${JSON.stringify(start.files)},"config":${JSON.stringify(start.config)},"index":`);
    this.appendString(start.index);
    this.append(`,"headers":{`);
  }

  /**
   * A JSON string written a slice at a time: a 15 MB index is not escaped and encoded in one piece.
   * Escaping is per character, so the slices' escapes joined read back as the whole string (a
   * surrogate pair cut in two is written as two escapes, which JSON.parse joins again).
   */
  private appendString(text: string | null): void {
    if (text === null) return this.append("null");
    this.append('"');
    for (let at = 0; at < text.length; at += STRING_SLICE) {
      // Escaped when its turn to be written comes, so only one slice's text is held at a time.
      this.append(() => {
        const escaped = JSON.stringify(text.slice(at, at + STRING_SLICE));
        return escaped.slice(1, escaped.length - 1);
      });
    }
    this.append('"');
  }

  /** One weight file's header, its JSON bytes as read (and the file's size, when known). */
  header(file: string, json: Uint8Array, size: number | undefined): void {
    this.append(`${this.first ? "" : ","}${JSON.stringify(file)}:{"json":"`);
    this.first = false;
    this.append(escapeJsonBytes(json));
    this.append(size === undefined ? '"}' : `","size":${size}}`);
  }

  /** Closes the entry (with the quant-state blobs, if any) and moves it into place. */
  async finish(blobs: CachedSnapshot["blobs"]): Promise<void> {
    this.append(blobs === undefined ? "}}" : `},"blobs":${JSON.stringify(blobs)}}`);
    const file = await this.queue;
    if (file === undefined) return this.abandon();
    await file.close().catch(() => {});
    await rename(this.temp, this.path).catch(() => rm(this.temp, { force: true }).catch(() => {}));
  }

  /** Stops and removes the unfinished entry. */
  async abandon(): Promise<void> {
    const file = await this.queue;
    await file?.close().catch(() => {});
    await rm(this.temp, { force: true }).catch(() => {});
  }

  private append(piece: string | Uint8Array | (() => string)): void {
    this.queue = this.queue.then(async (file) => {
      if (file === undefined) return undefined;
      try {
        await file.writeFile(typeof piece === "function" ? piece() : piece);
        return file;
      } catch {
        await file.close().catch(() => {});
        return undefined;
      }
    });
  }
}

/**
 * UTF-8 bytes as the inside of a JSON string, in a new buffer (the bytes themselves may move to
 * another thread before it is written). Decoded, escaped and encoded by the runtime: measured faster
 * than escaping byte by byte in JavaScript, for the same memory. Bytes that are not UTF-8 become
 * U+FFFD, as they do when the header itself is decoded.
 */
export function escapeJsonBytes(bytes: Uint8Array): Uint8Array {
  const quoted = JSON.stringify(DECODER.decode(bytes));
  return ENCODER.encode(quoted.slice(1, quoted.length - 1));
}

const DECODER = new TextDecoder();
const ENCODER = new TextEncoder();
