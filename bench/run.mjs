// npm run bench: prints measured times and their ratios to baselines measured in the same run.
import { benchCore } from "./core.mjs";

const fmt = (ms) => `${ms.toFixed(1)} ms`;

const core = benchCore();
console.log(`core: ${core.tensors.toLocaleString("en-US")} tensors, ${(core.headerBytes / 1e6).toFixed(1)} MB header`);
console.log(`  JSON.parse (baseline)          ${fmt(core.baselineMs)}`);
console.log(`  qaudit parse+validate+simulate ${fmt(core.auditMs)}`);
console.log(`  ratio ${core.ratio.toFixed(2)}× JSON.parse (target < 3×) ${core.ratio < 3 ? "OK" : "OVER TARGET"}`);
