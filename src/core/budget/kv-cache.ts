import { UsageError } from "../errors.js";
import { LLAMA_CPP_SWA_MODEL_TYPES, type AttentionLayout, type LayerCache } from "./attention-layout.js";

/**
 * The KV cache and fixed per-sequence state each engine allocates for a config (spec
 * inference-memory §2–§4). Every figure here follows the engine's own layout: exact.
 */
export const ENGINES = ["transformers", "vllm", "llama.cpp"] as const;
export type Engine = (typeof ENGINES)[number];

export const KV_DTYPES = ["auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"] as const;
export type KvDtype = (typeof KV_DTYPES)[number];

/** Element type of the model's activations (the dtype keys and values arrive in). */
export type ComputeDtype = "fp32" | "fp16" | "bf16";
const COMPUTE_BYTES = { fp32: 4, fp16: 2, bf16: 2 } as const satisfies Record<ComputeDtype, number>;

// ggml row layouts: values per block and bytes per block (ggml `ggml-common.h`, e.g.
// `block_q8_0 { ggml_half d; int8_t qs[32]; }` = 34 bytes for 32 values).
const GGML_TYPES = {
  f32: { block: 1, bytes: 4 },
  f16: { block: 1, bytes: 2 },
  bf16: { block: 1, bytes: 2 },
  q8_0: { block: 32, bytes: 34 },
  q5_1: { block: 32, bytes: 24 },
  q5_0: { block: 32, bytes: 22 },
  q4_1: { block: 32, bytes: 20 },
  q4_0: { block: 32, bytes: 18 },
  iq4_nl: { block: 32, bytes: 18 },
} as const;
type GgmlType = keyof typeof GGML_TYPES;

export interface KvSettings {
  engine: Engine;
  /** Tokens per sequence. */
  context: number;
  /** Concurrent sequences. */
  batch: number;
  tensorParallel: number;
  /** Key and value element types as asked (`auto` resolved per engine). */
  kvDtype: { key: KvDtype; value: KvDtype };
  /** The model's compute dtype as transformers resolves it. */
  computeDtype: ComputeDtype;
  vllm: { blockSize: number; maxBatchedTokens: number };
  llamaCpp: { ubatch: number; swaFull: boolean; unified: boolean };
}

export type KvGroupKind = "full" | "sliding" | "latent" | "linear";

export interface KvGroup {
  kind: KvGroupKind;
  layers: number;
  /** Cells (tokens) the engine allocates per sequence for this group; 0 for fixed-state layers. */
  tokens: number;
  bytes: number;
}

export interface KvCache {
  bytes: number;
  bytesPerToken: number;
  groups: KvGroup[];
  exact: boolean;
  /** The element type as the engine names it (`bf16`, `fp8`, `q8_0,q4_0`). */
  dtype: string;
  /** The arithmetic, one line per group, for --explain. */
  formula: string[];
  notes: string[];
  vllm?: VllmLayout;
  /** llama.cpp's own log lines for this cache. */
  logLines?: string[];
}

/** vLLM's block layout (spec §3): what the pool needs per block and per request. */
export interface VllmLayout {
  blockSize: number;
  /** Bytes of one block of one layer slot. */
  pageBytes: number;
  /** Layer slots sharing one block (the group size). */
  groupSize: number;
  /** KV-cache groups (padding included). */
  groups: number;
  blocksPerRequest: number;
}

/** The cache an engine allocates for `settings.batch` sequences of `settings.context` tokens. */
export function computeKvCache(layout: AttentionLayout, settings: KvSettings): KvCache {
  switch (settings.engine) {
    case "transformers":
      return transformersCache(layout, settings);
    case "vllm":
      return vllmCache(layout, settings);
    case "llama.cpp":
      return llamaCppCache(layout, settings);
  }
}

const n = (value: number): string => value.toLocaleString("en-US");

