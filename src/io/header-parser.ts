import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InputError } from "../core/errors.js";
import { DTYPE_BITS, parseHeader, shapeOf, type Dtype, type SafetensorsHeader, type TensorInfo } from "../core/format/index.js";

/** Parses header JSON bytes into a header: in this thread, or in a worker beside it. */
export interface HeaderParser {
  /** `movable`: json's buffer is the caller's alone, and may be moved to the parser's thread (it is then empty here). */
  parse(json: Uint8Array, name: string, size?: number, movable?: boolean): Promise<SafetensorsHeader>;
  /** Ends the worker, if there is one; parses still pending then fail. */
  close(): void;
}

/** From this many shards on, a worker parses the headers (starting one costs ~20 ms, out of the way). */
const WORKER_SHARDS = 8;

/** The parser for a model of `shards` header files: a worker for many, this thread for few. */
export function parserFor(shards: number): HeaderParser {
  return shards >= WORKER_SHARDS ? workerParser() : inlineParser;
}

export const inlineParser: HeaderParser = {
  parse: (json, name, size) => Promise.resolve(parseHeader(json, name, size)),
  close: () => {},
};

/**
 * A parser in a worker thread, for models of many shards: JSON.parse of 163 headers (24 MB) is ~150 ms
 * of one core, which the main thread, busy with 326 HTTP exchanges at the same time, need not spend.
 * The worker sends each header back packed (its names, and one array of numbers), which takes
 * this thread ~0.1 µs a tensor to unpack instead of ~1 µs to parse. Without its compiled script (when
 * running from the TypeScript sources, as the tests do) parsing stays in this thread.
 */
export function workerParser(): HeaderParser {
  const script = new URL("./header-worker.js", import.meta.url);
  if (script.protocol !== "file:" || !existsSync(fileURLToPath(script))) return inlineParser;
  // A small young generation: each header's parse is garbage as soon as it is packed, so frequent
  // cheap scavenges keep the worker's heap at ~12 MB instead of ~28 MB (measured on 163 headers).
  const worker = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: 1 } });
  // Never the reason the process stays alive.
  worker.unref();
  const pending = new Map<number, { resolve: (header: SafetensorsHeader) => void; reject: (error: unknown) => void; json: Uint8Array | null; name: string; size?: number }>();
  let next = 0;
  let broken = false;
  worker.on("message", (message: PackedResult) => {
    const job = pending.get(message.id);
    if (job === undefined) return;
    pending.delete(message.id);
    if ("error" in message) job.reject(new InputError(message.error));
    else job.resolve(unpackHeader(message));
  });
  // A worker that dies (out of memory, say) hands its work back to this thread.
  const fallBack = (): void => {
    broken = true;
    for (const [id, job] of pending) {
      pending.delete(id);
      // Bytes moved to the dead worker are gone: that header is not parsed, and says why.
      if (job.json === null) {
        job.reject(new InputError(`${job.name}: the header parser's thread stopped before parsing this header`));
        continue;
      }
      try {
        job.resolve(parseHeader(job.json, job.name, job.size));
      } catch (error) {
        job.reject(error);
      }
    }
  };
  worker.on("error", fallBack);
  worker.on("exit", fallBack);
  return {
    parse(json, name, size, movable) {
      if (broken) return inlineParser.parse(json, name, size);
      return new Promise<SafetensorsHeader>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject, json: movable === true ? null : json, name, ...(size === undefined ? {} : { size }) });
        // Bytes of the caller's own are moved as they are; others are copied into a buffer of their own
        // first (not json.slice(): on a Node Buffer that is a view, and moving its memory away would
        // take it from whatever else shares it, such as the rest of a socket's read).
        const bytes = movable === true ? json : new Uint8Array(json);
        worker.postMessage({ id, json: bytes, name, size } satisfies ParseRequest, [bytes.buffer as ArrayBuffer]);
      });
    },
    close() {
      worker.removeAllListeners("exit");
      void worker.terminate();
      for (const [id, job] of pending) {
        pending.delete(id);
        job.reject(new InputError(`${job.name}: header parsing stopped`));
      }
    },
  };
}

export interface ParseRequest {
  id: number;
  json: Uint8Array;
  name: string;
  size: number | undefined;
}

/**
 * A header as the worker sends it: its names (copied across as plain strings, which hash faster
 * later than slices of one long string would), and per tensor dtype, rank, elements, offsets, dims.
 */
export interface PackedHeader {
  id: number;
  names: string[];
  numbers: Float64Array;
  metadata: Record<string, string> | null;
  headerBytes: number;
  dataBytes: number;
}
export type PackedResult = PackedHeader | { id: number; error: string };

const DTYPES = Object.keys(DTYPE_BITS) as Dtype[];
const DTYPE_INDEX = new Map(DTYPES.map((d, i) => [d, i]));

export function packHeader(id: number, header: SafetensorsHeader): PackedHeader {
  const { tensors } = header;
  const names = new Array<string>(tensors.length);
  let count = 0;
  for (const t of tensors) count += 4 + t.shape.length;
  const numbers = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    names[i] = t.name;
    numbers[at++] = DTYPE_INDEX.get(t.dtype)!;
    numbers[at++] = t.shape.length;
    numbers[at++] = t.elements;
    numbers[at++] = t.dataStart;
    for (const dim of t.shape) numbers[at++] = dim;
  }
  return { id, names, numbers, metadata: header.metadata, headerBytes: header.headerBytes, dataBytes: header.dataBytes };
}

/**
 * A number read from a Float64Array comes out boxed (16 bytes of heap); made an int32 when it is one,
 * it is stored in the record itself, as JSON.parse would have stored it. 163,000 element counts: 2.6 MB
 * less to keep (measured by heap snapshot). Offsets past 2 GiB stay boxed, and then so do all of
 * their field's values.
 */
const smallInteger = (value: number): number => (value < 0x80000000 ? value | 0 : value);

export function unpackHeader(packed: PackedHeader): SafetensorsHeader {
  const { names, numbers } = packed;
  const tensors: TensorInfo[] = new Array<TensorInfo>(names.length);
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const dtype = DTYPES[numbers[at++]!]!;
    const rank = numbers[at++]!;
    const elements = smallInteger(numbers[at++]!);
    const dataStart = smallInteger(numbers[at++]!);
    tensors[i] = { name, dtype, shape: shapeOf(numbers, at, rank), dataStart, elements };
    at += rank;
  }
  // Metadata crossed the thread boundary as a plain object: back to one without a prototype.
  const metadata = packed.metadata === null ? null : Object.assign(Object.create(null) as Record<string, string>, packed.metadata);
  return { tensors, metadata, headerBytes: packed.headerBytes, dataBytes: packed.dataBytes };
}
