"use strict";
// Express middleware: the filter's decisions, in an Express app (replaces a hand-written
// `requirePermission`). Denials get the same status, JSON body and headers as from Envoy; the
// decision is on `req.authz` either way.
//
// Two ways to wire it, both judged the way Express routes:
//   app.use("/api", authorize(config))            // mounted: Express strips "/api", we judge req.url
//   app.use(authorize(config, { prefix: "/api" })) // global: we find the prefix ourselves
// With `prefix`, a request is judged whenever Express could route it to a handler under the
// prefix: the prefix's segments are compared case-insensitively (Express's default), after
// percent-decoding, skipping empty segments (doubled slashes), with or without a trailing
// slash. When in doubt, the request is judged, never skipped.
//
// A decision with `forwardBody` (a restricted role's conversation search) replaces `req.body`
// (same form: object, Buffer or string) and `content-length`: forward `req.body`, not the raw
// request stream.
// Bodies: when a body parser ran before the middleware (`express.json()`, `express.raw()`,
// `express.text()`), its `req.body` is judged. When none ran, the decision is told a body is
// there (declared length or chunked) and, when the route's decision needs it (including a
// body where none is expected), the middleware reads the raw body itself (at most
// `max_body_bytes` + 1 bytes), judges those bytes, and leaves `req.body` parsed (JSON) or as a
// Buffer for what follows (a later `express.json()` sees a finished stream and keeps it).
//
// Conversation access (a role with `conversation_access` other than `all`): a request on one
// conversation is decided with its current assignment, which `options.lookup(id, req)` fetches
// from Intercom (`GET /conversations/{id}` with the workspace token; it resolves to
// `{ status, body }`); without it, or when it fails, the request is refused (503). An allowed
// read's response is held whole and judged before it is sent: passed, redacted (a list) or
// refused (403 for one conversation, 502 when it cannot be judged: compressed, not JSON).
// A lookup that throws or answers nothing usable is named in the decision's `reasons`.
//
// Apps that log users in themselves (a session, passport): `options.claims(req)` returns the
// signed-in user's claims (`{ sub, role }`, e.g. `req.user`), judged as verified claims; the
// credential header is then never read, and a request without claims is 401 `missing_token`.
// `options.onDecision(decision, req)` sees every final decision, allowed or denied (a log hook).
const { Authorizer } = require("./node/intercom_authz.js");

/** The prefix's segments, lower-cased: "/API/v1/" -> ["api", "v1"]. */
function prefixSegments(prefix) {
  return String(prefix).split("/").filter((s) => s !== "").map((s) => s.toLowerCase());
}

function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The Intercom request target of `url` under the prefix, or null when Express could not route
 * `url` under it. The query string is kept; the part after the prefix is left as sent (the
 * authorizer judges, and refuses, any odd spelling in it).
 */
function underPrefix(url, segments) {
  if (segments.length === 0) return url;
  const q = url.indexOf("?");
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q);
  const parts = pathname.split("/");
  let i = 1;
  for (const want of segments) {
    while (i < parts.length && parts[i] === "") i++; // a doubled slash
    if (i >= parts.length || decodeSegment(parts[i]).toLowerCase() !== want) return null;
    i++;
  }
  return "/" + parts.slice(i).join("/") + query;
}

/** Request headers dropped before a judged read (the core's `guard::CONDITIONAL`). */
const CONDITIONAL = ["if-none-match", "if-modified-since", "if-range", "range"];
/** Response headers dropped from a redacted answer (the core's `guard::VALIDATORS`). */
const VALIDATORS = ["etag", "last-modified"];

/** Whether the request has a body to read (as Node's and body-parser's `hasBody`). */
function hasBody(req) {
  return req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");
}

/** Reads the raw body, stopping after `limit` bytes (enough to know it is too large). */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    const done = () => {
      req.off("data", onData);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        req.pause();
        req.off("end", done);
        done();
      }
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("error", reject);
  });
}

/** What follows the middleware sees: JSON parsed when it is JSON, the bytes otherwise. */
function keepBody(req, bytes) {
  const type = String(req.headers["content-type"] || "").toLowerCase();
  if (/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/.test(type)) {
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch {
      return bytes;
    }
  }
  return bytes;
}

