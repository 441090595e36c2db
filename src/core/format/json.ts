import { InputError } from "../errors.js";

/**
 * JSON text from a file or the network, parsed. A parse error names the file and the position
 * (line and column), never the text: a config.json that is a symlink to a token file must not print it.
 */
export function parseJsonText(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const match = /position (\d+)/.exec((error as Error).message);
    throw new InputError(jsonSyntaxError(text, match === null ? text.length : Number(match[1]), name));
  }
}

/** "<name> is not valid JSON (at line L, column C)" for a failure at character `at`. */
export function jsonSyntaxError(text: string, at: number, name: string): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return `${name} is not valid JSON (at line ${line}, column ${at - lineStart + 1})`;
}
