// Regenerates docs/report-*.png: the HTML report of the bundled OPT-350m fixture (nf4, fit on a T4)
// in headless Chromium at a desktop and a phone size. Usage: npm run build && node scripts/screenshots.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"];

export function screenshot(chromium, html, png, [width, height]) {
  execFileSync(chromium, [...CHROMIUM_FLAGS, `--user-data-dir=${mkdtempSync(join(tmpdir(), "qaudit-chromium-"))}`, `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${html}`], { stdio: "pipe", timeout: 60_000 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = mkdtempSync(join(tmpdir(), "qaudit-report-"));
  const html = join(out, "report.html");
  execFileSync(process.execPath, ["bin/qaudit.js", "fit", "fixtures/opt-350m", "--scheme", "nf4", "--gpu", "T4", "--context", "2k", "--batch", "8", "--format", "html", "--out", html]);
  for (const size of [[1280, 800], [390, 844]]) screenshot(process.env.CHROMIUM ?? "chromium", html, join(process.cwd(), "docs", `report-${size[0]}.png`), size);
  console.log("docs/report-1280.png, docs/report-390.png written");
}
