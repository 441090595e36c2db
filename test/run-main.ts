// Runs the CLI in-process with captured streams and an explicit environment.
import { main } from "../src/cli/main.js";

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runMain(args: string[], env: Record<string, string | undefined> = {}, columns: number | null = null): Promise<MainResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(["node", "qaudit", ...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
    color: false,
    columns,
    stderrIsTTY: false,
    fetch: globalThis.fetch,
  });
  return { code, stdout, stderr };
}
