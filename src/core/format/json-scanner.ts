// A strict JSON reader over a string, for a file whose JSON.parse costs too much heap: the shard
// index, which names every tensor once. Anything JSON.parse refuses is refused.

// Character codes.
export const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
export const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const MINUS = 45;
/** Characters a JSON string holds as they are: anything but a quote, a backslash or a control character. */
const PLAIN = /[^"\\\u0000-\u001f]*/y;

/** Reads JSON at a cursor; `fail` raises the caller's error for a syntax error at a character position. */
export class JsonScanner {
  private pos = 0;

  constructor(
    readonly text: string,
    private readonly failAt: (at: number) => never,
  ) {}

  private fail(): never {
    return this.failAt(Math.min(this.pos, this.text.length));
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
