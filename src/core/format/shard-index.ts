import { InputError } from "../errors.js";
import { jsonSyntaxError } from "./json.js";

/** `model.safetensors.index.json`: which shard holds each tensor. */
export interface ShardIndex {
  /** Shard file names in first-seen order, each validated as a plain relative name. */
  shards: string[];
  /** Per shard: its tensors, the bytes of their names (a header's size is about names + 85 bytes a tensor), their fingerprint. */
  shardStats: ReadonlyMap<string, ShardStats>;
  totalSize?: number;
  /** Every (tensor, shard) pair of the weight map, in the file's order. */
  forEachTensor(visit: (tensor: string, shard: string) => void): void;
}

export interface ShardStats {
  tensors: number;
  nameBytes: number;
  names: NamesFingerprint;
}

/**
 * A fingerprint of a set of tensor names, independent of their order: the sum and the exclusive-or
 * of a 32-bit hash of each. Two shards whose names agree in count and fingerprint hold the same names
 * (differing sets collide with odds near 2^-64), so a header is checked against its index entries
 * without hashing 100,000 names into a table. A collision would only skip the consistency check: the
 * figures always come from the headers.
 */
export class NamesFingerprint {
  private sum = 0;
  private xor = 0;

  add(name: string): void {
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    this.sum = (this.sum + h) | 0;
    this.xor ^= h;
  }

  equals(other: NamesFingerprint): boolean {
    return this.sum === other.sum && this.xor === other.xor;
  }
}

/**
 * Parses a shard index from its text. A large model's index names every tensor (163,000 of them,
 * 15 MB): as a JavaScript object that is over 40 MB of heap for a few seconds, so the text is
 * scanned instead, strictly (anything JSON.parse refuses is refused, with line and column), and kept
 * for a second scan when the tensors are checked against the headers.
 * Shard names come from the network or a stranger's disk, so they are checked.
 */
export function parseShardIndex(text: string, file: string): ShardIndex {
  const result = scanIndex(text, file);
  return {
    shards: [...result.stats.keys()],
    shardStats: result.stats,
    ...(result.totalSize === undefined ? {} : { totalSize: result.totalSize }),
    // Only the weight map that counts (the last, if the key repeats) is visited.
    forEachTensor: (visit) => void scanIndex(text, file, { visit, map: result.maps }),
  };
}

/** A shard name must stay inside the model's folder: relative, no `..`, no backslashes or drive letters. */
export function checkShardName(shard: string, file: string): void {
  const bad =
    shard.length === 0 ||
    shard.startsWith("/") ||
    shard.includes("\\") ||
    shard.includes("\0") ||
    /^[A-Za-z]:/.test(shard) ||
    shard.split("/").some((part) => part === ".." || part === "." || part === "");
  if (bad) throw new InputError(`${file}: shard name ${JSON.stringify(shard)} escapes the model folder`);
}

interface Scanned {
  stats: Map<string, ShardStats>;
  totalSize: number | undefined;
  /** How many weight_map keys the object has (JSON.parse keeps the last). */
  maps: number;
}

