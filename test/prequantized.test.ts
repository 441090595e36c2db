// Checkpoints saved already quantized (spec §7, issue 6). Figures derived by hand from the layouts;
// logical counts also cross-checked against @huggingface/hub's own counting of the same headers.
import { computeNumOfParamsByDtypeSingleFile } from "@huggingface/hub";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detectPrequantized } from "../src/core/storage/prequantized.js";
import { loadLocalCheckpoint } from "../src/io/local.js";
import { InputError } from "../src/core/errors.js";
import { fourBitStateBytes } from "../src/core/storage/schemes.js";
// @ts-expect-error plain JS model lists
import { bnb4Tensors, bnbQuantStateJson, tinyLlama } from "../scripts/models.mjs";
import { checkpointOf, simulate, tensorOf } from "./helpers.js";
import { runMain } from "./run-main.js";

const dir = (name: string) => `fixtures/prequantized/${name}`;
const audit = async (name: string, options = {}) => simulate(await loadLocalCheckpoint(dir(name)), options);

// Llama-3.2-1B: 1,235,814,400 parameters (published); linears per layer q 2048², k 512·2048, v 512·2048,
// o 2048², gate/up/down 8192·2048 = 60,817,408, × 16 = 973,078,528; the rest R = 262,735,872 (tied embedding, norms).
const LLAMA_1B = { total: 1_235_814_400, linear: 973_078_528, rest: 262_735_872 };
const LLAMA_1B_LINEARS: Array<[number, number]> = [[2048, 2048], [512, 2048], [512, 2048], [2048, 2048], [8192, 2048], [8192, 2048], [2048, 8192]];

function hubCount(name: string): number {
  const bytes = readFileSync(`${dir(name)}/model.safetensors`);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  const config = JSON.parse(readFileSync(`${dir(name)}/config.json`, "utf8"));
  return Object.values(computeNumOfParamsByDtypeSingleFile(header, config.quantization_config)).reduce((a: number, b) => a + (b ?? 0), 0);
}

