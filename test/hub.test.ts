// The Hub source against a loopback mock Hub (scripts/mock-hub.mjs): 127.0.0.1 is the Hub, 127.0.0.2 its CDN.
import fc from "fast-check";
import { parseSafetensorsMetadata } from "@huggingface/hub";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadHubCheckpoint, type HubOptions } from "../src/io/hub/source.js";
import { HubError } from "../src/io/hub/errors.js";
import { HubHttp } from "../src/io/hub/http.js";
import type { Transport } from "../src/io/hub/transport.js";
import { HeaderCache, openSnapshot } from "../src/io/hub/cache.js";
import { InputError } from "../src/core/errors.js";
// @ts-expect-error plain JS mock server shared with the benchmark
import { startMockHub } from "../scripts/mock-hub.mjs";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly, encodeSafetensors } from "../scripts/safetensors-writer.mjs";
import { runMain } from "./run-main.js";

type MockHub = Awaited<ReturnType<typeof startMockHub>>;
let hub: MockHub;
let falconSha: string;
const fixture = (path: string) => readFileSync(join("fixtures", path));
/** A header-only file served as the real file: the header, then its data region (zeros). */
function realFile(bytes: Buffer): { head: Buffer; size: number } {
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString()) as Record<string, { data_offsets?: [number, number] }>;
  const data = Math.max(0, ...Object.values(header).map((e) => e.data_offsets?.[1] ?? 0));
  return { head: bytes, size: bytes.length + data };
}
const TOKEN = "hf_secret_token_abc123";
const FALCON_FILES = ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

beforeAll(async () => {
  hub = await startMockHub({ lifetimeMs: 120_000 });
  const falcon = Object.fromEntries(FALCON_FILES.map((f) => [f, f.endsWith(".safetensors") ? realFile(fixture(`falcon-7b-ft/${f}`)) : fixture(`falcon-7b-ft/${f}`)]));
  falconSha = hub.addRepo("tiiuae/falcon-ft", { files: falcon, refs: { "refs/pr/1": "1".repeat(40), v1: "1".repeat(40) } });
  const opt = fixture("opt-350m/model.safetensors");
  // The real file: the header, then 2 bytes × 331,196,416 parameters of data (served as zeros).
  hub.addRepo("facebook/opt-350m", { files: { "config.json": fixture("opt-350m/config.json"), "model.safetensors": { head: opt, size: opt.length + 662_392_832 }, "README.md": "# opt" } });
  hub.addRepo("meta/gated", { files: { "config.json": fixture("tiny-llama/config.json"), "model.safetensors": fixture("tiny-llama/model.safetensors") }, gated: true, tokens: [TOKEN] });
  hub.addRepo("org/private", { files: { "model.safetensors": fixture("tiny-llama/model.safetensors") }, private: true, tokens: [TOKEN] });
  hub.addRepo("TheBloke/Llama-2-7B-GPTQ", { files: { "config.json": fixture("prequantized/llama-2-7b-gptq/config.json"), "model.safetensors": realFile(fixture("prequantized/llama-2-7b-gptq/model.safetensors")) } });
  // The tiny bnb-4bit file with its data region, and a config without hidden_size: shapes only in the quant states.
  hub.addRepo("unsloth/tiny-bnb", { files: { "config.json": JSON.stringify({ model_type: "llama", torch_dtype: "bfloat16" }), "model.safetensors": fixture("prequantized/tiny-llama-bnb-nf4/model.safetensors") } });
  hub.addRepo("org/pickles", { files: { "pytorch_model.bin": "x", "config.json": "{}" } });
  hub.addRepo("org/diffusion", { files: { "unet/config.json": "{}", "unet/diffusion_pytorch_model.safetensors": fixture("tiny-llama/model.safetensors"), "model_index.json": "{}" } });
  const index = JSON.stringify({ metadata: {}, weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" } });
  hub.addRepo("org/missing-shard", { files: { "model.safetensors.index.json": index, "model-00001-of-00002.safetensors": encodeHeaderOnly([["a.weight", "F16", [2, 2]]]) } });
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(200_000_000n);
  hub.addRepo("org/huge-header", { files: { "model.safetensors": { head: huge, size: 300_000_000 } } });
  const long = encodeSafetensors(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`layer.${i}.weight`, { dtype: "F16", shape: [2], data_offsets: [4 * i, 4 * i + 4] }])));
  hub.addRepo("org/long-header", { files: { "model.safetensors": long } });
});
afterAll(async () => hub.close());
beforeEach(() => hub.reset());

function hubEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { HF_ENDPOINT: hub.endpoint, HOME: mkdtempSync(join(tmpdir(), "qaudit-home-")), ...extra };
}

function options(extra: Partial<HubOptions> = {}): HubOptions {
  return {
    revision: "main",
    subfolder: "",
    offline: false,
    concurrency: 8,
    settings: { endpoint: hub.endpoint },
    fetch: globalThis.fetch,
    retry: { retries: 3, baseDelayMs: 1, maxRetryAfterMs: 5_000, timeoutMs: 5_000 },
    ...extra,
  };
}

const resolves = () => hub.log.filter((l: { host: string; path: string }) => l.host === "hub" && l.path.includes("/resolve/"));

describe("audit from the Hub", () => {
  it("equals the local audit of the same files", async () => {
    const remote = await runMain(["tiiuae/falcon-ft", "--scheme", "nf4", "--json", "--no-cache"], hubEnv());
    const local = await runMain(["fixtures/falcon-7b-ft", "--scheme", "nf4", "--json"]);
    expect(remote.code).toBe(0);
    const r = JSON.parse(remote.stdout);
    const l = JSON.parse(local.stdout);
    expect(r.model.source).toBe("tiiuae/falcon-ft");
    expect(r.totals).toEqual(l.totals);
    expect(r.tensors).toEqual(l.tensors);
    expect(r.totals.reportedParameters).toBe(3_608_749_376); // spec §6
  });

  it("a checkpoint saved already quantized reads the same from the Hub as from disk", async () => {
    const remote = JSON.parse((await runMain(["TheBloke/Llama-2-7B-GPTQ", "--json", "--no-cache"], hubEnv())).stdout);
    const local = JSON.parse((await runMain(["fixtures/prequantized/llama-2-7b-gptq", "--json"])).stdout);
    expect(remote.totals).toEqual(local.totals);
    expect(remote.totals.logicalParameters).toBe(6_738_415_616); // Llama-2-7B, published
    expect(remote.sourceQuantization).toEqual(local.sourceQuantization);
  });

  it("4-bit shapes nothing else gives are read from the quant states in the data region, one small range each", async () => {
    const cacheHome = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
    const r = await runMain(["unsloth/tiny-bnb", "--json"], hubEnv({ XDG_CACHE_HOME: cacheHome }));
    const report = JSON.parse(r.stdout);
    expect(report.tensors.find((t: { name: string }) => t.name === "model.layers.1.self_attn.k_proj.weight").logicalShape).toEqual([32, 64]);
    expect(report.warnings).toEqual([]);
    const ranges = hub.log.filter((l: { host: string }) => l.host === "cdn").map((l: { range: string }) => l.range);
    expect(ranges).toHaveLength(1 + 14); // the header, then the 14 packed weights' quant states
    hub.reset();
    const cached = await runMain(["unsloth/tiny-bnb", "--json", "--offline"], hubEnv({ XDG_CACHE_HOME: cacheHome }));
    expect(JSON.parse(cached.stdout).tensors).toEqual(report.tensors);
  });

  it("one speculative range read per shard, pinned to the resolved sha, plus lookup, config and index", async () => {
    const { checkpoint, sha, stats } = await loadHubCheckpoint("tiiuae/falcon-ft", options());
    expect(checkpoint.files).toHaveLength(2);
    const shardReads = resolves().filter((l: { path: string }) => l.path.endsWith(".safetensors"));
    expect(shardReads).toHaveLength(2);
    for (const read of shardReads) {
      expect(read.path).toContain(`/resolve/${sha}/`);
      expect(read.range).toMatch(/^bytes=0-\d+$/);
      expect(read.status).toBe(302);
    }
    const cdn = hub.log.filter((l: { host: string }) => l.host === "cdn");
    expect(cdn.map((l: { range: string }) => l.range)).toEqual(shardReads.map((l: { range: string }) => l.range)); // Range re-sent after the redirect
    expect(cdn.every((l: { status: number }) => l.status === 206)).toBe(true);
    // lookup + config + index + 2 × (302 + 206)
    expect(stats.requests).toBe(3 + 2 * 2);
  });

  it("a push between the lookup and the reads: config and index are read again at the pinned sha", async () => {
    hub.state.movedRefs = { main: "f".repeat(40) };
    const { sha } = await loadHubCheckpoint("tiiuae/falcon-ft", options());
    const paths = resolves().map((l: { path: string }) => l.path);
    expect(paths).toContain(`/tiiuae/falcon-ft/resolve/${sha}/config.json`);
    expect(paths).toContain(`/tiiuae/falcon-ft/resolve/${sha}/model.safetensors.index.json`);
    expect(paths.filter((p: string) => p.endsWith(".safetensors")).every((p: string) => p.includes(`/resolve/${sha}/`))).toBe(true);
  });

  it("a header longer than the first read takes exactly one more read", async () => {
    const { checkpoint } = await loadHubCheckpoint("org/long-header", options());
    expect(checkpoint.files[0]!.header.tensors).toHaveLength(3000);
    expect(hub.log.filter((l: { host: string }) => l.host === "cdn").map((l: { range: string }) => l.range)).toEqual([
      "bytes=0-99999",
      expect.stringMatching(/^bytes=100000-\d+$/),
    ]);
  });

  it("parameter counts equal @huggingface/hub's parseSafetensorsMetadata on the same server", async () => {
    for (const repo of ["tiiuae/falcon-ft", "facebook/opt-350m"]) {
      const theirs = await parseSafetensorsMetadata({ repo, hubUrl: hub.endpoint, computeParametersCount: true });
      const ours = await runMain([repo, "--json", "--no-cache"], hubEnv());
      const total = Object.values(theirs.parameterCount).reduce((a, b) => a + (b ?? 0), 0);
      expect(JSON.parse(ours.stdout).totals.reportedParameters).toBe(total);
    }
  });

  it("revisions: a tag, refs/pr/N URL-encoded, an unknown one", async () => {
    await loadHubCheckpoint("tiiuae/falcon-ft", options({ revision: "refs/pr/1" }));
    expect(hub.log[0].path).toBe("/api/models/tiiuae/falcon-ft/revision/refs%2Fpr%2F1");
    expect(resolves().filter((l: { path: string }) => l.path.endsWith(".safetensors"))[0].path).toContain(`/resolve/${"1".repeat(40)}/`);
    const bad = await runMain(["tiiuae/falcon-ft", "--revision", "nope", "--no-cache"], hubEnv());
    expect(bad.code).toBe(4);
    expect(bad.stderr).toBe('qaudit: revision "nope" not found in tiiuae/falcon-ft\n');
  });

  it("a Hub URL works as the model id, with /tree/<rev> as the revision", async () => {
    const r = await runMain(["https://huggingface.co/tiiuae/falcon-ft/tree/v1", "--json", "--no-cache"], hubEnv());
    expect(r.code).toBe(0);
    expect(hub.log[0].path).toBe("/api/models/tiiuae/falcon-ft/revision/v1");
    expect(JSON.parse(r.stdout).model.source).toBe("tiiuae/falcon-ft@v1");
  });

  it("--subfolder, and a hint when weights live only in folders", async () => {
    const ok = await runMain(["org/diffusion", "--subfolder", "unet", "--json", "--no-cache"], hubEnv());
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).model.files).toEqual(["unet/diffusion_pytorch_model.safetensors"]);
    const root = await runMain(["org/diffusion", "--no-cache"], hubEnv());
    expect(root.code).toBe(4);
    expect(root.stderr).toMatch(/org\/diffusion has no safetensors weights; safetensors in unet: use --subfolder/);
  });
});