// transformers (spec §2): DynamicCache, K and V as [B, Hkv, S, hd] in the compute dtype.
function transformersCache(layout: AttentionLayout, s: KvSettings): KvCache {
  if (s.tensorParallel !== 1) throw new UsageError("--tp applies to --engine vllm and llama.cpp; transformers' cache is computed on one GPU");
  const e = transformersBytes(s.kvDtype.key, s.computeDtype);
  if (s.kvDtype.value !== s.kvDtype.key) throw new UsageError("separate key and value cache types (K,V) are llama.cpp's; transformers caches both in one dtype");
  const groups = new GroupSum();
  let perToken = 0;
  for (const layer of layout.layers) {
    switch (layer.kind) {
      case "full": {
        const row = layer.kvHeads * (layer.keyDim + layer.valueDim) * e;
        groups.add("full", s.context, s.batch * s.context * row, `${layer.kvHeads} KV heads × (${layer.keyDim} + ${layer.valueDim}) dims × ${e} bytes`);
        perToken += row;
        break;
      }
      case "sliding": {
        // DynamicSlidingWindowLayer keeps the last W − 1 tokens.
        const tokens = Math.min(s.context, layer.window - 1);
        const row = layer.kvHeads * (layer.keyDim + layer.valueDim) * e;
        groups.add("sliding", tokens, s.batch * tokens * row, `${layer.kvHeads} KV heads × (${layer.keyDim} + ${layer.valueDim}) dims × ${e} bytes, last ${n(layer.window - 1)} tokens`);
        if (s.context < layer.window - 1) perToken += row;
        break;
      }
      case "latent": {
        // DeepSeek's attention decompresses the latent before the cache update.
        const row = layer.heads * (layer.nopeDim + layer.ropeDim + layer.valueDim) * e;
        groups.add("latent", s.context, s.batch * s.context * row, `${layer.heads} heads × (${layer.nopeDim} + ${layer.ropeDim} + ${layer.valueDim}) dims × ${e} bytes (decompressed)`);
        perToken += row;
        break;
      }
      case "linear": {
        const conv = convDim(layer, 1) * layer.convKernel * e;
        const state = layer.valueHeads * layer.keyDim * layer.valueDim * 4;
        groups.add("linear", 0, s.batch * (conv + state), `conv ${n(convDim(layer, 1))} × ${layer.convKernel} × ${e} bytes + state ${layer.valueHeads} × ${layer.keyDim} × ${layer.valueDim} × 4 bytes (fp32)`);
        break;
      }
      case "none":
        break;
    }
  }
  return {
    ...groups.result(s.batch, "transformers"),
    bytesPerToken: perToken,
    exact: true,
    dtype: s.kvDtype.key === "auto" ? s.computeDtype : s.kvDtype.key,
    notes: [],
  };
}

function transformersBytes(kv: KvDtype, compute: ComputeDtype): number {
  switch (kv) {
    case "auto":
      return COMPUTE_BYTES[compute];
    case "fp32":
      return 4;
    case "fp16":
    case "bf16":
      return 2;
    default:
      throw new UsageError(`--kv-dtype ${kv}: transformers' cache classes hold fp32, fp16 or bf16 (quantized caches are quanto/HQQ estimates, not modelled); use --engine vllm for fp8 or llama.cpp for q8_0…`);
  }
}

/** Sums layers into groups of the same kind and cell count. */
class GroupSum {
  private readonly groups = new Map<string, KvGroup & { what: string }>();
  add(kind: KvGroupKind, tokens: number, bytes: number, what: string): void {
    const key = `${kind}:${tokens}:${what}`;
    const group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, { kind, layers: 1, tokens, bytes, what });
    else {
      group.layers += 1;
      group.bytes += bytes;
    }
  }
  /** `batch`: the sequences each group's bytes already count, for the formula (0: none to name). */
  result(batch: number, engine: string): { bytes: number; groups: KvGroup[]; formula: string[] } {
    const groups = [...this.groups.values()];
    return {
      bytes: groups.reduce((sum, g) => sum + g.bytes, 0),
      groups: groups.map(({ kind, layers, tokens, bytes }) => ({ kind, layers, tokens, bytes })),
      formula: groups.map((g) => {
        const per = g.kind === "linear" ? "" : ` × ${n(g.tokens)} tokens`;
        const times = batch === 0 ? "" : ` × ${batch} sequence${batch === 1 ? "" : "s"}`;
        return `${engine} ${g.kind}: ${g.layers} layers × ${g.what}${per}${times} = ${n(g.bytes)} bytes`;
      }),
    };
  }
}

function convDim(layer: Extract<LayerCache, { kind: "linear" }>, tp: number): number {
  return 2 * Math.max(1, Math.floor(layer.keyHeads / tp)) * layer.keyDim + Math.max(1, Math.floor(layer.valueHeads / tp)) * layer.valueDim;
}

