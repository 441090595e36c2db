// npm run bench: prints measured times and their ratios to baselines measured in the same run.
import { benchCore, benchFit } from "./core.mjs";
import { benchError } from "./error.mjs";
import { benchHub } from "./hub.mjs";
import { benchProcess } from "./process.mjs";

const fmt = (ms) => `${ms.toFixed(1)} ms`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

for (const [label, fp8] of [["plain bf16", false], ["saved in FP8 (weight + scale pairs)", true]]) {
  const core = benchCore({ fp8 });
  console.log(`core, ${label}: ${core.tensors.toLocaleString("en-US")} tensors, ${(core.headerBytes / 1e6).toFixed(1)} MB header, nf4 + double quant`);
  console.log(`  JSON.parse (baseline)          ${fmt(core.baselineMs)}`);
  console.log(`  qaudit parse+validate+simulate ${fmt(core.auditMs)}`);
  console.log(`  ratio ${core.ratio.toFixed(2)}× JSON.parse (target < 3×) ${core.ratio < 3 ? "OK" : "OVER TARGET"}`);
}

const fit = benchFit();
console.log(`\nfit: ${fit.tensors.toLocaleString("en-US")}-tensor audit (${fit.layers.toLocaleString("en-US")} layers), vLLM on an H100 with the largest-context and largest-batch searches`);
console.log(`  audit alone ${fmt(fit.auditMs)}, audit + fit ${fmt(fit.fitMs)}: fit adds ${fmt(fit.addedMs)} (${(fit.fitMs / fit.auditMs).toFixed(2)}× the audit; target < 50 ms) ${fit.addedMs < 50 ? "OK" : "OVER TARGET"}`);

const err = benchError();
console.log(`\nerror: quantize + dequantize + metrics of ${err.megabytes} MB of BF16 input, one core (target ≥ 200 MB/s)`);
for (const row of err.rows) console.log(`  ${row.label.padEnd(7)} ${fmt(row.ms).padStart(10)}  ${row.mbPerSecond.toFixed(0).padStart(5)} MB/s  (${(row.ms / row.decodeMs).toFixed(1)}× decoding alone, ${fmt(row.decodeMs)}) ${row.mbPerSecond >= 200 ? "OK" : "UNDER TARGET"}`);

const hub = await benchHub();
console.log(`\nhub: mock Hub on loopback, ${hub.shards} shards, ${hub.tensors.toLocaleString("en-US")} tensors; baseline = @huggingface/hub parseSafetensorsMetadata`);
console.log("  latency | tool     | HTTP requests | per shard | bytes sent | wall time | speed-up");
for (const { latency, ours, theirs } of hub.rows) {
  const line = (name, r, speedup) =>
    `  ${String(latency).padStart(4)} ms | ${name.padEnd(8)} | ${String(r.requests).padStart(13)} | ${(r.requests / hub.shards).toFixed(2).padStart(9)} | ${mb(r.bytes).padStart(10)} | ${fmt(r.ms).padStart(9)} | ${speedup}`;
  console.log(line("baseline", theirs, theirs.error ? `failed: ${theirs.error.message}` : "1.00×"));
  console.log(line("qaudit", ours, `${(theirs.ms / ours.ms).toFixed(2)}×`));
}
console.log(`  qaudit makes one range read per shard (${hub.shards}), plus the revision lookup, config.json and the index; each read is a 302 from the Hub and a 206 from the CDN, hence 2 HTTP requests.`);
const { qaudit, baseline } = hub.ignoreRange;
console.log("  server ignoring Range (answers 200 with whole files):");
console.log(`    baseline: ${baseline.error ? `fails: ${baseline.error.message.split("\n")[0]}` : `ok, ${mb(baseline.bytes)} sent`}`);
console.log(
  `    qaudit:   ${qaudit.error ? `fails: ${qaudit.error.message}` : `ok in ${fmt(qaudit.ms)}: received ${mb(qaudit.result.stats.bytes)} for ${qaudit.result.checkpoint.files.length} files, each transfer aborted once its header was in (the mock wrote ${mb(qaudit.bytes)} into loopback socket buffers before seeing the aborts)`}`,
);

const whole = await benchProcess();
console.log(`\nwhole process: fresh \`node bin/qaudit.js\` on the ${whole.shards}-shard mock (--scheme nf4 --no-cache), baseline = @huggingface/hub parse in its own process; medians`);
console.log("  latency | run                | wall time | user CPU | peak RSS | speed-up");
for (const row of whole.rows) {
  const line = (name, r, speedup) => `  ${String(row.latency).padStart(4)} ms | ${name.padEnd(18)} | ${fmt(r.ms).padStart(9)} | ${fmt(r.userMs).padStart(8)} | ${`${r.rssMb.toFixed(0)} MB`.padStart(8)} | ${speedup}`;
  console.log(line("baseline parse", row.baseline, "1.00×"));
  console.log(line("qaudit --json", row.json, `${(row.baseline.ms / row.json.ms).toFixed(2)}× (target ${row.latency >= 150 ? "≥ 4" : row.latency >= 50 ? "≥ 3" : "-"}); ${mb(row.json.outBytes)} out`));
  if (row.table !== undefined) console.log(line("qaudit (table)", row.table, `${(row.baseline.ms / row.table.ms).toFixed(2)}×`));
  if (row.cold !== undefined) console.log(line("--json, cache: 1st", row.cold, `${(row.baseline.ms / row.cold.ms).toFixed(2)}× (the default: the first audit writes the header cache)`));
  if (row.warm !== undefined) console.log(line("--json, cache: 2nd", row.warm, `${(row.baseline.ms / row.warm.ms).toFixed(2)}× (read from the cache)`));
}
const s = whole.startup;
console.log(`  start-up: node -e 0 ${fmt(s.node.ms)}, qaudit --version ${fmt(s.version.ms)} (${(s.version.ms / s.node.ms).toFixed(2)}×), local nf4 audit of opt-350m ${fmt(s.local.ms)} (${(s.local.ms / s.node.ms).toFixed(2)}×)`);
