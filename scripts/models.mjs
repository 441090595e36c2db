// Tensor lists of public architectures, built from their public config.json values.
// Each returns { config, tensors: Array<[name, dtype, shape]> }.

/** facebook/opt-350m: hidden 1024, word_embed_proj_dim 512, ffn 4096, 24 layers, vocab 50272. */
export function opt350m() {
  const config = {
    model_type: "opt", vocab_size: 50272, hidden_size: 1024, word_embed_proj_dim: 512, ffn_dim: 4096,
    num_hidden_layers: 24, num_attention_heads: 16, max_position_embeddings: 2048, do_layer_norm_before: false,
    tie_word_embeddings: true, torch_dtype: "float16",
  };
  const d = "F16";
  const t = [
    ["model.decoder.embed_tokens.weight", d, [50272, 512]],
    ["model.decoder.embed_positions.weight", d, [2048 + 2, 1024]], // OPT offsets learned positions by 2
    ["model.decoder.project_in.weight", d, [1024, 512]], // no bias (bias=False)
    ["model.decoder.project_out.weight", d, [512, 1024]],
  ];
  for (let i = 0; i < 24; i++) {
    const p = `model.decoder.layers.${i}`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      t.push([`${p}.self_attn.${proj}.weight`, d, [1024, 1024]], [`${p}.self_attn.${proj}.bias`, d, [1024]]);
    }
    t.push([`${p}.self_attn_layer_norm.weight`, d, [1024]], [`${p}.self_attn_layer_norm.bias`, d, [1024]]);
    t.push([`${p}.fc1.weight`, d, [4096, 1024]], [`${p}.fc1.bias`, d, [4096]]);
    t.push([`${p}.fc2.weight`, d, [1024, 4096]], [`${p}.fc2.bias`, d, [1024]]);
    t.push([`${p}.final_layer_norm.weight`, d, [1024]], [`${p}.final_layer_norm.bias`, d, [1024]]);
  }
  return { config, tensors: t };
}

/** tiiuae/falcon-7b with one extra token: vocab 65025, hidden 4544, 32 layers, 71 heads of 64, multi-query. */
export function falcon7bFt() {
  const config = {
    model_type: "falcon", vocab_size: 65025, hidden_size: 4544, num_hidden_layers: 32, num_attention_heads: 71,
    multi_query: true, parallel_attn: true, new_decoder_architecture: false, bias: false, tie_word_embeddings: true,
    torch_dtype: "bfloat16",
  };
  const d = "BF16";
  const qkv = (71 + 2) * 64; // 71 query heads + one shared key and one shared value head
  const t = [
    ["transformer.word_embeddings.weight", d, [65025, 4544]],
    ["transformer.ln_f.weight", d, [4544]],
    ["transformer.ln_f.bias", d, [4544]],
  ];
  for (let i = 0; i < 32; i++) {
    const p = `transformer.h.${i}`;
    t.push([`${p}.self_attention.query_key_value.weight`, d, [qkv, 4544]]);
    t.push([`${p}.self_attention.dense.weight`, d, [4544, 4544]]);
    t.push([`${p}.mlp.dense_h_to_4h.weight`, d, [18176, 4544]]);
    t.push([`${p}.mlp.dense_4h_to_h.weight`, d, [4544, 18176]]);
    t.push([`${p}.input_layernorm.weight`, d, [4544]], [`${p}.input_layernorm.bias`, d, [4544]]);
  }
  return { config, tensors: t };
}

/** openai-community/gpt2: n_embd 768, 12 layers, vocab 50257, 1024 positions; Conv1D linears, tied head. */
export function gpt2() {
  const config = { model_type: "gpt2", vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, tie_word_embeddings: true };
  const d = "F32";
  const t = [
    ["wte.weight", d, [50257, 768]],
    ["wpe.weight", d, [1024, 768]],
    ["ln_f.weight", d, [768]],
    ["ln_f.bias", d, [768]],
  ];
  for (let i = 0; i < 12; i++) {
    const p = `h.${i}`;
    t.push([`${p}.ln_1.weight`, d, [768]], [`${p}.ln_1.bias`, d, [768]]);
    t.push([`${p}.attn.c_attn.weight`, d, [768, 2304]], [`${p}.attn.c_attn.bias`, d, [2304]]); // Conv1D: [in, out]
    t.push([`${p}.attn.c_proj.weight`, d, [768, 768]], [`${p}.attn.c_proj.bias`, d, [768]]);
    t.push([`${p}.ln_2.weight`, d, [768]], [`${p}.ln_2.bias`, d, [768]]);
    t.push([`${p}.mlp.c_fc.weight`, d, [768, 3072]], [`${p}.mlp.c_fc.bias`, d, [3072]]);
    t.push([`${p}.mlp.c_proj.weight`, d, [3072, 768]], [`${p}.mlp.c_proj.bias`, d, [768]]);
  }
  return { config, tensors: t };
}

