// Figures derived by hand from spec §4–§6 (derivations in the comments), never from qaudit's output.
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS model lists shared with scripts/make-fixtures.mjs
import { falcon7bFt, gpt2, opt350m, tinyLlama } from "../scripts/models.mjs";
import { checkpointOf, simulate, tensorOf } from "./helpers.js";

const opt = () => { const m = opt350m(); return checkpointOf(m.tensors, m.config); };

// OPT-350m: total P = 331,196,416 (spec §6); linear weights L = 303,038,464; the rest R = P − L = 28,157,952.
// 146 quantized linears (24 layers × 6 + project_in + project_out); L/64 = 4,734,976 absmax blocks;
// output rows Σout = 24 × (4·1024 + 4096 + 1024) + 1024 + 512 = 222,720.
const P = 331_196_416;
const L = 303_038_464;
const R = 28_157_952;

describe("OPT-350m (spec §6)", () => {
  it("as stored (float16): every parameter counted and trainable", () => {
    const { totals } = simulate(opt());
    expect(totals.logicalParameters).toBe(P);
    expect(totals.reportedParameters).toBe(P);
    expect(totals.trainableParameters).toBe(P);
    expect(totals.parameterBytes).toBe(2 * P);
  });

  it("linear weights total 303,038,464", () => {
    const report = simulate(opt(), { scheme: "nf4" });
    const linear = report.tensors.filter((t) => t.quantized).reduce((s, t) => s + t.logicalElements, 0);
    expect(linear).toBe(L);
    expect(report.tensors.filter((t) => t.quantized)).toHaveLength(146);
  });

  it.each([
    ["fp32", 1_324_785_664],
    ["fp16", 662_392_832],
    ["bf16", 662_392_832],
  ] as const)("plain %s load: footprint %i", (scheme, bytes) => {
    const { totals } = simulate(opt(), { scheme });
    expect(totals.parameterBytes).toBe(bytes);
    expect(totals.reportedParameters).toBe(P);
    expect(totals.trainableParameters).toBe(P);
    expect(totals.quantStateBytes).toBe(0);
  });

  it("transformers 4.x plain load (--torch-dtype fp32, as stored): the notebook's 1325 MB", () => {
    expect(simulate(opt(), { torchDtype: "fp32" }).totals.parameterBytes).toBe(1_324_785_664);
  });

  it("int8: 359,354,368 bytes; SCB is 4 bytes per output row", () => {
    const { totals } = simulate(opt(), { scheme: "int8" });
    expect(totals.parameterBytes).toBe(359_354_368);
    expect(totals.reportedParameters).toBe(P);
    expect(totals.trainableParameters).toBe(R);
    expect(totals.quantStateBytes).toBe(4 * 222_720);
  });

  it("int8 with float32 for the rest: L + 4R", () => {
    expect(simulate(opt(), { scheme: "int8", torchDtype: "fp32" }).totals.parameterBytes).toBe(L + 4 * R);
  });

  it.each(["nf4", "fp4"] as const)("%s with and without double quant: 207,835,136 bytes", (scheme) => {
    for (const doubleQuant of [false, true]) {
      const { totals } = simulate(opt(), { scheme, doubleQuant });
      expect(totals.parameterBytes).toBe(207_835_136);
      expect(totals.reportedParameters).toBe(L / 2 + R);
      expect(totals.trainableParameters).toBe(R);
      expect(totals.logicalParameters).toBe(P);
    }
  });

  it("4-bit quantization state: absmax and code, then double quant's nested layout", () => {
    // no dq: 4 bytes × 4,734,976 blocks + 64-byte code × 146 weights
    expect(simulate(opt(), { scheme: "nf4" }).totals.quantStateBytes).toBe(4 * 4_734_976 + 64 * 146);
    // dq: 1 byte per block; nested blocks of 256: per layer 4 × 64 + 2 × 256, project_in/out 32 each → 18,496;
    // per weight 1024 (nested code) + 4 (offset) + 64 (code)
    const dq = simulate(opt(), { scheme: "nf4", doubleQuant: true }).totals;
    expect(dq.quantStateBytes).toBe(4_734_976 + 4 * 18_496 + 146 * (1024 + 4 + 64));
    expect(dq.totalBytes).toBe(207_835_136 + dq.quantStateBytes);
  });

  it("project_in.weight [1024, 512]: int8 keeps its shape, 4-bit packs to uint8 [262144, 1]", () => {
    const int8 = tensorOf(simulate(opt(), { scheme: "int8" }), "model.decoder.project_in.weight");
    expect(int8).toMatchObject({ storedDtype: "int8", storedShape: [1024, 512], storedElements: 524_288, trainable: false, quantStateBytes: 4096 });
    const nf4 = tensorOf(simulate(opt(), { scheme: "nf4" }), "model.decoder.project_in.weight");
    expect(nf4).toMatchObject({ storedDtype: "uint8", storedShape: [262_144, 1], storedElements: 262_144, parameterBytes: 262_144, logicalElements: 524_288, trainable: false });
    expect(nf4.quantStateBytes).toBe(4 * (524_288 / 64) + 64);
  });

  it("float32 load dtype under nf4 (transformers 4.x plain): L/2 + 4R", () => {
    expect(simulate(opt(), { scheme: "nf4", torchDtype: "fp32" }).totals.parameterBytes).toBe(L / 2 + 4 * R);
  });

  it("bf16 quant storage: [(n+1)//4, 1] bfloat16, numel shrinks by 2, bytes stay n/2", () => {
    const report = simulate(opt(), { scheme: "nf4", quantStorage: "bfloat16" });
    expect(tensorOf(report, "model.decoder.project_in.weight")).toMatchObject({ storedShape: [131_072, 1], storedDtype: "bfloat16", parameterBytes: 262_144 });
    expect(report.totals.reportedParameters).toBe(L / 4 + R);
    expect(report.totals.parameterBytes).toBe(207_835_136);
  });

  it("embeddings, norms and biases keep the load dtype and stay trainable", () => {
    const report = simulate(opt(), { scheme: "nf4" });
    expect(tensorOf(report, "model.decoder.embed_tokens.weight")).toMatchObject({ kind: "embedding", quantized: false, storedDtype: "float16", trainable: true });
    expect(tensorOf(report, "model.decoder.layers.3.fc1.bias")).toMatchObject({ kind: "bias", quantized: false, trainable: true });
    expect(tensorOf(report, "model.decoder.layers.3.final_layer_norm.weight")).toMatchObject({ kind: "norm", quantized: false });
  });
});