describe("bitsandbytes 4-bit", () => {
  it("Llama-3.2-1B nf4 + double quant, as saved: packed weights count stored elements", async () => {
    const report = await audit("llama-3.2-1b-bnb-nf4-dq");
    const state = 16 * LLAMA_1B_LINEARS.reduce((s, [o, i]) => s + (Math.ceil((o * i) / 64) + 4 * Math.ceil(Math.ceil((o * i) / 64) / 256) + 1024 + 4 + 64), 0);
    expect(report.totals).toEqual({
      logicalParameters: LLAMA_1B.total,
      reportedParameters: LLAMA_1B.linear / 2 + LLAMA_1B.rest,
      trainableParameters: LLAMA_1B.rest,
      parameterBytes: LLAMA_1B.linear / 2 + 2 * LLAMA_1B.rest,
      quantStateBytes: state,
      totalBytes: LLAMA_1B.linear / 2 + 2 * LLAMA_1B.rest + state,
    });
    expect(report.totals.logicalParameters).toBe(hubCount("llama-3.2-1b-bnb-nf4-dq"));
    const down = tensorOf(report, "model.layers.3.mlp.down_proj.weight");
    expect(down).toMatchObject({ format: "bnb-4bit", logicalShape: [2048, 8192], storedShape: [8_388_608, 1], storedDtype: "uint8", statistics: expect.arrayContaining(["model.layers.3.mlp.down_proj.weight.nested_absmax"]) });
    expect(down.statistics).toHaveLength(5);
    expect(report.explanation[0]).toBe("Saved already quantized: bitsandbytes nf4, double quant, blocksize 64, stored as U8: 112 packed weights, statistics in 5 tensors each.");
    expect(report.tensors.some((t) => t.name.endsWith(".absmax"))).toBe(false); // statistics are folded, never parameters
  });

  it("re-simulated as bf16 / int8 / nf4, equal to the same model saved unquantized", async () => {
    const quantized = await loadLocalCheckpoint(dir("llama-3.2-1b-bnb-nf4-dq"));
    const plain = checkpointOf(
      [
        ...quantized.files[0]!.header.tensors.filter((t) => !/_proj\.weight/.test(t.name)).map((t): [string, string, number[]] => [t.name, t.dtype, t.shape]),
        ...Array.from({ length: 16 }, (_, layer) =>
          ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].map((p, i): [string, string, number[]] => [
            `model.layers.${layer}.${i < 4 ? "self_attn" : "mlp"}.${p}.weight`,
            "BF16",
            LLAMA_1B_LINEARS[i]!,
          ]),
        ).flat(),
      ],
      JSON.parse(readFileSync(`${dir("llama-3.2-1b-bnb-nf4-dq")}/config.json`, "utf8")),
    );
    for (const scheme of ["bf16", "int8", "nf4"] as const) {
      expect(simulate(quantized, { scheme }).totals, scheme).toEqual(simulate(plain, { scheme }).totals);
    }
    expect(simulate(quantized, { scheme: "bf16" }).totals.parameterBytes).toBe(2 * LLAMA_1B.total);
  });

  it("the quant state in the data region gives the exact shape", async () => {
    const report = await audit("tiny-llama-bnb-nf4");
    expect(tensorOf(report, "model.layers.1.self_attn.k_proj.weight")).toMatchObject({ logicalShape: [32, 64], logicalElements: 2048, storedShape: [1024, 1], quantStateBytes: fourBitStateBytes(2048, false) });
    // tiny Llama: 139,584 parameters, linears 122,880 (see simulate.test.ts)
    expect(report.totals).toMatchObject({ logicalParameters: 139_584, reportedParameters: 122_880 / 2 + 16_704 });
  });

  it("malformed: statistics without a weight, a quant state that disagrees, absmax of the wrong size", () => {
    const m = tinyLlama();
    const orphan = checkpointOf([...m.tensors, ["model.layers.0.mlp.extra.weight.absmax", "F32", [4]]]);
    expect(() => simulate(orphan)).toThrowError(/"model\.layers\.0\.mlp\.extra\.weight\.absmax" holds 4-bit statistics but there is no model\.layers\.0\.mlp\.extra\.weight/);
    const lone = checkpointOf([...m.tensors, ["x.weight.quant_map", "F32", [16]]]);
    expect(() => simulate(lone)).toThrowError(/"x\.weight\.quant_map" is a quantization statistic without its weight/);
    const packed = checkpointOf(bnb4Tensors("model.layers.0.mlp.down_proj", 64, 256, false));
    packed.files[0]!.blobs = { "model.layers.0.mlp.down_proj.weight.quant_state.bitsandbytes__nf4": new TextEncoder().encode(bnbQuantStateJson([64, 64], false)) };
    expect(() => simulate(packed)).toThrowError(InputError);
    expect(() => simulate(packed)).toThrowError(/quant state shape \[64, 64\] does not fit the packed \[8192, 1\] U8/);
    const wrongAbsmax = checkpointOf([["w.weight", "U8", [8192, 1]], ["w.weight.absmax", "F32", [100]], ["w.weight.quant_map", "F32", [16]]]);
    expect(() => simulate(wrongAbsmax)).toThrowError(/100 absmax values for 16384 weights in blocks of 64 \(expected 256\)/);
  });
});

