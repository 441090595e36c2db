import { createRequire } from "node:module";
import { Command, CommanderError, Option } from "commander";
import { QauditError, EXIT } from "../core/errors.js";
import { EXPERT_LAYOUTS, SCHEME_NAMES } from "../core/storage/index.js";
import { UNITS } from "../render/units.js";
import { runAudit } from "./audit.js";
import { runCompare, type RawCompareOptions } from "./compare.js";
import type { CliIo } from "./io.js";
import type { RawSourceOptions } from "./load.js";
import { FORMATS, QUANT_STORAGE_CHOICES, TORCH_DTYPE_CHOICES, type RawAuditOptions, type RawTrainingOptions } from "./options.js";
import { ATTENTION_IMPLEMENTATIONS, ENGINES, KV_DTYPES, OPTIMIZERS, TRAIN_MODES } from "../core/budget/index.js";
import { runFit } from "./fit.js";
import { runError, type RawErrorOptions } from "./error.js";
import { ERROR_SCHEMES } from "../core/numerics/index.js";
import type { RawFitOptions } from "./fit-options.js";
import { TORCH_DTYPES } from "../core/format/index.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

/** Parses argv, runs the command and returns the exit code; never exits the process itself. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command()
    .name("qaudit")
    .description("Exact parameter counts and memory of a model under fp32/fp16/bf16/int8/fp4/nf4, from safetensors headers only.")
    .version(version)
    .exitOverride()
    // Options after `compare` belong to it, though the audit command has options of the same names.
    .enablePositionalOptions()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .argument("<model>", "a .safetensors file, a header .json, a model folder, or a Hub model id (org/name)")
    .addOption(new Option("--scheme <name>", "storage scheme to simulate (default: the checkpoint as stored)").choices(SCHEME_NAMES))
    .option("--double-quant", "4-bit with double quantization (bnb_4bit_use_double_quant)");
  addSimulationOptions(program);
  program
    .option("--all-tensors", "one row per tensor instead of one per repeated block")
    .option("--max-memory <size>", "CI gate: total bytes at most (1234567, 5GiB, 4.5GB); exit 5 when over")
    .option("--max-params <n>", "CI gate: sum(p.numel()) at most (7000000000, 7B); exit 5 when over")
    .option("--logical", "--max-params counts logical parameters instead")
    .option("--min-trainable <n>", "CI gate: trainable parameters at least; exit 5 when under");
  addTrainingOptions(program);
  addOutputOptions(program);
  addSourceOptions(program).action(async (model: string, raw: RawAuditOptions & RawSourceOptions & RawTrainingOptions) => {
    exitCode = await runAudit(model, raw, io);
  });

  const compare = program
    .command("compare")
    .description("compare storage schemes (and models) side by side")
    .argument("<models...>", "one or more local paths or Hub model ids")
    .option("--schemes <list>", "comma-separated: fp32, fp16, bf16, int8, fp4, nf4, fp4+dq, nf4+dq (default fp32,fp16,int8,fp4,nf4,nf4+dq; with --train full fp32,bf16,fp16; with --train qlora nf4+dq,nf4,fp4+dq,fp4)")
    .option("--per-layer", "also each tensor group's bytes under every scheme")
    .option("--max-memory <size>", "mark which schemes fit this total (1234567, 5GiB, 4.5GB)")
    .option("--pick", "print only the best-fidelity scheme that fits --max-memory; exit 5 when none does");
  addSimulationOptions(compare);
  addTrainingOptions(compare);
  addFitOptions(compare);
  compare
    .option("--error", "measure each scheme's quantization error on sampled real weights (SQNR column)")
    .option("--sample <size>", "--error: bytes read per tensor (default 256KiB)")
    .option("--full", "--error: read every weight")
    .option("--tensors <pattern>", "--error: only these tensors (substring, or * wildcards)")
    .option("--seed <n>", "--error: sample positions (default 0)")
    .option("--max-bytes <size>", "--error: refuse to read more than this per scheme");
  addOutputOptions(compare);
  addSourceOptions(compare).action(async (models: string[], raw: RawCompareOptions & RawSourceOptions & RawTrainingOptions) => {
    exitCode = await runCompare(models, raw, io);
  });

  const fit = program
    .command("fit")
    .description("will it fit: weights, KV cache, activations and overhead on a GPU, per engine")
    .argument("<model>", "a local path or Hub model id (config.json is required)")
    .addOption(new Option("--scheme <name>", "storage scheme to simulate (default: the checkpoint as stored)").choices(SCHEME_NAMES))
    .option("--double-quant", "4-bit with double quantization (bnb_4bit_use_double_quant)");
  addSimulationOptions(fit);
  addFitOptions(fit);
  fit.option("--max-memory <size>", "CI gate: the fit total at most (5GiB, 4.5GB); exit 5 when over");
  addTrainingOptions(fit);
  fit
    .addOption(new Option("--attention <impl>", "attention implementation: eager materialises scores (default sdpa)").choices(ATTENTION_IMPLEMENTATIONS))
    .option("--gradient-checkpointing", "--train: recompute activations in backward")
    .option("--explain", "print the KV-cache arithmetic with this model's numbers");
  addOutputOptions(fit);
  addSourceOptions(fit).action(async (model: string, raw: RawAuditOptions & RawSourceOptions & RawTrainingOptions & RawFitOptions) => {
    exitCode = await runFit(model, raw, io);
  });

  const error = program
    .command("error")
    .description("measured quantization error of the real weights, per tensor and layer, as bitsandbytes quantizes them")
    .argument("<model>", "a local path or Hub model id (weights are read: a bounded sample by default)")
    .addOption(new Option("--scheme <name>", "scheme to measure").choices(ERROR_SCHEMES))
    .option("--double-quant", "4-bit with double quantization")
    .option("--sample <size>", "bytes read per tensor, in whole quantization units (default 256KiB)")
    .option("--full", "read every weight: exact figures")
    .option("--tensors <pattern>", "only tensors whose name contains this, or matches it with * wildcards")
    .option("--seed <n>", "sample positions (default 0: runs repeat)")
    .option("--max-bytes <size>", "refuse to read more than this (exit 2)")
    .option("--keep-budget <size>", "which modules to keep unquantized (worst error per byte first) so the model fits this total");
  addSimulationOptions(error);
  addOutputOptions(error);
  addSourceOptions(error).action(async (model: string, raw: RawErrorOptions & RawSourceOptions) => {
    exitCode = await runError(model, raw, io);
  });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, io, argv.includes("--debug"), secretsOf(argv, io.env));
  }
  return exitCode;
}

function addSimulationOptions(command: Command): Command {
  return command
    .addOption(new Option("--quant-storage <dtype>", "dtype 4-bit values are packed into (bnb_4bit_quant_storage)").choices(QUANT_STORAGE_CHOICES))
    .addOption(new Option("--torch-dtype <dtype>", "load dtype of unquantized tensors; auto = transformers 5 (config dtype, else checkpoint's)").choices(TORCH_DTYPE_CHOICES))
    .option("--skip-modules <names>", "comma-separated modules kept unquantized; replaces the default (the output head), as llm_int8_skip_modules")
    .addOption(new Option("--experts <layout>", "MoE experts: fused = transformers 5 (3-D parameters, not quantized by bitsandbytes), linear = transformers 4 (nn.Linear each)").choices(EXPERT_LAYOUTS));
}

function addTrainingOptions(command: Command): Command {
  return command
    .addOption(new Option("--train <mode>", "fine-tuning memory: full, lora or qlora (lora on nf4 + double quant by default)").choices(TRAIN_MODES))
    .addOption(new Option("--optimizer <name>", "optimizer state (default adamw)").choices(Object.keys(OPTIMIZERS)))
    .option("--mixed-precision", "full: 16-bit weights and gradients plus fp32 master weights")
    .option("--lora-r <r>", "LoRA rank (default 8)")
    .option("--target-modules <names>", "modules to adapt (q_proj,v_proj) or all-linear; default: PEFT's for the model type")
    .addOption(new Option("--adapter-dtype <dtype>", "dtype of the LoRA adapters (default fp32)").choices(Object.keys(TORCH_DTYPES)))
    .option("--no-prepare-kbit", "qlora: skip prepare_model_for_kbit_training's cast of 16-bit parameters to fp32");
}

function addFitOptions(command: Command): Command {
  return command
    .addOption(new Option("--engine <name>", "inference engine whose cache layout to use (default transformers)").choices(ENGINES))
    .option("--context <tokens>", "tokens per sequence (8192, 32k); default: the model's maximum from config.json")
    .option("--batch <n>", "concurrent sequences (batch size, vLLM max_num_seqs, llama.cpp --parallel); default 1")
    .option("--kv-dtype <type>", `cache element type: ${KV_DTYPES.join(", ")}; llama.cpp takes K,V (q8_0,q4_0)`)
    .option("--tp <n>", "tensor-parallel GPUs (vllm, llama.cpp)")
    .option("--gpu <name|size>", "a GPU from the catalogue (H100, RTX-4090, …) or a size (24GiB)")
    .option("--gpu-util <fraction>", "vllm: gpu_memory_utilization (default 0.9)")
    .option("--kv-cache-memory <size>", "vllm: the KV pool as given (kv_cache_memory_bytes), skipping the estimate")
    .option("--block-size <tokens>", "vllm: tokens per KV block (default 16)")
    .option("--max-batched-tokens <n>", "vllm: max_num_batched_tokens (default 8192, 16384 on ≥ 70 GiB GPUs but A100)")
    .option("--ubatch <n>", "llama.cpp: physical batch (default 512)")
    .option("--swa-full", "llama.cpp: full-size cache for sliding-window layers")
    .option("--kv-unified", "llama.cpp: one cache shared by all sequences (llama-server's default with 4 slots)");
}

function addOutputOptions(command: Command): Command {
  return command
    .option("--json", "JSON on stdout (same as --format json)")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS))
    .addOption(new Option("--units <units>", "byte units: iec (KiB, MiB), si (kB, MB) or exact bytes").choices(UNITS))
    .option("--wide", "tables as wide as they need (by default they fit the terminal)");
}

function addSourceOptions(command: Command): Command {
  return command
    .option("--revision <rev>", "Hub branch, tag, commit sha or refs/pr/N", "main")
    .option("--subfolder <dir>", "folder of the Hub repo holding the model (diffusers: unet, text_encoder)")
    .option("--token <token>", "Hub token (default: HF_TOKEN, then the token file under HF_HOME)")
    .option("--offline", "use cached headers only, no network")
    .option("--no-cache", "neither read nor write the header cache")
    .option("--concurrency <n>", "header reads in flight at once", "32")
    .option("--timeout <seconds>", "per-request timeout", "30")
    .option("--quiet", "no progress bar or retry notices")
    .option("--debug", "stack traces of errors; request counts of Hub reads");
}

/** One line on stderr, the error's own exit code; a stack only with --debug. Tokens never appear. */
export function reportError(error: unknown, io: CliIo, debug: boolean, secrets: string[]): number {
  const write = (text: string): void => io.stderr(redact(text, secrets));
  if (error instanceof QauditError) {
    write(`qaudit: ${error.message}\n`);
    if (debug && error.stack !== undefined) write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  write(`qaudit: internal error: ${message}${debug ? "" : " (rerun with --debug for details)"}\n`);
  if (debug && error instanceof Error && error.stack !== undefined) write(`${error.stack}\n`);
  return 1;
}

/** Tokens the process knows of: --token's value and HF_TOKEN. (The token file's content is never put in a message.) */
function secretsOf(argv: string[], env: Record<string, string | undefined>): string[] {
  const secrets: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === "--token" && argv[i + 1] !== undefined) secrets.push(argv[i + 1]!);
    if (arg.startsWith("--token=")) secrets.push(arg.slice("--token=".length));
  });
  if (env.HF_TOKEN !== undefined) secrets.push(env.HF_TOKEN);
  return secrets.filter((s) => s.length >= 4);
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join("[token]"), text);
}
