import { stat } from "node:fs/promises";
import cliProgress from "cli-progress";
import type { Checkpoint } from "../core/format/index.js";
import { checkRevision, isRepoId, loadHubCheckpoint, parseHubUrl } from "../io/hub/source.js";
import { DEFAULT_RETRY } from "../io/hub/http.js";
import { resolveHubSettings } from "../io/hub/settings.js";
import { loadLocalCheckpoint } from "../io/local.js";
import { localWeightReader, type WeightReader } from "../io/weight-reader.js";
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
}

/** A progress bar only when someone watches (stderr is a TTY, no --quiet) and the read takes a moment. */
const PROGRESS_DELAY_MS = 400;

/** Local path when one exists, otherwise a Hub model id. */
export async function loadCheckpoint(given: string, raw: RawSourceOptions, io: CliIo): Promise<Checkpoint> {
  return (await loadModel(given, raw, io)).checkpoint;
}

/** The checkpoint and a reader of its weight bytes (`qaudit error`). */
export async function loadModel(given: string, raw: RawSourceOptions, io: CliIo): Promise<{ checkpoint: Checkpoint; reader: WeightReader }> {
  // Checked whatever the input kind, so a bad value fails the same way for a file and a Hub id.
  if (raw.revision !== undefined) checkRevision(raw.revision);
  const concurrency = parseWholeNumber(raw.concurrency ?? "32", "--concurrency", { min: 1, max: 1024 });
  // A day at most: Node's timers take at most 2^31 − 1 ms.
  const timeoutMs = raw.timeout === undefined ? DEFAULT_RETRY.timeoutMs : parseWholeNumber(raw.timeout, "--timeout", { min: 1, max: 86_400 }) * 1000;
  const url = parseHubUrl(given);
  const model = url?.repo ?? given;
  const local =
    url === undefined &&
    (await stat(model).then(
      () => true,
      () => false,
    ));
  if (local || !isRepoId(model)) return { checkpoint: await loadLocalCheckpoint(model), reader: localWeightReader(model) };

  const settings = await resolveHubSettings(io.env, { ...(raw.token === undefined ? {} : { token: raw.token }), cache: raw.cache !== false });
  if (settings.token !== undefined) io.secret?.(settings.token);
  const started = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  // huggingface_hub's switches: HF_HUB_OFFLINE=1 means --offline, HF_HUB_DISABLE_PROGRESS_BARS=1 no bar.
  const truthy = (name: string): boolean => ["1", "true", "yes", "on"].includes((io.env[name] ?? "").toLowerCase());
  const showProgress = io.stderrIsTTY && raw.quiet !== true && !truthy("HF_HUB_DISABLE_PROGRESS_BARS");
  try {
    const load = await loadHubCheckpoint(model, {
      revision: raw.revision !== undefined && raw.revision !== "main" ? raw.revision : (url?.revision ?? "main"),
      subfolder: raw.subfolder ?? "",
      offline: raw.offline === true || truthy("HF_HUB_OFFLINE"),
      concurrency,
      settings,
      fetch: io.fetch,
      retry: { ...DEFAULT_RETRY, timeoutMs },
      onRetry: (message) => {
        if (raw.verbose === true) io.stderr(`qaudit: ${message}\n`);
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


