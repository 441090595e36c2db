// Headers built from public config.json values; totals asserted against the published parameter
// counts, quantized figures derived by hand from spec §4 (linears L packed to L/2, the rest R kept).
import { describe, expect, it } from "vitest";
import { checkpointOf, simulate, type TensorSpec } from "./helpers.js";

interface LlamaLike {
  hidden: number;
  inter: number;
  layers: number;
  heads: number;
  kv: number;
  headDim: number;
  vocab: number;
  tied: boolean;
  qkvBias?: boolean;
  experts?: number;
}

/** Llama-family names (Mistral, Qwen2, Gemma, Mixtral); returns tensors and the linear total. */
function llamaLike(c: LlamaLike): { tensors: TensorSpec[]; linear: number; experts: number } {
  const d = "BF16";
  const t: TensorSpec[] = [["model.embed_tokens.weight", d, [c.vocab, c.hidden]], ["model.norm.weight", d, [c.hidden]]];
  if (!c.tied) t.push(["lm_head.weight", d, [c.vocab, c.hidden]]);
  let linear = 0;
  let experts = 0;
  const add = (name: string, out: number, inp: number) => {
    t.push([`${name}.weight`, d, [out, inp]]);
    if (name.includes(".experts.")) experts += out * inp;
    else linear += out * inp;
  };
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.self_attn.q_proj`, c.heads * c.headDim, c.hidden);
    add(`${p}.self_attn.k_proj`, c.kv * c.headDim, c.hidden);
    add(`${p}.self_attn.v_proj`, c.kv * c.headDim, c.hidden);
    add(`${p}.self_attn.o_proj`, c.hidden, c.heads * c.headDim);
    if (c.qkvBias) t.push([`${p}.self_attn.q_proj.bias`, d, [c.heads * c.headDim]], [`${p}.self_attn.k_proj.bias`, d, [c.kv * c.headDim]], [`${p}.self_attn.v_proj.bias`, d, [c.kv * c.headDim]]);
    if (c.experts === undefined) {
      add(`${p}.mlp.gate_proj`, c.inter, c.hidden);
      add(`${p}.mlp.up_proj`, c.inter, c.hidden);
      add(`${p}.mlp.down_proj`, c.hidden, c.inter);
    } else {
      t.push([`${p}.block_sparse_moe.gate.weight`, d, [c.experts, c.hidden]]);
      for (let e = 0; e < c.experts; e++) {
        add(`${p}.block_sparse_moe.experts.${e}.w1`, c.inter, c.hidden);
        add(`${p}.block_sparse_moe.experts.${e}.w2`, c.hidden, c.inter);
        add(`${p}.block_sparse_moe.experts.${e}.w3`, c.inter, c.hidden);
      }
    }
    t.push([`${p}.input_layernorm.weight`, d, [c.hidden]], [`${p}.post_attention_layernorm.weight`, d, [c.hidden]]);
  }
  return { tensors: t, linear, experts };
}

const config = (c: LlamaLike, modelType: string) => ({ model_type: modelType, vocab_size: c.vocab, hidden_size: c.hidden, tie_word_embeddings: c.tied, torch_dtype: "bfloat16" });

describe("published parameter counts from public configs", () => {
  it.each([
    // name, config, published parameters
    ["mistralai/Mistral-7B-v0.1", { hidden: 4096, inter: 14336, layers: 32, heads: 32, kv: 8, headDim: 128, vocab: 32000, tied: false }, "mistral", 7_241_732_096],
    ["Qwen/Qwen2.5-0.5B (q/k/v biases, tied)", { hidden: 896, inter: 4864, layers: 24, heads: 14, kv: 2, headDim: 64, vocab: 151936, tied: true, qkvBias: true }, "qwen2", 494_032_768],
    ["google/gemma-2b (multi-query, tied)", { hidden: 2048, inter: 16384, layers: 18, heads: 8, kv: 1, headDim: 256, vocab: 256000, tied: true }, "gemma", 2_506_172_416],
  ] as const)("%s", (_name, c, modelType, published) => {
    const { tensors, linear } = llamaLike(c);
    const cp = checkpointOf(tensors, config(c, modelType));
    expect(simulate(cp).totals.reportedParameters).toBe(published);
    const nf4 = simulate(cp, { scheme: "nf4" }).totals;
    const rest = published - linear;
    expect(nf4).toMatchObject({ logicalParameters: published, reportedParameters: linear / 2 + rest, trainableParameters: rest, parameterBytes: linear / 2 + 2 * rest });
    // int8: one byte per linear weight, the rest in bfloat16 (SCB is quantization state, not footprint)
    expect(simulate(cp, { scheme: "int8" }).totals.parameterBytes).toBe(linear + 2 * rest);
  });

  it("mistralai/Mixtral-8x7B-v0.1: 46,702,792,704; in nf4 under transformers 5 only attention packs", () => {
    const c = { hidden: 4096, inter: 14336, layers: 32, heads: 32, kv: 8, headDim: 128, vocab: 32000, tied: false, experts: 8 };
    const { tensors, linear, experts } = llamaLike(c);
    const cp = checkpointOf(tensors, config(c, "mixtral"));
    const published = 46_702_792_704;
    expect(simulate(cp).totals.reportedParameters).toBe(published);
    expect(simulate(cp, { scheme: "nf4" }).totals.reportedParameters).toBe(linear / 2 + (published - linear));
    expect(simulate(cp, { scheme: "nf4", experts: "linear" }).totals.reportedParameters).toBe((linear + experts + 32 * 8 * 4096) / 2 + (published - linear - experts - 32 * 8 * 4096));
  });
});
