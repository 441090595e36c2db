// Whole-process benchmark (issue 13): a fresh `node bin/qaudit.js` as a user runs it, against the
// loopback mock Hub at 0, 50 and 150 ms per request, alternating with @huggingface/hub's parse in its
// own process on the same mock; median wall time, user CPU and peak RSS of each (GNU time).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockHub } from "../scripts/mock-hub.mjs";
import { deepseekLike } from "./hub.mjs";

function timed(args, stdoutFile) {
  return new Promise((resolve, reject) => {
    const shell = `/usr/bin/time -f "%e %U %M" ${args.map((a) => `'${a}'`).join(" ")} > ${stdoutFile}`;
    execFile("bash", ["--norc", "--noprofile", "-c", shell], { env: { PATH: process.env.PATH, HOME: tmpdir() }, maxBuffer: 1 << 20 }, (error, _stdout, stderr) => {
      const last = stderr.trim().split("\n").pop() ?? "";
      const [wall, user, rssKb] = last.split(" ").map(Number);
      if (error !== null || !Number.isFinite(wall)) return reject(new Error(`${args.join(" ")}: ${stderr}`));
      resolve({ ms: wall * 1000, userMs: user * 1000, rssMb: rssKb / 1024, outBytes: statSync(stdoutFile).size });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
function summary(samples) {
  return { ms: median(samples.map((s) => s.ms)), userMs: median(samples.map((s) => s.userMs)), rssMb: Math.max(...samples.map((s) => s.rssMb)), outBytes: samples[0].outBytes };
}

export async function benchProcess({ latencies = [0, 50, 150], runs = 5, shards = 163, perShard = 1000 } = {}) {
  const hub = await startMockHub({ lifetimeMs: 1_800_000, maxRequests: 10_000_000 });
  const repo = "deepseek-ai/DeepSeek-V3-mock";
  hub.addRepo(repo, { files: deepseekLike(shards, perShard).files });
  const out = mkdtempSync(join(tmpdir(), "qaudit-bench-"));
  const node = process.execPath;
  const env = (cmd) => ["env", `HF_ENDPOINT=${hub.endpoint}`, `XDG_CACHE_HOME=${out}`, ...cmd];
  const rows = [];
  try {
    for (const latency of latencies) {
      hub.state.latencyMs = latency;
      const samples = { json: [], table: [], baseline: [], cold: [], warm: [] };
      for (let i = 0; i < runs; i++) {
        samples.baseline.push(await timed([node, "bench/baseline-parse.mjs", hub.endpoint, repo], join(out, "baseline.txt")));
        samples.json.push(await timed(env([node, "bin/qaudit.js", repo, "--scheme", "nf4", "--json", "--no-cache", "--quiet"]), join(out, "out.json")));
        if (latency === 0) samples.table.push(await timed(env([node, "bin/qaudit.js", repo, "--scheme", "nf4", "--no-cache", "--quiet"]), join(out, "out.txt")));
        if (latency === 50) {
          // As a user runs it, with the header cache (the default): a first audit writes it, a second reads it.
          const cache = mkdtempSync(join(out, "cache-"));
          const cached = ["env", `HF_ENDPOINT=${hub.endpoint}`, `XDG_CACHE_HOME=${cache}`, node, "bin/qaudit.js", repo, "--scheme", "nf4", "--json", "--quiet"];
          samples.cold.push(await timed(cached, join(out, "cold.json")));
          samples.warm.push(await timed(cached, join(out, "warm.json")));
          rmSync(cache, { recursive: true, force: true });
        }
      }
      const optional = (name, list) => (list.length > 0 ? { [name]: summary(list) } : {});
      rows.push({ latency, baseline: summary(samples.baseline), json: summary(samples.json), ...optional("table", samples.table), ...optional("cold", samples.cold), ...optional("warm", samples.warm) });
    }
    // Start-up: a bare node, `qaudit --version`, and a local audit of the bundled fixture.
    const startup = { node: [], version: [], local: [] };
    for (let i = 0; i < 5; i++) {
      startup.node.push(await timed([node, "-e", "0"], join(out, "n.txt")));
      startup.version.push(await timed([node, "bin/qaudit.js", "--version"], join(out, "v.txt")));
      startup.local.push(await timed([node, "bin/qaudit.js", "fixtures/opt-350m", "--scheme", "nf4"], join(out, "l.txt")));
    }
    return { shards, rows, startup: { node: summary(startup.node), version: summary(startup.version), local: summary(startup.local) } };
  } finally {
    await hub.close();
    rmSync(out, { recursive: true, force: true });
  }
}
