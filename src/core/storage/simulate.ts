import { classifyEach, type ClassifiedTensor } from "./classify.js";
import { bytesOf, isFloatingDtype, TORCH_DTYPES, TORCH_NAME, torchDtypeOf, type Dtype, type TorchDtype } from "../format/index.js";
import { explainPrequantized, explainReport } from "./explain.js";
import { detectPrequantized, type PackedWeight, type Prequantized } from "./prequantized.js";
import { isQuantizingScheme, PLAIN_SCHEME_DTYPE, quantizedLayout } from "./schemes.js";
import type { Checkpoint } from "../format/index.js";
import type { SimulationOptions } from "./schemes.js";
import type { TensorInfo } from "../format/index.js";
import type { StorageReport, TensorReport, Totals } from "./storage-report.js";

/**
 * Simulates how a checkpoint is held in memory after `from_pretrained` under a storage scheme
 * (spec §2–§5) and returns the report every renderer draws from.
 */
export function simulateScheme(original: Checkpoint, options: SimulationOptions): StorageReport {
  // A checkpoint saved already quantized is audited as it is, or re-simulated from its logical shapes.
  // Under a scheme, packed weights are restored as they are found (no list of them is kept).
  const restorer = options.scheme === null ? undefined : new Restorer(original);
  const prequantized = detectPrequantized(original, restorer?.add);
  const packed = prequantized.count > 0;
  const asStored = packed && restorer === undefined;
  const checkpoint = !packed ? original : restorer === undefined ? withoutFolded(original, prequantized) : restorer.checkpoint(prequantized);
  const loadDtype = resolveLoadDtype(checkpoint, options);
  const skip = options.skipModules;
  const warnings: string[] = [...prequantized.warnings];
  // Each tensor's row is made as soon as it is classified (no list of classified entries is held);
  // the few a later mark changes (routers, a tied head) are made again.
  const tensors: TensorReport[] = [];
  const unmatched = skip === null ? [] : [...skip];
  const { finish } = classifyEach(checkpoint, (entry) => {
    for (let k = unmatched.length - 1; k >= 0; k--) if (matchesModule(unmatched[k]!, entry.module)) unmatched.splice(k, 1);
    tensors.push(simulateTensor(entry, options, loadDtype, isSkipped(entry, skip)));
  });
  finish((entry, index) => {
    tensors[index] = simulateTensor(entry, options, loadDtype, isSkipped(entry, skip));
  });
  for (const name of skip ?? []) if (unmatched.includes(name)) warnings.push(`--skip-modules: ${JSON.stringify(name)} matches no module`);
  if (asStored) {
    for (const t of tensors) {
      if (prequantized.bufferBiases.has(t.name)) {
        t.kind = "buffer";
        t.trainable = false;
      }
    }
    tensors.push(...prequantized.weights.map(packedRow));
  }
  const totals = sumTotals(tensors);
  const report: StorageReport = {
    model: { source: original.source, files: original.files.map((f) => f.name), tensorCount: original.files.reduce((n, f) => n + f.header.tensors.length, 0) },
    scheme: {
      name: options.scheme ?? "stored",
      doubleQuant: options.doubleQuant,
      torchDtype: loadDtype === null ? "stored" : TORCH_NAME[loadDtype],
      quantStorage: options.quantStorage,
    },
    tensors,
    totals,
    explanation: [],
    warnings,
  };
  if (packed) {
    report.sourceQuantization = { summary: prequantized.summary, packedWeights: prequantized.count, formats: prequantized.formats };
  }
  report.explanation = packed ? explainPrequantized(report, asStored) : explainReport(report);
  return report;
}

/** A packed weight as it is held after loading the checkpoint as it is: one row, statistics folded in. */
function packedRow(w: PackedWeight): TensorReport {
  return {
    name: w.name,
    // MXFP4's expert blocks, or a GPTQ/bnb checkpoint's per-expert weights, are experts.
    kind: /(^|\.)experts(\.|$)/.test(w.module) ? "expert" : "linear",
    quantized: true,
    originalShape: w.packed.shape,
    originalDtype: w.packed.dtype,
    storedShape: w.packed.shape,
    storedDtype: TORCH_NAME[w.packed.dtype],
    logicalElements: w.logicalElements,
    storedElements: w.storedElements,
    trainable: false,
    parameterBytes: w.parameterBytes,
    quantStateBytes: w.quantStateBytes,
    file: w.file,
    format: w.format,
    logicalShape: w.logicalShape,
    statistics: w.statistics.map((t) => t.name),
    statisticsBytes: w.statisticsBytes,
  };
}