// vLLM v1 (spec §3): paged blocks, one page per layer slot, layers grouped by spec.
function vllmCache(layout: AttentionLayout, s: KvSettings): KvCache {
  if (s.kvDtype.value !== s.kvDtype.key) throw new UsageError("separate key and value cache types (K,V) are llama.cpp's; vLLM has one --kv-cache-dtype");
  const e = vllmBytes(s.kvDtype.key, s.computeDtype, layout.kvCacheFp8);
  const modelBytes = COMPUTE_BYTES[s.computeDtype === "fp32" ? "fp16" : s.computeDtype];
  const tp = s.tensorParallel;
  const notes: string[] = [];
  let block = s.vllm.blockSize;
  // One spec per layer kind: pages per token (attention) or per sequence (linear state).
  const kinds = new Map<string, { kind: KvGroupKind; count: number; perToken: number; window: number; chunked: boolean; what: string }>();
  let linearPage = 0;
  let linearCount = 0;
  for (const layer of layout.layers) {
    if (layer.kind === "none") continue;
    if (layer.kind === "linear") {
      // Conv state keeps K − 1 columns in the model dtype; the recurrent state is fp32.
      linearPage = (layer.convKernel - 1) * convDim(layer, tp) * modelBytes + Math.max(1, Math.floor(layer.valueHeads / tp)) * layer.keyDim * layer.valueDim * 4;
      linearCount += 1;
      continue;
    }
    const spec =
      layer.kind === "latent"
        ? { kind: "latent" as const, perToken: (layer.kvLoraRank + layer.ropeDim) * e, window: 0, chunked: false, what: `(${layer.kvLoraRank} + ${layer.ropeDim}) latent × ${e} bytes (not split by --tp)` }
        : {
            kind: layer.kind,
            perToken: Math.max(1, Math.floor(layer.kvHeads / tp)) * (layer.keyDim + layer.valueDim) * e,
            window: layer.kind === "sliding" ? layer.window : 0,
            chunked: layer.kind === "sliding" && layer.chunked,
            what: `${Math.max(1, Math.floor(layer.kvHeads / tp))} KV heads per GPU × (${layer.keyDim} + ${layer.valueDim}) × ${e} bytes`,
          };
    const key = `${spec.kind}:${spec.window}:${spec.perToken}`;
    const found = kinds.get(key);
    if (found === undefined) kinds.set(key, { ...spec, count: 1 });
    else found.count += 1;
  }
  const attention = [...kinds.values()];
  const maxPerToken = Math.max(0, ...attention.map((k) => k.perToken));
  if (attention.some((k) => k.perToken !== maxPerToken)) notes.push("vLLM unifies page sizes across layer kinds; pages here are taken at the largest (estimate)");
  let exact = !attention.some((k) => k.perToken !== maxPerToken);
  let page = block * maxPerToken;
  if (linearCount > 0) {
    // The attention block grows until its page holds the linear state; that page is padded to match.
    if (maxPerToken > 0) block = s.vllm.blockSize * Math.ceil(linearPage / (s.vllm.blockSize * maxPerToken));
    page = Math.max(block * maxPerToken, linearPage);
    exact = false;
    notes.push(`hybrid model: attention block enlarged to ${block} tokens so one page (${n(page)} bytes) holds a sequence's linear state; the rounding is version-dependent`);
  }
  const counts = [...attention.map((k) => k.count), ...(linearCount > 0 ? [linearCount] : [])];
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  const groupSize = counts.length === 1 ? max : max < 1.5 * min ? max : min;
  let groupCount = 0;
  let blocksPerRequest = 0;
  let perToken = 0;
  const groups: KvGroup[] = [];
  const formula: string[] = [];
  const slotBytes = page * groupSize;
  for (const k of attention) {
    const kindGroups = Math.ceil(k.count / groupSize);
    const tokensNeeded =
      k.kind === "sliding" ? Math.min((k.chunked ? k.window : k.window - 1) + s.vllm.maxBatchedTokens, s.context) : s.context;
    const blocks = Math.ceil(tokensNeeded / block) + (k.kind === "sliding" && !k.chunked ? 1 : 0);
    groupCount += kindGroups;
    blocksPerRequest += kindGroups * blocks;
    if (k.kind !== "sliding" || s.context < k.window - 1) perToken += k.count * k.perToken;
    const bytes = s.batch * kindGroups * blocks * slotBytes;
    groups.push({ kind: k.kind, layers: k.count, tokens: blocks * block, bytes });
    formula.push(`vllm ${k.kind}: ${k.count} layers in ${kindGroups} group${kindGroups === 1 ? "" : "s"} of ${groupSize}; page = ${block} tokens × ${k.what} = ${n(block * k.perToken)} bytes; ${blocks} blocks per request × ${s.batch} × ${n(slotBytes)} bytes per block = ${n(bytes)} bytes`);
  }
  if (linearCount > 0) {
    const kindGroups = Math.ceil(linearCount / groupSize);
    groupCount += kindGroups;
    blocksPerRequest += kindGroups;
    const bytes = s.batch * kindGroups * slotBytes;
    groups.push({ kind: "linear", layers: linearCount, tokens: 0, bytes });
    formula.push(`vllm linear: ${linearCount} layers, one page (${n(linearPage)} bytes of state, padded to ${n(page)}) per request per group`);
  }
  const padding = groupCount * groupSize - counts.reduce((a, b) => a + b, 0);
  if (padding > 0) notes.push(`vLLM adds ${padding} padding layer${padding === 1 ? "" : "s"} to make groups of ${groupSize}`);
  return {
    bytes: groups.reduce((sum, g) => sum + g.bytes, 0),
    bytesPerToken: perToken,
    groups,
    exact,
    dtype: s.kvDtype.key === "auto" ? (e === 1 ? "fp8" : s.computeDtype === "fp32" ? "fp16" : s.computeDtype) : s.kvDtype.key,
    formula,
    notes,
    vllm: { blockSize: block, pageBytes: page, groupSize, groups: groupCount, blocksPerRequest },
  };
}

