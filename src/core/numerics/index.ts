/**
 * numerics — bitsandbytes' quantization algorithms reproduced to the bit (NF4/FP4 blockwise,
 * double quantization, LLM.int8, fp16/bf16 casts) on decoded weight values, and the error metrics
 * measured on them. Pure arithmetic on typed arrays.
 * May import: ../errors, ../format.
 */
export {};
