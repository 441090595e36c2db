// Fine-tuning memory, figures derived by hand from spec §3, §5 and §8 (derivations in comments).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveTrainingOptions, simulateTraining, type TrainingOptions } from "../src/core/budget/training.js";
import type { SimulationOptions } from "../src/core/storage/schemes.js";
// @ts-expect-error plain JS model lists
import { gpt2, opt350m, tinyLlama } from "../scripts/models.mjs";
import { checkpointOf, DEFAULTS } from "./helpers.js";
import { runMain } from "./run-main.js";

const P = 331_196_416; // OPT-350m parameters
const L = 303_038_464; // its linear weights
const R = P - L;
const opt = () => { const m = opt350m(); return checkpointOf(m.tensors, m.config); };
const LORA: TrainingOptions = { mode: "lora", optimizer: "adamw", mixedPrecision: false, loraR: 8, targetModules: ["q_proj", "v_proj"], adapterDtype: "fp32", prepareKbit: true };
const train = (cp = opt(), training: Partial<TrainingOptions> = {}, simulation: Partial<SimulationOptions> = {}) =>
  simulateTraining(cp, { ...DEFAULTS, ...simulation }, { ...LORA, ...training }).training!;

describe("LoRA adapters and PEFT's counts", () => {
  it("OPT-350m q_proj,v_proj r=16: PEFT's published line", () => {
    // 24 layers × 2 modules × 16 · (1024 + 1024) = 1,572,864; all = 331,196,416 + 1,572,864
    expect(train(opt(), { loraR: 16 }).peftLine).toBe("trainable params: 1,572,864 || all params: 332,769,280 || trainable%: 0.4727");
  });
  it("OPT-350m q_proj,v_proj r=8: 786,432 trainable", () => {
    const t = train();
    expect(t.trainableParameters).toBe(24 * 2 * 8 * 2048);
    expect(t.allParameters).toBe(P + 786_432);
    expect(t.peftLine).toBe(`trainable params: 786,432 || all params: 331,982,848 || trainable%: ${((100 * 786_432) / 331_982_848).toFixed(4)}`);
  });
  it("QLoRA counts a 4-bit weight at numel × 2 in 'all params', as PEFT does", () => {
    const t = train(opt(), { mode: "qlora", loraR: 16 }, { scheme: "nf4", doubleQuant: true });
    expect(t.allParameters).toBe(L + R + 1_572_864);
  });
  it("tiny Llama all-linear r=8: every linear but lm_head", () => {
    // per layer q 8·128 + k 8·96 + v 8·96 + o 8·128 + gate/up/down 3 · 8·320 = 11,264; 2 layers
    const m = tinyLlama();
    expect(train(checkpointOf(m.tensors, m.config), { targetModules: "all-linear" }).trainableParameters).toBe(22_528);
  });
  it("GPT-2's Conv1D c_attn (PEFT's default target): 294,912 at r=8", () => {
    const m = gpt2();
    const cp = checkpointOf(m.tensors, m.config);
    const t = simulateTraining(cp, DEFAULTS, resolveTrainingOptions({ ...LORA, targetModules: undefined }, cp)).training!;
    // 12 × 8 · (768 + 2304)
    expect(t.trainableParameters).toBe(294_912);
    expect(t.lora!.adapters[0]!.shape).toEqual([2304, 768]);
    expect(t.allParameters).toBe(124_439_808 + 294_912);
  });
  it("without PEFT's default for the model type: its linear modules are suggested, or it says there are none", () => {
    const config = { model_type: "not-in-peft", hidden_size: 64 };
    const dense = checkpointOf([["model.layers.0.mlp.up_proj.weight", "BF16", [128, 64]], ["model.layers.0.self_attn.q_proj.weight", "BF16", [64, 64]]], config);
    expect(() => resolveTrainingOptions({ ...LORA, targetModules: undefined }, dense)).toThrowError("--target-modules is needed (PEFT has no default for this model); its linear modules are: q_proj, up_proj, or all-linear");
    const expertsOnly = checkpointOf([["model.layers.0.mlp.experts.0.up_proj.weight", "BF16", [128, 64]], ["model.layers.0.mlp.experts.1.up_proj.weight", "BF16", [128, 64]]], config);
    expect(() => resolveTrainingOptions({ ...LORA, targetModules: undefined }, expertsOnly)).toThrowError(
      "--target-modules is needed (PEFT has no default for this model), and the model has no linear modules outside its experts to suggest: name the modules to adapt",
    );
  });
  it("unknown target modules list the model's linear modules", () => {
    expect(() => train(opt(), { targetModules: ["q_prj"] })).toThrowError(
      "--target-modules: q_prj match no module of this model; its linear modules are: fc1, fc2, k_proj, out_proj, project_in, project_out, q_proj, v_proj",
    );
  });
});

