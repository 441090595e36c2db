import { ATTENTION_IMPLEMENTATIONS, closeGpuNames, ENGINES, findGpu, GPUS, KV_DTYPES, type FitOptions, type Gpu, type KvDtype } from "../core/budget/index.js";
import { UsageError } from "../core/errors.js";
import { oneOf, parseSize, parseWholeNumber } from "./options.js";

/** `fit` options as commander hands them over. */
export interface RawFitOptions {
  engine?: string;
  context?: string;
  batch?: string;
  kvDtype?: string;
  tp?: string;
  gpu?: string;
  gpuUtil?: string;
  kvCacheMemory?: string;
  blockSize?: string;
  maxBatchedTokens?: string;
  ubatch?: string;
  swaFull?: boolean;
  kvUnified?: boolean;
  attention?: string;
  gradientCheckpointing?: boolean;
  explain?: boolean;
}

const MAX_TOKENS = 2 ** 31 - 1;

/** Whether any fit option was given (compare applies fit only then). */
export function hasFitOptions(raw: RawFitOptions): boolean {
  return (["engine", "context", "batch", "kvDtype", "tp", "gpu", "gpuUtil", "kvCacheMemory", "blockSize", "maxBatchedTokens", "ubatch", "swaFull", "kvUnified"] as const).some((k) => raw[k] !== undefined);
}

export function toFitOptions(raw: RawFitOptions): FitOptions {
  const engine = raw.engine === undefined ? "transformers" : oneOf(raw.engine, ENGINES, "--engine");
  const only = (flag: string, given: unknown, engines: string[]): void => {
    if (given !== undefined && !engines.includes(engine)) throw new UsageError(`${flag} applies to --engine ${engines.join(" or ")}, not ${engine}`);
  };
  only("--gpu-util", raw.gpuUtil, ["vllm"]);
  only("--kv-cache-memory", raw.kvCacheMemory, ["vllm"]);
  only("--block-size", raw.blockSize, ["vllm"]);
  only("--max-batched-tokens", raw.maxBatchedTokens, ["vllm"]);
  only("--ubatch", raw.ubatch, ["llama.cpp"]);
  only("--swa-full", raw.swaFull, ["llama.cpp"]);
  only("--kv-unified", raw.kvUnified, ["llama.cpp"]);
  only("--tp", raw.tp, ["vllm", "llama.cpp"]);
  const gpuUtil = raw.gpuUtil === undefined ? 0.9 : Number(raw.gpuUtil);
  if (raw.gpuUtil !== undefined && (!/^\s*(0(\.\d+)?|1(\.0+)?|\.\d+)\s*$/.test(raw.gpuUtil) || gpuUtil <= 0)) throw new UsageError(`--gpu-util takes a fraction above 0 and at most 1, not ${JSON.stringify(raw.gpuUtil)}`);
  return {
    engine,
    context: raw.context === undefined ? null : parseTokens(raw.context, "--context"),
    batch: raw.batch === undefined ? 1 : parseWholeNumber(raw.batch, "--batch", { min: 1, max: 1 << 20 }),
    tensorParallel: raw.tp === undefined ? 1 : parseWholeNumber(raw.tp, "--tp", { min: 1, max: 1024 }),
    kvDtype: parseKvDtype(raw.kvDtype ?? "auto"),
    gpu: raw.gpu === undefined ? null : parseGpu(raw.gpu),
    vllm: {
      gpuUtil,
      kvCacheMemory: raw.kvCacheMemory === undefined ? null : parseSize(raw.kvCacheMemory, "--kv-cache-memory"),
      blockSize: raw.blockSize === undefined ? 16 : parseWholeNumber(raw.blockSize, "--block-size", { min: 1, max: 4096 }),
      maxBatchedTokens: raw.maxBatchedTokens === undefined ? null : parseTokens(raw.maxBatchedTokens, "--max-batched-tokens"),
    },
    llamaCpp: {
      ubatch: raw.ubatch === undefined ? 512 : parseWholeNumber(raw.ubatch, "--ubatch", { min: 1, max: 1 << 20 }),
      swaFull: raw.swaFull === true,
      unified: raw.kvUnified === true,
    },
    attention: raw.attention === undefined ? "sdpa" : oneOf(raw.attention, ATTENTION_IMPLEMENTATIONS, "--attention"),
    gradientCheckpointing: raw.gradientCheckpointing === true,
  };
}

/** Tokens: `8192`, `32k` (= 32,768), `128K`; 1 to 2^31 − 1. */
export function parseTokens(text: string, flag: string): number {
  const match = /^\s*(\d{1,10})\s*([kK])?\s*$/.exec(text);
  const value = match === null ? Number.NaN : Number(match[1]) * (match[2] === undefined ? 1 : 1024);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TOKENS) {
    throw new UsageError(`${flag} takes a token count from 1 to ${MAX_TOKENS.toLocaleString("en-US")} (8192, 32k = 32,768), not ${JSON.stringify(text)}`);
  }
  return value;
}

/** `q8_0`, or llama.cpp's separate key and value types `q8_0,q4_0`. */
export function parseKvDtype(text: string): { key: KvDtype; value: KvDtype } {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length > 2) throw new UsageError(`--kv-dtype takes one type or K,V, not ${JSON.stringify(text)}`);
  const key = oneOf(parts[0]!, KV_DTYPES, "--kv-dtype");
  const value = parts.length === 2 ? oneOf(parts[1]!, KV_DTYPES, "--kv-dtype") : key;
  return { key, value };
}

/** A catalogue name (case, spaces and hyphens ignored) or a size (`24GiB`, `80GB`). */
export function parseGpu(text: string): Gpu {
  const found = findGpu(text);
  if (found !== undefined) return found;
  if (/^\s*\d/.test(text)) {
    const bytes = parseSize(text, "--gpu");
    if (bytes <= 0) throw new UsageError("--gpu needs a size above 0");
    return { name: text.trim(), bytes, sm90: false, source: "given on the command line" };
  }
  const close = closeGpuNames(text);
  const names = close.length > 0 ? `did you mean ${close.join(", ")}?` : `known: ${GPUS.map((g) => g.name).join(", ")}`;
  throw new UsageError(`--gpu ${JSON.stringify(text)} is not in the catalogue (${names}); or give a size such as 24GiB`);
}
