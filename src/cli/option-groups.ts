import { Option, type Command } from "commander";
import { ENGINES, KV_DTYPES, OPTIMIZERS, TRAIN_MODES } from "../core/budget/index.js";
import { TORCH_DTYPES } from "../core/format/index.js";
import { EXPERT_LAYOUTS } from "../core/storage/index.js";
import { UNITS } from "../render/units.js";
import { FORMATS, QUANT_STORAGE_CHOICES, TORCH_DTYPE_CHOICES } from "./options.js";

// The options shared by several commands, each under its heading in --help.

export function addSimulationOptions(command: Command): Command {
  return command
    .optionsGroup("Storage scheme:")
    .addOption(new Option("--quant-storage <dtype>", "dtype 4-bit values are packed into (bnb_4bit_quant_storage)").choices(QUANT_STORAGE_CHOICES))
    .addOption(new Option("--torch-dtype <dtype>", "load dtype of unquantized tensors; auto = transformers 5 (config dtype, else checkpoint's)").choices(TORCH_DTYPE_CHOICES))
    .option("--skip-modules <names>", "comma-separated modules kept unquantized; replaces the default (the output head), as llm_int8_skip_modules")
    .addOption(new Option("--experts <layout>", "MoE experts: fused = transformers 5 (3-D parameters, not quantized by bitsandbytes), linear = transformers 4 (nn.Linear each)").choices(EXPERT_LAYOUTS));
}

export function addTrainingOptions(command: Command): Command {
  return command
    .optionsGroup("Fine-tuning (--train):")
    .addOption(new Option("--train <mode>", "fine-tuning memory: full, lora or qlora (lora on nf4 + double quant by default)").choices(TRAIN_MODES))
    .addOption(new Option("--optimizer <name>", "optimizer state (default adamw)").choices(Object.keys(OPTIMIZERS)))
    .option("--mixed-precision", "full: 16-bit weights and gradients plus fp32 master weights")
    .option("--lora-r <r>", "LoRA rank (default 8)")
    .option("--target-modules <names>", "modules to adapt (q_proj,v_proj) or all-linear; default: PEFT's for the model type")
    .addOption(new Option("--adapter-dtype <dtype>", "dtype of the LoRA adapters (default fp32)").choices(Object.keys(TORCH_DTYPES)))
    .option("--no-prepare-kbit", "qlora: skip prepare_model_for_kbit_training's cast of 16-bit parameters to fp32");
}

export function addFitOptions(command: Command): Command {
  return command
    .optionsGroup("Fit (GPU, engine, context):")
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

/** How `error` (and `compare --error`) reads weights. */
export function addSamplingOptions(command: Command): Command {
  return command
    .optionsGroup("Measurement:")
    .option("--sample <size>", "bytes read per tensor, in whole quantization units (default 256KiB)")
    .option("--full", "read every weight: exact figures")
    .option("--tensors <pattern>", "only tensors whose name contains this, or matches it with * wildcards")
    .option("--seed <n>", "sample positions (default 0: runs repeat)")
    .option("--max-bytes <size>", "refuse to read more than this (exit 2)");
}

export function addOutputOptions(command: Command): Command {
  return command
    .optionsGroup("Output:")
    .option("--json", "JSON on stdout (same as --format json)")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS))
    .addOption(new Option("--units <units>", "byte units: iec (KiB, MiB), si (kB, MB) or exact bytes").choices(UNITS))
    .option("--wide", "tables as wide as they need (by default they fit the terminal)")
    .option("--out <file>", "write the output to a file (e.g. --format html --out report.html)");
}

export function addSourceOptions(command: Command): Command {
  return command
    .optionsGroup("Input and Hub:")
    .option("--local", "read the model argument as a local path, never a Hub id")
    .option("--hub", "read the model argument as a Hub id, never a local path")
    .option("--revision <rev>", "Hub branch, tag, commit sha or refs/pr/N", "main")
    .option("--subfolder <dir>", "folder of the Hub repo holding the model (diffusers: unet, text_encoder)")
    .option("--token <token>", "Hub token (default: HF_TOKEN, then the token file under HF_HOME)")
    .option("--offline", "use cached headers only, no network")
    .option("--no-cache", "neither read nor write the header cache")
    .option("--concurrency <n>", "header reads in flight at once", "128")
    .option("--timeout <seconds>", "per-request timeout", "30")
    .option("--quiet", "no progress bar")
    .option("--verbose", "a line for each retried request")
    .option("--debug", "stack traces of errors; request counts of Hub reads");
}
