import { classifyTensors, type ClassifiedTensor } from "../storage/index.js";
import { bytesOf, tensorBytes, TORCH_DTYPES, TORCH_NAME, type Dtype, type TorchDtype } from "../format/index.js";
import { UsageError } from "../errors.js";
import { count, explainReport } from "../storage/index.js";
import { logicalCheckpoint, simulateScheme, sumTotals } from "../storage/index.js";
import { QUANT_STORAGE, type ExpertLayout, type SimulationOptions } from "../storage/index.js";
import { type Checkpoint } from "../format/index.js";
import type { StorageReport, TensorReport } from "../storage/index.js";

export const TRAIN_MODES = ["full", "lora", "qlora"] as const;
export type TrainMode = (typeof TRAIN_MODES)[number];

// Optimizer state per trainable tensor (spec §8): 32-bit states are fp32; bitsandbytes' 8-bit states
// are uint8 with one fp32 absmax per block of 256, and stay fp32 for tensors under 4,096 elements.
export const OPTIMIZERS = {
  adamw: { states: 2, eightBit: false, paged: false },
  "adamw-8bit": { states: 2, eightBit: true, paged: false },
  "paged-adamw-8bit": { states: 2, eightBit: true, paged: true },
  sgd: { states: 0, eightBit: false, paged: false },
  "sgd-momentum": { states: 1, eightBit: false, paged: false },
} as const satisfies Record<string, { states: number; eightBit: boolean; paged: boolean }>;
export type OptimizerName = keyof typeof OPTIMIZERS;

const EIGHT_BIT = { blocksize: 256, absmaxBytes: 4, minElements: 4096 } as const;
/** Paged optimizers put state tensors of this many elements or more in CUDA managed memory. */
const PAGED_MIN_ELEMENTS = 100_000;

export interface TrainingOptions {
  mode: TrainMode;
  optimizer: OptimizerName;
  mixedPrecision: boolean;
  loraR: number;
  /** Module names (suffixes, as PEFT matches them) or "all-linear". */
  targetModules: string[] | "all-linear";
  adapterDtype: TorchDtype;
  /** PEFT's prepare_model_for_kbit_training (qlora): 16-bit parameters that are not 4-bit become fp32. */
  prepareKbit: boolean;
}

export interface Adapter {
  module: string;
  /** The adapted weight as nn.Linear holds it, [out, in]. */
  shape: [number, number];
  /** r·in (lora_A [r, in]) + r·out (lora_B [out, r]). */
  parameters: number;
  bytes: number;
}

export interface TrainingComponents {
  frozenWeights: number;
  quantizationState: number;
  trainableWeights: number;
  gradients: number;
  optimizerState: number;
  /** Part of optimizerState in managed memory that can be paged to the CPU (paged optimizers). */
  optimizerPageable: number;
  masterWeights: number;
  total: number;
}

/** A storage report with the fine-tuning section. */
export type TrainedReport = StorageReport & { training: TrainingReport };

export interface TrainingReport {
  mode: TrainMode;
  optimizer: OptimizerName;
  mixedPrecision: boolean;
  lora?: { r: number; targetModules: string[] | "all-linear"; adapterDtype: string; prepareKbit: boolean; adapters: Adapter[] };
  trainableParameters: number;
  /** As PEFT's get_nb_trainable_parameters counts them: a 4-bit parameter as numel × 2 × itemsize. */
  allParameters: number;
  components: TrainingComponents;
  /** PEFT's print_trainable_parameters() line, to check against a real run. */
  peftLine: string;
  notes: string[];
}

/**
 * Memory of a fine-tuning run before activations: the base model as loaded (spec §2–§5), then what
 * training adds per trainable parameter (spec §8).
 */
