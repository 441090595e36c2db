// Writes complete safetensors files with real values (for qaudit error tests): the header as
// scripts/safetensors-writer.mjs lays it out (name order), then the little-endian data.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error plain JS writer shared with the fixture scripts
import { encodeSafetensors, headerJson } from "../scripts/safetensors-writer.mjs";

export interface TensorValues {
  name: string;
  dtype: "F32" | "F16" | "BF16";
  shape: number[];
  /** fp32 values (F32, BF16: their top 16 bits must be the value), or raw 16-bit patterns for F16. */
  values: Float32Array | Uint16Array;
}

export function encodeWithValues(tensors: TensorValues[]): Buffer {
  const header = headerJson(tensors.map((t) => [t.name, t.dtype, t.shape])) as Record<string, { data_offsets: [number, number] }>;
  const head = encodeSafetensors(header) as Buffer;
  const size = Math.max(0, ...tensors.map((t) => header[t.name]!.data_offsets[1]));
  const data = Buffer.alloc(size);
  for (const t of tensors) {
    const at = header[t.name]!.data_offsets[0];
    let bytes: Uint8Array;
    if (t.dtype === "F32") bytes = new Uint8Array(Float32Array.from(t.values).buffer);
    else if (t.dtype === "F16") bytes = new Uint8Array(Uint16Array.from(t.values).buffer);
    else {
      const bits = new Uint32Array(Float32Array.from(t.values).buffer);
      bytes = new Uint8Array(Uint16Array.from(bits, (b) => b >>> 16).buffer);
    }
    Buffer.from(bytes).copy(data, at);
  }
  return Buffer.concat([head, data]);
}

export function writeModel(dir: string, tensors: TensorValues[], config: Record<string, unknown> = { model_type: "llama", torch_dtype: "bfloat16" }): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model.safetensors"), encodeWithValues(tensors));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

/** fp32 values rounded to bf16 (so they are exact in a BF16 tensor). */
export function asBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = (((bits[i]! + 0x7fff + ((bits[i]! >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return new Float32Array(bits.buffer);
}
