// How each format lays a weight out on disk, and what transformers holds after loading it as it is.
import { DTYPE_BITS, tensorBytes } from "../format/index.js";
import { InputError } from "../errors.js";
import { fourBitStateBytes, INT8 } from "./schemes.js";
import type { ModelConfig } from "../format/index.js";
import type { TensorInfo } from "../format/index.js";

/** What bitsandbytes names the tensor holding a 4-bit weight's quant-state JSON: `X.weight.quant_state.bitsandbytes__nf4`. */
export const QUANT_STATE_MARKER = ".quant_state.bitsandbytes__";

export const QUANT_FORMATS = ["bnb-4bit", "bnb-8bit", "gptq", "awq", "fp8", "compressed-tensors", "mxfp4"] as const;
export type QuantFormat = (typeof QUANT_FORMATS)[number];

/** A weight saved already quantized, with the statistics tensors that belong to it (spec §7). */
export interface PackedWeight {
  format: QuantFormat;
  /** The packed tensor's name (`….weight`, `….qweight`, `….weight_packed`, `…_blocks`). */
  name: string;
  /** The module, or for MXFP4 the expert tensor the blocks stand for. */
  module: string;
  file: string;
  packed: TensorInfo;
  statistics: TensorInfo[];
  /** The weight as it was before packing, `[out, in]`; null when the header cannot tell. */
  logicalShape: readonly number[] | null;
  logicalElements: number;
  /** After transformers loads the checkpoint as it is: what it adds to sum(p.numel()). */
  storedElements: number;
  /** … to get_memory_footprint() (parameters and buffers). */
  parameterBytes: number;
  /** … held outside the footprint (bitsandbytes' QuantState, SCB). */
  quantStateBytes: number;
  /** Bytes of the statistics tensors on disk. */
  statisticsBytes: number;
}

export interface Located {
  tensor: TensorInfo;
  file: string;
}


export function bnb4(owner: Located, statistics: TensorInfo[], blobs: Map<string, Uint8Array>, config: ModelConfig | null): PackedWeight {
  const { tensor: packed, file } = owner;
  const itemsize = DTYPE_BITS[packed.dtype] / 8;
  const stat = (suffix: string): TensorInfo | undefined => statistics.find((t) => t.name === `${packed.name}.${suffix}`);
  const absmax = stat("absmax")!;
  const blobTensor = statistics.find((t) => t.name.includes(QUANT_STATE_MARKER));
  const state = blobTensor === undefined ? undefined : readQuantState(blobs.get(blobTensor.name), blobTensor.name, file);
  const blocksize = state?.blocksize ?? 64;
  let shape: number[] | null = state?.shape ?? null;
  // Two 4-bit values per byte of storage: n is 2·itemsize·stored, or one less (the quant state says which).
  let n = packed.elements * 2 * itemsize;
  if (shape !== null) {
    const fromState = shape.reduce((a, b) => a * b, 1);
    if (Math.floor((fromState + 1) / (2 * itemsize)) !== packed.elements) {
      throw new InputError(`${file}: tensor ${JSON.stringify(packed.name)}: quant state shape [${shape.join(", ")}] does not fit the packed [${packed.shape.join(", ")}] ${packed.dtype}`);
    }
    n = fromState;
  }
  if (absmax.elements !== Math.ceil(n / blocksize)) {
    throw new InputError(`${file}: tensor ${JSON.stringify(absmax.name)}: ${absmax.elements} absmax values for ${n} weights in blocks of ${blocksize} (expected ${Math.ceil(n / blocksize)})`);
  }
  shape ??= inferShape(packed.name.slice(0, -".weight".length), n, config);
  const doubleQuant = stat("nested_absmax") !== undefined;
  return packedWeight("bnb-4bit", owner, packed.name.slice(0, -".weight".length), statistics, shape, n, {
    storedElements: packed.elements,
    parameterBytes: tensorBytes(packed),
    quantStateBytes: fourBitStateBytes(n, doubleQuant),
  });
}

