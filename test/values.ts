// Seeded value generators for quantization-error tests: the same numbers on every run and machine.
import { mulberry32 } from "../src/core/numerics/plan.js";

/** The generator qaudit's sampling uses (mulberry32). */
export function random(seed: number): () => number {
  return mulberry32(seed);
}

/** N(0, 1) values (Box–Muller), rounded to fp32. */
export function gaussian(n: number, seed: number): Float32Array {
  const next = random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
