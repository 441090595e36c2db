import { UsageError } from "../errors.js";
import type { AttentionLayout } from "./attention-layout.js";
import { COMPUTE_BYTES, convDim, n, type ComputeDtype, type KvCache, type KvDtype, type KvGroup, type KvGroupKind, type KvSettings, type VllmLayout } from "./kv-layout.js";

// vLLM v1 (spec §3): paged blocks, one page per layer slot, layers grouped by spec.
export function vllmCache(layout: AttentionLayout, s: KvSettings): KvCache {
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

