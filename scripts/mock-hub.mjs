// A loopback mock of the Hugging Face Hub for tests and benchmarks. It speaks the Hub's HTTP:
// /api/models/{repo}/revision/{rev} (sha, siblings), /{repo}/resolve/{rev}/{file} (and /raw/) with
// X-Repo-Commit, a 302 to a CDN host for LFS files, Range -> 206 with Content-Range, the Hub's
// X-Error-Code values, and injectable faults (429 + Retry-After, 5xx, resets, truncation, stalls,
// ignoring Range). It listens on 127.0.0.1 (Hub) and 127.0.0.2 (CDN) only, and stops by itself.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

const CHUNK = 64 * 1024;

export async function startMockHub({ latencyMs = 0, lifetimeMs = 120_000, maxRequests = 100_000, hubHost = "127.0.0.1", cdnHost = "127.0.0.2" } = {}) {
  const repos = new Map();
  const faults = [];
  const log = [];
  const stats = { requests: 0, bytesSent: 0, byHost: { hub: 0, cdn: 0 } };
  // movedRefs: { branch: sha } makes resolve answers for that branch report another commit, as if
  // someone pushed between the revision lookup and the file reads.
  const state = { ignoreRange: false, latencyMs, movedRefs: {} };
  const hub = createServer((req, res) => handle("hub", req, res));
  const cdn = createServer((req, res) => handle("cdn", req, res));
  for (const server of [hub, cdn]) server.keepAliveTimeout = 5_000;
  await Promise.all([listen(hub, hubHost), listen(cdn, cdnHost)]);
  const endpoint = `http://${hubHost}:${hub.address().port}`;
  const cdnOrigin = `http://${cdnHost}:${cdn.address().port}`;
  const stopTimer = setTimeout(() => close(), lifetimeMs);
  stopTimer.unref();

  function close() {
    clearTimeout(stopTimer);
    return Promise.all(
      [hub, cdn].map((server) => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); })),
    );
  }

  async function handle(host, req, res) {
    stats.requests += 1;
    stats.byHost[host] += 1;
    const url = new URL(req.url, "http://x");
    const entry = { host, method: req.method, path: url.pathname, auth: req.headers.authorization ?? null, range: req.headers.range ?? null, status: 0 };
    log.push(entry);
    if (stats.requests > maxRequests) return send(res, entry, 503, {}, "request budget of the mock exhausted");
    if (state.latencyMs > 0) await sleep(state.latencyMs);
    if (state.rateLimit !== undefined && host === "hub" && overRate(state.rateLimit)) {
      return send(res, entry, 429, { "Retry-After": String(state.rateLimit.retryAfter ?? 1) }, `{"error":"rate limited"}`);
    }
    const fault = takeFault(host, url.pathname);
    if (fault?.stallMs !== undefined) await sleep(fault.stallMs);
    if (fault?.reset) return req.socket.destroy();
    // A whole answer of the fault's making: a proxy's HTML page, a listing of another shape, a gzip bomb.
    if (fault?.body !== undefined) return send(res, entry, fault.status ?? 200, fault.headers ?? {}, fault.body);
    // A redirect back to the same place, for ever.
    if (fault?.redirectLoop) return send(res, entry, 302, { Location: req.url }, "");
    if (fault?.status !== undefined) {
      const headers = {};
      if (fault.retryAfter !== undefined) headers["Retry-After"] = String(fault.retryAfter);
      if (fault.errorCode !== undefined) headers["X-Error-Code"] = fault.errorCode;
      return send(res, entry, fault.status, headers, `{"error":"injected ${fault.status}"}`);
    }
    try {
      if (host === "cdn") return serveBlob(req, res, entry, url, fault);
      const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
      if (api) return apiInfo(req, res, entry, decodeURIComponent(api[1]), decodeURIComponent(api[2]));
      const file = /^\/([^/]+\/[^/]+)\/(resolve|raw)\/([^/]+)\/(.+)$/.exec(url.pathname);
      if (file) return resolveFile(req, res, entry, file[1], decodeURIComponent(file[3]), file[4].split("/").map(decodeURIComponent).join("/"), fault);
      return send(res, entry, 404, {}, "not found");
    } catch (error) {
      return send(res, entry, 500, {}, String(error));
    }
  }

  function takeFault(host, path) {
    const i = faults.findIndex((f) => (f.host === undefined || f.host === host) && (f.path === undefined || path.includes(f.path)));
    if (i < 0) return undefined;
    const fault = faults[i];
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(i, 1);
    return fault;
  }

  /** Access as the Hub answers it: unknown and private-without-access look the same (RepoNotFound). */
  function access(req, repoId) {
    const repo = repos.get(repoId);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    // The Hub refuses an invalid token outright, even for public repos (here: tokens starting "hf_invalid").
    if (token?.startsWith("hf_invalid")) return { error: [401, undefined] };
    if (repo === undefined || (repo.private && !repo.tokens.includes(token))) {
      return { error: [token === undefined ? 401 : 404, "RepoNotFound"] };
    }
    return { repo, token };
  }

  function revisionSha(repo, rev) {
    if (repo.refs[rev] !== undefined) return repo.refs[rev];
    return Object.values(repo.refs).includes(rev) ? rev : undefined;
  }

  function apiInfo(req, res, entry, repoId, rev) {
    const { repo, error } = access(req, repoId);
    if (error) return refuse(res, entry, error);
    const sha = revisionSha(repo, rev);
    if (sha === undefined) return send(res, entry, 404, { "X-Error-Code": "RevisionNotFound" }, `{"error":"Invalid rev id: ${rev}"}`);
    const body = {
      _id: createHash("sha1").update(repoId).digest("hex").slice(0, 24),
      id: repoId,
      modelId: repoId,
      sha,
      private: repo.private,
      gated: repo.gated ? "auto" : false,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      lastModified: "2026-01-01T00:00:00.000Z",
      createdAt: "2026-01-01T00:00:00.000Z",
      siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })),
    };
    return send(res, entry, 200, { "Content-Type": "application/json" }, JSON.stringify(body));
  }

  function resolveFile(req, res, entry, repoId, rev, path, fault) {
    const { repo, token, error } = access(req, repoId);
    if (error) return refuse(res, entry, error);
    if (repo.gated && !repo.tokens.includes(token)) {
      return send(res, entry, token === undefined ? 401 : 403, { "X-Error-Code": "GatedRepo" }, `{"error":"Access to model ${repoId} is restricted."}`);
    }
    const sha = revisionSha(repo, rev);
    if (sha === undefined) return send(res, entry, 404, { "X-Error-Code": "RevisionNotFound" }, `{"error":"Invalid rev id: ${rev}"}`);
    const file = repo.files[path];
    if (file === undefined) return send(res, entry, 404, { "X-Error-Code": "EntryNotFound" }, `{"error":"Entry not found"}`);
    const headers = { "X-Repo-Commit": state.movedRefs[rev] ?? sha, ETag: `"${file.etag}"` };
    if (path.endsWith(".safetensors")) {
      // LFS files: the Hub redirects to a signed CDN URL; the signature is not a token.
      const location = `${cdnOrigin}/blobs/${encodeURIComponent(repoId)}/${file.etag}?X-Amz-Signature=mock`;
      return send(res, entry, 302, { ...headers, Location: location, "X-Linked-Size": String(file.size), "X-Linked-ETag": `"${file.etag}"` }, "");
    }
    return serveBytes(req, res, entry, file, headers, fault);
  }

  function serveBlob(req, res, entry, url, fault) {
    const match = /^\/blobs\/([^/]+)\/([0-9a-f]+)$/.exec(url.pathname);
    const repo = match && repos.get(decodeURIComponent(match[1]));
    const file = repo && Object.values(repo.files).find((f) => f.etag === match[2]);
    if (!file) return send(res, entry, 404, {}, "no such blob");
    return serveBytes(req, res, entry, file, { "Accept-Ranges": "bytes", ETag: `"${file.etag}"` }, fault);
  }

  function serveBytes(req, res, entry, file, headers, fault) {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = file.size - 1;
    let status = 200;
    if (range && !state.ignoreRange) {
      start = Number(range[1]);
      end = range[2] === "" ? file.size - 1 : Math.min(Number(range[2]), file.size - 1);
      if (start >= file.size) return send(res, entry, 416, { ...headers, "Content-Range": `bytes */${file.size}` }, "");
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${file.size}`;
    }
    const length = end - start + 1;
    res.writeHead(status, { ...headers, "Content-Length": String(length), "Content-Type": "application/octet-stream" });
    entry.status = status;
    if (req.method === "HEAD") return res.end();
    // Truncation: promise `length` bytes, send half, drop the connection.
    const stopAt = fault?.truncate ? start + Math.floor(length / 2) : end + 1;
    let position = start;
    let closed = false;
    res.on("close", () => { closed = true; });
    const pump = () => {
      while (!closed && position < stopAt) {
        const chunk = file.slice(position, Math.min(position + CHUNK, stopAt));
        position += chunk.length;
        stats.bytesSent += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
      if (closed) return;
      if (fault?.truncate) return res.destroy();
      res.end();
    };
    pump();
  }

  function refuse(res, entry, [status, code]) {
    const headers = code === undefined ? {} : { "X-Error-Code": code };
    return send(res, entry, status, headers, code === undefined ? `{"error":"Invalid credentials in Authorization header"}` : `{"error":"Repository not found"}`);
  }

  /** More than `perSecond` requests in the current second (a Hub rate limit). */
  function overRate({ perSecond }) {
    const second = Math.floor(Date.now() / 1000);
    if (state.rateWindow?.second !== second) state.rateWindow = { second, count: 0 };
    state.rateWindow.count += 1;
    return state.rateWindow.count > perSecond;
  }

  function send(res, entry, status, headers, body) {
    entry.status = status;
    res.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  return {
    endpoint,
    cdnOrigin,
    stats,
    log,
    state,
    close,
    /** files: { path: Buffer | string | { head: Buffer, size: number } } — `head` is served, then zeros up to `size`. */
    addRepo(repoId, { files, sha = createHash("sha1").update(`${repoId}:${repos.size}`).digest("hex"), refs = {}, gated = false, private: isPrivate = false, tokens = [] }) {
      const stored = {};
      for (const [path, content] of Object.entries(files)) stored[path] = virtualFile(content);
      repos.set(repoId, { files: stored, refs: { main: sha, ...refs }, gated, private: isPrivate, tokens });
      return sha;
    },
    /**
     * Queue a fault: { host?: "hub"|"cdn", path?: substring, times?: n, status?, retryAfter?, errorCode?,
     * reset?, truncate?, stallMs?, body? (with headers?: a whole answer), redirectLoop? }.
     * `state.rateLimit = { perSecond, retryAfter }` answers 429 past that many requests per second.
     */
    fault(rule) {
      faults.push({ times: 1, ...rule });
    },
    reset() {
      faults.length = 0;
      log.length = 0;
      stats.requests = 0;
      stats.bytesSent = 0;
      stats.byHost = { hub: 0, cdn: 0 };
      state.ignoreRange = false;
      state.latencyMs = latencyMs;
      state.movedRefs = {};
      state.rateLimit = undefined;
      state.rateWindow = undefined;
    },
  };
}

function virtualFile(content) {
  const head = typeof content === "string" ? Buffer.from(content) : Buffer.isBuffer(content) || content instanceof Uint8Array ? Buffer.from(content) : Buffer.from(content.head);
  const size = typeof content === "object" && "size" in content && !Buffer.isBuffer(content) ? content.size : head.length;
  const etag = createHash("sha256").update(head).update(String(size)).digest("hex");
  return {
    size,
    etag,
    slice(from, to) {
      if (from >= head.length) return Buffer.alloc(to - from);
      const part = head.subarray(from, Math.min(to, head.length));
      return to <= head.length ? part : Buffer.concat([part, Buffer.alloc(to - head.length)]);
    },
  };
}

function listen(server, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
