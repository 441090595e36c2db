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

/** A CSV field: quoted, and a leading = + - @ (a spreadsheet formula) defused with a quote mark (OWASP). */
export function csvField(text: string): string {
  const clean = cleanText(text);
  const safe = /^[=+\-@\t\r]/.test(clean) ? `'${clean}` : clean;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** Markdown table cell inside a code span: no pipe, backtick or newline can break out. */
export function markdownCode(text: string): string {
  const clean = cleanText(text).replace(/\|/g, "\\|");
  const ticks = clean.includes("`") ? "`` " : "`";
  return `${ticks}${clean}${ticks === "`" ? "`" : " ``"}`;
}
