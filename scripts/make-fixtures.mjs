// Regenerates fixtures/: header-only checkpoints of public architectures (no weights).
// Usage: node scripts/make-fixtures.mjs [outDir]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { falcon7bFt, gpt2, opt350m, tinyLlama } from "./models.mjs";
import { encodeHeaderOnly, headerJson } from "./safetensors-writer.mjs";

const out = process.argv[2] ?? "fixtures";

function writeModel(dir, { config, tensors }, shards = 1) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  if (shards === 1) {
    writeFileSync(join(dir, "model.safetensors"), encodeHeaderOnly(tensors));
    return;
  }
  const weightMap = {};
  let totalSize = 0;
  const per = Math.ceil(tensors.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    const header = headerJson(part);
    for (const [name] of part) weightMap[name] = file;
    for (const [name, entry] of Object.entries(header)) if (name !== "__metadata__") totalSize += entry.data_offsets[1] - entry.data_offsets[0];
    writeFileSync(join(dir, file), encodeHeaderOnly(part));
  }
  const index = { metadata: { total_size: totalSize }, weight_map: Object.fromEntries(Object.entries(weightMap).sort()) };
  writeFileSync(join(dir, "model.safetensors.index.json"), `${JSON.stringify(index, null, 2)}\n`);
}

writeModel(join(out, "opt-350m"), opt350m());
writeModel(join(out, "falcon-7b-ft"), falcon7bFt(), 2);
writeModel(join(out, "gpt2"), gpt2());
writeModel(join(out, "tiny-llama"), tinyLlama());
console.log(`fixtures written to ${out}/`);
