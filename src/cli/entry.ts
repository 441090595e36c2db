import chalk from "chalk";
import { main } from "./main.js";

// The one place that touches the real process: streams, environment, exit code.
const code = await main(process.argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  color: chalk.level > 0,
  columns: Math.min(process.stdout.columns ?? 100, 120),
  stderrIsTTY: process.stderr.isTTY === true,
  fetch: globalThis.fetch,
});
process.exitCode = code;
