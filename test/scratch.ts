import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Global setup: every temporary directory the tests make (homes, caches, fixtures written on the fly,
 * browser profiles) goes under one scratch directory, removed when the run ends. The test files and
 * the processes they spawn find it through TMPDIR, which os.tmpdir() reads.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "qaudit-tests-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}
