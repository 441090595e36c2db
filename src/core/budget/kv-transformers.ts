import { UsageError } from "../errors.js";
import type { AttentionLayout } from "./attention-layout.js";
import { COMPUTE_BYTES, convDim, GroupSum, n, type ComputeDtype, type KvCache, type KvDtype, type KvSettings } from "./kv-layout.js";

// transformers (spec §2): DynamicCache, K and V as [B, Hkv, S, hd] in the compute dtype.
export function transformersCache(layout: AttentionLayout, s: KvSettings): KvCache {
  if (s.tensorParallel !== 1) throw new UsageError("--tp applies to --engine vllm and llama.cpp; transformers' cache is computed on one GPU");
  const e = transformersBytes(s.kvDtype.key, s.computeDtype);
  if (s.kvDtype.value !== s.kvDtype.key) throw new UsageError("separate key and value cache types (K,V) are llama.cpp's; transformers caches both in one dtype");
  const groups = new GroupSum();
  let perToken = 0;
  for (const layer of layout.layers) {
    switch (layer.kind) {
      case "full": {
        const row = layer.kvHeads * (layer.keyDim + layer.valueDim) * e;
        groups.add("full", s.context, s.batch * s.context * row, `${layer.kvHeads} KV heads × (${layer.keyDim} + ${layer.valueDim}) dims × ${e} bytes`);
        perToken += row;
        break;
      }
      case "sliding": {
        // DynamicSlidingWindowLayer keeps the last W − 1 tokens.
        const tokens = Math.min(s.context, layer.window - 1);
        const row = layer.kvHeads * (layer.keyDim + layer.valueDim) * e;
        groups.add("sliding", tokens, s.batch * tokens * row, `${layer.kvHeads} KV heads × (${layer.keyDim} + ${layer.valueDim}) dims × ${e} bytes, last ${n(layer.window - 1)} tokens`);
        if (s.context < layer.window - 1) perToken += row;
        break;
      }
      case "latent": {
        // DeepSeek's attention decompresses the latent before the cache update.
        const row = layer.heads * (layer.nopeDim + layer.ropeDim + layer.valueDim) * e;
        groups.add("latent", s.context, s.batch * s.context * row, `${layer.heads} heads × (${layer.nopeDim} + ${layer.ropeDim} + ${layer.valueDim}) dims × ${e} bytes (decompressed)`);
        perToken += row;
        break;
      }
      case "linear": {
        const conv = convDim(layer, 1) * layer.convKernel * e;
        const state = layer.valueHeads * layer.keyDim * layer.valueDim * 4;
        groups.add("linear", 0, s.batch * (conv + state), `conv ${n(convDim(layer, 1))} × ${layer.convKernel} × ${e} bytes + state ${layer.valueHeads} × ${layer.keyDim} × ${layer.valueDim} × 4 bytes (fp32)`);
        break;
      }
      case "none":
        break;
    }
  }
  return {
    ...groups.result(s.batch, "transformers"),
    bytesPerToken: perToken,
    exact: true,
    dtype: s.kvDtype.key === "auto" ? s.computeDtype : s.kvDtype.key,
    notes: [],
  };
}

function transformersBytes(kv: KvDtype, compute: ComputeDtype): number {
  switch (kv) {
    case "auto":
      return COMPUTE_BYTES[compute];
    case "fp32":
      return 4;
    case "fp16":
    case "bf16":
      return 2;
    default:
      throw new UsageError(`--kv-dtype ${kv}: transformers' cache classes hold fp32, fp16 or bf16 (quantized caches are quanto/HQQ estimates, not modelled); use --engine vllm for fp8 or llama.cpp for q8_0…`);
  }
}

/** Sums layers into groups of the same kind and cell count. */
