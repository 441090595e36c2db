import { hierarchy, treemap, treemapSquarify, type HierarchyRectangularNode } from "d3-hierarchy";
import type { Comparison, Report } from "../core/report/index.js";
import { reportRows, originalLabel, schemeTitle, totalLines } from "./rows.js";
import { formatBytes, formatCount, formatShape, type Units } from "./units.js";

/**
 * One self-contained HTML page (inline CSS and SVG, no script, no network): a treemap of where the
 * bytes go, the figures as text, and the fit budget, comparison bars or error heat strip when the
 * report has them. Deterministic: the same report gives the same bytes.
 */
export interface HtmlOptions {
  units: Units;
  /** `fit`: total memory at increasing contexts, for the curve (absent: no curve). */
  fitCurve?: Array<{ context: number; total: number }>;
}

const W = 960;
const H = 540;

/** Every character that means something in HTML (and every control character) as an entity. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1000px;padding:16px;color:#1d1d1f;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px} p{margin:6px 0}
.sub{color:#555} svg{width:100%;height:auto;display:block;border:1px solid #ddd;background:#fafafa}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:8px 0} td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee} td:first-child,th:first-child{text-align:left}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.scroll{overflow-x:auto}
@media print{body{max-width:none}svg{border:none}}`;

const COLORS: Readonly<Record<string, string>> = {
  uint8: "#2f7ed8",
  int8: "#5b9bd5",
  float16: "#e8a33d",
  bfloat16: "#d9822b",
  float32: "#c0504d",
  float64: "#8e3b39",
};
const colorOf = (dtype: string): string => (Object.prototype.hasOwnProperty.call(COLORS, dtype) ? COLORS[dtype]! : "#8a8a8a");

interface TreeNode {
  name: string;
  children?: TreeNode[];
  value?: number;
  row?: ReturnType<typeof reportRows>[number];
}

/** The model by module path (`model` → `layers.*` → `self_attn` → tensor), leaves sized by bytes. */
function moduleTree(report: Report): TreeNode {
  const root: TreeNode = { name: "model", children: [] };
  for (const row of reportRows(report, false)) {
    const bytes = row.count * (row.tensor.parameterBytes + row.tensor.quantStateBytes);
    if (bytes <= 0) continue;
    const parts = row.name.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node.children ??= [];
      let child = node.children.find((c) => c.name === part && c.children !== undefined);
      if (child === undefined) {
        child = { name: part, children: [] };
        node.children.push(child);
      }
      node = child;
    }
    (node.children ??= []).push({ name: parts[parts.length - 1]!, value: bytes, row });
  }
  return root;
}

/** Treemap rectangles (squarified), one per tensor group, with its row as a tooltip. */
export function treemapSvg(report: Report, units: Units): string {
  const root = hierarchy<TreeNode>(moduleTree(report))
    .sum((d) => d.value ?? 0)
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0) || a.data.name.localeCompare(b.data.name));
  // No padding: a rectangle's area is exactly its share of the bytes; the white strokes separate them.
  const laid: HierarchyRectangularNode<TreeNode> = treemap<TreeNode>().tile(treemapSquarify).size([W, H]).round(false)(root);
  const rects = laid.leaves().map((leaf) => {
    const row = leaf.data.row!;
    const t = row.tensor;
    const w = leaf.x1 - leaf.x0;
    const h = leaf.y1 - leaf.y0;
    const tip = [
      row.name + (row.count > 1 ? ` ×${row.count}` : ""),
      `original ${originalLabel(t)}; stored ${formatShape(t.storedShape)} ${t.storedDtype}`,
      `logical ${formatCount(t.logicalElements)}, numel ${formatCount(t.storedElements)}, ${t.trainable ? "trainable" : "frozen"}`,
      `bytes ${formatCount(t.parameterBytes)} + quant state ${formatCount(t.quantStateBytes)} per tensor; ${formatBytes(leaf.value ?? 0, units)} in all`,
    ].join("\n");
    const label = w > 70 && h > 14 ? `<text x="${(leaf.x0 + 3).toFixed(2)}" y="${(leaf.y0 + 12).toFixed(2)}" font-size="10" fill="#fff" pointer-events="none">${escapeHtml(shorten(row.name.split(".").slice(-2).join("."), Math.floor(w / 6)))}</text>` : "";
    return `<g><rect class="tensor" data-name="${escapeHtml(row.name)}" data-bytes="${leaf.value ?? 0}" x="${leaf.x0.toFixed(3)}" y="${leaf.y0.toFixed(3)}" width="${w.toFixed(3)}" height="${h.toFixed(3)}" fill="${colorOf(t.storedDtype)}" stroke="#fff" stroke-width="0.5"><title>${escapeHtml(tip)}</title></rect>${label}</g>`;
  });
  return `<svg id="treemap" viewBox="0 0 ${W} ${H}" role="img" aria-label="bytes by module">${rects.join("")}</svg>`;
}

