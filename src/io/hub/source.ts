import pLimit from "p-limit";
import { assembleCheckpoint, checkShardName, NameRegistry, parseShardIndex, type ShardIndex } from "../../core/format/index.js";
import { parseJsonText, readModelConfig } from "../../core/format/index.js";
import { quantStatesNeeded } from "../../core/storage/index.js";
import { MAX_CONFIG_BYTES, MAX_INDEX_BYTES, MODEL_FILES, planWeightFiles, type WeightPlan } from "../../core/format/index.js";
import { QauditError, UsageError } from "../../core/errors.js";
import { dataEnd } from "../../core/format/index.js";
import type { Checkpoint, CheckpointFile } from "../../core/format/index.js";
import type { SafetensorsHeader } from "../../core/format/index.js";
import { blobsWithinLimits, HeaderBudget, readHeader, type ByteSource } from "../byte-source.js";
import { HeaderCache, openSnapshot, type CachedSnapshot } from "./cache.js";
import { EntryNotFoundError, HubError, type HubErrorContext } from "./errors.js";
import { checkRevision, isRepoId } from "./repo-id.js";
import { parserFor } from "../header-parser.js";
import { releaseLoadGarbage } from "../heap.js";
import { HubHttp, DEFAULT_RETRY, type FileResult, type HttpStats, type RetryPolicy } from "./http.js";
import type { HubSettings } from "./settings.js";

export interface HubOptions {
  revision: string;
  /** Folder inside the repo holding the model (diffusers `unet`, `text_encoder`). */
  subfolder: string;
  offline: boolean;
  /** Header reads in flight at once. */
  concurrency: number;
  settings: HubSettings;
  fetch: typeof fetch;
  retry?: RetryPolicy;
  onRetry?: (message: string) => void;
  /** One line per rate-limit pause shared by every request. */
  onRateLimit?: (message: string) => void;
  onProgress?: (done: number, total: number, bytes: number) => void;
}

/** A speculative read, settled: its result, or the error it met. */
type Early = { result: FileResult | null } | { error: unknown };

export interface HubLoad {
  checkpoint: Checkpoint;
  /** Bytes [start, end) of a file of the checkpoint, at the pinned commit (`qaudit error`'s weight reads). */
  readRange: (file: string, start: number, end: number) => Promise<Uint8Array>;
  sha: string;
  stats: HttpStats;
  fromCache: boolean;
}

/** First range read of a header when nothing suggests its size; most single-file headers are smaller. */
export const DEFAULT_FIRST_READ = 100_000;
const SHA = /^[0-9a-f]{40}$/;

/**
 * Reads a Hub model's headers: one revision lookup pins the commit sha, then config, index and every
 * shard header are read at that sha, each header with one speculative range read sized from the index.
 */
export async function loadHubCheckpoint(repo: string, options: HubOptions): Promise<HubLoad> {
  if (!isRepoId(repo)) throw new UsageError(`${JSON.stringify(repo)} is not a Hub model id (org/name)`);
  checkRevision(options.revision);
  const subfolder = options.subfolder.replace(/^\/+|\/+$/g, "");
  if (subfolder !== "") checkShardName(subfolder, "--subfolder");
  const cache = options.settings.cacheDir === undefined ? undefined : new HeaderCache(options.settings.cacheDir, options.settings.endpoint);
  const ctx: HubErrorContext = { endpoint: options.settings.endpoint, repo, revision: options.revision, hasToken: options.settings.token !== undefined };
  // The first failure cancels everything still in flight: nothing runs on after the audit has failed.
  const cancel = new AbortController();
  const http = new HubHttp(options.settings.endpoint, options.settings.token, options.fetch, options.retry ?? DEFAULT_RETRY, options.onRetry, cancel.signal, options.onRateLimit);
  try {
    return await readFromHub(repo, subfolder, options, http, cache, ctx, () => cancel.abort());
  } catch (error) {
    cancel.abort();
    // Unreachable Hub, but a copy of this revision in the cache: say how to use it.
    if (error instanceof HubError && /cannot reach|timed out|network error/.test(error.message) && cache !== undefined) {
      const sha = SHA.test(options.revision) ? options.revision : await cache.readRef(repo, options.revision);
      if (sha !== undefined && (await cache.readSnapshot(repo, sha, subfolder)) !== undefined) throw new HubError(`${error.message}; a cached copy of ${repo}@${options.revision} exists: rerun with --offline`);
    }
    throw error;
  }
}