describe("Falcon-7B with one extra token (spec §6)", () => {
  // Per layer: qkv (71+2)·64 × 4544 = 21,229,568; dense 4544² = 20,647,936; MLP 2 × 18176 × 4544 = 165,183,488.
  // Linear L = 32 × 207,060,992 = 6,625,951,744; rest R = embeddings 65025 × 4544 + 33 layer norms × 2 × 4544 = 295,773,504.
  const falcon = () => { const m = falcon7bFt(); return checkpointOf(m.tensors, m.config); };
  it("6,921,725,248 parameters", () => {
    expect(simulate(falcon()).totals.reportedParameters).toBe(6_921_725_248);
  });
  it("nf4: sum(p.numel()) 3,608,749,376, trainable 295,773,504", () => {
    const { totals } = simulate(falcon(), { scheme: "nf4" });
    expect(totals.reportedParameters).toBe(3_608_749_376);
    expect(totals.trainableParameters).toBe(295_773_504);
    expect(totals.logicalParameters).toBe(6_921_725_248);
    // rest in bfloat16 (config torch_dtype): L/2 + 2R
    expect(totals.parameterBytes).toBe(6_625_951_744 / 2 + 2 * 295_773_504);
  });
});

describe("GPT-2 (Conv1D linears, tied head)", () => {
  const model = () => { const m = gpt2(); return checkpointOf(m.tensors, m.config); };
  // Published: 124,439,808 parameters. Conv1D weights per layer 768·2304 + 768·768 + 2 · 768·3072 = 7,077,888.
  const linear = 12 * 7_077_888;
  it("124,439,808 parameters", () => {
    expect(simulate(model()).totals.reportedParameters).toBe(124_439_808);
  });
  it("int8 transposes Conv1D to [out, in] and scales per output row", () => {
    const report = simulate(model(), { scheme: "int8" });
    expect(tensorOf(report, "h.0.attn.c_attn.weight")).toMatchObject({ storedShape: [2304, 768], quantStateBytes: 4 * 2304 });
    // outputs per layer: 2304 + 768 + 3072 + 768 = 6912
    expect(report.totals.quantStateBytes).toBe(4 * 12 * 6912);
  });
  it("nf4 packs every Conv1D weight; the tied wte stays", () => {
    const { totals } = simulate(model(), { scheme: "nf4" });
    expect(totals.reportedParameters).toBe(linear / 2 + (124_439_808 - linear));
    expect(totals.trainableParameters).toBe(124_439_808 - linear);
  });
  it("detects Conv1D without a config from c_attn's [in, 3·in] shape", () => {
    const m = gpt2();
    const report = simulate(checkpointOf(m.tensors, null), { scheme: "int8" });
    expect(tensorOf(report, "h.0.mlp.c_fc.weight").storedShape).toEqual([3072, 768]);
  });
});

