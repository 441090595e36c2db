import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DTYPE_BITS, type Dtype } from "../src/core/format/dtypes.js";
import { dataEnd, parseHeader } from "../src/core/format/header.js";
import { oneCharacterEdits } from "./edits.js";

// The strict header parser against a reference written out here independently: JSON.parse and then
// every check of spec §1, on random headers with odd entries and on random one-character edits.
function reference(bytes: Uint8Array, file: string): unknown {
  const fail = (message: string, tensor?: string): never => {
    throw new Error(`${file}: ${tensor === undefined ? "" : `tensor ${JSON.stringify(tensor)}: `}${message}`);
  };
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail("header does not start with '{'");
  let root: Record<string, unknown> = {};
  try {
    root = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fail("header is not valid JSON");
  }
  let metadata: Record<string, string> | null = null;
  const tensors: Array<{ name: string; dtype: string; shape: number[]; dataOffsets: number[]; elements: number }> = [];
  const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  for (const name of Object.keys(root)) {
    const entry = root[name] as Record<string, unknown>;
    if (name === "__metadata__") {
      if (entry === null) continue;
      if (typeof entry !== "object" || Array.isArray(entry)) fail("__metadata__ is not an object of strings");
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") fail(`__metadata__ value of ${JSON.stringify(k)} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail("entry is not an object", name);
    for (const field in entry) if (!["dtype", "shape", "data_offsets"].includes(field)) fail(`unexpected field ${JSON.stringify(field)}`, name);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== "string") fail("missing or non-string dtype", name);
    if (!Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype as string)) fail(`unknown dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape)) fail("missing shape (an array of dimensions)", name);
    let elements = 1;
    for (const dim of shape as unknown[]) {
      if (!int(dim)) fail(`dimension ${JSON.stringify(dim)} is not a non-negative integer`, name);
      elements *= dim as number;
      if (!Number.isSafeInteger(elements)) fail(`shape [${(shape as number[]).join(", ")}] overflows`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) fail("data_offsets must be [begin, end]", name);
    const [begin, end] = offsets as unknown[];
    if (!int(begin) || !int(end)) fail("data_offsets must be non-negative integers", name);
    if ((end as number) < (begin as number)) fail(`data_offsets [${begin}, ${end}] end before they begin`, name);
    const bits = DTYPE_BITS[dtype as Dtype];
    if ((elements * bits) % 8 !== 0) fail(`${elements} values of ${dtype} do not fill whole bytes`, name);
    if ((end as number) - (begin as number) !== (elements * bits) / 8) fail(`data_offsets span ${(end as number) - (begin as number)} bytes but shape [${(shape as number[]).join(", ")}] of ${dtype} needs ${(elements * bits) / 8}`, name);
    // An offset written -0 is offset 0.
    tensors.push({ name, dtype: dtype as string, shape: shape as number[], dataOffsets: (offsets as number[]).map((o) => o + 0), elements });
  }
  const ordered = [...tensors].sort((a, b) => a.dataOffsets[0]! - b.dataOffsets[0]! || a.dataOffsets[1]! - b.dataOffsets[1]!);
  let cursor = 0;
  for (const t of ordered) {
    if (t.dataOffsets[0] !== cursor) fail(`data_offsets [${t.dataOffsets[0]}, ${t.dataOffsets[1]}] ${t.dataOffsets[0]! > cursor ? `leave a hole at bytes ${cursor}..${t.dataOffsets[0]}` : `overlap the previous tensor (which ends at ${cursor})`}`, t.name);
    cursor = t.dataOffsets[1]!;
  }
  return { tensors, metadata, dataBytes: cursor };
}

function outcome(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    // Where JSON.parse and the scanner place a syntax error may differ; what they say may not.
    return { error: (error as Error).message.replace(/ \(at byte \d+\)$/, "") };
  }
}

const ours = (bytes: Uint8Array) =>
  outcome(() => {
    const h = parseHeader(bytes, "m");
    // Our records keep where a tensor's bytes begin; where they end follows from its dtype and shape.
    return { tensors: h.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, dataOffsets: [t.dataStart, dataEnd(t)], elements: t.elements })), metadata: h.metadata === null ? null : { ...h.metadata }, dataBytes: h.dataBytes };
  });
const theirs = (bytes: Uint8Array) => outcome(() => reference(bytes, "m"));

const DTYPES = Object.keys(DTYPE_BITS);
const names = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z_]{1,6}(\.[a-z0-9_]{1,8}){0,4}$/) },
  { weight: 1, arbitrary: fc.constantFrom("0", "7", "10", "__proto__", "__metadata__", "a\u00e9", "tab\there", "q\"uote", "4294967295", "01") },
);
/** An entry's text: usually well-formed, sometimes odd in the ways the fast path must decline. */
const entryText = (dtype: string, shape: number[], begin: number, end: number) =>
  fc
    .record({
      order: fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]),
      space: fc.constantFrom("", " ", "\n  ", "\t"),
      twist: fc.constantFrom("none", "none", "none", "float", "exponent", "extra", "repeat", "escape", "negative", "missing", "string-dim", "three-offsets", "swap", "leading-zero", "huge", "unsafe", "minus-zero"),
    })
    .map(({ order, space, twist }) => {
      const num = (n: number) => (twist === "float" ? `${n}.0` : twist === "exponent" && n > 0 ? `${n}e0` : twist === "leading-zero" ? `0${n}` : twist === "minus-zero" && n === 0 ? "-0" : `${n}`);
      const fields = [
        `"dtype":${space}${twist === "escape" ? JSON.stringify(dtype).replace(/^"(.)/, '"\\u00$1'.replace("$1", dtype.charCodeAt(0).toString(16)) ) : JSON.stringify(dtype)}`,
        `"shape":${space}[${shape.map((d, i) => (twist === "negative" && i === 0 ? `-${d}` : twist === "string-dim" && i === 0 ? `"${d}"` : num(d))).join(`,${space}`)}]`,
        `"data_offsets":${space}[${twist === "swap" ? `${num(end)},${num(begin)}` : twist === "huge" ? `${begin + 1e15},${end + 1e15}` : twist === "unsafe" ? `9007199254740993,${9007199254740993 + end - begin}` : `${num(begin)},${space}${num(end)}`}${twist === "three-offsets" ? ",0" : ""}]`,
      ];
      const picked = order.map((i) => fields[i]!).filter((_, i) => !(twist === "missing" && i === 0));
      if (twist === "extra") picked.push(`"extra":${space}1`);
      if (twist === "repeat") picked.push(fields[0]!);
      return `{${space}${picked.join(`,${space}`)}${space}}`;
    });

const header = fc
  .array(fc.tuple(names, fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 })), { maxLength: 8 })
  .chain((specs) => {
    let offset = 0;
    const parts = specs.map(([name, dtype, shape]) => {
      const elements = shape.reduce((a, b) => a * b, 1);
      const bits = DTYPE_BITS[dtype as Dtype];
      const size = Math.ceil((elements * bits) / 8);
      const begin = offset;
      offset += size;
      return entryText(dtype, shape, begin, begin + size).map((text) => `${JSON.stringify(name)}: ${text}`);
    });
    const metadata = fc.option(fc.constantFrom('"__metadata__": {"format": "pt"}', '"__metadata__": null', '"__metadata__": {"n": 1}', '"__metadata__": []'), { nil: undefined });
    return fc.tuple(parts.length === 0 ? fc.constant([] as string[]) : fc.tuple(...parts), metadata, fc.shuffledSubarray([0], { minLength: 0 }));
  })
  .map(([parts, metadata]) => `{${[...(metadata === undefined ? [] : [metadata]), ...parts].join(", ")}}`);