describe("tokens", () => {
  it("reach the Hub host and never the CDN host", async () => {
    const r = await runMain(["meta/gated", "--no-cache"], hubEnv({ HF_TOKEN: TOKEN }));
    expect(r.code).toBe(0);
    const hubAuth = hub.log.filter((l: { host: string }) => l.host === "hub").map((l: { auth: string }) => l.auth);
    expect(hubAuth.length).toBeGreaterThan(0);
    expect(hubAuth.every((a: string) => a === `Bearer ${TOKEN}`)).toBe(true);
    const cdn = hub.log.filter((l: { host: string }) => l.host === "cdn");
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((l: { auth: string | null }) => l.auth === null)).toBe(true);
  });

  it("--token, then HF_TOKEN, then the token file under HF_HOME", async () => {
    const home = mkdtempSync(join(tmpdir(), "qaudit-hf-"));
    writeFileSync(join(home, "token"), `${TOKEN}\n`);
    expect((await runMain(["meta/gated", "--no-cache"], hubEnv({ HF_HOME: home }))).code).toBe(0);
    hub.reset();
    await runMain(["meta/gated", "--no-cache", "--token", "from-flag"], hubEnv({ HF_TOKEN: "from-env", HF_HOME: home }));
    expect(hub.log[0].auth).toBe("Bearer from-flag");
    hub.reset();
    await runMain(["meta/gated", "--no-cache"], hubEnv({ HF_TOKEN: "from-env", HF_HOME: home }));
    expect(hub.log[0].auth).toBe("Bearer from-env");
  });

  it("gated without a token, gated with a token lacking access; never printed", async () => {
    const none = await runMain(["meta/gated", "--no-cache"], hubEnv());
    expect(none.code).toBe(4);
    expect(none.stderr).toBe(`qaudit: meta/gated is gated: accept its license at ${hub.endpoint}/meta/gated, then pass a token (--token or HF_TOKEN)\n`);
    const wrong = await runMain(["meta/gated", "--no-cache", "--debug"], hubEnv({ HF_TOKEN: "hf_not_granted_999" }));
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/has no access yet: accept its license at/);
    expect(wrong.stderr).not.toContain("hf_not_granted_999");
  });

  it("an invalid token is refused even on a public repo, and never printed", async () => {
    const r = await runMain(["tiiuae/falcon-ft", "--no-cache", "--debug"], hubEnv({ HF_TOKEN: "hf_invalid_secret_777" }));
    expect(r.code).toBe(4);
    expect(r.stderr.split("\n")[0]).toBe("qaudit: the Hub refused the token for tiiuae/falcon-ft (401): is it valid?");
    expect(r.stderr).not.toContain("hf_invalid_secret_777");
  });

  it("private or missing repositories", async () => {
    const anon = await runMain(["org/private", "--no-cache"], hubEnv());
    expect(anon.code).toBe(4);
    // Not a local path either: both lookups are named, with the Hub's hint about tokens.
    expect(anon.stderr).toMatch(/org\/private: no such file or directory, and no model org\/private on the Hub \(if it is private, pass a token/);
    expect((await runMain(["org/private", "--no-cache"], hubEnv({ HF_TOKEN: TOKEN }))).code).toBe(0);
    const missing = await runMain(["org/nothing-here", "--no-cache"], hubEnv({ HF_TOKEN: TOKEN }));
    expect(missing.stderr).toBe("qaudit: org/nothing-here: no such file or directory, and no model org/nothing-here on the Hub\n");
    const forced = await runMain(["org/nothing-here", "--hub", "--no-cache"], hubEnv({ HF_TOKEN: TOKEN }));
    expect(forced.stderr).toBe(`qaudit: repository org/nothing-here not found on ${hub.endpoint}\n`);
  });
});

