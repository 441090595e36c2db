import { BodyGarbage } from "../heap.js";
import { describeHubFailure, EntryNotFoundError, HubError, type HubErrorContext } from "./errors.js";
import { fetchTransport, nodeTransport, type HttpResponse, type Transport } from "./transport.js";

export interface RetryPolicy {
  /** Retries after the first attempt, for 429, 5xx, resets, timeouts and short bodies. */
  retries: number;
  /** First backoff; doubles each retry. */
  baseDelayMs: number;
  /** Longest Retry-After honoured; a longer one fails at once. */
  maxRetryAfterMs: number;
  /** Per attempt, body included. */
  timeoutMs: number;
  /** All attempts and waits of one request together; no retry starts that would end past it (default: twice the timeout, at least timeout + 30 s). */
  overallMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxRetryAfterMs: 60_000, timeoutMs: 30_000 };

/** After a rate-limit pause, requests go one at a time this much longer before full concurrency returns. */
const THROTTLE_AFTER_PAUSE_MS = 5000;

/** The revision lookup's answer: ~20 KB for a 163-shard repo. Counted after decompression. */
export const MAX_API_BYTES = 16 * 1024 * 1024;

/** What crossed the wire: every HTTP exchange (redirect hops included) and body bytes received. */
export interface HttpStats {
  requests: number;
  bytes: number;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A failure worth another attempt. */
class TransientFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface FileResult {
  /** The file decoded as UTF-8 as it arrived (a large index is never held as one buffer of bytes). */
  text: string;
  /** `X-Repo-Commit`: the commit the Hub resolved the revision to. */
  commit?: string;
}

export interface RangeResult {
  bytes: Uint8Array;
  /** The file's total size, from Content-Range (or Content-Length when Range was ignored). */
  total?: number;
}

/**
 * HTTP to the Hub with its policy in one place: the token goes to the Hub's own origin only (never
 * to the CDN a `resolve` redirects to), redirects are followed by hand so `Range` is re-sent, and
 * transient failures are retried with backoff, honouring Retry-After.
 */
export class HubHttp {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  /** Collects the socket reads every few megabytes of bodies (see BodyGarbage). */
  private readonly garbage = new BodyGarbage();
  /** Each chunk of a body, as it is taken in: counted, and its garbage collected in time. */
  private readonly received = (chunk: Uint8Array): void => {
    this.stats.bytes += chunk.length;
    this.garbage.received(chunk.length);
  };
  private readonly origin: string;
  /**
   * A rate limit is the client's, not one request's: one pause for every request (the largest
   * Retry-After seen, within the deadline), announced once, and requests one at a time while it lasts.
   */
  private pausedUntil = 0;
  private pauses = 0;
  private slowLane: Promise<void> = Promise.resolve();
  /** One request at a time until then: the pause, and a few seconds after it. */
  private throttledUntil = 0;

  constructor(
    endpoint: string,
    private readonly token: string | undefined,
    fetchImpl: typeof fetch,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly onRetry: (message: string) => void = () => {},
    /** Aborts every request in flight, and stops retries, once the audit has failed elsewhere. */
    private readonly cancel?: AbortSignal,
    /** One line per rate-limit pause (not per request). */
    private readonly onRateLimit: (message: string) => void = () => {},
    /** File and range reads; the API calls go through `fetchImpl`. */
    private readonly transport: Transport = nodeTransport(),
  ) {
    this.origin = new URL(endpoint).origin;
    this.apiTransport = fetchTransport(fetchImpl);
  }

  /** @huggingface/hub's calls: through fetch, which decompresses the API's gzip answers. */
  private readonly apiTransport: Transport;

  /** A fetch-compatible function for @huggingface/hub calls: same policy, errors described for `ctx`. */
  fetchFor(ctx: HubErrorContext): typeof fetch {
    return (async (input: string | URL | Request) => {
      const url = typeof input === "string" || input instanceof URL ? input.toString() : input.url;
      return this.withRetries(ctx, async (signal) => {
        const { response } = await this.send(url, {}, ctx, signal, false, this.apiTransport);
        // Buffer the body inside the attempt so a reset mid-body is retried too; bounded, inflated bytes counted.
        const body = await readAll(response, MAX_API_BYTES + 1, this.received);
        if (body.length > MAX_API_BYTES) throw new HubError(`the Hub's answer for ${ctx.repo} is over ${MAX_API_BYTES} bytes; refusing it`);
        return new Response(body, { status: response.status, headers: response.headers() });
      });
    }) as typeof fetch;
  }

