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
// Bodies: when a body parser ran before the middleware (`express.json()`, `express.raw()`,
// `express.text()`), its `req.body` is judged. When none ran and the route's decision needs
// the body, the middleware reads the raw body itself (at most `max_body_bytes` + 1 bytes),
// judges those bytes, and leaves `req.body` parsed (JSON) or as a Buffer for what follows (a
// later `express.json()` sees a finished stream and keeps it).
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
  return function intercomAuthz(req, res, next) {
    // req.url is relative to where the middleware is mounted (Express strips the mount path).
    const url = options.path ? options.path(req) : req.url;
    const path = underPrefix(url, segments);
    if (path === null) return next();
    const judge = (body) =>
      authz.authorize({
        method: req.method,
        path,
        headers: req.headers,
        body,
        sourceIp: req.ip || (req.socket && req.socket.remoteAddress) || undefined,
        requestId: req.get ? req.get("x-request-id") : undefined,
      });
    const decision = judge(bodyOf(req));
    if (decision.code === "body_required" && req.body === undefined && hasBody(req)) {
      // No body parser ran before us, and this route's decision needs the body.
      readBody(req, authz.maxBodyBytes() + 1).then((bytes) => {
        req.body = keepBody(req, bytes);
        finish(req, res, next, judge(bytes));
      }, next);
      return;
    }
    finish(req, res, next, decision);
  };
}

function finish(req, res, next, decision) {
  req.authz = decision;
  if (decision.allow) return next();
  res.status(decision.status);
  for (const [k, v] of Object.entries(decision.denyHeaders || {})) res.set(k, v);
  res.set("x-intercom-authz-code", decision.code);
  // The exact bytes Envoy sends (res.json would re-serialize).
  return res.send(decision.denyBodyJson);
}

module.exports = { authorize, Authorizer, underPrefix };