describe("memory components", () => {
  it("LoRA r=8 on a float16 base with AdamW: fp32 adapters, fp32 gradients, two fp32 states", () => {
    const c = train().components;
    expect(c).toEqual({
      frozenWeights: 2 * P,
      quantizationState: 0,
      trainableWeights: 4 * 786_432,
      gradients: 4 * 786_432,
      optimizerState: 8 * 786_432,
      optimizerPageable: 0,
      masterWeights: 0,
      total: 2 * P + 16 * 786_432,
    });
  });
  it.each([
    ["adamw", 8 * 786_432],
    // 96 adapter tensors of 8,192 values: 2 uint8 states + 2 × 32 fp32 absmax each
    ["adamw-8bit", 96 * 2 * (8192 + 4 * 32)],
    ["paged-adamw-8bit", 96 * 2 * (8192 + 4 * 32)],
    ["sgd", 0],
    ["sgd-momentum", 4 * 786_432],
  ] as const)("optimizer %s: %i bytes", (optimizer, bytes) => {
    expect(train(opt(), { optimizer }).components.optimizerState).toBe(bytes);
  });
  it("8-bit optimizers keep fp32 states for tensors under 4,096 values", () => {
    const m = tinyLlama();
    const cp = checkpointOf(m.tensors, m.config);
    // every tiny adapter tensor is under 4,096 values (the largest, lora_B of gate [256, 8], has 2,048)
    expect(train(cp, { optimizer: "adamw-8bit", targetModules: "all-linear" }).components.optimizerState).toBe(8 * 22_528);
  });
  it("QLoRA: nf4 + double quant base, 16-bit rest cast to fp32 by prepare_model_for_kbit_training", () => {
    const c = train(opt(), { mode: "qlora" }, { scheme: "nf4", doubleQuant: true }).components;
    expect(c.frozenWeights).toBe(L / 2 + 4 * R);
    expect(c.quantizationState).toBe(4_968_392); // spec §4 double-quant layout, see simulate.test.ts
    const skipped = train(opt(), { mode: "qlora", prepareKbit: false }, { scheme: "nf4", doubleQuant: true }).components;
    expect(skipped.frozenWeights).toBe(L / 2 + 2 * R);
  });
  it("full fine-tuning of a 7B model in fp32 with AdamW: 16 bytes per parameter, 112 GB (not 84)", () => {
    const cp = checkpointOf([["model.layers.0.mlp.up_proj.weight", "F32", [70_000, 100_000]]]);
    const c = train(cp, { mode: "full", targetModules: [] }, { scheme: "fp32" }).components;
    expect(c.trainableWeights + c.gradients + c.optimizerState).toBe(112_000_000_000);
    expect(c.total).toBe(112_000_000_000);
    const mixed = train(cp, { mode: "full", targetModules: [], mixedPrecision: true }, { scheme: "bf16" }).components;
    // 2 (bf16 weights) + 2 (bf16 gradients) + 4 (fp32 master) + 8 (Adam) = 16 bytes per parameter
    expect(mixed).toMatchObject({ trainableWeights: 14e9, gradients: 14e9, masterWeights: 28e9, optimizerState: 56e9, total: 112e9 });
  });
  it("paged 8-bit AdamW on a full OPT-350m: states of tensors with 100,000+ values are pageable", () => {
    // 8-bit tensors (4,096+ values) hold 330,975,232 values in 1,292,872 blocks of 256; the 216 smaller
    // ones (221,184 values) keep fp32 states. Pageable: the two uint8 states of every parameter of
    // 100,000+ values (330,876,928 values); absmax tensors are never paged (bitsandbytes' get_state_buffer).
    const c = train(opt(), { mode: "full", optimizer: "paged-adamw-8bit", targetModules: [] }, { scheme: "fp32" }).components;
    expect(c.optimizerState).toBe(2 * 330_975_232 + 2 * 4 * 1_292_872 + 8 * 221_184);
    expect(c.optimizerPageable).toBe(2 * 330_876_928);
  });
});

describe("properties", () => {
  it("adapter count is linear in r; frozen components do not depend on the optimizer", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), fc.constantFrom("adamw", "adamw-8bit", "paged-adamw-8bit", "sgd", "sgd-momentum" as const), (r, optimizer) => {
        const one = train(opt(), { loraR: 1 }).trainableParameters;
        const t = train(opt(), { loraR: r, optimizer });
        expect(t.trainableParameters).toBe(r * one);
        const base = train(opt(), { loraR: r });
        expect(t.components.frozenWeights).toBe(base.components.frozenWeights);
        expect(t.components.quantizationState).toBe(base.components.quantizationState);
        expect(t.components.gradients).toBe(base.components.gradients);
      }),
      { numRuns: 30 },
    );
  });
});

