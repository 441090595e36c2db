import { fnv1a, type Dtype } from "../format/index.js";
import { InputError } from "../errors.js";
import { bnb4, bnb8, compressedTensors, fp8, gptqOrAwq, mxfp4, QUANT_STATE_MARKER, type Located, type PackedWeight, type QuantFormat } from "./packed-layouts.js";
import type { Checkpoint } from "../format/index.js";
import type { ModelConfig } from "../format/index.js";
import type { TensorInfo } from "../format/index.js";

export { QUANT_FORMATS, QUANT_STATE_MARKER, type PackedWeight, type QuantFormat } from "./packed-layouts.js";

export interface Prequantized {
  /** The packed weights, unless they were handed to a visitor one by one instead (then empty). */
  weights: PackedWeight[];
  /** How many packed weights there are, and their formats in order of first appearance. */
  count: number;
  formats: QuantFormat[];
  /** Per file of the checkpoint, in order: the tensors left once packed weights and their statistics are folded away. */
  kept: TensorInfo[][];
  /** Biases of GPTQ/AWQ QuantLinear modules, which hold them as buffers. */
  bufferBiases: Set<string>;
  summary: string;
  warnings: string[];
}

// Statistics tensors of every format, by the suffix after their owner's name: the weight's for
// bitsandbytes 4-bit (`X.weight.absmax`), the module's otherwise (`X.SCB`, `X.qzeros`, `X_scales`).
// Longer suffixes first, so `.weight_scale_inv` is not read as `.weight_scale`.
const STAT_SUFFIXES = [
  ".quant_state.bitsandbytes__nf4",
  ".quant_state.bitsandbytes__fp4",
  ".nested_quant_map",
  ".weight_zero_point",
  ".weight_scale_inv",
  ".nested_absmax",
  ".weight_format",
  ".weight_scale",
  ".weight_shape",
  ".weight_g_idx",
  ".input_scale",
  ".quant_map",
  ".absmax",
  ".qzeros",
  ".scales",
  ".g_idx",
  ".SCB",
  "_scales",
];
const ORPHAN_SUFFIXES = [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", ".quant_state.bitsandbytes__nf4", ".quant_state.bitsandbytes__fp4", ".SCB", ".qzeros", ".weight_format"];

// The suffixes by their last character: most names end in "weight" or "bias", and get one or two tests.
const SUFFIXES_BY_LAST = new Map<number, string[]>();
for (const suffix of STAT_SUFFIXES) {
  const last = suffix.charCodeAt(suffix.length - 1);
  SUFFIXES_BY_LAST.set(last, [...(SUFFIXES_BY_LAST.get(last) ?? []), suffix]);
}

function statSuffix(name: string): string | undefined {
  const candidates = SUFFIXES_BY_LAST.get(name.charCodeAt(name.length - 1));
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) if (name.endsWith(candidates[i]!)) return candidates[i];
  return undefined;
}

function fileOf(checkpoint: Checkpoint, tensor: TensorInfo): string {
  return checkpoint.files.find((f) => f.header.tensors.includes(tensor))?.name ?? "checkpoint";
}
const FP8 = new Set<Dtype>(["F8_E4M3", "F8_E5M2"]);
const INTEGER = new Set<Dtype>(["U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"]);

type Layout = "bnb-8bit" | "fp8" | "gptq-awq" | "compressed-tensors" | "mxfp4";

/**
 * Statistics tensors grouped by owner in flat arrays: no object per statistic and no string per owner
 * (a DeepSeek-V3 checkpoint has 80,000 of each). An owner is the start of its statistics' names
 * (`X.weight` of `X.weight.absmax`, `X` of `X.weight_scale_inv`): each statistic keeps that length,
 * and owners are found through a hash index of typed arrays, a candidate group confirmed by comparing
 * the characters of its first statistic's name. Each statistic keeps its ordinal, its place across
 * the files, which flags it folded once a weight takes it.
 */
