import type { Comparison, Report } from "../core/report/index.js";

/** The JSON contract (schemaVersion 2; schema/*.schema.json): the same object the table draws. */
export function renderJson(value: Report | Comparison): string {
  let text = "";
  for (const piece of jsonChunks(value)) text += piece;
  return text;
}

/**
 * Elements of a top-level list stringified at once: few enough that each slice's text stays below
 * V8's large-object size (~128 KB; a tensor entry is ~500 characters), so it is young garbage the
 * next scavenge frees, never old-generation garbage that waits for a full collection.
 */
const SLICE = 200;

/**
 * The same text as renderJson, in pieces to write one after another: a report's tensor list (163,000
 * entries for a large sharded model) is written a slice at a time instead of as one 40 MB string.
 * Each slice is stringified inside a one-key wrapper, so it comes out at the right depth, and the
 * wrapper cut off (a slice of a string is a view in V8, not a copy).
 */
export function* jsonChunks(value: Report | Comparison): Generator<string> {
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
        yield text.slice(open.length + 2, text.length - 6);
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
