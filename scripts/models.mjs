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