describe("safetensors header parser against an independent reference", () => {
  it("agrees with JSON.parse and the checks of spec §1 on random headers, odd entries included", () => {
    fc.assert(
      fc.property(header, (text) => {
        const bytes = new TextEncoder().encode(text);
        expect(ours(bytes)).toEqual(theirs(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees on random one-character edits (syntax errors, broken numbers, cut strings)", () => {
    fc.assert(
      fc.property(oneCharacterEdits(header, "{}[],:\"\\ 0-9.eE+\u0001x"), (broken) => {
        const bytes = new TextEncoder().encode(broken);
        expect(ours(bytes)).toEqual(theirs(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("a repeated name keeps its last value at its first place; integer-like names come first, in numeric order", () => {
    const text = '{"b": {"dtype": "U8", "shape": [1], "data_offsets": [5, 6]}, "10": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "2": {"dtype": "U8", "shape": [3], "data_offsets": [2, 5]}, "b": {"dtype": "U8", "shape": [1], "data_offsets": [6, 7]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [5, 6]}}';
    const h = parseHeader(new TextEncoder().encode(text), "m");
    expect(h.tensors.map((t) => [t.name, [t.dataStart, dataEnd(t)]])).toEqual([["2", [2, 5]], ["10", [0, 2]], ["b", [6, 7]], ["a", [5, 6]]]);
  });

  it("an offset written -0 is offset 0, not negative zero", () => {
    const h = parseHeader(new TextEncoder().encode('{"t": {"dtype": "F16", "shape": [0], "data_offsets": [-0, -0]}}'), "m");
    expect(Object.is(h.tensors[0]!.dataStart, 0)).toBe(true);
    expect(Object.is(dataEnd(h.tensors[0]!), 0)).toBe(true);
  });
});
