import chalk from "chalk";
import { main } from "./main.js";

// The one place that touches the real process: streams, environment, exit code.
const code = await main(process.argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  // no-color.org: NO_COLOR set and non-empty turns colour off, whatever FORCE_COLOR says.
  color: chalk.level > 0 && (process.env.NO_COLOR ?? "") === "",
  // A terminal: its width (80 when it does not say); piped: no limit, nothing is cut from the data.
  columns: process.stdout.isTTY ? (process.stdout.columns as number | undefined) || 80 : null,
  stderrIsTTY: process.stderr.isTTY === true,
  fetch: globalThis.fetch,
});
process.exitCode = code;
