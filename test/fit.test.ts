// qaudit fit: the budget, its exact and estimated parts, and the largest context and batch.
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { readAttentionLayout } from "../src/core/budget/attention-layout.js";
import { trainingActivations } from "../src/core/budget/estimates.js";
import { computeFit, type FitOptions } from "../src/core/budget/fit.js";
import { findGpu, GPUS } from "../src/core/budget/gpus.js";
import type { Totals } from "../src/core/storage/index.js";
import { runMain } from "./run-main.js";

const config = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../fixtures/configs/${name}.json`, import.meta.url), "utf8")) as Record<string, unknown>;
const GiB = 2 ** 30;

// Llama-3-8B in bf16: 8,030,261,248 parameters × 2 bytes (published parameter count).
const llamaTotals: Totals = { logicalParameters: 8_030_261_248, reportedParameters: 8_030_261_248, trainableParameters: 8_030_261_248, parameterBytes: 16_060_522_496, quantStateBytes: 0, totalBytes: 16_060_522_496 };

function options(overrides: Partial<FitOptions>): FitOptions {
  return {
    engine: "transformers",
    context: null,
    batch: 1,
    tensorParallel: 1,
    kvDtype: { key: "auto", value: "auto" },
    gpu: null,
    vllm: { gpuUtil: 0.9, kvCacheMemory: null, blockSize: 16, maxBatchedTokens: null },
    llamaCpp: { ubatch: 512, swaFull: false, unified: false },
    attention: "sdpa",
    gradientCheckpointing: false,
    ...overrides,
  };
}

const input = { layout: readAttentionLayout(config("llama-3-8b")), totals: llamaTotals, computeDtype: "bf16" as const };

describe("computeFit", () => {
  it("components: weights and KV exact, activations and overhead estimates; total is their sum", () => {
    const fit = computeFit(input, options({ context: 12_288, batch: 2 }));
    expect(fit.components.map((c) => [c.name, c.exact])).toEqual([
      ["weights", true],
      ["quantization state", true],
      ["KV cache", true],
      ["activations", false],
      ["runtime overhead", false],
    ]);
    expect(fit.components[0]!.bytes).toBe(16_060_522_496);
    expect(fit.kvCache.bytes).toBe(3_221_225_472);
    expect(fit.total).toBe(fit.components.reduce((s, c) => s + c.bytes, 0));
    expect(fit.fits).toBeNull();
    expect(fit.maxContext).toBeNull();
    for (const c of fit.components.filter((x) => !x.exact)) expect(c.basis).toMatch(/^estimate: .*\(/); // a source in brackets
  });

  it("defaults to the model's maximum context", () => {
    expect(computeFit(input, options({})).context).toBe(8192);
  });

  it("transformers: at maxContext it fits, one token more does not; same for maxBatch", () => {
    const gpu = { name: "test", bytes: 20 * GiB, sm90: false, source: "" };
    const fit = computeFit(input, options({ context: 4096, batch: 4, gpu }));
    expect(fit.maxContext).toBeGreaterThan(0);
    expect(computeFit(input, options({ context: fit.maxContext!, batch: 4, gpu })).fits).toBe(true);
    expect(computeFit(input, options({ context: fit.maxContext! + 1, batch: 4, gpu })).fits).toBe(false);
    expect(computeFit(input, options({ context: 4096, batch: fit.maxBatch!, gpu })).fits).toBe(true);
    expect(computeFit(input, options({ context: 4096, batch: fit.maxBatch! + 1, gpu })).fits).toBe(false);
  });

  it("llama.cpp: one granule (256 cells) past maxContext does not fit", () => {
    const gpu = { name: "test", bytes: 16 * GiB, sm90: false, source: "" };
    const fit = computeFit(input, options({ engine: "llama.cpp", context: 1024, gpu }));
    expect(fit.maxContext).toBeGreaterThan(1024);
    expect(fit.maxContext).toBeLessThan(8192);
    expect(computeFit(input, options({ engine: "llama.cpp", context: fit.maxContext!, gpu })).fits).toBe(true);
    expect(computeFit(input, options({ engine: "llama.cpp", context: fit.maxContext! + 256, gpu })).fits).toBe(false);
  });

  it("vLLM with --kv-cache-memory: the spec's 9,298 blocks; one block past maxContext does not fit", () => {
    const fit = computeFit(input, options({ engine: "vllm", context: 12_288, vllm: { gpuUtil: 0.9, kvCacheMemory: 19_500_000_000, blockSize: 16, maxBatchedTokens: 8192 } }));
    expect(fit.vllm).toMatchObject({ availableKvBytes: 19_500_000_000, blocks: 9298, tokens: 148_768 });
    expect(fit.vllm!.maxConcurrency.toFixed(2)).toBe("12.11");
    expect(fit.vllm!.blocksNeeded).toBe(12_288 / 16); // one request of max_model_len: 768 blocks
    expect(fit.fits).toBe(true);
    // 9,298 blocks hold 148,768 tokens: more than the model's 8,192, so the model's maximum is the answer.
    expect(fit.maxContext).toBe(8192);
    const small = computeFit(input, options({ engine: "vllm", context: 1024, vllm: { gpuUtil: 0.9, kvCacheMemory: 100 * 65_536 * 32, blockSize: 16, maxBatchedTokens: 8192 } }));
    expect(small.maxContext).toBe(1600); // 100 blocks × 16 tokens
    const over = computeFit(input, options({ engine: "vllm", context: 1600 + 16, vllm: { gpuUtil: 0.9, kvCacheMemory: 100 * 65_536 * 32, blockSize: 16, maxBatchedTokens: 8192 } }));
    expect(over.fits).toBe(false);
  });

  it("vLLM on a GPU: the pool is gpu_memory_utilization × memory less everything else", () => {
    const gpu = findGpu("h100")!;
    const fit = computeFit(input, options({ engine: "vllm", context: 8192, gpu }));
    const nonKv = fit.total - fit.kvCache.bytes;
    expect(fit.limit).toBe(Math.ceil(gpu.bytes * 0.9));
    expect(fit.vllm!.availableKvBytes).toBe(fit.limit! - nonKv);
    expect(fit.vllm!.maxBatchedTokens).toBe(16_384); // ≥ 70 GiB and not an A100
  });

  it("--train: training components plus activations, no KV cache", () => {
    const training = { frozenWeights: 1, quantizationState: 2, trainableWeights: 3, gradients: 4, optimizerState: 5, optimizerPageable: 0, masterWeights: 6, total: 21 };
    const fit = computeFit({ ...input, training }, options({ context: 4096 }));
    expect(fit.kvCache.bytes).toBe(0);
    const activations = fit.components.find((c) => c.name === "activations")!;
    expect(activations.bytes).toBe(trainingActivations({ layers: 32, hiddenSize: 4096, heads: 32, intermediateSize: 14_336, vocabSize: 128_256 }, 4096, 1, "sdpa", false).bytes);
  });
});

describe("training activations (Korthikanti; Llama-3-8B-class, s 4,096, b 1)", () => {
  const shape = { layers: 32, hiddenSize: 4096, heads: 32, intermediateSize: 14_336, vocabSize: 128_256 };
  const logits = 4096 * 128_256 * 10; // 5,253,365,760 B
  it("eager: s·b·h·(34 + 5·a·s/h) per layer = 97 GiB over 32 layers, plus logits", () => {
    expect(trainingActivations(shape, 4096, 1, "eager", false).bytes - logits).toBe(97 * GiB);
  });
  it("flash/sdpa: 34·s·b·h per layer = 17 GiB", () => {
    expect(trainingActivations(shape, 4096, 1, "flash", false).bytes - logits).toBe(17 * GiB);
  });
  it("gradient checkpointing: 2·s·b·h·L = 1 GiB + one layer recomputed (0.53 GiB)", () => {
    expect(trainingActivations(shape, 4096, 1, "sdpa", true).bytes - logits).toBe(GiB + 34 * 4096 * 4096);
  });
});

describe("qaudit fit (CLI)", () => {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync("schema/report.schema.json", "utf8")) as object);

  it("--json: the fit object, valid against the shipped schema", async () => {
    const r = await runMain(["fit", "fixtures/falcon-7b-ft", "--scheme", "nf4", "--engine", "vllm", "--context", "2k", "--gpu", "RTX-4090", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.schemaVersion).toBe(2);
    // Falcon-7B MQA: 2 × 32 layers × 1 head × 64 × 2 bytes per token, 128 blocks of 16 for 2,048 tokens.
    expect(report.fit).toMatchObject({ engine: "vllm", context: 2048, batch: 1, tensorParallel: 1, kvDtype: "bf16", gpu: { name: "RTX-4090" } });
    expect(report.fit.kvCache).toEqual({ bytes: 128 * 4096 * 32, bytesPerToken: 8192, groups: [{ kind: "full", layers: 32, tokens: 2048, bytes: 128 * 4096 * 32 }], exact: true });
    expect(report.fit.components[0].bytes).toBe(report.totals.parameterBytes);
  });

  it("table: verdict and largest context/batch; --explain shows the arithmetic", async () => {
    const r = await runMain(["fit", "fixtures/gpt2", "--gpu", "T4", "--context", "700", "--batch", "8", "--explain"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fits with .* to spare/);
    expect(r.stdout).toMatch(/largest context at batch 8: 1,024 tokens/);
    // GPT-2 in F32: 12 layers × 12 heads × (64 + 64) × 4 bytes × 700 tokens × 8 sequences.
    expect(r.stdout).toContain("= 412,876,800 bytes");
  });

  it("--max-memory gates the fit total", async () => {
    const r = await runMain(["fit", "fixtures/gpt2", "--context", "700", "--max-memory", "100MiB"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/max-memory/);
  });

  it.each([
    [["--gpu", "RTX-4909"], /not in the catalogue \(did you mean RTX-4090/],
    [["--context", "0"], /--context takes a token count/],
    [["--context", "-5"], /--context/],
    [["--context", "abc"], /--context/],
    [["--context", "2147483648"], /--context/],
    [["--engine", "transformers", "--kv-dtype", "fp8"], /--kv-dtype fp8/],
    [["--engine", "vllm", "--kv-dtype", "q4_0"], /--kv-dtype q4_0/],
    [["--engine", "llama.cpp", "--kv-dtype", "fp8"], /fp8 is vLLM's/],
    [["--gpu-util", "0.9"], /--gpu-util applies to --engine vllm/],
    [["--engine", "vllm", "--gpu-util", "1.5"], /--gpu-util takes a fraction/],
    [["--batch", "0x10"], /--batch takes a whole number/],
    [["--tp", "2"], /--tp applies to --engine vllm or llama.cpp/],
  ])("%j → exit 2", async (args, message) => {
    const r = await runMain(["fit", "fixtures/gpt2", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("no config.json → exit 3, saying fit needs it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qaudit-fit-"));
    copyFileSync("fixtures/gpt2/model.safetensors", join(dir, "model.safetensors"));
    const r = await runMain(["fit", dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/fit needs config\.json/);
  });
});

describe("the GPU catalogue", () => {
  it("every entry whose source quotes PyTorch's 'total capacity of X GiB' stores exactly X GiB", () => {
    let quoted = 0;
    for (const gpu of GPUS) {
      expect(gpu.source.length).toBeGreaterThan(0);
      const match = /total capacity of (\d+\.\d+) GiB|\((\d+\.\d+) GiB total capacity\)|'(\d+\.\d+) GiB total capacity'/.exec(gpu.source);
      if (match === null) continue;
      quoted += 1;
      const gib = Number(match[1] ?? match[2] ?? match[3]);
      expect(gpu.bytes, gpu.name).toBe(Math.round(gib * 2 ** 30));
    }
    // T4, A100-80GB, A100-40GB, V100-32GB, RTX-4090, RTX-5090, L40S, L4 (and the reports on H100, A10G, RTX-3090).
    expect(quoted).toBeGreaterThanOrEqual(8);
  });
});
