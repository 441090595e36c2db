// KV cache per engine, against figures derived by hand from the inference-memory formulas for
// real public configs (fixtures/configs/README.md names each source).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readAttentionLayout } from "../src/core/budget/attention-layout.js";
import { computeKvCache, vllmCapacity, type KvDtype, type KvSettings } from "../src/core/budget/kv-cache.js";

const config = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../fixtures/configs/${name}.json`, import.meta.url), "utf8")) as Record<string, unknown>;
const layout = (name: string) => readAttentionLayout(config(name));

function settings(overrides: Partial<KvSettings> & { kv?: KvDtype | [KvDtype, KvDtype] }): KvSettings {
  const kv = overrides.kv ?? "auto";
  const [key, value] = Array.isArray(kv) ? kv : [kv, kv];
  return {
    engine: "transformers",
    context: 1024,
    batch: 1,
    tensorParallel: 1,
    computeDtype: "bf16",
    vllm: { blockSize: 16, maxBatchedTokens: 2048 },
    llamaCpp: { ubatch: 512, swaFull: false, unified: false },
    ...overrides,
    kvDtype: { key, value },
  };
}
const MiB = 1_048_576;

describe("GQA: Llama-3-8B (32 layers, 8 KV heads of 128)", () => {
  const l = layout("llama-3-8b");
  it("transformers, dynamic, batch 2 × 12,288 tokens: 2 × 12,288 × 32 × 4,096 B", () => {
    const kv = computeKvCache(l, settings({ context: 12_288, batch: 2 }));
    expect(kv.bytes).toBe(2 * 12_288 * 32 * 4096);
    expect(kv.bytes).toBe(3_221_225_472);
    expect(kv.bytesPerToken).toBe(32 * 2 * 8 * 128 * 2); // 128 KiB
    expect(kv.groups).toEqual([{ kind: "full", layers: 32, tokens: 12_288, bytes: 3_221_225_472 }]);
    expect(kv.exact).toBe(true);
  });
  it("llama.cpp -c 11000: 11,008 cells, its own log line", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 11_000 }));
    expect(kv.bytes).toBe(2 * 11_008 * 32 * 2048);
    expect(kv.logLines).toEqual(["llama_kv_cache: size = 1376.00 MiB ( 11008 cells,  32 layers,  1/1 seqs), K (f16):  688.00 MiB, V (f16):  688.00 MiB"]);
  });
  it("llama.cpp q8_0 and q4_0 rows (34 and 18 bytes per 32 values)", () => {
    const q8 = computeKvCache(l, settings({ engine: "llama.cpp", context: 11_000, kv: "q8_0" }));
    expect(q8.bytes).toBe(2 * 11_008 * 32 * 1088);
    expect(q8.logLines![0]).toContain("size =  731.00 MiB");
    expect(q8.logLines![0]).toContain("K (q8_0):  365.50 MiB");
    const q4 = computeKvCache(l, settings({ engine: "llama.cpp", context: 11_000, kv: "q4_0" }));
    expect(q4.bytes / MiB).toBe(387);
    const mixed = computeKvCache(l, settings({ engine: "llama.cpp", context: 11_000, kv: ["q8_0", "q4_0"] }));
    expect(mixed.bytes).toBe(11_008 * 32 * (1088 + 576));
    expect(mixed.dtype).toBe("q8_0,q4_0");
    expect(mixed.notes.join(" ")).toContain("flash attention");
  });
  it("vLLM, --kv-cache-memory 19.5e9, max_model_len 12,288: 9,298 blocks, 148,768 tokens, 12.11x", () => {
    const kv = computeKvCache(l, settings({ engine: "vllm", context: 12_288 }));
    expect(kv.vllm).toMatchObject({ pageBytes: 65_536, groupSize: 32, groups: 1, blocksPerRequest: 768 });
    const cap = vllmCapacity(kv.vllm!, 19_500_000_000, 12_288);
    expect(cap.blocks).toBe(9298);
    expect(cap.tokens).toBe(148_768);
    expect(cap.maxConcurrency.toFixed(2)).toBe("12.11");
  });
  it("vLLM tp 2 and fp8 halve the page; tp 16 replicates one head", () => {
    for (const s of [settings({ engine: "vllm", context: 12_288, tensorParallel: 2 }), settings({ engine: "vllm", context: 12_288, kv: "fp8" })]) {
      const cap = vllmCapacity(computeKvCache(l, s).vllm!, 19_500_000_000, 12_288);
      expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2)]).toEqual([18_596, 297_536, "24.21"]);
    }
    const tp16 = computeKvCache(l, settings({ engine: "vllm", context: 12_288, tensorParallel: 16 }));
    expect(tp16.vllm!.pageBytes).toBe(8192);
    const cap = vllmCapacity(tp16.vllm!, 19_500_000_000, 12_288);
    expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2)]).toEqual([74_386, 1_190_176, "96.86"]);
  });
});

describe("MQA: Falcon-7B (multi_query ⇒ one KV head of 64)", () => {
  const l = layout("falcon-7b");
  it("transformers, batch 3 × 1,800 tokens: 3 × 1,800 × 8,192 B", () => {
    expect(computeKvCache(l, settings({ context: 1800, batch: 3 })).bytes).toBe(44_236_800);
  });
  it("llama.cpp -c 6500 in f16 and q8_0", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 6500 }));
    expect(kv.logLines).toEqual(["llama_kv_cache: size =   52.00 MiB (  6656 cells,  32 layers,  1/1 seqs), K (f16):   26.00 MiB, V (f16):   26.00 MiB"]);
    const q8 = computeKvCache(l, settings({ engine: "llama.cpp", context: 6500, kv: "q8_0" }));
    expect(q8.bytes / MiB).toBe(27.625);
    expect(q8.logLines![0]).toContain("K (q8_0):   13.81 MiB");
  });
  it("vLLM tp 2 keeps the single head: 38,146 blocks, 610,336 tokens, 298.02x", () => {
    const kv = computeKvCache(l, settings({ engine: "vllm", context: 2048, tensorParallel: 2 }));
    expect(kv.vllm!.pageBytes).toBe(4096);
    const cap = vllmCapacity(kv.vllm!, 5_000_000_000, 2048);
    expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2)]).toEqual([38_146, 610_336, "298.02"]);
  });
});

describe("MHA: GPT-2 small, fp32 compute", () => {
  it("batch 8 × 700 tokens: 8 × 700 × 12 × 6,144 B; half in bf16", () => {
    const l = layout("gpt2");
    expect(l.maxContext).toBe(1024);
    expect(computeKvCache(l, settings({ context: 700, batch: 8, computeDtype: "fp32" })).bytes).toBe(412_876_800);
    expect(computeKvCache(l, settings({ context: 700, batch: 8, computeDtype: "bf16" })).bytes).toBe(412_876_800 / 2);
  });
});

describe("every layer sliding: Mistral-7B-v0.1 (window 4096)", () => {
  const l = layout("mistral-7b-v0.1");
  it("transformers keeps W − 1 = 4,095 tokens per layer", () => {
    const kv = computeKvCache(l, settings({ context: 16_384 }));
    expect(kv.bytes).toBe(32 * 4096 * 4095);
    expect(kv.groups).toEqual([{ kind: "sliding", layers: 32, tokens: 4095, bytes: 536_739_840 }]);
    expect(kv.bytesPerToken).toBe(0); // past the window one more token costs nothing
  });
  it("vLLM: 5,376 blocks, 385 blocks per request, 13.96x, newer log 457,560 tokens", () => {
    const kv = computeKvCache(l, settings({ engine: "vllm", context: 32_768 }));
    expect(kv.vllm!.blocksPerRequest).toBe(385);
    const cap = vllmCapacity(kv.vllm!, 11_274_289_152, 32_768);
    expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2), cap.tokensNewLog]).toEqual([5376, 86_016, "13.96", 457_560]);
  });
  it("llama.cpp does not enable SWA for mistral: full-length cache, said in a note", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 8192 }));
    expect(kv.bytes).toBe(8192 * 32 * 4096);
    expect(kv.notes.join(" ")).toContain("full length");
  });
});

describe("MLA: DeepSeek-V2-Lite (r 512, rope 64, nope 128, v 128, 16 heads, 27 layers)", () => {
  const l = layout("deepseek-v2-lite");
  it("transformers decompresses: 16 × (128 + 64 + 128) × 2 B per token per layer", () => {
    const kv = computeKvCache(l, settings({ context: 40_960 }));
    expect(kv.bytesPerToken).toBe(276_480);
    expect(kv.bytes).toBe(11_324_620_800);
  });
  it("vLLM keeps the 576-value latent, unsplit by tp: 8,630 blocks, 138,080 tokens, 3.37x", () => {
    for (const tp of [1, 2]) {
      const kv = computeKvCache(l, settings({ engine: "vllm", context: 40_960, tensorParallel: tp }));
      expect(kv.vllm!.pageBytes).toBe(18_432);
      const cap = vllmCapacity(kv.vllm!, 4_294_967_296, 40_960);
      expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2)]).toEqual([8630, 138_080, "3.37"]);
    }
    const fp8 = computeKvCache(l, settings({ engine: "vllm", context: 40_960, kv: "fp8" }));
    expect(fp8.bytesPerToken).toBe(15_552);
    const big = computeKvCache(l, settings({ engine: "vllm", context: 40_960, vllm: { blockSize: 64, maxBatchedTokens: 2048 } }));
    const cap = vllmCapacity(big.vllm!, 4_294_967_296, 40_960);
    expect([cap.blocks, cap.tokens]).toEqual([2157, 138_048]);
  });
  it("llama.cpp: K only, 1215.00 MiB; q8_0 645.47 MiB", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 40_960 }));
    expect(kv.logLines![0]).toContain("K (f16): 1215.00 MiB, V (f16):    0.00 MiB");
    const q8 = computeKvCache(l, settings({ engine: "llama.cpp", context: 40_960, kv: "q8_0" }));
    expect(q8.logLines![0]).toContain("K (q8_0):  645.47 MiB");
  });
});

describe("sliding-mixed (pattern 6: 5 full, 25 sliding of 3,072; 4 KV heads of 128)", () => {
  const l = layout("sliding-mixed");
  it("reads the pattern: layers 5, 11, 17, 23, 29 full", () => {
    expect(l.layers.flatMap((x, i) => (x.kind === "full" ? [i] : []))).toEqual([5, 11, 17, 23, 29]);
  });
  it("llama.cpp -c 24000, llama-server's 4 unified slots: non-SWA 235.00 MiB, SWA 12,800 cells 625.00 MiB", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 6000, batch: 4, llamaCpp: { ubatch: 512, swaFull: false, unified: true } }));
    expect(kv.logLines![0]).toMatch(/^llama_kv_cache: size =  235\.00 MiB \( 24064 cells,   5 layers,  4\/1 seqs\), K \(f16\):  117\.50 MiB/);
    expect(kv.logLines![1]).toMatch(/^llama_kv_cache: size =  625\.00 MiB \( 12800 cells,  25 layers,  4\/1 seqs\), K \(f16\):  312\.50 MiB/);
  });
  it("one sequence: SWA 3,584 cells (175.00 MiB); --swa-full: 24,064 cells", () => {
    const one = computeKvCache(l, settings({ engine: "llama.cpp", context: 24_000 }));
    expect(one.logLines![1]).toContain("size =  175.00 MiB (  3584 cells,  25 layers");
    const full = computeKvCache(l, settings({ engine: "llama.cpp", context: 24_000, llamaCpp: { ubatch: 512, swaFull: true, unified: false } }));
    expect(full.logLines![1]).toContain("K (f16):  587.50 MiB");
  });
  it("transformers dynamic: (5 × 24,000 + 25 × 3,071) × 2,048 B", () => {
    expect(computeKvCache(l, settings({ context: 24_000 })).bytes).toBe(402_995_200);
  });
  it("vLLM: group size 5, 6 groups, 52,428 blocks, 139,808 tokens, 3,653 blocks per request, 14.35x", () => {
    const kv = computeKvCache(l, settings({ engine: "vllm", context: 32_768 }));
    expect(kv.vllm).toMatchObject({ groupSize: 5, groups: 6, blocksPerRequest: 3653 });
    const cap = vllmCapacity(kv.vllm!, 8_589_934_592, 32_768);
    expect([cap.blocks, cap.tokens, cap.maxConcurrency.toFixed(2), cap.tokensNewLog]).toEqual([52_428, 139_808, "14.35", 470_287]);
  });
});

describe("Gated-DeltaNet hybrid (7 full, 21 linear)", () => {
  const l = layout("deltanet-hybrid");
  it("transformers: fixed 33,890,304 B per sequence plus 14,336 B per token", () => {
    const one = computeKvCache(l, settings({ context: 1 }));
    const two = computeKvCache(l, settings({ context: 2 }));
    expect(two.bytes - one.bytes).toBe(14_336);
    expect(one.bytes - 14_336).toBe(33_890_304);
    expect(one.bytesPerToken).toBe(14_336);
    expect(one.groups.find((g) => g.kind === "linear")).toEqual({ kind: "linear", layers: 21, tokens: 0, bytes: 33_890_304 });
  });
  it("llama.cpp, 4 unified slots at -c 30000: recurrent and KV lines", () => {
    const kv = computeKvCache(l, settings({ engine: "llama.cpp", context: 7500, batch: 4, llamaCpp: { ubatch: 512, swaFull: false, unified: true } }));
    expect(kv.logLines).toEqual([
      "llama_kv_cache: size =  413.00 MiB ( 30208 cells,   7 layers,  4/1 seqs), K (f16):  206.50 MiB, V (f16):  206.50 MiB",
      "llama_memory_recurrent: size =  130.92 MiB (     4 cells,  28 layers,  4 seqs  0 rs_seq), R (f32):    4.92 MiB, S (f32):  126.00 MiB",
    ]);
  });
  it("vLLM: the attention block grows to hold the 1,603,584-byte state; flagged as not exact", () => {
    const kv = computeKvCache(l, settings({ engine: "vllm", context: 8192 }));
    expect(kv.vllm!.blockSize).toBeGreaterThanOrEqual(783);
    expect(kv.vllm!.pageBytes).toBeGreaterThanOrEqual(1_603_584);
    expect(kv.exact).toBe(false);
  });
});

describe("refused combinations", () => {
  const l = layout("llama-3-8b");
  it.each([
    ["transformers", "fp8"],
    ["transformers", "q8_0"],
    ["vllm", "q4_0"],
    ["llama.cpp", "fp8"],
  ] as const)("%s with --kv-dtype %s is a usage error", (engine, kv) => {
    expect(() => computeKvCache(l, settings({ engine, kv }))).toThrow(/--kv-dtype/);
  });
});

describe("config reading", () => {
  it("prototype keys are data, not lookups", () => {
    const l = readAttentionLayout({ model_type: "__proto__", num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, constructor: 3 });
    expect(l.layers).toHaveLength(2);
  });
  it("names what is missing", () => {
    expect(() => readAttentionLayout({ model_type: "mystery", hidden_size: 64 })).toThrow(/missing layers .*attention heads/);
  });
  it("text_config of a multimodal config", () => {
    const l = readAttentionLayout({ model_type: "llava", text_config: { model_type: "llama", num_hidden_layers: 3, hidden_size: 256, num_attention_heads: 4, num_key_value_heads: 2 } });
    expect(l.layers).toEqual(Array(3).fill({ kind: "full", kvHeads: 2, keyDim: 64, valueDim: 64 }));
  });
});
