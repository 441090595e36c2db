import type { Comparison, Report } from "../core/report/index.js";

/** The JSON contract (schemaVersion 2; schema/*.schema.json): the same object the table draws. */
export function renderJson(value: Report | Comparison): string {
  return [...jsonChunks(value)].join("");
}

/**
 * The same text as `JSON.stringify(value, null, 2)`, in pieces: a report's tensor list (163,000
 * entries for a large sharded model) is written element by element instead of as one 40 MB string.
 */
export function* jsonChunks(value: Report | Comparison): Generator<string> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  yield "{\n";
  for (const [i, [key, item]] of entries.entries()) {
    const comma = i < entries.length - 1 ? "," : "";
    if (Array.isArray(item) && item.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`;
      for (let j = 0; j < item.length; j++) yield `    ${indent(JSON.stringify(item[j], null, 2))}${j < item.length - 1 ? "," : ""}\n`;
      yield `  ]${comma}\n`;
    } else {
      yield `  ${JSON.stringify(key)}: ${indent(JSON.stringify(item, null, 2) as string, "  ")}${comma}\n`;
    }
  }
  yield "}\n";
}

/** Re-indents a nested value's continuation lines to its depth (4 spaces inside the top-level arrays). */
function indent(text: string, by = "    "): string {
  return text.includes("\n") ? text.replace(/\n/g, `\n${by}`) : text;
}