/** A file's `resolve` URL at a revision. */
function resolveUrl(endpoint: string, repo: string, file: string, rev: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(rev)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * The range reader handed back with a load. Made outside readFromHub on purpose: a closure made there
 * would share its scope, and keep the index text and every other local alive as long as the reader.
 */
function rangeReader(http: HubHttp, endpoint: string, repo: string, sha: string, ctx: HubErrorContext): HubLoad["readRange"] {
  return (file, start, end) => http.getRange(resolveUrl(endpoint, repo, file, sha), start, end, { ...ctx, file }, { requireRange: true }).then((r) => r.bytes);
}

async function readFromHub(repo: string, subfolder: string, options: HubOptions, http: HubHttp, cache: HeaderCache | undefined, ctx: HubErrorContext, abort: () => void): Promise<HubLoad> {
  const endpoint = options.settings.endpoint;
  const readRange = (sha: string): HubLoad["readRange"] => rangeReader(http, endpoint, repo, sha, ctx);
  const url = (file: string, rev: string): string => resolveUrl(endpoint, repo, file, rev);
  const cacheHit = async (snapshot: CachedSnapshot, sha: string): Promise<HubLoad> => ({ checkpoint: await fromSnapshot(repo, options.revision, subfolder, snapshot), readRange: readRange(sha), sha, stats: http.stats, fromCache: true });
  // What the cache already knows of this revision.
  if (options.offline && cache === undefined) throw new UsageError("--offline needs the cache (drop --no-cache)");
  const knownSha = SHA.test(options.revision) ? options.revision : await cache?.readRef(repo, options.revision);
  const known = knownSha === undefined ? undefined : await cache?.readSnapshot(repo, knownSha, subfolder);
  if (options.offline) {
    if (known === undefined) throw new HubError(`${repo}@${options.revision} is not in the cache; run once without --offline`);
    return cacheHit(known, knownSha!);
  }
  // A commit sha names immutable content: with its snapshot cached, there is nothing to ask.
  if (known !== undefined && knownSha === options.revision) return cacheHit(known, knownSha);

  const prefix = subfolder === "" ? "" : `${subfolder}/`;
  const fileCtx = (file: string): HubErrorContext => ({ ...ctx, file });
  const configPath = `${prefix}${MODEL_FILES.config}`;
  const indexPath = `${prefix}${MODEL_FILES.index}`;
  // A missing optional file is no error: the listing decides what the repo has. A file arrives as
  // text, decoded chunk by chunk (its bytes, 15 MB for a large index, are never held as one buffer).
  const optional = (file: string, max: number, rev: string): Promise<FileResult | null> =>
    http.getFile(url(file, rev), max, fileCtx(file)).catch((error: unknown) => {
      if (error instanceof EntryNotFoundError) return null;
      throw error;
    });

  // One wave: the revision lookup, config.json and the shard index at once. The lookup's sha pins
  // everything after it; a file whose X-Repo-Commit differs (a push in between) is read again at the sha.
  // The file reads leave first: @huggingface/hub (and fetch, which it calls) take ~60 ms to load, during
  // which a large index is already arriving. With a snapshot at hand, only the lookup is needed. Each
  // speculative read settles into a value (its result or its error) at once, so no rejection is ever
  // left unhandled; whether its error matters is decided against the listing.
  const settle = (promise: Promise<FileResult | null>): Promise<Early> => promise.then((result) => ({ result }), (error: unknown) => ({ error }));
  const speculative = known === undefined ? Promise.all([settle(optional(configPath, MAX_CONFIG_BYTES, options.revision)), settle(optional(indexPath, MAX_INDEX_BYTES, options.revision))]) : undefined;
  const { modelInfo } = await import("@huggingface/hub");
  const lookup = modelInfo({
    name: repo,
    revision: options.revision,
    hubUrl: options.settings.endpoint,
    additionalFields: ["sha", "filePaths"],
    fetch: http.fetchFor(ctx),
  }).catch((error: unknown) => {
    // The library parses the answer: a proxy's HTML page or a listing of another shape surfaces here.
    if (error instanceof QauditError) throw error;
    throw new HubError(`the Hub's answer for ${repo}@${options.revision} is not a model description (${error instanceof SyntaxError ? "not JSON" : "unexpected shape"})`);
  });
  const info = await lookup.catch(async (error: unknown) => {
    await speculative;
    throw error;
  });
  const sha = typeof info.sha === "string" ? info.sha : "";
  if (!SHA.test(sha)) throw new HubError(`the Hub's answer for ${repo}@${options.revision} has no commit sha`);
  const siblings = new Set(filePathsOf(info, repo));
  await cache?.writeRef(repo, options.revision, sha).catch(() => {});
  const cached = sha === knownSha ? known : await cache?.readSnapshot(repo, sha, subfolder);
  if (cached !== undefined) return cacheHit(cached, sha);

  const pinned = async (file: string, max: number, early: Early | undefined): Promise<string | null> => {
    // A file the listing does not name is absent, whatever its speculative read answered.
    if (!siblings.has(file)) return null;
    const earlyResult = early !== undefined && "result" in early ? early.result : undefined;
    const result = earlyResult?.commit === sha ? earlyResult : await optional(file, max, sha);
    if (result === null) throw new HubError(`${repo} lists ${file} but the Hub does not serve it at ${sha}`);
    return result.text;
  };
  const [earlyConfig, earlyIndex] = speculative === undefined ? [undefined, undefined] : await speculative;
  // The files directly in the model's folder decide what transformers would load.
  const plan = planWeightFiles([...siblings].filter((f) => f.startsWith(prefix) && !f.slice(prefix.length).includes("/")).map((f) => f.slice(prefix.length)));
  const useIndex = plan.kind === "index";
  const [configText, indexText] = await Promise.all([
    pinned(configPath, MAX_CONFIG_BYTES, earlyConfig),
    useIndex ? pinned(indexPath, MAX_INDEX_BYTES, earlyIndex) : Promise.resolve(null),
  ]);
  const index = indexText === null ? undefined : parseShardIndex(indexText, `${repo}/${indexPath}`);
  const weightFiles = index?.shards ?? (plan.kind === "files" ? plan.files : noWeights(plan, siblings, prefix, repo));

  const limit = pLimit(Math.max(1, options.concurrency));
  let done = 0;
  let failure: { error: unknown } | undefined;
  // The cache entry is written as the headers arrive, not gathered into one text at the end.
  const snapshot = cache?.snapshotWriter(repo, sha, subfolder, { files: weightFiles, config: configText, index: indexText });
  const parsed = new Map<string, SafetensorsHeader>();
  const firstRead = firstReadSizes(index);
  const budget = new HeaderBudget(undefined, (name) => firstRead.get(name.slice(`${repo}/${prefix}`.length)));
  // Many shards: their headers are parsed beside this thread, which keeps the HTTP exchanges moving.
  const parser = parserFor(weightFiles.length);
  // Names fingerprinted and checked for repeats as each header arrives, in the gaps between answers.
  const registry = new NameRegistry(index?.tensors);
  // Every read settles before this returns or throws; after the first failure the rest are cancelled.
  const reads = Promise.allSettled(
    weightFiles.map((file) =>
      limit(async () => {
        if (failure !== undefined) return;
        const path = `${prefix}${file}`;
        const source = httpByteSource(http, url(path, sha), `${repo}/${path}`, fileCtx(path));
        // The header goes to the cache entry before its bytes move to the parser's thread (an entry
        // of a failed audit is removed).
        const header = await readHeader(source, firstRead.get(file) ?? DEFAULT_FIRST_READ, budget, parser, snapshot === undefined ? undefined : (json) => snapshot.header(file, json, source.size));
        registry.register(header);
        parsed.set(file, header);
        done += 1;
        options.onProgress?.(done, weightFiles.length, http.stats.bytes);
      }).catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          abort();
        }
      }),
    ),
  );
  // The index's second pass, while the first answers are on their way; then the garbage of reading
  // it (its text came in pieces) collected in the same wait.
  if (index !== undefined) {
    index.fingerprints();
    releaseLoadGarbage(index.tensors);
  }
  await reads;
  parser.close();
  let checkpoint: Checkpoint;
  let blobs: CachedSnapshot["blobs"];
  try {
    if (failure !== undefined) throw failure.error;
    const files: CheckpointFile[] = weightFiles.map((file) => ({ name: `${prefix}${file}`, header: parsed.get(file)! }));
    const config = configText === null ? null : readModelConfig(parseJson(configText, `${repo}/${configPath}`));
    checkpoint = assembleCheckpoint(sourceName(repo, options.revision, subfolder), files, config, index, `${repo}/${indexPath}`, registry);
    blobs = await readQuantStates(checkpoint, (file, start, end) => http.getRange(url(file, sha), start, end, fileCtx(file)).then((r) => r.bytes), limit);
  } catch (error) {
    // A failed audit leaves no cache entry behind.
    await snapshot?.abandon();
    throw error;
  }
  await snapshot?.finish(blobs); // a read-only cache only costs speed
  return { checkpoint, readRange: readRange(sha), sha, stats: http.stats, fromCache: false };
}