class StatTable {
  private groupCount = 0;
  private statCount = 0;
  // Sized once for every tensor of the checkpoint (statistics and owners are at most that many):
  // arrays grown one push at a time would leave a trail of copies for the collector.
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly claimed: Uint8Array;
  private readonly tensors: TensorInfo[] = [];
  private readonly ordinals: Int32Array;
  private readonly next: Int32Array;
  /** Per statistic: how many leading characters of its name are its owner's name. */
  private readonly ownerLength: Int32Array;
  /** Open addressing: group + 1 per slot (0: empty), at most half full. */
  private readonly slots: Int32Array;

  constructor(capacity: number) {
    this.first = new Int32Array(capacity);
    this.last = new Int32Array(capacity);
    this.claimed = new Uint8Array(capacity);
    this.ordinals = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.ownerLength = new Int32Array(capacity);
    let size = 1024;
    while (size < 2 * capacity) size *= 2;
    this.slots = new Int32Array(size);
  }

  /** A statistic whose owner is the first `ownerLength` characters of its name. */
  add(tensor: TensorInfo, ownerLength: number, ordinal: number): void {
    const stat = this.statCount++;
    this.tensors.push(tensor);
    this.ordinals[stat] = ordinal;
    this.next[stat] = -1;
    this.ownerLength[stat] = ownerLength;
    const slot = this.slotOf(tensor.name, ownerLength);
    const group = this.slots[slot]! - 1;
    if (group === -1) {
      const created = this.groupCount++;
      this.slots[slot] = created + 1;
      this.first[created] = stat;
      this.last[created] = stat;
    } else {
      this.next[this.last[group]!] = stat;
      this.last[group] = stat;
    }
  }

  has(owner: string): boolean {
    return this.find(owner) !== -1;
  }

  /** The owner's statistics, unless a weight has taken them already. */
  unclaimed(owner: string): TensorInfo[] | undefined {
    const group = this.find(owner);
    return group === -1 || this.claimed[group] === 1 ? undefined : this.list(group);
  }

  /** Takes the owner's statistics (sorted by name), flagging them folded; [] when none are left. */
  take(owner: string, folded: Uint8Array): TensorInfo[] {
    const group = this.find(owner);
    if (group === -1 || this.claimed[group] === 1) return [];
    this.claimed[group] = 1;
    for (let stat = this.first[group]!; stat !== -1; stat = this.next[stat]!) folded[this.ordinals[stat]!] = 1;
    const stats = this.list(group);
    if (stats.length > 1) stats.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return stats;
  }

  /** Groups no weight took, with their owners. */
  *leftovers(): Generator<[string, TensorInfo[]]> {
    for (let group = 0; group < this.groupCount; group++) {
      if (this.claimed[group] === 1) continue;
      const stat = this.first[group]!;
      yield [this.tensors[stat]!.name.slice(0, this.ownerLength[stat]), this.list(group)];
    }
  }

  /** The group whose owner is `owner`, or -1. */
  private find(owner: string): number {
    return this.slots[this.slotOf(owner, owner.length)]! - 1;
  }

  /** The slot of the owner named by the first `length` characters of `name`: its group's, or the empty one it would take. */
  private slotOf(name: string, length: number): number {
    const mask = this.slots.length - 1;
    for (let slot = fnv1a(name, length) & mask; ; slot = (slot + 1) & mask) {
      const group = this.slots[slot]! - 1;
      if (group === -1 || this.isOwner(group, name, length)) return slot;
    }
  }

  /** Whether the group's owner is the first `length` characters of `name`. */
  private isOwner(group: number, name: string, length: number): boolean {
    const stat = this.first[group]!;
    if (this.ownerLength[stat] !== length) return false;
    const other = this.tensors[stat]!.name;
    for (let i = length - 1; i >= 0; i--) if (other.charCodeAt(i) !== name.charCodeAt(i)) return false;
    return true;
  }

  /** Exactly as long as the group (an array grown by push reserves room for 17: 80,000 of them add up). */
  private list(group: number): TensorInfo[] {
    let count = 0;
    for (let stat = this.first[group]!; stat !== -1; stat = this.next[stat]!) count += 1;
    const out = new Array<TensorInfo>(count);
    count = 0;
    for (let stat = this.first[group]!; stat !== -1; stat = this.next[stat]!) out[count++] = this.tensors[stat]!;
    return out;
  }
}