describe("bitsandbytes 8-bit", () => {
  it("OPT-350m saved in LLM.int8 loads to the figures of an int8 load (spec §6)", async () => {
    const report = await audit("opt-350m-int8");
    expect(report.totals).toEqual({
      logicalParameters: 331_196_416,
      reportedParameters: 331_196_416,
      trainableParameters: 28_157_952,
      parameterBytes: 359_354_368,
      quantStateBytes: 4 * 222_720,
      totalBytes: 359_354_368 + 4 * 222_720,
    });
    // @huggingface/hub counts the SCB scales as parameters too (331,196,416 + 222,720); they are not.
    expect(hubCount("opt-350m-int8")).toBe(331_196_416 + 222_720);
  });
  it("an SCB without an int8 weight", () => {
    expect(() => simulate(checkpointOf([["a.weight", "F16", [4, 4]], ["a.SCB", "F32", [4]]]))).toThrowError(/"a\.SCB" is an LLM\.int8 scale but a\.weight is not an int8 matrix/);
  });
});

describe("GPTQ 4-bit, group size 128", () => {
  it("Llama-2-7B: QuantLinear buffers leave sum(p.numel()) but fill the footprint", async () => {
    const report = await audit("llama-2-7b-gptq");
    // Published: 6,738,415,616 parameters; unquantized rest (embeddings, lm_head, norms) 262,410,240 in fp16.
    // Per linear [out, in]: qweight in·out/2, qzeros in·out/256, scales (fp16) in·out/64 bytes, g_idx 4·in.
    const linear = 6_738_415_616 - 262_410_240;
    const inputs = 32 * (6 * 4096 + 11008);
    const packed = (linear / 256) * (128 + 1 + 4) + 4 * inputs;
    expect(report.totals).toEqual({
      logicalParameters: 6_738_415_616,
      reportedParameters: 262_410_240,
      trainableParameters: 262_410_240,
      parameterBytes: 2 * 262_410_240 + packed,
      quantStateBytes: 0,
      totalBytes: 2 * 262_410_240 + packed,
    });
    expect(report.totals.logicalParameters).toBe(hubCount("llama-2-7b-gptq"));
    expect(tensorOf(report, "model.layers.0.mlp.down_proj.qweight")).toMatchObject({ format: "gptq", logicalShape: [4096, 11008], storedElements: 0 });
  });
  it("AWQ layout (qweight [in, out/8]) and scales that disagree", () => {
    const awq = checkpointOf([["m.qweight", "I32", [4096, 512]], ["m.qzeros", "I32", [32, 512]], ["m.scales", "F16", [32, 4096]]], { quantization_config: { quant_method: "awq", bits: 4, group_size: 128 } });
    expect(tensorOf(simulate(awq), "m.qweight")).toMatchObject({ format: "awq", logicalShape: [4096, 4096], logicalElements: 16_777_216 });
    const bad = checkpointOf([["m.qweight", "I32", [512, 4096]], ["m.qzeros", "I32", [32, 512]], ["m.scales", "F16", [32, 4000]], ["m.g_idx", "I32", [4096]]]);
    expect(() => simulate(bad)).toThrowError(/m\.scales has 4000 columns for 4096 outputs/);
  });
});