/**
 * Reads the quant-state blobs of 4-bit weights whose shape nothing else gives (one small range read
 * each, usually none) into the checkpoint's files; returns them as text for the cache.
 */
async function readQuantStates(
  checkpoint: Checkpoint,
  read: (file: string, start: number, end: number) => Promise<Uint8Array>,
  limit: ReturnType<typeof pLimit>,
): Promise<Record<string, Record<string, string>> | undefined> {
  const needed = blobsWithinLimits(
    quantStatesNeeded(checkpoint),
    ({ tensor }) => tensor,
    (message) => new HubError(`${checkpoint.source}: ${message}`),
  );
  if (needed.length === 0) return undefined;
  const texts: Record<string, Record<string, string>> = Object.create(null) as Record<string, Record<string, string>>;
  const results = await Promise.allSettled(
    needed.map(({ file, tensor }) =>
      limit(async () => {
        const target = checkpoint.files.find((f) => f.name === file)!;
        const base = 8 + target.header.headerBytes;
        const bytes = await read(file, base + tensor.dataStart, base + dataEnd(tensor));
        (target.blobs ??= Object.create(null) as Record<string, Uint8Array>)[tensor.name] = bytes;
        (texts[file] ??= Object.create(null) as Record<string, string>)[tensor.name] = new TextDecoder().decode(bytes);
      }),
    ),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return texts;
}

/** No safetensors where the model should be: say which formats the folder has, and where safetensors are. */
function noWeights(plan: WeightPlan, siblings: Set<string>, prefix: string, repo: string): never {
  const others = plan.kind === "none" ? plan.otherWeights : [];
  const formats = [...new Set(others.map((f) => f.slice(f.lastIndexOf("."))))];
  const where = prefix === "" ? repo : `${repo}/${prefix.slice(0, -1)}`;
  const has = formats.length > 0 ? ` (it has ${formats.join(", ")} files; only safetensors headers can be read)` : "";
  const folders = prefix === "" ? [...new Set([...siblings].filter((f) => /\/[^/]+\.safetensors$/.test(f)).map((f) => f.slice(0, f.lastIndexOf("/"))))] : [];
  const hint = folders.length > 0 ? `; safetensors in ${folders.join(", ")}: use --subfolder` : "";
  throw new HubError(`${where} has no safetensors weights${has}${hint}`);
}

/**
 * One speculative read per shard, sized from the index: a header entry is the tensor's name plus
 * about 85 bytes of dtype, shape and offsets; 15% and 2 KiB spare make a second read rare.
 */
function firstReadSizes(index: ShardIndex | undefined): Map<string, number> {
  const estimates = new Map<string, number>();
  if (index === undefined) return estimates;
  for (const [shard, { tensors, nameBytes }] of index.shardStats) estimates.set(shard, Math.ceil((256 + nameBytes + 85 * tensors) * 1.15) + 2048);
  return estimates;
}

/** A file of the repo read by range; its reads are buffers of their own (the transport's). */
function httpByteSource(http: HubHttp, url: string, name: string, ctx: HubErrorContext): ByteSource {
  let size: number | undefined;
  return {
    name,
    ownsReads: true,
    get size() {
      return size;
    },
    async read(start, end) {
      const result = await http.getRange(url, start, end, ctx);
      size ??= result.total;
      return result.bytes;
    },
  };
}

/** Cached headers read at once; with many shards they are parsed in the header worker (see parserFor). */
const CACHED_READS = 32;

/** A checkpoint from a cache entry: its index and headers read from the entry's file, as the Hub sent them. */
async function fromSnapshot(repo: string, revision: string, subfolder: string, snapshot: CachedSnapshot): Promise<Checkpoint> {
  const prefix = subfolder === "" ? "" : `${subfolder}/`;
  const entry = await openSnapshot(snapshot);
  const parser = parserFor(snapshot.files.length);
  try {
    const indexName = `${repo}/${prefix}${MODEL_FILES.index}`;
    const indexText = await entry.index();
    const index = indexText === null ? undefined : parseShardIndex(indexText, indexName);
    const limit = pLimit(CACHED_READS);
    const files = await Promise.all(
      snapshot.files.map((file) =>
        limit(async (): Promise<CheckpointFile> => {
          const name = `${prefix}${file}`;
          const header = await parser.parse(await entry.header(file), `${repo}/${name}`, snapshot.headers[file]!.size, true);
          const blobs = snapshot.blobs?.[name];
          return { name, header, ...(blobs === undefined ? {} : { blobs: Object.fromEntries(Object.entries(blobs).map(([tensor, text]) => [tensor, new TextEncoder().encode(text)])) }) };
        }),
      ),
    );
    const config = snapshot.config === null ? null : readModelConfig(parseJson(snapshot.config, `${repo}/${prefix}${MODEL_FILES.config}`));
    return assembleCheckpoint(sourceName(repo, revision, subfolder), files, config, index, indexName);
  } finally {
    parser.close();
    await entry.close();
  }
}

function sourceName(repo: string, revision: string, subfolder: string): string {
  return `${repo}${revision === "main" ? "" : `@${revision}`}${subfolder === "" ? "" : `/${subfolder}`}`;
}

function parseJson(text: string, name: string): unknown {
  return parseJsonText(text, name);
}

/** The listing of a revision lookup, checked: the answer comes from the network, whatever its types say. */
function filePathsOf(info: { filePaths?: unknown }, repo: string): string[] {
  const paths: unknown = info.filePaths;
  if (paths === undefined) return [];
  if (!Array.isArray(paths) || !paths.every((p): p is string => typeof p === "string")) {
    throw new HubError(`the Hub's answer for ${repo} is not a model listing (siblings must be a list of file names)`);
  }
  return paths;
}
