/**
 * numerics — bitsandbytes' quantization algorithms reproduced to the bit (NF4/FP4 blockwise,
 * double quantization, LLM.int8, fp16/bf16 casts) on decoded weight values, the error metrics
 * measured on them, and which bytes to read for a measurement (whole quantization units).
 * Pure arithmetic on typed arrays. May import: ../errors, ../format.
 */
export { decodeValues, DECODABLE, ELEMENT_BYTES, isDecodable, type DecodableDtype } from "./decode.js";
export { TensorMeasurement, pooledFigures } from "./measure.js";
export { emptySums, errorFigures, type ErrorFigures, type ErrorSums } from "./metrics.js";
export { CHUNK_BYTES, ERROR_SCHEMES, isSkipped, mulberry32, plannedBytes, planTensor, type ErrorScheme, type PlanOptions, type ReadRange, type SkippedTensor, type TensorPlan } from "./plan.js";
