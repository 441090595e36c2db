/**
 * bitsandbytes' code books, to the bit (spec quantization-error §2.2, §2.3, §3).
 * Sources: bitsandbytes `functional.py` get_4bit_type / create_dynamic_map, `csrc/kernels.cu`
 * dQuantizeNF4 / dQuantizeFP4 / dQuantize.
 */
const f = Math.fround;

/** NF4 values by nibble (sorted: nibble order is value order). */
export const NF4_CODE = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/** The 15 literal thresholds of the CUDA kernel's decision tree (fp32 midpoints of adjacent codes). */
export const NF4_THRESHOLDS = Float32Array.from([
  -0.8480963706970215, -0.6106328964233398, -0.4599952697753906, -0.33967941999435425, -0.23460739850997925, -0.13791173696517944, -0.045525018125772476,
  0.03979014977812767, 0.120255246758461, 0.2035212516784668, 0.2920137643814087, 0.3893125355243683, 0.5016634464263916, 0.6427869200706482, 0.8614784479141235,
]);

/** FP4 values by nibble: bit 3 the sign, bits 2-0 a magnitude in bit-pattern order; each fl(raw / 12). */
export const FP4_CODE = Float32Array.from([0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((raw) => f(raw / 12)));

/** The kernel's magnitude literals (not all exact midpoints) and the bit pattern of each rank. */
export const FP4_THRESHOLDS = Float32Array.from([0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333]);
export const FP4_RANK_BITS = Uint8Array.from([0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011]);

/** NF4 nibble of a scaled value: the count of thresholds it exceeds (ties and NaN go low). */
export function nf4Nibble(s: number): number {
  const t = NF4_THRESHOLDS;
  // Balanced search over the sorted thresholds: 4 comparisons.
  let lo = 0;
  let hi = 15;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s > t[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** FP4 nibble: sign bit for s < 0 (−0.0 and NaN get 0), magnitude rank by strict comparisons. */
export function fp4Nibble(s: number): number {
  const a = Math.abs(s);
  const t = FP4_THRESHOLDS;
  let rank = 0;
  while (rank < 7 && a > t[rank]!) rank += 1;
  return (s < 0 ? 8 : 0) | FP4_RANK_BITS[rank]!;
}

/** torch.linspace on CPU in fp32: the first half counted from the start, the rest from the end, one rounding each. */
function linspaceF32(start: number, end: number, steps: number): number[] {
  const a = f(start);
  const step = f(f(end - a) / (steps - 1));
  const out: number[] = [];
  for (let j = 0; j < steps; j++) out.push(j < Math.floor(steps / 2) ? f(a + step * j) : f(end - step * (steps - 1 - j)));
  return out;
}

let dynamicMap: Float32Array | undefined;

/** create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): 256 sorted entries, no −1. */
export function signedDynamicMap(): Float32Array {
  if (dynamicMap !== undefined) return dynamicMap;
  const values: number[] = [];
  for (let i = 0; i <= 6; i++) {
    const boundaries = linspaceF32(0.1, 1.0, 2 ** i + 1);
    const means = boundaries.slice(0, -1).map((b, j) => f((b + boundaries[j + 1]!) / 2));
    const scale = f(10 ** (i - 6));
    for (const m of means) values.push(f(scale * m));
    for (const m of means) values.push(f(-scale * m));
  }
  values.push(0, 1);
  dynamicMap = Float32Array.from(values.sort((x, y) => x - y));
  return dynamicMap;
}

let dynamicMidpoints: Float32Array | undefined;

/** fp32 midpoints of adjacent dynamic-map entries, for the nearest-entry search. */
export function dynamicMapMidpoints(): Float32Array {
  if (dynamicMidpoints !== undefined) return dynamicMidpoints;
  const map = signedDynamicMap();
  const mids = new Float32Array(255);
  for (let j = 0; j < 255; j++) mids[j] = f((map[j]! + map[j + 1]!) * 0.5);
  dynamicMidpoints = mids;
  return mids;
}

/** Index of the dynamic-map entry nearest `s`: the count of midpoints below it. */
export function nearestDynamicIndex(s: number): number {
  const mids = dynamicMapMidpoints();
  let lo = 0;
  let hi = 255;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (mids[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Threshold counting by table, for speed (same results as the comparisons above; a test holds
 * them equal): the range is cut into 4,096 buckets; each bucket knows how many thresholds lie
 * surely below it and compares exactly against the (at most two) that lie in or near it.
 */
export interface BucketTable {
  /** Bucket of v: floor((v − low) · scale), clamped. */
  low: number;
  scale: number;
  base: Uint8Array;
  first: Float64Array;
  second: Float64Array;
}

const BUCKETS = 4096;

function bucketTable(thresholds: Float32Array, low: number, high: number): BucketTable {
  const scale = BUCKETS / (high - low);
  const base = new Uint8Array(BUCKETS);
  const first = new Float64Array(BUCKETS).fill(Infinity);
  const second = new Float64Array(BUCKETS).fill(Infinity);
  const slack = 1e-9;
  for (let k = 0; k < BUCKETS; k++) {
    const from = low + k / scale;
    const to = low + (k + 1) / scale;
    let below = 0;
    const near: number[] = [];
    for (let i = 0; i < thresholds.length; i++) {
      const t = thresholds[i]!;
      if (t < from - slack) below += 1;
      else if (t <= to + slack) near.push(t);
    }
    if (near.length > 2) throw new Error("threshold table: buckets too coarse");
    base[k] = below;
    if (near[0] !== undefined) first[k] = near[0];
    if (near[1] !== undefined) second[k] = near[1];
  }
  return { low, scale, base, first, second };
}

let nf4: BucketTable | undefined;
let fp4: BucketTable | undefined;
/** NF4 over s ∈ [−1, 1] (values just outside land in the end buckets); built on first use. */
export function nf4Table(): BucketTable {
  return (nf4 ??= bucketTable(NF4_THRESHOLDS, -1, 1));
}
/** FP4 magnitudes over |s| ∈ [0, 1]; built on first use. */
export function fp4Table(): BucketTable {
  return (fp4 ??= bucketTable(FP4_THRESHOLDS, 0, 1));
}

/** Count of thresholds strictly below v; NaN counts none. */
export function countBelow(table: BucketTable, v: number): number {
  let k = ((v - table.low) * table.scale) | 0;
  if (k < 0) k = 0;
  else if (k >= BUCKETS) k = BUCKETS - 1;
  return table.base[k]! + (v > table.first[k]! ? 1 : 0) + (v > table.second[k]! ? 1 : 0);
}
