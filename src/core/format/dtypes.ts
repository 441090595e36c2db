// safetensors dtypes and their storage width (spec §1). Sub-byte types pack several values per byte.
export const DTYPE_BITS = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
} as const satisfies Record<string, number>;

export type Dtype = keyof typeof DTYPE_BITS;

export function isDtype(value: string): value is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, value);
}

/** Floating-point dtypes: the ones transformers casts to the load dtype (`torch_dtype`). */
export function isFloatingDtype(dtype: Dtype): boolean {
  return dtype.startsWith("F") || dtype === "BF16";
}

/** Bytes taken by `elements` values of `dtype`; sub-byte dtypes round up to whole bytes. */
export function bytesOf(elements: number, dtype: Dtype): number {
  const bits = DTYPE_BITS[dtype];
  return bits % 8 === 0 ? elements * (bits / 8) : Math.ceil((elements * bits) / 8);
}

/** Bytes a tensor's values take as stored (its `data_offsets` span). */
export function tensorBytes(tensor: { elements: number; dtype: Dtype }): number {
  return bytesOf(tensor.elements, tensor.dtype);
}

/** The dtypes a model can be loaded in (`torch_dtype`), by their short CLI names. */
export const TORCH_DTYPES = {
  fp32: { dtype: "F32", torchName: "float32" },
  fp16: { dtype: "F16", torchName: "float16" },
  bf16: { dtype: "BF16", torchName: "bfloat16" },
  fp64: { dtype: "F64", torchName: "float64" },
} as const satisfies Record<string, { dtype: Dtype; torchName: string }>;

export type TorchDtype = keyof typeof TORCH_DTYPES;

/** PyTorch's name for the tensor a safetensors dtype loads into (`torch.float8_e4m3fn` → `float8_e4m3fn`). */
export const TORCH_NAME = {
  BOOL: "bool",
  U8: "uint8",
  I8: "int8",
  F8_E4M3: "float8_e4m3fn",
  F8_E5M2: "float8_e5m2",
  F8_E8M0: "float8_e8m0fnu",
  I16: "int16",
  U16: "uint16",
  F16: "float16",
  BF16: "bfloat16",
  I32: "int32",
  U32: "uint32",
  F32: "float32",
  I64: "int64",
  U64: "uint64",
  F64: "float64",
  F4: "float4_e2m1fn_x2",
  F6_E2M3: "float6_e2m3",
  F6_E3M2: "float6_e3m2",
} as const satisfies Record<Dtype, string>;

const DTYPE_ALIASES = new Map<string, TorchDtype>([
  ["float32", "fp32"],
  ["float", "fp32"],
  ["float16", "fp16"],
  ["half", "fp16"],
  ["bfloat16", "bf16"],
  ["float64", "fp64"],
  ["double", "fp64"],
]);

/** Maps a config.json dtype string (`"bfloat16"`, `"torch.float16"`) to a load dtype, if it is one. */
export function torchDtypeFromConfig(value: unknown): TorchDtype | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.replace(/^torch\./, "");
  // A Map: the string comes from a file, and "constructor" or "__proto__" must find nothing.
  return DTYPE_ALIASES.get(name);
}

/** The load dtype a checkpoint dtype corresponds to, for "auto" (the checkpoint's own dtype). */
export function torchDtypeOf(dtype: Dtype): TorchDtype | undefined {
  for (const [key, value] of Object.entries(TORCH_DTYPES)) {
    if (value.dtype === dtype) return key as TorchDtype;
  }
  return undefined;
}