  /** A whole small file (config, index) and the commit it was resolved at, refusing more than `maxBytes`. */
  async getFile(url: string, maxBytes: number, ctx: HubErrorContext): Promise<FileResult> {
    return this.withRetries(ctx, async (signal) => {
      const { response, commit } = await this.send(url, {}, ctx, signal);
      const length = Number(response.header("content-length") ?? Number.NaN);
      if (length > maxBytes) {
        await response.discard();
        throw new HubError(`${ctx.file ?? url} is ${length} bytes, over the ${maxBytes}-byte limit`);
      }
      const body = await readText(response, maxBytes + 1, this.received);
      if (body.length > maxBytes) throw new HubError(`${ctx.file ?? url} is over the ${maxBytes}-byte limit`);
      if (Number.isFinite(length) && body.length < length) throw new TransientFailure(`body shorter than promised (${body.length} of ${length} bytes)`);
      return { text: body.text, ...(commit === undefined ? {} : { commit }) };
    });
  }

  /**
   * Bytes [start, end) of a file. A server that ignores Range and answers 200 with the whole file is
   * read only up to `end`, then the transfer is aborted: bytes received stay bounded.
   */
  async getRange(url: string, start: number, end: number, ctx: HubErrorContext, options: { requireRange?: boolean } = {}): Promise<RangeResult> {
    return this.withRetries(ctx, async (signal, stop) => {
      // HTTP ranges are inclusive: bytes=0-99 is the first 100 bytes.
      const { response } = await this.send(url, { range: `bytes=${start}-${end - 1}` }, ctx, signal, options.requireRange === true);
      if (response.status === 206) {
        const range = parseContentRange(response.header("content-range"));
        if (range === undefined || range.start !== start) {
          await response.discard();
          throw new HubError(`${ctx.file ?? url}: the server answered a range it was not asked for (${response.header("content-range")})`);
        }
        // A total short of the range's start (a hostile or broken answer) leaves nothing to read.
        const expected = Math.max(0, Math.min(end, range.total ?? end) - start);
        // One byte past what was promised: a complete body ends on its own (the connection is kept), a
        // server sending more than it promised is cut off.
        const { bytes, received } = await readExpected(response, expected, this.received);
        if (received < expected) throw new TransientFailure(`body shorter than promised (${received} of ${expected} bytes)`);
        return { bytes, ...(range.total === undefined ? {} : { total: range.total }) };
      }
      // 200: Range ignored. A weight-data read far into a file would stream everything before it: refuse.
      if (options.requireRange === true && start > 0) {
        await response.discard();
        throw new HubError(`${ctx.file ?? url}: the server ignores Range requests, so weight bytes cannot be read without downloading the whole file`);
      }
      // Keep what falls in [start, end), stop reading at `end`.
      const length = Number(response.header("content-length") ?? Number.NaN);
      const all = await readAll(response, end, this.received);
      if (all.length >= end) stop(); // drop the connection rather than let the rest of the file arrive
      const total = Number.isFinite(length) ? length : all.length < end ? all.length : undefined;
      if (total !== undefined && all.length < Math.min(end, total)) throw new TransientFailure(`body shorter than promised (${all.length} of ${Math.min(end, total)} bytes)`);
      return { bytes: all.subarray(Math.min(start, all.length), end), ...(total === undefined ? {} : { total }) };
    });
  }

  /**
   * Where a range read's redirect led (the CDN's signed URL), by the URL asked: later ranges of the
   * same file (qaudit error reads several) go there directly, one request instead of two. A cached
   * target that stops answering (an expired signature) is forgotten and the Hub asked again.
   */
  private readonly redirected = new Map<string, string>();

