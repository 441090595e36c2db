import type { Dtype } from "../format/index.js";
import type { TensorKind } from "./classify.js";
import type { QuantFormat } from "./packed-layouts.js";
import type { QuantStorage, SchemeName } from "./schemes.js";

export interface TensorReport {
  name: string;
  kind: TensorKind;
  quantized: boolean;
  originalShape: readonly number[];
  originalDtype: Dtype;
  storedShape: readonly number[];
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
  logicalShape?: readonly number[] | null;
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

/**
 * What a load under a storage scheme holds: every tensor as stored and the totals PyTorch reports.
 * Produced by `simulateScheme`; the report area adds checks, training, fit and error sections.
 */
export interface StorageReport {
  model: { source: string; files: string[]; tensorCount: number };
  scheme: { name: SchemeName | "stored"; doubleQuant: boolean; torchDtype: string; quantStorage: QuantStorage };
  tensors: TensorReport[];
  totals: Totals;
  /** Plain-language sentences about this model's figures (why 4-bit counts shrink). */
  explanation: string[];
  warnings: string[];
  /** Present when the checkpoint was saved already quantized. */
  sourceQuantization?: { summary: string; packedWeights: number; formats: QuantFormat[] };
}