/** The checkpoint with every packed weight at its logical shape (itself when nothing is packed). */
export function logicalCheckpoint(checkpoint: Checkpoint): Checkpoint {
  const restorer = new Restorer(checkpoint);
  const prequantized = detectPrequantized(checkpoint, restorer.add);
  return prequantized.count === 0 ? checkpoint : restorer.checkpoint(prequantized);
}

/** The checkpoint without the tensors folded into packed weights. */
function withoutFolded(checkpoint: Checkpoint, prequantized: Prequantized): Checkpoint {
  return { ...checkpoint, files: checkpoint.files.map((file, i) => ({ ...file, header: { ...file.header, tensors: prequantized.kept[i]! } })) };
}

/**
 * The checkpoint as if it had been saved unquantized: each packed weight, as detection finds it,
 * becomes one tensor of its logical shape in the config's dtype (bfloat16 without one), its
 * statistics gone. Grouped by file: a 163-shard checkpoint holds tens of thousands of packed weights.
 */
class Restorer {
  private readonly dtype: Dtype;
  private readonly restored = new Map<string, TensorInfo[]>();

  constructor(private readonly original: Checkpoint) {
    this.dtype = original.config?.dtype === undefined ? "BF16" : TORCH_DTYPES[original.config.dtype].dtype;
  }

  readonly add = (w: PackedWeight): void => {
    const shape = w.logicalShape ?? [1, w.logicalElements];
    // bitsandbytes' and FP8's packed tensor already has the weight's name: the same string, not a copy.
    const name = w.format === "mxfp4" ? w.module : isWeightOf(w.name, w.module) ? w.name : `${w.module}.weight`;
    // A restored weight has no bytes of its own in any file.
    const tensor: TensorInfo = { name, dtype: this.dtype, shape, dataStart: 0, elements: w.logicalElements };
    const list = this.restored.get(w.file);
    if (list === undefined) this.restored.set(w.file, [tensor]);
    else list.push(tensor);
  };

  /** Each file's kept tensors, then the weights restored from it. */
  checkpoint(prequantized: Prequantized): Checkpoint {
    const files = this.original.files.map((file, i) => ({ ...file, header: { ...file.header, tensors: prequantized.kept[i]!.concat(this.restored.get(file.name) ?? []) } }));
    return { ...this.original, files };
  }
}

/** `name` is `module` + ".weight". */
function isWeightOf(name: string, module: string): boolean {
  return name.length === module.length + ".weight".length && name.endsWith(".weight") && name.startsWith(module);
}

/**
 * The dtype unquantized floating tensors are loaded in, or null to keep each tensor's own.
 * "auto" is transformers 5's default: config.json's dtype, else the checkpoint's first floating dtype
 * (the first file's tensors in sorted name order, the order `safe_open().keys()` yields).
 */
export function resolveLoadDtype(checkpoint: Checkpoint, options: SimulationOptions): Dtype | null {
  const { scheme, torchDtype } = options;
  if (scheme === "fp32" || scheme === "fp16" || scheme === "bf16") return PLAIN_SCHEME_DTYPE[scheme];
  if (torchDtype !== "auto") return TORCH_DTYPES[torchDtype].dtype;
  if (scheme === null) return null; // as stored
  const fromConfig: TorchDtype | undefined = checkpoint.config?.dtype;
  if (fromConfig !== undefined) return TORCH_DTYPES[fromConfig].dtype;
  let first: TensorInfo | undefined;
  for (const t of checkpoint.files[0]?.header.tensors ?? []) {
    if (isFloatingDtype(t.dtype) && (first === undefined || t.name < first.name)) first = t;
  }
  // A dtype PyTorch cannot load as a model dtype (FP8) leaves each tensor its own.
  return first !== undefined && torchDtypeOf(first.dtype) !== undefined ? first.dtype : null;
}

