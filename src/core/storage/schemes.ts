import { bytesOf, DTYPE_BITS, matrixShape, TORCH_DTYPES, TORCH_NAME, type Dtype } from "../format/index.js";
import type { TorchDtype } from "../format/index.js";

export const SCHEME_NAMES = ["fp32", "fp16", "bf16", "int8", "fp4", "nf4"] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];

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

/** How one weight is held after a quantized load: the parameter and its quantization state. */
export interface QuantizedLayout {
  storedShape: readonly number[];
  storedDtype: string;
  storedElements: number;
  parameterBytes: number;
  quantStateBytes: number;
}

// bitsandbytes 4-bit layout (Params4bit / QuantState; QLoRA paper §3). transformers always uses blocks of 64.
export const FOUR_BIT = {
  blocksize: 64,
  absmaxBytes: 4, // one fp32 absmax per block
  codeBytes: 16 * 4, // the 16-entry fp4/nf4 code book, fp32
  nestedBlocksize: 256, // double quant: absmax quantized to uint8 in blocks of 256
  nestedAbsmaxBytes: 4, // one fp32 absmax per nested block
  nestedCodeBytes: 256 * 4, // the 256-entry dynamic 8-bit code book, fp32
  offsetBytes: 4, // fp32 mean subtracted from absmax before nesting
} as const;

// LLM.int8 (Int8Params): one fp32 row scale (SCB) per output row.
export const INT8 = { scbBytes: 4 } as const;

/** Quantization-state bytes of a 4-bit weight of `n` values (spec §4). */
export function fourBitStateBytes(n: number, doubleQuant: boolean): number {
  const blocks = Math.ceil(n / FOUR_BIT.blocksize);
  if (!doubleQuant) return blocks * FOUR_BIT.absmaxBytes + FOUR_BIT.codeBytes;
  const nestedBlocks = Math.ceil(blocks / FOUR_BIT.nestedBlocksize);
  return blocks + nestedBlocks * FOUR_BIT.nestedAbsmaxBytes + FOUR_BIT.nestedCodeBytes + FOUR_BIT.offsetBytes + FOUR_BIT.codeBytes;
}

/**
 * Layout of a quantized linear weight `[out, in]` (already in nn.Linear orientation) under a
 * quantizing scheme. `Params4bit` packs two 4-bit values per byte of `quant_storage`.
 */
export function quantizedLayout(
  scheme: Extract<SchemeName, "int8" | "fp4" | "nf4">,
  out: number,
  n: number,
  doubleQuant: boolean,
  quantStorage: QuantStorage,
): QuantizedLayout {
  if (scheme === "int8") {
    return {
      storedShape: matrixShape(out, n / out),
      storedDtype: TORCH_NAME.I8,
      storedElements: n,
      parameterBytes: n,
      quantStateBytes: out * INT8.scbBytes,
    };
  }
  const storage: Dtype = QUANT_STORAGE[quantStorage];
  const itemsize = DTYPE_BITS[storage] / 8;
  const elements = Math.floor((n + 1) / (2 * itemsize));
  return {
    storedShape: matrixShape(elements, 1),
    storedDtype: TORCH_NAME[storage],
    storedElements: elements,
    parameterBytes: bytesOf(elements, storage),
    quantStateBytes: fourBitStateBytes(n, doubleQuant),
  };
}

/** The dtype every floating tensor takes under a plain-dtype scheme. */
export const PLAIN_SCHEME_DTYPE = {
  fp32: TORCH_DTYPES.fp32.dtype,
  fp16: TORCH_DTYPES.fp16.dtype,
  bf16: TORCH_DTYPES.bf16.dtype,
} as const satisfies Partial<Record<SchemeName, Dtype>>;

export function isQuantizingScheme(scheme: SchemeName): scheme is "int8" | "fp4" | "nf4" {
  return scheme === "int8" || scheme === "fp4" || scheme === "nf4";
}
