import { torchDtypeFromConfig } from "./dtypes.js";
import type { ModelConfig } from "./types.js";

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
  return config;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
