import { stat } from "node:fs/promises";
import cliProgress from "cli-progress";
import { UsageError } from "../core/errors.js";
import type { Checkpoint } from "../core/format/index.js";
import { isRepoId, loadHubCheckpoint, parseHubUrl } from "../io/hub/source.js";
import { DEFAULT_RETRY } from "../io/hub/http.js";
import { resolveHubSettings } from "../io/hub/settings.js";
import { loadLocalCheckpoint } from "../io/local.js";
import type { CliIo } from "./io.js";

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
}

/** A progress bar only when someone watches (stderr is a TTY, no --quiet) and the read takes a moment. */
const PROGRESS_DELAY_MS = 400;

/** Local path when one exists, otherwise a Hub model id. */
export async function loadCheckpoint(given: string, raw: RawSourceOptions, io: CliIo): Promise<Checkpoint> {
  const url = parseHubUrl(given);
  const model = url?.repo ?? given;
  const local =
    url === undefined &&
    (await stat(model).then(
      () => true,
      () => false,
    ));
  if (local || !isRepoId(model)) return loadLocalCheckpoint(model);

  const settings = await resolveHubSettings(io.env, { ...(raw.token === undefined ? {} : { token: raw.token }), cache: raw.cache !== false });
  const concurrency = positiveInteger(raw.concurrency ?? "32", "--concurrency");
  const timeoutMs = raw.timeout === undefined ? DEFAULT_RETRY.timeoutMs : positiveInteger(raw.timeout, "--timeout") * 1000;
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
    return load.checkpoint;
  } finally {
    bar?.stop();
  }
}

function positiveInteger(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} takes a whole number of at least 1, not ${JSON.stringify(value)}`);
  return Number(value);
}
