import type { CliIo } from "./io.js";

/**
 * Output pieces written in order, each write awaited: memory stays flat in the output's size. Small
 * text pieces are joined into writes of about 1 MiB; bytes, and text that long already, are written
 * as they are.
 */
export async function writeChunks(io: CliIo, chunks: Iterable<string | Uint8Array>): Promise<void> {
  const decoder = new TextDecoder();
  const write = io.stdoutAsync ?? ((piece: string | Uint8Array): Promise<void> => Promise.resolve(io.stdout(typeof piece === "string" ? piece : decoder.decode(piece))));
  await inPieces(chunks, write);
}

async function inPieces(chunks: Iterable<string | Uint8Array>, write: (piece: string | Uint8Array) => Promise<void>): Promise<void> {
  let buffer: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (buffer.length > 0) await write(buffer.length === 1 ? buffer[0]! : buffer.join(""));
    buffer = [];
    size = 0;
  };
  for (const chunk of chunks) {
    if (typeof chunk !== "string" || chunk.length >= LARGE) {
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

/** A text piece this long is its own write (a slice of a report's tensor list is about half a megabyte). */
const LARGE = 1 << 16;

/** The command's output, to stdout or to --out's file (written piece by piece to a temporary file, then renamed into place). */
export async function emit(io: CliIo, out: string | null, chunks: Iterable<string | Uint8Array>): Promise<void> {
  if (out === null) return writeChunks(io, chunks);
  const { open, rename, rm } = await import("node:fs/promises");
  const temp = `${out}.${process.pid}.tmp`;
  try {
    const file = await open(temp, "w");
    try {
      await inPieces(chunks, async (piece) => {
        await file.writeFile(piece);
      });
    } finally {
      await file.close();
    }
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    const { UsageError } = await import("../core/errors.js");
    throw new UsageError(`--out ${JSON.stringify(out)}: cannot write (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