/**
 * Finds weights saved already quantized — bitsandbytes 4-bit and 8-bit, GPTQ, AWQ, FP8,
 * compressed-tensors, MXFP4 — from tensor names and dtypes (config.json's quantization_config
 * settles GPTQ/AWQ bit widths). An ordinary checkpoint gets no weights, only warnings if any.
 */
export function detectPrequantized(checkpoint: Checkpoint, visit?: (weight: PackedWeight) => void): Prequantized {
  // A cheap first pass: ordinary checkpoints (no marker of any format) stop here.
  const integerWeights: Located[] = [];
  let marked = false;
  let total = 0;
  for (const file of checkpoint.files) {
    const tensors = file.header.tensors;
    total += tensors.length;
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i]!;
      if (isMarker(tensor)) marked = true;
      else if (isIntegerWeight(tensor)) integerWeights.push({ tensor, file: file.name });
    }
  }
  if (!marked) return { weights: [], count: 0, formats: [], kept: checkpoint.files.map((f) => f.header.tensors), bufferBiases: new Set(), summary: "", warnings: unknownPackings(integerWeights) };
  // Statistics indexed by their owner (the weight for bitsandbytes 4-bit, else the module), so each
  // packed weight finds its own with one look-up. Every tensor has an ordinal (its place across the
  // files); statistics and folded tensors are flagged by it: no set of 100,000 names.
  const stats = new StatTable(total);
  const isStat = new Uint8Array(total);
  let ordinal = 0;
  let weightOwned = false;
  for (const file of checkpoint.files) {
    const tensors = file.header.tensors;
    for (let i = 0; i < tensors.length; i++, ordinal++) {
      const tensor = tensors[i]!;
      const suffix = statSuffix(tensor.name);
      if (suffix === undefined) continue;
      const ownerLength = tensor.name.length - suffix.length;
      if (ownerLength >= ".weight".length && tensor.name.startsWith(".weight", ownerLength - ".weight".length)) weightOwned = true;
      stats.add(tensor, ownerLength, ordinal);
      isStat[ordinal] = 1;
    }
  }
  const folded = new Uint8Array(total);
  const blobs = new Map<string, Uint8Array>();
  for (const file of checkpoint.files) for (const [name, bytes] of Object.entries(file.blobs ?? {})) blobs.set(name, bytes);
  const config = checkpoint.config;
  // Each weight is tallied for the summary, then kept or handed to the visitor: a caller that only
  // restores weights (simulate.ts's Restorer) holds no list of 80,000 records.
  const weights: PackedWeight[] = [];
  const tally = new WeightTally();
  const add = (weight: PackedWeight): void => {
    tally.add(weight);
    if (visit === undefined) weights.push(weight);
    else visit(weight);
  };
  const bufferBiases = new Set<string>();

  ordinal = 0;
  for (const file of checkpoint.files) {
    const tensors = file.header.tensors;
    for (let i = 0; i < tensors.length; i++, ordinal++) {
      if (isStat[ordinal] === 1) continue;
      const tensor = tensors[i]!;
      const name = tensor.name;
      let layout: Layout | undefined;
      let module = "";
      if (name.endsWith(".weight")) {
        if (weightOwned && stats.has(name)) {
          const statistics = stats.take(name, folded);
          if (!statistics.some((t) => t.name.endsWith(".absmax"))) throw new InputError(`${file.name}: tensor ${JSON.stringify(name)} has 4-bit statistics but no ${name}.absmax`);
          folded[ordinal] = 1;
          add(bnb4({ tensor, file: file.name }, statistics, blobs, config));
          continue;
        }
        module = name.slice(0, -".weight".length);
        if (tensor.dtype === "I8" && tensor.shape.length === 2 && stats.unclaimed(module)?.some((t) => t.name.endsWith(".SCB")) === true) layout = "bnb-8bit";
        else if (FP8.has(tensor.dtype) && tensor.shape.length === 2) layout = "fp8";
      } else if (name.endsWith(".qweight")) {
        module = name.slice(0, -".qweight".length);
        layout = "gptq-awq";
        bufferBiases.add(`${module}.bias`);
      } else if (name.endsWith(".weight_packed")) {
        module = name.slice(0, -".weight_packed".length);
        layout = "compressed-tensors";
      } else if (name.endsWith("_blocks") && tensor.dtype === "U8") {
        module = name.slice(0, -"_blocks".length);
        layout = "mxfp4";
      }
      if (layout === undefined) continue;
      folded[ordinal] = 1;
      const statistics = stats.take(module, folded);
      const owner: Located = { tensor, file: file.name };
      switch (layout) {
        case "bnb-8bit":
          add(bnb8(owner, module, statistics));
          break;
        case "fp8":
          add(fp8(owner, module, statistics));
          break;
        case "gptq-awq":
          add(gptqOrAwq(owner, module, statistics, config));
          break;
        case "compressed-tensors":
          add(compressedTensors(owner, module, statistics, config));
          break;
        case "mxfp4":
          add(mxfp4(owner, module, statistics));
          break;
      }
    }
  }
  // Integer matrices named like weights that no format claimed, then statistics no weight claimed:
  // bitsandbytes' and GPTQ's are errors; other suffixes (`.scales`, `.weight_scale`, `_scales`) also
  // name ordinary tensors elsewhere, so those stay as they are.
  const unknown: Located[] = [];
  ordinal = 0;
  for (const file of checkpoint.files) {
    const tensors = file.header.tensors;
    for (let i = 0; i < tensors.length; i++, ordinal++) {
      if (isStat[ordinal] === 0 && folded[ordinal] === 0 && isIntegerWeight(tensors[i]!)) unknown.push({ tensor: tensors[i]!, file: file.name });
    }
  }
  for (const [owner, group] of stats.leftovers()) {
    const orphan = group.find((t) => ORPHAN_SUFFIXES.some((suffix) => t.name.endsWith(suffix)));
    if (orphan !== undefined) {
      const what = orphan.name.endsWith(".absmax") ? `holds 4-bit statistics but there is no ${owner}` : orphan.name.endsWith(".SCB") ? `is an LLM.int8 scale but ${owner}.weight is not an int8 matrix` : "is a quantization statistic without its weight";
      throw new InputError(`${fileOf(checkpoint, orphan)}: tensor ${JSON.stringify(orphan.name)} ${what}`);
    }
    for (const t of group) if (isIntegerWeight(t)) unknown.push({ tensor: t, file: fileOf(checkpoint, t) });
  }
  const warnings = unknownPackings(unknown);
  const { unshaped, firstUnshaped } = tally;
  if (firstUnshaped !== undefined) {
    warnings.push(`the original shape of ${unshaped} packed weights (${firstUnshaped}${unshaped > 1 ? ", …" : ""}) is not in the header; counts are exact, int8 scales for them assume one output row`);
  }
  let next = 0;
  const kept = checkpoint.files.map((file) => file.header.tensors.filter(() => folded[next++] === 0));
  return { weights, count: tally.count, formats: [...tally.byFormat.keys()], kept, bufferBiases, summary: tally.summary(config), warnings };
}

