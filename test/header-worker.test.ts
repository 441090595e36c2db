// Headers of many-shard models are parsed in a worker thread and sent back packed. The worker runs
// only from the compiled bundle (the CLI as users run it); in-process runs parse in the same thread.
// Both must give the same report, and the same refusal, byte for byte.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHeader } from "../src/core/format/index.js";
import { packHeader, unpackHeader } from "../src/io/header-parser.js";
import { runMain } from "./run-main.js";
// @ts-expect-error plain JS mock
import { startMockHub } from "../scripts/mock-hub.mjs";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly } from "../scripts/safetensors-writer.mjs";

type Hub = { endpoint: string; addRepo: (id: string, o: object) => string; close: () => Promise<void> };
let hub: Hub;
const SHARDS = 12;

function runBin(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/qaudit.js", ...args], { env: { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "qaudit-home-")), ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

function shardedRepo(broken?: number, duplicate = false): Record<string, Buffer | string> {
  const files: Record<string, Buffer | string> = { "config.json": '{"model_type":"mixtral","vocab_size":32000,"hidden_size":64}' };
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < SHARDS; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(SHARDS).padStart(5, "0")}.safetensors`;
    const tensors: Array<[string, string, number[]]> = [
      [`model.layers.${s}.block_sparse_moe.experts.0.w1.weight`, "BF16", [128, 64]],
      [`model.layers.${s}.block_sparse_moe.gate.weight`, "BF16", [8, 64]],
      [`model.layers.${s}.input_layernorm.weight`, "F32", [64]],
      [`model.layers.${s}.self_attn.q_proj.weight`, s % 2 === 0 ? "F8_E4M3" : "BF16", [64, 64]],
    ];
    if (s % 2 === 0) tensors.push([`model.layers.${s}.self_attn.q_proj.weight_scale_inv`, "F32", [1, 1]]);
    // The same tensor in two shards (the index can name it only once).
    if (duplicate && s === 10) tensors.push(["model.layers.2.input_layernorm.weight", "F32", [64]]);
    files[file] = encodeHeaderOnly(tensors, s === 0 ? { format: "pt", "__proto__": "x" } : undefined);
    for (const [name] of tensors) weightMap[name] = file;
  }
  if (broken !== undefined) {
    const file = `model-${String(broken + 1).padStart(5, "0")}-of-${String(SHARDS).padStart(5, "0")}.safetensors`;
    const json = '{"a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 7]}}';
    const head = Buffer.alloc(8 + json.length);
    head.writeBigUInt64LE(BigInt(json.length));
    head.write(json, 8);
    files[file] = head;
  }
  files["model.safetensors.index.json"] = JSON.stringify({ metadata: {}, weight_map: weightMap });
  return files;
}

beforeAll(async () => {
  hub = await startMockHub({ lifetimeMs: 120_000 });
  hub.addRepo("org/many", { files: shardedRepo() });
  hub.addRepo("org/many-broken", { files: shardedRepo(9) });
  hub.addRepo("org/many-duplicate", { files: shardedRepo(undefined, true) });
});
afterAll(async () => hub.close());

describe("header parsing in a worker thread", () => {
  it("packing and unpacking give back the header parseHeader made, metadata without a prototype", () => {
    const dtype = fc.constantFrom("BF16", "F32", "F8_E4M3", "I8", "U8", "BOOL");
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20, unit: "binary" }), dtype, fc.array(fc.integer({ min: 0, max: 70_000 }), { maxLength: 3 })), { selector: ([n]) => n, maxLength: 12 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (specs, metadata) => {
        const header = parseHeader(encodeHeaderOnly(specs.filter(([n]) => n !== "__metadata__" && n !== "__proto__"), metadata).subarray(8), "m");
        const back = unpackHeader(packHeader(7, header));
        expect(back).toEqual(header);
        expect(Object.getPrototypeOf(back.metadata ?? Object.create(null))).toBe(null);
      }),
      { numRuns: 200 },
    );
  });

  it("counts and offsets at the edge of 32-bit integers come back unchanged", () => {
    // Element counts 2^31 − 1, 2^31 and 2^31 + 1; offsets crossing 2^31 and 2^32.
    const specs = [["a", "U8", [2 ** 31 - 1]], ["b", "U8", [1]], ["c", "U8", [2 ** 31]], ["d", "U8", [2 ** 31 + 1]], ["e", "U8", [1]]];
    const header = parseHeader(encodeHeaderOnly(specs, {}).subarray(8), "m");
    expect(header.tensors.map((t) => [t.elements, t.dataStart])).toEqual([[2 ** 31 - 1, 0], [1, 2 ** 31 - 1], [2 ** 31, 2 ** 31], [2 ** 31 + 1, 2 ** 32], [1, 2 ** 32 + 2 ** 31 + 1]]);
    expect(unpackHeader(packHeader(1, header))).toEqual(header);
  });

  it("the compiled parser really runs a worker: same headers, same refusals, and it never holds the process", async () => {
    // The build's output (npm test builds first): there the worker script sits beside the parser.
    const compiled = (await import(join(process.cwd(), "dist/io/header-parser.js"))) as typeof import("../src/io/header-parser.js");
    const parser = compiled.workerParser();
    expect(parser).not.toBe(compiled.inlineParser);
    try {
      const files = shardedRepo(3);
      const names = Object.keys(files).filter((f) => f.endsWith(".safetensors"));
      for (const name of names) {
        const bytes = files[name] as Buffer;
        const json = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0)));
        let expected: unknown;
        try {
          expected = parseHeader(json, name);
        } catch (error) {
          expected = { error: (error as Error).message };
        }
        const got = await parser.parse(json, name).catch((error: Error) => ({ error: error.message }));
        expect(got).toEqual(expected);
      }
      // A header read as a view into a larger buffer that holds other bytes too (a socket's read):
      // sending it to the worker takes nothing from the rest (moving the whole buffer would detach it).
      const text = '{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}';
      const shared = new ArrayBuffer(4096);
      const header = Buffer.from(shared, 0, text.length);
      header.write(text);
      const neighbour = Buffer.from(shared, 2048, 10);
      neighbour.write("still here");
      expect((await parser.parse(header, "small")).tensors).toHaveLength(1);
      expect(neighbour.toString()).toBe("still here");
      expect(header.toString()).toBe(text);
      // Bytes the caller owns (a buffer of their own, as the Hub's reads are) are moved, not copied:
      // the same header comes back, and the caller's view is empty afterwards.
      const owned = new TextEncoder().encode(`--------${text}`).subarray(8);
      const moved = await parser.parse(owned, "moved", undefined, true);
      expect(moved).toEqual(parseHeader(new TextEncoder().encode(text), "moved"));
      expect(owned.byteLength).toBe(0);
    } finally {
      parser.close();
    }
  });

  it("the bundle the CLI runs carries the worker's script beside its chunks (else parsing silently stays on one thread)", () => {
    expect(existsSync(join(process.cwd(), "dist/bundle/header-worker.js"))).toBe(true);
  });

  it(`a ${SHARDS}-shard model: the CLI (worker) and an in-process run (same thread) print the same JSON`, async () => {
    const env = { HF_ENDPOINT: hub.endpoint };
    for (const scheme of ["nf4", "int8"]) {
      const viaWorker = await runBin(["org/many", "--scheme", scheme, "--json", "--no-cache"], env);
      const inline = await runMain(["org/many", "--scheme", scheme, "--json", "--no-cache"], env);
      expect(viaWorker.code, viaWorker.stderr).toBe(0);
      expect(viaWorker.stdout).toBe(inline.stdout);
      expect(JSON.parse(viaWorker.stdout).model.tensorCount).toBe(SHARDS * 4 + SHARDS / 2);
    }
  });

  it.each([
    ["a bad header among many", "org/many-broken", /data_offsets span 7 bytes but shape \[2, 2\] of BF16 needs 8/],
    ["a tensor in two shards", "org/many-duplicate", /model-00011-of-00012\.safetensors: tensor "model\.layers\.2\.input_layernorm\.weight" is also in model-00003-of-00012\.safetensors/],
  ])("%s: the same one-line refusal and exit code from the worker", async (_name, repo, message) => {
    const env = { HF_ENDPOINT: hub.endpoint };
    const viaWorker = await runBin([repo, "--no-cache"], env);
    const inline = await runMain([repo, "--no-cache"], env);
    expect(viaWorker.code).toBe(3);
    expect(viaWorker.code).toBe(inline.code);
    expect(viaWorker.stderr).toBe(inline.stderr);
    expect(viaWorker.stderr).toMatch(message);
  });
});
