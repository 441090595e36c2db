import type { Dtype } from "../format/index.js";

/** Dtypes whose values qaudit decodes exactly to fp32 (spec quantization-error §1). */
export const DECODABLE = ["F32", "F16", "BF16"] as const;
export type DecodableDtype = (typeof DECODABLE)[number];

export function isDecodable(dtype: Dtype): dtype is DecodableDtype {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

export const ELEMENT_BYTES = { F32: 4, F16: 2, BF16: 2 } as const satisfies Record<DecodableDtype, number>;

let f16Table: Float32Array | undefined;

/** Every binary16 bit pattern as fp32 (all exact): subnormals m·2^-24, normals (1024 + m)·2^(e−25). */
export function halfTable(): Float32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Float32Array(65_536);
  for (let bits = 0; bits < 65_536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const e = (bits >> 10) & 0x1f;
    const m = bits & 0x3ff;
    table[bits] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m === 0 ? sign * Infinity : Number.NaN) : sign * (1024 + m) * 2 ** (e - 25);
  }
  f16Table = table;
  return table;
}

/**
 * Little-endian tensor bytes to fp32 values. BF16 is the top half of an fp32 (a shift, exact for
 * every value, NaN and inf included); F16 goes through a 65,536-entry table.
 */
export function decodeValues(bytes: Uint8Array, dtype: DecodableDtype): Float32Array {
  const count = Math.floor(bytes.length / ELEMENT_BYTES[dtype]);
  const out = new Float32Array(count);
  if (dtype === "F32") {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
    return out;
  }
  const halves = halvesOf(bytes, count);
  if (dtype === "BF16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
    return out;
  }
  const table = halfTable();
  for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** The first `count` 16-bit values of `bytes`, copied to an aligned buffer so a 16-bit view can read them at any source offset. */
export function halvesOf(bytes: Uint8Array, count: number): Uint16Array {
  const halves = new Uint16Array(count);
  new Uint8Array(halves.buffer).set(bytes.subarray(0, count * 2));
  return halves;
}