describe("failures: one clear line, exit 4 (Hub) or 3 (bad file)", () => {
  it("a repo without safetensors says which formats it has", async () => {
    const r = await runMain(["org/pickles", "--no-cache"], hubEnv());
    expect(r.code).toBe(4);
    expect(r.stderr).toBe("qaudit: org/pickles has no safetensors weights (it has .bin files; only safetensors headers can be read)\n");
  });

  it("a shard the index names but the repo lacks", async () => {
    await expect(loadHubCheckpoint("org/missing-shard", options())).rejects.toThrowError(/model-00002-of-00002\.safetensors in org\/missing-shard not found at revision "main"/);
  });

  it("429 honours Retry-After, then succeeds", async () => {
    hub.fault({ host: "cdn", path: "opt-350m", status: 429, retryAfter: 1 });
    const notices: string[] = [];
    await loadHubCheckpoint("facebook/opt-350m", options({ onRateLimit: (m) => notices.push(m) }));
    const cdn = hub.log.filter((l: { host: string; path: string }) => l.host === "cdn" && l.path.includes("opt-350m"));
    expect(cdn.map((l: { status: number }) => l.status)).toEqual([429, 206]);
    expect(notices).toEqual(["rate-limited by the Hub, waiting 1 s (attempt 2 of 4)"]); // 3 retries in these tests
  });

  it("429 past the retries, and a Retry-After longer than we wait", async () => {
    hub.fault({ host: "cdn", path: "opt-350m", status: 429, retryAfter: 0, times: 10 });
    await expect(loadHubCheckpoint("facebook/opt-350m", options())).rejects.toThrowError(/rate limiting requests \(429\) .*after 4 attempts/);
    hub.reset();
    hub.fault({ host: "cdn", path: "opt-350m", status: 429, retryAfter: 3600 });
    await expect(loadHubCheckpoint("facebook/opt-350m", options())).rejects.toThrowError(/\(Retry-After 3600 s\)/);
  });

  it("5xx and connection resets are retried with backoff; persistent 5xx fails", async () => {
    hub.fault({ host: "hub", path: "falcon-ft/resolve/", status: 503, times: 2 });
    hub.fault({ host: "cdn", path: "falcon-ft", reset: true });
    await expect(loadHubCheckpoint("tiiuae/falcon-ft", options())).resolves.toBeDefined();
    hub.reset();
    hub.fault({ host: "hub", path: "/api/models/tiiuae/falcon-ft", status: 502, times: 10 });
    await expect(loadHubCheckpoint("tiiuae/falcon-ft", options())).rejects.toThrowError(/the Hub answered 502 for tiiuae\/falcon-ft, after 4 attempts/);
    expect(hub.log.filter((l: { path: string }) => l.path.startsWith("/api/models/tiiuae")).length).toBe(4);
  });

  it("a body shorter than promised is retried, and fails when it stays short", async () => {
    hub.fault({ host: "cdn", path: "opt-350m", truncate: true });
    await expect(loadHubCheckpoint("facebook/opt-350m", options())).resolves.toBeDefined();
    hub.reset();
    hub.fault({ host: "cdn", path: "opt-350m", truncate: true, times: 10 });
    const error = await loadHubCheckpoint("facebook/opt-350m", options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as Error).message).toMatch(/^model\.safetensors: (body shorter than promised|network error).*after 4 attempts$/);
  });

  it("timeouts", async () => {
    hub.fault({ host: "cdn", path: "opt-350m", stallMs: 1_000, times: 10 });
    await expect(loadHubCheckpoint("facebook/opt-350m", options({ retry: { retries: 1, baseDelayMs: 1, maxRetryAfterMs: 1, timeoutMs: 150 } }))).rejects.toThrowError(
      /model\.safetensors: timed out after 150 ms, after 2 attempts/,
    );
  });

  it("a server ignoring Range: the header is read, the transfer aborted, bytes stay bounded", async () => {
    hub.state.ignoreRange = true;
    const { checkpoint, stats } = await loadHubCheckpoint("facebook/opt-350m", options());
    expect(checkpoint.files[0]!.header.tensors).toHaveLength(388);
    // The file is 662 MB; we stop after the first 100,000 bytes (plus what is in flight).
    expect(stats.bytes).toBeLessThan(2_000_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hub.stats.bytesSent).toBeLessThan(20_000_000);
  });

  it("a header over the 100,000,000-byte cap is refused before it is read", async () => {
    const error = await loadHubCheckpoint("org/huge-header", options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe("org/huge-header/model.safetensors: header length 200000000 bytes is over the 100000000-byte limit");
    expect(hub.stats.bytesSent).toBeLessThan(200_000);
  });
});

