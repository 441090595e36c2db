/**
 * Errors the tool reports as one line and an exit code. Only the CLI entry turns them into an exit;
 * everything else throws them.
 */
export class QauditError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Exit codes, one per kind of failure (documented in the README). */
export const EXIT = {
  ok: 0,
  usage: 2,
  input: 3,
  hub: 4,
  gate: 5,
} as const;

/** Bad command-line usage: unknown option values, impossible combinations. */
export class UsageError extends QauditError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** An input that is not a valid model: a malformed header, a missing shard, a hostile shard name. */
export class InputError extends QauditError {
  constructor(message: string) {
    super(message, EXIT.input);
  }
}

/** A safetensors header that breaks the format (spec §1); names the file and, where it applies, the tensor. */
export class HeaderError extends InputError {
  constructor(file: string, message: string, tensor?: string) {
    super(`${file}: ${tensor === undefined ? "" : `tensor ${JSON.stringify(tensor)}: `}${message}`);
  }
}
