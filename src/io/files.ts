import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { InputError } from "../core/errors.js";

/**
 * Opens a regular file for reading, and nothing else: a FIFO, a device (`/dev/zero`) or a socket
 * given as a model file, config or token must not block the run or feed it without end. The open
 * itself is non-blocking (a FIFO without a writer would otherwise wait forever); symlinks are
 * followed, so the check applies to what they point at.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InputError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : `cannot open (${code ?? "error"})`}`);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new InputError(`${path}: not a regular file (a FIFO, device or socket cannot be read as a model file)`);
  }
  return { handle, size: info.size };
}

/** A regular file of at most `maxBytes`, opened (closed again when it is larger). */
async function openSmallFile(path: string, maxBytes: number): Promise<{ handle: FileHandle; size: number }> {
  const opened = await openRegularFile(path);
  if (opened.size > maxBytes) {
    await opened.handle.close();
    throw new InputError(`${path}: ${opened.size.toLocaleString("en-US")} bytes, over the ${maxBytes.toLocaleString("en-US")}-byte limit for this kind of file`);
  }
  return opened;
}

/** Bytes a text file is read in, each piece decoded as it comes (see readSmallText). */
const TEXT_PIECE_BYTES = 64 * 1024;

/**
 * A whole small text file (config.json, an index), decoded as UTF-8 a piece at a time through one
 * 64 KiB buffer, refusing more than `maxBytes`. A 15 MB index read into one buffer would leave the C
 * allocator, once that buffer is freed, holding on to tens of megabytes the process no longer uses.
 */
export async function readSmallText(path: string, maxBytes: number): Promise<string> {
  const { handle, size } = await openSmallFile(path, maxBytes);
  try {
    return (await readTextRegion(handle, 0, size)).text;
  } finally {
    await handle.close();
  }
}

/**
 * Bytes [start, start + length) of an open file decoded as UTF-8, 64 KiB at a time (see
 * readSmallText); `length` says how many bytes were there (fewer at the file's end).
 */
export async function readTextRegion(handle: FileHandle, start: number, length: number): Promise<{ text: string; length: number }> {
  const buffer = new Uint8Array(Math.min(TEXT_PIECE_BYTES, Math.max(1, length)));
  const decoder = new TextDecoder();
  let text = "";
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - filled), start + filled);
    if (bytesRead === 0) break;
    text += decoder.decode(buffer.subarray(0, bytesRead), { stream: true });
    filled += bytesRead;
  }
  return { text: text + decoder.decode(), length: filled };
}

/** Bytes [start, start + length) of an open file, in a buffer of their own (fewer at the file's end). */
export async function readRegion(handle: FileHandle, start: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.slice(0, filled);
}

/** A whole small file (a token, a cache entry), refusing more than `maxBytes`. */
export async function readSmallFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const { handle, size } = await openSmallFile(path, maxBytes);
  try {
    return await readRegion(handle, 0, size);
  } finally {
    await handle.close();
  }
}
