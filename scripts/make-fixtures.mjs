// Regenerates fixtures/: header-only checkpoints of public architectures (no weights).
// Usage: node scripts/make-fixtures.mjs [outDir]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { falcon7bFt, gpt2, gptOssMxfp4Layer, llama1bBnb4, llama1bFp8, llama2_7bGptq, opt350m, opt350mInt8, tinyLlama, tinyLlamaBnb4 } from "./models.mjs";
import { encodeHeaderOnly, encodeWithData, headerJson } from "./safetensors-writer.mjs";

const out = process.argv[2] ?? "fixtures";

function writeModel(dir, { config, tensors, blobs }, shards = 1) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  if (shards === 1) {
    // With blobs: a complete file whose data region is zeros but for those tensors' contents.
    writeFileSync(join(dir, "model.safetensors"), blobs === undefined ? encodeHeaderOnly(tensors) : encodeWithData(tensors, blobs));
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
writeModel(join(out, "prequantized/llama-3.2-1b-bnb-nf4-dq"), llama1bBnb4());
writeModel(join(out, "prequantized/tiny-llama-bnb-nf4"), tinyLlamaBnb4());
writeModel(join(out, "prequantized/opt-350m-int8"), opt350mInt8());
writeModel(join(out, "prequantized/llama-2-7b-gptq"), llama2_7bGptq());
writeModel(join(out, "prequantized/llama-3.2-1b-fp8"), llama1bFp8());
writeModel(join(out, "prequantized/gpt-oss-20b-mxfp4-layer"), gptOssMxfp4Layer());
console.log(`fixtures written to ${out}/`);