function vllmBytes(kv: KvDtype, compute: ComputeDtype, configFp8: boolean): number {
  switch (kv) {
    case "auto":
      // vLLM's dtype "auto" runs fp32 checkpoints in fp16; a kv_cache_scheme of 8 bits makes the cache fp8.
      return configFp8 ? 1 : COMPUTE_BYTES[compute === "fp32" ? "fp16" : compute];
    case "fp8":
      return 1;
    case "fp16":
    case "bf16":
      return 2;
    default:
      throw new UsageError(`--kv-dtype ${kv}: vLLM's --kv-cache-dtype offers auto, fp16, bf16 and fp8`);
  }
}

/** vLLM's pool divided into blocks (spec §3.3): exact given the pool. */
export function vllmCapacity(layout: VllmLayout, availableKvBytes: number, context: number): { blocks: number; tokens: number; maxConcurrency: number; tokensNewLog: number } {
  const blocks = layout.pageBytes === 0 ? 0 : Math.max(0, Math.floor(availableKvBytes / layout.pageBytes / layout.groupSize));
  const maxConcurrency = layout.blocksPerRequest === 0 ? 0 : blocks / layout.blocksPerRequest;
  return {
    blocks,
    tokens: Math.floor(blocks / Math.max(1, layout.groups)) * layout.blockSize,
    maxConcurrency,
    tokensNewLog: Math.floor(maxConcurrency * context),
  };
}

