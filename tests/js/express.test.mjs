// The Express middleware with real express (npm), over HTTP: the example app of
// examples/express/, which replaces seed 000's hand-written requirePermission.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import crypto from "node:crypto";
import http from "node:http";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const { app } = require(ROOT + "examples/express/app.js");
const SECRET = "demo-secret-change-me-0123456789abcdef";

function token(role) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT", kid: "demo" });
  const body = b64({ sub: "admin-7", role, iss: "https://sso.example.com", aud: "intercom-authz", iat: now, exp: now + 600 });
  const sig = crypto.createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

let server, base;
before(async () => {
  server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

async function call(method, path, role, body) {
  const headers = { "content-type": "application/json" };
  if (role) headers.authorization = `Bearer ${token(role)}`;
  const r = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, headers: r.headers, json: await r.json().catch(() => null) };
}

test("allowed requests reach the handler, with the decision on req.authz", async () => {
  const r = await call("GET", "/api/contacts/12", "agent");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { id: "12", role: "agent" });
  const del = await call("DELETE", "/api/contacts/12", "owner");
  assert.deepEqual(del.json, { deleted: "12", by: "admin-7" });
});

test("denied requests get the filter's status and body", async () => {
  const r = await call("DELETE", "/api/contacts/12", "agent");
  assert.equal(r.status, 403);
  assert.equal(r.headers.get("x-intercom-authz-code"), "missing_permission");
  assert.deepEqual(r.json, {
    error: "Forbidden", message: "Missing permission: contacts:delete", required: "contacts:delete",
    currentRole: "agent", code: "missing_permission", route: "DELETE /contacts/{id}",
  });
});

test("the body decides on body-dependent routes", async () => {
  assert.equal((await call("POST", "/api/conversations/5/parts", "agent", { message_type: "close" })).status, 200);
  const r = await call("POST", "/api/conversations/5/parts", "observer", { message_type: "close" });
  assert.equal(r.status, 403);
  assert.equal(r.json.required, "conversations:close");
});

test("no token is a 401 with WWW-Authenticate; paths outside the prefix are not judged", async () => {
  const r = await call("GET", "/api/contacts/1", null);
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="intercom-authz"');
  assert.equal((await call("GET", "/health", null)).status, 404);
  assert.equal((await call("GET", "/api//contacts/1", "agent")).json.code, "non_canonical_path");
});

test("no body parser before the middleware: it reads the raw body itself, bounded, and leaves it parsed", async () => {
  const express = require(require.resolve("express", { paths: [ROOT + "tests/node"] }));
  const { authorize } = require(ROOT + "dist/js/express.js");
  const { config } = require(ROOT + "examples/express/app.js");
  const bare = express();
  bare.use("/api", authorize({ ...config, max_body_bytes: 256 }));
  bare.post("/api/conversations/:id/parts", express.json(), (req, res) => res.json({ seen: req.body }));
  const raw = express();
  raw.use(express.raw({ type: "*/*" }));
  raw.use("/api", authorize(config));
  raw.post("/api/conversations/:id/parts", (req, res) => res.json({ bytes: req.body.length }));
  for (const [app, name] of [[bare, "no parser"], [raw, "express.raw()"]]) {
    const s = app.listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const url = `http://127.0.0.1:${s.address().port}/api/conversations/5/parts`;
    const post = async (role, body) => {
      const r = await fetch(url, { method: "POST", body, headers: { authorization: `Bearer ${token(role)}`, "content-type": "application/json" } });
      return { status: r.status, json: await r.json() };
    };
    try {
      const close = JSON.stringify({ message_type: "close" });
      const denied = await post("observer", close);
      assert.equal(denied.status, 403, name);
      assert.equal(denied.json.required, "conversations:close", name);
      const ok = await post("agent", close);
      assert.equal(ok.status, 200, name);
      assert.deepEqual(ok.json, name === "no parser" ? { seen: { message_type: "close" } } : { bytes: close.length });
      if (name === "no parser") {
        // Larger than max_body_bytes: 413, read no further than the limit.
        const big = await post("agent", JSON.stringify({ message_type: "close", pad: "x".repeat(1000) }));
        assert.equal(big.status, 413);
        assert.equal(big.json.code, "body_too_large");
        // Not JSON: judged as such.
        assert.equal((await post("agent", "{not json")).json.code, "invalid_body");
      }
    } finally {
      s.close();
    }
  }
});

/** One request with node:http (fetch refuses a GET with a body; a client may send one), its
 *  length declared (Node sends a DELETE's body unframed otherwise). */
function send(port, method, path, headers, body) {
  if (body !== undefined) headers = { ...headers, "content-length": Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("a body is judged as the Authorizer judges it in every parser arrangement, never passed on unjudged", async () => {
  // Issue 33: an admin's DELETE /conversations/5 with {"retain_metrics":false} reached the
  // handler when no parser ran before the middleware (the decision never heard of the body),
  // where the Authorizer given the body (and Envoy) answer 400 ambiguous_request.
  const express = require(require.resolve("express", { paths: [ROOT + "tests/node"] }));
  const { authorize } = require(ROOT + "dist/js/express.js");
  const { Authorizer } = require(ROOT + "dist/js/node/intercom_authz.js");
  const { config } = require(ROOT + "examples/express/app.js");
  const direct = new Authorizer(config);
  const arrangements = {
    "no parser": (a) => a.use("/api", authorize(config)),
    "express.json() after": (a) => { a.use("/api", authorize(config)); a.use(express.json()); },
    "express.json() before": (a) => { a.use(express.json()); a.use("/api", authorize(config)); },
    "express.raw() before": (a) => { a.use(express.raw({ type: "*/*" })); a.use("/api", authorize(config)); },
    "express.text() before": (a) => { a.use(express.text({ type: "*/*" })); a.use("/api", authorize(config)); },
  };
  const body = JSON.stringify({ retain_metrics: false });
  const cases = [
    ["DELETE", "/conversations/5", "admin", body],
    ["DELETE", "/conversations/5?retain_metrics=true", "admin", body],
    ["DELETE", "/conversations/5", "admin", undefined],
    ["GET", "/contacts/5", "agent", body],
    ["POST", "/conversations/5/parts", "observer", JSON.stringify({ message_type: "close" })],
    ["POST", "/conversations/5/parts", "agent", JSON.stringify({ message_type: "close" })],
  ];
  const ambiguous = direct.authorize({ method: "DELETE", path: "/conversations/5", token: token("admin"),
    headers: { "content-type": "application/json" }, body });
  assert.equal(ambiguous.code, "ambiguous_request", "the case this test is about");
  for (const [name, wire] of Object.entries(arrangements)) {
    const app = express();
    wire(app);
    let reached = 0;
    app.all(/.*/, (req, res) => { reached++; res.json({ ok: true }); });
    const s = app.listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    try {
      for (const [method, path, role, sent] of cases) {
        const headers = { authorization: `Bearer ${token(role)}`, "content-type": "application/json" };
        const want = direct.authorize({ method, path, headers, body: sent });
        const before = reached;
        const r = await send(s.address().port, method, `/api${path}`, headers, sent);
        const got = JSON.parse(r.body);
        const what = `${name}: ${role} ${method} ${path} ${sent ? "with" : "without"} a body`;
        assert.equal(r.status, want.status, `${what}: ${JSON.stringify(got)}`);
        if (!want.allow) assert.equal(got.code, want.code, what);
        assert.equal(reached - before, want.allow ? 1 : 0, `${what}: reached the handler ${reached - before} times`);
      }
    } finally {
      s.close();
    }
  }
});