export function simulateTraining(checkpoint: Checkpoint, simulation: SimulationOptions, training: TrainingOptions): TrainedReport {
  const fourBit = simulation.scheme === "fp4" || simulation.scheme === "nf4";
  if (training.mode === "full" && simulation.scheme !== null && !["fp32", "fp16", "bf16"].includes(simulation.scheme)) {
    throw new UsageError(`--train full trains every weight: --scheme ${simulation.scheme} weights cannot be trained (use lora or qlora)`);
  }
  if (training.mode === "qlora" && !fourBit) throw new UsageError("--train qlora needs a 4-bit --scheme (nf4 or fp4)");
  const report = simulateScheme(checkpoint, simulation);
  if (training.mode === "full" && report.sourceQuantization !== undefined && simulation.scheme === null) {
    throw new UsageError("--train full cannot train packed weights: this checkpoint was saved quantized; add --scheme bf16 (or fp32, fp16) to train it dequantized, or use lora");
  }
  if (training.mode === "qlora" && training.prepareKbit) prepareForKbitTraining(report.tensors);
  const base = report.tensors.filter((t) => t.kind !== "buffer" && t.tiedTo === undefined);

  let trainable: Array<{ elements: number; dtype: Dtype }>;
  let adapters: Adapter[] = [];
  let computeDtype: Dtype | undefined;
  if (training.mode === "full") {
    computeDtype = training.mixedPrecision ? mixedPrecisionDtype(report) : undefined;
    trainable = base.filter((t) => t.trainable).map((t) => ({ elements: t.storedElements, dtype: computeDtype ?? dtypeOfTorchName(t.storedDtype) }));
  } else {
    for (const t of report.tensors) t.trainable = false; // PEFT freezes every base parameter
    // Adapters wrap the weights as the model holds them: packed checkpoints at their logical shapes.
    adapters = loraAdapters(classifyTensors(logicalCheckpoint(checkpoint)), training, simulation.experts);
    const adapterDtype = TORCH_DTYPES[training.adapterDtype].dtype;
    computeDtype = training.mixedPrecision && adapterDtype !== "F32" ? adapterDtype : undefined;
    trainable = adapters.flatMap((a) => [
      { elements: training.loraR * a.shape[1], dtype: adapterDtype }, // lora_A [r, in]
      { elements: a.shape[0] * training.loraR, dtype: adapterDtype }, // lora_B [out, r]
    ]);
  }
  report.totals = sumTotals(report.tensors);

  const trainableParameters = trainable.reduce((s, t) => s + t.elements, 0);
  const frozen = report.tensors.filter((t) => !t.trainable && t.tiedTo === undefined).reduce((s, t) => s + t.parameterBytes, 0);
  const trainableWeights = trainable.reduce((s, t) => s + tensorBytes(t), 0);
  const optimizer = optimizerBytes(trainable.map((t) => t.elements), training.optimizer);
  const components: TrainingComponents = {
    frozenWeights: frozen,
    quantizationState: report.totals.quantStateBytes,
    trainableWeights,
    gradients: trainableWeights, // one gradient per trainable parameter, in its dtype
    optimizerState: optimizer.total,
    optimizerPageable: optimizer.pageable,
    masterWeights: training.mixedPrecision ? trainable.reduce((s, t) => s + (t.dtype === "F32" ? 0 : 4 * t.elements), 0) : 0,
    total: 0,
  };
  components.total = components.frozenWeights + components.quantizationState + components.trainableWeights + components.gradients + components.optimizerState + components.masterWeights;

  const allParameters = base.reduce((s, t) => s + peftCount(t, simulation), 0) + (training.mode === "full" ? 0 : trainableParameters);
  const trainingReport: TrainingReport = {
    mode: training.mode,
    optimizer: training.optimizer,
    mixedPrecision: training.mixedPrecision,
    ...(training.mode === "full"
      ? {}
      : { lora: { r: training.loraR, targetModules: training.targetModules, adapterDtype: TORCH_NAME[TORCH_DTYPES[training.adapterDtype].dtype], prepareKbit: training.mode === "qlora" && training.prepareKbit, adapters } }),
    trainableParameters,
    allParameters,
    components,
    peftLine: `trainable params: ${count(trainableParameters)} || all params: ${count(allParameters)} || trainable%: ${(allParameters === 0 ? 0 : (100 * trainableParameters) / allParameters).toFixed(4)}`,
    notes: [
      "Activations are not included: they depend on sequence length, batch size and gradient checkpointing, not on the weights.",
      ...(training.mixedPrecision && computeDtype !== undefined ? [`Mixed precision: trainable weights and gradients in ${TORCH_NAME[computeDtype]}, fp32 master weights, fp32 optimizer states.`] : []),
    ],
  };
  report.explanation = explainReport(report, training.mode !== "full");
  return { ...report, training: trainingReport };
}

/** PEFT's prepare_model_for_kbit_training casts 16-bit parameters that are not 4-bit packed to float32. */
function prepareForKbitTraining(tensors: TensorReport[]): void {
  for (const t of tensors) {
    if (t.quantized || t.kind === "buffer" || (t.storedDtype !== "float16" && t.storedDtype !== "bfloat16")) continue;
    t.storedDtype = "float32";
    t.parameterBytes = t.storedElements * 4;
  }
}

/** Adapters on every targeted 2-D weight; PEFT matches a target when it equals the module name or ends it after a dot. */
export function loraAdapters(classified: ClassifiedTensor[], training: TrainingOptions, experts: ExpertLayout): Adapter[] {
  // Fused experts (transformers 5) are 3-D parameters, no modules LoRA can wrap.
  const adaptable = classified.filter((t) => t.tiedTo === undefined && t.tensor.shape.length === 2 && t.tensor.name.endsWith(".weight") && ((t.kind !== "expert" && t.kind !== "router") || experts === "linear"));
  const linears = adaptable.filter((t) => t.kind === "linear" || t.kind === "expert" || t.kind === "router");
  let chosen: ClassifiedTensor[];
  if (training.targetModules === "all-linear") {
    chosen = linears; // PEFT: every linear layer but the output head
  } else {
    const targets = training.targetModules;
    const matches = (t: ClassifiedTensor, target: string): boolean => t.module === target || t.module.endsWith(`.${target}`);
    const unknown = targets.filter((target) => !adaptable.some((t) => matches(t, target)));
    if (unknown.length > 0) {
      throw new UsageError(`--target-modules: ${unknown.join(", ")} match no module of this model; its linear modules are: ${linearModuleNames(linears).join(", ")}`);
    }
    chosen = adaptable.filter((t) => targets.some((target) => matches(t, target)));
  }
  const adapterDtype = TORCH_DTYPES[training.adapterDtype].dtype;
  return chosen.map((t) => {
    // Conv1D stores [in, out]; nn.Linear and embeddings keep [out, in] / [num, dim].
    const [a, b] = t.tensor.shape as [number, number];
    const shape: [number, number] = t.conv1d ? [b, a] : [a, b];
    const parameters = training.loraR * (shape[0] + shape[1]);
    return { module: t.module, shape, parameters, bytes: bytesOf(parameters, adapterDtype) };
  });
}