export function bnb8(owner: Located, module: string, statistics: TensorInfo[]): PackedWeight {
  const { tensor } = owner;
  const scb = statistics.find((t) => t.name.endsWith(".SCB"))!;
  if (scb.elements !== tensor.shape[0]) {
    throw new InputError(`${owner.file}: tensor ${JSON.stringify(scb.name)} has ${scb.elements} scales for ${tensor.shape[0]} output rows`);
  }
  return packedWeight("bnb-8bit", owner, module, statistics, tensor.shape, tensor.elements, {
    storedElements: tensor.elements,
    parameterBytes: tensor.elements,
    quantStateBytes: tensor.shape[0]! * INT8.scbBytes,
  });
}

/**
 * GPTQ (qweight [in/pack, out], scales [groups, out]) and AWQ (qweight [in, out/pack], scales
 * [groups, out]), pack = 32/bits values per int32. Their QuantLinear modules hold every tensor,
 * bias included, as a buffer: none is a parameter, all count in the footprint.
 */
export function gptqOrAwq(owner: Located, module: string, statistics: TensorInfo[], config: ModelConfig | null): PackedWeight {
  const { tensor: qweight, file } = owner;
  const find = (suffix: string): TensorInfo | undefined => statistics.find((t) => t.name === `${module}.${suffix}`);
  const scales = find("scales");
  const qzeros = find("qzeros");
  const gIdx = find("g_idx");
  const fail = (why: string): never => {
    throw new InputError(`${file}: tensor ${JSON.stringify(qweight.name)}: ${why}`);
  };
  if (qweight.dtype !== "I32" || qweight.shape.length !== 2) fail(`expected an int32 matrix, found ${qweight.dtype} [${qweight.shape.join(", ")}]`);
  if (scales === undefined || scales.shape.length !== 2) return fail(`no 2-D ${module}.scales beside it`);
  const [rows, cols] = qweight.shape as [number, number];
  const awq = config?.quantization?.method === "awq" || (scales.shape[1] !== cols && gIdx === undefined);
  const bits = config?.quantization?.bits ?? (awq ? (32 * cols) / scales.shape[1]! : gIdx !== undefined ? (32 * rows) / gIdx.elements : 4);
  if (![2, 3, 4, 8].includes(bits) || 32 % bits !== 0) fail(`cannot tell the bit width (got ${bits})`);
  const pack = 32 / bits;
  const [out, inFeatures] = awq ? [cols * pack, rows] : [cols, rows * pack];
  if (scales.shape[1] !== out) fail(`${scales.name} has ${scales.shape[1]} columns for ${out} outputs`);
  if (qzeros !== undefined && (qzeros.shape[1]! * pack !== out || qzeros.shape[0] !== scales.shape[0])) fail(`${qzeros.name} [${qzeros.shape.join(", ")}] disagrees with ${scales.name} [${scales.shape.join(", ")}]`);
  return packedWeight(awq ? "awq" : "gptq", owner, module, statistics, [out, inFeatures], out * inFeatures, {
    storedElements: 0,
    parameterBytes: tensorBytes(qweight) + bytesOfAll(statistics),
    quantStateBytes: 0,
  });
}

/** compressed-tensors pack-quantized: weight_packed int32 [out, in/pack]; its tensors load as parameters. */
export function compressedTensors(owner: Located, module: string, statistics: TensorInfo[], config: ModelConfig | null): PackedWeight {
  const { tensor } = owner;
  const pack = 32 / (config?.quantization?.bits ?? 4);
  const shape = tensor.shape.length === 2 ? [tensor.shape[0]!, tensor.shape[1]! * pack] : null;
  return packedWeight("compressed-tensors", owner, module, statistics, shape, tensor.elements * pack, {
    storedElements: tensor.elements + elementsOf(statistics),
    parameterBytes: tensorBytes(tensor) + bytesOfAll(statistics),
    quantStateBytes: 0,
  });
}

