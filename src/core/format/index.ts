/**
 * format — the safetensors format and nothing else: dtypes and their sizes, the strict header
 * parser, shard indexes and checkpoint assembly, which weight files a folder or repo loads, and
 * what config.json says. Takes bytes and parsed JSON, never paths or URLs.
 * May import: ../errors only. The bottom area: every other area may import it.
 */
export { assembleCheckpoint, NameRegistry, type Checkpoint, type CheckpointFile } from "./checkpoint.js";
export { checkShardName, fnv1a, NamesFingerprint, parseShardIndex, type ShardIndex, type ShardStats } from "./shard-index.js";
export { readModelConfig, type ModelConfig, type QuantizationConfig } from "./config.js";
export { bytesOf, DTYPE_BITS, isFloatingDtype, tensorBytes, TORCH_DTYPES, TORCH_NAME, torchDtypeOf, type Dtype, type TorchDtype } from "./dtypes.js";
export { parseJsonText } from "./json.js";
export { dataEnd, LENGTH_PREFIX_BYTES, MAX_HEADER_BYTES, parseHeader, parseHeaderLength, type SafetensorsHeader, type TensorInfo } from "./header.js";
export { matrixShape, shapeOf } from "./shapes.js";
export { MAX_CONFIG_BYTES, MAX_INDEX_BYTES, MODEL_FILES, planWeightFiles, type WeightPlan } from "./weight-files.js";
