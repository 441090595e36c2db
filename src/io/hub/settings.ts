import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../core/errors.js";
import { readSmallFile } from "../files.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  endpoint: string;
  token?: string;
  /** qaudit's own header cache; undefined with --no-cache. */
  cacheDir?: string;
}

/** A token file is a few dozen bytes; a larger one (or a FIFO, a device) is not read. */
const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * huggingface_hub's conventions: endpoint from HF_ENDPOINT; token from --token, then HF_TOKEN, then the
 * token file (HF_TOKEN_PATH, else HF_HOME/token, HF_HOME defaulting to ~/.cache/huggingface).
 * Both are checked once here: a bad endpoint or token is a usage error that never echoes the secret.
 */
export async function resolveHubSettings(env: Record<string, string | undefined>, flags: { token?: string; cache?: boolean }): Promise<HubSettings> {
  const endpoint = checkEndpoint((env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""));
  const [token, from] = flags.token !== undefined ? [flags.token, "--token"] : nonEmpty(env.HF_TOKEN) !== undefined ? [env.HF_TOKEN, "HF_TOKEN"] : [await readTokenFile(env), "the token file"];
  if (token !== undefined) checkToken(token, from);
  const cacheDir = flags.cache === false ? undefined : join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homeOf(env), ".cache"), "qaudit");
  return { endpoint, ...(token === undefined ? {} : { token }), ...(cacheDir === undefined ? {} : { cacheDir }) };
}

/** An http(s) URL with no credentials in it (they would be sent, and printed, with every request). */
function checkEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError("HF_ENDPOINT is not a URL (expected e.g. https://huggingface.co)");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`HF_ENDPOINT must be an http or https URL, not ${url.protocol}`);
  if (url.username !== "" || url.password !== "") throw new UsageError("HF_ENDPOINT must not carry credentials (user:password@); pass a token with --token or HF_TOKEN");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** A token is printable ASCII without spaces: a newline would split the Authorization header (and leak in messages). */
function checkToken(token: string, from: string): void {
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new UsageError(`the Hub token from ${from} is malformed (it must be one line of printable characters, without spaces); it is not shown`);
  }
}

async function readTokenFile(env: Record<string, string | undefined>): Promise<string | undefined> {
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homeOf(env), ".cache"), "huggingface");
  const path = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome, "token");
  let bytes: Uint8Array;
  try {
    bytes = await readSmallFile(path, MAX_TOKEN_FILE_BYTES);
  } catch {
    return undefined; // no token file (or not a readable regular file): no token
  }
  // The file's final newline is not part of the token (huggingface_hub strips it too).
  return nonEmpty(new TextDecoder().decode(bytes).replace(/\r?\n$/, ""));
}

function homeOf(env: Record<string, string | undefined>): string {
  return nonEmpty(env.HOME) ?? homedir();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
