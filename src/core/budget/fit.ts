import { UsageError } from "../errors.js";
import type { Totals } from "../storage/index.js";
import type { AttentionLayout } from "./attention-layout.js";
import { OVERHEADS, prefillActivations, trainingActivations, vllmDefaultBatchedTokens, type AttentionImplementation, type ModelShape } from "./estimates.js";
import type { Gpu } from "./gpus.js";
import { COMPUTE_BYTES } from "./kv-layout.js";
import { computeKvCache, vllmCapacity, type ComputeDtype, type Engine, type KvCache, type KvDtype, type KvGroup, type KvSettings } from "./kv-cache.js";
import type { TrainingComponents } from "./training.js";

/** What the user asked `fit` (resolved: no `auto` context left). */
export interface FitOptions {
  engine: Engine;
  /** Tokens per sequence; null = the model's maximum. */
  context: number | null;
  batch: number;
  tensorParallel: number;
  kvDtype: { key: KvDtype; value: KvDtype };
  gpu: Gpu | null;
  vllm: { gpuUtil: number; kvCacheMemory: number | null; blockSize: number; maxBatchedTokens: number | null };
  llamaCpp: { ubatch: number; swaFull: boolean; unified: boolean };
  attention: AttentionImplementation;
  gradientCheckpointing: boolean;
}

export interface FitComponent {
  name: string;
  bytes: number;
  exact: boolean;
  basis: string;
}

export interface FitReport {
  engine: Engine;
  context: number;
  batch: number;
  tensorParallel: number;
  kvDtype: string;
  kvCache: { bytes: number; bytesPerToken: number; groups: KvGroup[]; exact: boolean };
  components: FitComponent[];
  total: number;
  gpu: { name: string; bytes: number } | null;
  /** The memory the engine may use: the GPU, or vLLM's gpu_memory_utilization share of it. */
  limit: number | null;
  fits: boolean | null;
  maxContext: number | null;
  maxBatch: number | null;
  /** vLLM's pool (when known): its blocks, and how many of them `batch` requests of `context` tokens take. */
  vllm?: { availableKvBytes: number; blocks: number; blocksNeeded: number; tokens: number; maxConcurrency: number; tokensNewLog: number; gpuUtil: number; maxBatchedTokens: number; blockSize: number };
  llamaCpp?: { logLines: string[] };
  formula: string[];
  notes: string[];
}

/** What the storage simulation (and --train) contributes: weights and the training components. */
export interface FitInput {
  layout: AttentionLayout;
  totals: Totals;
  computeDtype: ComputeDtype;
  training?: TrainingComponents;
}

const MAX_CONTEXT = 2 ** 31 - 1;
const MAX_BATCH = 1 << 20;

/** The whole budget at the asked context and batch, and the largest context and batch that fit. */
export function computeFit(input: FitInput, options: FitOptions): FitReport {
  const context = options.context ?? input.layout.maxContext;
  if (context === null) throw new UsageError("config.json gives no maximum context (max_position_embeddings); pass --context");
  if (input.training !== undefined && options.engine !== "transformers") throw new UsageError("--train with fit is computed for --engine transformers (training caches no KV)");
  const report = evaluate(input, options, context, options.batch);
  const evalFits = (c: number, b: number): boolean => evaluate(input, options, c, b).fits === true;
  if (report.fits !== null) {
    const contextCap = input.layout.maxContext ?? MAX_CONTEXT;
    report.maxContext = largest((c) => evalFits(c, options.batch), contextCap);
    report.maxBatch = largest((b) => evalFits(context, b), MAX_BATCH);
  }
  return report;
}

/** Total memory at each of `points` contexts up to the model's maximum (or twice the asked context): the fit curve. */
export function fitCurve(input: FitInput, options: FitOptions, points = 40): Array<{ context: number; total: number }> {
  const asked = options.context ?? input.layout.maxContext ?? 4096;
  const top = input.layout.maxContext ?? asked * 2;
  const contexts = [...new Set(Array.from({ length: points }, (_, i) => Math.max(1, Math.round(((i + 1) * top) / points))))];
  return contexts.map((context) => ({ context, total: evaluate(input, options, context, options.batch).total }));
}