/** A tiny Llama-style model for quick tests: vocab 128, hidden 64, 2 layers, GQA 4/2 heads, untied head. */
export function tinyLlama() {
  const config = {
    model_type: "llama", vocab_size: 128, hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false, torch_dtype: "bfloat16",
  };
  const d = "BF16";
  const t = [
    ["model.embed_tokens.weight", d, [128, 64]],
    ["model.norm.weight", d, [64]],
    ["lm_head.weight", d, [128, 64]],
  ];
  for (let i = 0; i < 2; i++) {
    const p = `model.layers.${i}`;
    t.push([`${p}.self_attn.q_proj.weight`, d, [64, 64]], [`${p}.self_attn.k_proj.weight`, d, [32, 64]]);
    t.push([`${p}.self_attn.v_proj.weight`, d, [32, 64]], [`${p}.self_attn.o_proj.weight`, d, [64, 64]]);
    t.push([`${p}.mlp.gate_proj.weight`, d, [256, 64]], [`${p}.mlp.up_proj.weight`, d, [256, 64]]);
    t.push([`${p}.mlp.down_proj.weight`, d, [64, 256]]);
    t.push([`${p}.input_layernorm.weight`, d, [64]], [`${p}.post_attention_layernorm.weight`, d, [64]]);
  }
  return { config, tensors: t };
}

// ---- Checkpoints saved already quantized (issue 6), from public configs. ----

const ceil = (a, b) => Math.ceil(a / b);

/** Llama layers as [module, out, in]. */
function llamaLinears(layers, hidden, inter, heads, kvHeads, headDim) {
  const out = [];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    out.push([`${p}.self_attn.q_proj`, heads * headDim, hidden], [`${p}.self_attn.k_proj`, kvHeads * headDim, hidden]);
    out.push([`${p}.self_attn.v_proj`, kvHeads * headDim, hidden], [`${p}.self_attn.o_proj`, hidden, heads * headDim]);
    out.push([`${p}.mlp.gate_proj`, inter, hidden], [`${p}.mlp.up_proj`, inter, hidden], [`${p}.mlp.down_proj`, hidden, inter]);
  }
  return out;
}

function llamaRest(layers, hidden, vocab, dtype, tied) {
  const t = [["model.embed_tokens.weight", dtype, [vocab, hidden]], ["model.norm.weight", dtype, [hidden]]];
  if (!tied) t.push(["lm_head.weight", dtype, [vocab, hidden]]);
  for (let i = 0; i < layers; i++) t.push([`model.layers.${i}.input_layernorm.weight`, dtype, [hidden]], [`model.layers.${i}.post_attention_layernorm.weight`, dtype, [hidden]]);
  return t;
}

/** The JSON bitsandbytes packs into `….quant_state.bitsandbytes__nf4` (QuantState.as_dict(packed=True)). */
export function bnbQuantStateJson(shape, doubleQuant) {
  const state = { quant_type: "nf4", blocksize: 64, dtype: "bfloat16", shape };
  if (doubleQuant) Object.assign(state, { nested_blocksize: 256, nested_offset: 0.0123456789, nested_dtype: "float32" });
  return JSON.stringify(state);
}

/** bitsandbytes 4-bit tensors of one linear (spec §7), uint8 storage. */
export function bnb4Tensors(module, out, inFeatures, doubleQuant) {
  const n = out * inFeatures;
  const blocks = ceil(n, 64);
  const w = `${module}.weight`;
  const t = [[w, "U8", [Math.floor((n + 1) / 2), 1]], [`${w}.absmax`, doubleQuant ? "U8" : "F32", [blocks]], [`${w}.quant_map`, "F32", [16]]];
  if (doubleQuant) t.push([`${w}.nested_absmax`, "F32", [ceil(blocks, 256)]], [`${w}.nested_quant_map`, "F32", [256]]);
  t.push([`${w}.quant_state.bitsandbytes__nf4`, "U8", [Buffer.byteLength(bnbQuantStateJson([out, inFeatures], doubleQuant))]]);
  return t;
}

/** unsloth/Llama-3.2-1B-Instruct-bnb-4bit: hidden 2048, ffn 8192, 16 layers, 32/8 heads of 64, vocab 128256, tied; nf4 + double quant. */
export function llama1bBnb4() {
  const config = {
    model_type: "llama", vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, tie_word_embeddings: true, torch_dtype: "bfloat16",
    quantization_config: { quant_method: "bitsandbytes", load_in_4bit: true, bnb_4bit_quant_type: "nf4", bnb_4bit_use_double_quant: true, bnb_4bit_compute_dtype: "bfloat16", bnb_4bit_quant_storage: "uint8" },
  };
  const tensors = llamaRest(16, 2048, 128256, "BF16", true);
  for (const [module, out, inF] of llamaLinears(16, 2048, 8192, 32, 8, 64)) tensors.push(...bnb4Tensors(module, out, inF, true));
  return { config, tensors };
}

