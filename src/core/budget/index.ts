/**
 * budget — memory beyond the weights: what fine-tuning adds (gradients, optimizer states, master
 * weights, LoRA adapters, activations) and what inference adds (KV cache per engine, runtime
 * overhead), and whether the whole fits a GPU. Figures defined by an engine's layout are exact;
 * everything profiled at run time is an estimate and says so.
 * May import: ../errors, ../format, ../storage.
 */
export { OPTIMIZERS, resolveTrainingOptions, simulateTraining, TRAIN_MODES, type OptimizerName, type TrainedReport, type TrainingComponents, type TrainingOptions, type TrainingReport } from "./training.js";
export { readAttentionLayout, type AttentionLayout, type LayerCache } from "./attention-layout.js";
export { ATTENTION_IMPLEMENTATIONS, OVERHEADS, type AttentionImplementation } from "./estimates.js";
export { computeDtypeOf, computeFit, fitCurve, type FitComponent, type FitInput, type FitOptions, type FitReport } from "./fit.js";
export { closeGpuNames, findGpu, GPUS, type Gpu } from "./gpus.js";
export { computeKvCache, ENGINES, KV_DTYPES, pad256, vllmCapacity, type ComputeDtype, type Engine, type KvCache, type KvDtype, type KvGroup } from "./kv-cache.js";
