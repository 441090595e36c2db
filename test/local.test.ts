import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/core/errors.js";
import { loadLocalCheckpoint } from "../src/io/local.js";
import { readSmallText } from "../src/io/files.js";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly } from "../scripts/safetensors-writer.mjs";

function modelDir(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), "qaudit-local-"));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}
const shard = (names: string[]) => encodeHeaderOnly(names.map((n) => [n, "F16", [4, 4]]));
const index = (map: Record<string, string>) => JSON.stringify({ metadata: { total_size: 0 }, weight_map: map });

describe("local sources", () => {
  it("a text file read a piece at a time decodes as the whole file would, characters cut at any piece boundary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qaudit-text-"));
    // Two-, three- and four-byte characters straddling the 64 KiB pieces at each offset, and a broken one.
    for (const [i, tail] of ["é", "中", "😀", "\u00ff\u4e2d"].entries()) {
      for (let shift = 0; shift < 4; shift++) {
        const path = join(dir, `${i}-${shift}.json`);
        const bytes = Buffer.concat([Buffer.from("a".repeat(64 * 1024 - 2 + shift)), Buffer.from(tail.repeat(3)), Buffer.from([0xe4, 0xb8])]);
        writeFileSync(path, bytes);
        expect(await readSmallText(path, 1_000_000)).toBe(new TextDecoder().decode(bytes));
      }
    }
    writeFileSync(join(dir, "big.json"), "x".repeat(101));
    await expect(readSmallText(join(dir, "big.json"), 100)).rejects.toThrowError("big.json: 101 bytes, over the 100-byte limit for this kind of file");
    writeFileSync(join(dir, "empty.json"), "");
    expect(await readSmallText(join(dir, "empty.json"), 100)).toBe("");
  });

  it("a sharded folder: every shard read, config picked up", async () => {
    const cp = await loadLocalCheckpoint("fixtures/falcon-7b-ft");
    expect(cp.files.map((f) => f.name)).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    expect(cp.files.reduce((n, f) => n + f.header.tensors.length, 0)).toBe(3 + 32 * 6);
    expect(cp.config).toMatchObject({ vocabSize: 65025, tieWordEmbeddings: true, dtype: "bf16" });
  });

  it("model.safetensors wins over an index beside it, as transformers loads it first", async () => {
    const dir = modelDir({ "model.safetensors": shard(["x.weight"]), "model.safetensors.index.json": index({ "y.weight": "gone.safetensors" }) });
    const cp = await loadLocalCheckpoint(dir);
    expect(cp.files.map((f) => f.name)).toEqual(["model.safetensors"]);
  });

  it("a missing shard", async () => {
    const dir = modelDir({ "a.safetensors": shard(["x.weight"]), "model.safetensors.index.json": index({ "x.weight": "a.safetensors", "y.weight": "b.safetensors" }) });
    await expect(loadLocalCheckpoint(dir)).rejects.toThrowError(/shard b\.safetensors is missing/);
  });

  it.each(["../outside.safetensors", "/etc/passwd", "sub/../../x.safetensors", "C:\\x.safetensors", ""])("a shard name that escapes the folder: %j", async (name) => {
    const dir = modelDir({ "model.safetensors.index.json": index({ "x.weight": name }) });
    await expect(loadLocalCheckpoint(dir)).rejects.toThrowError(/escapes the model folder/);
  });

  it("the index lists a tensor its shard lacks; a tensor in two shards", async () => {
    const a = modelDir({ "a.safetensors": shard(["x.weight"]), "model.safetensors.index.json": index({ "x.weight": "a.safetensors", "y.weight": "a.safetensors" }) });
    await expect(loadLocalCheckpoint(a)).rejects.toThrowError(/tensor "y\.weight" is listed in a\.safetensors but no shard holds it/);
    const b = modelDir({
      "a.safetensors": shard(["x.weight"]),
      "b.safetensors": shard(["x.weight"]),
      "model.safetensors.index.json": index({ "x.weight": "a.safetensors", "z.weight": "b.safetensors" }),
    });
    await expect(loadLocalCheckpoint(b)).rejects.toThrowError(/b\.safetensors: tensor "x\.weight" is also in a\.safetensors/);
  });

  it("a shard that is a folder", async () => {
    const dir = modelDir({ "model.safetensors.index.json": index({ "x.weight": "a.safetensors" }) });
    mkdirSync(join(dir, "a.safetensors"));
    await expect(loadLocalCheckpoint(dir)).rejects.toThrowError(/a\.safetensors: (is a directory|not a regular file)/);
  });

  it("a folder without safetensors says what it has", async () => {
    const dir = modelDir({ "pytorch_model.bin": "x", "config.json": "{}" });
    await expect(loadLocalCheckpoint(dir)).rejects.toThrowError(/no safetensors weights \(it has pytorch_model\.bin; only safetensors headers can be audited\)/);
  });

  it("a config.json given as the model points at its folder", async () => {
    await expect(loadLocalCheckpoint("fixtures/opt-350m/config.json")).rejects.toThrowError(/fixtures\/opt-350m\/config\.json: this is a model's config\.json, not a safetensors header; give the folder that holds it/);
  });

  it("a broken config.json or index is an input error", async () => {
    const dir = modelDir({ "model.safetensors": shard(["x.weight"]), "config.json": "{nope" });
    await expect(loadLocalCheckpoint(dir)).rejects.toThrowError(InputError);
    const idx = modelDir({ "model.safetensors.index.json": "[]" });
    await expect(loadLocalCheckpoint(idx)).rejects.toThrowError(/not a shard index/);
  });
});

describe("fixtures", () => {
  it("scripts/make-fixtures.mjs regenerates the committed fixtures byte for byte", () => {
    const out = mkdtempSync(join(tmpdir(), "qaudit-fixtures-"));
    mkdirSync(out, { recursive: true });
    execFileSync(process.execPath, ["scripts/make-fixtures.mjs", out]);
    // fixtures/configs holds public config.json files for fit, copied by hand (its README names the sources).
    const files = readdirSync("fixtures", { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !join(e.parentPath, e.name).startsWith("fixtures/configs"));
    expect(files.length).toBeGreaterThan(10);
    for (const entry of files) {
      const path = join(entry.parentPath, entry.name);
      expect(readFileSync(join(out, path.slice("fixtures/".length))), path).toEqual(readFileSync(path));
    }
  });
});
