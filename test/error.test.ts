// qaudit error end to end: real values in safetensors files, figures from the quantization-error
// notes' worked examples (by hand) and from statistics with stated tolerances.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain JS mock
import { startMockHub } from "../scripts/mock-hub.mjs";
import { globMatcher } from "../src/cli/error.js";
import { runMain } from "./run-main.js";
import { gaussian, random } from "./values.js";
import { asBf16, encodeWithValues, writeModel } from "./weights.js";

const block = Float32Array.from({ length: 64 }, (_, k) => (k - 32) / 64);
const tail = Float32Array.from([...block, 0.01, -0.02, 0.03]);
const dir = (): string => mkdtempSync(join(tmpdir(), "qaudit-error-"));

async function errorJson(model: string, ...args: string[]) {
  const r = await runMain(["error", model, "--json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { error: { sampled: boolean; bytesRead: number; tensors: Array<{ name: string; elements: number; sqnrDb: number | null; rmse: number; maxAbsError: number; overflow: number; underflow: number; nonFinite: number }>; overall: { elements: number; sqnrDb: number | null }; skipped: Array<{ name: string; reason: string }>; notes: string[] } };
}
const byName = (report: Awaited<ReturnType<typeof errorJson>>, name: string) => report.error.tensors.find((t) => t.name === name)!;

describe("worked examples through the whole pipeline (--full)", () => {
  let model: string;
  beforeAll(() => {
    model = writeModel(dir(), [
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "F32", shape: [1, 64], values: block },
      { name: "model.layers.0.mlp.down_proj.weight", dtype: "F32", shape: [1, 67], values: tail },
      { name: "model.layers.1.mlp.up_proj.weight", dtype: "F32", shape: [2, 4], values: Float32Array.from([0.5, -1.27, 0.3, 0.004, 127, 2.5, 3.5, -0.5]) },
      { name: "model.layers.1.mlp.down_proj.weight", dtype: "BF16", shape: [1, 64], values: block },
      { name: "model.embed_tokens.weight", dtype: "BF16", shape: [4, 64], values: asBf16(gaussian(256, 3)) },
    ]);
  });
  it("nf4: 20.634041… dB for the 64-value block, 20.635104… for the 67-value tensor, 20.6167… in BF16", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--full");
    expect(r.error.sampled).toBe(false);
    expect(byName(r, "model.layers.0.mlp.up_proj.weight").sqnrDb).toBeCloseTo(20.63404122775452, 9);
    expect(byName(r, "model.layers.0.mlp.down_proj.weight").sqnrDb).toBeCloseTo(20.635104867750872, 9);
    expect(byName(r, "model.layers.1.mlp.down_proj.weight").sqnrDb).toBeCloseTo(20.616717333162086, 9);
    // The embedding is not quantized, so not measured.
    expect(r.error.tensors.map((t) => t.name)).not.toContain("model.embed_tokens.weight");
  });
  it("nf4 + double quant on the 67-value tensor: 20.634487… dB", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--double-quant", "--full", "--tensors", "layers.0.mlp.down_proj");
    expect(r.error.tensors).toHaveLength(1);
    expect(r.error.tensors[0]!.sqnrDb).toBeCloseTo(20.63448739987075, 9);
  });
  it("fp4: 18.939665… dB; int8 rows: 43.330938… dB", async () => {
    const fp4 = await errorJson(model, "--scheme", "fp4", "--full");
    expect(byName(fp4, "model.layers.0.mlp.up_proj.weight").sqnrDb).toBeCloseTo(18.93966519056747, 9);
    const int8 = await errorJson(model, "--scheme", "int8", "--full");
    expect(byName(int8, "model.layers.1.mlp.up_proj.weight").sqnrDb).toBeCloseTo(43.33093855333141, 9);
  });
  it("fp16 measures every cast tensor; BF16 inside fp16's range is exact (SQNR null)", async () => {
    const r = await errorJson(model, "--scheme", "fp16", "--full");
    expect(r.error.tensors.map((t) => t.name)).toContain("model.embed_tokens.weight");
    expect(byName(r, "model.layers.1.mlp.down_proj.weight")).toMatchObject({ sqnrDb: null, rmse: 0 });
  });
  it("the overall figure pools the sums (element-weighted)", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--full");
    expect(r.error.overall.elements).toBe(64 + 67 + 8 + 64);
  });
});

