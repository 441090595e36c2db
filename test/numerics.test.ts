// bitsandbytes' algorithms, checked against the reference figures of the quantization-error notes
// (each computed by hand or with the stated rules, not by qaudit).
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bfloat16BitsOf, halfBitsOf, roundHalfEven, toBfloat16, toHalf } from "../src/core/numerics/casts.js";
import { countBelow, fp4Table, nf4Table, dynamicMapMidpoints, FP4_CODE, FP4_THRESHOLDS, fp4Nibble, NF4_CODE, NF4_THRESHOLDS, nf4Nibble, nearestDynamicIndex, signedDynamicMap } from "../src/core/numerics/codebooks.js";
import { decodeValues, halfTable } from "../src/core/numerics/decode.js";
import { emptySums, errorFigures, type ErrorSums } from "../src/core/numerics/metrics.js";
import { absmaxOffset, blockAbsmax, blockAbsmaxOf, decodeBlocks, doubleQuantize, measureCast, measureFourBit, measureInt8 } from "../src/core/numerics/quantize.js";
import { gaussian } from "./values.js";

const f = Math.fround;
const block = Float32Array.from({ length: 64 }, (_, k) => (k - 32) / 64);
const hex = (nibbles: number[]): string => nibbles.map((n) => n.toString(16)).join("");

/** Relative agreement to 1e-9 (the notes give doubles; sums may differ in the last bits). */
function close(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(1e-9 * Math.abs(expected));
}

function run(measure: (sums: ErrorSums) => void) {
  const sums = emptySums();
  measure(sums);
  return { sums, figures: errorFigures(sums) };
}

function toBf16Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer.slice(0));
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = bits[i]! >>> 16;
  return new Uint8Array(out.buffer);
}

describe("code books", () => {
  it("NF4 thresholds are the fp32 midpoints of adjacent codes", () => {
    for (let j = 0; j < 15; j++) expect(NF4_THRESHOLDS[j]).toBe(f((NF4_CODE[j]! + NF4_CODE[j + 1]!) / 2));
  });
  it("FP4 codes and the kernel's literal thresholds as fp32", () => {
    expect([...FP4_CODE.slice(0, 8)]).toEqual([0, 0.0052083334885537624, 0.6666666865348816, 1.0, 0.3333333432674408, 0.5, 0.1666666716337204, 0.25]);
    expect(Object.is(FP4_CODE[8], -0)).toBe(true);
    expect([...FP4_THRESHOLDS]).toEqual([0.0026041700039058924, 0.0859375, 0.2083333283662796, 0.2916666567325592, 0.4166666865348816, 0.5833330154418945, 0.8333333134651184]);
  });
  it("the signed dynamic map: spot values and its SHA-256", () => {
    const map = signedDynamicMap();
    expect(map).toHaveLength(256);
    expect([map[0], map[127], map[128], map[254], map[255]]).toEqual([-0.992968738079071, 0.0, 5.500000384017767e-7, 0.992968738079071, 1.0]);
    const digest = createHash("sha256").update(new Uint8Array(map.buffer)).digest("hex");
    expect(digest).toBe("e732639a65f497b4ad684bb166a4467708255edd5207757de8b8f0c7e1fda89c");
    expect(dynamicMapMidpoints()).toHaveLength(255);
  });
});

describe("one 64-value block, x_k = (k − 32)/64 (notes §8.1)", () => {
  const s = [...block].map((x) => f(x * f(1 / 0.5)));
  it("NF4 nibbles and metrics", () => {
    expect(hex(s.map(nf4Nibble))).toBe("000001111111122222333344455566677788999aaabbbccccddddeeeeeeeffff");
    const { sums, figures } = run((sums) => measureFourBit(block, "nf4", "F32", sums));
    expect(sums.sumSquares).toBe(5.3359375);
    close(sums.sumSquaredError, 0.046111219832645114);
    close(figures.rmse, 0.026841903991428773);
    close(figures.meanAbsError, 0.02056722721317783);
    close(figures.maxAbsError, 0.07377859950065613);
    close(figures.sqnrDb, 20.63404122775452);
  });
  it("FP4 nibbles and metrics", () => {
    expect(hex(s.map(fp4Nibble))).toBe("bbbbbbaaaaaaaadddddccccfffeeee9901166667774444555552222222233333");
    const { sums, figures } = run((sums) => measureFourBit(block, "fp4", "F32", sums));
    close(sums.sumSquaredError, 0.06811522804976934);
    close(figures.rmse, 0.032623617798730506);
    close(figures.meanAbsError, 0.025553384635713883);
    expect(figures.maxAbsError).toBe(0.078125);
    close(figures.sqnrDb, 18.93966519056747);
  });
  it("stored as BF16, x̂ cast back to BF16", () => {
    const x = decodeValues(toBf16Bytes(block), "BF16");
    expect([...x]).toEqual([...block]); // exact in bf16
    const nf4 = run((sums) => measureFourBit(x, "nf4", "BF16", sums)).figures;
    close(nf4.sqnrDb, 20.616717333162086);
    expect(nf4.maxAbsError).toBe(0.07421875);
    close(run((sums) => measureFourBit(x, "fp4", "BF16", sums)).figures.sqnrDb, 18.965672504235553);
  });
  it("as one int8 row", () => {
    const { figures } = run((sums) => measureInt8(block, 64, sums));
    close(figures.rmse, 0.001137626986948943);
    close(figures.maxAbsError, 0.0019685029983520508);
    close(figures.sqnrDb, 48.09030988243245);
  });
});

