// The JSON output is written in pieces (a slice of 2,000 tensors at a time, encoded once and cut as
// bytes). Whatever the pieces, their bytes must be exactly JSON.stringify(report, null, 2) + "\n".
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

function bytesOf(pieces: Iterable<string | Uint8Array>): Buffer {
  return Buffer.concat([...pieces].map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

describe("JSON output in pieces", () => {
  const report = bigReport();
  const expected = Buffer.from(`${JSON.stringify(report, null, 2)}\n`);

  it("the pieces' bytes are JSON.stringify(report, null, 2), multi-byte and escaped names across slices included", () => {
    expect(report.tensors.length).toBe(4500);
    const pieces = [...jsonChunks(report)];
    // Sliced: more than one large piece, as bytes.
    expect(pieces.filter((p) => typeof p !== "string").length).toBe(3);
    expect(bytesOf(pieces).equals(expected)).toBe(true);
    expect(renderJson(report)).toBe(expected.toString());
  });

  it("written to stdout (with back-pressure or as text) and to --out's file: the same bytes", async () => {
    const written: Buffer[] = [];
    const io = { stdout: () => {}, stdoutAsync: (piece: string | Uint8Array) => Promise.resolve(void written.push(Buffer.from(piece))) } as unknown as CliIo;
    await writeChunks(io, jsonChunks(report));
    expect(Buffer.concat(written).equals(expected)).toBe(true);
    let text = "";
    await writeChunks({ stdout: (t: string) => void (text += t) } as unknown as CliIo, jsonChunks(report));
    expect(text).toBe(expected.toString());
    const out = join(mkdtempSync(join(tmpdir(), "qaudit-out-")), "report.json");
    await emit({} as CliIo, out, jsonChunks(report));
    expect(readFileSync(out).equals(expected)).toBe(true);
  });
});
