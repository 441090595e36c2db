// qaudit error's arithmetic: quantize + dequantize + metrics throughput in MB/s of BF16 input on one
// core, against decoding the same bytes alone (the floor: every path decodes first), in the same run.
import { decodeValues, TensorMeasurement } from "../dist/core/numerics/index.js";
import { timePair } from "./core.mjs";

function bf16Bytes(count, seed) {
  let a = seed >>> 0;
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    f[0] = (((t ^ (t >>> 14)) >>> 0) / 4_294_967_296 - 0.5) * 0.1;
    out[i] = u[0] >>> 16;
  }
  return new Uint8Array(out.buffer);
}

export function benchError({ megabytes = 32, runs = 5 } = {}) {
  const bytes = bf16Bytes((megabytes * 1e6) / 2, 1);
  const chunk = 4 * 1024 * 1024;
  const plan = (scheme) => ({ name: "bench", file: "bench", dtype: "BF16", elements: bytes.length / 2, unitElements: 64, units: bytes.length / 128, ranges: [], sampled: false, rowLength: 4096 });
  const run = (scheme, doubleQuant) => () => {
    const m = new TensorMeasurement(plan(scheme), scheme, doubleQuant);
    for (let at = 0; at < bytes.length; at += chunk) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + chunk));
      if (m.needsOffsetPass) m.addOffsetChunk(part);
    }
    for (let at = 0; at < bytes.length; at += chunk) m.measureChunk(bytes.subarray(at, Math.min(bytes.length, at + chunk)));
    return m.figures();
  };
  const decodeOnly = () => {
    let sum = 0;
    for (let at = 0; at < bytes.length; at += chunk) sum += decodeValues(bytes.subarray(at, Math.min(bytes.length, at + chunk)), "BF16").length;
    return sum;
  };
  const rows = [];
  for (const [scheme, dq] of [["nf4", false], ["nf4", true], ["fp4", false], ["int8", false], ["fp16", false]]) {
    const fn = run(scheme, dq);
    fn();
    const [decodeMs, ms] = timePair(decodeOnly, fn, runs);
    rows.push({ label: `${scheme}${dq ? "+dq" : ""}`, ms, decodeMs, mbPerSecond: megabytes / (ms / 1000) });
  }
  return { megabytes, rows };
}
