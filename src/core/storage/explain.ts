import { FOUR_BIT } from "./schemes.js";
import type { StorageReport } from "./storage-report.js";
import type { TensorKind } from "./classify.js";

/** A count with thousands separators, as Python's `{:,}` prints it (PEFT's line, the explanations). */
export const count = (n: number): string => n.toLocaleString("en-US");
const shape = (dims: readonly number[]): string => `[${dims.join(", ")}]`;

const KIND_WORDS: Record<TensorKind, string> = {
  linear: "unquantized linears",
  expert: "MoE experts",
  router: "MoE routers",
  embedding: "embeddings",
  "output-head": "the output head",
  norm: "norms",
  bias: "biases",
  buffer: "buffers",
  other: "other tensors",
};

/**
 * Plain sentences, computed from this model's own figures, on why `sum(p.numel())` and the
 * trainable count shrink under a quantized load.
 */
/** `adaptersOnly`: a LoRA/QLoRA run, where PEFT freezes the whole base model. */
export function explainReport(report: StorageReport, adaptersOnly = false): string[] {
  const { scheme, totals } = report;
  const example = report.tensors.find((t) => t.quantized);
  if (example === undefined) return [];
  const n = example.logicalElements;
  const lines: string[] = [];
  if (scheme.name === "int8") {
    lines.push(
      `LLM.int8 keeps one int8 value per weight: ${example.name} ${shape(example.originalShape)} is stored as int8 ${shape(example.storedShape)}, ` +
        `${count(n)} elements in ${count(example.parameterBytes)} bytes, plus a float32 scale per output row (SCB, ${count(example.quantStateBytes)} bytes) that is not a parameter.`,
    );
  } else {
    const packing = example.storedDtype === "uint8" ? "two 4-bit values are packed into one uint8 byte" : `4-bit values are packed into ${example.storedDtype} elements`;
    const state = scheme.doubleQuant
      ? `absmax per block of ${FOUR_BIT.blocksize} values, itself quantized to uint8 (double quant), and code books`
      : `a float32 absmax per block of ${FOUR_BIT.blocksize} values and the 16-value code book`;
    lines.push(
      `In ${scheme.name} each weight takes 4 bits, so ${packing}: ${example.name} ${shape(example.originalShape)} holds ${count(n)} values ` +
        `and is stored as a ${example.storedDtype} tensor of shape ${shape(example.storedShape)} (${count(example.parameterBytes)} bytes), ` +
        `plus ${count(example.quantStateBytes)} bytes of quantization state (${state}) that is not a parameter.`,
    );
    const perElement = Math.round(example.logicalElements / example.storedElements);
    // transformers' num_parameters() and PEFT count a packed element as 2 × itemsize values (spec §5).
    const numParameters = report.tensors.reduce((s, t) => (t.kind === "buffer" ? s : s + (t.quantized ? t.storedElements * perElement : t.storedElements)), 0);
    lines.push(
      `sum(p.numel() for p in model.parameters()) counts stored elements, so it shows ${count(totals.reportedParameters)} ` +
        `instead of the model's ${count(totals.logicalParameters)} parameters: each packed weight counts ${perElement} values as one element. ` +
        `transformers' model.num_parameters() multiplies packed elements back by ${perElement}: ${count(numParameters)}.`,
    );
  }
  const experts = report.tensors.filter((t) => t.kind === "expert" && !t.quantized);
  if (experts.length > 0) {
    lines.push(
      `${count(experts.length)} MoE expert weights stay in ${experts[0]!.storedDtype}: transformers 5 fuses each layer's experts into 3-D parameters (and holds routers as bare parameters), which bitsandbytes does not quantize (bitsandbytes issue #1849); --experts linear simulates transformers 4, where each expert is an nn.Linear.`,
    );
  }
  if (adaptersOnly) {
    lines.push("Quantized weights are frozen (bitsandbytes creates them with requires_grad=False), and PEFT freezes the rest of the base model too: only the adapters train.");
    return lines;
  }
  const rest = new Set<string>();
  for (const t of report.tensors) if (t.trainable) rest.add(KIND_WORDS[t.kind]);
  lines.push(
    `Quantized weights are frozen (bitsandbytes creates them with requires_grad=False), so only the unquantized rest is trainable: ` +
      `${count(totals.trainableParameters)} parameters${rest.size > 0 ? ` (${[...rest].join(", ")})` : ""}.`,
  );
  return lines;
}

/** For a checkpoint saved already quantized: what was found, and what loading it as it is reports. */
export function explainPrequantized(report: StorageReport, asStored: boolean): string[] {
  const found = report.sourceQuantization;
  if (found === undefined) return explainReport(report);
  const lines = [`Saved already quantized: ${found.summary}.`];
  if (!asStored) {
    lines.push(`These figures re-simulate ${report.scheme.name} from the ${found.packedWeights} weights' logical shapes, as if the checkpoint had been saved unquantized.`);
    return [...lines, ...explainReport(report)];
  }
  const { totals } = report;
  lines.push(
    `The model has ${count(totals.logicalParameters)} parameters; after loading it as it is, sum(p.numel()) shows ${count(totals.reportedParameters)}: ` +
      "packed weights count stored elements, not the values packed in them, and statistics (absmax, scales, zeros) are not counted as parameters unless the loading layer registers them as such.",
  );
  if (found.formats.includes("gptq") || found.formats.includes("awq")) {
    lines.push("GPTQ and AWQ layers hold their packed weights, scales and zeros (and biases) as buffers: sum(p.numel()) leaves them out, get_memory_footprint() counts them.");
  }
  return lines;
}