describe("output head and llm_int8_skip_modules", () => {
  // tiny Llama: embed 8192, lm_head 8192, final norm 64; per layer linears 4096+2048+2048+4096+3·16384 = 61,440,
  // norms 128; total 139,584; linears 122,880.
  const tiny = () => { const m = tinyLlama(); return checkpointOf(m.tensors, m.config); };
  it("the untied output head stays unquantized by default", () => {
    const report = simulate(tiny(), { scheme: "nf4" });
    expect(tensorOf(report, "lm_head.weight")).toMatchObject({ kind: "output-head", quantized: false, storedDtype: "bfloat16" });
    expect(report.totals.reportedParameters).toBe(122_880 / 2 + (139_584 - 122_880));
  });
  it("a user list replaces the default: lm_head is quantized, down_proj kept", () => {
    const report = simulate(tiny(), { scheme: "nf4", skipModules: ["down_proj"] });
    expect(tensorOf(report, "lm_head.weight").quantized).toBe(true);
    expect(tensorOf(report, "model.layers.1.mlp.down_proj.weight").quantized).toBe(false);
    const quantized = 122_880 - 2 * 16_384 + 8192;
    expect(report.totals.reportedParameters).toBe(quantized / 2 + (139_584 - quantized));
  });
  it("matches by dotted prefix and by suffix, warns on names that match nothing", () => {
    const report = simulate(tiny(), { scheme: "int8", skipModules: ["model.layers.0", "lm_head", "nope"] });
    expect(tensorOf(report, "model.layers.0.self_attn.q_proj.weight").quantized).toBe(false);
    expect(tensorOf(report, "model.layers.1.self_attn.q_proj.weight").quantized).toBe(true);
    expect(report.warnings).toEqual(['--skip-modules: "nope" matches no module']);
  });
  it("names are regular expressions matched at the start, as in transformers 5 ('layers.1' reaches layers 10–11)", () => {
    const tensors: Array<[string, string, number[]]> = Array.from({ length: 12 }, (_, i) => [`model.layers.${i}.mlp.up_proj.weight`, "F16", [8, 8]]);
    const report = simulate(checkpointOf(tensors), { scheme: "nf4", skipModules: ["model.layers.1"] });
    expect(report.tensors.filter((t) => !t.quantized).map((t) => t.name)).toEqual([1, 10, 11].map((i) => `model.layers.${i}.mlp.up_proj.weight`));
    const dotted = simulate(checkpointOf(tensors), { scheme: "nf4", skipModules: ["model\\.layers\\.1\\."] });
    expect(dotted.tensors.filter((t) => !t.quantized).map((t) => t.name)).toEqual(["model.layers.1.mlp.up_proj.weight"]); // the escaped dot stops at layer 1
    const literal = simulate(checkpointOf(tensors), { scheme: "nf4", skipModules: ["up_proj", "(unclosed"] });
    expect(literal.tensors.every((t) => !t.quantized)).toBe(true);
  });
  it("double quant state of a [32, 64] weight: 32 uint8 absmax + one nested block + codes", () => {
    const report = simulate(tiny(), { scheme: "nf4", doubleQuant: true });
    expect(tensorOf(report, "model.layers.0.self_attn.k_proj.weight").quantStateBytes).toBe(32 + 4 + 1024 + 4 + 64);
  });
  it("a tied head stored beside its embedding is one parameter, counted once", () => {
    const m = tinyLlama();
    const report = simulate(checkpointOf(m.tensors, { ...m.config, tie_word_embeddings: true }));
    expect(tensorOf(report, "lm_head.weight")).toMatchObject({ tiedTo: "model.embed_tokens.weight", storedElements: 0 });
    expect(report.totals.reportedParameters).toBe(139_584 - 8192);
  });
});