  private async send(url: string, headers: Record<string, string>, ctx: HubErrorContext, signal: AbortSignal, reuseRedirect = false, transport = this.transport): Promise<{ response: HttpResponse; commit?: string }> {
    const cached = reuseRedirect ? this.redirected.get(url) : undefined;
    if (cached !== undefined) {
      this.stats.requests += 1;
      const response = await transport(new URL(cached), headers, signal);
      if (isOk(response.status)) return { response: checkIdentity(response, ctx) };
      await response.discard();
      this.redirected.delete(url);
    }
    let current = new URL(url);
    let commit: string | undefined;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sent: Record<string, string> = { ...headers };
      if (this.token !== undefined && current.origin === this.origin) sent.authorization = `Bearer ${this.token}`;
      this.stats.requests += 1;
      const response = await transport(current, sent, signal);
      commit ??= response.header("x-repo-commit") ?? undefined;
      if (REDIRECTS.has(response.status)) {
        const location = response.header("location");
        await response.discard();
        if (location === null) throw new HubError(`${ctx.file ?? ctx.repo}: redirect ${response.status} without a Location`);
        current = new URL(location, current);
        if (current.protocol !== "https:" && current.protocol !== "http:") throw new HubError(`${ctx.file ?? ctx.repo}: redirected to an unsupported scheme (${current.protocol})`);
        continue;
      }
      if (isOk(response.status)) {
        // Only a target on another origin is remembered: no token is ever sent there.
        if (reuseRedirect && current.origin !== this.origin) this.redirected.set(url, current.href);
        return { response: transport === this.apiTransport ? response : checkIdentity(response, ctx), ...(commit === undefined ? {} : { commit }) };
      }
      const errorCode = response.header("x-error-code");
      await response.discard();
      if (response.status === 404 && errorCode === "EntryNotFound") throw new EntryNotFoundError(describeHubFailure(404, errorCode, ctx));
      if (response.status === 429 || response.status >= 500) {
        throw new TransientFailure(describeHubFailure(response.status, errorCode, ctx), response.status, parseRetryAfter(response.header("retry-after")));
      }
      throw new HubError(describeHubFailure(response.status, errorCode, ctx));
    }
    throw new HubError(`${ctx.file ?? ctx.repo}: more than ${MAX_REDIRECTS} redirects`);
  }

  /** Rate-limit pauses announced so far. */
  get rateLimitPauses(): number {
    return this.pauses;
  }

