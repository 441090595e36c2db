import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/core/errors.js";
import { oneCharacterEdits } from "./edits.js";
import { assembleCheckpoint, NameRegistry, NamesFingerprint, parseShardIndex, type CheckpointFile } from "../src/core/format/index.js";

// The index is scanned from its text, not built with JSON.parse (which costs 40 MB of heap for a
// 163,000-tensor index). Reference: what JSON.parse makes of the same text, read the obvious way.
function reference(text: string): { shards: string[]; stats: Record<string, { tensors: number; nameBytes: number }>; totalSize?: number; pairs: Array<[string, string]> } {
  const root = JSON.parse(text) as { weight_map: Record<string, string>; metadata?: { total_size?: unknown } };
  const stats: Record<string, { tensors: number; nameBytes: number }> = {};
  const pairs: Array<[string, string]> = [];
  for (const [tensor, shard] of Object.entries(root.weight_map)) {
    stats[shard] ??= { tensors: 0, nameBytes: 0 };
    stats[shard].tensors += 1;
    stats[shard].nameBytes += tensor.length;
    pairs.push([tensor, shard]);
  }
  const total = root.metadata?.total_size;
  return { shards: Object.keys(stats), stats, ...(typeof total === "number" ? { totalSize: total } : {}), pairs };
}

function scanned(text: string) {
  const index = parseShardIndex(text, "index.json");
  const pairs: Array<[string, string]> = [];
  index.forEachTensor((tensor, shard) => pairs.push([tensor, shard]));
  const stats = Object.fromEntries([...index.shardStats].map(([shard, { tensors, nameBytes }]) => [shard, { tensors, nameBytes }]));
  return { shards: index.shards, stats, ...(index.totalSize === undefined ? {} : { totalSize: index.totalSize }), pairs };
}

const shardName = fc.stringMatching(/^[a-z0-9_-]{1,12}(\/[a-z0-9_-]{1,8})?\.safetensors$/);
// Tensor names with any characters, escapes and non-ASCII included (not integer-like: JSON.parse orders those first).
const tensorName = fc.string({ minLength: 1, maxLength: 30, unit: "binary" }).filter((s) => !/^\d+$/.test(s));
const validIndex = fc.record({
  map: fc.dictionary(tensorName, shardName, { minKeys: 1, maxKeys: 40 }),
  metadata: fc.option(fc.oneof(fc.jsonValue(), fc.record({ total_size: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string()) })), { nil: undefined }),
  extra: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "weight_map" && k !== "metadata" && k !== "__proto__"), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  indent: fc.constantFrom(undefined, 0, 1, 2, "\t", " \r\n "),
});
const textOf = ({ map, metadata, extra, indent }: { map: Record<string, string>; metadata: unknown; extra: Record<string, unknown>; indent: string | number | undefined }) =>
  JSON.stringify({ ...extra, ...(metadata === undefined ? {} : { metadata }), weight_map: map }, null, typeof indent === "string" && indent.trim() !== "" ? 2 : indent);

