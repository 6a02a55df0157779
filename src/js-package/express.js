"use strict";
// Express middleware: the filter's decisions, in an Express app (replaces a hand-written
// `requirePermission`). Denials get the same status, JSON body and headers as from Envoy; the
// decision is on `req.authz` either way.
const { Authorizer } = require("./node/intercom_authz.js");

/**
 * @param {import("./node/intercom_authz").AuthzConfig | string | Authorizer} config
 * @param {{ prefix?: string, path?: (req: any) => string }} [options]
 */
function authorize(config, options = {}) {
  const authz = config instanceof Authorizer ? config : new Authorizer(config);
  const prefix = options.prefix ? options.prefix.replace(/\/+$/, "") : "";
  return function intercomAuthz(req, res, next) {
    let path = options.path ? options.path(req) : req.originalUrl;
    if (prefix) {
      // Only requests under the prefix are judged (as the Intercom path after it).
      if (path !== prefix && !path.startsWith(prefix + "/") && !path.startsWith(prefix + "?")) return next();
      path = path.slice(prefix.length) || "/";
    }
    let body = req.body;
    if (body === undefined || (typeof body === "object" && body !== null && !Buffer.isBuffer(body) && Object.keys(body).length === 0 && !req.headers["content-length"])) {
      body = null;
    } else if (Buffer.isBuffer(body)) {
      body = new Uint8Array(body);
    }
    const decision = authz.authorize({
      method: req.method,
      path,
      headers: req.headers,
      body,
      sourceIp: req.ip || (req.socket && req.socket.remoteAddress) || undefined,
      requestId: req.get ? req.get("x-request-id") : undefined,
    });
    req.authz = decision;
    if (decision.allow) return next();
    res.status(decision.status);
    for (const [k, v] of Object.entries(decision.denyHeaders || {})) res.set(k, v);
    res.set("x-intercom-authz-code", decision.code);
    return res.send(JSON.stringify(decision.denyBody));
  };
}

module.exports = { authorize, Authorizer };