function bodyOf(req) {
  const body = req.body;
  if (body === undefined || body === null) return null;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return body;
  // express.json() leaves `{}` when there was no body at all.
  if (typeof body === "object" && Object.keys(body).length === 0 && !req.headers["content-length"] && !req.headers["transfer-encoding"]) return null;
  return body;
}

/**
 * @param {import("./node/intercom_authz").AuthzConfig | string | Authorizer} config
 * @param {{ prefix?: string, path?: (req: any) => string }} [options]
 */
function authorize(config, options = {}) {
  const authz = config instanceof Authorizer ? config : new Authorizer(config);
  const segments = options.prefix ? prefixSegments(options.prefix) : [];
  const who = caller(authz, options.claims);
  const log = options.onDecision;
  return function intercomAuthz(req, res, next) {
    // req.url is relative to where the middleware is mounted (Express strips the mount path).
    const url = options.path ? options.path(req) : req.url;
    const path = underPrefix(url, segments);
    if (path === null) return next();
    const { headers, claims } = who(req);
    const judge = (body, lookup) =>
      authz.authorize({
        lookup,
        method: req.method,
        path,
        headers,
        claims,
        body,
        sourceIp: req.ip || (req.socket && req.socket.remoteAddress) || undefined,
        requestId: req.get ? req.get("x-request-id") : undefined,
        forwardsBody: true, // `finish` puts a decision's forwardBody in req.body
        // A body no parser read: the decision must know it is there (a body where none is
        // expected can make Rails read another request), so a route that cares answers
        // `body_required` and we read it below, whatever parsers run after us.
        bodyUnread: body == null && req.body === undefined && hasBody(req),
      });
    const decide = (body, lookup) => {
      const d = judge(body, lookup);
      if (d.code !== "need_lookup") return Promise.resolve(d);
      return lookUp(options.lookup, d.conversationId, req).then(({ answer, failure }) => {
        const again = judge(body, answer);
        if (failure) again.reasons.push(failure);
        return again;
      });
    };
    const done = (d) => finish(authz, req, res, next, d, log);
    const decision = judge(bodyOf(req));
    if (decision.code === "body_required" && req.body === undefined && hasBody(req) && !req.readableEnded) {
      // No body parser ran before us, and this route's decision needs the body. (A stream
      // something else consumed without leaving `req.body` cannot be judged: refused as is.)
      readBody(req, authz.maxBodyBytes() + 1)
        .then((bytes) => {
          req.body = keepBody(req, bytes);
          return decide(bytes);
        })
        .then(done, next);
      return;
    }
    if (decision.code === "need_lookup") {
      decide(bodyOf(req)).then(done, next);
      return;
    }
    done(decision);
  };
}

/**
 * Who is asking, for each request: the credential in the request's headers, or, with
 * `claimsOf`, the app's own signed-in user (the credential header is then dropped, so a
 * request without a user is `missing_token`, never judged by a token a client added).
 */
function caller(authz, claimsOf) {
  if (claimsOf === undefined) return (req) => ({ headers: req.headers, claims: undefined });
  if (typeof claimsOf !== "function") throw new TypeError("authorize: `options.claims` must be a function of the request, e.g. (req) => req.user");
  const credential = authz.credentialHeader(); // lower case
  return (req) => {
    const claims = claimsOf(req) ?? undefined;
    if (claims !== undefined) return { headers: req.headers, claims };
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() !== credential) headers[k] = v;
    return { headers, claims };
  };
}

/**
 * The app's lookup, as `{ answer: { status, body }, failure }`. No lookup, a throw or a bad
 * answer is no answer (`status: null`), and `failure` says which, for the decision's reasons.
 */
function lookUp(lookup, id, req) {
  const none = (failure) => ({ answer: { status: null }, failure });
  if (typeof lookup !== "function") return Promise.resolve(none("no `lookup` option: the conversation could not be looked up"));
  return Promise.resolve()
    .then(() => lookup(id, req))
    .then(
      (a) => (a && Number.isInteger(a.status)
        ? { answer: { status: a.status, body: a.body ?? "" } }
        : none(`the lookup of conversation ${id} resolved to ${describe(a)}, not { status, body }`)),
      (e) => none(`the lookup of conversation ${id} failed: ${e && e.message ? e.message : String(e)}`),
    );
}

