import { UsageError } from "../errors.js";
import { LLAMA_CPP_SWA_MODEL_TYPES, type AttentionLayout } from "./attention-layout.js";
import { convDim, GGML_TYPES, GroupSum, n, type GgmlType, type KvCache, type KvDtype, type KvSettings } from "./kv-layout.js";

// llama.cpp (spec §4): cells padded to 256, streams per sequence unless unified.
export function llamaCppCache(layout: AttentionLayout, s: KvSettings): KvCache {
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
