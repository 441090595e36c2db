import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  endpoint: string;
  token?: string;
  /** qaudit's own header cache; undefined with --no-cache. */
  cacheDir?: string;
}

/**
 * huggingface_hub's conventions: endpoint from HF_ENDPOINT; token from --token, then HF_TOKEN, then the
 * token file (HF_TOKEN_PATH, else HF_HOME/token, HF_HOME defaulting to ~/.cache/huggingface).
 */
export async function resolveHubSettings(env: Record<string, string | undefined>, flags: { token?: string; cache?: boolean }): Promise<HubSettings> {
  const endpoint = (env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  const token = flags.token ?? nonEmpty(env.HF_TOKEN) ?? (await readTokenFile(env));
  const cacheDir = flags.cache === false ? undefined : join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homeOf(env), ".cache"), "qaudit");
  return { endpoint, ...(token === undefined ? {} : { token }), ...(cacheDir === undefined ? {} : { cacheDir }) };
}

async function readTokenFile(env: Record<string, string | undefined>): Promise<string | undefined> {
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homeOf(env), ".cache"), "huggingface");
  const path = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome, "token");
  try {
    return nonEmpty((await readFile(path, "utf8")).trim());
  } catch {
    return undefined;
  }
}

function homeOf(env: Record<string, string | undefined>): string {
  return nonEmpty(env.HOME) ?? homedir();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
