// The command as it runs: dist/cli/entry.js and the modules it reaches, bundled into a few files
// (one per lazily loaded command or renderer), dependencies left to node_modules. Node loads ESM
// modules one by one; seventy of them cost ~40 ms of start-up that one file does not (measured:
// a local audit of fixtures/opt-350m 0.20 s → 0.16 s). Tests import dist/ directly.
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/bundle", { recursive: true, force: true }); // chunk names change with their contents

await build({
  // The header parser's worker is loaded by path, beside the chunks: its own entry.
  entryPoints: ["dist/cli/entry.js", "dist/io/header-worker.js"],
  outdir: "dist/bundle",
  entryNames: "[name]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
