// The Express middleware with real express (npm), over HTTP: the example app of
// examples/express/, which replaces seed 000's hand-written requirePermission.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import crypto from "node:crypto";

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