describe("classification", () => {
  it("T5's shared embedding is an embedding, BERT's tied decoder an output head counted once", () => {
    const t5 = simulate(
      checkpointOf([["shared.weight", "F32", [32128, 512]], ["encoder.block.0.layer.0.SelfAttention.q.weight", "F32", [512, 512]], ["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "F32", [32, 8]]], { vocab_size: 32128 }),
      { scheme: "nf4" },
    );
    expect(tensorOf(t5, "shared.weight")).toMatchObject({ kind: "embedding", quantized: false });
    expect(tensorOf(t5, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")).toMatchObject({ kind: "embedding", quantized: false });
    expect(tensorOf(t5, "encoder.block.0.layer.0.SelfAttention.q.weight")).toMatchObject({ kind: "linear", quantized: true });
    const bert = simulate(
      checkpointOf([["bert.embeddings.word_embeddings.weight", "F32", [30522, 768]], ["cls.predictions.decoder.weight", "F32", [30522, 768]], ["cls.predictions.transform.dense.weight", "F32", [768, 768]]], { vocab_size: 30522 }),
      { scheme: "int8" },
    );
    expect(tensorOf(bert, "cls.predictions.decoder.weight")).toMatchObject({ kind: "output-head", tiedTo: "bert.embeddings.word_embeddings.weight", storedElements: 0 });
    expect(tensorOf(bert, "cls.predictions.transform.dense.weight").quantized).toBe(true);
    expect(bert.totals.reportedParameters).toBe(30522 * 768 + 768 * 768);
  });
  it("task heads stay unquantized: BERT's classifier, RoBERTa's classifier.out_proj (its dense is quantized)", () => {
    const report = simulate(
      checkpointOf([["classifier.weight", "F32", [2, 768]], ["classifier.dense.weight", "F32", [768, 768]], ["classifier.out_proj.weight", "F32", [2, 768]]]),
      { scheme: "int8" },
    );
    expect(report.tensors.filter((t) => t.quantized).map((t) => t.name)).toEqual(["classifier.dense.weight"]);
  });
  it("GPT-NeoX's embed_out is the output head, not an embedding", () => {
    const neox = simulate(checkpointOf([["gpt_neox.embed_in.weight", "F16", [50304, 512]], ["embed_out.weight", "F16", [50304, 512]]], { tie_word_embeddings: false }), { scheme: "nf4" });
    expect(tensorOf(neox, "embed_out.weight")).toMatchObject({ kind: "output-head", quantized: false });
    expect(neox.totals.reportedParameters).toBe(2 * 50304 * 512);
  });
});

describe("load dtype resolution (spec §3)", () => {
  const tensors: Array<[string, string, number[]]> = [
    ["a.weight", "F32", [8, 8]],
    ["b.weight", "BF16", [8, 8]],
    ["pos.position_ids", "I64", [1, 8]],
  ];
  it("auto: config dtype first", () => {
    expect(simulate(checkpointOf(tensors, { torch_dtype: "float16" }), { scheme: "int8" }).scheme.torchDtype).toBe("float16");
    expect(simulate(checkpointOf(tensors, { dtype: "bfloat16", torch_dtype: "float16" }), { scheme: "int8" }).scheme.torchDtype).toBe("bfloat16");
  });
  it("auto without a config dtype: the checkpoint's first floating dtype in name order", () => {
    expect(simulate(checkpointOf(tensors, null), { scheme: "int8" }).scheme.torchDtype).toBe("float32");
  });
  it("integer buffers keep their dtype, are no parameters, but count in the footprint", () => {
    const report = simulate(checkpointOf(tensors, null), { scheme: "bf16" });
    expect(tensorOf(report, "pos.position_ids")).toMatchObject({ kind: "buffer", storedDtype: "int64", trainable: false, parameterBytes: 64 });
    expect(report.totals.reportedParameters).toBe(128);
    expect(report.totals.parameterBytes).toBe(128 * 2 + 64);
  });
});

describe("MoE experts (transformers 5 fuses them; bitsandbytes skips fused 3-D parameters)", () => {
  // Mixtral-like: hidden 64, 4 experts of ffn 128 (w1, w3 [128, 64], w2 [64, 128]), q/k/v/o [64, 64], router [4, 64], 2 layers.
  const tensors: Array<[string, string, number[]]> = [["model.embed_tokens.weight", "BF16", [100, 64]], ["lm_head.weight", "BF16", [100, 64]], ["model.norm.weight", "BF16", [64]]];
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "o_proj"]) tensors.push([`${p}.self_attn.${proj}.weight`, "BF16", [64, 64]]);
    tensors.push([`${p}.block_sparse_moe.gate.weight`, "BF16", [4, 64]]);
    for (let e = 0; e < 4; e++) {
      tensors.push([`${p}.block_sparse_moe.experts.${e}.w1.weight`, "BF16", [128, 64]], [`${p}.block_sparse_moe.experts.${e}.w2.weight`, "BF16", [64, 128]], [`${p}.block_sparse_moe.experts.${e}.w3.weight`, "BF16", [128, 64]]);
    }
  }
  const cp = () => checkpointOf(tensors, { tie_word_embeddings: false, torch_dtype: "bfloat16" });
  // per layer: attention 4 · 4096 = 16,384, router 256, experts 4 · 3 · 8192 = 98,304; rest: embed + head 12,800, norm 64
  const attention = 2 * 16_384;
  const routers = 2 * 256;
  const experts = 2 * 98_304;
  const rest = 12_800 + 64;
  it("fused (default): experts and routers stay bf16 and trainable, attention is packed", () => {
    const report = simulate(cp(), { scheme: "nf4" });
    expect(tensorOf(report, "model.layers.1.block_sparse_moe.experts.3.w2.weight")).toMatchObject({ kind: "expert", quantized: false, storedDtype: "bfloat16", trainable: true });
    expect(tensorOf(report, "model.layers.1.block_sparse_moe.gate.weight")).toMatchObject({ kind: "router", quantized: false });
    expect(report.totals.reportedParameters).toBe(attention / 2 + routers + experts + rest);
    expect(report.totals.parameterBytes).toBe(attention / 2 + 2 * (routers + experts + rest));
    expect(report.explanation.some((line) => line.startsWith("24 MoE expert weights stay in bfloat16"))).toBe(true);
  });
  it("linear (transformers 4): every expert is an nn.Linear and gets packed", () => {
    const report = simulate(cp(), { scheme: "nf4", experts: "linear" });
    expect(report.totals.reportedParameters).toBe((attention + routers + experts) / 2 + rest);
  });
});
