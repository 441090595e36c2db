import type { Check } from "./checks.js";
import type { Dtype, TorchDtype } from "./dtypes.js";
import type { QuantFormat } from "./prequantized.js";
import type { TrainingReport } from "./training.js";

/** One tensor entry of a safetensors header. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  dataOffsets: [number, number];
  /** numel: the product of the shape (1 for a scalar). */
  elements: number;
}

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string> | null;
  /** Length of the header JSON, without the 8-byte prefix. */
  headerBytes: number;
  /** Length of the data region the offsets describe. */
  dataBytes: number;
}

export interface CheckpointFile {
  /** Name as the user or the repo knows it (relative path or repo file name). */
  name: string;
  header: SafetensorsHeader;
  /**
   * Contents of small tensors read from the data region when it is present: bitsandbytes'
   * `*.quant_state.bitsandbytes__*` JSON blobs, which hold a packed weight's original shape.
   */
  blobs?: Record<string, Uint8Array>;
}

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
}

export interface QuantizationConfig {
  /** `quant_method`: bitsandbytes, gptq, awq, fp8, compressed-tensors, mxfp4, … */
  method?: string;
  bits?: number;
  groupSize?: number;
}

/** A model as the sources hand it to the core: parsed headers and the config, no IO left. */
export interface Checkpoint {
  source: string;
  files: CheckpointFile[];
  config: ModelConfig | null;
}

export const SCHEME_NAMES = ["fp32", "fp16", "bf16", "int8", "fp4", "nf4"] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];

export const TENSOR_KINDS = ["linear", "expert", "router", "embedding", "output-head", "norm", "bias", "buffer", "other"] as const;
export type TensorKind = (typeof TENSOR_KINDS)[number];

export interface SimulationOptions {
  /** null: the checkpoint as stored, nothing converted. */
  scheme: SchemeName | null;
  doubleQuant: boolean;
  /** `bnb_4bit_quant_storage`: the dtype 4-bit values are packed into. */
  quantStorage: QuantStorage;
  /** Load dtype for the tensors that stay unquantized (spec §3). */
  torchDtype: TorchDtype | "auto";
  /** `llm_int8_skip_modules`; null keeps transformers' default list (the output head). */
  skipModules: string[] | null;
  /**
   * MoE expert weights stored per expert (`experts.0.w1.weight`): "fused" as transformers 5 holds
   * them (3-D parameters bitsandbytes does not quantize), "linear" as transformers 4's nn.Linear list.
   */
  experts: ExpertLayout;
}

export const EXPERT_LAYOUTS = ["fused", "linear"] as const;
export type ExpertLayout = (typeof EXPERT_LAYOUTS)[number];

export const QUANT_STORAGE = {
  uint8: "U8",
  int8: "I8",
  float16: "F16",
  bfloat16: "BF16",
  float32: "F32",
} as const satisfies Record<string, Dtype>;
export type QuantStorage = keyof typeof QUANT_STORAGE;

export interface TensorReport {
  name: string;
  kind: TensorKind;
  quantized: boolean;
  originalShape: number[];
  originalDtype: Dtype;
  storedShape: number[];
  /** PyTorch dtype name of the loaded tensor: uint8, int8, float16, bfloat16, float32, … */
  storedDtype: string;
  logicalElements: number;
  /** `p.numel()` of the loaded tensor. */
  storedElements: number;
  trainable: boolean;
  parameterBytes: number;
  quantStateBytes: number;
  /** Set on a tensor that is the same parameter as another (tied weights): counted once, there. */
  tiedTo?: string;
  /** The shard or file it came from. */
  file: string;
  /** Checkpoints saved already quantized: the packing found, the weight before packing, its statistics tensors. */
  format?: QuantFormat;
  logicalShape?: number[] | null;
  statistics?: string[];
  statisticsBytes?: number;
}

export interface Totals {
  logicalParameters: number;
  /** `sum(p.numel() for p in model.parameters())`. */
  reportedParameters: number;
  trainableParameters: number;
  /** `model.get_memory_footprint()`: parameters and checkpoint buffers, quantization state excluded. */
  parameterBytes: number;
  quantStateBytes: number;
  totalBytes: number;
}

export interface Report {
  schemaVersion: 1;
  kind: "report";
  model: { source: string; files: string[]; tensorCount: number };
  scheme: { name: SchemeName | "stored"; doubleQuant: boolean; torchDtype: string; quantStorage: QuantStorage };
  tensors: TensorReport[];
  totals: Totals;
  /** Plain-language sentences about this model's figures (why 4-bit counts shrink). */
  explanation: string[];
  warnings: string[];
  /** CI budget checks (--max-memory, --max-params, --min-trainable); empty without gates. */
  checks: Check[];
  /** Present when the checkpoint was saved already quantized. */
  sourceQuantization?: { summary: string; packedWeights: number; formats: QuantFormat[] };
  /** With --train: what fine-tuning adds (absent otherwise). */
  training?: TrainingReport;
}
