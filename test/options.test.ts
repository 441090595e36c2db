// argv-level flags → typed options, table-driven (no IO): what each flag combination means, or why it is refused.
import { describe, expect, it } from "vitest";
import { toGates, toOutputOptions, toSimulationOptions, toTrainingOptions } from "../src/cli/options.js";
import { UsageError } from "../src/core/errors.js";

describe("simulation options", () => {
  it.each([
    [{}, { scheme: null, doubleQuant: false, quantStorage: "uint8", torchDtype: "auto", skipModules: null, experts: "fused" }],
    [{ scheme: "nf4", doubleQuant: true }, { scheme: "nf4", doubleQuant: true, quantStorage: "uint8", torchDtype: "auto", skipModules: null, experts: "fused" }],
    [{ scheme: "fp4", quantStorage: "bfloat16", torchDtype: "fp16" }, { scheme: "fp4", doubleQuant: false, quantStorage: "bfloat16", torchDtype: "fp16", skipModules: null, experts: "fused" }],
    [{ scheme: "int8", skipModules: "lm_head, model.layers.0 ," }, { scheme: "int8", doubleQuant: false, quantStorage: "uint8", torchDtype: "auto", skipModules: ["lm_head", "model.layers.0"], experts: "fused" }],
  ])("%j", (raw, expected) => expect(toSimulationOptions(raw)).toEqual(expected));

  it.each([
    [{ scheme: "int8", doubleQuant: true }, /--double-quant applies to the 4-bit schemes only/],
    [{ doubleQuant: true }, /--double-quant applies to the 4-bit schemes only/],
    [{ scheme: "bf16", quantStorage: "uint8" }, /--quant-storage applies to the 4-bit schemes only/],
    [{ scheme: "nf4", quantStorage: "int4" }, /--quant-storage "int4" is not one of: uint8, int8, float16, bfloat16, float32/],
    [{ scheme: "int4" }, /--scheme "int4" is not one of/],
    [{ skipModules: " , " }, /--skip-modules needs at least one module name/],
    [{ experts: "grouped" }, /--experts "grouped" is not one of: fused, linear/],
  ])("refuses %j", (raw, message) => {
    expect(() => toSimulationOptions(raw)).toThrowError(UsageError);
    expect(() => toSimulationOptions(raw)).toThrowError(message);
  });
});

describe("output options and gates", () => {
  it.each([
    [{}, { format: "table", units: "iec", allTensors: false, wide: false, out: null }],
    [{ json: true }, { format: "json", units: "iec", allTensors: false, wide: false, out: null }],
    [{ json: true, format: "json", units: "bytes", allTensors: true }, { format: "json", units: "bytes", allTensors: true, wide: false, out: null }],
    [{ format: "csv", units: "si" }, { format: "csv", units: "si", allTensors: false, wide: false, out: null }],
  ])("%j", (raw, expected) => expect(toOutputOptions(raw)).toEqual(expected));
  it("--json with another --format is a contradiction", () => expect(() => toOutputOptions({ json: true, format: "csv" })).toThrowError(/--json and --format csv disagree/));
  it("gates", () => {
    expect(toGates({ maxMemory: "5GiB", maxParams: "7B", logical: true, minTrainable: "1,000" })).toEqual({ maxMemory: 5 * 2 ** 30, maxParams: 7e9, logical: true, minTrainable: 1000 });
    expect(() => toGates({ logical: true })).toThrowError(/--logical goes with --max-params/);
  });
});

describe("training options", () => {
  it.each([
    [{}, undefined],
    [{ train: "qlora" }, { mode: "qlora", optimizer: "adamw", mixedPrecision: false, loraR: 8, adapterDtype: "fp32", prepareKbit: true }],
    [
      { train: "lora", loraR: "16", targetModules: "q_proj,v_proj", optimizer: "paged-adamw-8bit", adapterDtype: "bf16", prepareKbit: false },
      { mode: "lora", optimizer: "paged-adamw-8bit", mixedPrecision: false, loraR: 16, targetModules: ["q_proj", "v_proj"], adapterDtype: "bf16", prepareKbit: false },
    ],
    [{ train: "lora", targetModules: "all-linear" }, { mode: "lora", optimizer: "adamw", mixedPrecision: false, loraR: 8, targetModules: "all-linear", adapterDtype: "fp32", prepareKbit: true }],
    [{ train: "full", mixedPrecision: true }, { mode: "full", optimizer: "adamw", mixedPrecision: true, loraR: 8, adapterDtype: "fp32", prepareKbit: true }],
  ])("%j", (raw, expected) => expect(toTrainingOptions(raw)).toEqual(expected));
  it.each([
    [{ train: "full", loraR: "8" }, /go with --train lora or qlora/],
    [{ loraR: "8" }, /--lora-r goes with --train/],
    [{ train: "lora", loraR: "1.5" }, /--lora-r takes a whole number/],
    [{ train: "dpo" }, /--train "dpo" is not one of: full, lora, qlora/],
    [{ train: "lora", optimizer: "adam" }, /--optimizer "adam" is not one of: adamw, adamw-8bit, paged-adamw-8bit, sgd, sgd-momentum/],
  ])("refuses %j", (raw, message) => expect(() => toTrainingOptions(raw)).toThrowError(message));
});
