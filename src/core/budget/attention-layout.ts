import { InputError } from "../errors.js";

/**
 * What one decoder layer caches per sequence (spec inference-memory §1). Widths are per KV head;
 * the engine decides the element type and how heads are split over GPUs.
 */
export type LayerCache =
  | { kind: "full"; kvHeads: number; keyDim: number; valueDim: number }
  | { kind: "sliding"; kvHeads: number; keyDim: number; valueDim: number; window: number; chunked: boolean }
  | { kind: "latent"; heads: number; kvLoraRank: number; ropeDim: number; nopeDim: number; valueDim: number }
  | { kind: "linear"; keyHeads: number; valueHeads: number; keyDim: number; valueDim: number; convKernel: number }
  | { kind: "none" };

export type LayerKind = LayerCache["kind"];

/** The decoder's shape as config.json gives it, with the class defaults filled in. */
export interface AttentionLayout {
  modelType: string | undefined;
  layers: LayerCache[];
  hiddenSize: number;
  heads: number;
  intermediateSize: number;
  vocabSize: number;
  /** The model's own maximum context (`max_position_embeddings` or its alias); null if unstated. */
  maxContext: number | null;
  /** `quantization_config.kv_cache_scheme` asks for an 8-bit cache (vLLM's `auto` becomes fp8). */
  kvCacheFp8: boolean;
}

// Class defaults for keys a config.json may leave out (it lists only what differs from its
// transformers configuration class). Sources: transformers `configuration_<model_type>.py`.
const CLASS_DEFAULTS = new Map<string, Record<string, unknown>>([
  // Gemma3TextConfig.__init__
  ["gemma3_text", { vocab_size: 262_208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 131_072, sliding_window: 4096, sliding_window_pattern: 6 }],
  // Gemma2Config.__init__
  ["gemma2", { vocab_size: 256_000, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 8192, sliding_window: 4096 }],
  // Cohere2Config.__init__: one full layer in 4
  ["cohere2", { sliding_window_pattern: 4, sliding_window: 4096 }],
  // FalconConfig.__init__
  ["falcon", { max_position_embeddings: 2048 }],
  // GPT2Config.__init__
  ["gpt2", { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab_size: 50_257 }],
]);

// llama.cpp enables its sliding-window cache only for these architectures (spec §4): elsewhere a
// config's sliding_window does not shrink its cache.
export const LLAMA_CPP_SWA_MODEL_TYPES = new Set(["gemma2", "gemma3", "gemma3_text", "gemma3n", "gemma3n_text", "cohere2", "gpt_oss", "llama4", "llama4_text"]);

