import type { Comparison, Report } from "../core/report/index.js";

/** The JSON contract (schemaVersion 2; schema/*.schema.json): the same object the table draws. */
export function renderJson(value: Report | Comparison): string {
  let text = "";
  for (const piece of jsonPieces(value)) text += typeof piece === "string" ? piece : piece.text.slice(piece.start, piece.end);
  return text;
}

/** Elements of a top-level list stringified at once: large enough to stay in native code, small enough to keep memory flat. */
const SLICE = 2000;

/**
 * The same text as renderJson, in pieces to write one after another: a report's tensor list (163,000
 * entries for a large sharded model) is written a slice at a time instead of as one 40 MB string.
 * Each slice is stringified inside a one-key wrapper, so it comes out at the right depth, then
 * encoded to UTF-8 once and its wrapper cut off the bytes (a view, no copy; the wrapper is ASCII, so
 * its length in bytes is its length in characters). The small pieces between stay strings.
 */
export function* jsonChunks(value: Report | Comparison): Generator<string | Uint8Array> {
  const encoder = new TextEncoder();
  for (const piece of jsonPieces(value)) {
    if (typeof piece === "string") yield piece;
    else {
      const bytes = encoder.encode(piece.text);
      yield bytes.subarray(piece.start, bytes.length - (piece.text.length - piece.end));
    }
  }
}

/** A large piece: `text.slice(start, end)`, left uncut so the cut can be made on its bytes. */
interface Wrapped {
  text: string;
  start: number;
  end: number;
}

function* jsonPieces(value: Report | Comparison): Generator<string | Wrapped> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  yield "{\n";
  for (const [i, [key, item]] of entries.entries()) {
    const comma = i < entries.length - 1 ? "," : "";
    const wrapped = (v: unknown): string => JSON.stringify({ [key]: v }, null, 2);
    if (Array.isArray(item) && item.length > SLICE) {
      const open = `  ${JSON.stringify(key)}: [\n`;
      yield open;
      for (let from = 0; from < item.length; from += SLICE) {
        const text = wrapped(item.slice(from, from + SLICE));
        // `{\n  "key": [\n` … `\n  ]\n}`: keep the elements, at their depth.
        yield { text, start: open.length + 2, end: text.length - 6 };
        yield from + SLICE < item.length ? ",\n" : "\n";
      }
      yield `  ]${comma}\n`;
    } else {
      const text = wrapped(item);
      yield `${text.slice(2, text.length - 2)}${comma}\n`;
    }
  }
  yield "}\n";
}
