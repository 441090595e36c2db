// The JSON output is written in pieces (a slice of 200 tensors at a time, encoded into one reused
// buffer). Whatever the pieces, their bytes must be exactly JSON.stringify(report, null, 2) + "\n".
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleReport } from "../src/core/report/index.js";
import { emit, writeChunks } from "../src/cli/write.js";
import { jsonChunks, renderJson } from "../src/render/json.js";
import { checkpointOf, simulate, type TensorSpec } from "./helpers.js";
import type { CliIo } from "../src/cli/io.js";

// Names that take 1 to 4 bytes a character in UTF-8, and characters JSON escapes, across slice edges.
const ODD = ["é", "ß", "—", "\u2028", "日本", "🙂", '"', "\\", "\u0001", "\t"];
function bigReport() {
  const tensors: TensorSpec[] = [];
  for (let i = 0; i < 4500; i++) tensors.push([`model.layers.${i}.${ODD[i % ODD.length]}.mlp.up_proj.weight`, "BF16", [8, 16]]);
  const simulated = simulate(checkpointOf(tensors), { scheme: "nf4" });
  return assembleReport(simulated, { checks: [], training: undefined });
}

function bytesOf(pieces: Iterable<string>): Buffer {
  return Buffer.concat([...pieces].map((p) => Buffer.from(p)));
}

describe("JSON output in pieces", () => {
  const report = bigReport();
  const expected = Buffer.from(`${JSON.stringify(report, null, 2)}\n`);

  it("the pieces' bytes are JSON.stringify(report, null, 2), multi-byte and escaped names across slices included", () => {
    expect(report.tensors.length).toBe(4500);
    const pieces = [...jsonChunks(report)];
    // Sliced: the tensor list comes in ceil(4500 / 200) = 23 large pieces, not one string.
    expect(pieces.filter((p) => p.length > 10_000).length).toBe(23);
    expect(bytesOf(pieces).equals(expected)).toBe(true);
    expect(renderJson(report)).toBe(expected.toString());
  });

  it("written to stdout (with back-pressure or as text) and to --out's file: the same bytes", async () => {
    const written: Buffer[] = [];
    // The writer reuses its buffer once a write has finished: a write that takes its time must still
    // see its own bytes, and no write may end inside a character (each is valid UTF-8 by itself).
    const slowWrite = (bytes: Uint8Array): Promise<void> =>
      new Promise((resolve) =>
        setTimeout(() => {
          written.push(Buffer.from(bytes));
          new TextDecoder("utf-8", { fatal: true }).decode(bytes);
          resolve();
        }, 1),
      );
    await writeChunks({ stdout: () => {}, stdoutAsync: slowWrite } as unknown as CliIo, jsonChunks(report));
    expect(written.length).toBeGreaterThan(1);
    expect(Buffer.concat(written).equals(expected)).toBe(true);
    let text = "";
    await writeChunks({ stdout: (t: string) => void (text += t) } as unknown as CliIo, jsonChunks(report));
    expect(text).toBe(expected.toString());
    const out = join(mkdtempSync(join(tmpdir(), "qaudit-out-")), "report.json");
    await emit({} as CliIo, out, jsonChunks(report));
    expect(readFileSync(out).equals(expected)).toBe(true);
  });
});
