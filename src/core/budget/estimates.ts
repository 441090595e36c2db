/**
 * Everything `fit` estimates rather than derives from a layout: runtime overhead figures and the
 * activation approximations (spec inference-memory §5–§6). One table a person can update; each
 * entry carries its source, and every figure built from it is labelled an estimate.
 */
const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const OVERHEADS = {
  cudaContext: { bytes: 274 * MiB, source: "CUDA context with lazy loading, ≈ 274 MiB (pytorch/pytorch PR #86509)" },
  cublasWorkspace: { bytes: 8.125 * MiB, bytesSm90: 32 * MiB, source: "cuBLAS workspace, 8.125 MiB (32 MiB on sm90) (PyTorch CublasHandlePool.cpp)" },
  vllmNonTorch: { bytes: Math.round(0.07 * GiB), source: "vLLM non-torch memory, 0.07 GiB in a single-GPU log (vllm-project/vllm PR #21489)" },
  vllmCudaGraphs: { bytes: 1 * GiB, source: "vLLM CUDA graphs, 0.5–1.5 GiB typical, 1 GiB taken (vllm-project/vllm PR #21489)" },
  trainingFragmentation: { fraction: 0.1, source: "allocator fragmentation, 5–10 % of activations, 10 % taken (PyTorch OOM reports)" },
} as const;

/** vLLM's defaults by GPU size (EngineArgs.get_batch_defaults): ≥ 70 GiB except A100. */
export function vllmDefaultBatchedTokens(gpuBytes: number | null, gpuName: string | null): number {
  const big = gpuBytes !== null && gpuBytes >= 70 * GiB && !(gpuName ?? "").toLowerCase().startsWith("a100");
  return big ? 16_384 : 8192;
}

export interface ModelShape {
  layers: number;
  hiddenSize: number;
  heads: number;
  intermediateSize: number;
  vocabSize: number;
}

export const ATTENTION_IMPLEMENTATIONS = ["eager", "sdpa", "flash"] as const;
export type AttentionImplementation = (typeof ATTENTION_IMPLEMENTATIONS)[number];

export interface Estimate {
  bytes: number;
  basis: string;
}

/**
 * Peak transient memory of a forward pass over `tokens` tokens at once (prefill): one decoder
 * layer's hidden states, residual, attention projections and MLP intermediates, scores when eager
 * attention materialises them, and the last position's logits in fp32 per sequence.
 */
export function prefillActivations(shape: ModelShape, tokens: number, sequences: number, contextPerSequence: number, elementBytes: number, attention: AttentionImplementation): Estimate {
  const perToken = (4 * shape.hiddenSize + 2 * shape.intermediateSize) * elementBytes;
  const scores = attention === "eager" ? sequences * shape.heads * contextPerSequence * contextPerSequence * elementBytes : 0;
  const logits = sequences * shape.vocabSize * 4;
  return {
    bytes: tokens * perToken + scores + logits,
    basis: `estimate: one layer's prefill tensors, ${tokens.toLocaleString("en-US")} tokens × (4·hidden + 2·ffn) × ${elementBytes} B${attention === "eager" ? ", eager attention scores" : ""}, plus last-token logits in fp32`,
  };
}

/** Training activations (Korthikanti et al., arXiv:2205.05198, Table 2) plus logits and loss. */
export function trainingActivations(shape: ModelShape, sequence: number, batch: number, attention: AttentionImplementation, checkpointing: boolean): Estimate {
  const sbh = sequence * batch * shape.hiddenSize;
  const perLayer = attention === "eager" ? sbh * (34 + (5 * shape.heads * sequence) / shape.hiddenSize) : 34 * sbh;
  const layers = checkpointing ? 2 * sbh * shape.layers + perLayer : perLayer * shape.layers;
  // transformers' ForCausalLMLoss: logits in 16 bits, an fp32 upcast and fp32 log-softmax for backward.
  const loss = batch * sequence * shape.vocabSize * (2 + 4 + 4);
  return {
    bytes: Math.ceil(layers + loss),
    basis: `estimate: Korthikanti GPT approximation, ${checkpointing ? "2·s·b·h per layer with gradient checkpointing + one layer recomputed" : attention === "eager" ? "s·b·h·(34 + 5·a·s/h) per layer (eager)" : "34·s·b·h per layer (flash/sdpa)"}, plus logits and loss b·s·V·10`,
  };
}