function simulateTensor(entry: ClassifiedTensor, options: SimulationOptions, loadDtype: Dtype | null, skipped: boolean): TensorReport {
  const { tensor, kind, tiedTo } = entry;
  const scheme = options.scheme;
  const quantizable = kind === "linear" || ((kind === "expert" || kind === "router") && options.experts === "linear") || (kind === "output-head" && options.skipModules !== null);
  if (tiedTo === undefined && scheme !== null && isQuantizingScheme(scheme) && quantizable && !skipped) {
    const n = tensor.elements;
    // Conv1D stores [in, out]; bitsandbytes' replacement holds it as nn.Linear's [out, in].
    const out = entry.conv1d ? tensor.shape[1]! : tensor.shape[0]!;
    const layout = quantizedLayout(scheme, out, n, options.doubleQuant, options.quantStorage);
    // Params4bit and Int8Params are created with requires_grad=False.
    return tensorReport(entry, true, layout.storedShape, layout.storedDtype, n, layout.storedElements, false, layout.parameterBytes, layout.quantStateBytes);
  }
  const dtype = castDtype(tensor.dtype, loadDtype);
  if (tiedTo !== undefined) {
    const tied = tensorReport(entry, false, tensor.shape, TORCH_NAME[dtype], 0, 0, false, 0, 0);
    tied.tiedTo = tiedTo;
    return tied;
  }
  // Only floating parameters can require grad; buffers never do.
  const trainable = kind !== "buffer" && isFloatingDtype(dtype);
  return tensorReport(entry, false, tensor.shape, TORCH_NAME[dtype], tensor.elements, tensor.elements, trainable, bytesOf(tensor.elements, dtype), 0);
}

// One object literal, fields always in the same order: 100,000 reports stay one hidden class.
function tensorReport(
  entry: ClassifiedTensor,
  quantized: boolean,
  storedShape: readonly number[],
  storedDtype: string,
  logicalElements: number,
  storedElements: number,
  trainable: boolean,
  parameterBytes: number,
  quantStateBytes: number,
): TensorReport {
  const { tensor } = entry;
  return {
    name: tensor.name,
    kind: entry.kind,
    quantized,
    originalShape: tensor.shape,
    originalDtype: tensor.dtype,
    storedShape,
    storedDtype,
    logicalElements,
    storedElements,
    trainable,
    parameterBytes,
    quantStateBytes,
    file: entry.file,
  };
}

/** A load dtype applies to floating tensors only; integer and bool tensors keep theirs. */
function castDtype(dtype: Dtype, loadDtype: Dtype | null): Dtype {
  return loadDtype !== null && isFloatingDtype(dtype) ? loadDtype : dtype;
}

function isSkipped(entry: ClassifiedTensor, skip: string[] | null): boolean {
  if (skip === null) return entry.kind === "output-head";
  return skip.some((name) => matchesModule(name, entry.module));
}

/**
 * `llm_int8_skip_modules` matching as transformers 5's `should_convert_module` does it: the name,
 * read as a regular expression, matches at the start of the module name (so it may equal it or be a
 * prefix of it: "model.layers.1" also reaches layers 10–19, as it does there), or the module name
 * ends with it. A name that is not a valid regular expression is matched literally.
 *
 * Module names come from a downloaded header: the work per name is bounded. A literal prefix or
 * suffix is tried first; the regular expression runs only on names up to MAX_PATTERN_SUBJECT
 * characters; and patterns that repeat a group (the shapes that backtrack exponentially, `(a+)+`,
 * `(a|a)*`) are refused when the options are read (`unsafeSkipPattern`).
 */
export function matchesModule(name: string, module: string): boolean {
  if (module.endsWith(name) || module.startsWith(name)) return true;
  return module.length <= MAX_PATTERN_SUBJECT && startPattern(name).test(module);
}

export const MAX_PATTERN_SUBJECT = 1000;

/** Why a --skip-modules pattern is refused, or null: a quantified group can backtrack exponentially. */
export function unsafeSkipPattern(name: string): string | null {
  if (name.length > 200) return "longer than 200 characters";
  if (/\)\s*[*+?{]/.test(name)) return "it repeats a group ((…)+, (…)*, (…){n}), which can take exponential time on hostile names";
  if (/\\[1-9]/.test(name)) return "it uses a back-reference";
  return null;
}

const patterns = new Map<string, RegExp>();
function startPattern(name: string): RegExp {
  let pattern = patterns.get(name);
  if (pattern === undefined) {
    try {
      pattern = new RegExp(`^(?:${name})`);
    } catch {
      pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
    }
    patterns.set(name, pattern);
  }
  return pattern;
}

/** Totals as PyTorch reports them: buffers count in the footprint but are not parameters. */
export function sumTotals(tensors: TensorReport[]): Totals {
  const totals: Totals = {
    logicalParameters: 0,
    reportedParameters: 0,
    trainableParameters: 0,
    parameterBytes: 0,
    quantStateBytes: 0,
    totalBytes: 0,
  };
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    totals.parameterBytes += t.parameterBytes;
    totals.quantStateBytes += t.quantStateBytes;
    if (t.kind === "buffer") continue;
    totals.logicalParameters += t.logicalElements;
    totals.reportedParameters += t.storedElements;
    if (t.trainable) totals.trainableParameters += t.storedElements;
  }
  totals.totalBytes = totals.parameterBytes + totals.quantStateBytes;
  return totals;
}
