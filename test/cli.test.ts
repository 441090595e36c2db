// End-to-end: the built CLI on the bundled fixtures. Figures are the spec's (§6) or derived by hand.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly } from "../scripts/safetensors-writer.mjs";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/qaudit.js", ...args], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const ANSI = /\u001b\[/;
const STACK = /^\s+at /m;

describe("qaudit <path>", () => {
  it("nf4 table: packed shape, footprint and explanation, nothing on stderr", async () => {
    const r = await runCli(["fixtures/opt-350m", "--scheme", "nf4"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/model\.decoder\.project_in\.weight\s+│\s+│ \[1024, 512\] F16\s+│ \[262144, 1\] uint8/);
    expect(r.stdout).toMatch(/model\.decoder\.layers\.\*\.fc1\.weight\s+│ ×24 │/);
    expect(r.stdout).toContain("207,835,136 bytes");
    expect(r.stdout).toMatch(/sum\(p\.numel\(\)\)\s+179,677,184/); // L/2 + R = 151,519,232 + 28,157,952
    expect(r.stdout).toContain("two 4-bit values are packed into one uint8 byte");
    expect(r.stdout).toContain("requires_grad=False");
    expect(r.stdout).not.toMatch(ANSI);
  });

  it("--json: the schemaVersion 2 contract on stdout alone", async () => {
    const r = await runCli(["fixtures/falcon-7b-ft", "--scheme", "nf4", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.schemaVersion).toBe(2);
    expect(report.model).toEqual({ source: "fixtures/falcon-7b-ft", files: ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"], tensorCount: 1 + 2 + 32 * 6 });
    expect(report.scheme).toMatchObject({ name: "nf4", doubleQuant: false, torchDtype: "bfloat16" });
    expect(report.totals).toMatchObject({ logicalParameters: 6_921_725_248, reportedParameters: 3_608_749_376, trainableParameters: 295_773_504 });
    const fields = ["name", "kind", "quantized", "originalShape", "originalDtype", "storedShape", "storedDtype", "logicalElements", "storedElements", "trainable", "parameterBytes", "quantStateBytes"];
    for (const tensor of report.tensors) for (const field of fields) expect(tensor).toHaveProperty(field);
    expect(Object.keys(report.totals).sort()).toEqual(["logicalParameters", "parameterBytes", "quantStateBytes", "reportedParameters", "totalBytes", "trainableParameters"]);
  });

  it("--all-tensors: one row per tensor (OPT-350m has 4 + 24 × 16 = 388)", async () => {
    const r = await runCli(["fixtures/opt-350m", "--all-tensors", "--units", "bytes"]);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("│ model.")).length).toBe(388);
    expect(r.stdout).toContain("662,392,832 B"); // 2 bytes × 331,196,416 as stored
  });

  it("a header-only .safetensors file, and a header's JSON on its own", async () => {
    const json = await runCli(["fixtures/gpt2/model.safetensors", "--json"]);
    expect(JSON.parse(json.stdout).totals.reportedParameters).toBe(124_439_808);
    const dir = mkdtempSync(join(tmpdir(), "qaudit-"));
    writeFileSync(join(dir, "h.json"), JSON.stringify({ "a.weight": { dtype: "F16", shape: [64, 32], data_offsets: [0, 4096] } }));
    const r = await runCli([join(dir, "h.json"), "--scheme", "int8", "--json"]);
    expect(JSON.parse(r.stdout).totals).toMatchObject({ parameterBytes: 2048, quantStateBytes: 4 * 64 });
  });

  it("markdown and CSV carry the same figures", async () => {
    const md = await runCli(["fixtures/opt-350m", "--scheme", "int8", "--format", "markdown"]);
    expect(md.stdout).toMatch(/^### fixtures\/opt-350m: int8/);
    expect(md.stdout).toContain("| get_memory_footprint() | 342.71 MiB (359,354,368 bytes) |"); // 359,354,368 / 2^20 = 342.71
    const csv = await runCli(["fixtures/opt-350m", "--scheme", "nf4", "--format", "csv", "--all-tensors"]);
    const rows = csv.stdout.trim().split("\r\n");
    expect(rows[0]).toBe("name,count,kind,quantized,original_shape,original_dtype,stored_shape,stored_dtype,logical_elements,stored_elements,trainable,parameter_bytes,quant_state_bytes,tied_to,format,logical_shape");
    expect(rows).toContain(`model.decoder.project_in.weight,1,linear,true,1024x512,F16,262144x1,uint8,524288,262144,false,262144,${4 * 8192 + 64},,,`);
    expect(rows).toHaveLength(1 + 388);
  });

  it("NO_COLOR wins over FORCE_COLOR; colour otherwise when forced", async () => {
    expect((await runCli(["fixtures/tiny-llama"], { FORCE_COLOR: "1", NO_COLOR: "1" })).stdout).not.toMatch(ANSI);
    expect((await runCli(["fixtures/tiny-llama"], { FORCE_COLOR: "1" })).stdout).toMatch(ANSI);
  });
});

describe("compare and gates, spawned", () => {
  // OPT-350m totals (spec §6 and the §4 layouts; see simulate.test.ts): fp16 662,392,832 bytes;
  // nf4 207,835,136 + 18,949,248 = 226,784,384.
  it.each([
    ["json", (out: string) => expect(JSON.parse(out).rows.map((r: { totals: { totalBytes: number } }) => r.totals.totalBytes)).toEqual([662_392_832, 226_784_384])],
    ["csv", (out: string) => expect(out.split("\r\n")[2]).toMatch(/^fixtures\/opt-350m,nf4,false,331196416,179677184,28157952,207835136,18949248,226784384,/)],
    ["markdown", (out: string) => expect(out).toContain("| fp16 | 331,196,416 | 331,196,416 | 631.71 MiB | 0 B | 631.71 MiB | 16.000 | 1.000× |")],
    ["table", (out: string) => expect(out).toMatch(/│ nf4\s+│\s+179,677,184 │/)],
  ] as const)("compare --format %s", async (format, check) => {
    const r = await runCli(["compare", "fixtures/opt-350m", "--schemes", "fp16,nf4", "--format", format]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    check(r.stdout);
  });

  it("a failed gate: report on stdout, one line on stderr, exit 5; --pick with nothing fitting exits 5", async () => {
    const gate = await runCli(["fixtures/opt-350m", "--scheme", "nf4", "--max-params", "179677183", "--json"]);
    expect(gate.code).toBe(5);
    expect(JSON.parse(gate.stdout).checks).toEqual([{ name: "max-params", limit: 179_677_183, actual: 179_677_184, passed: false }]);
    expect(gate.stderr).toBe("qaudit: check failed: max-params: limit 179,677,183, actual 179,677,184, over by 1\n");
    const pick = await runCli(["compare", "fixtures/opt-350m", "--max-memory", "226784383", "--schemes", "fp16,nf4", "--pick"]);
    expect(pick.code).toBe(5);
    expect(pick.stdout).toBe("");
    const fits = await runCli(["compare", "fixtures/opt-350m", "--max-memory", "226784384", "--schemes", "fp16,nf4", "--pick"]);
    expect([fits.code, fits.stdout]).toEqual([0, "nf4\n"]);
  });
});

describe("errors: one line, an exit code, no stack", () => {
  const dir = mkdtempSync(join(tmpdir(), "qaudit-bad-"));
  const write = (name: string, bytes: Uint8Array | string) => { writeFileSync(join(dir, name), bytes); return join(dir, name); };

  it.each([
    ["unknown scheme", ["fixtures/opt-350m", "--scheme", "nf5"], 2, /argument 'nf5' is invalid. Allowed choices are fp32, fp16, bf16, int8, fp4, nf4/],
    ["double quant without 4-bit", ["fixtures/opt-350m", "--scheme", "int8", "--double-quant"], 2, /--double-quant applies to the 4-bit schemes only/],
    ["unknown option", ["fixtures/opt-350m", "--frobnicate"], 2, /unknown option '--frobnicate'/],
    ["missing path", ["does/not/exist.safetensors"], 3, /does\/not\/exist.safetensors: no such file or directory/],
  ])("%s", async (_name, args, code, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe("");
  });

  it("truncated length prefix, unknown dtype, header past the end of the file", async () => {
    // Same length as "F16", so the header's length prefix stays right.
    const unknownDtype = Buffer.from(Buffer.from(encodeHeaderOnly([["layer.weight", "F16", [2]]])).toString("latin1").replace('"F16"', '"Q16"'), "latin1");
    const long = Buffer.alloc(16);
    long.writeBigUInt64LE(1000n);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["short.safetensors", new Uint8Array([1, 2, 3]), /short\.safetensors: truncated/],
      ["dtype.safetensors", unknownDtype, /dtype\.safetensors: tensor "layer\.weight": unknown dtype "Q16"/],
      ["long.safetensors", long, /long\.safetensors: header length 1000 bytes runs past the end of the file \(16 bytes\)/],
    ];
    for (const [name, bytes, message] of cases) {
      const r = await runCli([write(name, bytes)]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
