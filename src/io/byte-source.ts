import { HeaderError } from "../core/errors.js";
import { LENGTH_PREFIX_BYTES, parseHeader, parseHeaderLength } from "../core/format/index.js";
import { QUANT_STATE_MARKER } from "../core/storage/index.js";
import type { SafetensorsHeader } from "../core/format/index.js";

/** The one interface between IO and the header reader: byte ranges of a file, and its size if known. */
export interface ByteSource {
  readonly name: string;
  /** Total size in bytes, when known before reading. */
  readonly size?: number;
  /** Bytes [start, end) (end exclusive); may return fewer only at the end of the file. */
  read(start: number, end: number): Promise<Uint8Array>;
}

/**
 * Reads a safetensors header with one speculative read of `firstRead` bytes, which usually covers
 * the whole header, and a second read only for the rest of a longer header.
 */
export async function readHeader(source: ByteSource, firstRead = 100_000): Promise<SafetensorsHeader> {
  const end = source.size === undefined ? firstRead : Math.min(firstRead, source.size);
  const head = await source.read(0, Math.max(end, LENGTH_PREFIX_BYTES));
  const length = parseHeaderLength(head.subarray(0, LENGTH_PREFIX_BYTES), source.name, source.size);
  const needed = LENGTH_PREFIX_BYTES + length;
  let json: Uint8Array;
  if (head.length >= needed) {
    json = head.subarray(LENGTH_PREFIX_BYTES, needed);
  } else {
    const rest = await source.read(head.length, needed);
    if (head.length + rest.length < needed) {
      throw new HeaderError(source.name, `truncated: header needs ${needed} bytes, the file has ${head.length + rest.length}`);
    }
    json = new Uint8Array(length);
    json.set(head.subarray(LENGTH_PREFIX_BYTES));
    json.set(rest.subarray(0, needed - head.length), head.length - LENGTH_PREFIX_BYTES);
  }
  return parseHeader(json, source.name, source.size);
}

/** Largest tensor content read from a data region: quant-state JSON blobs are a few hundred bytes. */
export const MAX_BLOB_BYTES = 1_000_000;

/**
 * Reads the contents of bitsandbytes' quant-state blobs when the file has its data region (a
 * header-only file has none): they hold each packed weight's original shape.
 */
export async function readQuantStateBlobs(source: ByteSource, header: SafetensorsHeader): Promise<Record<string, Uint8Array> | undefined> {
  const start = LENGTH_PREFIX_BYTES + header.headerBytes;
  if (source.size === undefined || source.size < start + header.dataBytes) return undefined;
  const wanted = header.tensors.filter((t) => t.name.includes(QUANT_STATE_MARKER) && t.dataOffsets[1] - t.dataOffsets[0] <= MAX_BLOB_BYTES);
  if (wanted.length === 0) return undefined;
  const blobs: Record<string, Uint8Array> = {};
  for (const tensor of wanted) blobs[tensor.name] = await source.read(start + tensor.dataOffsets[0], start + tensor.dataOffsets[1]);
  return blobs;
}