/** What the summary says of the packed weights, gathered one weight at a time. */
class WeightTally {
  count = 0;
  /** Per format, in order of first appearance: how many, the fewest and most statistics, the first. */
  readonly byFormat = new Map<QuantFormat, { count: number; fewest: number; most: number; first: PackedWeight }>();
  unshaped = 0;
  firstUnshaped: string | undefined;

  add(weight: PackedWeight): void {
    this.count += 1;
    const stats = weight.statistics.length;
    const entry = this.byFormat.get(weight.format);
    if (entry === undefined) this.byFormat.set(weight.format, { count: 1, fewest: stats, most: stats, first: weight });
    else {
      entry.count += 1;
      entry.fewest = Math.min(entry.fewest, stats);
      entry.most = Math.max(entry.most, stats);
    }
    if (weight.logicalShape === null) {
      this.unshaped += 1;
      this.firstUnshaped ??= weight.name;
    }
  }

  summary(config: ModelConfig | null): string {
    return [...this.byFormat]
      .map(([format, { count, fewest, most, first }]) => {
        const range = fewest === most ? `${most}` : `${fewest}–${most}`;
        const stats = most === 0 ? "no statistics tensors" : `statistics in ${range} tensor${most === 1 ? "" : "s"} each`;
        return `${describeFormat(format, first, config)}: ${count} packed weights, ${stats}`;
      })
      .join("; ");
  }
}