/** Reads the decoder's cache layout from a parsed config.json (multimodal: its `text_config`). */
export function readAttentionLayout(json: Record<string, unknown>): AttentionLayout {
  const root = json;
  const text = isObject(own(root, "text_config")) ? (own(root, "text_config") as Record<string, unknown>) : root;
  const modelTypeValue = own(text, "model_type") ?? own(root, "model_type");
  const modelType = typeof modelTypeValue === "string" ? modelTypeValue : undefined;
  const defaults = (modelType !== undefined && CLASS_DEFAULTS.get(modelType)) || {};
  const get = (...keys: string[]): unknown => {
    for (const key of keys) {
      const value = own(text, key);
      if (value !== undefined && value !== null) return value;
    }
    for (const key of keys) {
      const value = own(defaults, key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const missing: string[] = [];
  const need = (label: string, ...keys: string[]): number => {
    const value = positiveInt(get(...keys));
    if (value === undefined) {
      missing.push(`${label} (${keys.join(" | ")})`);
      return 0;
    }
    return value;
  };
  const layerCount = need("layers", "num_hidden_layers", "n_layer", "num_layers");
  const hiddenSize = need("hidden size", "hidden_size", "n_embd", "d_model");
  const headsValue = get("num_attention_heads", "n_head", "num_query_heads");
  const heads = Array.isArray(headsValue) ? Math.max(...headsValue.map((h) => positiveInt(h) ?? 0)) : need("attention heads", "num_attention_heads", "n_head");
  if (missing.length > 0) throw layoutError(modelType, missing);

  const latent = get("kv_lora_rank") !== undefined;
  const kvHeadsAt = kvHeadsReader(get, heads, layerCount, modelType);
  const headDimValue = positiveInt(get("head_dim"));
  const headDim = headDimValue ?? Math.floor(hiddenSize / heads);
  const kinds = layerKinds(get, layerCount, modelType);

  const layers: LayerCache[] = kinds.map((kind, i) => {
    if (kind.kind === "linear") {
      return {
        kind: "linear",
        keyHeads: need("linear key heads", "linear_num_key_heads"),
        valueHeads: need("linear value heads", "linear_num_value_heads"),
        keyDim: need("linear key head dim", "linear_key_head_dim"),
        valueDim: need("linear value head dim", "linear_value_head_dim"),
        convKernel: need("linear conv kernel", "linear_conv_kernel_dim"),
      };
    }
    if (latent) {
      return {
        kind: "latent",
        heads,
        kvLoraRank: need("latent rank", "kv_lora_rank"),
        ropeDim: need("rope head dim", "qk_rope_head_dim"),
        nopeDim: need("nope head dim", "qk_nope_head_dim"),
        valueDim: need("value head dim", "v_head_dim"),
      };
    }
    const kvHeads = kvHeadsAt(i);
    if (kvHeads === 0) return { kind: "none" };
    if (kind.kind === "sliding") return { kind: "sliding", kvHeads, keyDim: headDim, valueDim: headDim, window: kind.window, chunked: kind.chunked };
    return { kind: "full", kvHeads, keyDim: headDim, valueDim: headDim };
  });
  if (missing.length > 0) throw layoutError(modelType, [...new Set(missing)]);

  // Gemma 3n: the last N layers reuse earlier layers' KV and cache nothing themselves.
  const shared = positiveInt(get("num_kv_shared_layers")) ?? 0;
  for (let i = Math.max(0, layerCount - shared); i < layerCount; i++) layers[i] = { kind: "none" };

  const quantization = own(root, "quantization_config");
  const kvScheme = isObject(quantization) ? own(quantization, "kv_cache_scheme") : undefined;
  return {
    modelType,
    layers,
    hiddenSize,
    heads,
    intermediateSize: positiveInt(get("intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "moe_intermediate_size")) ?? 4 * hiddenSize,
    vocabSize: positiveInt(get("vocab_size", "padded_vocab_size")) ?? 0,
    maxContext: positiveInt(get("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")) ?? null,
    kvCacheFp8: isObject(kvScheme) && own(kvScheme, "num_bits") === 8,
  };
}

type KindOf = { kind: "full" } | { kind: "sliding"; window: number; chunked: boolean } | { kind: "linear" };

/** Layer kinds, first rule that applies (spec §1 "Layer kinds"). */
function layerKinds(get: (...keys: string[]) => unknown, count: number, modelType: string | undefined): KindOf[] {
  if (get("ssm_state_size", "mamba_d_state", "state_size", "mamba_d_conv") !== undefined) {
    throw new InputError(`fit: state-space (Mamba) layers${modelType === undefined ? "" : ` of ${modelType}`} are not supported yet; their per-family state keys are not mapped`);
  }
  const windowValue = positiveInt(get("sliding_window"));
  const chunk = positiveInt(get("attention_chunk_size"));
  let window = windowValue;
  if (window !== undefined && get("use_bidirectional_attention") === true) window = Math.floor(window / 2) + 1;
  const sliding = (): KindOf => {
    if (window === undefined) throw new InputError("fit: config.json has sliding-attention layers but no sliding_window");
    return { kind: "sliding", window, chunked: false };
  };
  const types = get("layer_types");
  if (Array.isArray(types)) {
    if (types.length !== count) throw new InputError(`fit: config.json's layer_types lists ${types.length} layers, num_hidden_layers says ${count}`);
    return types.map((t): KindOf => {
      switch (t) {
        case "full_attention":
        case "attention":
        case "global_attention":
          return { kind: "full" };
        case "sliding_attention":
          return sliding();
        case "chunked_attention":
          if (chunk === undefined) throw new InputError("fit: config.json has chunked-attention layers but no attention_chunk_size");
          return { kind: "sliding", window: chunk, chunked: true };
        case "linear_attention":
          return { kind: "linear" };
        default:
          throw new InputError(`fit: unknown layer type ${JSON.stringify(t)} in config.json's layer_types (known: full_attention, sliding_attention, chunked_attention, linear_attention)`);
      }
    });
  }
  const interval = positiveInt(get("full_attention_interval"));
  if (interval !== undefined && get("linear_num_value_heads") !== undefined) {
    return range(count).map((i) => ((i + 1) % interval === 0 ? { kind: "full" } : { kind: "linear" }));
  }
  const pattern = positiveInt(get("sliding_window_pattern"));
  if (pattern !== undefined && window !== undefined) return range(count).map((i) => ((i + 1) % pattern === 0 ? { kind: "full" } : sliding()));
  if (modelType === "gemma2" && window !== undefined) return range(count).map((i) => (i % 2 === 0 ? sliding() : { kind: "full" }));
  const useSliding = get("use_sliding_window");
  if (typeof useSliding === "boolean") {
    if (!useSliding || window === undefined) return range(count).map(() => ({ kind: "full" }));
    const from = positiveInt(get("max_window_layers")) ?? 0;
    return range(count).map((i) => (i >= from ? sliding() : { kind: "full" }));
  }
  if (window !== undefined) return range(count).map(() => sliding());
  if (chunk !== undefined) return range(count).map(() => ({ kind: "sliding", window: chunk, chunked: true }));
  return range(count).map(() => ({ kind: "full" }));
}

/** KV heads of layer i: aliases, Falcon's multi-query flag, per-layer lists (spec §1). */
function kvHeadsReader(get: (...keys: string[]) => unknown, heads: number, layers: number, modelType: string | undefined): (layer: number) => number {
  if (get("multi_query") === true && get("new_decoder_architecture") !== true && (modelType === "falcon" || modelType === "RefinedWebModel" || modelType === "RefinedWeb")) return () => 1;
  const value = get("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num");
  if (Array.isArray(value)) {
    if (value.length !== layers) throw new InputError(`fit: config.json lists KV heads for ${value.length} layers, the model has ${layers}`);
    return (i) => {
      const n = value[i];
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InputError(`fit: config.json's KV heads for layer ${i} is not a count`);
      return n;
    };
  }
  const n = positiveInt(value) ?? heads;
  return () => n;
}

function layoutError(modelType: string | undefined, missing: string[]): InputError {
  return new InputError(`fit: config.json${modelType === undefined ? "" : ` (${modelType})`} does not give the attention layout: missing ${missing.join(", ")}`);
}

function own(object: unknown, key: string): unknown {
  return isObject(object) && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
