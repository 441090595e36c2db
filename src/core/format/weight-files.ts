/** The file names transformers looks for in a model folder. */
export const MODEL_FILES = {
  single: "model.safetensors",
  index: "model.safetensors.index.json",
  config: "config.json",
} as const;

/** Size limits of those files, wherever they are read from: a config is a few KB, an index of 163 shards ~15 MB. */
export const MAX_CONFIG_BYTES = 4_000_000;
export const MAX_INDEX_BYTES = 200_000_000;

// Weight formats other than safetensors, named when a folder has no safetensors to audit.
const OTHER_WEIGHTS = /\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx|mlmodel|tflite)$/;

export type WeightPlan =
  | { kind: "index" }
  | { kind: "files"; files: string[] }
  | { kind: "none"; otherWeights: string[] };

/**
 * Which weights transformers loads from a folder's file names: model.safetensors first (whatever
 * index sits beside it), then the shard index, else every `.safetensors` file (as qaudit audits them).
 */
export function planWeightFiles(names: readonly string[]): WeightPlan {
  if (names.includes(MODEL_FILES.single)) return { kind: "files", files: [MODEL_FILES.single] };
  if (names.includes(MODEL_FILES.index)) return { kind: "index" };
  const files = names.filter((n) => n.endsWith(".safetensors")).sort();
  if (files.length > 0) return { kind: "files", files };
  return { kind: "none", otherWeights: names.filter((n) => OTHER_WEIGHTS.test(n)) };
}