describe("short tail: §8.1's block then [0.01, −0.02, 0.03] (§8.2)", () => {
  const x = Float32Array.from([...block, 0.01, -0.02, 0.03]);
  it("block 1's absmax, nibbles and x̂", () => {
    const { absmax } = blockAbsmax(x);
    expect(absmax[1]).toBe(0.029999999329447746);
    const inv = f(1 / absmax[1]!);
    const scaled = [0.01, -0.02, 0.03].map((v) => f(f(v) * inv));
    expect(scaled).toEqual([0.3333333432674408, -0.6666666865348816, 1.0]);
    expect(scaled.map(nf4Nibble)).toEqual([11, 1, 15]);
    expect(scaled.map(fp4Nibble)).toEqual([0b0100, 0b1010, 0b0011]);
    expect(scaled.map((v) => f(NF4_CODE[nf4Nibble(v)]! * absmax[1]!))).toEqual([0.010137457400560379, -0.020885784178972244, 0.029999999329447746]);
  });
  it("whole-tensor SQNR", () => {
    close(run((sums) => measureFourBit(x, "nf4", "F32", sums)).figures.sqnrDb, 20.635104867750872);
    close(run((sums) => measureFourBit(x, "fp4", "F32", sums)).figures.sqnrDb, 18.940804507695486);
  });
  it("with double quantization (§8.5)", () => {
    const { absmax } = blockAbsmax(x);
    const offset = absmaxOffset(absmax);
    expect(offset).toBe(0.26499998569488525);
    expect([...doubleQuantize(absmax, offset)]).toEqual([0.5, 0.03165231645107269]);
    const { figures } = run((sums) => measureFourBit(x, "nf4", "F32", sums, doubleQuantize(absmax, offset)));
    close(figures.sqnrDb, 20.63448739987075);
    close(figures.meanAbsError, 0.01971174290042315);
  });
});

describe("ties and FP4 literals (§8.3: one block with x_0 = 1, so s = x)", () => {
  it.each([
    [0.03979014977812767, 0b0111, 0b0001],
    [-0.045525018125772476, 0b0110, 0b1001],
    [0.0859375, 0b1000, 0b0001],
    [-0.0859375, 0b0110, 0b1001],
    [0.5833332538604736, 0b1101, 0b0010],
    [-0.0010000000474974513, 0b0111, 0b1000],
  ])("s = %f → NF4 %i, FP4 %i", (s, nf4, fp4) => {
    expect(nf4Nibble(s)).toBe(nf4);
    expect(fp4Nibble(s)).toBe(fp4);
  });
});

describe("all-zero block (§8.4)", () => {
  it("NF4 nibble 0 (−1.0) times absmax 0: error 0, SQNR null", () => {
    const zeros = new Float32Array(64);
    expect(nf4Nibble(f(0 * f(1 / 0)))).toBe(0);
    const { figures } = run((sums) => measureFourBit(zeros, "nf4", "F32", sums));
    expect(figures).toMatchObject({ elements: 64, maxAbsError: 0, sqnrDb: null });
  });
  it("under double quant NF4's block takes −absmax′ ≠ 0; FP4's +0 stays exact", () => {
    const x = Float32Array.from([...new Float32Array(64), ...block]);
    const { absmax } = blockAbsmax(x);
    const restored = doubleQuantize(absmax, absmaxOffset(absmax));
    expect(restored[0]).not.toBe(0);
    const nf4 = run((sums) => measureFourBit(x.subarray(0, 64), "nf4", "F32", sums, restored.subarray(0, 1))).figures;
    expect(nf4.maxAbsError).toBe(Math.abs(restored[0]!));
    const fp4 = run((sums) => measureFourBit(x.subarray(0, 64), "fp4", "F32", sums, restored.subarray(0, 1))).figures;
    expect(fp4.maxAbsError).toBe(0);
  });
});