describe("CLI --train", () => {
  it("qlora defaults to nf4 + double quant and prints PEFT's line", async () => {
    const r = await runMain(["fixtures/opt-350m", "--train", "qlora", "--lora-r", "16", "--json"]);
    const report = JSON.parse(r.stdout);
    expect(report.scheme).toMatchObject({ name: "nf4", doubleQuant: true });
    expect(report.training.peftLine).toBe("trainable params: 1,572,864 || all params: 332,769,280 || trainable%: 0.4727");
    const table = await runMain(["fixtures/opt-350m", "--train", "qlora", "--lora-r", "16"]);
    expect(table.stdout).toContain("trainable params: 1,572,864 || all params: 332,769,280 || trainable%: 0.4727");
    expect(table.stdout).toContain("Activations are not included");
  });
  it.each([
    [["--train", "full", "--scheme", "nf4"], /--train full trains every weight: --scheme nf4 weights cannot be trained/],
    [["--train", "qlora", "--scheme", "int8"], /--train qlora needs a 4-bit --scheme/],
    [["--optimizer", "adamw"], /--optimizer goes with --train/],
    [["--train", "lora", "--target-modules", "nope"], /--target-modules: nope match no module/],
    [["--train", "lora", "--lora-r", "0"], /--lora-r takes a whole number from 1/],
  ])("usage errors %j", async (args, message) => {
    const r = await runMain(["fixtures/opt-350m", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
  it("compare --train shows each scheme's training total", async () => {
    const c = JSON.parse((await runMain(["compare", "fixtures/opt-350m", "--train", "qlora", "--json"])).stdout);
    expect(c.schemes).toEqual(["nf4+dq", "nf4", "fp4+dq", "fp4"]);
    // r=8 q,v: adapters 786,432 fp32 → weights + gradients + AdamW = 16 B each; base L/2 + 4R; dq state 4,968,392
    expect(c.rows[0].training.total).toBe(L / 2 + 4 * R + 4_968_392 + 16 * 786_432);
  });
});

describe("LoRA on a mixture of experts", () => {
  // One layer: q/k/v/o [64, 64], router [4, 64], 4 experts with w1/w3 [128, 64] and w2 [64, 128].
  const tensors: Array<[string, string, number[]]> = [["model.embed_tokens.weight", "BF16", [100, 64]], ["model.layers.0.block_sparse_moe.gate.weight", "BF16", [4, 64]]];
  for (const p of ["q_proj", "k_proj", "v_proj", "o_proj"]) tensors.push([`model.layers.0.self_attn.${p}.weight`, "BF16", [64, 64]]);
  for (let e = 0; e < 4; e++) for (const [w, shape] of [["w1", [128, 64]], ["w2", [64, 128]], ["w3", [128, 64]]] as const) tensors.push([`model.layers.0.block_sparse_moe.experts.${e}.${w}.weight`, "BF16", [...shape]]);
  it("all-linear adapts attention only when experts are fused (transformers 5); every expert and the router too when they are nn.Linear", () => {
    const cp = checkpointOf(tensors, { model_type: "mixtral" });
    // attention 4 · 8 · (64 + 64) = 4,096
    expect(train(cp, { targetModules: "all-linear" }).trainableParameters).toBe(4_096);
    // + experts 12 · 8 · 192 = 18,432, + router 8 · (4 + 64) = 544
    expect(simulateTraining(cp, { ...DEFAULTS, experts: "linear" }, { ...LORA, targetModules: "all-linear" }).training!.trainableParameters).toBe(4_096 + 18_432 + 544);
  });
});

describe("LoRA on a checkpoint saved already quantized", () => {
  it("adapters take the logical shapes, not the packed ones (Llama-3.2-1B bnb nf4 + dq, q_proj,v_proj r=16)", async () => {
    const { loadLocalCheckpoint } = await import("../src/io/local.js");
    const cp = await loadLocalCheckpoint("fixtures/prequantized/llama-3.2-1b-bnb-nf4-dq");
    // 16 layers × (q [2048, 2048]: 16 · 4096 + v [512, 2048]: 16 · 2560)
    const t = simulateTraining(cp, { ...DEFAULTS, scheme: "nf4", doubleQuant: true }, { ...LORA, mode: "qlora", loraR: 16 }).training!;
    expect(t.trainableParameters).toBe(16 * (16 * 4096 + 16 * 2560));
    expect(t.lora!.adapters.find((a) => a.module === "model.layers.0.self_attn.v_proj")!.shape).toEqual([512, 2048]);
  });
});

describe("full fine-tuning of a checkpoint saved quantized", () => {
  it("needs a plain --scheme to train it dequantized", async () => {
    const r = await runMain(["fixtures/prequantized/llama-2-7b-gptq", "--train", "full"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--train full cannot train packed weights/);
    const ok = JSON.parse((await runMain(["fixtures/prequantized/llama-2-7b-gptq", "--train", "full", "--scheme", "bf16", "--json"])).stdout);
    // Llama-2-7B, published 6,738,415,616 parameters, all trainable in bf16: 2 + 2 + 8 bytes each
    expect(ok.training.trainableParameters).toBe(6_738_415_616);
    expect(ok.training.components.total).toBe(12 * 6_738_415_616);
  });
});
