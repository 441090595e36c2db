/**
 * Names and messages from a downloaded header are untrusted text. Before they reach a terminal,
 * a markdown file or a spreadsheet, control characters are shown as escapes (`\x1b`, `\n`), so no
 * escape sequence clears a screen, hides a hyperlink or overwrites a row; JSON keeps them as data.
 */
// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function cleanText(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const named = NAMED[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A CSV field (RFC 4180: quoted when it holds a comma or a quote); control characters escaped, and
 * a leading = + - @ (a formula to a spreadsheet) defused with a quote mark, as OWASP advises.
 */
export function csvField(text: string): string {
  const clean = cleanText(text);
  const safe = /^[=+\-@]/.test(clean) ? `'${clean}` : clean;
  return /[",]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Markdown table cell inside a code span: no pipe, backtick or newline can break out. */
export function markdownCode(text: string): string {
  const clean = cleanText(text).replace(/\|/g, "\\|");
  const ticks = clean.includes("`") ? "`` " : "`";
  return `${ticks}${clean}${ticks === "`" ? "`" : " ``"}`;
}

/** Word-wraps prose to `width` columns (null: no wrapping); a word longer than a line stays whole. */
export function wrapText(text: string, width: number | null): string {
  if (width === null) return text;
  return text
    .split("\n")
    .map((paragraph) => {
      // A paragraph's indentation stays, on its first line and on the lines it wraps onto.
      const indent = /^ */.exec(paragraph)![0];
      const out: string[] = [];
      let line = indent;
      for (const word of paragraph.slice(indent.length).split(" ")) {
        if (line.length > indent.length && visibleLength(line) + 1 + visibleLength(word) > width) {
          out.push(line);
          line = indent + word;
        } else line = line.length === indent.length ? indent + word : `${line} ${word}`;
      }
      out.push(line);
      return out.join("\n");
    })
    .join("\n");
}

function visibleLength(text: string): number {
  return stripAnsi(text).length;
}

/** Text without its colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}
