// Apps that log users in themselves (a session, passport): `authorize(config, { claims })`
// judges the signed-in user's claims; a token a client adds is never read.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import crypto from "node:crypto";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const express = require(require.resolve("express", { paths: [ROOT + "tests/node"] }));
const { authorize } = require(ROOT + "dist/js/express.js");
const servers = [];
after(() => servers.forEach((s) => s.close()));

// The app's own login: a session cookie names the user (a stand-in for express-session or passport).
const USERS = { s1: { sub: "7", role: "agent", name: "Ann" }, s2: { sub: "8", role: "owner" } };
function login(req, res, next) {
  const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie || "")?.[1];
  if (USERS[sid]) req.user = USERS[sid];
  next();
}

async function serve(config, options) {
  const app = express();
  app.use(login);
  app.use("/api", authorize(config, options));
  app.all("/api/*rest", (req, res) => res.json({ ok: req.authz.code, by: req.authz.subject }));
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${server.address().port}/api`;
  return async (method, path, headers = {}) => {
    const r = await fetch(base + path, { method, headers });
    return { status: r.status, json: await r.json() };
  };
}

const secret = "claims-test-secret-0123456789abcdef-0123";
function ownerToken() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b64({ alg: "HS256", typ: "JWT", kid: "k" });
  const body = b64({ sub: "9", role: "owner", exp: 4102444800 });
  return `${head}.${body}.${crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")}`;
}

test("the signed-in user's claims decide; no user is 401, whatever token a client adds", async () => {
  // With keys configured, too: a valid owner token in the header must not stand in for the session.
  for (const config of [{}, { token: { keys: [{ kid: "k", alg: "HS256", secret }] } }]) {
    const call = await serve(config, { claims: (req) => req.user });
    const agent = { cookie: "sid=s1" };
    assert.deepEqual(await call("GET", "/contacts/1", agent), { status: 200, json: { ok: "allowed", by: "7" } });
    assert.equal((await call("DELETE", "/contacts/1", agent)).json.code, "missing_permission");
    assert.equal((await call("DELETE", "/contacts/1", { cookie: "sid=s2" })).status, 200);
    const bearer = { authorization: `Bearer ${ownerToken()}` };
    for (const headers of [{}, bearer, { ...bearer, cookie: "sid=nobody" }]) {
      const r = await call("DELETE", "/contacts/1", headers);
      assert.deepEqual([r.status, r.json.code], [401, "missing_token"], JSON.stringify(headers));
    }
    // A signed-in agent with an owner token added is still the agent.
    assert.equal((await call("DELETE", "/contacts/1", { ...agent, ...bearer })).json.code, "missing_permission");
  }
});

test("`claims` must be a function; claims that are not an object are the app's mistake (500), named", async () => {
  assert.throws(() => authorize({}, { claims: { role: "agent" } }), /`options.claims` must be a function/);
  const errors = [];
  const app = express();
  app.use("/api", authorize({}, { claims: () => "agent" }));
  app.use((err, req, res, next) => { errors.push(err.message); res.status(500).end(); });
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
  const r = await fetch(`http://127.0.0.1:${server.address().port}/api/contacts/1`);
  assert.equal(r.status, 500);
  assert.match(errors[0], /`claims` must be an object of verified claims/);
});
