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

// Ctrl-C (or a SIGTERM) mid-read: show the cursor the progress bar hid, clear its line, say so in
// one line, and exit 130 (143); requests in flight end with the process, and the cache is written
// only by atomic renames, so it is left as it was.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.on(signal, () => {
    if (process.stderr.isTTY) process.stderr.write("\r\u001b[K\u001b[?25h");
    process.stderr.write(`qaudit: interrupted (${signal})\n`);
    process.exit(code);
  });
}

const code = await main(process.argv, {
  stdout: (text) => void (stdoutClosed || process.stdout.write(text)),
  // Resolves when the write has finished (its callback), not merely when it was queued: the caller
  // fills the same buffer again next. A closed pipe takes nothing and holds nothing.
  stdoutAsync: (bytes) => new Promise<void>((resolve) => (stdoutClosed ? resolve() : void process.stdout.write(bytes, () => resolve()))),
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
