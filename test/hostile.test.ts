// Hostile inputs, local and from a server: every case ends with the documented exit code, at most
// three lines on stderr, no stack trace, no secret, within a bounded time. Cases come from
// scripts/hostile-cases.mjs.
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain JS case generator
import { BAD_OPTIONS, HOSTILE_NAMES, localCases } from "../scripts/hostile-cases.mjs";
// @ts-expect-error plain JS mock
import { startMockHub } from "../scripts/mock-hub.mjs";
// @ts-expect-error plain JS writer
import { encodeHeaderOnly } from "../scripts/safetensors-writer.mjs";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string> = {}, timeout = 15_000): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/qaudit.js", ...args], { env: { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "qaudit-home-")), ...env }, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const STACK = /^\s+at /m;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function expectClean(r: Result, secret?: string): void {
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.stderr.trimEnd().split("\n").length).toBeLessThanOrEqual(3);
  expect(r.stderr).not.toMatch(CONTROL);
  if (secret !== undefined) expect(r.stdout + r.stderr).not.toContain(secret);
}

interface LocalCase {
  name: string;
  files: Record<string, Buffer | string | { symlink: string }>;
  args?: string[];
  exit: number;
  message: RegExp | null;
  secret?: string;
  hostileNames?: boolean;
}

function materialise(c: LocalCase): string {
  const dir = mkdtempSync(join(tmpdir(), "qaudit-hostile-"));
  for (const [name, content] of Object.entries(c.files)) {
    const path = join(dir, name);
    if (content === "fifo") execFileSync("mkfifo", [path]);
    else if (typeof content === "object" && "symlink" in content) symlinkSync(content.symlink.startsWith("/") ? content.symlink : join(dir, content.symlink), path);
    else writeFileSync(path, content);
  }
  return dir;
}

