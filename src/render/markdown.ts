import type { Report } from "../core/report/index.js";
import { cleanText, markdownCode } from "./text.js";
import { originalLabel, reportRows, schemeTitle, totalLines } from "./rows.js";
import { trainingRows, trainingTitle } from "./training.js";
import { formatBytes, formatCount, formatShape, type Units } from "./units.js";

export interface MarkdownOptions {
  units: Units;
  allTensors: boolean;
}

/** A GitHub-flavoured markdown report, ready for a pull-request comment. */
export function renderMarkdown(report: Report, options: MarkdownOptions): string {
  // Untrusted text: control characters escaped, pipes escaped, names in code spans that cannot break.
  const cell = (s: string): string => cleanText(s).replace(/\|/g, "\\|");
  const lines = [
    `### ${cell(report.model.source)}: ${schemeTitle(report)} (unquantized in ${report.scheme.torchDtype})`,
    "",
    "| tensor | × | original | stored | logical | numel | trainable | bytes | quant state |",
    "|---|--:|---|---|--:|--:|:-:|--:|--:|",
  ];
  for (const { name, tensor: t, count } of reportRows(report, options.allTensors)) {
    const stored = t.tiedTo !== undefined ? `tied to ${markdownCode(t.tiedTo)}` : `\`${formatShape(t.storedShape)}\` ${t.storedDtype}`;
    lines.push(
      `| ${markdownCode(name)} | ${count} | ${cell(originalLabel(t))} | ${stored} | ${formatCount(t.logicalElements)} | ` +
        `${formatCount(t.storedElements)} | ${t.kind === "buffer" ? "buffer" : t.trainable ? "yes" : "no"} | ${formatBytes(t.parameterBytes, options.units)} | ${formatBytes(t.quantStateBytes, options.units)} |`,
    );
  }
  lines.push("", "| total | value |", "|---|--:|");
  for (const { label, value, bytes } of totalLines(report)) {
    lines.push(`| ${label} | ${bytes ? `${formatBytes(value, options.units)} (${formatCount(value)} bytes)` : formatCount(value)} |`);
  }
  if (report.training !== undefined) {
    lines.push("", `**${trainingTitle(report.training, schemeTitle(report))}**`, "", "| component | bytes |", "|---|--:|");
    for (const [label, value] of trainingRows(report.training, options.units)) lines.push(`| ${label} | ${value} |`);
    lines.push("", `\`${report.training.peftLine}\``, "", ...report.training.notes);
  }
  if (report.explanation.length > 0) lines.push("", ...report.explanation.map((s) => `> ${cleanText(s)}`).join("\n>\n").split("\n"));
  return `${lines.join("\n")}\n`;
}
