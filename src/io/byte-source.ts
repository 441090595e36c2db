import { HeaderError } from "../core/errors.js";
import { dataEnd, LENGTH_PREFIX_BYTES, parseHeaderLength, tensorBytes } from "../core/format/index.js";
import { QUANT_STATE_MARKER } from "../core/storage/index.js";
import type { SafetensorsHeader, TensorInfo } from "../core/format/index.js";
import { inlineParser, type HeaderParser } from "./header-parser.js";

/** The one interface between IO and the header reader: byte ranges of a file, and its size if known. */
export interface ByteSource {
  readonly name: string;
  /** Total size in bytes, when known before reading. */
  readonly size?: number;
  /** Bytes [start, end) (end exclusive); may return fewer only at the end of the file. */
  read(start: number, end: number): Promise<Uint8Array>;
  /** Each read's bytes sit in a buffer of their own, which the reader may move to another thread. */
  readonly ownsReads?: boolean;
}

/**
 * Reads a safetensors header with one speculative read of `firstRead` bytes, which usually covers
 * the whole header, and a second read only for the rest of a longer header.
 */
export async function readHeader(
  source: ByteSource,
  firstRead = 100_000,
  budget?: HeaderBudget,
  parser: HeaderParser = inlineParser,
  /** Sees the header's JSON bytes before they are parsed (and perhaps moved to the parser's thread). */
  onJson?: (json: Uint8Array) => void,
): Promise<SafetensorsHeader> {
  const end = source.size === undefined ? firstRead : Math.min(firstRead, source.size);
  const head = await source.read(0, Math.max(end, LENGTH_PREFIX_BYTES));
  const length = parseHeaderLength(head.subarray(0, LENGTH_PREFIX_BYTES), source.name, source.size);
  budget?.take(length, source.name);
  const needed = LENGTH_PREFIX_BYTES + length;
  let json: Uint8Array;
  // Bytes this function made, or a source's own: the parser may move them instead of copying.
  let movable = source.ownsReads === true;
  if (head.length >= needed) {
    json = head.subarray(LENGTH_PREFIX_BYTES, needed);
  } else {
    movable = true;
    const rest = await source.read(head.length, needed);
    if (head.length + rest.length < needed) {
      throw new HeaderError(source.name, `truncated: header needs ${needed} bytes, the file has ${head.length + rest.length}`);
    }
    json = new Uint8Array(length);
    json.set(head.subarray(LENGTH_PREFIX_BYTES));
    json.set(rest.subarray(0, needed - head.length), head.length - LENGTH_PREFIX_BYTES);
  }
  onJson?.(json);
  return parser.parse(json, source.name, source.size, movable);
}

/**
 * Header bytes a whole model may take, across its shards: 163 shards of 1,000 tensors need ~15 MB.
 * Each header alone may be up to 100,000,000 bytes (the format's limit); together they must not
 * drive memory without bound.
 */
export const MAX_TOTAL_HEADER_BYTES = 512 * 1024 * 1024;

export class HeaderBudget {
  private used = 0;
  constructor(
    private readonly total = MAX_TOTAL_HEADER_BYTES,
    /** Expected header length per file (from the shard index): far past it, the header is refused. */
    private readonly expected: (name: string) => number | undefined = () => undefined,
  ) {}

  take(length: number, name: string): void {
    const expected = this.expected(name);
    // 16 times the index's estimate and 1 MiB spare: room for long names and metadata, not for a bomb.
    if (expected !== undefined && length > expected * 16 + 1024 * 1024) {
      throw new HeaderError(name, `header of ${length.toLocaleString("en-US")} bytes, far more than the ${expected.toLocaleString("en-US")} its index entries suggest`);
    }
    this.used += length;
    if (this.used > this.total) throw new HeaderError(name, `headers of this model exceed ${this.total.toLocaleString("en-US")} bytes in all`);
  }
}

/** Largest quant-state blob read from a data region: bitsandbytes' JSON is a few hundred bytes. */
export const MAX_BLOB_BYTES = 64 * 1024;
/** All quant-state blobs of a model together. */
export const MAX_TOTAL_BLOB_BYTES = 16 * 1024 * 1024;

/**
 * Reads the contents of bitsandbytes' quant-state blobs when the file has its data region (a
 * header-only file has none): they hold each packed weight's original shape.
 */
export async function readQuantStateBlobs(source: ByteSource, header: SafetensorsHeader): Promise<Record<string, Uint8Array> | undefined> {
  const start = LENGTH_PREFIX_BYTES + header.headerBytes;
  if (source.size === undefined || source.size < start + header.dataBytes) return undefined;
  const wanted = blobsWithinLimits(
    header.tensors.filter((t) => t.name.includes(QUANT_STATE_MARKER)),
    (t) => t,
    (message) => new HeaderError(source.name, message),
  );
  if (wanted.length === 0) return undefined;
  const blobs = Object.create(null) as Record<string, Uint8Array>;
  for (const tensor of wanted) blobs[tensor.name] = await source.read(start + tensor.dataStart, start + dataEnd(tensor));
  return blobs;
}

/**
 * The quant-state blobs worth reading among `candidates`: each of at most MAX_BLOB_BYTES (a larger
 * one is no bitsandbytes JSON), all together at most MAX_TOTAL_BLOB_BYTES, else `refuse` makes the
 * error to throw from the words given.
 */
export function blobsWithinLimits<T>(candidates: T[], tensorOf: (candidate: T) => TensorInfo, refuse: (message: string) => Error): T[] {
  const wanted = candidates.filter((c) => tensorBytes(tensorOf(c)) <= MAX_BLOB_BYTES);
  const total = wanted.reduce((sum, c) => sum + tensorBytes(tensorOf(c)), 0);
  if (total > MAX_TOTAL_BLOB_BYTES) throw refuse(`quant-state blobs of ${total.toLocaleString("en-US")} bytes in all, over the ${MAX_TOTAL_BLOB_BYTES.toLocaleString("en-US")}-byte limit`);
  return wanted;
}