function describe(v) {
  if (v === null || typeof v !== "object") return String(v);
  try {
    return JSON.stringify(v).slice(0, 80);
  } catch {
    return "an object";
  }
}

function finish(authz, req, res, next, decision, log) {
  req.authz = decision;
  // A read allowed on condition is logged once its response is judged.
  if (log && !(decision.allow && decision.responseGuard)) log(decision, req);
  if (decision.allow) {
    if (decision.forwardBody !== undefined) replaceBody(req, decision.forwardBody);
    if (decision.responseGuard) {
      // Judged answers come whole: no 304 or 206 to a conditional or range request (Express's
      // own `res.send` answers 304 to a fresh `If-None-Match`).
      for (const h of CONDITIONAL) delete req.headers[h];
      holdResponse(authz, req, res, decision, log);
    }
    return next();
  }
  deny(res, decision);
}

/**
 * What goes on is the decision's body, not the caller's (a restricted role's conversation
 * search, with the teammate's assignment condition added): `req.body` in the form it had.
 */
function replaceBody(req, json) {
  if (Buffer.isBuffer(req.body) || req.body instanceof Uint8Array) req.body = Buffer.from(json, "utf8");
  else if (typeof req.body === "string") req.body = json;
  else req.body = JSON.parse(json);
  if (req.headers["content-length"] !== undefined) req.headers["content-length"] = String(Buffer.byteLength(json));
}

function deny(res, decision) {
  res.status(decision.status);
  for (const [k, v] of Object.entries(decision.denyHeaders || {})) res.set(k, v);
  res.set("x-intercom-authz-code", decision.code);
  // The exact bytes Envoy sends (res.json would re-serialize).
  return res.send(decision.denyBodyJson);
}

/**
 * Holds the response of an allowed read whose decision has a `responseGuard`: nothing reaches
 * the client before the whole body is judged. `writeHead`, `flushHeaders`, `write` and `end`
 * are taken over;
 * at `end` the body is passed, replaced by its redaction, or replaced by a denial.
 */
function holdResponse(authz, req, res, decision, log) {
  const orig = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  res.flushHeaders = function () {}; // nothing leaves before the judgement, headers included
  const chunks = [];
  const add = (chunk, encoding) => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return;
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8"));
  };
  res.writeHead = function (status, reason, headers) {
    // Kept for `end`: the status, and headers set now (not sent).
    const h = typeof reason === "object" ? reason : headers;
    res.statusCode = status;
    if (h) for (const [k, v] of Array.isArray(h) ? pairs(h) : Object.entries(h)) res.setHeader(k, v);
    return res;
  };
  res.write = function (chunk, encoding, cb) {
    add(chunk, encoding);
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  };
  res.end = function (chunk, encoding, cb) {
    add(chunk, encoding);
    Object.assign(res, orig);
    const done = [chunk, encoding, cb].find((f) => typeof f === "function");
    const body = Buffer.concat(chunks);
    const v = authz.judgeResponse(decision, {
      status: res.statusCode, headers: headersOf(res), body,
      requestId: req.get ? req.get("x-request-id") : undefined,
    });
    if (v.action === "deny") {
      for (const k of res.getHeaderNames()) res.removeHeader(k);
      req.authz = v.decision;
      if (log) log(v.decision, req);
      return deny(res, v.decision);
    }
    if (log) log(decision, req);
    const out = v.action === "redact" ? Buffer.from(v.body, "utf8") : body;
    if (v.action === "redact") {
      res.setHeader("content-length", String(out.length));
      // They validate the original body: a conditional request could confirm it.
      for (const h of VALIDATORS) res.removeHeader(h);
    }
    return res.end(out, done);
  };
}

function pairs(flat) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

/** The response headers the judge reads, as strings. */
function headersOf(res) {
  const out = {};
  for (const [k, v] of Object.entries(res.getHeaders())) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

module.exports = { authorize, Authorizer, underPrefix };