  private async waitForRateLimit(): Promise<void> {
    for (let wait = this.pausedUntil - Date.now(); wait > 0; wait = this.pausedUntil - Date.now()) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** While rate-limited, requests go one at a time; otherwise they run as the caller's concurrency allows. */
  private inLane<T>(run: () => Promise<T>): Promise<T> {
    if (Date.now() > this.throttledUntil) return run();
    // Each request waits out a pause that began while it queued.
    const result = this.slowLane.then(async () => {
      await this.waitForRateLimit();
      return run();
    });
    this.slowLane = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  private async withRetries<T>(ctx: HubErrorContext, attempt: (signal: AbortSignal, stop: () => void) => Promise<T>): Promise<T> {
    const overall = this.retry.overallMs ?? Math.max(2 * this.retry.timeoutMs, this.retry.timeoutMs + 30_000);
    const deadline = Date.now() + overall;
    for (let tries = 0; ; tries++) {
      // `stop` ends this attempt's transfer at once (closing the connection), when we have read enough.
      const own = new AbortController();
      const remaining = Math.max(1, Math.min(this.retry.timeoutMs, deadline - Date.now()));
      const signals = [own.signal, AbortSignal.timeout(remaining), ...(this.cancel === undefined ? [] : [this.cancel])];
      const signal = AbortSignal.any(signals);
      try {
        await this.waitForRateLimit();
        return await this.inLane(() => attempt(signal, () => own.abort()));
      } catch (error) {
        if (error instanceof HubError) throw error;
        if (this.cancel?.aborted === true) throw new HubError(`${ctx.file ?? ctx.repo}: cancelled`);
        const failure = asTransient(error, this.retry.timeoutMs, hostOf(ctx.endpoint));
        const subject = ctx.file ?? ctx.repo;
        if (failure.final) throw new HubError(failure.message);
        if (failure.retryAfterMs !== undefined && failure.retryAfterMs > this.retry.maxRetryAfterMs) {
          throw new HubError(`${failure.message} (Retry-After ${Math.ceil(failure.retryAfterMs / 1000)} s)`);
        }
        if (tries >= this.retry.retries) {
          throw new HubError(`${failure.status === undefined ? `${subject}: ${failure.message}` : failure.message}, after ${tries + 1} attempts`);
        }
        const delay = failure.retryAfterMs ?? this.retry.baseDelayMs * 2 ** tries;
        if (failure.status === 429) {
          // Shared: extend the pause if this Retry-After reaches further, and say so once per pause.
          const until = Date.now() + delay;
          if (until >= deadline) throw new HubError(`${failure.message}: rate-limited by the Hub for ${Math.ceil(delay / 1000)} s, past the ${Math.round(overall / 1000)} s deadline`);
          this.throttledUntil = Math.max(this.throttledUntil, until + THROTTLE_AFTER_PAUSE_MS);
          if (until > this.pausedUntil + 250) {
            this.pauses += 1;
            this.onRateLimit(`rate-limited by the Hub, waiting ${Math.ceil(delay / 1000)} s (attempt ${tries + 2} of ${this.retry.retries + 1})`);
          }
          this.pausedUntil = Math.max(this.pausedUntil, until);
          continue;
        }
        if (Date.now() + delay >= deadline) {
          throw new HubError(`${failure.status === undefined ? `${subject}: ${failure.message}` : failure.message}; gave up after ${tries + 1} attempts (the next would pass the ${Math.round(overall / 1000)} s deadline)`);
        }
        this.onRetry(`${subject}: ${failure.status === undefined ? failure.message : `status ${failure.status}`}; retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

// Errors from the network stack that another attempt can cure; anything else (an invalid header
// value, an unsupported scheme: raised before a request is sent) fails at once.
const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CLOSED"]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME"]);

function asTransient(error: unknown, timeoutMs: number, host: string): TransientFailure & { final?: boolean } {
  if (error instanceof TransientFailure) return error;
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return new TransientFailure(`timed out after ${timeoutMs} ms`);
  // node:http puts the code on the error itself; fetch on its cause.
  const code = typeof e.code === "string" ? e.code : e.cause?.code;
  if (code !== undefined && DNS_CODES.has(code)) return Object.assign(new TransientFailure(`cannot reach ${host}: DNS lookup failed (${code}); no network, or a wrong HF_ENDPOINT?`), { final: true });
  if (code !== undefined && TRANSIENT_CODES.has(code)) return new TransientFailure(code === "ECONNREFUSED" ? `cannot reach ${host}: connection refused` : `network error (${code})`);
  return Object.assign(new TransientFailure(`request failed before reaching ${host} (${code ?? e.cause?.message ?? e.message ?? "unknown error"})`), { final: true });
}

/**
 * Reads a body to its end, or until `limit` bytes have arrived, then drops the rest of the transfer.
 * The bytes come back in a buffer of their own: no other view of its memory exists (a chunk is a view
 * into its socket's read), so a reader may move it to another thread without taking anything from anyone.
 */
async function readAll(response: HttpResponse, limit: number, onChunk: (chunk: Uint8Array) => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  await response.read(limit, (chunk) => {
    chunks.push(chunk);
    length += chunk.length;
    onChunk(chunk);
  });
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * A body of a known length, copied as it arrives into a buffer of that length (of its own, as readAll's):
 * each chunk is garbage at once, and dies young. Kept until the body's end, chunks of a slow answer
 * outlive young collections and wait for a full one, in the tens of megabytes over a large model's
 * headers. One byte past `expected` is read, so a body longer than promised is cut off (`received`
 * then exceeds `expected`; the bytes past it are dropped).
 */
async function readExpected(response: HttpResponse, expected: number, onChunk: (chunk: Uint8Array) => void): Promise<{ bytes: Uint8Array; received: number }> {
  const bytes = new Uint8Array(expected);
  let received = 0;
  await response.read(expected + 1, (chunk) => {
    if (received < expected) bytes.set(chunk.length <= expected - received ? chunk : chunk.subarray(0, expected - received), received);
    received += chunk.length;
    onChunk(chunk);
  });
  return { bytes, received };
}

/**
 * A body read as readAll reads it, decoded as UTF-8 chunk by chunk: its text and its length in bytes.
 * No buffer of the whole body is made (a 15 MB one, once freed, leaves the C allocator holding on to
 * tens of megabytes the process then keeps).
 */
async function readText(response: HttpResponse, limit: number, onChunk: (chunk: Uint8Array) => void): Promise<{ text: string; length: number }> {
  const decoder = new TextDecoder();
  let text = "";
  let length = 0;
  await response.read(limit, (chunk) => {
    text += decoder.decode(chunk, { stream: true });
    length += chunk.length;
    onChunk(chunk);
  });
  return { text: text + decoder.decode(), length };
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * File and range reads ask for no encoding: a body compressed anyway cannot be measured against its
 * limits nor parsed as a header, so it is refused rather than misread.
 */
function checkIdentity(response: HttpResponse, ctx: HubErrorContext): HttpResponse {
  const encoding = response.header("content-encoding");
  if (encoding === null || encoding.trim().toLowerCase() === "identity") return response;
  void response.discard();
  throw new HubError(`${ctx.file ?? ctx.repo}: the server sent a compressed body (${encoding.slice(0, 40)}) though none was asked for`);
}

export function parseContentRange(value: string | null): { start: number; end: number; total?: number } | undefined {
  const match = value === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (match === null) return undefined;
  const total = match[3] === "*" ? undefined : Number(match[3]);
  return { start: Number(match[1]), end: Number(match[2]), ...(total === undefined ? {} : { total }) };
}

/** Retry-After in seconds or as an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