// Character codes.
const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const MINUS = 45;
/** Characters a JSON string holds as they are: anything but a quote, a backslash or a control character. */
const PLAIN = /[^"\\\u0000-\u001f]*/y;

/**
 * One pass over the text, with JSON.parse's semantics for what it keeps: a repeated top-level key's
 * last value wins. Shape errors (no weight_map object, a shard that is not a string or escapes the
 * folder) are raised only once the whole text is known to be JSON, as JSON.parse would have failed first.
 */
function scanIndex(text: string, file: string, visiting?: { visit: (tensor: string, shard: string) => void; map: number }): Scanned {
  const s = new JsonScanner(text, file);
  let maps = 0;
  let shapeError: string | undefined;
  let stats: Map<string, ShardStats> | undefined;
  let totalSize: number | undefined;
  s.ws();
  if (s.peek() !== OPEN_OBJECT) {
    s.value();
    s.end();
    throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  }
  s.members((key) => {
    if (key === "weight_map") {
      maps += 1;
      const visit = visiting?.map === maps ? visiting.visit : undefined;
      if (s.peek() !== OPEN_OBJECT) {
        stats = undefined;
        s.value();
        return;
      }
      // The last weight_map wins: its own statistics and its own first problem.
      const current = new Map<string, ShardStats>();
      let problem: string | undefined;
      let last: string | undefined;
      let entry: ShardStats | undefined;
      s.members((tensor) => {
        if (s.peek() !== QUOTE) {
          s.value();
          problem ??= `${file}: shard of tensor ${JSON.stringify(tensor)} is not a file name`;
          return;
        }
        const shard = s.string();
        if (shard !== last) {
          entry = current.get(shard);
          if (entry === undefined) {
            // Once per shard: a 163-shard index names each ~1,000 times.
            try {
              checkShardName(shard, file);
            } catch (error) {
              problem ??= (error as Error).message;
            }
            entry = { tensors: 0, nameBytes: 0, names: new NamesFingerprint() };
            current.set(shard, entry);
          }
          last = shard;
        }
        entry!.tensors += 1;
        entry!.nameBytes += tensor.length;
        if (visit === undefined) entry!.names.add(tensor);
        else visit(tensor, shard);
      });
      stats = current;
      shapeError = problem;
    } else if (key === "metadata") {
      totalSize = undefined;
      if (s.peek() !== OPEN_OBJECT) return s.value();
      s.members((field) => {
        if (field !== "total_size") return s.value();
        totalSize = s.isNumber() ? s.number() : undefined;
        if (totalSize === undefined) s.value();
      });
    } else {
      s.value();
    }
  });
  s.end();
  if (stats === undefined) throw new InputError(`${file}: not a shard index (no "weight_map" object)`);
  if (shapeError !== undefined) throw new InputError(shapeError);
  if (stats.size === 0) throw new InputError(`${file}: "weight_map" names no shard`);
  return { stats, totalSize, maps };
}

/** A strict JSON reader over a string, for the few shapes the index needs; errors give line and column. */
class JsonScanner {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  private fail(): never {
    throw new InputError(jsonSyntaxError(this.text, Math.min(this.pos, this.text.length), this.file));
  }

  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  private expect(code: number): void {
    if (this.text.charCodeAt(this.pos) !== code) this.fail();
    this.pos++;
  }

  /** Nothing but whitespace left. */
  end(): void {
    this.ws();
    if (this.pos !== this.text.length) this.fail();
  }

  /**
   * The members of the object at the cursor: for each, its key is read and `member` called with the
   * cursor on its value, which `member` must consume. Leaves the cursor after the closing brace.
   */
  members(member: (key: string) => void): void {
    this.expect(OPEN_OBJECT);
    this.ws();
    if (this.peek() === CLOSE_OBJECT) {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== QUOTE) this.fail();
      const key = this.string();
      this.ws();
      this.expect(COLON);
      this.ws();
      member(key);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) {
        this.pos--;
        this.fail();
      }
    }
  }

  /** The string at the cursor (on its opening quote), decoded. */
  string(): string {
    const t = this.text;
    const start = this.pos + 1;
    let p = start;
    let escaped = false;
    for (;;) {
      // The run of plain characters, found by the regular expression engine rather than a loop here.
      PLAIN.lastIndex = p;
      PLAIN.test(t);
      p = PLAIN.lastIndex;
      const c = t.charCodeAt(p);
      if (c === QUOTE) break;
      if (c !== BACKSLASH) {
        // A control character, or the end of the text.
        this.pos = p;
        this.fail();
      }
      escaped = true;
      const e = t.charCodeAt(p + 1);
      if (e === 117 /* u */) {
        for (let k = 2; k < 6; k++) {
          if (!isHex(t.charCodeAt(p + k))) {
            this.pos = p + k;
            this.fail();
          }
        }
        p += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) {
        this.pos = p + 1;
        this.fail();
      }
      p += 2;
    }
    this.pos = p + 1;
    // Escapes are rare in tensor and file names: JSON.parse decodes those few exactly.
    return escaped ? (JSON.parse(t.slice(start - 1, p + 1)) as string) : t.slice(start, p);
  }

  isNumber(): boolean {
    const c = this.peek();
    return c === MINUS || isDigit(c);
  }

  /** The number at the cursor: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
  number(): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === MINUS) p++;
    if (t.charCodeAt(p) === 48 /* 0 */) p++;
    else if (isDigit(t.charCodeAt(p))) while (isDigit(t.charCodeAt(p))) p++;
    else {
      this.pos = p;
      this.fail();
    }
    if (t.charCodeAt(p) === 46 /* . */) {
      p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail();
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 101 || e === 69 /* e E */) {
      p++;
      const sign = t.charCodeAt(p);
      if (sign === 43 || sign === MINUS) p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail();
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    this.pos = p;
    return Number(t.slice(start, p));
  }

  /** Skips any one value at the cursor, however deeply nested (no recursion). */
  value(): void {
    const open: number[] = [];
    for (;;) {
      this.ws();
      const c = this.peek();
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.pos++;
        this.ws();
        const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (this.peek() === close) this.pos++;
        else {
          open.push(c);
          if (c === OPEN_OBJECT) this.key();
          continue;
        }
      } else if (c === QUOTE) this.string();
      else if (this.isNumber()) this.number();
      else if (c === 116) this.word("true");
      else if (c === 102) this.word("false");
      else if (c === 110) this.word("null");
      else this.fail();
      // A value is complete: close what it completes, or move on to the next element.
      for (;;) {
        if (open.length === 0) return;
        this.ws();
        const d = this.peek();
        const top = open[open.length - 1];
        if (d === COMMA) {
          this.pos++;
          if (top === OPEN_OBJECT) this.key();
          break;
        }
        if (d === (top === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          this.pos++;
          open.pop();
          continue;
        }
        this.fail();
      }
    }
  }

  /** A member's key and colon, inside an object being skipped. */
  private key(): void {
    this.ws();
    if (this.peek() !== QUOTE) this.fail();
    this.string();
    this.ws();
    this.expect(COLON);
  }

  private word(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
