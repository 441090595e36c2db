import type { AttentionLayout } from "./attention-layout.js";
import type { KvCache, KvSettings } from "./kv-layout.js";
import { llamaCppCache } from "./kv-llama-cpp.js";
import { transformersCache } from "./kv-transformers.js";
import { vllmCache } from "./kv-vllm.js";

export { ENGINES, KV_DTYPES, type ComputeDtype, type Engine, type KvCache, type KvDtype, type KvGroup, type KvGroupKind, type KvSettings, type VllmLayout } from "./kv-layout.js";
export { pad256 } from "./kv-llama-cpp.js";
export { vllmCapacity } from "./kv-vllm.js";

/**
 * The KV cache and fixed per-sequence state each engine allocates for a config (spec
 * inference-memory §2–§4). Every figure follows the engine's own layout: exact.
 */
export function computeKvCache(layout: AttentionLayout, settings: KvSettings): KvCache {
  switch (settings.engine) {
    case "transformers":
      return transformersCache(layout, settings);
    case "vllm":
      return vllmCache(layout, settings);
    case "llama.cpp":
      return llamaCppCache(layout, settings);
  }
}

