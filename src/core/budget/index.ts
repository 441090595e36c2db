/**
 * budget — memory beyond the weights: what fine-tuning adds (gradients, optimizer states, master
 * weights, LoRA adapters, activations) and what inference adds (KV cache per engine, runtime
 * overhead), and whether the whole fits a GPU. Figures defined by an engine's layout are exact;
 * everything profiled at run time is an estimate and says so.
 * May import: ../errors, ../format, ../storage.
 */
export { OPTIMIZERS, resolveTrainingOptions, simulateTraining, TRAIN_MODES, type OptimizerName, type TrainedReport, type TrainingComponents, type TrainingOptions, type TrainingReport } from "./training.js";
