import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

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

/**
 * Header cache under XDG_CACHE_HOME/qaudit: `models--org--name/refs/<revision>` holds a commit sha,
 * `models--org--name/snapshots/<sha>[--subfolder].json` one CachedSnapshot. Entries are written atomically.
 */
export class HeaderCache {
  constructor(private readonly root: string) {}

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    const sha = (await readText(this.refPath(repo, revision)))?.trim();
    return sha !== undefined && SHA.test(sha) ? sha : undefined;
  }

  async writeRef(repo: string, revision: string, sha: string): Promise<void> {
    await writeAtomic(this.refPath(repo, revision), sha);
  }

  async readSnapshot(repo: string, sha: string, subfolder: string): Promise<CachedSnapshot | undefined> {
    const text = await readText(this.snapshotPath(repo, sha, subfolder));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as CachedSnapshot;
    } catch {
      return undefined; // a damaged entry is a miss; it is rewritten after the next read
    }
  }

  async writeSnapshot(repo: string, sha: string, subfolder: string, snapshot: CachedSnapshot): Promise<void> {
    await writeAtomic(this.snapshotPath(repo, sha, subfolder), JSON.stringify(snapshot));
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

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
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