/** The largest n in [1, cap] with `fits(n)` (fits is monotone: false from some n on); 0 if none. */
function largest(fits: (n: number) => boolean, cap: number): number {
  if (!fits(1)) return 0;
  if (fits(cap)) return cap;
  let lo = 1;
  let hi = cap;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function evaluate(input: FitInput, options: FitOptions, context: number, batch: number): FitReport {
  const { layout, totals } = input;
  const tp = options.tensorParallel;
  const shape: ModelShape = { layers: layout.layers.length, hiddenSize: layout.hiddenSize, heads: layout.heads, intermediateSize: layout.intermediateSize, vocabSize: layout.vocabSize };
  const gpuBytes = options.gpu?.bytes ?? null;
  const maxBatchedTokens = options.vllm.maxBatchedTokens ?? vllmDefaultBatchedTokens(gpuBytes, options.gpu?.name ?? null);
  const settings: KvSettings = {
    engine: options.engine,
    context,
    batch,
    tensorParallel: tp,
    kvDtype: options.kvDtype,
    computeDtype: input.computeDtype,
    vllm: { blockSize: options.vllm.blockSize, maxBatchedTokens },
    llamaCpp: options.llamaCpp,
  };
  const training = input.training;
  const kv: KvCache | null = training === undefined ? computeKvCache(layout, settings) : null;
  const elementBytes = COMPUTE_BYTES[input.computeDtype];
  const split = (bytes: number): number => Math.ceil(bytes / tp);
  const splitNote = tp > 1 ? ` ÷ ${tp} GPUs (estimate: split evenly)` : "";
  const components: FitComponent[] = [];
  if (training !== undefined) {
    components.push(
      { name: "frozen weights", bytes: training.frozenWeights, exact: true, basis: "parameters that do not train, as stored" },
      { name: "quantization state", bytes: training.quantizationState, exact: true, basis: "absmax, code books, SCB (not parameters)" },
      { name: "trainable weights", bytes: training.trainableWeights, exact: true, basis: "trainable parameters (adapters with LoRA)" },
      { name: "gradients", bytes: training.gradients, exact: true, basis: "one per trainable parameter, in its dtype" },
      { name: "optimizer state", bytes: training.optimizerState, exact: true, basis: "optimizer states per trainable parameter" },
      { name: "master weights", bytes: training.masterWeights, exact: true, basis: "fp32 copies under mixed precision" },
    );
    const act = trainingActivations(shape, context, batch, options.attention, options.gradientCheckpointing);
    components.push({ name: "activations", bytes: act.bytes, exact: false, basis: act.basis });
    components.push(overheadComponent(options.gpu, [{ bytes: Math.ceil(act.bytes * OVERHEADS.trainingFragmentation.fraction), source: OVERHEADS.trainingFragmentation.source }]));
  } else {
    components.push({ name: "weights", bytes: split(totals.parameterBytes), exact: tp === 1, basis: `get_memory_footprint()${splitNote}` });
    components.push({ name: "quantization state", bytes: split(totals.quantStateBytes), exact: tp === 1, basis: `absmax, code books, SCB${splitNote}` });
    components.push({ name: "KV cache", bytes: kv!.bytes, exact: kv!.exact, basis: kvBasis(options.engine, kv!) });
    const act =
      options.engine === "vllm"
        ? prefillActivations(shape, maxBatchedTokens, batch, Math.min(context, maxBatchedTokens), elementBytes, options.attention)
        : options.engine === "llama.cpp"
          ? prefillActivations(shape, options.llamaCpp.ubatch, 1, 0, 4, "flash")
          : prefillActivations(shape, batch * context, batch, context, elementBytes, options.attention);
    const basis = options.engine === "vllm" ? act.basis.replace("estimate:", `estimate: vLLM's profile run of max_num_batched_tokens ${maxBatchedTokens},`) : options.engine === "llama.cpp" ? act.basis.replace("estimate:", `estimate: llama.cpp's compute buffer for one ubatch of ${options.llamaCpp.ubatch} in f32,`) : act.basis;
    components.push({ name: "activations", bytes: split(act.bytes), exact: false, basis });
    const extra = options.engine === "vllm" ? [{ bytes: OVERHEADS.vllmNonTorch.bytes, source: OVERHEADS.vllmNonTorch.source }, { bytes: OVERHEADS.vllmCudaGraphs.bytes, source: OVERHEADS.vllmCudaGraphs.source }] : [];
    components.push(overheadComponent(options.gpu, extra));
  }
  const total = components.reduce((sum, c) => sum + c.bytes, 0);
  const notes = [...(kv?.notes ?? [])];
  let limit = gpuBytes;
  let fits: boolean | null = gpuBytes === null ? null : total <= gpuBytes;
  let vllm: FitReport["vllm"];
  if (options.engine === "vllm" && kv?.vllm !== undefined) {
    const nonKv = total - kv.bytes;
    let pool: number | null = null;
    if (options.vllm.kvCacheMemory !== null) {
      pool = options.vllm.kvCacheMemory;
      fits = kv.bytes <= pool && (gpuBytes === null || nonKv + pool <= gpuBytes);
      notes.push("--kv-cache-memory: the pool is taken as given (vLLM's kv_cache_memory_bytes), gpu_memory_utilization ignored");
    } else if (gpuBytes !== null) {
      limit = Math.ceil(gpuBytes * options.vllm.gpuUtil);
      pool = Math.max(0, limit - nonKv);
      fits = kv.bytes <= pool;
      notes.push(`vLLM may use gpu_memory_utilization ${options.vllm.gpuUtil} of the GPU; its KV pool is what weights, activations and overhead leave of that (estimate: activations and overhead are profiled at start-up)`);
    }
    if (pool !== null) {
      const cap = vllmCapacity(kv.vllm, pool, context);
      vllm = { availableKvBytes: pool, ...cap, blocksNeeded: kv.vllm.blocksPerRequest * batch, gpuUtil: options.vllm.gpuUtil, maxBatchedTokens, blockSize: kv.vllm.blockSize };
    }
  }
  return {
    engine: options.engine,
    context,
    batch,
    tensorParallel: tp,
    kvDtype: kv?.dtype ?? "none",
    kvCache: kv === null ? { bytes: 0, bytesPerToken: 0, groups: [], exact: true } : { bytes: kv.bytes, bytesPerToken: kv.bytesPerToken, groups: kv.groups, exact: kv.exact },
    components,
    total,
    gpu: options.gpu === null ? null : { name: options.gpu.name, bytes: options.gpu.bytes },
    limit,
    fits,
    maxContext: null,
    maxBatch: null,
    ...(vllm === undefined ? {} : { vllm }),
    ...(kv?.logLines === undefined ? {} : { llamaCpp: { logLines: kv.logLines } }),
    formula: kv?.formula ?? [],
    notes: training === undefined ? notes : [...notes, "training caches no KV: the budget is the training components, activations and overhead"],
  };
}

function kvBasis(engine: Engine, kv: KvCache): string {
  const how = engine === "transformers" ? "DynamicCache tensors" : engine === "vllm" ? "blocks these requests take from vLLM's pool" : "llama.cpp cells, padded to 256";
  return `${kv.exact ? "exact" : "estimate"}: ${how}, ${kv.dtype}`;
}

function overheadComponent(gpu: Gpu | null, extra: Array<{ bytes: number; source: string }>): FitComponent {
  const cublas = gpu?.sm90 === true ? OVERHEADS.cublasWorkspace.bytesSm90 : OVERHEADS.cublasWorkspace.bytes;
  const parts = [{ bytes: OVERHEADS.cudaContext.bytes, source: OVERHEADS.cudaContext.source }, { bytes: cublas, source: OVERHEADS.cublasWorkspace.source }, ...extra];
  return { name: "runtime overhead", bytes: Math.ceil(parts.reduce((sum, p) => sum + p.bytes, 0)), exact: false, basis: `estimate: ${parts.map((p) => p.source).join("; ")}` };
}

/** The dtype keys and values arrive in: the embedding's load dtype (hidden states start there). */
export function computeDtypeOf(tensors: ReadonlyArray<{ kind: string; storedDtype: string }>, torchDtype: string): ComputeDtype {
  const embedding = tensors.find((t) => t.kind === "embedding" && t.storedDtype.startsWith("float") || t.kind === "embedding" && t.storedDtype === "bfloat16");
  const name = embedding?.storedDtype ?? torchDtype;
  return name === "float32" ? "fp32" : name === "float16" ? "fp16" : "bf16";
}