function describeFormat(format: QuantFormat, first: PackedWeight, config: ModelConfig | null): string {
  const bits = config?.quantization?.bits ?? 4;
  const group = config?.quantization?.groupSize;
  switch (format) {
    case "bnb-4bit": {
      const type = first.statistics.some((t) => t.name.endsWith("__fp4")) ? "fp4" : "nf4";
      const dq = first.statistics.some((t) => t.name.endsWith(".nested_absmax"));
      return `bitsandbytes ${type}${dq ? ", double quant" : ""}, blocksize 64, stored as ${first.packed.dtype}`;
    }
    case "bnb-8bit":
      return "bitsandbytes LLM.int8";
    case "gptq":
    case "awq":
      return `${format.toUpperCase()} ${bits}-bit${group === undefined ? "" : `, group size ${group}`}`;
    case "fp8": {
      const scale = first.statistics.find((t) => t.name.endsWith("weight_scale_inv") || t.name.endsWith("weight_scale"));
      const kind = scale === undefined ? "no scales" : scale.elements <= 1 ? "per-tensor scales" : scale.shape.length === 2 && scale.shape[1] !== 1 ? "block scales" : "per-channel scales";
      return `FP8 (${first.packed.dtype}, ${kind})`;
    }
    case "compressed-tensors":
      return `compressed-tensors pack-quantized ${bits}-bit`;
    case "mxfp4":
      return "MXFP4 (32 values per block, E8M0 scales)";
  }
}

function isMarker(tensor: TensorInfo): boolean {
  if (FP8.has(tensor.dtype)) return tensor.name.endsWith(".weight");
  const name = tensor.name;
  // Dispatch on the last character: most names end in "weight" or "bias", which need two checks.
  switch (name.charCodeAt(name.length - 1)) {
    case 116 /* t */:
      return name.endsWith(".qweight") || name.endsWith(".weight_format");
    case 115 /* s */:
      return name.endsWith(".qzeros") || (name.endsWith("_blocks") && tensor.dtype === "U8");
    case 120 /* x */:
      return name.endsWith(".absmax");
    case 66 /* B */:
      return name.endsWith(".SCB");
    case 100 /* d */:
      return name.endsWith(".weight_packed");
    case 112 /* p */:
      return name.endsWith(".quant_map");
    case 52 /* 4 */:
      return name.includes(".quant_state.");
    default:
      return false;
  }
}

function isIntegerWeight(tensor: TensorInfo): boolean {
  return tensor.shape.length >= 2 && INTEGER.has(tensor.dtype) && tensor.name.includes("weight");
}

/** Integer matrices named like weights that no known format claimed: counted as stored, never guessed. */
function unknownPackings(unknown: Located[]): string[] {
  if (unknown.length === 0) return [];
  const names = unknown.slice(0, 3).map((u) => u.tensor.name).join(", ");
  return [`unrecognized packing: ${unknown.length} integer weight tensors (${names}${unknown.length > 3 ? ", …" : ""}) are counted as stored, one value per element`];
}

/**
 * The bitsandbytes quant-state blobs worth reading from a data region: those of 4-bit weights whose
 * original shape neither the header nor config.json gives.
 */
export function quantStatesNeeded(checkpoint: Checkpoint): Array<{ file: string; tensor: TensorInfo }> {
  const hasQuantStates = checkpoint.files.some((f) => f.header.tensors.some((t) => t.name.includes(QUANT_STATE_MARKER)));
  if (!hasQuantStates) return [];
  return detectPrequantized(checkpoint)
    .weights.filter((w) => w.format === "bnb-4bit" && w.logicalShape === null)
    .flatMap((w) => w.statistics.filter((t) => t.name.includes(QUANT_STATE_MARKER)).map((tensor) => ({ file: w.file, tensor })));
}