/** The tiny Llama in bitsandbytes nf4 without double quant, for a file whose data region holds the quant states. */
export function tinyLlamaBnb4() {
  const { config, tensors: plain } = tinyLlama();
  const tensors = plain.filter(([name]) => !/_proj\.weight$/.test(name));
  const blobs = {};
  for (const [name, , shape] of plain.filter(([name]) => /_proj\.weight$/.test(name))) {
    const module = name.slice(0, -".weight".length);
    tensors.push(...bnb4Tensors(module, shape[0], shape[1], false));
    blobs[`${name}.quant_state.bitsandbytes__nf4`] = bnbQuantStateJson(shape, false);
  }
  return { config: { ...config, quantization_config: { quant_method: "bitsandbytes", load_in_4bit: true, bnb_4bit_quant_type: "nf4" } }, tensors, blobs };
}

/** facebook/opt-350m saved in LLM.int8: int8 weights, fp32 SCB per output row, a weight_format byte. */
export function opt350mInt8() {
  const { config, tensors: plain } = opt350m();
  const tensors = [];
  for (const [name, dtype, shape] of plain) {
    const linear = shape.length === 2 && /(proj|fc\d|project_(in|out))\.weight$/.test(name);
    if (!linear) tensors.push([name, dtype, shape]);
    else {
      const module = name.slice(0, -".weight".length);
      tensors.push([name, "I8", shape], [`${module}.SCB`, "F32", [shape[0]]], [`${module}.weight_format`, "U8", []]);
    }
  }
  return { config: { ...config, quantization_config: { quant_method: "bitsandbytes", load_in_8bit: true } }, tensors };
}

/** TheBloke/Llama-2-7B-GPTQ layout: 4-bit, group size 128, act-order g_idx; fp16 rest, untied head. */
export function llama2_7bGptq() {
  const config = {
    model_type: "llama", vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, tie_word_embeddings: false, torch_dtype: "float16",
    quantization_config: { quant_method: "gptq", bits: 4, group_size: 128, desc_act: true, sym: true },
  };
  const tensors = llamaRest(32, 4096, 32000, "F16", false);
  for (const [module, out, inF] of llamaLinears(32, 4096, 11008, 32, 32, 128)) {
    tensors.push([`${module}.qweight`, "I32", [inF / 8, out]], [`${module}.qzeros`, "I32", [ceil(inF, 128), out / 8]]);
    tensors.push([`${module}.scales`, "F16", [ceil(inF, 128), out]], [`${module}.g_idx`, "I32", [inF]]);
  }
  return { config, tensors };
}

/** Block-scaled FP8 (DeepSeek-V3 / Qwen3-FP8 style, weight_block_size [128, 128]) on the Llama-3.2-1B shapes. */
export function llama1bFp8() {
  const config = {
    model_type: "llama", vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, tie_word_embeddings: true, torch_dtype: "bfloat16",
    quantization_config: { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [128, 128] },
  };
  const tensors = llamaRest(16, 2048, 128256, "BF16", true);
  for (const [module, out, inF] of llamaLinears(16, 2048, 8192, 32, 8, 64)) {
    tensors.push([`${module}.weight`, "F8_E4M3", [out, inF]], [`${module}.weight_scale_inv`, "F32", [ceil(out, 128), ceil(inF, 128)]]);
  }
  return { config, tensors };
}

/** One MoE layer of openai/gpt-oss-20b in MXFP4: 32 experts, hidden 2880, expert width 2880, blocks of 32 values. */
export function gptOssMxfp4Layer() {
  const config = {
    model_type: "gpt_oss", vocab_size: 201088, hidden_size: 2880, intermediate_size: 2880, num_local_experts: 32, num_hidden_layers: 1,
    tie_word_embeddings: false, torch_dtype: "bfloat16", quantization_config: { quant_method: "mxfp4", modules_to_not_convert: ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"] },
  };
  const p = "model.layers.0.mlp";
  const tensors = [
    [`${p}.router.weight`, "BF16", [32, 2880]],
    [`${p}.router.bias`, "BF16", [32]],
    [`${p}.experts.gate_up_proj_blocks`, "U8", [32, 5760, 90, 16]],
    [`${p}.experts.gate_up_proj_scales`, "U8", [32, 5760, 90]],
    [`${p}.experts.gate_up_proj_bias`, "BF16", [32, 5760]],
    [`${p}.experts.down_proj_blocks`, "U8", [32, 2880, 90, 16]],
    [`${p}.experts.down_proj_scales`, "U8", [32, 2880, 90]],
    [`${p}.experts.down_proj_bias`, "BF16", [32, 2880]],
  ];
  return { config, tensors };
}
