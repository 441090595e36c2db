import Table from "cli-table3";

export type Align = "left" | "right";

/**
 * cli-table3 lays out a table in time that grows faster than its rows (about 7 s for 8,000 rows of
 * ten columns); past this many rows the same box is drawn by a linear layout instead.
 */
const CLI_TABLE_MAX_ROWS = 1_000;

// Row separators off: a model has hundreds of rows.
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

const ANSI = /\u001b\[[0-9;]*m/g;

/** A boxed table with one line per row, the same look whichever engine draws it. */
export function renderGrid(head: string[], rows: string[][], aligns: Align[]): string {
  if (rows.length <= CLI_TABLE_MAX_ROWS) {
    const table = new Table({ head, chars: COMPACT, style: { head: [], border: [], "padding-left": 1, "padding-right": 1 }, colAligns: aligns });
    for (const row of rows) table.push(row);
    return table.toString();
  }
  return linearGrid(head, rows, aligns);
}

/** The same box as cli-table3 draws it (compact, padding 1), laid out in one pass over the rows. */
export function linearGrid(head: string[], rows: string[][], aligns: Align[]): string {
  const visible = (s: string): number => s.replace(ANSI, "").length;
  const widths = head.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]): string =>
    `│${cells.map((cell, i) => {
      const pad = " ".repeat(widths[i]! - visible(cell));
      return ` ${aligns[i] === "right" ? pad + cell : cell + pad} `;
    }).join("│")}│`;
  const rule = (left: string, mid: string, right: string): string => left + widths.map((w) => "─".repeat(w + 2)).join(mid) + right;
  return [rule("┌", "┬", "┐"), line(head), ...rows.map(line), rule("└", "┴", "┘")].join("\n");
}
