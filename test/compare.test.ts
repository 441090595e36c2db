// compare, CI gates and output formats; figures derived by hand from spec §4–§6 (OPT-350m:
// P = 331,196,416; footprints fp32 1,324,785,664, fp16 662,392,832, int8 359,354,368, 4-bit 207,835,136;
// quantization state int8 4 × 222,720 = 890,880, 4-bit 18,949,248, 4-bit + dq 4,968,392; see simulate.test.ts).
import Ajv from "ajv";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCount, parseSchemeList, parseSize } from "../src/cli/options.js";
import { runMain } from "./run-main.js";

const P = 331_196_416;
const TOTAL = { fp32: 1_324_785_664, fp16: 662_392_832, int8: 359_354_368 + 890_880, nf4: 207_835_136 + 18_949_248, "nf4+dq": 207_835_136 + 4_968_392 };

const ajv = new Ajv({ allErrors: true });
ajv.addSchema(JSON.parse(readFileSync("schema/report.schema.json", "utf8")), "report.schema.json");
const validateReport = ajv.getSchema("report.schema.json")!;
const validateComparison = ajv.compile(JSON.parse(readFileSync("schema/comparison.schema.json", "utf8")));

describe("qaudit compare", () => {
  it("default schemes: totals, bits per parameter and ratios", async () => {
    const r = await runMain(["compare", "fixtures/opt-350m", "--json"]);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.schemes).toEqual(["fp32", "fp16", "int8", "fp4", "nf4", "nf4+dq"]);
    expect(c.rows.map((row: { totals: { totalBytes: number } }) => row.totals.totalBytes)).toEqual([TOTAL.fp32, TOTAL.fp16, TOTAL.int8, TOTAL.nf4, TOTAL.nf4, TOTAL["nf4+dq"]]);
    expect(c.rows[2].bitsPerParameter).toBeCloseTo((TOTAL.int8 * 8) / P, 12);
    expect(c.rows[5].ratio).toBeCloseTo(TOTAL["nf4+dq"] / TOTAL.fp32, 12);
    expect(c.rows[1].totals.trainableParameters).toBe(P);
    expect(c.rows[4].totals.reportedParameters).toBe(303_038_464 / 2 + 28_157_952);
    expect(validateComparison(c), JSON.stringify(validateComparison.errors)).toBe(true);
  });

  it("--max-memory marks what fits; --pick prints the best-fidelity scheme that fits", async () => {
    const marked = JSON.parse((await runMain(["compare", "fixtures/opt-350m", "--max-memory", "300MiB", "--json"])).stdout);
    expect(marked.maxMemory).toBe(300 * 2 ** 20);
    expect(marked.rows.map((row: { fits: boolean }) => row.fits)).toEqual([false, false, false, true, true, true]);
    expect((await runMain(["compare", "fixtures/opt-350m", "--max-memory", "300MiB", "--pick"])).stdout).toBe("nf4\n");
    expect((await runMain(["compare", "fixtures/opt-350m", "--max-memory", "220000000", "--pick"])).stdout).toBe("nf4+dq\n");
    expect((await runMain(["compare", "fixtures/opt-350m", "--schemes", "fp16,int8", "--max-memory", "1GB", "--pick"])).stdout).toBe("fp16\n");
    const none = await runMain(["compare", "fixtures/opt-350m", "--max-memory", "100MB", "--pick"]);
    expect(none.code).toBe(5);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe("qaudit: no scheme of fp32, fp16, int8, fp4, nf4, nf4+dq fits fixtures/opt-350m in 100,000,000 bytes (95.37 MiB)\n");
  });

  it("several models side by side, per-layer bytes under every scheme", async () => {
    const r = await runMain(["compare", "fixtures/opt-350m", "fixtures/gpt2", "--schemes", "nf4,int8", "--per-layer", "--json"]);
    const c = JSON.parse(r.stdout);
    expect(c.rows.map((row: { model: string; label: string }) => `${row.model} ${row.label}`)).toEqual([
      "fixtures/opt-350m nf4",
      "fixtures/opt-350m int8",
      "fixtures/gpt2 nf4",
      "fixtures/gpt2 int8",
    ]);
    // GPT-2 under int8 (float32 rest, no config dtype and F32 checkpoint): linears 84,934,656 bytes + 4 × rest 39,505,152; SCB 331,776.
    expect(c.rows[3].totals.totalBytes).toBe(84_934_656 + 4 * 39_505_152 + 331_776);
    const fc1 = c.perLayer.find((l: { model: string; tensor: string }) => l.model === "fixtures/opt-350m" && l.tensor === "model.decoder.layers.*.fc1.weight");
    // 24 × [4096, 1024]: nf4 24 × (2,097,152 + 4 × 65,536 + 64); int8 24 × (4,194,304 + 4 × 4096)
    expect(fc1).toEqual({ model: "fixtures/opt-350m", tensor: "model.decoder.layers.*.fc1.weight", count: 24, bytes: { nf4: 24 * (2_097_152 + 262_144 + 64), int8: 24 * (4_194_304 + 16_384) } });
    expect(validateComparison(c), JSON.stringify(validateComparison.errors)).toBe(true);
  });

  it("markdown and CSV", async () => {
    const md = (await runMain(["compare", "fixtures/opt-350m", "--schemes", "fp16,nf4", "--format", "markdown", "--units", "bytes"])).stdout;
    expect(md).toContain("| scheme | sum(p.numel()) | trainable | parameter bytes | quant state | total | bits/param | ratio |");
    expect(md).toContain(`| nf4 | 179,677,184 | 28,157,952 | 207,835,136 B | 18,949,248 B | 226,784,384 B |`);
    const csv = (await runMain(["compare", "fixtures/opt-350m", "--schemes", "fp16,nf4+dq", "--format", "csv"])).stdout.trim().split("\r\n");
    expect(csv[0]).toBe("model,scheme,double_quant,logical_parameters,reported_parameters,trainable_parameters,parameter_bytes,quant_state_bytes,total_bytes,bits_per_parameter,ratio,fits");
    expect(csv[2]).toMatch(new RegExp(`^fixtures/opt-350m,nf4,true,${P},179677184,28157952,207835136,4968392,${TOTAL["nf4+dq"]},`));
  });

  it.each([
    [["--schemes", "nf5"], /"nf5" is not a scheme; valid: fp32, fp16, bf16, int8, fp4, nf4, fp4\+dq, nf4\+dq/],
    [["--schemes", "nf4,nf4"], /nf4 is listed twice/],
    [["--schemes", "int8+dq"], /int8\+dq is impossible/],
    [["--pick"], /--pick needs --max-memory/],
    [["--max-memory", "lots"], /--max-memory "lots" is not a size/],
  ])("usage errors: %j", async (args, message) => {
    const r = await runMain(["compare", "fixtures/opt-350m", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("CI gates on qaudit <model>", () => {
  it("pass at the limit, fail one past it: report still printed, one line per failure, exit 5", async () => {
    const ok = await runMain(["fixtures/opt-350m", "--scheme", "nf4", "--max-memory", String(TOTAL.nf4), "--max-params", "179677184", "--min-trainable", "28157952", "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).checks).toEqual([
      { name: "max-memory", limit: TOTAL.nf4, actual: TOTAL.nf4, passed: true },
      { name: "max-params", limit: 179_677_184, actual: 179_677_184, passed: true },
      { name: "min-trainable", limit: 28_157_952, actual: 28_157_952, passed: true },
    ]);
    const bad = await runMain(["fixtures/opt-350m", "--scheme", "nf4", "--max-memory", String(TOTAL.nf4 - 1), "--max-params", String(P - 1), "--logical", "--min-trainable", "28157953"]);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toContain("get_memory_footprint()");
    expect(bad.stderr.trim().split("\n")).toEqual([
      `qaudit: check failed: max-memory: limit 226,784,383 bytes (216.28 MiB), actual 226,784,384 bytes (216.28 MiB), over by 1 bytes (1 B)`,
      `qaudit: check failed: max-params: limit 331,196,415, actual 331,196,416, over by 1`,
      `qaudit: check failed: min-trainable: limit 28,157,953, actual 28,157,952, under by 1`,
    ]);
  });

  it("the report JSON validates against schema/report.schema.json, for every scheme", async () => {
    for (const args of [[], ["--scheme", "int8"], ["--scheme", "nf4", "--double-quant", "--max-memory", "1GiB"], ["--scheme", "bf16"]]) {
      const report = JSON.parse((await runMain(["fixtures/gpt2", "--json", ...args])).stdout);
      expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    }
  });
});

describe("parsing sizes, counts and scheme lists", () => {
  it.each([
    ["1234567", 1_234_567],
    ["5GiB", 5 * 2 ** 30],
    ["4.5GB", 4_500_000_000],
    ["512 MiB", 512 * 2 ** 20],
    ["10kB", 10_000],
    ["7168.51MiB", Math.floor(7168.51 * 2 ** 20)],
  ])("size %s = %i bytes", (text, bytes) => expect(parseSize(text, "--max-memory")).toBe(bytes));
  it.each([
    ["7000000000", 7e9],
    ["7,000,000,000", 7e9],
    ["7_000_000_000", 7e9],
    ["7B", 7e9],
    ["3.6B", 3.6e9],
    ["350M", 350e6],
  ])("count %s = %i", (text, n) => expect(parseCount(text, "--max-params")).toBe(n));
  it("scheme lists", () => {
    expect(parseSchemeList("fp32, bf16,nf4+dq")).toEqual([
      { scheme: "fp32", doubleQuant: false },
      { scheme: "bf16", doubleQuant: false },
      { scheme: "nf4", doubleQuant: true },
    ]);
  });
});
