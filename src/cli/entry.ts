import chalk from "chalk";
import { main } from "./main.js";

// The one place that touches the real process: streams, environment, exit code.

// A reader that goes away (`qaudit … | head`) closes the pipe: stop writing and finish quietly, as
// git and jq do, instead of dying on an unhandled 'error' event.
let stdoutClosed = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") stdoutClosed = true;
  else throw error;
});
process.stderr.on("error", () => {});

const code = await main(process.argv, {
  stdout: (text) => void (stdoutClosed || process.stdout.write(text)),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  // no-color.org: NO_COLOR set and non-empty turns colour off, whatever FORCE_COLOR says.
  color: chalk.level > 0 && (process.env.NO_COLOR ?? "") === "",
  // A terminal: its width (80 when it does not say); piped: no limit, nothing is cut from the data.
  columns: process.stdout.isTTY ? (process.stdout.columns as number | undefined) || 80 : null,
  stderrIsTTY: process.stderr.isTTY === true,
  fetch: globalThis.fetch,
});
process.exitCode = code;
