import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeaderError } from "../src/core/errors.js";
import { dataEnd, MAX_HEADER_BYTES, parseHeader, parseHeaderLength } from "../src/core/format/header.js";
import { readHeader, type ByteSource } from "../src/io/byte-source.js";
// @ts-expect-error plain JS writer
import { encodeSafetensors } from "../scripts/safetensors-writer.mjs";

const enc = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const parse = (value: unknown) => parseHeader(enc(value), "m.safetensors");
const entry = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

function memorySource(bytes: Uint8Array, name = "m.safetensors"): ByteSource {
  return { name, size: bytes.length, read: async (start, end) => bytes.slice(start, Math.min(end, bytes.length)) };
}

describe("valid headers", () => {
  it("reads tensors, metadata and sizes", () => {
    const header = parse({ __metadata__: { format: "pt" }, "a.weight": entry("BF16", [4, 8], 0, 64), "b.bias": entry("F32", [4], 64, 80) });
    expect(header.metadata).toEqual({ format: "pt" });
    expect(header.tensors.map((t) => [t.name, t.elements])).toEqual([["a.weight", 32], ["b.bias", 4]]);
    expect(header.dataBytes).toBe(80);
  });
  it("a scalar has numel 1; a zero-size tensor takes no bytes; offsets may come in any key order", () => {
    const header = parse({ z: entry("F32", [0, 5], 4, 4), s: entry("F32", [], 0, 4) });
    expect(header.tensors.find((t) => t.name === "s")?.elements).toBe(1);
    expect(header.tensors.find((t) => t.name === "z")?.elements).toBe(0);
  });
  it("sub-byte dtypes: F4 is half a byte per value, F6 three quarters", () => {
    expect(parse({ a: entry("F4", [4, 4], 0, 8) }).dataBytes).toBe(8);
    expect(parse({ a: entry("F6_E2M3", [4, 4], 0, 12) }).dataBytes).toBe(12);
  });
  it("right-padding with spaces is allowed", () => {
    expect(parse(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}    `).tensors).toHaveLength(1);
  });
  it("reads a file in one speculative read when the header fits, two when it does not", async () => {
    const bytes: Uint8Array = encodeSafetensors({ a: entry("F16", [3], 0, 6) });
    const reads: Array<[number, number]> = [];
    const source = memorySource(bytes);
    const spy: ByteSource = { ...source, read: (s, e) => { reads.push([s, e]); return source.read(s, e); } };
    await readHeader(spy);
    expect(reads).toEqual([[0, bytes.length]]);
    reads.length = 0;
    await readHeader(spy, 16);
    expect(reads).toEqual([[0, 16], [16, bytes.length]]);
  });
});

describe("invalid headers: one clear error naming the file and tensor", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["not starting with {", ` {"a":1}`, /does not start with '\{'/],
    ["invalid JSON", `{"a":`, /not valid JSON/],
    ["entry not an object", { a: 5 }, /tensor "a": entry is not an object/],
    ["unknown dtype", { a: entry("F12", [1], 0, 2) }, /tensor "a": unknown dtype "F12"/],
    ["missing dtype", { a: { shape: [1], data_offsets: [0, 1] } }, /tensor "a": missing or non-string dtype/],
    ["extra field", { a: { ...entry("U8", [1], 0, 1), extra: 1 } }, /tensor "a": unexpected field "extra"/],
    ["negative dim", { a: entry("U8", [-1], 0, 0) }, /tensor "a": dimension -1/],
    ["fractional dim", { a: entry("U8", [1.5], 0, 1) }, /tensor "a": dimension 1.5/],
    ["string dim", { a: entry("U8", ["2"], 0, 2) }, /tensor "a": dimension "2"/],
    ["overflowing shape", { a: entry("U8", [2 ** 30, 2 ** 30, 2 ** 30], 0, 1) }, /tensor "a": shape .* overflows/],
    ["offsets not a pair", { a: { dtype: "U8", shape: [1], data_offsets: [0] } }, /data_offsets must be \[begin, end\]/],
    ["negative offset", { a: entry("U8", [1], -1, 0) }, /non-negative integers/],
    ["end before begin", { a: entry("U8", [0], 3, 2) }, /end before they begin/],
    ["size disagrees with shape × dtype", { a: entry("F32", [2, 2], 0, 8) }, /tensor "a": data_offsets span 8 bytes but shape \[2, 2\] of F32 needs 16/],
    ["hole", { a: entry("U8", [2], 0, 2), b: entry("U8", [2], 4, 6) }, /tensor "b": .*leave a hole at bytes 2..4/],
    ["overlap", { a: entry("U8", [4], 0, 4), b: entry("U8", [4], 2, 6) }, /tensor "b": .*overlap/],
    ["not starting at 0", { a: entry("U8", [2], 2, 4) }, /tensor "a": .*hole at bytes 0..2/],
    ["sub-byte values not filling bytes", { a: entry("F4", [3], 0, 2) }, /do not fill whole bytes/],
    ["metadata not strings", { __metadata__: { a: 1 } }, /__metadata__ value of "a" is not a string/],
  ];
  it.each(cases)("%s", (_name, value, message) => {
    expect(() => parse(value)).toThrowError(HeaderError);
    expect(() => parse(value)).toThrowError(message);
    expect(() => parse(value)).toThrowError(/^m\.safetensors: /);
  });
  it("a JSON value that is not an object", () => {
    expect(() => parseHeader(enc("[1]"), "f")).toThrowError(/does not start with/);
  });
  it("non-UTF-8 bytes", () => {
    expect(() => parseHeader(new Uint8Array([0x7b, 0xff, 0x7d]), "f")).toThrowError(/not valid UTF-8/);
  });
  it("length prefix: truncated, over the cap, past the end of the file", () => {
    expect(() => parseHeaderLength(new Uint8Array(5), "f")).toThrowError(/truncated/);
    const prefix = (n: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, n, true); return b; };
    expect(() => parseHeaderLength(prefix(BigInt(MAX_HEADER_BYTES) + 1n), "f")).toThrowError(/over the 100000000-byte limit/);
    expect(() => parseHeaderLength(prefix(2n ** 63n), "f")).toThrowError(/over the/);
    expect(() => parseHeaderLength(prefix(100n), "f", 50)).toThrowError(/runs past the end of the file \(50 bytes\)/);
    expect(parseHeaderLength(prefix(BigInt(MAX_HEADER_BYTES)), "f")).toBe(MAX_HEADER_BYTES);
  });
  it("a data region present but shorter than the offsets", () => {
    const json = enc({ a: entry("U8", [100], 0, 100) });
    expect(() => parseHeader(json, "f", 8 + json.length + 10)).toThrowError(/data region is truncated: 10 of 100 bytes/);
    expect(parseHeader(json, "f", 8 + json.length).dataBytes).toBe(100); // header-only is fine
  });
});

describe("property: the reader never crashes, hangs or accepts garbage silently", () => {
  const validFile = (): Uint8Array =>
    encodeSafetensors({ __metadata__: { format: "pt" }, "x.weight": entry("BF16", [16, 8], 0, 256), "x.bias": entry("F32", [16], 256, 320) });

  it("random bytes either parse or fail with a HeaderError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        try {
          await readHeader(memorySource(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(HeaderError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("mutated valid files: any single-byte change, truncation or length tampering is either valid or a HeaderError", async () => {
    const original = validFile();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: original.length }), async (at, value, cut) => {
        const bytes = original.slice(0, Math.max(cut, at + 1));
        bytes[at] = value;
        try {
          const header = await readHeader(memorySource(bytes));
          // Whatever was accepted is internally consistent.
          const total = header.tensors.reduce((s, t) => s + (dataEnd(t) - t.dataStart), 0);
          expect(total).toBe(header.dataBytes);
        } catch (error) {
          expect(error).toBeInstanceOf(HeaderError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("random JSON values as headers are either valid or a HeaderError", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        try {
          parse(value);
        } catch (error) {
          expect(error).toBeInstanceOf(HeaderError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
