import Table from "cli-table3";
import stringWidth from "string-width";
import { stripAnsi, wrapText } from "./text.js";

export type Align = "left" | "right";

/**
 * cli-table3 lays out a table in time that grows faster than its rows (about 7 s for 8,000 rows of
 * ten columns); past this many rows the same box is drawn by a linear layout instead.
 */
const CLI_TABLE_MAX_ROWS = 1_000;

// Row separators off: a model has hundreds of rows.
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

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
  // Display width: colour codes take none, CJK characters two columns.
  const visible = (s: string): number => stringWidth(s);
  const widths = head.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]): string =>
    `│${cells.map((cell, i) => {
      const pad = " ".repeat(widths[i]! - visible(cell));
      return ` ${aligns[i] === "right" ? pad + cell : cell + pad} `;
    }).join("│")}│`;
  const rule = (left: string, mid: string, right: string): string => left + widths.map((w) => "─".repeat(w + 2)).join(mid) + right;
  return [rule("┌", "┬", "┐"), line(head), ...rows.map(line), rule("└", "┴", "┘")].join("\n");
}

/** A column of a table that may have to fit a terminal. */
export interface Column {
  head: string;
  align: Align;
  cells: string[];
  /** Columns of lower priority are dropped first when the table is too wide; 0 is never dropped. */
  priority: number;
  /** The name column: shortened in the middle (rather than dropped) to fit. */
  shrink?: boolean;
  /** Colour applied after fitting (cells are plain text while widths are worked out). */
  style?: (cell: string, row: number) => string;
}

/** Border and padding a table of `n` columns adds to its cells: `│ a │ b │`. */
const chrome = (n: number): number => 3 * n + 1;

/**
 * A table within `width` columns (null: as wide as it needs, e.g. when piped): low-priority columns
 * are dropped first, then the name column is shortened in the middle, its layer index and its end
 * kept. Returns which columns were dropped, so the caller can say how to see them.
 */
export function renderColumns(columns: Column[], width: number | null): { text: string; dropped: string[] } {
  const shown = [...columns];
  const dropped: string[] = [];
  const natural = (c: Column): number => Math.max(stringWidth(c.head), ...c.cells.map((x) => stringWidth(x)));
  const total = (): number => shown.reduce((sum, c) => sum + natural(c), 0) + chrome(shown.length);
  if (width !== null) {
    const droppable = shown.filter((c) => c.priority > 0).sort((a, b) => a.priority - b.priority);
    for (const column of droppable) {
      if (total() <= width) break;
      shown.splice(shown.indexOf(column), 1);
      dropped.push(stripAnsi(column.head));
    }
  }
  let cells = shown.map((c) => c.cells);
  const name = shown.find((c) => c.shrink === true);
  if (width !== null && name !== undefined && total() > width) {
    const room = Math.max(16, natural(name) - (total() - width));
    const i = shown.indexOf(name);
    cells = cells.map((col, j) => (j === i ? col.map((cell) => shortenName(cell, room)) : col));
  }
  cells = cells.map((col, j) => {
    const style = shown[j]!.style;
    return style === undefined ? col : col.map((cell, r) => style(cell, r));
  });
  const rows = cells[0]?.map((_, r) => cells.map((col) => col[r] ?? "")) ?? [];
  return { text: renderGrid(shown.map((c) => c.head), rows, shown.map((c) => c.align)), dropped };
}

/** The line under a narrowed table: which columns it left out, and how to see them. */
export function narrowedNote(dropped: string[], width: number | null): string {
  return dropped.length === 0 ? "" : wrapText(`(fitted to ${width ?? 0} columns: ${dropped.join(", ")} left out; --wide shows all)`, width);
}

/**
 * `model.layers.*.self_attn.q_proj.weight` in `width` columns: the start up to the layer index and
 * the end stay, the middle gives way to an ellipsis.
 */
export function shortenName(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  const star = /^(.*?(?:\*|\.\d+)\.)/.exec(text)?.[1] ?? "";
  const head = star.length > 0 && star.length <= width / 2 ? star : text.slice(0, Math.ceil((width - 1) / 2));
  const tailLength = Math.max(1, width - 1 - head.length);
  return `${head}…${text.slice(text.length - tailLength)}`;
}

/** The dotted prefix every name shares (`model.decoder.`), or "" when there is none worth hoisting. */
export function commonPrefix(names: string[]): string {
  if (names.length < 2) return "";
  let prefix = names[0]!;
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, prefix.lastIndexOf(".", prefix.length - 2) + 1);
  return prefix.endsWith(".") && prefix.length >= 6 ? prefix : "";
}
