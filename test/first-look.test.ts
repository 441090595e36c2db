// The first look: every line of the human formats fits the terminal, at 80, 100, 120 and 200
// columns; README links resolve inside the repo.
import { existsSync, readFileSync } from "node:fs";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { runMain } from "./run-main.js";

const COMMANDS: string[][] = [
  ["fixtures/opt-350m", "--scheme", "nf4"],
  ["fixtures/opt-350m", "--all-tensors", "--scheme", "int8"],
  ["fixtures/falcon-7b-ft", "--train", "qlora"],
  ["fixtures/gpt2", "--scheme", "fp4", "--double-quant"],
  ["fixtures/prequantized/llama-2-7b-gptq"],
  ["fixtures/prequantized/gpt-oss-20b-mxfp4-layer"],
  ["compare", "fixtures/opt-350m"],
  ["compare", "fixtures/opt-350m", "fixtures/gpt2", "--schemes", "bf16,nf4", "--per-layer"],
  ["compare", "fixtures/opt-350m", "--gpu", "T4", "--context", "2k", "--train", "lora"],
  ["fit", "fixtures/opt-350m", "--gpu", "T4", "--explain"],
  ["fit", "fixtures/falcon-7b-ft", "--scheme", "nf4", "--engine", "vllm", "--gpu", "L4", "--context", "2k", "--explain"],
  ["fit", "fixtures/tiny-llama", "--engine", "llama.cpp", "--context", "100", "--explain"],
];

describe.each([80, 100, 120, 200])("%i columns", (columns) => {
  it.each(COMMANDS.map((c) => [c.join(" "), c]))("%s", async (_label, args) => {
    const r = await runMain(args as string[], {}, columns);
    expect(r.code, r.stderr).toBe(0);
    const wide = r.stdout.split("\n").filter((line) => stringWidth(line) > columns);
    expect(wide, wide.join("\n")).toEqual([]);
  });
});

describe("--wide and pipes keep every column", () => {
  it("the 80-column table leaves columns out and says so; --wide does not", async () => {
    const narrow = await runMain(["fixtures/opt-350m", "--scheme", "nf4"], {}, 80);
    expect(narrow.stdout).toMatch(/fitted to 80 columns:[\s\S]*--wide shows all/);
    expect(narrow.stdout).not.toMatch(/│ quant state │/);
    const wide = await runMain(["fixtures/opt-350m", "--scheme", "nf4", "--wide"], {}, 80);
    expect(wide.stdout).toMatch(/│ quant state │/);
    expect(wide.stdout).not.toMatch(/fitted to/);
  });
  it("repeated blocks keep the part of their names that tells them apart", async () => {
    const r = await runMain(["fixtures/opt-350m", "--scheme", "nf4"], {}, 80);
    for (const leaf of ["self_attn.k_proj.weight", "final_layer_norm.bias", "self_attn.q_proj.bias"]) expect(r.stdout).toContain(leaf);
  });
});

describe("README", () => {
  it("every relative link resolves inside the repo; nothing points at ../shared", () => {
    const text = readFileSync("README.md", "utf8");
    expect(text).not.toMatch(/\.\.\/shared/);
    const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(existsSync(link), link).toBe(true);
  });
});
