import type { CliIo } from "./io.js";

/** Output pieces joined into writes of about 1 MiB, each awaited: memory stays flat in the output's size. */
export async function writeChunks(io: CliIo, chunks: Iterable<string>): Promise<void> {
  const write = io.stdoutAsync ?? ((text: string): Promise<void> => Promise.resolve(io.stdout(text)));
  let buffer: string[] = [];
  let size = 0;
  for (const chunk of chunks) {
    buffer.push(chunk);
    size += chunk.length;
    if (size >= 1 << 20) {
      await write(buffer.join(""));
      buffer = [];
      size = 0;
    }
  }
  if (buffer.length > 0) await write(buffer.join(""));
}
