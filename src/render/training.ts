import type { TrainingReport } from "../core/budget/index.js";
import { formatBytes, formatCount, type Units } from "./units.js";

/** The fine-tuning section, as labelled lines shared by the terminal and markdown renderers. */
export function trainingTitle(training: TrainingReport, scheme: string): string {
  const lora = training.lora;
  const targets = lora === undefined ? "" : `, r=${lora.r} on ${lora.targetModules === "all-linear" ? "all linear layers" : lora.targetModules.join(", ")} (${lora.adapters.length} adapters, ${lora.adapterDtype})`;
  const prepare = lora?.prepareKbit === true ? ", prepare_model_for_kbit_training" : "";
  return `Fine-tuning: ${training.mode} on ${scheme}${targets}, ${training.optimizer}${training.mixedPrecision ? ", mixed precision" : ""}${prepare}`;
}

export function trainingRows(training: TrainingReport, units: Units): Array<[string, string]> {
  const c = training.components;
  const bytes = (n: number): string => (units === "bytes" ? formatBytes(n, "bytes") : `${formatBytes(n, units)} (${formatCount(n)} bytes)`);
  const pageable = c.optimizerPageable > 0 ? `, of which ${formatBytes(c.optimizerPageable, units)} pageable to CPU` : "";
  return [
    ["frozen weights", bytes(c.frozenWeights)],
    ["quantization state", bytes(c.quantizationState)],
    ["trainable weights", bytes(c.trainableWeights)],
    ["gradients", bytes(c.gradients)],
    ["optimizer state", `${bytes(c.optimizerState)}${pageable}`],
    ["master weights", bytes(c.masterWeights)],
    ["total (before activations)", bytes(c.total)],
  ];
}