describe("hostile local inputs", () => {
  for (const c of localCases() as LocalCase[]) {
    it(`${c.name} → exit ${c.exit}`, async () => {
      const dir = materialise(c);
      const args = (c.args ?? []).map((a) => (a.startsWith("@") ? join(dir, a.slice(1)) : a));
      const target = c.args?.some((a) => a.startsWith("@")) ? [] : [dir];
      const r = await run([...target, ...args]);
      expect(r.code, r.stderr).toBe(c.exit);
      if (c.message !== null) expect(r.stderr).toMatch(c.message);
      expectClean(r, c.secret);
      expect(r.ms).toBeLessThan(10_000);
      if (c.hostileNames === true) {
        // Table, markdown and CSV: no raw control character, no broken row, no live formula.
        expect(r.stdout).not.toMatch(CONTROL);
        expect(r.stdout).toContain("\\x1b[2J");
        const md = await run([dir, "--format", "markdown", "--all-tensors"]);
        expect(md.stdout).not.toMatch(CONTROL);
        for (const line of md.stdout.split("\n").filter((l) => l.startsWith("| `"))) expect(line.split(/(?<!\\)\|/).length).toBe(11);
        const csv = await run([dir, "--format", "csv", "--all-tensors"]);
        expect(csv.stdout).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
        expect(csv.stdout.split("\r\n").filter((l) => l.length > 0)).toHaveLength(1 + HOSTILE_NAMES.length);
        expect(csv.stdout).toMatch(/\n"'=HYPERLINK/);
        const json = JSON.parse((await run([dir, "--json"])).stdout) as { tensors: Array<{ name: string }> };
        expect(json.tensors.map((t) => t.name).sort()).toEqual([...HOSTILE_NAMES].sort()); // JSON keeps them as data
      }
    });
  }

  it.each(BAD_OPTIONS as string[][])("%j → exit 2, one line", async (...args) => {
    const r = await run(["fixtures/tiny-llama", ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expectClean(r);
  });

  it("qaudit … | head -c 100: the pipe closes, qaudit finishes quietly", async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", ["--norc", "--noprofile", "-c", "node bin/qaudit.js fixtures/opt-350m --all-tensors | head -c 100 >/dev/null; echo ${PIPESTATUS[0]} >&2"], { env: { PATH: process.env.PATH ?? "" } });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(r.stderr.trim().split("\n").pop()).toBe("0");
  });
});

describe("hostile servers and settings (mock Hub)", () => {
  let hub: { endpoint: string; addRepo: (id: string, o: object) => string; fault: (f: object) => void; state: Record<string, unknown>; stats: { requests: number; bytesSent: number }; reset: () => void; close: () => Promise<void> };
  const tiny = encodeHeaderOnly([["model.layers.0.mlp.up_proj.weight", "F16", [8, 8]]]) as Buffer;
  const TOKEN = "hf_secret_token_abc123";
  beforeAll(async () => {
    hub = await startMockHub({ lifetimeMs: 120_000 });
    hub.addRepo("org/ok", { files: { "config.json": '{"model_type":"llama"}', "model.safetensors": tiny } });
    hub.addRepo("org/noconfig", { files: { "model.safetensors": tiny } });
  });
  afterAll(async () => hub.close());
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "qaudit-cache-")), ...extra });

  const cases: Array<[string, () => void, string, number, RegExp]> = [
    ["config.json listed but refused (403)", () => hub.fault({ path: "config.json", status: 403, times: 5 }), "org/ok", 4, /forbidden \(403\)/],
    ["config.json listed, plain 404 from a mirror", () => hub.fault({ path: "config.json", status: 404, times: 5 }), "org/ok", 4, /not found/],
    ["config.json absent: its speculative read fails, no matter", () => hub.fault({ path: "config.json", status: 401, times: 5 }), "org/noconfig", 0, /^$/],
    ["a redirect loop", () => hub.fault({ host: "hub", path: "model.safetensors", redirectLoop: true, times: 20 }), "org/ok", 4, /redirects/],
    ["config.json gzip-compressed though no encoding was asked for", () => hub.fault({ path: "config.json", body: gzipSync(Buffer.from('{"model_type":"llama"}')), headers: { "Content-Encoding": "gzip" }, times: 5 }), "org/ok", 4, /compressed body \(gzip\)/],
    ["a proxy's HTML page instead of the API answer", () => hub.fault({ path: "/api/models", body: "<html>proxy</html>", headers: { "Content-Type": "text/html" }, times: 10 }), "org/ok", 4, /not a model description/],
    ["siblings not a list", () => hub.fault({ path: "/api/models", body: JSON.stringify({ sha: "a".repeat(40), siblings: "nope" }), times: 10 }), "org/ok", 4, /the Hub's answer for org\/ok/],
    ["rfilename not a string", () => hub.fault({ path: "/api/models", body: JSON.stringify({ sha: "a".repeat(40), siblings: [{ rfilename: 7 }] }), times: 10 }), "org/ok", 4, /the Hub's answer for org\/ok/],
    ["no commit sha", () => hub.fault({ path: "/api/models", body: JSON.stringify({ siblings: [] }), times: 10 }), "org/ok", 4, /no commit sha/],
  ];
  it.each(cases)("%s → exit %#", async (_name, setup, repo, exit, message) => {
    hub.reset();
    setup();
    const r = await run([repo, "--timeout", "5"], env());
    expect(r.code, r.stderr).toBe(exit);
    expect(r.stderr).toMatch(message);
    expectClean(r);
  });

  it("a gzip bomb as the API answer: refused, memory bounded", async () => {
    hub.reset();
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces in ~64 KB
    hub.fault({ path: "/api/models", body: bomb, headers: { "Content-Encoding": "gzip", "Content-Type": "application/json" }, times: 10 });
    const r = await run(["org/ok"], env());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/over 16777216 bytes/);
    expectClean(r);
  });

  it.each([
    ["HF_ENDPOINT=notaurl", { HF_ENDPOINT: "notaurl" }, /HF_ENDPOINT is not a URL/, undefined],
    ["HF_ENDPOINT with credentials", { HF_ENDPOINT: "http://user:s3cr3tpass@127.0.0.1:9" }, /must not carry credentials/, "s3cr3tpass"],
    ["a token with a newline", { HF_TOKEN: `${TOKEN}\nsecond` }, /malformed/, TOKEN],
  ] as const)("%s → exit 2, nothing echoed", async (_name, extra, message, secret) => {
    const r = await run(["org/ok"], { ...env(), ...extra });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expectClean(r, secret);
  });

  it("a two-line token file → exit 2, the token never shown", async () => {
    const home = mkdtempSync(join(tmpdir(), "qaudit-hf-"));
    writeFileSync(join(home, "token"), `${TOKEN}\nhf_other_line\n`);
    const r = await run(["org/ok"], { ...env(), HF_HOME: home });
    expect(r.code).toBe(2);
    expectClean(r, TOKEN);
  });

  it("the token file's token never appears, --verbose retry lines included", async () => {
    hub.reset();
    hub.fault({ path: "config.json", status: 503, times: 2 });
    const home = mkdtempSync(join(tmpdir(), "qaudit-hf-"));
    writeFileSync(join(home, "token"), `${TOKEN}\n`);
    const r = await run(["org/ok", "--verbose"], { ...env(), HF_HOME: home });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retrying/);
    expect(r.stderr).not.toContain(TOKEN);
  });

  it("damaged cache entries are misses, never an empty report", async () => {
    // An entry is its payload, a JSON manifest, and the manifest's length (8 bytes, little-endian).
    const framed = (manifest: string): Buffer => {
      const bytes = Buffer.from(manifest);
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(bytes.length));
      return Buffer.concat([bytes, length]);
    };
    const manifests = ["null", "{}", JSON.stringify({ format: 3, files: [], config: null, index: null, headers: {} }), JSON.stringify({ format: 3, files: ["model.safetensors"], config: null, index: null, headers: { "model.safetensors": [-1, 2] } }), JSON.stringify({ format: 3, files: ["../../x.safetensors"], config: null, index: null, headers: { "../../x.safetensors": [0, 2] } }), JSON.stringify({ format: 3, files: ["model.safetensors"], config: null, index: null, headers: { "model.safetensors": [0, 0] } }), "[1,2]"];
    for (const entry of [...manifests.map(framed), Buffer.from("{broken"), Buffer.alloc(3)]) {
      hub.reset();
      const cache = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
      const first = await run(["org/ok", "--json"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache });
      expect(first.code).toBe(0);
      // Overwrite every snapshot written by the first run.
      const snapshots = execFileSync("find", [cache, "-path", "*snapshots*", "-name", "*.entry"]).toString().trim().split("\n");
      expect(snapshots.length).toBeGreaterThan(0);
      for (const path of snapshots) writeFileSync(path, entry);
      const second = await run(["org/ok", "--json"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache });
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout).model.tensorCount).toBe(1);
      const offline = await run(["org/ok", "--offline"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache });
      expect(offline.code).toBe(0);
    }
  });

  it("no network: one line naming the cause, quickly", async () => {
    const r = await run(["org/ok"], { HF_ENDPOINT: "http://qaudit-test-host.invalid" });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot reach qaudit-test-host\.invalid/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.ms).toBeLessThan(10_000);
  });

  it("a cached copy is suggested when the Hub cannot be reached", async () => {
    hub.reset();
    const cache = mkdtempSync(join(tmpdir(), "qaudit-cache-"));
    expect((await run(["org/ok"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache })).code).toBe(0);
    // Every connection reset from now on: the network is gone.
    hub.fault({ reset: true, times: 100 });
    const r = await run(["org/ok", "--timeout", "2"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/a cached copy of org\/ok@main exists: rerun with --offline/);
    expectClean(r);
    expect((await run(["org/ok", "--offline"], { HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache })).code).toBe(0);
  });
});