describe("hostile values", () => {
  it("bf16 values above 65504 overflow fp16 and int8; subnormal F16 stays exact; NaN is counted, never a NaN figure", async () => {
    const big = asBf16(Float32Array.from({ length: 64 }, (_, i) => (i === 3 ? 70_000 : i === 5 ? -1e6 : i / 64)));
    const withNan = Float32Array.from({ length: 128 }, (_, i) => (i === 7 ? Number.NaN : i === 100 ? Infinity : Math.sin(i)));
    const subnormal = Uint16Array.from({ length: 64 }, (_, i) => i + 1); // 2^-24 … 64·2^-24
    const model = writeModel(dir(), [
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [1, 64], values: big },
      { name: "model.layers.0.mlp.gate_proj.weight", dtype: "F32", shape: [2, 64], values: withNan },
      { name: "model.layers.0.mlp.down_proj.weight", dtype: "F16", shape: [1, 64], values: subnormal },
    ]);
    const fp16 = await errorJson(model, "--scheme", "fp16", "--full");
    expect(byName(fp16, "model.layers.0.mlp.up_proj.weight")).toMatchObject({ overflow: 2, elements: 62 });
    expect(byName(fp16, "model.layers.0.mlp.down_proj.weight")).toMatchObject({ sqnrDb: null, rmse: 0, underflow: 0 });
    expect(byName(fp16, "model.layers.0.mlp.gate_proj.weight")).toMatchObject({ nonFinite: 2, elements: 126 });
    const int8 = await errorJson(model, "--scheme", "int8", "--full");
    expect(byName(int8, "model.layers.0.mlp.up_proj.weight")).toMatchObject({ overflow: 2, elements: 0, sqnrDb: null });
    const nf4 = await errorJson(model, "--scheme", "nf4", "--full");
    // NaN at 7 and inf at 100: blocks 0 and 1 of the [2, 64] tensor are both excluded.
    expect(byName(nf4, "model.layers.0.mlp.gate_proj.weight")).toMatchObject({ nonFinite: 2, elements: 0, sqnrDb: null });
    expect(nf4.error.notes.join(" ")).toMatch(/NaN or infinite/);
  });
  it("a header-only file: exit 3 naming the tensor", async () => {
    const r = await runMain(["error", "fixtures/tiny-llama", "--scheme", "nf4"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/tensor "model\.layers\.\d\..*": data shorter than its offsets say/);
  });
  it.each([
    [["--scheme", "nf4", "--max-bytes", "100"], /over --max-bytes/],
    [["--scheme", "q4"], /--scheme/],
    [[], /error needs --scheme/],
    [["--scheme", "int8", "--double-quant"], /--double-quant applies to the 4-bit schemes/],
    [["--scheme", "nf4", "--full", "--sample", "1KiB"], /--full and --sample/],
    [["--scheme", "nf4", "--seed", "1e3"], /--seed takes a whole number/],
  ])("%j → exit 2", async (args, message) => {
    const model = writeModel(dir(), [{ name: "model.layers.0.mlp.up_proj.weight", dtype: "F32", shape: [64, 64], values: gaussian(4096, 1) }]);
    const r = await runMain(["error", model, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("sampling", () => {
  // 1024 × 1024 BF16 (2 MiB): the default 256 KiB sample reads one eighth of it.
  let model: string;
  beforeAll(() => {
    model = writeModel(dir(), [
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [1024, 1024], values: asBf16(gaussian(1024 * 1024, 7)) },
      { name: "model.layers.1.mlp.up_proj.weight", dtype: "BF16", shape: [1024, 1024], values: asBf16(gaussian(1024 * 1024, 8)) },
    ]);
  });
  it("reads whole units up to the sample size, and repeats with the same seed", async () => {
    const a = await errorJson(model, "--scheme", "nf4");
    expect(a.error.sampled).toBe(true);
    expect(a.error.bytesRead).toBe(2 * 256 * 1024);
    const b = await errorJson(model, "--scheme", "nf4");
    expect(b.error.tensors).toEqual(a.error.tensors);
    const c = await errorJson(model, "--scheme", "nf4", "--seed", "9");
    expect(c.error.tensors[0]!.sqnrDb).not.toBe(a.error.tensors[0]!.sqnrDb);
  });
  // The SQNR estimate's standard error from 131,072 Gaussian elements is about 0.02 dB (notes §7);
  // 0.2 dB is ten of them, ≈ 1 % of the ~20 dB figure.
  it.each([["nf4"], ["fp4"], ["int8"]])("%s: sampled SQNR within 0.2 dB of the full figure", async (scheme) => {
    const sampled = await errorJson(model, "--scheme", scheme);
    const full = await errorJson(model, "--scheme", scheme, "--full");
    expect(full.error.bytesRead).toBe(2 * 2 * 1024 * 1024);
    expect(Math.abs(sampled.error.overall.sqnrDb! - full.error.overall.sqnrDb!)).toBeLessThan(0.2);
  });
  it("double quant sampled: whole 16,384-value groups, the offset said to be an estimate", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--double-quant");
    expect(r.error.bytesRead % (16_384 * 2)).toBe(0);
    expect(r.error.notes.join(" ")).toMatch(/offset from 2048 of 16384 blocks/);
    const full = await errorJson(model, "--scheme", "nf4", "--double-quant", "--full");
    expect(Math.abs(r.error.overall.sqnrDb! - full.error.overall.sqnrDb!)).toBeLessThan(0.2);
  });
  it("the table says what was read and the share of the model", async () => {
    const r = await runMain(["error", model, "--scheme", "nf4"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/read 512\.00 KiB \(524,288 bytes\), 12\.50 % of the model's 4\.00 MiB/);
    expect(r.stdout).toMatch(/model\.layers\.\*\.mlp\.up_proj\.weight\s+│\s+×2/);
  });
});

describe("from the Hub (mock)", () => {
  let hub: { endpoint: string; addRepo: (id: string, o: object) => string; state: { ignoreRange: boolean }; stats: { requests: number; bytesSent: number }; reset: () => void; close: () => Promise<void> };
  const values = asBf16(gaussian(512 * 512, 5));
  beforeAll(async () => {
    hub = await startMockHub({ lifetimeMs: 60_000 });
    const file = encodeWithValues([
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [512, 512], values },
      { name: "model.layers.1.mlp.up_proj.weight", dtype: "BF16", shape: [512, 512], values },
    ]);
    hub.addRepo("org/real", { files: { "config.json": JSON.stringify({ model_type: "llama", torch_dtype: "bfloat16" }), "model.safetensors": file } });
  });
  afterAll(async () => hub.close());
  const env = (): Record<string, string> => ({ HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: dir(), HOME: dir() });

  it("range reads of the sample only: bytes read ≤ sample × tensors", async () => {
    hub.reset();
    const r = await runMain(["error", "org/real", "--scheme", "nf4", "--sample", "64KiB", "--json"], env());
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.error.bytesRead).toBe(2 * 64 * 1024);
    // Plus the header: one speculative range read of 100,000 bytes (the default first read) and config.json.
    expect(hub.stats.bytesSent).toBeLessThan(2 * 64 * 1024 + 100_000 + 1000);
    // The file's CDN address is asked of the Hub once for the weights: later ranges go there directly.
    const hubHost = (hub as unknown as { log: Array<{ host: string; path: string }> }).log.filter((l) => l.host === "hub" && l.path.endsWith("model.safetensors"));
    // Without it: the header read and one per range, 1 + 16. With it: the header read and the first
    // weight reads that start before any has returned (two here, one per tensor, give or take a race).
    expect(hubHost.length).toBeLessThanOrEqual(5);
  });
  it("a server that ignores Range on a data read: exit 4, nothing more downloaded", async () => {
    hub.reset();
    hub.state.ignoreRange = true;
    const r = await runMain(["error", "org/real", "--scheme", "nf4", "--no-cache"], env());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/ignores Range/);
  });
});

describe("--tensors", () => {
  it("substring, or * wildcards anchored at both ends", () => {
    expect(globMatcher("down_proj")("model.layers.3.mlp.down_proj.weight")).toBe(true);
    expect(globMatcher("*.mlp.*")("model.layers.3.mlp.down_proj.weight")).toBe(true);
    expect(globMatcher("model.*.q_proj.weight")("model.layers.3.mlp.down_proj.weight")).toBe(false);
    expect(globMatcher("a*a*a*a*b")("a".repeat(5000))).toBe(false); // linear, no backtracking blow-up
    expect(random(1)()).toBeGreaterThanOrEqual(0);
  });
});

describe("JSON contract", () => {
  it("the error section validates against the shipped schema", async () => {
    const Ajv = (await import("ajv")).default;
    const { readFileSync } = await import("node:fs");
    const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync("schema/report.schema.json", "utf8")) as object);
    const model = writeModel(dir(), [
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "F32", shape: [1, 64], values: block },
      { name: "model.layers.0.mlp.down_proj.weight", dtype: "F32", shape: [1, 64], values: new Float32Array(64) },
    ]);
    const r = await runMain(["error", model, "--scheme", "nf4", "--json"]);
    const report = JSON.parse(r.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    // The all-zero tensor: SQNR null (JSON has no infinity), exact.
    expect(report.error.tensors.find((t: { name: string }) => t.name.endsWith("down_proj.weight"))).toMatchObject({ sqnrDb: null, rmse: 0 });
  });
});

describe("--keep-budget", () => {
  // Two [64, 64] BF16 weights: in nf4 each takes 2,048 bytes + 64 absmax × 4 + a 64-byte code book = 2,368;
  // kept in bf16 it takes 8,192, so keeping one back costs 5,824 bytes.
  const outliers = gaussian(4096, 2);
  for (let i = 0; i < 4096; i += 64) outliers[i] = 40; // one large value per block: the rest collapse toward 0
  let model: string;
  beforeAll(() => {
    model = writeModel(dir(), [
      { name: "model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [64, 64], values: asBf16(gaussian(4096, 1)) },
      { name: "model.layers.0.mlp.down_proj.weight", dtype: "BF16", shape: [64, 64], values: asBf16(outliers) },
    ]);
  });
  it("keeps the worse module when exactly one fits: 4,736 + 5,824 bytes", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--full", "--keep-budget", String(4736 + 5824));
    const keep = (r.error as unknown as { keep: { modules: string[]; totalBytes: number; baselineBytes: number; skipModules: string[] } }).keep;
    expect(keep.baselineBytes).toBe(2 * 2368);
    expect(keep.modules).toEqual(["model.layers.0.mlp.down_proj"]);
    expect(keep.totalBytes).toBe(4736 + 5824);
  });
  it("one byte less: nothing can be kept", async () => {
    const r = await errorJson(model, "--scheme", "nf4", "--full", "--keep-budget", String(4736 + 5823));
    expect((r.error as unknown as { keep: { modules: string[] } }).keep.modules).toEqual([]);
  });
  it("prints the --skip-modules value and transformers' list", async () => {
    const r = await runMain(["error", model, "--scheme", "nf4", "--full", "--keep-budget", "20000"]);
    expect(r.stdout).toMatch(/--skip-modules model\.layers\.0\.mlp\.down_proj,model\.layers\.0\.mlp\.up_proj/);
    expect(r.stdout).toContain('llm_int8_skip_modules=["model.layers.0.mlp.down_proj","model.layers.0.mlp.up_proj"]');
  });
});

describe("compare --error", () => {
  it("one SQNR per scheme from the same sample; fp32 exact; nf4+dq within 0.1 dB of nf4", async () => {
    const model = writeModel(dir(), [{ name: "model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [256, 256], values: asBf16(gaussian(65_536, 4)) }]);
    const r = await runMain(["compare", model, "--schemes", "fp32,nf4,nf4+dq,fp4,int8", "--error", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).rows as Array<{ label: string; error: { sqnrDb: number | null; rmse: number } }>;
    const sqnr = Object.fromEntries(rows.map((row) => [row.label, row.error.sqnrDb]));
    expect(sqnr.fp32).toBeNull();
    // Gaussian weights: NF4 beats FP4 and int8 beats both (bitsandbytes' own statistics order).
    expect(sqnr.nf4!).toBeGreaterThan(sqnr.fp4!);
    expect(sqnr.int8!).toBeGreaterThan(sqnr.nf4!);
    expect(Math.abs(sqnr.nf4! - sqnr["nf4+dq"]!)).toBeLessThan(0.1);
    const single = await errorJson(model, "--scheme", "nf4");
    expect(sqnr.nf4).toBe(single.error.overall.sqnrDb);
  });
});