// llama.cpp (spec §4): cells padded to 256, streams per sequence unless unified.
function llamaCppCache(layout: AttentionLayout, s: KvSettings): KvCache {
  const typeK = ggmlType(s.kvDtype.key);
  const typeV = ggmlType(s.kvDtype.value);
  const notes: string[] = [];
  if (GGML_TYPES[typeV].block > 1) notes.push("a quantized V cache needs flash attention (-fa on)");
  const seqs = s.batch;
  const nCtx = s.context * seqs;
  const streams = s.llamaCpp.unified ? 1 : seqs;
  const baseCells = pad256(Math.floor(nCtx / streams));
  const swaEnabled = layout.modelType !== undefined && LLAMA_CPP_SWA_MODEL_TYPES.has(layout.modelType);
  const rowBytes = (type: GgmlType, elements: number): number => {
    const t = GGML_TYPES[type];
    if (elements % t.block !== 0) throw new UsageError(`--kv-dtype ${type}: a row of ${elements} values is not a whole number of ${t.block}-value blocks`);
    return (elements / t.block) * t.bytes;
  };
  const caches = { base: { cells: baseCells, layers: 0, k: 0, v: 0 }, swa: { cells: 0, layers: 0, k: 0, v: 0 } };
  const groups = new GroupSum();
  let perToken = 0;
  let recurrent = { layers: 0, r: 0, s: 0 };
  for (const layer of layout.layers) {
    if (layer.kind === "none") continue;
    if (layer.kind === "linear") {
      const cells = Math.max(1, seqs);
      const r = cells * (layer.convKernel - 1) * convDim(layer, 1) * 4;
      const st = cells * layer.keyDim * layer.valueHeads * layer.valueDim * 4;
      recurrent = { layers: recurrent.layers + 1, r: recurrent.r + r, s: recurrent.s + st };
      groups.add("linear", 0, r + st, `(R ${layer.convKernel - 1} × ${n(convDim(layer, 1))} + S ${layer.keyDim} × ${layer.valueHeads * layer.valueDim}) × 4 bytes (f32) × ${cells} cells`);
      continue;
    }
    const sliding = layer.kind === "sliding" && swaEnabled;
    const cache = sliding ? caches.swa : caches.base;
    const cells = sliding ? (s.llamaCpp.swaFull ? baseCells : pad256(Math.min(baseCells, layer.window * (s.llamaCpp.unified ? seqs : 1) + s.llamaCpp.ubatch))) : baseCells;
    if (sliding) caches.swa.cells = cells;
    const kRow = layer.kind === "latent" ? rowBytes(typeK, layer.kvLoraRank + layer.ropeDim) : rowBytes(typeK, layer.kvHeads * layer.keyDim);
    const vRow = layer.kind === "latent" ? 0 : rowBytes(typeV, layer.kvHeads * layer.valueDim);
    cache.layers += 1;
    cache.k += cells * streams * kRow;
    cache.v += cells * streams * vRow;
    const kind = layer.kind === "latent" ? "latent" : sliding ? "sliding" : "full";
    const what = layer.kind === "latent" ? `K row (${layer.kvLoraRank} + ${layer.ropeDim}) ${typeK} = ${kRow} bytes, no V` : `(K row ${kRow} + V row ${vRow}) bytes`;
    groups.add(kind, cells, cells * streams * (kRow + vRow), `${what} × ${streams} stream${streams === 1 ? "" : "s"}`);
    if (cells === baseCells) perToken += kRow + vRow;
  }
  const typeLabel = (t: GgmlType): string => t;
  const mib = (b: number): string => (b / 1_048_576).toFixed(2);
  const logLines: string[] = [];
  const kvLine = (c: typeof caches.base): string =>
    `llama_kv_cache: size = ${mib(c.k + c.v).padStart(7)} MiB (${String(c.cells).padStart(6)} cells, ${String(c.layers).padStart(3)} layers, ${String(seqs).padStart(2)}/${streams} seqs), K (${typeLabel(typeK)}): ${mib(c.k).padStart(7)} MiB, V (${typeLabel(typeV)}): ${mib(c.v).padStart(7)} MiB`;
  if (caches.base.layers > 0) logLines.push(kvLine(caches.base));
  if (caches.swa.layers > 0) logLines.push(kvLine(caches.swa));
  if (recurrent.layers > 0) {
    logLines.push(
      `llama_memory_recurrent: size = ${mib(recurrent.r + recurrent.s).padStart(7)} MiB (${String(Math.max(1, seqs)).padStart(6)} cells, ${String(layout.layers.length).padStart(3)} layers, ${String(seqs).padStart(2)} seqs ${String(0).padStart(2)} rs_seq), R (f32): ${mib(recurrent.r).padStart(7)} MiB, S (f32): ${mib(recurrent.s).padStart(7)} MiB`,
    );
  }
  const sum = groups.result(0, "llama.cpp");
  let bytes = sum.bytes;
  let exact = true;
  if (s.tensorParallel > 1) {
    bytes = Math.ceil(bytes / s.tensorParallel);
    exact = false;
    notes.push(`--tp ${s.tensorParallel}: llama.cpp's row split is not covered by the sources read; the cache is divided evenly (estimate)`);
  }
  if (!swaEnabled && layout.layers.some((l) => l.kind === "sliding")) notes.push(`llama.cpp caches sliding-window layers of ${layout.modelType ?? "this architecture"} at full length (its loader enables SWA only for Gemma 2/3, Cohere2, gpt-oss, Llama 4)`);
  return {
    bytes,
    bytesPerToken: Math.ceil(perToken / s.tensorParallel),
    groups: sum.groups,
    exact,
    dtype: typeK === typeV ? typeK : `${typeK},${typeV}`,
    formula: [`llama.cpp: -c ${n(nCtx)} (${n(s.context)} × ${seqs}), ${streams} stream${streams === 1 ? "" : "s"} of ${n(baseCells)} cells (padded to 256)`, ...sum.formula],
    notes,
    logLines,
  };
}

function ggmlType(kv: KvDtype): GgmlType {
  switch (kv) {
    case "auto":
    case "fp16":
      return "f16";
    case "fp32":
      return "f32";
    case "bf16":
      return "bf16";
    case "fp8":
      throw new UsageError("--kv-dtype fp8 is vLLM's; llama.cpp's cache types are f32, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0, iq4_nl");
    default:
      return kv;
  }
}

export function pad256(cells: number): number {
  return Math.ceil(cells / 256) * 256;
}
