// Hostile local inputs for the hardening tests: each case is a file set written into a fresh folder,
// the qaudit arguments to run on it, and what must happen (exit code, a message). Generated here so
// the cases can be read, extended and regenerated; nothing is committed but this script.
import { encodeHeaderOnly, encodeSafetensors, headerJson } from "./safetensors-writer.mjs";

const u64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const withHeader = (text) => Buffer.concat([u64(Buffer.byteLength(text)), Buffer.from(text)]);
const config = JSON.stringify({ model_type: "llama", torch_dtype: "bfloat16", hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64 });

/** The names a downloaded header may carry to attack a terminal, a markdown table or a spreadsheet. */
export const HOSTILE_NAMES = [
  "model.layers.0.\u001b[2J\u001b[31mclear.weight", // clear screen, colour
  "model.layers.0.\u001b]8;;http://evil.example\u0007link\u001b]8;;\u0007.weight", // OSC-8 hyperlink
  "model.layers.0.over\rwrite.weight", // carriage return
  "model.layers.0.line\nbreak.weight", // newline
  "model.layers.0.pipe|tick`s.weight", // markdown table and code span
  "=HYPERLINK(\"http://evil.example\").weight", // spreadsheet formula
  "model.layers.0.\u202eright-to-left.weight", // bidi override
  "model.layers.0.日本語の層.weight", // wide characters
];

/** Local file cases: files (name → Buffer | string | "fifo" | {symlink}), args, expected exit and stderr pattern. */
export function localCases() {
  const tensor = [["model.layers.0.mlp.up_proj.weight", "F16", [8, 8]]];
  return [
    { name: "header longer than the file", files: { "model.safetensors": Buffer.concat([u64(1000), Buffer.from("{}")]) }, exit: 3, message: /truncated|header/ },
    { name: "header length over 100,000,000", files: { "model.safetensors": Buffer.concat([u64(200_000_000), Buffer.alloc(8)]) }, exit: 3, message: /100000000|100,000,000|limit|exceeds/ },
    { name: "length prefix cut short", files: { "model.safetensors": Buffer.from([1, 2, 3]) }, exit: 3, message: /./ },
    { name: "header not UTF-8", files: { "model.safetensors": Buffer.concat([u64(4), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) }, exit: 3, message: /UTF-8/ },
    { name: "header not JSON", files: { "model.safetensors": withHeader("{not json") }, exit: 3, message: /not valid JSON/ },
    { name: "unknown dtype", files: { "model.safetensors": withHeader('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}') }, exit: 3, message: /unknown dtype/ },
    { name: "negative dimension", files: { "model.safetensors": withHeader('{"a":{"dtype":"F16","shape":[-1],"data_offsets":[0,2]}}') }, exit: 3, message: /shape|dimension/ },
    { name: "overlapping offsets", files: { "model.safetensors": withHeader('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}') }, exit: 3, message: /offset/ },
    { name: "shape past 2^53 elements", files: { "model.safetensors": withHeader('{"a":{"dtype":"F16","shape":[4294967296,4294967296],"data_offsets":[0,2]}}') }, exit: 3, message: /./ },
    { name: "a tensor named __proto__", files: { "model.safetensors": withHeader('{"__proto__":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'), "config.json": config }, exit: 0, message: null },
    { name: "prototype keys in config.json", files: { "model.safetensors": encodeHeaderOnly(tensor), "config.json": '{"model_type":"constructor","torch_dtype":"__proto__","dtype":"toString"}' }, args: ["--scheme", "nf4", "--train", "lora", "--target-modules", "up_proj"], exit: 0, message: null },
    { name: "FIFO as the weight file", files: { "model.safetensors": "fifo" }, args: ["@model.safetensors"], exit: 3, message: /not a regular file/ },
    { name: "FIFO as config.json", files: { "model.safetensors": encodeHeaderOnly(tensor), "config.json": "fifo" }, exit: 3, message: /not a regular file/ },
    { name: "FIFO as a header .json", files: { "header.json": "fifo" }, args: ["@header.json"], exit: 3, message: /not a regular file/ },
    { name: "/dev/zero as config.json", files: { "model.safetensors": encodeHeaderOnly(tensor), "config.json": { symlink: "/dev/zero" } }, exit: 3, message: /not a regular file/ },
    { name: "config.json linked to a token file", files: { "model.safetensors": encodeHeaderOnly(tensor), "config.json": { symlink: "token" }, token: "hf_TOPSECRETTOKENVALUE123\n" }, exit: 3, message: /not valid JSON \(at line \d+, column \d+\)$/m, secret: "hf_TOPSECRET" },
    { name: "a shard index naming a missing shard", files: { "model.safetensors.index.json": JSON.stringify({ weight_map: { a: "model-00001-of-00002.safetensors" } }) }, exit: 3, message: /missing/ },
    { name: "a shard name escaping the folder", files: { "model.safetensors.index.json": JSON.stringify({ weight_map: { a: "../../etc/passwd" } }) }, exit: 3, message: /escapes the model folder/ },
    { name: "zero tensors under a memory gate", files: { "model.safetensors": withHeader("{}") }, args: ["--max-memory", "1GiB"], exit: 0, message: /no tensors/ },
    { name: "backtracking --skip-modules pattern", files: { "model.safetensors": encodeHeaderOnly([[`model.${"a".repeat(40)}!.weight`, "F16", [2, 2]]]) }, args: ["--scheme", "nf4", "--skip-modules", "(a+)+$"], exit: 2, message: /exponential/ },
    { name: "hostile names", files: { "model.safetensors": encodeSafetensors(headerJson(HOSTILE_NAMES.map((n) => [n, "F16", [4, 4]]))) }, args: ["--scheme", "nf4"], exit: 0, message: null, hostileNames: true },
  ];
}

/** Option values refused the same way whatever the input: exit 2 and a one-line message. */
export const BAD_OPTIONS = [
  ["--concurrency", "0"],
  ["--concurrency", "abc"],
  ["--concurrency", "1e20"],
  ["--timeout", "99999999999"],
  ["--timeout", "-1"],
  ["--lora-r", "0x10", "--train", "lora"],
  ["--lora-r", "1e3", "--train", "lora"],
  ["--max-params", "1e400"],
  ["--max-memory", "99999999999999999999TB"],
  ["--revision", ".."],
  ["--revision", "."],
];
