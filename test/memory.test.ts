import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { parseHeader, parseShardIndex, shapeOf } from "../src/core/format/index.js";
import { packHeader, unpackHeader } from "../src/io/header-parser.js";

// What a large model keeps in memory, checked where it can be: the heap after a full collection.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

function headerBytes(entries: Record<string, { dtype: string; shape: number[] }>): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, { dtype, shape }] of Object.entries(entries)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === "F32" ? 4 : 2);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return new TextEncoder().encode(JSON.stringify(header));
}

describe("memory held per tensor", () => {
  it("shard names kept from an index do not keep the index text alive (a slice would hold all of it)", () => {
    // 200,000 entries over 4 shards: ~13 MB of text, as the Hub source has it (decoded from bytes).
    const map: Record<string, string> = {};
    for (let i = 0; i < 200_000; i++) map[`model.layers.${i % 61}.mlp.experts.${i}.down_proj.weight`] = `model-0000${i % 4}-of-00004.safetensors`;
    const bytes = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 1 }, weight_map: map }));
    let text: string | undefined = new TextDecoder().decode(bytes);
    const shards = parseShardIndex(text, "index.json").shards;
    const withText = heapAfterGc();
    text = undefined;
    // V8 keeps the subject of the last successful regular expression match: make it a small one.
    expect(/y/.test("y")).toBe(true);
    const freed = withText - heapAfterGc();
    expect(shards).toEqual(["model-00000-of-00004.safetensors", "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors"]);
    // Dropping the text frees all of it (within 1 MB): the names kept are copies, not slices of it.
    expect(freed).toBeGreaterThan(bytes.length - 1_000_000);
  });

  it("tensors of one shape share one shape array, parsed here or unpacked from the worker", () => {
    const json = headerBytes({
      "a.weight": { dtype: "BF16", shape: [4096, 4096] },
      "b.weight": { dtype: "BF16", shape: [4096, 4096] },
      "c.weight": { dtype: "BF16", shape: [4096, 11008] },
      "d.weight": { dtype: "F32", shape: [4096] },
      "e.weight": { dtype: "F32", shape: [4096] },
      "f.scalar": { dtype: "F32", shape: [] },
    });
    const parsed = parseHeader(json, "x.safetensors");
    const unpacked = unpackHeader(packHeader(0, parsed));
    for (const header of [parsed, unpacked]) {
      const [a, b, c, d, e, f] = header.tensors.map((t) => t.shape);
      expect(a).toBe(b);
      expect(d).toBe(e);
      expect(a).not.toBe(c);
      expect([a, c, d, f]).toEqual([[4096, 4096], [4096, 11008], [4096], []]);
    }
  });

  it("a shared shape always equals the dimensions asked for, whatever lands in the same slot", () => {
    const dims = fc.array(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.maxSafeNat()), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(dims, { minLength: 1, maxLength: 200 }), (shapes) => {
        for (const shape of shapes) expect(shapeOf([7, ...shape], 1, shape.length)).toEqual(shape);
      }),
    );
  });
});