describe("double quantization of absmax [1, 2, 3, 4] (§8.5)", () => {
  it("offset 2.5, codes [0, 47, 207, 255], absmax′", () => {
    const absmax = Float32Array.from([1, 2, 3, 4]);
    expect(absmaxOffset(absmax)).toBe(2.5);
    const inv = f(1 / 1.5);
    expect([-1.5, -0.5, 0.5, 1.5].map((c) => nearestDynamicIndex(f(c * inv)))).toEqual([0, 47, 207, 255]);
    expect([...doubleQuantize(absmax, 2.5)]).toEqual([1.0105469226837158, 2.001953125, 2.998046875, 4.0]);
  });
});

describe("LLM.int8 rows (§8.6)", () => {
  it("fp16 first, half to even, two roundings on the way back", () => {
    const x = Float32Array.from([0.5, -1.27, 0.3, 0.004, 127, 2.5, 3.5, -0.5]);
    const { figures } = run((sums) => measureInt8(x, 4, sums));
    close(figures.rmse, 0.3061895381190137);
    expect(figures.maxAbsError).toBe(0.5);
    close(figures.sqnrDb, 43.33093855333141);
  });
  it("a row with an fp16 overflow is excluded and counted", () => {
    const x = Float32Array.from([70_000, 1, 2, 3, 0.5, 0.25, 0.125, 1]);
    const { figures } = run((sums) => measureInt8(x, 4, sums));
    expect(figures.overflow).toBe(1);
    expect(figures.elements).toBe(4);
  });
});