describe("FP8, MXFP4, compressed-tensors", () => {
  it("block-scaled FP8: one value per element; its scales load as parameters", async () => {
    const report = await audit("llama-3.2-1b-fp8");
    // scales per layer: ceil(out/128)·ceil(in/128) = 256 + 64 + 64 + 256 + 3 × 1024 = 3,712
    const scales = 16 * 3712;
    expect(report.totals).toMatchObject({ logicalParameters: LLAMA_1B.total, reportedParameters: LLAMA_1B.total + scales, parameterBytes: LLAMA_1B.linear + 4 * scales + 2 * LLAMA_1B.rest });
    expect(report.totals.logicalParameters).toBe(hubCount("llama-3.2-1b-fp8"));
    expect(report.explanation[0]).toBe("Saved already quantized: FP8 (F8_E4M3, block scales): 112 packed weights, statistics in 1 tensor each.");
  });
  it("each FP8 weight finds its own scales, whatever the order and however owners' names nest or share a hash slot", () => {
    // Module names over a tiny alphabet: many are prefixes of others (`a`, `a.b`, `a.b.a`), many collide.
    const module = fc.stringMatching(/^[ab]([.][ab]){0,3}$/);
    fc.assert(
      fc.property(fc.uniqueArray(module, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 80 }), (modules, order) => {
        const tensors: Array<[string, string, number[]]> = modules.flatMap((m, i): Array<[string, string, number[]]> => [
          [`${m}.weight`, "F8_E4M3", [128 * (i + 1), 128]],
          [`${m}.weight_scale_inv`, "F32", [i + 1, 1]],
        ]);
        // Shuffled by the random keys: a scale may come before or after its weight.
        const shuffled = tensors.map((t, i) => ({ t, key: order[i] ?? i })).sort((a, b) => a.key - b.key).map(({ t }) => t);
        const found = detectPrequantized(checkpointOf(shuffled));
        expect(found.count).toBe(modules.length);
        for (const [i, m] of modules.entries()) {
          const weight = found.weights.find((w) => w.name === `${m}.weight`)!;
          expect(weight.statistics.map((t) => [t.name, t.shape])).toEqual([[`${m}.weight_scale_inv`, [i + 1, 1]]]);
        }
        expect(found.kept.flat()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("MXFP4 experts: 32 values per 16-byte block", async () => {
    const report = await audit("gpt-oss-20b-mxfp4-layer");
    // gate_up 32·5760·2880 + down 32·2880·2880 = 796,262,400; router 32·2880 + 32; expert biases 32·5760 + 32·2880
    const logical = 796_262_400 + 92_192 + 276_480;
    expect(report.totals.logicalParameters).toBe(logical);
    expect(report.totals.logicalParameters).toBe(hubCount("gpt-oss-20b-mxfp4-layer"));
    expect(tensorOf(report, "model.layers.0.mlp.experts.gate_up_proj_blocks")).toMatchObject({ logicalShape: [32, 5760, 2880], storedElements: 32 * 5760 * 90 * 16 + 32 * 5760 * 90 });
  });
  it("compressed-tensors pack-quantized 4-bit: weight_packed int32 [out, in/8]", () => {
    const cp = checkpointOf(
      [["m.weight_packed", "I32", [4096, 512]], ["m.weight_scale", "BF16", [4096, 32]], ["m.weight_zero_point", "I32", [4096, 4]], ["m.weight_shape", "I64", [2]]],
      { quantization_config: { quant_method: "compressed-tensors" } },
    );
    expect(tensorOf(simulate(cp), "m.weight_packed")).toMatchObject({ format: "compressed-tensors", logicalShape: [4096, 4096], logicalElements: 16_777_216, statistics: ["m.weight_scale", "m.weight_shape", "m.weight_zero_point"] });
  });
  it("unknown integer packings are warned about, by name, and counted as stored", () => {
    const report = simulate(checkpointOf([["m.weight_q", "I32", [64, 8]], ["n.weight", "F16", [4, 4]]]));
    expect(report.warnings).toEqual(["unrecognized packing: 1 integer weight tensors (m.weight_q) are counted as stored, one value per element"]);
  });
});

describe("CLI on pre-quantized checkpoints", () => {
  it("the terminal report says what it found; compare re-simulates from the logical shapes", async () => {
    const table = await runMain(["fixtures/prequantized/llama-2-7b-gptq"]);
    expect(table.stdout).toContain("Saved already quantized: GPTQ 4-bit, group size 128: 224 packed weights, statistics in 3 tensors");
    expect(table.stdout).toMatch(/model\.layers\.\*\.mlp\.down_proj\.qweight\s+│ ×32 │ \[4096, 11008\] gptq/);
    const c = JSON.parse((await runMain(["compare", "fixtures/prequantized/llama-2-7b-gptq", "--schemes", "fp16,nf4", "--json"])).stdout);
    expect(c.rows[0].totals.parameterBytes).toBe(2 * 6_738_415_616);
  });
});
