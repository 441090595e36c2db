import type { LayerCache } from "./attention-layout.js";

/**
 * The vocabulary of the KV-cache computations (spec inference-memory §2–§4): engines, cache element
 * types, settings and results, and the helpers every engine's layout uses. Each engine lives in its
 * own file (kv-transformers, kv-vllm, kv-llama-cpp); kv-cache.ts picks one.
 */
export const ENGINES = ["transformers", "vllm", "llama.cpp"] as const;
export type Engine = (typeof ENGINES)[number];

export const KV_DTYPES = ["auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"] as const;
export type KvDtype = (typeof KV_DTYPES)[number];

/** Element type of the model's activations (the dtype keys and values arrive in). */
export type ComputeDtype = "fp32" | "fp16" | "bf16";
export const COMPUTE_BYTES = { fp32: 4, fp16: 2, bf16: 2 } as const satisfies Record<ComputeDtype, number>;

// ggml row layouts: values per block and bytes per block (ggml `ggml-common.h`, e.g.
// `block_q8_0 { ggml_half d; int8_t qs[32]; }` = 34 bytes for 32 values).
export const GGML_TYPES = {
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
export type GgmlType = keyof typeof GGML_TYPES;

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
export const n = (value: number): string => value.toLocaleString("en-US");

export class GroupSum {
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

export function convDim(layer: Extract<LayerCache, { kind: "linear" }>, tp: number): number {
  return 2 * Math.max(1, Math.floor(layer.keyHeads / tp)) * layer.keyDim + Math.max(1, Math.floor(layer.valueHeads / tp)) * layer.valueDim;
}

