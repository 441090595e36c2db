// Hub benchmark: qaudit against @huggingface/hub's parseSafetensorsMetadata on the same loopback mock
// Hub, in the same run, for a 163-shard model of about 1,000 tensors per shard (DeepSeek-V3's layout).
import { parseSafetensorsMetadata } from "@huggingface/hub";
import { loadHubCheckpoint } from "../dist/io/hub/source.js";
import { startMockHub } from "../scripts/mock-hub.mjs";
import { encodeSafetensors, headerJson } from "../scripts/safetensors-writer.mjs";

const PROJ = [["gate_proj", [2048, 7168]], ["up_proj", [2048, 7168]], ["down_proj", [7168, 2048]]];

/** 163 shards of expert weights (FP8 E4M3 with fp32 block scales), as DeepSeek-V3 stores them. */
export function deepseekLike(shards = 163, perShard = 1000) {
  const files = {};
  const weightMap = {};
  let n = 0;
  for (let s = 0; s < shards; s++) {
    const name = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(6, "0")}.safetensors`;
    const tensors = [];
    while (tensors.length < perShard) {
      const layer = Math.floor(n / (256 * 6));
      const expert = Math.floor(n / 6) % 256;
      const [proj, shape] = PROJ[Math.floor(n / 2) % 3];
      const base = `model.layers.${layer}.mlp.experts.${expert}.${proj}`;
      tensors.push(n % 2 === 0 ? [`${base}.weight`, "F8_E4M3", shape] : [`${base}.weight_scale_inv`, "F32", shape.map((d) => Math.ceil(d / 128))]);
      n += 1;
    }
    const header = headerJson(tensors);
    const data = Math.max(...Object.values(header).map((e) => e.data_offsets?.[1] ?? 0));
    const head = encodeSafetensors(header);
    files[name] = { head, size: head.length + data };
    for (const [tensor] of tensors) weightMap[tensor] = name;
  }
  files["model.safetensors.index.json"] = JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap });
  files["config.json"] = JSON.stringify({ model_type: "deepseek_v3", vocab_size: 129280, torch_dtype: "bfloat16" });
  return { files, tensors: n };
}

async function measure(hub, fn, { latencyMs = 0, ignoreRange = false } = {}) {
  hub.reset();
  hub.state.latencyMs = latencyMs;
  hub.state.ignoreRange = ignoreRange;
  const start = process.hrtime.bigint();
  let result;
  let error;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, requests: hub.stats.requests, bytes: hub.stats.bytesSent, result, error };
}

export async function benchHub({ latencies = [0, 50, 150], shards = 163, perShard = 1000 } = {}) {
  const hub = await startMockHub({ lifetimeMs: 600_000, maxRequests: 1_000_000 });
  const model = deepseekLike(shards, perShard);
  const repo = "deepseek-ai/DeepSeek-V3-mock";
  hub.addRepo(repo, { files: model.files });
  const qaudit = () => loadHubCheckpoint(repo, { revision: "main", subfolder: "", offline: false, concurrency: 128, settings: { endpoint: hub.endpoint }, fetch: globalThis.fetch });
  const baseline = () => parseSafetensorsMetadata({ repo, hubUrl: hub.endpoint, computeParametersCount: true });
  const rows = [];
  try {
    for (const latency of latencies) {
      const ours = await measure(hub, qaudit, { latencyMs: latency });
      const theirs = await measure(hub, baseline, { latencyMs: latency });
      if (ours.error) throw ours.error;
      const tensors = ours.result.checkpoint.files.reduce((s, f) => s + f.header.tensors.length, 0);
      rows.push({ latency, ours, theirs, tensors });
    }
    const ignoreRange = {};
    for (const [name, fn] of [["qaudit", qaudit], ["baseline", baseline]]) ignoreRange[name] = await measure(hub, fn, { ignoreRange: true });
    return { shards, tensors: model.tensors, rows, ignoreRange };
  } finally {
    await hub.close();
  }
}