/** MXFP4 (gpt-oss): `X_blocks` uint8 [..., groups, 16] holds 32 4-bit values per group, `X_scales` one E8M0 scale each. */
export function mxfp4(owner: Located, base: string, statistics: TensorInfo[]): PackedWeight {
  const { tensor } = owner;
  const dims = tensor.shape;
  const shape = dims.length >= 2 ? [...dims.slice(0, -2), dims[dims.length - 2]! * dims[dims.length - 1]! * 2] : null;
  return packedWeight("mxfp4", owner, base, statistics, shape, tensor.elements * 2, {
    storedElements: tensor.elements + elementsOf(statistics),
    parameterBytes: tensorBytes(tensor) + bytesOfAll(statistics),
    quantStateBytes: 0,
  });
}

/** FP8 weights hold one value per element; transformers' FP8 linears keep their scales as parameters too. */
export function fp8(owner: Located, module: string, statistics: TensorInfo[]): PackedWeight {
  const { tensor } = owner;
  return packedWeight("fp8", owner, module, statistics, tensor.shape, tensor.elements, {
    storedElements: tensor.elements + elementsOf(statistics),
    parameterBytes: tensorBytes(tensor) + bytesOfAll(statistics),
    quantStateBytes: 0,
  });
}

function packedWeight(
  format: QuantFormat,
  owner: Located,
  module: string,
  statistics: TensorInfo[],
  logicalShape: readonly number[] | null,
  logicalElements: number,
  loaded: Pick<PackedWeight, "storedElements" | "parameterBytes" | "quantStateBytes">,
): PackedWeight {
  return {
    format,
    name: owner.tensor.name,
    module,
    file: owner.file,
    packed: owner.tensor,
    statistics,
    logicalShape,
    logicalElements,
    storedElements: loaded.storedElements,
    parameterBytes: loaded.parameterBytes,
    quantStateBytes: loaded.quantStateBytes,
    statisticsBytes: bytesOfAll(statistics),
  };
}

// Plain loops: a DeepSeek-V3 checkpoint has 80,000 packed weights, each with its statistics.
function elementsOf(tensors: TensorInfo[]): number {
  let n = 0;
  for (let i = 0; i < tensors.length; i++) n += tensors[i]!.elements;
  return n;
}

function bytesOfAll(tensors: TensorInfo[]): number {
  let n = 0;
  for (let i = 0; i < tensors.length; i++) n += tensorBytes(tensors[i]!);
  return n;
}

interface QuantStateJson {
  shape?: number[];
  blocksize?: number;
}

/** The JSON that bitsandbytes packs into `….quant_state.bitsandbytes__nf4` (read only when the data region is at hand). */
function readQuantState(bytes: Uint8Array | undefined, name: string, file: string): QuantStateJson | undefined {
  if (bytes === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new InputError(`${file}: tensor ${JSON.stringify(name)} is not a bitsandbytes quant state (not JSON)`);
  }
  const state = json as { shape?: unknown; blocksize?: unknown };
  const shape = Array.isArray(state.shape) && state.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ? (state.shape as number[]) : undefined;
  if (shape === undefined) throw new InputError(`${file}: tensor ${JSON.stringify(name)}: quant state has no valid "shape"`);
  return { shape, ...(typeof state.blocksize === "number" ? { blocksize: state.blocksize } : {}) };
}

// Projections back to the hidden size: their input is the wider dimension.
const TO_HIDDEN = /(^|\.)(down_proj|o_proj|out_proj|dense_4h_to_h|fc2|wo|w2|c_proj|dense)$/;

/**
 * A packed weight's [out, in] when its quant state is not at hand: one side is the hidden size
 * (config.json); projections back to it (down_proj, o_proj, …) have it as output, others as input.
 */
function inferShape(module: string, n: number, config: ModelConfig | null): number[] | null {
  const hidden = config?.hiddenSize;
  if (hidden === undefined || n % hidden !== 0) return null;
  return TO_HIDDEN.test(module) ? [hidden, n / hidden] : [n / hidden, hidden];
}