describe("shard index scanned from its text", () => {
  it("agrees with JSON.parse on every valid index: shards in order, counts, name bytes, total_size, pairs", () => {
    fc.assert(
      fc.property(validIndex, (index) => {
        const text = textOf(index);
        expect(scanned(text)).toEqual(reference(text));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses exactly the texts JSON.parse refuses (random one-character edits of valid indexes)", () => {
    fc.assert(
      fc.property(oneCharacterEdits(validIndex.map(textOf), "{}[],:\"\\ \n0-1e.+tfnu\u0001x"), (broken) => {
        let parsed = true;
        try {
          JSON.parse(broken);
        } catch {
          parsed = false;
        }
        let error: unknown;
        try {
          parseShardIndex(broken, "index.json");
        } catch (e) {
          error = e;
        }
        if (!parsed) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as Error).message).toMatch(/^index\.json is not valid JSON \(at line \d+, column \d+\)$/);
        } else if (error !== undefined) {
          // Valid JSON that is no longer an index: a shape error, never a syntax error.
          expect((error as Error).message).not.toMatch(/not valid JSON/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("a repeated top-level key: the last weight_map and metadata win, as in JSON.parse", () => {
    const text = '{"weight_map": {"a": "one.safetensors"}, "metadata": {"total_size": 5}, "weight_map": {"b": "two.safetensors", "c": "two.safetensors"}, "metadata": {}}';
    expect(scanned(text)).toEqual({ shards: ["two.safetensors"], stats: { "two.safetensors": { tensors: 2, nameBytes: 2 } }, pairs: [["b", "two.safetensors"], ["c", "two.safetensors"]] });
  });

  it("escaped names are decoded; line and column of a syntax error are counted from 1", () => {
    expect(scanned('{"weight_map": {"a\\u002eweight": "m\\u002esafetensors"}}').pairs).toEqual([["a.weight", "m.safetensors"]]);
    expect(() => parseShardIndex('{\n  "weight_map": {\n    "a": "m.safetensors",\n  }\n}', "i.json")).toThrowError("i.json is not valid JSON (at line 4, column 3)");
  });

  it("shape errors: no weight_map object, a shard that is not a string or escapes the folder, an empty map", () => {
    expect(() => parseShardIndex("[]", "i")).toThrowError('i: not a shard index (no "weight_map" object)');
    expect(() => parseShardIndex('{"weight_map": []}', "i")).toThrowError('i: not a shard index (no "weight_map" object)');
    expect(() => parseShardIndex('{"weight_map": {"a": 3}}', "i")).toThrowError('i: shard of tensor "a" is not a file name');
    expect(() => parseShardIndex('{"weight_map": {"a": "../x.safetensors"}}', "i")).toThrowError('i: shard name "../x.safetensors" escapes the model folder');
    expect(() => parseShardIndex('{"weight_map": {}}', "i")).toThrowError('i: "weight_map" names no shard');
    // JSON.parse's order: a syntax error anywhere comes before any shape error.
    expect(() => parseShardIndex('{"weight_map": {"a": 3}, }', "i")).toThrowError(/not valid JSON/);
  });

  it("the registry: each header's fingerprint, and a name met twice across headers", () => {
    const header = (names: string[]) => ({ tensors: names.map((name) => ({ name, dtype: "F16" as const, shape: [1], dataStart: 0, elements: 1 })), metadata: null, headerBytes: 2, dataBytes: 2 });
    const registry = new NameRegistry();
    const a = header(["x.weight", "y.weight"]);
    registry.register(a);
    const expected = new NamesFingerprint();
    expected.add("y.weight");
    expected.add("x.weight");
    expect(a.names?.equals(expected)).toBe(true);
    expect(registry.repeats).toBe(false);
    registry.register(header(["z.weight", "x.weight"]));
    expect(registry.repeats).toBe(true);
    // Held by two shards, registered: refused all the same, naming both files.
    const files = [a, header(["x.weight"])].map((h, i) => ({ name: `s${i}.safetensors`, header: h }));
    const again = new NameRegistry();
    for (const f of files) again.register(f.header);
    expect(() => assembleCheckpoint("x", files, null, undefined, "i", again)).toThrowError('s1.safetensors: tensor "x.weight" is also in s0.safetensors');
  });

  it("the registry notices a repeat exactly when some name is met twice, however many names and however its table grows", () => {
    const header = (names: string[]) => ({ tensors: names.map((name) => ({ name, dtype: "F16" as const, shape: [1], dataStart: 0, elements: 1 })), metadata: null, headerBytes: 2, dataBytes: 2 });
    // Short names of few letters: many share a hash slot, and anagrams share a sum of letters.
    const name = fc.stringMatching(/^[ab.]{0,6}$/);
    fc.assert(
      fc.property(fc.array(fc.array(name, { maxLength: 40 }), { maxLength: 6 }), fc.nat(3000), (headers, expected) => {
        const registry = new NameRegistry(expected);
        for (const names of headers) registry.register(header(names));
        const all = headers.flat();
        expect(registry.repeats).toBe(new Set(all).size !== all.length);
        expect(registry.headers).toBe(headers.length);
      }),
      { numRuns: 500 },
    );
    // 62,464 distinct names of a large model's pattern, past the table's first size (1,024): no repeat, until one.
    const names: string[] = [];
    for (let layer = 0; layer < 61; layer++) for (let expert = 0; expert < 256; expert++) for (const proj of ["gate_proj", "up_proj", "down_proj", "gate_proj.weight_scale_inv"]) names.push(`model.layers.${layer}.mlp.experts.${expert}.${proj}`);
    const registry = new NameRegistry();
    for (let at = 0; at < names.length; at += 1000) registry.register(header(names.slice(at, at + 1000)));
    expect(names.length).toBe(62_464);
    expect(registry.repeats).toBe(false);
    registry.register(header(["model.layers.60.mlp.experts.255.up_proj"]));
    expect(registry.repeats).toBe(true);
    // An index claiming a billion tensors sizes nothing by it: the table is a million names' (16 MB).
    const before = process.memoryUsage().arrayBuffers;
    const claimed = new NameRegistry(1e9);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThanOrEqual(16 * 1024 * 1024 + 1024);
    claimed.register(header(["a", "b", "a"]));
    expect(claimed.repeats).toBe(true);
  });

  it("the index counts its entries", () => {
    expect(parseShardIndex('{"weight_map": {"a": "m.safetensors", "b": "n.safetensors", "c": "m.safetensors"}}', "i").tensors).toBe(3);
  });

  it("metadata nested 100,000 deep is skipped without exhausting the stack", () => {
    const text = `{"metadata": ${"[".repeat(100_000)}${"]".repeat(100_000)}, "weight_map": {"a": "m.safetensors"}}`;
    expect(parseShardIndex(text, "i").shards).toEqual(["m.safetensors"]);
  });

  it("headers against the index: a listed tensor no shard holds, and a tensor listed twice, are refused", () => {
    const file = (name: string, tensors: string[]): CheckpointFile => ({ name, header: { tensors: tensors.map((t) => ({ name: t, dtype: "F16", shape: [1], dataStart: 0, elements: 1 })), metadata: null, headerBytes: 2, dataBytes: 2 } });
    const files = [file("m.safetensors", ["a", "b"])];
    expect(() => assembleCheckpoint("x", files, null, parseShardIndex('{"weight_map": {"a": "m.safetensors", "c": "m.safetensors"}}', "i"), "i")).toThrowError('i: tensor "c" is listed in m.safetensors but no shard holds it');
    expect(() => assembleCheckpoint("x", files, null, parseShardIndex('{"weight_map": {"a": "m.safetensors", "a": "m.safetensors"}}', "i"), "i")).toThrowError('i: tensor "a" is listed twice');
    // Header tensors the index leaves out are still counted, as transformers loads whole shard files.
    expect(assembleCheckpoint("x", files, null, parseShardIndex('{"weight_map": {"a": "m.safetensors"}}', "i"), "i").files).toHaveLength(1);
  });

  it("headers against the index, at random: refused exactly when a listed tensor is held nowhere or listed twice", () => {
    const name = fc.constantFrom("a", "b", "c", "d", "e", "ab", "ba");
    const shards = ["one.safetensors", "two.safetensors"];
    const file = (shard: string, tensors: string[]): CheckpointFile => ({ name: shard, header: { tensors: tensors.map((t) => ({ name: t, dtype: "F16", shape: [1], dataStart: 0, elements: 1 })), metadata: null, headerBytes: 2, dataBytes: 2 } });
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 7 }), fc.array(fc.tuple(name, fc.constantFrom(...shards)), { minLength: 2, maxLength: 8 }), fc.nat(), fc.boolean(), (held, random, cut, exact) => {
        const split = cut % (held.length + 1);
        const headers = [file(shards[0]!, held.slice(0, split)), file(shards[1]!, held.slice(split))];
        // Half the time the index lists exactly what the headers hold (reversed): the fingerprint path.
        const listed: Array<[string, string]> = exact ? held.map((t, i): [string, string] => [t, shards[i < split ? 0 : 1]!]).reverse() : random;
        // Both shards named, so the index's shard order is theirs.
        const pairs: Array<[string, string]> = [["z0", shards[0]!], ["z1", shards[1]!], ...listed];
        const text = `{"weight_map": {${pairs.map(([t, s]) => `${JSON.stringify(t)}: ${JSON.stringify(s)}`).join(", ")}}}`;
        headers[0]!.header.tensors.push(...file("", ["z0"]).header.tensors);
        headers[1]!.header.tensors.push(...file("", ["z1"]).header.tensors);
        const all = new Set([...held, "z0", "z1"]);
        // The first offending entry, in the index's order, is the one reported.
        let expected: RegExp | null = null;
        const named = new Set<string>();
        for (const [t] of pairs) {
          if (!all.has(t)) expected = /no shard holds it/;
          else if (named.has(t)) expected = /listed twice/;
          if (expected !== null) break;
          named.add(t);
        }
        const run = () => assembleCheckpoint("x", headers, null, parseShardIndex(text, "i"), "i");
        if (expected === null) expect(run().files).toHaveLength(2);
        else expect(run).toThrowError(expected);
        // The same verdict when the headers were registered as they arrived (fingerprints and the name set made early).
        const registry = new NameRegistry();
        for (const h of headers) registry.register(h.header);
        const registered = () => assembleCheckpoint("x", headers, null, parseShardIndex(text, "i"), "i", registry);
        if (expected === null) expect(registered().files).toHaveLength(2);
        else expect(registered).toThrowError(expected);
      }),
      { numRuns: 500 },
    );
  });
});
