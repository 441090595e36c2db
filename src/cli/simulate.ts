import type { Simulate } from "../core/report/index.js";
import { simulateScheme } from "../core/storage/index.js";
import { resolveTrainingOptions, simulateTraining } from "../core/budget/index.js";
import type { SimulationOptions } from "../core/storage/index.js";
import { toTrainingOptions, type RawTrainingOptions } from "./options.js";

/**
 * How each model is simulated: a plain load, or with --train a fine-tuning run. QLoRA without a
 * scheme defaults to nf4 with double quantization, as in the QLoRA paper.
 */
export function simulatorFor(raw: RawTrainingOptions & { scheme?: string }): { simulate: Simulate; adjust: (options: SimulationOptions) => SimulationOptions } {
  const training = toTrainingOptions(raw);
  if (training === undefined) return { simulate: simulateScheme, adjust: (options) => options };
  return {
    simulate: (checkpoint, options) => simulateTraining(checkpoint, options, resolveTrainingOptions(training, checkpoint)),
    adjust: (options) => (training.mode === "qlora" && raw.scheme === undefined ? { ...options, scheme: "nf4", doubleQuant: true } : options),
  };
}
