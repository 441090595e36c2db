// --format html: one self-contained page. Structure checked on the SVG; the page opened in headless
// Chromium (installed by .ci/run) at a desktop and a phone size.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS helper shared with the screenshot script
import { CHROMIUM_FLAGS, screenshot } from "../scripts/screenshots.mjs";
// @ts-expect-error plain JS writer
import { encodeSafetensors, headerJson } from "../scripts/safetensors-writer.mjs";
import { runMain } from "./run-main.js";

const attr = (tag: string, name: string): string => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1] ?? "";
const rects = (html: string, cls: string): string[] => [...html.matchAll(new RegExp(`<rect class="${cls}"[^>]*>`, "g"))].map((m) => m[0]);

async function page(args: string[]): Promise<string> {
  const r = await runMain([...args, "--format", "html"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("the treemap", () => {
  it("areas are proportional to bytes within 0.5 %, every tensor group is there, totals equal the JSON's", async () => {
    const html = await page(["fixtures/opt-350m", "--scheme", "nf4"]);
    const json = JSON.parse((await runMain(["fixtures/opt-350m", "--scheme", "nf4", "--json"])).stdout) as { totals: { totalBytes: number } };
    const tiles = rects(html, "tensor");
    const bytes = tiles.map((t) => Number(attr(t, "data-bytes")));
    const areas = tiles.map((t) => Number(attr(t, "width")) * Number(attr(t, "height")));
    const totalBytes = bytes.reduce((a, b) => a + b, 0);
    const totalArea = areas.reduce((a, b) => a + b, 0);
    expect(totalBytes).toBe(json.totals.totalBytes);
    expect(Math.abs(totalArea / (960 * 540) - 1)).toBeLessThan(1e-4); // coordinates are printed to 0.001 px
    tiles.forEach((_, i) => expect(Math.abs(areas[i]! / totalArea / (bytes[i]! / totalBytes) - 1)).toBeLessThan(0.005));
    // One tile per group of the table: 20 groups for OPT-350m.
    expect(new Set(tiles.map((t) => attr(t, "data-name"))).size).toBe(20);
    expect(html).toContain(`data-total-bytes="${json.totals.totalBytes}"`);
  });

  it("is deterministic, self-contained and has no script", async () => {
    const a = await page(["fixtures/gpt2", "--scheme", "int8"]);
    const b = await page(["fixtures/gpt2", "--scheme", "int8"]);
    expect(a).toBe(b);
    expect(a).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it("hostile names are text, never markup", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qaudit-html-"));
    const names = ['model.x.<script>alert(1)</script>.weight', 'model.x."quoted"&amp;.weight', "model.x.\u001b[2Jesc.weight"];
    writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(headerJson(names.map((n) => [n, "F16", [8, 8]]))));
    const html = await page([dir]);
    expect(html).not.toContain("<script>");
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(html).toContain("&#60;script&#62;");
  });
});

describe("fit, compare and error pages", () => {
  it("fit: the budget bar with exact and estimated parts, the curve, the GPU", async () => {
    const html = await page(["fit", "fixtures/opt-350m", "--scheme", "nf4", "--gpu", "T4", "--context", "2k", "--batch", "8"]);
    const parts = rects(html, "component");
    expect(parts.map((p) => attr(p, "data-exact"))).toEqual(["true", "true", "true", "false", "false"]);
    const json = JSON.parse((await runMain(["fit", "fixtures/opt-350m", "--scheme", "nf4", "--gpu", "T4", "--context", "2k", "--batch", "8", "--json"])).stdout) as { fit: { total: number } };
    expect(parts.reduce((s, p) => s + Number(attr(p, "data-bytes")), 0)).toBe(json.fit.total);
    expect(html).toContain('id="fit-curve"');
    expect(html).toMatch(/largest context 2,048/);
  });
  it("compare: one bar per scheme", async () => {
    const html = await page(["compare", "fixtures/opt-350m", "--max-memory", "300MiB"]);
    expect(new Set(rects(html, "segment").map((r) => attr(r, "data-row"))).size).toBe(6);
  });
});

describe("in a real browser (headless Chromium)", () => {
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  // CI installs Chromium (.ci/run); on a machine without it this check cannot run.
  it.skipIf(chromium === undefined && process.env.CI !== "true")("renders at 1280×800 and 390×844: every rectangle, selectable text, no console error", async () => {
    expect(chromium, "Chromium is required in CI (.ci/run installs it)").toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "qaudit-browser-"));
    const html = join(dir, "report.html");
    writeFileSync(html, await page(["fit", "fixtures/opt-350m", "--scheme", "nf4", "--gpu", "T4", "--context", "2k"]));
    const expected = rects(readFileSync(html, "utf8"), "tensor").length;
    const run = spawnSync(chromium!, [...CHROMIUM_FLAGS, `--user-data-dir=${mkdtempSync(join(tmpdir(), "qaudit-chromium-"))}`, "--enable-logging=stderr", "--v=0", "--dump-dom", `file://${html}`], { timeout: 60_000 });
    const dom = run.stdout.toString();
    // The page has no script; anything the console reports (a parse error, a blocked load) is a failure.
    expect(run.stderr.toString()).not.toMatch(/CONSOLE|Uncaught|ERR_FILE_NOT_FOUND/);
    expect(rects(dom, "tensor")).toHaveLength(expected);
    expect(dom).toMatch(/207,835,136 bytes/); // figures are text in the page, so selectable
    expect(dom).not.toMatch(/user-select:\s*none/);
    for (const size of [[1280, 800], [390, 844]] as const) {
      const png = join(dir, `report-${size[0]}.png`);
      screenshot(chromium, html, png, size);
      expect(statSync(png).size).toBeGreaterThan(5000);
      // PNG header, and the size asked for (IHDR width and height).
      const head = readFileSync(png).subarray(0, 24);
      expect(head.readUInt32BE(16)).toBe(size[0]);
      expect(head.readUInt32BE(20)).toBe(size[1]);
    }
  }, 120_000);
});
