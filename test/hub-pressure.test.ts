// The Hub client on a bad day: rate limits, interruption, and names that may be paths or ids.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain JS mock
import { startMockHub } from "../scripts/mock-hub.mjs";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly, headerJson } from "../scripts/safetensors-writer.mjs";

type Hub = { endpoint: string; addRepo: (id: string, o: object) => string; fault: (f: object) => void; state: Record<string, unknown>; stats: { requests: number; byHost: { hub: number; cdn: number } }; reset: () => void; close: () => Promise<void> };
let hub: Hub;
const SHARDS = 32;

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/qaudit.js", ...args], { env: { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "qaudit-home-")), ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  hub = await startMockHub({ lifetimeMs: 120_000 });
  const files: Record<string, Buffer | string> = { "config.json": '{"model_type":"llama"}' };
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < SHARDS; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(SHARDS).padStart(5, "0")}.safetensors`;
    const name = `model.layers.${s}.mlp.up_proj.weight`;
    files[file] = encodeHeaderOnly([[name, "BF16", [64, 64]]]);
    weightMap[name] = file;
  }
  files["model.safetensors.index.json"] = JSON.stringify({ metadata: {}, weight_map: weightMap });
  void headerJson;
  hub.addRepo("org/sharded", { files });
});
afterAll(async () => hub.close());

describe("429 storms", () => {
  it("one shared back-off: a few announced pauses, requests near shards + 3 on the Hub", async () => {
    hub.reset();
    hub.state.rateLimit = { perSecond: 10, retryAfter: 1 };
    const r = await run(["org/sharded", "--no-cache", "--json"], { HF_ENDPOINT: hub.endpoint });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).model.tensorCount).toBe(SHARDS);
    const lines = r.stderr.trim().split("\n").filter((l) => l.length > 0);
    expect(lines.every((l) => /^qaudit: rate-limited by the Hub, waiting \d+ s \(attempt \d+ of 5\)$/.test(l))).toBe(true);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    // Without the shared pause: 32 shards × up to 5 attempts each. With it: each shard is refused at most once.
    expect(hub.stats.byHost.hub).toBeLessThanOrEqual(2 * (SHARDS + 3));
  });
});

describe("Ctrl-C", () => {
  it("SIGINT mid-read: exit 130, one line, no partial cache entry", async () => {
    hub.reset();
    hub.fault({ host: "cdn", stallMs: 20_000, times: 100 });
    const cache = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
    const child = spawn(process.execPath, ["bin/qaudit.js", "org/sharded"], { env: { PATH: process.env.PATH ?? "", HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr.trim()).toBe("qaudit: interrupted (SIGINT)");
    const snapshots = readdirSync(cache, { recursive: true }).map(String).filter((p) => p.includes("snapshots"));
    expect(snapshots.filter((p) => p.endsWith(".json"))).toEqual([]);
  });
  it("SIGTERM: exit 143", async () => {
    hub.reset();
    hub.fault({ host: "cdn", stallMs: 20_000, times: 100 });
    const child = spawn(process.execPath, ["bin/qaudit.js", "org/sharded", "--no-cache"], { env: { PATH: process.env.PATH ?? "", HF_ENDPOINT: hub.endpoint } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGTERM");
    expect(await new Promise((resolve) => child.on("close", resolve))).toBe(143);
  });
});

describe("path or model id", () => {
  it.each([
    [["org/nothing-here"], 4, /org\/nothing-here: no such file or directory, and no model org\/nothing-here on the Hub/],
    [["mymodel"], 4, /mymodel: no such file or directory, and no model mymodel on the Hub/],
    [["./org/sharded"], 3, /\.\/org\/sharded: no such file or directory/],
    [["--local", "org/sharded"], 3, /org\/sharded: no such file or directory/],
    [["--hub", "fixtures/tiny-llama"], 4, /repository fixtures\/tiny-llama not found/],
  ])("%j → exit %i", async (args, code, message) => {
    hub.reset();
    const r = await run([...args, "--no-cache"], { HF_ENDPOINT: hub.endpoint });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
  it("an existing folder named like an id is local", async () => {
    const r = await run(["fixtures/tiny-llama", "--json"], { HF_ENDPOINT: "http://qaudit.invalid" });
    expect(r.code).toBe(0);
  });
});
