import { createRequire } from "node:module";
import { Command, CommanderError, Option } from "commander";
import { QauditError, EXIT } from "../core/errors.js";
import { ATTENTION_IMPLEMENTATIONS } from "../core/budget/index.js";
import { ERROR_SCHEMES } from "../core/numerics/index.js";
import { SCHEME_NAMES } from "../core/storage/index.js";
import { cleanText } from "../render/text.js";
import type { RawCompareOptions } from "./compare.js";
import type { RawErrorOptions } from "./error.js";
import type { RawFitOptions } from "./fit-options.js";
import type { CliIo } from "./io.js";
import type { RawSourceOptions } from "./load.js";
import { addFitOptions, addOutputOptions, addSamplingOptions, addSimulationOptions, addSourceOptions, addTrainingOptions } from "./option-groups.js";
import type { RawAuditOptions, RawTrainingOptions } from "./options.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

/** Parses argv, runs the command and returns the exit code; never exits the process itself. */
export async function main(argv: string[], rawIo: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  // Every stderr line passes one filter: no token, no URL credentials, no control character.
  const secrets = new Set(secretsOf(argv, rawIo.env));
  const io: CliIo = { ...rawIo, stderr: (text) => rawIo.stderr(sanitizeStderr(text, secrets)), secret: (value) => void (value.length >= 4 && secrets.add(value)) };
  const program = new Command()
    .name("qaudit")
    .description("Exact parameter counts and memory of a model under fp32/fp16/bf16/int8/fp4/nf4, from safetensors headers only.")
    .version(version)
    .exitOverride()
    // Options after `compare` belong to it, though the audit command has options of the same names.
    .enablePositionalOptions()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .argument("<model>", "a .safetensors file, a header .json, a model folder, or a Hub model id (org/name)")
    .optionsGroup("Storage scheme:")
    .addOption(new Option("--scheme <name>", "storage scheme to simulate (default: the checkpoint as stored)").choices(SCHEME_NAMES))
    .option("--double-quant", "4-bit with double quantization (bnb_4bit_use_double_quant)");
  addSimulationOptions(program);
  program
    .optionsGroup("Output:")
    .option("--all-tensors", "one row per tensor instead of one per repeated block")
    .optionsGroup("CI gates (exit 5 when one fails):")
    .option("--max-memory <size>", "CI gate: total bytes at most (1234567, 5GiB, 4.5GB); exit 5 when over")
    .option("--max-params <n>", "CI gate: sum(p.numel()) at most (7000000000, 7B); exit 5 when over")
    .option("--logical", "--max-params counts logical parameters instead")
    .option("--min-trainable <n>", "CI gate: trainable parameters at least; exit 5 when under");
  addTrainingOptions(program);
  addOutputOptions(program);
  addSourceOptions(program).action(async (model: string, raw: RawAuditOptions & RawSourceOptions & RawTrainingOptions) => {
    // Each command loads its modules when it runs: `--version` and `--help` stay light.
    const { runAudit } = await import("./audit.js");
    exitCode = await runAudit(model, raw, io);
  });
  program.addHelpText(
    "after",
    `
Examples:
  qaudit meta-llama/Llama-3.1-8B --scheme nf4 --double-quant
  qaudit fit ./my-model --scheme nf4 --gpu RTX-4090 --context 32k
  qaudit error ./my-model --scheme nf4 --keep-budget 6GiB
`,
  );

  const compare = program
    .command("compare")
    .description("compare storage schemes (and models) side by side")
    .argument("<models...>", "one or more local paths or Hub model ids")
    .optionsGroup("Comparison:")
    .option("--schemes <list>", "comma-separated: fp32, fp16, bf16, int8, fp4, nf4, fp4+dq, nf4+dq (default fp32,fp16,int8,fp4,nf4,nf4+dq; with --train full fp32,bf16,fp16; with --train qlora nf4+dq,nf4,fp4+dq,fp4)")
    .option("--per-layer", "also each tensor group's bytes under every scheme")
    .option("--max-memory <size>", "mark which schemes fit this total (1234567, 5GiB, 4.5GB)")
    .option("--pick", "print only the best-fidelity scheme that fits --max-memory; exit 5 when none does");
  addSimulationOptions(compare);
  addTrainingOptions(compare);
  addFitOptions(compare);
  compare.optionsGroup("Measurement:").option("--error", "measure each scheme's quantization error on sampled real weights (SQNR column)");
  addSamplingOptions(compare);
  addOutputOptions(compare);
  addSourceOptions(compare).action(async (models: string[], raw: RawCompareOptions & RawSourceOptions & RawTrainingOptions) => {
    const { runCompare } = await import("./compare.js");
    exitCode = await runCompare(models, raw, io);
  });

  const fit = program
    .command("fit")
    .description("will it fit: weights, KV cache, activations and overhead on a GPU, per engine")
    .argument("<model>", "a local path or Hub model id (config.json is required)")
    .optionsGroup("Storage scheme:")
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
    const { runFit } = await import("./fit.js");
    exitCode = await runFit(model, raw, io);
  });

  const error = program
    .command("error")
    .description("measured quantization error of the real weights, per tensor and layer, as bitsandbytes quantizes them")
    .argument("<model>", "a local path or Hub model id (weights are read: a bounded sample by default)")
    .optionsGroup("Measurement:")
    .addOption(new Option("--scheme <name>", "scheme to measure").choices(ERROR_SCHEMES))
    .option("--double-quant", "4-bit with double quantization")
    .option("--keep-budget <size>", "which modules to keep unquantized (worst error per byte first) so the model fits this total");
  addSamplingOptions(error);
  addSimulationOptions(error);
  addOutputOptions(error);
  addSourceOptions(error).action(async (model: string, raw: RawErrorOptions & RawSourceOptions) => {
    const { runError } = await import("./error.js");
    exitCode = await runError(model, raw, io);
  });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, io, argv.includes("--debug"));
  }
  return exitCode;
}






/** One line on stderr, the error's own exit code; a stack only with --debug. Tokens never appear. */
/** `io.stderr` is main's filtered stream: tokens, credentials and control characters never pass it. */
export function reportError(error: unknown, io: CliIo, debug: boolean): number {
  const write = (text: string): void => io.stderr(text);
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

function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[token]");
  // user:password@ in any URL (HF_ENDPOINT, a redirect) is never printed.
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1[credentials]@");
}

/** Redacted, and each line's control characters escaped (a header's names reach warnings). */
export function sanitizeStderr(text: string, secrets: Iterable<string>): string {
  return redact(text, secrets)
    .split("\n")
    .map((line) => cleanText(line))
    .join("\n");
}
