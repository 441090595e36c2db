import type { CliIo } from "./io.js";

/**
 * Output pieces written in order, each write awaited: memory stays flat in the output's size. The
 * text is encoded into one buffer of OUTPUT_BUFFER bytes, reused for every write (each write is
 * finished before the buffer is filled again): no string is joined and no byte array is made per
 * piece, so a 42 MB report leaves nothing behind for the collector but its pieces' text.
 */
export async function writeChunks(io: CliIo, chunks: Iterable<string>): Promise<void> {
  const decoder = new TextDecoder();
  const write = io.stdoutAsync ?? ((bytes: Uint8Array): Promise<void> => Promise.resolve(io.stdout(decoder.decode(bytes))));
  await inPieces(chunks, write);
}

const OUTPUT_BUFFER = 1 << 20;

async function inPieces(chunks: Iterable<string>, write: (bytes: Uint8Array) => Promise<void>): Promise<void> {
  const encoder = new TextEncoder();
  const buffer = new Uint8Array(OUTPUT_BUFFER);
  let used = 0;
  for (const chunk of chunks) {
    let rest = chunk;
    for (;;) {
      // encodeInto never splits a character: what does not fit waits for the next round.
      const { read, written } = encoder.encodeInto(rest, buffer.subarray(used));
      used += written;
      if (read === rest.length) break;
      rest = rest.slice(read);
      await write(buffer.subarray(0, used));
      used = 0;
    }
  }
  if (used > 0) await write(buffer.subarray(0, used));
}

/** The command's output, to stdout or to --out's file (written piece by piece to a temporary file, then renamed into place). */
export async function emit(io: CliIo, out: string | null, chunks: Iterable<string>): Promise<void> {
  if (out === null) return writeChunks(io, chunks);
  const { open, rename, rm } = await import("node:fs/promises");
  const temp = `${out}.${process.pid}.tmp`;
  try {
    const file = await open(temp, "w");
    try {
      await inPieces(chunks, async (bytes) => {
        await file.writeFile(bytes);
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