function shorten(text: string, room: number): string {
  return text.length <= room ? text : `${text.slice(0, Math.max(1, room - 1))}…`;
}

function legend(dtypes: string[]): string {
  return `<p class="legend">${dtypes.map((d) => `<span><i class="sw" style="background:${colorOf(d)}"></i>${escapeHtml(d)}</span>`).join("")}</p>`;
}

function page(title: string, body: string[]): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n${body.join("\n")}\n</body></html>\n`;
}

/** The audit (and fit, error) report as a page. */
export function renderHtml(report: Report, options: HtmlOptions): string {
  const units = options.units;
  const dtypes = [...new Set(report.tensors.map((t) => t.storedDtype))].sort();
  const totals = totalLines(report)
    .map(({ label, value, bytes }) => `<tr><td>${escapeHtml(label)}</td><td data-total="${escapeHtml(label)}">${bytes ? `${formatBytes(value, units)} (${formatCount(value)} bytes)` : formatCount(value)}</td></tr>`)
    .join("");
  const body = [
    `<h1>${escapeHtml(report.model.source)}</h1>`,
    `<p class="sub">${escapeHtml(schemeTitle(report))}, unquantized in ${escapeHtml(report.scheme.torchDtype)}; ${formatCount(report.model.tensorCount)} tensors in ${report.model.files.length} file${report.model.files.length === 1 ? "" : "s"}</p>`,
    `<h2>Where the bytes go</h2>`,
    `<p class="sub">Area is bytes (parameters and quantization state); colour is the stored dtype. Hover a block for its figures.</p>`,
    treemapSvg(report, units),
    legend(dtypes),
    `<h2>Totals</h2><table id="totals" data-total-bytes="${report.totals.totalBytes}">${totals}</table>`,
    ...report.explanation.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(report.fit === undefined ? [] : fitSection(report, options)),
    ...(report.error === undefined ? [] : errorSection(report)),
  ];
  return page(`qaudit: ${report.model.source}`, body);
}

function fitSection(report: Report, options: HtmlOptions): string[] {
  const fit = report.fit!;
  const units = options.units;
  const limit = fit.limit ?? fit.gpu?.bytes ?? fit.total;
  const scale = Math.max(limit, fit.total);
  let x = 0;
  const palette = ["#2f7ed8", "#5b9bd5", "#8bbf3f", "#e8a33d", "#9e9e9e", "#c0504d", "#7e57c2", "#26a69a"];
  const bars = fit.components.map((c, i) => {
    const w = (c.bytes / scale) * (W - 20);
    const rect = `<rect class="component" data-name="${escapeHtml(c.name)}" data-bytes="${c.bytes}" data-exact="${c.exact}" x="${(10 + x).toFixed(2)}" y="20" width="${w.toFixed(2)}" height="40" fill="${palette[i % palette.length]}"${c.exact ? "" : ' fill-opacity="0.55" stroke="#333" stroke-dasharray="3 2"'}><title>${escapeHtml(`${c.name}: ${formatBytes(c.bytes, units)} (${c.exact ? "exact" : "estimate"}; ${c.basis})`)}</title></rect>`;
    x += w;
    return rect;
  });
  const gpuLine = fit.gpu === null ? "" : `<line x1="${(10 + (limit / scale) * (W - 20)).toFixed(2)}" x2="${(10 + (limit / scale) * (W - 20)).toFixed(2)}" y1="10" y2="70" stroke="#000" stroke-width="2"/><text x="${(10 + (limit / scale) * (W - 20) - 4).toFixed(2)}" y="82" font-size="11" text-anchor="end">${escapeHtml(fit.gpu.name)} ${escapeHtml(formatBytes(limit, units))}</text>`;
  const rows = fit.components.map((c) => `<tr><td>${escapeHtml(c.name)}</td><td>${formatBytes(c.bytes, units)}</td><td>${c.exact ? "exact" : "estimate"}</td><td style="text-align:left">${escapeHtml(c.basis)}</td></tr>`).join("");
  const verdict = fit.fits === null ? "no GPU given" : fit.fits ? "fits" : "does not fit";
  return [
    `<h2>Will it fit: ${escapeHtml(fit.engine)}, ${formatCount(fit.context)} tokens × ${fit.batch}</h2>`,
    `<svg id="fit-bar" viewBox="0 0 ${W} 90" role="img" aria-label="memory budget">${bars.join("")}${gpuLine}</svg>`,
    `<p class="sub">Solid parts are exact; dashed, lighter parts are estimates.</p>`,
    `<div class="scroll"><table id="fit" data-fit-total="${fit.total}"><tr><th>component</th><th>bytes</th><th></th><th>basis</th></tr>${rows}<tr><td><b>total</b></td><td><b>${formatBytes(fit.total, units)}</b></td><td></td><td style="text-align:left">${verdict}${fit.maxContext === null ? "" : `; largest context ${formatCount(fit.maxContext)}, largest batch ${formatCount(fit.maxBatch ?? 0)}`}</td></tr></table></div>`,
    ...(options.fitCurve === undefined ? [] : [fitCurveSvg(options.fitCurve, fit.gpu === null ? null : limit, fit.maxContext, units)]),
  ];
}

function fitCurveSvg(curve: Array<{ context: number; total: number }>, limit: number | null, maxContext: number | null, units: Units): string {
  const h = 240;
  const maxX = Math.max(...curve.map((p) => p.context));
  const maxY = Math.max(limit ?? 0, ...curve.map((p) => p.total)) * 1.05;
  const px = (c: number): number => 50 + (c / maxX) * (W - 70);
  const py = (b: number): number => h - 30 - (b / maxY) * (h - 50);
  const path = curve.map((p, i) => `${i === 0 ? "M" : "L"}${px(p.context).toFixed(2)},${py(p.total).toFixed(2)}`).join(" ");
  const gpu = limit === null ? "" : `<line x1="50" x2="${W - 20}" y1="${py(limit).toFixed(2)}" y2="${py(limit).toFixed(2)}" stroke="#c0504d" stroke-dasharray="4 3"/><text x="${W - 22}" y="${(py(limit) - 4).toFixed(2)}" font-size="11" text-anchor="end">GPU ${escapeHtml(formatBytes(limit, units))}</text>`;
  const marker = maxContext === null || maxContext === 0 ? "" : `<line x1="${px(maxContext).toFixed(2)}" x2="${px(maxContext).toFixed(2)}" y1="20" y2="${h - 30}" stroke="#555" stroke-dasharray="2 2"/><text x="${(px(maxContext) + 4).toFixed(2)}" y="30" font-size="11">largest context ${formatCount(maxContext)}</text>`;
  return `<svg id="fit-curve" viewBox="0 0 ${W} ${h}" role="img" aria-label="total memory against context"><line x1="50" x2="${W - 20}" y1="${h - 30}" y2="${h - 30}" stroke="#999"/><text x="50" y="${h - 10}" font-size="11">0</text><text x="${W - 20}" y="${h - 10}" font-size="11" text-anchor="end">${formatCount(maxX)} tokens</text><path d="${path}" fill="none" stroke="#2f7ed8" stroke-width="2"/>${gpu}${marker}</svg>`;
}

function errorSection(report: Report): string[] {
  const error = report.error!;
  // One strip per module kind (the name pattern), one cell per layer index, coloured by SQNR.
  const byPattern = new Map<string, Map<number, number | null>>();
  for (const t of error.tensors) {
    const index = /(?:^|\.)(\d+)(?=\.)/.exec(t.name);
    if (index === null) continue;
    const pattern = t.name.replace(/(^|\.)\d+(?=\.|$)/g, "$1*");
    if (!byPattern.has(pattern)) byPattern.set(pattern, new Map());
    byPattern.get(pattern)!.set(Number(index[1]), t.sqnrDb);
  }
  const patterns = [...byPattern.keys()].sort();
  const layers = Math.max(1, ...[...byPattern.values()].flatMap((m) => [...m.keys()].map((k) => k + 1)));
  const values = error.tensors.map((t) => t.sqnrDb).filter((v): v is number => v !== null);
  const lo = values.length === 0 ? 0 : Math.min(...values);
  const hi = values.length === 0 ? 1 : Math.max(...values);
  const cell = Math.max(4, Math.min(24, (W - 260) / layers));
  const strips = patterns.map((p, row) => {
    const cells = [...byPattern.get(p)!.entries()].sort((a, b) => a[0] - b[0]).map(([layer, sqnr]) => {
      const t = sqnr === null || hi === lo ? 1 : (sqnr - lo) / (hi - lo);
      const color = sqnr === null ? "#dddddd" : `hsl(${Math.round(t * 120)},65%,45%)`;
      return `<rect class="sqnr" x="${(250 + layer * cell).toFixed(2)}" y="${(row * 18 + 4).toFixed(2)}" width="${(cell - 1).toFixed(2)}" height="16" fill="${color}"><title>${escapeHtml(`${p.replace("*", String(layer))}: ${sqnr === null ? "exact" : `${sqnr.toFixed(2)} dB`}`)}</title></rect>`;
    });
    return `<text x="245" y="${(row * 18 + 16).toFixed(2)}" font-size="11" text-anchor="end">${escapeHtml(shorten(p, 40))}</text>${cells.join("")}`;
  });
  const worst = error.tensors.filter((t) => t.sqnrDb !== null).slice(0, 10).map((t) => `<tr><td>${escapeHtml(t.name)}</td><td>${t.sqnrDb!.toFixed(2)} dB</td><td>${t.rmse === null ? "" : t.rmse.toPrecision(4)}</td></tr>`).join("");
  return [
    `<h2>Quantization error (${escapeHtml(error.scheme)}${error.doubleQuant ? " + double quant" : ""}${error.sampled ? ", sampled" : ""})</h2>`,
    `<p class="sub">SQNR per layer: green is the best, red the worst of this model (${lo.toFixed(2)}–${hi.toFixed(2)} dB). Overall ${error.overall.sqnrDb === null ? "exact" : `${error.overall.sqnrDb.toFixed(2)} dB`} over ${formatCount(error.overall.elements)} elements.</p>`,
    patterns.length === 0 ? "" : `<svg id="error-strip" viewBox="0 0 ${W} ${patterns.length * 18 + 8}" role="img" aria-label="SQNR by layer">${strips.join("")}</svg>`,
    `<table id="worst"><tr><th>worst tensors</th><th>SQNR</th><th>rmse</th></tr>${worst}</table>`,
  ];
}

/** A comparison as a page: one stacked bar per model and scheme, the GPU (or --max-memory) as a line. */
export function renderComparisonHtml(comparison: Comparison, options: HtmlOptions): string {
  const units = options.units;
  const rows = comparison.rows;
  const scale = Math.max(1, comparison.maxMemory ?? 0, ...rows.map((r) => r.fit?.total ?? r.totals.totalBytes));
  const barH = 26;
  const svgH = rows.length * (barH + 8) + 30;
  const parts = rows.map((r, i) => {
    const y = 10 + i * (barH + 8);
    const segments: Array<[string, number, string]> = [
      ["parameter bytes", r.totals.parameterBytes, "#2f7ed8"],
      ["quantization state", r.totals.quantStateBytes, "#8bbf3f"],
      ...(r.fit === undefined ? [] : ([["KV cache, activations, overhead", Math.max(0, r.fit.total - r.totals.totalBytes), "#e8a33d"]] as Array<[string, number, string]>)),
    ];
    let x = 180;
    const rects = segments.map(([name, bytes, color]) => {
      const w = (bytes / scale) * (W - 200);
      const rect = `<rect class="segment" data-row="${i}" data-name="${escapeHtml(name)}" data-bytes="${bytes}" x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${barH}" fill="${color}"><title>${escapeHtml(`${r.label}: ${name} ${formatBytes(bytes, units)}`)}</title></rect>`;
      x += w;
      return rect;
    });
    const label = `${comparison.models.length > 1 ? `${r.model} ` : ""}${r.label}`;
    return `<text x="175" y="${y + 17}" font-size="12" text-anchor="end">${escapeHtml(shorten(label, 28))}</text>${rects.join("")}<text x="${(x + 4).toFixed(2)}" y="${y + 17}" font-size="11">${escapeHtml(formatBytes(r.fit?.total ?? r.totals.totalBytes, units))}${r.error?.sqnrDb == null ? "" : `, ${r.error.sqnrDb.toFixed(1)} dB`}</text>`;
  });
  const limit = comparison.maxMemory;
  const line = limit === undefined ? "" : `<line x1="${(180 + (limit / scale) * (W - 200)).toFixed(2)}" x2="${(180 + (limit / scale) * (W - 200)).toFixed(2)}" y1="0" y2="${svgH}" stroke="#c0504d" stroke-width="2" stroke-dasharray="5 3"/>`;
  const body = [
    `<h1>${escapeHtml(comparison.models.map((m) => m.source).join(", "))}</h1>`,
    `<p class="sub">Schemes ${escapeHtml(comparison.schemes.join(", "))}${limit === undefined ? "" : `; budget ${escapeHtml(formatBytes(limit, units))} (red line)`}</p>`,
    `<svg id="compare" viewBox="0 0 ${W} ${svgH}" role="img" aria-label="memory by scheme">${parts.join("")}${line}</svg>`,
    legend([]).replace("</p>", `<span><i class="sw" style="background:#2f7ed8"></i>parameter bytes</span><span><i class="sw" style="background:#8bbf3f"></i>quantization state</span>${rows.some((r) => r.fit !== undefined) ? '<span><i class="sw" style="background:#e8a33d"></i>KV cache, activations, overhead</span>' : ""}</p>`),
    `<table id="rows"><tr><th>model</th><th>scheme</th><th>sum(p.numel())</th><th>total bytes</th></tr>${rows.map((r) => `<tr><td>${escapeHtml(r.model)}</td><td>${escapeHtml(r.label)}</td><td>${formatCount(r.totals.reportedParameters)}</td><td data-total-bytes="${r.totals.totalBytes}">${formatCount(r.totals.totalBytes)}</td></tr>`).join("")}</table>`,
  ];
  return page(`qaudit compare: ${comparison.models.map((m) => m.source).join(", ")}`, body);
}