describe("fp16 cast (§8.7)", () => {
  it.each([
    [65_504, 65_504],
    [65_519.99609375, 65_504],
    [65_520, Infinity],
    [-70_000, -Infinity],
    [2 ** -24, 2 ** -24],
    [2 ** -25, 0],
    [2 ** -25 * (1 + 2 ** -7), 2 ** -24],
    [2 ** -26, 0],
    [f(1e-8), 0],
    [f(3e-8), 2 ** -24],
    [f(1e-5), 1.0013580322265625e-5],
  ])("%f → %f", (x, half) => {
    expect(toHalf(x)).toBe(half);
  });
  it("over the first nine: overflow 2, underflow 3", () => {
    const x = Float32Array.from([65_504, 65_519.99609375, 65_520, -70_000, 2 ** -24, 2 ** -25, 2 ** -25 * (1 + 2 ** -7), 2 ** -26, 1e-8]);
    const { figures } = run((sums) => measureCast(x, "fp16", sums));
    expect([figures.overflow, figures.underflow]).toEqual([2, 3]);
  });
  it("bf16 rounding is half to even on the fp32 bits; F16 decoding is exact", () => {
    expect(toBfloat16(1 + 2 ** -8)).toBe(1); // a tie, to even
    expect(toBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    const halves = new Uint8Array(new Uint16Array([0x0001, 0x3c00, 0x7bff, 0xfc00]).buffer);
    expect([...decodeValues(halves, "F16")]).toEqual([2 ** -24, 1, 65_504, -Infinity]);
  });
});

describe("bitsandbytes' own statistics on randn(1024, 1024) (§8.8)", () => {
  const x = gaussian(1024 * 1024, 1);
  const meanAbs = (type: "nf4" | "fp4"): number => run((sums) => measureFourBit(x, type, "F32", sums)).figures.meanAbsError!;
  it("NF4 mean |error| ≈ 0.072798 ± 0.000074 (within 4σ)", () => {
    expect(Math.abs(meanAbs("nf4") - 0.072798)).toBeLessThan(4 * 0.000074);
  });
  it("FP4 mean |error| ≈ 0.096543 ± 0.000111 (within 4σ)", () => {
    expect(Math.abs(meanAbs("fp4") - 0.096543)).toBeLessThan(4 * 0.000111);
  });
});

describe("properties", () => {
  const values = fc.float32Array({ minLength: 1, maxLength: 200, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
  it("every NF4/FP4 x̂ is code × absmax of its block, and |e| ≤ half the largest code gap × absmax (+1 ulp)", () => {
    fc.assert(
      fc.property(values, fc.constantFrom("nf4" as const, "fp4" as const), (raw, type) => {
        // Below 2^-100 an absmax's reciprocal overflows fp32 (inv = inf), as on the GPU: not this property's domain.
        const x = Float32Array.from(raw, (v) => (Math.abs(v) < 2 ** -100 ? 0 : v));
        const { absmax } = blockAbsmax(x);
        const code = type === "nf4" ? NF4_CODE : FP4_CODE;
        const sorted = [...code].sort((a, b) => a - b);
        const gap = Math.max(...sorted.slice(1).map((v, i) => v - sorted[i]!));
        for (let i = 0; i < x.length; i++) {
          const a = absmax[i >> 6]!;
          const nib = (type === "nf4" ? nf4Nibble : fp4Nibble)(f(x[i]! * f(1 / a)));
          const restored = f(code[nib]! * a);
          expect(code.some((c) => f(c * a) === restored)).toBe(true);
          expect(Math.abs(restored - x[i]!)).toBeLessThanOrEqual((a * gap) / 2 + a * 2 ** -20);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("the fast loops equal the rules written plainly (no branch-free tricks)", () => {
  // Weights' signs and low bits are random: the hot loops avoid branches on them (Math.abs, selects,
  // rounding by adding 1.5·2^52). These references spell the same rules out one value at a time.
  const plainAbsmax = (x: Float32Array): { absmax: number[]; bad: number[] } => {
    const absmax: number[] = [];
    const bad: number[] = [];
    for (let start = 0; start < x.length; start += 64) {
      const block = [...x.subarray(start, start + 64)];
      const finite = block.filter((v) => !Number.isNaN(v)).map(Math.abs);
      const max = finite.length === 0 ? 0 : Math.max(...finite);
      absmax.push(max);
      bad.push(block.some((v) => !Number.isFinite(v)) ? 1 : 0);
    }
    return { absmax, bad };
  };
  const plainInt8 = (x: Float32Array, row: number): ErrorSums => {
    const sums = emptySums();
    for (let start = 0; start + row <= x.length; start += row) {
      const v = [...x.subarray(start, start + row)];
      const h = v.map(toHalf);
      if (h.some((value) => !Number.isFinite(value))) {
        for (let i = 0; i < row; i++) {
          if (!Number.isFinite(v[i]!)) sums.nonFinite += 1;
          else if (!Number.isFinite(h[i]!)) sums.overflow += 1;
        }
        continue;
      }
      const scb = Math.max(...h.map(Math.abs));
      const scale = f(127 / scb);
      // Sums per row, then added to the tensor's (the order the fast loop adds in, to the last bit).
      const rowSums = emptySums();
      for (let i = 0; i < row; i++) {
        const product = f(h[i]! * scale);
        const q = Number.isNaN(product) ? 0 : roundHalfEven(product);
        const e = f(f(q * scb) * f(1 / 127)) - v[i]!;
        rowSums.sumSquares += v[i]! * v[i]!;
        rowSums.sumSquaredError += e * e;
        rowSums.sumAbsError += Math.abs(e);
        sums.maxAbsError = Math.max(sums.maxAbsError, Math.abs(e));
      }
      sums.elements += row;
      sums.sumSquares += rowSums.sumSquares;
      sums.sumSquaredError += rowSums.sumSquaredError;
      sums.sumAbsError += rowSums.sumAbsError;
    }
    return sums;
  };
  // Ordinary values, exact halves (ties once scaled), zeros of both signs, and now and then NaN or ±inf.
  const value = fc.oneof(
    { weight: 10, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -70_000, max: 70_000 }) },
    { weight: 3, arbitrary: fc.integer({ min: -254, max: 254 }).map((k) => k / 2) },
    { weight: 2, arbitrary: fc.constantFrom(0, -0) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity) },
  );
  const values = fc.array(value, { minLength: 1, maxLength: 300 }).map((v) => Float32Array.from(v));
  it("blockAbsmax: NaN skipped, a block with NaN or ±inf flagged", () => {
    fc.assert(
      fc.property(values, (x) => {
        const { absmax, bad } = blockAbsmax(x);
        const plain = plainAbsmax(x);
        expect([...absmax]).toEqual(plain.absmax.map(f));
        expect([...bad]).toEqual(plain.bad);
      }),
      { numRuns: 500 },
    );
  });
  it("decodeBlocks (BF16 widened and its absmax found in one pass) and blockAbsmaxOf = decodeValues + blockAbsmax, any bit pattern", () => {
    const pattern = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 0xffff }) }, { weight: 1, arbitrary: fc.constantFrom(0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x8000, 0) });
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 400 }), fc.integer({ min: 0, max: 1 }), (halves, offset) => {
        // At an odd byte offset too: the bytes of a range need not be aligned.
        const bytes = new Uint8Array(offset + halves.length * 2);
        bytes.set(new Uint8Array(Uint16Array.from(halves).buffer), offset);
        const view = bytes.subarray(offset);
        const fused = decodeBlocks(view, "BF16");
        const x = decodeValues(view, "BF16");
        const blocks = blockAbsmax(x);
        expect([...new Uint32Array(fused.x.buffer)]).toEqual([...new Uint32Array(x.buffer)]);
        expect([...fused.absmax]).toEqual([...blocks.absmax]);
        expect([...fused.bad]).toEqual([...blocks.bad]);
        // Double quantization's first pass: the same absmax without widening the values.
        const alone = blockAbsmaxOf(view, "BF16");
        expect([...alone.absmax]).toEqual([...blocks.absmax]);
        expect([...alone.bad]).toEqual([...blocks.bad]);
      }),
      { numRuns: 500 },
    );
  });
  it("measureInt8: fp16 first, row absmax, round half to even, rows with inf or NaN left out and counted", () => {
    fc.assert(
      fc.property(values, fc.constantFrom(1, 7, 64), (x, row) => {
        const sums = emptySums();
        measureInt8(x, row, sums);
        expect(sums).toEqual(plainInt8(x, row));
      }),
      { numRuns: 500 },
    );
    // SCB 127 makes the scale exactly 1: each value's fp16 is its product. 2.5005 and 3.5005 become
    // the fp16 ties 2.5 and 3.5 (→ 2 and 4, either sign), and the error tells which way a tie went:
    // 2.5005 restored as 2 is off by 0.5005, as 3 (ties up) by 0.4995; 3.5005 → 4 either way.
    const ties = Float32Array.of(127, 2.5005, 3.5005, -2.5005, -3.5005, 2.5005);
    for (const row of [3, 6]) {
      const sums = emptySums();
      measureInt8(ties, row, sums);
      expect(sums).toEqual(plainInt8(ties, row));
    }
  });
});

