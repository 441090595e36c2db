import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fourBitStateBytes, quantizedLayout } from "../src/core/storage/schemes.js";
import { SCHEME_NAMES } from "../src/core/storage/schemes.js";
import { checkpointOf, simulate, type TensorSpec } from "./helpers.js";

const dim = fc.integer({ min: 1, max: 70_000 });

describe("layout formulas hold for random shapes (spec §4)", () => {
  it("4-bit in uint8: two values per byte, ceil(n/2) elements of shape [·, 1]", () => {
    fc.assert(
      fc.property(dim, dim, fc.constantFrom("fp4" as const, "nf4" as const), fc.boolean(), (out, inp, scheme, dq) => {
        const n = out * inp;
        const layout = quantizedLayout(scheme, out, n, dq, "uint8");
        expect(layout.storedShape).toEqual([Math.ceil(n / 2), 1]);
        expect(layout.parameterBytes).toBe(Math.ceil((4 * n) / 8));
        expect(layout.storedDtype).toBe("uint8");
      }),
    );
  });
  it("wider quant storage shrinks numel by its itemsize, bytes stay within one element of n/2", () => {
    fc.assert(
      fc.property(dim, dim, fc.constantFrom(["float16", 2] as const, ["bfloat16", 2] as const, ["float32", 4] as const), (out, inp, [storage, size]) => {
        const n = out * inp;
        const layout = quantizedLayout("nf4", out, n, false, storage);
        expect(layout.storedElements * 2 * size).toBeLessThanOrEqual(n + 1);
        expect((layout.storedElements + 1) * 2 * size).toBeGreaterThan(n + 1);
        expect(Math.abs(layout.parameterBytes - n / 2)).toBeLessThanOrEqual(size);
      }),
    );
  });
  it("absmax costs 32/64 = 0.5 bit per value; double quant 8/64 + 32/(64·256) ≈ 0.127 bit (QLoRA), plus fixed code books", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), (k) => {
        const n = 64 * 256 * k; // whole blocks and whole nested blocks
        expect((fourBitStateBytes(n, false) - 64) * 8).toBe(0.5 * n);
        expect((fourBitStateBytes(n, true) - 1024 - 4 - 64) * 8).toBeCloseTo(n * (8 / 64 + 32 / (64 * 256)), 6);
      }),
    );
  });
  it("int8 keeps one byte per value and a 4-byte scale per output row", () => {
    fc.assert(
      fc.property(dim, dim, (out, inp) => {
        const layout = quantizedLayout("int8", out, out * inp, false, "uint8");
        expect(layout).toMatchObject({ storedShape: [out, inp], storedElements: out * inp, parameterBytes: out * inp, quantStateBytes: 4 * out });
      }),
    );
  });
});

// Random Llama-like models: linears, norms, biases and an embedding, in random float dtypes.
const model = fc
  .record({
    hidden: fc.integer({ min: 1, max: 512 }),
    layers: fc.integer({ min: 1, max: 4 }),
    ffn: fc.integer({ min: 1, max: 1024 }),
    vocab: fc.integer({ min: 1, max: 1000 }),
    dtype: fc.constantFrom("F32", "F16", "BF16"),
  })
  .map(({ hidden, layers, ffn, vocab, dtype }) => {
    const t: TensorSpec[] = [["model.embed_tokens.weight", dtype, [vocab, hidden]], ["model.norm.weight", dtype, [hidden]]];
    for (let i = 0; i < layers; i++) {
      t.push([`model.layers.${i}.mlp.up_proj.weight`, dtype, [ffn, hidden]], [`model.layers.${i}.mlp.up_proj.bias`, dtype, [ffn]]);
      t.push([`model.layers.${i}.mlp.down_proj.weight`, dtype, [hidden, ffn]], [`model.layers.${i}.input_layernorm.weight`, dtype, [hidden]]);
    }
    const linear = layers * 2 * ffn * hidden;
    const total = vocab * hidden + hidden + layers * (2 * ffn * hidden + ffn + hidden);
    // Each packed weight rounds up on its own: ceil(n/2) elements.
    const packed = layers * 2 * Math.ceil((ffn * hidden) / 2);
    return { tensors: t, linear, packed, rest: total - linear, total };
  });

describe("simulation invariants on random models", () => {
  it("per scheme: counts and bytes follow from linear L and rest R alone", () => {
    fc.assert(
      fc.property(model, ({ tensors, linear, packed, rest, total }) => {
        const cp = checkpointOf(tensors, { torch_dtype: "float16" });
        for (const scheme of SCHEME_NAMES) {
          const { totals } = simulate(cp, { scheme });
          expect(totals.logicalParameters).toBe(total);
          expect(totals.totalBytes).toBe(totals.parameterBytes + totals.quantStateBytes);
        }
        expect(simulate(cp, { scheme: "fp32" }).totals.parameterBytes).toBe(4 * total);
        expect(simulate(cp, { scheme: "int8" }).totals).toMatchObject({ reportedParameters: total, trainableParameters: rest, parameterBytes: linear + 2 * rest });
        const nf4 = simulate(cp, { scheme: "nf4" }).totals;
        expect(nf4).toMatchObject({ trainableParameters: rest, reportedParameters: packed + rest, parameterBytes: packed + 2 * rest });
      }),
      { numRuns: 200 },
    );
  });
  it("the load dtype never changes counts, only bytes of the unquantized rest", () => {
    fc.assert(
      fc.property(model, fc.constantFrom("fp32" as const, "fp16" as const, "bf16" as const), ({ tensors, rest }, torchDtype) => {
        const cp = checkpointOf(tensors, null);
        const a = simulate(cp, { scheme: "nf4", torchDtype }).totals;
        const b = simulate(cp, { scheme: "nf4", torchDtype: "fp32" }).totals;
        expect(a.reportedParameters).toBe(b.reportedParameters);
        expect(b.parameterBytes - a.parameterBytes).toBe((4 - (torchDtype === "fp32" ? 4 : 2)) * rest);
      }),
      { numRuns: 200 },
    );
  });
});
