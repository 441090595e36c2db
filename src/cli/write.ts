import type { CliIo } from "./io.js";

/**
 * Output pieces written in order, each write awaited: memory stays flat in the output's size. Small
 * pieces are joined into writes of about 1 MiB; a piece that large already is written as it is.
 */
export async function writeChunks(io: CliIo, chunks: Iterable<string>): Promise<void> {
  const write = io.stdoutAsync ?? ((text: string): Promise<void> => Promise.resolve(io.stdout(text)));
  let buffer: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (buffer.length > 0) await write(buffer.length === 1 ? buffer[0]! : buffer.join(""));
    buffer = [];
    size = 0;
  };
  for (const chunk of chunks) {
    if (chunk.length >= LARGE) {
      await flush();
      await write(chunk);
      continue;
    }
    buffer.push(chunk);
    size += chunk.length;
    if (size >= 1 << 20) await flush();
  }
  await flush();
}

/** A piece this long is its own write (a slice of a report's tensor list is about half a megabyte). */
const LARGE = 1 << 16;

/** The command's output, to stdout or to --out's file (written whole, then renamed into place). */
export async function emit(io: CliIo, out: string | null, chunks: Iterable<string>): Promise<void> {
  if (out === null) return writeChunks(io, chunks);
  const { rename, writeFile } = await import("node:fs/promises");
  const temp = `${out}.${process.pid}.tmp`;
  try {
    await writeFile(temp, [...chunks].join(""));
    await rename(temp, out);
  } catch (error) {
    const { UsageError } = await import("../core/errors.js");
    throw new UsageError(`--out ${JSON.stringify(out)}: cannot write (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
