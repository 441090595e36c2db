import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Checkpoint } from "../core/format/index.js";
import { checkRevision, isRepoId, parseHubUrl } from "../io/hub/repo-id.js";
import { HubError } from "../io/hub/errors.js";
import { InputError, UsageError } from "../core/errors.js";
import { DEFAULT_RETRY } from "../io/hub/http.js";
import { resolveHubSettings } from "../io/hub/settings.js";
import { loadLocalCheckpoint } from "../io/local.js";
import { localWeightReader, type WeightReader } from "../io/weight-reader.js";
import { releaseLoadGarbage } from "../io/heap.js";
import type { CliIo } from "./io.js";
import { parseWholeNumber } from "./options.js";

/** Options of the model source, as commander hands them over. */
export interface RawSourceOptions {
  revision?: string;
  subfolder?: string;
  token?: string;
  offline?: boolean;
  cache?: boolean;
  concurrency?: string;
  timeout?: string;
  quiet?: boolean;
  debug?: boolean;
  verbose?: boolean;
  /** Force the model argument to be read as a local path, or as a Hub id. */
  local?: boolean;
  hub?: boolean;
}

/** A progress bar only when someone watches (stderr is a TTY, no --quiet) and the read takes a moment. */
const PROGRESS_DELAY_MS = 400;

/** Local path when one exists, otherwise a Hub model id. */
export async function loadCheckpoint(given: string, raw: RawSourceOptions, io: CliIo): Promise<Checkpoint> {
  return (await loadModel(given, raw, io)).checkpoint;
}

/** The checkpoint and a reader of its weight bytes (`qaudit error`). */
export async function loadModel(given: string, raw: RawSourceOptions, io: CliIo): Promise<{ checkpoint: Checkpoint; reader: WeightReader }> {
  const loaded = await findAndLoad(given, raw, io);
  releaseLoadGarbage(loaded.checkpoint.files.reduce((n, f) => n + f.header.tensors.length, 0));
  return loaded;
}

async function findAndLoad(given: string, raw: RawSourceOptions, io: CliIo): Promise<{ checkpoint: Checkpoint; reader: WeightReader }> {
  // Checked whatever the input kind, so a bad value fails the same way for a file and a Hub id.
  if (raw.revision !== undefined) checkRevision(raw.revision);
  const concurrency = parseWholeNumber(raw.concurrency ?? "128", "--concurrency", { min: 1, max: 1024 });
  // A day at most: Node's timers take at most 2^31 − 1 ms.
  const timeoutMs = raw.timeout === undefined ? DEFAULT_RETRY.timeoutMs : parseWholeNumber(raw.timeout, "--timeout", { min: 1, max: 86_400 }) * 1000;
  if (raw.local === true && raw.hub === true) throw new UsageError("--local and --hub disagree; use one");
  const url = parseHubUrl(given);
  const where = await locate(given, url !== undefined, raw, io.env);
  if (where.kind === "local") return { checkpoint: await loadLocalCheckpoint(where.path), reader: localWeightReader(where.path) };
  const model = url?.repo ?? given;
  if (!isRepoId(model)) throw new InputError(`${given}: no such file or directory (and not a Hub model id: org/name)`);
  try {
    return await loadFromHub(model, url?.revision, raw, io, concurrency, timeoutMs);
  } catch (error) {
    // A name that could have been a mistyped folder: say both lookups failed.
    if (raw.hub !== true && error instanceof HubError && /repository .* not found|cannot reach/.test(error.message)) {
      const hint = /\((if it is private[^)]*)\)/.exec(error.message)?.[1];
      throw new HubError(`${given}: no such file or directory, and ${/cannot reach/.test(error.message) ? `the Hub cannot be reached to look for a model of that name (${error.message})` : `no model ${model} on the Hub${hint === undefined ? "" : ` (${hint})`}`}`);
    }
    throw error;
  }
}

/**
 * Path or model id, by rules a user can predict: --local and --hub force one; a name starting with
 * ./, ../, / or ~ is a path; a name that exists on disk is a path; anything else is a Hub id.
 */
async function locate(given: string, isUrl: boolean, raw: RawSourceOptions, env: Record<string, string | undefined>): Promise<{ kind: "local"; path: string } | { kind: "hub" }> {
  const path = given === "~" || given.startsWith("~/") ? join(env.HOME ?? homedir(), given.slice(1)) : given;
  if (raw.hub === true || isUrl) return { kind: "hub" };
  if (raw.local === true || /^(\.{1,2}\/|\/|~)/.test(given) || given === "." || given === "..") return { kind: "local", path };
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  return exists ? { kind: "local", path } : { kind: "hub" };
}

async function loadFromHub(model: string, urlRevision: string | undefined, raw: RawSourceOptions, io: CliIo, concurrency: number, timeoutMs: number): Promise<{ checkpoint: Checkpoint; reader: WeightReader }> {
  const settings = await resolveHubSettings(io.env, { ...(raw.token === undefined ? {} : { token: raw.token }), cache: raw.cache !== false });
  if (settings.token !== undefined) io.secret?.(settings.token);
  const started = Date.now();
  // The Hub client and the progress bar load only when a model comes from the Hub.
  const [{ loadHubCheckpoint }, { default: cliProgress }] = await Promise.all([import("../io/hub/source.js"), import("cli-progress")]);
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  // huggingface_hub's switches: HF_HUB_OFFLINE=1 means --offline, HF_HUB_DISABLE_PROGRESS_BARS=1 no bar.
  const truthy = (name: string): boolean => ["1", "true", "yes", "on"].includes((io.env[name] ?? "").toLowerCase());
  const showProgress = io.stderrIsTTY && raw.quiet !== true && !truthy("HF_HUB_DISABLE_PROGRESS_BARS");
  try {
    const load = await loadHubCheckpoint(model, {
      revision: raw.revision !== undefined && raw.revision !== "main" ? raw.revision : (urlRevision ?? "main"),
      subfolder: raw.subfolder ?? "",
      offline: raw.offline === true || truthy("HF_HUB_OFFLINE"),
      concurrency,
      settings,
      fetch: io.fetch,
      retry: { ...DEFAULT_RETRY, timeoutMs },
      onRetry: (message) => {
        if (raw.verbose === true) io.stderr(`qaudit: ${message}\n`);
      },
      onRateLimit: (message) => {
        if (raw.quiet !== true) io.stderr(`qaudit: ${message}\n`);
      },
      onProgress: (done, total, bytes) => {
        if (!showProgress || total < 2) return;
        if (bar === undefined && Date.now() - started < PROGRESS_DELAY_MS) return;
        if (bar === undefined) {
          bar = new cliProgress.SingleBar({ stream: process.stderr, format: "headers {bar} {value}/{total} shards | {kb} kB", hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
          bar.start(total, 0, { kb: 0 });
        }
        bar.update(done, { kb: Math.round(bytes / 1000) });
      },
    });
    if (raw.debug === true) {
      io.stderr(`qaudit: ${model}@${load.sha}: ${load.fromCache ? "headers from cache, " : ""}${load.stats.requests} HTTP requests, ${load.stats.bytes} bytes\n`);
    }
    return { checkpoint: load.checkpoint, reader: { read: load.readRange, close: () => Promise.resolve() } };
  } finally {
    bar?.stop();
  }
}


