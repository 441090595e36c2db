/**
 * storage — how weights are held after `from_pretrained` under a scheme: tensor classification
 * (which modules bitsandbytes quantizes), scheme layouts as data (packed shapes, quant-state
 * sizes), checkpoints saved already quantized, the simulation that yields every tensor's stored
 * shape, dtype, numel and bytes, and the plain-language explanation of those figures.
 * May import: ../errors, ../format.
 */
export { classifyTensors, TENSOR_KINDS, type ClassifiedTensor, type TensorKind } from "./classify.js";
export { count, explainReport } from "./explain.js";
export { QUANT_FORMATS, QUANT_STATE_MARKER, type QuantFormat } from "./packed-layouts.js";
export { quantStatesNeeded } from "./prequantized.js";
export { EXPERT_LAYOUTS, FOUR_BIT, INT8, QUANT_STORAGE, SCHEME_NAMES, type ExpertLayout, type QuantStorage, type SchemeName, type SimulationOptions } from "./schemes.js";
export { logicalCheckpoint, matchesModule, simulateScheme, sumTotals, unsafeSkipPattern } from "./simulate.js";
export type { StorageReport, TensorReport, Totals } from "./storage-report.js";