describe("cache", () => {
  it("a second audit needs only the revision lookup; --offline none; --no-cache writes nothing", async () => {
    const env = hubEnv({ XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "qaudit-cache-")) });
    const first = await runMain(["tiiuae/falcon-ft", "--json"], env);
    hub.reset();
    const second = await runMain(["tiiuae/falcon-ft", "--json"], env);
    expect(hub.log.map((l: { path: string }) => l.path)).toEqual(["/api/models/tiiuae/falcon-ft/revision/main"]);
    expect(second.stdout).toBe(first.stdout);
    hub.reset();
    const pinned = await runMain(["tiiuae/falcon-ft", "--json", "--revision", falconSha], env);
    expect(hub.log).toHaveLength(0); // a cached commit sha needs no request at all
    expect(JSON.parse(pinned.stdout).totals).toEqual(JSON.parse(first.stdout).totals);
    const offline = await runMain(["tiiuae/falcon-ft", "--json", "--offline"], env);
    expect(hub.log).toHaveLength(0);
    expect(offline.stdout).toBe(first.stdout);
    hub.reset();
    const offlineEnv = await runMain(["tiiuae/falcon-ft", "--json"], { ...env, HF_HUB_OFFLINE: "1" });
    expect(hub.log).toHaveLength(0);
    expect(offlineEnv.stdout).toBe(first.stdout);
    const cold = await runMain(["facebook/opt-350m", "--offline"], env);
    expect(cold.code).toBe(4);
    expect(cold.stderr).toBe("qaudit: facebook/opt-350m@main is not in the cache; run once without --offline\n");
    const dir = mkdtempSync(join(tmpdir(), "qaudit-nocache-"));
    await runMain(["tiiuae/falcon-ft", "--no-cache"], hubEnv({ XDG_CACHE_HOME: dir }));
    expect(existsSync(join(dir, "qaudit"))).toBe(false);
  });

  it("the entry is written as the headers arrive, and only a complete audit leaves one", async () => {
    const cacheHome = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
    const failed = await runMain(["org/missing-shard", "--json"], hubEnv({ XDG_CACHE_HOME: cacheHome }));
    expect(failed.code).not.toBe(0);
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: "utf8" }) : []);
    expect(files(cacheHome).filter((f) => f.includes("snapshots") && (f.endsWith(".json") || f.endsWith(".tmp")))).toEqual([]);
    await runMain(["tiiuae/falcon-ft", "--json"], hubEnv({ XDG_CACHE_HOME: cacheHome }));
    const written = files(cacheHome).filter((f) => f.includes("snapshots"));
    expect(written.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // One entry: the index's and both headers' bytes as the Hub served them, then the manifest saying
    // where each is, then the manifest's length (8 bytes, little-endian).
    const entry = readFileSync(join(cacheHome, written.find((f) => f.endsWith(".entry"))!));
    const manifestLength = Number(entry.readBigUInt64LE(entry.length - 8));
    const manifest = JSON.parse(entry.subarray(entry.length - 8 - manifestLength, entry.length - 8).toString("utf8")) as { format: number; files: string[]; headers: Record<string, number[]>; index: number[] };
    expect(manifest.format).toBe(3);
    expect(manifest.files).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    expect(Object.keys(manifest.headers).sort()).toEqual(manifest.files);
    for (const file of manifest.files) {
      const [at, length, size] = manifest.headers[file]!;
      const served = realFile(fixture(`falcon-7b-ft/${file}`));
      expect(entry.subarray(at, at! + length!)).toEqual(served.head.subarray(8, 8 + Number(served.head.readBigUInt64LE(0))));
      expect(size).toBe(served.size);
    }
    const [at, length] = manifest.index;
    expect(entry.subarray(at, at! + length!)).toEqual(fixture("falcon-7b-ft/model.safetensors.index.json"));
  });

  it("a cache that cannot be written costs nothing but speed: the audit is the same", async () => {
    // The cache's root is a regular file: no folder can be made under it (root ignores permissions).
    const home = join(mkdtempSync(join(tmpdir(), "qaudit-cache-")), "file");
    writeFileSync(home, "not a folder");
    const written = await runMain(["tiiuae/falcon-ft", "--json"], hubEnv({ XDG_CACHE_HOME: home }));
    const uncached = await runMain(["tiiuae/falcon-ft", "--json", "--no-cache"], hubEnv());
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toBe("");
    expect(written.stdout).toBe(uncached.stdout);
  });

  it("an entry reads back the index and headers written to it, whatever their characters and however the index is sliced", async () => {
    const char = fc.constantFrom("a", "é", "中", "😀", "\"", "\n", "\u2028");
    await fc.assert(
      fc.asyncProperty(fc.array(char, { maxLength: 30 }), fc.array(fc.uint8Array({ minLength: 2, maxLength: 40 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), async (chars, headers, slice, withIndex) => {
        const dir = mkdtempSync(join(tmpdir(), "qaudit-entry-"));
        const cache = new HeaderCache(dir, "https://hub.example");
        const files = headers.map((_, i) => `model-${i}.safetensors`);
        const index = withIndex ? chars.join("") : null;
        const writer = cache.snapshotWriter("org/m", "0".repeat(40), "", { files, config: '{"model_type":"x"}', index }, slice);
        headers.forEach((bytes, i) => writer.header(files[i]!, bytes, i % 2 === 0 ? undefined : 1000 + i));
        await writer.finish(undefined);
        const snapshot = await cache.readSnapshot("org/m", "0".repeat(40), "");
        expect(snapshot).toBeDefined();
        expect(snapshot!.files).toEqual(files);
        expect(snapshot!.config).toBe('{"model_type":"x"}');
        const entry = await openSnapshot(snapshot!);
        try {
          expect(await entry.index()).toBe(index);
          for (let i = 0; i < files.length; i++) {
            expect(await entry.header(files[i]!)).toEqual(headers[i]);
            expect(snapshot!.headers[files[i]!]!.size).toBe(i % 2 === 0 ? undefined : 1000 + i);
          }
        } finally {
          await entry.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a file decoded chunk by chunk as it arrives reads as the text of its bytes decoded whole, however it is split", async () => {
    // Multi-byte characters (2, 3 and 4 bytes), a byte sequence that is no UTF-8, and cuts anywhere.
    const piece = fc.constantFrom("a", "é", "中", "😀", "\"", "\n");
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.boolean(), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }), async (pieces, invalid, cuts) => {
        const text = new TextEncoder().encode(pieces.join(""));
        const bytes = invalid ? Uint8Array.from([...text, 0xe4, 0xb8]) : text;
        const transport: Transport = () =>
          Promise.resolve({
            status: 200,
            header: (name) => (name === "content-length" ? String(bytes.length) : null),
            headers: () => ({}),
            read: async (_limit, onChunk) => {
              for (let at = 0, i = 0; at < bytes.length; i++) {
                const end = Math.min(bytes.length, at + cuts[i % cuts.length]!);
                onChunk(bytes.slice(at, end));
                at = end;
              }
            },
            discard: () => Promise.resolve(),
          });
        const http = new HubHttp("http://127.0.0.1:9", undefined, fetch, undefined, undefined, undefined, undefined, transport);
        const file = await http.getFile("http://127.0.0.1:9/org/m/resolve/main/config.json", 1000, { repo: "org/m" });
        expect(file.text).toBe(new TextDecoder().decode(bytes));
        expect(http.stats.bytes).toBe(bytes.length);
      }),
      { numRuns: 300 },
    );
  });

  it("a range answer whose total ends before the range starts reads as nothing, not as a crash", async () => {
    const transport: Transport = () =>
      Promise.resolve({
        status: 206,
        header: (name) => (name === "content-range" ? "bytes 100-199/50" : null),
        headers: () => ({}),
        read: async (_limit, onChunk) => onChunk(new Uint8Array(100)),
        discard: () => Promise.resolve(),
      });
    const http = new HubHttp("http://127.0.0.1:9", undefined, fetch, undefined, undefined, undefined, undefined, transport);
    const result = await http.getRange("http://127.0.0.1:9/org/m/resolve/main/model.safetensors", 100, 200, { repo: "org/m" });
    expect(result).toEqual({ bytes: new Uint8Array(0), total: 50 });
  });

  it("a damaged cache entry is a miss, not a crash", async () => {
    const cacheHome = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
    const env = hubEnv({ XDG_CACHE_HOME: cacheHome });
    await runMain(["facebook/opt-350m"], env);
    const entries = readdirSync(cacheHome, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".entry"));
    expect(entries).toHaveLength(1);
    const path = join(cacheHome, entries[0]!);
    const whole = readFileSync(path);
    // Garbage; cut short (the manifest's length then points outside); a manifest length past the file;
    // a region that runs past the payload. Each is a miss: the Hub is asked again, the report is whole.
    const lying = Buffer.from(whole);
    lying.writeBigUInt64LE(BigInt(whole.length), whole.length - 8);
    const manifestLength = Number(whole.readBigUInt64LE(whole.length - 8));
    const manifest = whole.subarray(whole.length - 8 - manifestLength, whole.length - 8).toString("utf8");
    const pastPayload = manifest.replace(/"model\.safetensors":\[(\d+),(\d+)/, (_, at: string, length: string) => `"model.safetensors":[${at},${Number(length) + 1}`);
    expect(pastPayload).not.toBe(manifest);
    const stretched = Buffer.concat([whole.subarray(0, whole.length - 8 - manifestLength), Buffer.from(pastPayload), Buffer.alloc(8)]);
    stretched.writeBigUInt64LE(BigInt(Buffer.byteLength(pastPayload)), stretched.length - 8);
    for (const damaged of [Buffer.from("{broken"), whole.subarray(0, whole.length - 3), lying, stretched]) {
      writeFileSync(path, damaged);
      hub.reset();
      const again = await runMain(["facebook/opt-350m", "--json"], env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).totals.reportedParameters).toBe(331_196_416);
      expect(hub.log.some((l: { path: string }) => l.path.endsWith("/model.safetensors"))).toBe(true);
    }
  });
});
