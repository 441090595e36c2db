import { UsageError } from "../../core/errors.js";

// What names the Hub: repo ids, revisions, Hub URLs. Small and dependency-free, so the CLI can tell
// a path from a model id without loading the Hub client.

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

/** A branch, tag, sha or refs/pr/N: one line of printable text, and never a path step ("." or ".."). */
export function checkRevision(revision: string): void {
  if (revision === "" || revision === "." || revision === ".." || revision.length > 256 || !/^[\x21-\x7e]+$/.test(revision) || revision.split("/").some((p) => p === "." || p === ".." || p === "")) {
    throw new UsageError(`--revision ${JSON.stringify(revision)} is not a branch, tag, commit sha or refs/pr/N`);
  }
}

/** `https://huggingface.co/org/name` (or with `/tree/<rev>`) as the id and revision it names. */
export function parseHubUrl(value: string): { repo: string; revision?: string } | undefined {
  const match = /^https?:\/\/(?:www\.)?(?:huggingface\.co|hf\.co)\/([^/]+\/[^/]+?)(?:\/tree\/([^/]+))?\/?$/.exec(value);
  if (match === null) return undefined;
  return { repo: match[1]!, ...(match[2] === undefined ? {} : { revision: decodeURIComponent(match[2]) }) };
}

export function isRepoId(value: string): boolean {
  return REPO_ID.test(value) && !value.includes("..") && !/\.(safetensors|json)$/.test(value);
}

