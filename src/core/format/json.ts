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
    const at = match === null ? text.length : Number(match[1]);
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    throw new InputError(`${name} is not valid JSON (at line ${line}, column ${column})`);
  }
}
