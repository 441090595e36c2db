import { shapeOf } from "./shapes.js";
import { DTYPE_BITS, isDtype, tensorBytes, type Dtype } from "./dtypes.js";
import { HeaderError } from "../errors.js";
import type { NamesFingerprint } from "./shard-index.js";

/** One tensor entry of a safetensors header. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /**
   * Where its bytes begin in the data region: `data_offsets[0]`. They end at `dataEnd(tensor)`, as the
   * header's `data_offsets[1]` is checked to say (one number kept per tensor, not an array of two).
   */
  dataStart: number;
  /** numel: the product of the shape (1 for a scalar). */
  elements: number;
}

/** Where a tensor's bytes end in the data region: `data_offsets[1]`. */
export function dataEnd(tensor: TensorInfo): number {
  return tensor.dataStart + tensorBytes(tensor);
}

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string> | null;
  /** Length of the header JSON, without the 8-byte prefix. */
  headerBytes: number;
  /** Length of the data region the offsets describe. */
  dataBytes: number;
  /** Worked out by whoever parsed the header, when it could do so cheaply: its names' fingerprint. */
  names?: NamesFingerprint;
}

/** The 8-byte little-endian length that opens every safetensors file. */
export const LENGTH_PREFIX_BYTES = 8;
/** The reference implementation (safetensors' Rust crate) refuses longer headers. */
export const MAX_HEADER_BYTES = 100_000_000;

const ENTRY_FIELDS = new Set(["dtype", "shape", "data_offsets"]);

/**
 * Reads the header length from a file's first 8 bytes and checks it against the cap and, when the
 * file's size is known, against the end of the file.
 */
export function parseHeaderLength(prefix: Uint8Array, file: string, fileSize?: number): number {
  if (prefix.length < LENGTH_PREFIX_BYTES) {
    throw new HeaderError(file, `truncated: ${prefix.length} bytes, the 8-byte header length is missing`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new HeaderError(file, `header length ${length} bytes is over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const n = Number(length);
  if (n < 2) throw new HeaderError(file, `header length ${n} bytes is too short for a JSON object`);
  if (fileSize !== undefined && LENGTH_PREFIX_BYTES + n > fileSize) {
    throw new HeaderError(file, `header length ${n} bytes runs past the end of the file (${fileSize} bytes)`);
  }
  return n;
}

/**
 * Parses and validates a header's JSON bytes (spec §1). `fileSize`, when known, is the whole file's
 * size: a header-only file (no data region) is valid; a data region shorter than the offsets is not.
 */
export function parseHeader(json: Uint8Array, file: string, fileSize?: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(json);
  } catch {
    throw new HeaderError(file, "header is not valid UTF-8");
  }
  if (!text.startsWith("{")) throw new HeaderError(file, "header does not start with '{'");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // The position, never the text: a header is untrusted and may hold escape sequences.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new HeaderError(file, `header is not valid JSON${at === undefined ? "" : ` (at byte ${at})`}`);
  }
  if (!isPlainObject(parsed)) throw new HeaderError(file, "header is not a JSON object");

  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  // Indexed loops here and below: 100,000 entries, and no iterator objects made for them.
  const names = Object.keys(parsed);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const entry = parsed[name];
    if (name === "__metadata__") {
      metadata = parseMetadata(entry, file);
      continue;
    }
    tensors.push(parseEntry(name, entry, file));
  }
  const dataBytes = checkOffsets(tensors, file);
  if (fileSize !== undefined) {
    const available = fileSize - LENGTH_PREFIX_BYTES - json.length;
    // A header-only file (no data region at all) is a legitimate audit input; a partial one is not.
    if (available > 0 && available < dataBytes) {
      throw new HeaderError(file, `data region is truncated: ${available} of ${dataBytes} bytes present`);
    }
  }
  return { tensors, metadata, headerBytes: json.length, dataBytes };
}

function parseMetadata(value: unknown, file: string): Record<string, string> | null {
  if (value === null) return null;
  if (!isPlainObject(value)) throw new HeaderError(file, "__metadata__ is not an object of strings");
  // No prototype: a key named "__proto__" is data here.
  const out = Object.create(null) as Record<string, string>;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw new HeaderError(file, `__metadata__ value of ${JSON.stringify(key)} is not a string`);
    out[key] = item;
  }
  return out;
}

function parseEntry(name: string, entry: unknown, file: string): TensorInfo {
  if (!isPlainObject(entry)) throw new HeaderError(file, "entry is not an object", name);
  for (const field in entry) {
    if (!ENTRY_FIELDS.has(field)) throw new HeaderError(file, `unexpected field ${JSON.stringify(field)}`, name);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") throw new HeaderError(file, "missing or non-string dtype", name);
  if (!isDtype(dtype)) throw new HeaderError(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
  if (!Array.isArray(shape)) throw new HeaderError(file, "missing shape (an array of dimensions)", name);
  let elements = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim: unknown = shape[i];
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      throw new HeaderError(file, `dimension ${JSON.stringify(dim)} is not a non-negative integer`, name);
    }
    elements *= dim;
    if (!Number.isSafeInteger(elements)) throw new HeaderError(file, `shape [${shape.join(", ")}] overflows`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw new HeaderError(file, "data_offsets must be [begin, end]", name);
  }
  const begin: unknown = offsets[0];
  const end: unknown = offsets[1];
  if (!isOffset(begin) || !isOffset(end)) {
    throw new HeaderError(file, "data_offsets must be non-negative integers", name);
  }
  if (end < begin) throw new HeaderError(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
  const expected = expectedBytes(elements, dtype, file, name);
  if (end - begin !== expected) {
    throw new HeaderError(
      file,
      `data_offsets span ${end - begin} bytes but shape [${shape.join(", ")}] of ${dtype} needs ${expected}`,
      name,
    );
  }
  // JSON's -0 is offset 0 (its sign would otherwise show in sums and comparisons).
  return { name, dtype, shape: shapeOf(shape as number[], 0, shape.length), dataStart: begin + 0, elements };
}

function expectedBytes(elements: number, dtype: Dtype, file: string, name: string): number {
  const bits = DTYPE_BITS[dtype];
  if (bits % 8 === 0) return elements * (bits / 8);
  // Sub-byte dtypes must fill whole bytes, as the reference implementation requires.
  if ((elements * bits) % 8 !== 0) {
    throw new HeaderError(file, `${elements} values of ${dtype} do not fill whole bytes`, name);
  }
  return (elements * bits) / 8;
}

/** Offsets must tile the data region from 0 with no holes or overlaps; returns its length. */
function checkOffsets(tensors: TensorInfo[], file: string): number {
  const ordered = tensors.slice().sort((a, b) => a.dataStart - b.dataStart || dataEnd(a) - dataEnd(b));
  let cursor = 0;
  for (let i = 0; i < ordered.length; i++) {
    const tensor = ordered[i]!;
    const begin = tensor.dataStart;
    const end = dataEnd(tensor);
    if (begin !== cursor) {
      const what = begin > cursor ? `leave a hole at bytes ${cursor}..${begin}` : `overlap the previous tensor (which ends at ${cursor})`;
      throw new HeaderError(file, `data_offsets [${begin}, ${end}] ${what}`, tensor.name);
    }
    cursor = end;
  }
  return cursor;
}

function isOffset(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