describe("fast casts equal the reference casts", () => {
  const bitsOf = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;
  it("halfBitsOf (integer) = toHalf (arithmetic) for every fp32 tried", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(halfTable()[halfBitsOf(bitsOf(x))]).toBe(toHalf(x));
      }),
      { numRuns: 20_000 },
    );
    for (const x of [65_504, 65_519.99609375, 65_520, 2 ** -24, 2 ** -25, 2 ** -25 * (1 + 2 ** -7), 2 ** -14, 2 ** -14 * (1 - 2 ** -11), 0, -0]) {
      expect(Object.is(halfTable()[halfBitsOf(bitsOf(x))], toHalf(x))).toBe(true);
    }
  });
  it("bfloat16BitsOf = toBfloat16", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(new Float32Array(new Uint32Array([bfloat16BitsOf(bitsOf(x))]).buffer)[0]).toBe(toBfloat16(x));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("threshold tables equal the kernel's comparisons", () => {
  const nibbleByTable = (s: number): number => countBelow(nf4Table(), s);
  const fp4ByTable = (s: number): number => (s < 0 ? 8 : 0) | [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011][countBelow(fp4Table(), Math.abs(s))]!;
  it("on every threshold, its fp32 neighbours, NaN and ±0", () => {
    const edges = [...NF4_THRESHOLDS, ...FP4_THRESHOLDS, ...[...FP4_THRESHOLDS].map((t) => -t), -1, 1, 0, -0, Number.NaN, 1.0000001, -1.0000001];
    for (const t of edges) {
      for (const s of [t, f(t * (1 + 2 ** -23)), f(t * (1 - 2 ** -23)), t + 2 ** -30, t - 2 ** -30].map(f)) {
        expect(nibbleByTable(s)).toBe(nf4Nibble(s));
        expect(fp4ByTable(s)).toBe(fp4Nibble(s));
      }
    }
  });
  it("on random scaled values", () => {
    fc.assert(
      fc.property(fc.float({ min: Math.fround(-1.01), max: Math.fround(1.01) }), (s) => {
        expect(nibbleByTable(s)).toBe(nf4Nibble(s));
        expect(fp4ByTable(s)).toBe(fp4Nibble(s));
      }),
      { numRuns: 50_000 },
    );
  });
});
