/** Everything the CLI touches of its process, injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  /** Writes and resolves once the bytes are written (the caller reuses their memory then); absent: `stdout`. */
  stdoutAsync?: (bytes: Uint8Array) => Promise<void>;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Colour on stdout (a TTY and NO_COLOR unset). */
  color: boolean;
  /** Terminal width tables must fit; null when stdout is not a terminal (tables as wide as they need). */
  columns: number | null;
  /** Whether stderr is a terminal (progress bars). */
  stderrIsTTY: boolean;
  fetch: typeof fetch;
  /** Registers a secret (a token found late, in the token file) that no stderr line may show. */
  secret?: (value: string) => void;
}