// PEFT's default LoRA targets by config.json model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ["q_proj", "v_proj"],
  mistral: ["q_proj", "v_proj"],
  mixtral: ["q_proj", "v_proj"],
  qwen2: ["q_proj", "v_proj"],
  gemma: ["q_proj", "v_proj"],
  gemma2: ["q_proj", "v_proj"],
  phi: ["q_proj", "v_proj"],
  opt: ["q_proj", "v_proj"],
  gpt2: ["c_attn"],
  falcon: ["query_key_value"],
  gpt_neox: ["query_key_value"],
  bloom: ["query_key_value"],
  gptj: ["q_proj", "v_proj"],
  t5: ["q", "v"],
  bert: ["query", "value"],
  roberta: ["query", "value"],
};

/** PEFT's default target modules for a model type, if it has one. */
export function defaultTargetModules(modelType: string | undefined): string[] | undefined {
  // Own properties only: model_type comes from a file ("constructor" must find nothing).
  return modelType === undefined || !Object.prototype.hasOwnProperty.call(DEFAULT_TARGETS, modelType) ? undefined : DEFAULT_TARGETS[modelType];
}

export function optimizerBytes(tensorElements: number[], name: OptimizerName): { total: number; pageable: number } {
  const spec = OPTIMIZERS[name];
  let total = 0;
  let pageable = 0;
  for (const n of tensorElements) {
    const eightBit = spec.eightBit && n >= EIGHT_BIT.minElements;
    // Each state is a tensor shaped like the parameter (uint8 in 8-bit, else fp32); bitsandbytes pages
    // it when the parameter has 100,000+ values. 8-bit states add fp32 absmax blocks, never paged.
    const state = eightBit ? n : 4 * n;
    const absmax = eightBit ? Math.ceil(n / EIGHT_BIT.blocksize) * EIGHT_BIT.absmaxBytes : 0;
    total += spec.states * (state + absmax);
    if (spec.paged && n >= PAGED_MIN_ELEMENTS) pageable += spec.states * state;
  }
  return { total, pageable };
}

function peftCount(t: TensorReport, simulation: SimulationOptions): number {
  if (!t.quantized || simulation.scheme === "int8") return t.storedElements;
  const itemsize = bytesOf(1, QUANT_STORAGE[simulation.quantStorage]);
  return t.storedElements * 2 * itemsize;
}

function mixedPrecisionDtype(report: StorageReport): Dtype {
  const loaded = report.tensors.find((t) => t.trainable)?.storedDtype;
  return loaded === "float16" ? "F16" : "BF16";
}

function dtypeOfTorchName(name: string): Dtype {
  const entry = Object.entries(TORCH_NAME).find(([, torch]) => torch === name);
  return (entry?.[0] ?? "F32") as Dtype;
}


/** The distinct last parts of these modules' names (`q_proj`, `fc1`), sorted: what a user can target. */
function linearModuleNames(linears: ClassifiedTensor[]): string[] {
  return [...new Set(linears.map((t) => t.module.slice(t.module.lastIndexOf(".") + 1)))].sort();
}

/** Fills in PEFT's default target modules for the model's type, or says which names it could take. */
export function resolveTrainingOptions(partial: Omit<TrainingOptions, "targetModules"> & { targetModules?: TrainingOptions["targetModules"] }, checkpoint: Checkpoint): TrainingOptions {
  if (partial.targetModules !== undefined || partial.mode === "full") return { ...partial, targetModules: partial.targetModules ?? [] };
  const defaults = defaultTargetModules(checkpoint.config?.modelType);
  if (defaults !== undefined) return { ...partial, targetModules: defaults };
  const names = linearModuleNames(classifyTensors(checkpoint).filter((t) => t.kind === "linear"));
  if (names.length === 0) throw new UsageError("--target-modules is needed (PEFT has no default for this model), and the model has no linear modules outside its experts to suggest: name the modules to adapt");
  throw new UsageError(`--target-modules is needed (PEFT has no default for this model); its linear modules are: ${names.join(", ")}, or all-linear`);
}
