// Core benchmark: parse + validate + simulate a 100,000-tensor header, against a bare JSON.parse of
// the same bytes measured in the same run. Target (issue 3): the whole audit under 3× JSON.parse.
import { computeDtypeOf, computeFit, readAttentionLayout } from "../dist/core/budget/index.js";
import { parseHeader } from "../dist/core/format/index.js";
import { simulateScheme } from "../dist/core/storage/index.js";
import { headerJson } from "../scripts/safetensors-writer.mjs";

/** The same layers saved already quantized in block-scaled FP8 (DeepSeek-V3's format): weight + scale_inv pairs. */
export function syntheticFp8Tensors(count) {
  return syntheticTensors(count / 2).flatMap(([name, dtype, shape]) =>
    shape.length === 2 ? [[name, "F8_E4M3", shape], [name.replace(/weight$/, "weight_scale_inv"), "F32", shape.map((d) => Math.ceil(d / 128))]] : [[name, dtype, shape]],
  );
}

export function syntheticTensors(count) {
  const tensors = [];
  const perLayer = 10;
  for (let i = 0; tensors.length < count; i++) {
    const p = `model.layers.${i}`;
    const layer = [
      [`${p}.self_attn.q_proj.weight`, "BF16", [4096, 4096]],
      [`${p}.self_attn.k_proj.weight`, "BF16", [1024, 4096]],
      [`${p}.self_attn.v_proj.weight`, "BF16", [1024, 4096]],
      [`${p}.self_attn.o_proj.weight`, "BF16", [4096, 4096]],
      [`${p}.mlp.gate_proj.weight`, "BF16", [14336, 4096]],
      [`${p}.mlp.up_proj.weight`, "BF16", [14336, 4096]],
      [`${p}.mlp.down_proj.weight`, "BF16", [4096, 14336]],
      [`${p}.input_layernorm.weight`, "BF16", [4096]],
      [`${p}.post_attention_layernorm.weight`, "BF16", [4096]],
      [`${p}.self_attn.q_norm.weight`, "BF16", [128]],
    ];
    tensors.push(...layer.slice(0, Math.min(perLayer, count - tensors.length)));
  }
  return tensors;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Milliseconds of one call, after a full collection when node runs with --expose-gc (no GC debt carried in). */
function once(fn) {
  globalThis.gc?.();
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median times of two functions, sampled alternately so drift in machine load hits both alike. */
export function timePair(a, b, runs) {
  const ta = [];
  const tb = [];
  for (let i = 0; i < runs; i++) {
    ta.push(once(a));
    tb.push(once(b));
  }
  return [median(ta), median(tb)];
}

export function benchCore({ tensors = 100_000, runs = 21, fp8 = false } = {}) {
  const bytes = new TextEncoder().encode(JSON.stringify(headerJson(fp8 ? syntheticFp8Tensors(tensors) : syntheticTensors(tensors))));
  const options = { scheme: "nf4", doubleQuant: true, quantStorage: "uint8", torchDtype: "auto", skipModules: null, experts: "fused" };
  const decoder = new TextDecoder();
  const audit = () => simulateScheme({ source: "bench", files: [{ name: "bench.safetensors", header: parseHeader(bytes, "bench") }], config: null }, options);
  // Warm up both paths before measuring.
  for (let i = 0; i < 3; i++) { JSON.parse(decoder.decode(bytes)); audit(); }
  const [baseline, ours] = timePair(() => JSON.parse(decoder.decode(bytes)), audit, runs);
  return { tensors: fp8 ? syntheticFp8Tensors(tensors).length : tensors, headerBytes: bytes.length, baselineMs: baseline, auditMs: ours, ratio: ours / baseline };
}

/**
 * What `fit` adds to an audit of the same header: the attention layout, the KV cache and the
 * largest-context and largest-batch searches (about 60 budget evaluations), on a GPU.
 */
export function benchFit({ tensors = 100_000, runs = 11 } = {}) {
  const bytes = new TextEncoder().encode(JSON.stringify(headerJson(syntheticTensors(tensors))));
  const config = { model_type: "llama", num_hidden_layers: Math.ceil(tensors / 10), hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256, max_position_embeddings: 131072, torch_dtype: "bfloat16" };
  const options = { scheme: "nf4", doubleQuant: true, quantStorage: "uint8", torchDtype: "auto", skipModules: null, experts: "fused" };
  const fitOptions = { engine: "vllm", context: 32768, batch: 8, tensorParallel: 1, kvDtype: { key: "auto", value: "auto" }, gpu: { name: "H100", bytes: 85e9, sm90: true, source: "" }, vllm: { gpuUtil: 0.9, kvCacheMemory: null, blockSize: 16, maxBatchedTokens: null }, llamaCpp: { ubatch: 512, swaFull: false, unified: false }, attention: "sdpa", gradientCheckpointing: false };
  const audit = () => simulateScheme({ source: "bench", files: [{ name: "bench.safetensors", header: parseHeader(bytes, "bench") }], config: null }, options);
  const withFit = () => {
    const report = audit();
    return computeFit({ layout: readAttentionLayout(config), totals: report.totals, computeDtype: computeDtypeOf(report.tensors, report.scheme.torchDtype) }, fitOptions);
  };
  for (let i = 0; i < 2; i++) { audit(); withFit(); }
  const [auditMs, fitMs] = timePair(audit, withFit, runs);
  return { tensors, layers: config.num_hidden_layers, auditMs, fitMs, addedMs: fitMs - auditMs };
}
