import { torchDtypeFromConfig } from "./dtypes.js";
import type { TorchDtype } from "./dtypes.js";

/** What config.json says that changes the figures (spec §2, §3). */
export interface ModelConfig {
  modelType?: string;
  tieWordEmbeddings?: boolean;
  vocabSize?: number;
  /** config.json's `dtype` (transformers 5) or `torch_dtype` (older configs). */
  dtype?: TorchDtype;
  hiddenSize?: number;
  /** config.json's `quantization_config`, for checkpoints saved already quantized. */
  quantization?: QuantizationConfig;
  /** The whole parsed config.json, for readers of more of it (the attention layout for `fit`). */
  json?: Record<string, unknown>;
}

export interface QuantizationConfig {
  /** `quant_method`: bitsandbytes, gptq, awq, fp8, compressed-tensors, mxfp4, … */
  method?: string;
  bits?: number;
  groupSize?: number;
}

/**
 * Picks from a parsed config.json what changes the figures. Multimodal configs keep the language
 * model's settings under `text_config`; the top level wins where both speak.
 */
export function readModelConfig(json: unknown): ModelConfig {
  const root = asObject(json);
  const text = asObject(root.text_config);
  const pick = (key: string): unknown => root[key] ?? text[key];
  const config: ModelConfig = {};
  if (typeof root.model_type === "string") config.modelType = root.model_type;
  const tie = pick("tie_word_embeddings");
  if (typeof tie === "boolean") config.tieWordEmbeddings = tie;
  const vocab = pick("vocab_size");
  if (typeof vocab === "number" && Number.isSafeInteger(vocab) && vocab > 0) config.vocabSize = vocab;
  const dtype = torchDtypeFromConfig(pick("dtype")) ?? torchDtypeFromConfig(pick("torch_dtype"));
  if (dtype !== undefined) config.dtype = dtype;
  const hidden = pick("hidden_size") ?? pick("n_embd") ?? pick("d_model");
  if (typeof hidden === "number" && Number.isSafeInteger(hidden) && hidden > 0) config.hiddenSize = hidden;
  const q = asObject(root.quantization_config ?? text.quantization_config);
  if (Object.keys(q).length > 0) {
    const quantization: QuantizationConfig = {};
    if (typeof q.quant_method === "string") quantization.method = q.quant_method.toLowerCase();
    const bits = q.bits ?? q.w_bit;
    if (typeof bits === "number") quantization.bits = bits;
    const group = q.group_size ?? q.q_group_size;
    if (typeof group === "number") quantization.groupSize = group;
    config.quantization = quantization;
  }
  if (Object.keys(root).length > 0) config.json = root;
  return config;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
