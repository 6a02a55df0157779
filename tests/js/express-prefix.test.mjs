// The Express middleware judges whatever Express will route under its prefix (issue 10): real
// Express apps wired four ways, the prefix in many spellings; a denied request never runs a
// handler, and an allowed one still does.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import crypto from "node:crypto";
import http from "node:http";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const express = require(require.resolve("express", { paths: [ROOT + "tests/node"] }));
const { authorize, underPrefix } = require(ROOT + "dist/js/express.js");
const SECRET = "prefix-test-secret-0123456789abcdef-0123";
const config = { policy: {}, token: { keys: [{ kid: "k", alg: "HS256", secret: SECRET }] } };

function token(role) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT", kid: "k" });
  const body = b64({ sub: "admin-7", role, iat: now, exp: now + 600 });
  const sig = crypto.createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

// Each app counts the handler runs; the Intercom-shaped routes live under /api.
function handlers(target, base, ran) {
  target.delete(`${base}/contacts/:id`, (req, res) => { ran.push(req.originalUrl); res.json({ deleted: req.params.id }); });
  target.get(`${base}/contacts/:id`, (req, res) => { ran.push(req.originalUrl); res.json({ id: req.params.id }); });
}
const apps = {
  "global prefix /api": (ran) => { const a = express(); a.use(authorize(config, { prefix: "/api" })); handlers(a, "/api", ran); return a; },
  "global prefix /API/ (spelled oddly)": (ran) => { const a = express(); a.use(authorize(config, { prefix: "/API/" })); handlers(a, "/api", ran); return a; },
  'mounted app.use("/api", …)': (ran) => { const a = express(); a.use("/api", authorize(config)); handlers(a, "/api", ran); return a; },
  'router under app.use("/api", router)': (ran) => {
    const a = express(); const r = express.Router(); r.use(authorize(config)); handlers(r, "", ran); a.use("/api", r); return a;
  },
};

// Raw HTTP so that no client cleans the path.
function send(port, method, path, role) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers: { authorization: `Bearer ${token(role)}` } }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, code: res.headers["x-intercom-authz-code"], body: data }));
    });
    req.on("error", reject);
    req.end();
  });
}

const DENIED_SPELLINGS = [
  "/api/contacts/1", "/API/contacts/1", "/Api/contacts/1", "/aPI/contacts/1", "/api/contacts/1/", "/API/contacts/1/",
  "/api/contacts/1?force=1", "/API/contacts/1?x=%2F", "//api/contacts/1", "/%61pi/contacts/1", "/%41PI/contacts/1",
  "/api//contacts/1", "/API/CONTACTS/1", "/api/Contacts/1", "/api/contacts/%31",
];

const servers = [];
after(() => servers.forEach((s) => s.close()));
async function listen(app) {
  const s = app.listen(0, "127.0.0.1");
  servers.push(s);
  await new Promise((r) => s.once("listening", r));
  return s.address().port;
}

for (const [name, make] of Object.entries(apps)) {
  test(`${name}: an agent's DELETE never reaches the handler, in any spelling`, async () => {
    const ran = [];
    const port = await listen(make(ran));
    for (const p of DENIED_SPELLINGS) {
      const r = await send(port, "DELETE", p, "agent");
      assert.ok([400, 403, 404].includes(r.status), `${p}: ${r.status} ${r.body}`);
      if (r.status !== 404) assert.ok(r.code, `${p}: denied without a decision code`);
    }
    assert.deepEqual(ran, [], "a handler ran for a denied request");
    // The same spellings with a role that may delete: every one Express routes runs the handler
    // only after an allow (a 400/404 is the core refusing an odd spelling, or Express not routing it).
    for (const p of DENIED_SPELLINGS) {
      const r = await send(port, "DELETE", p, "owner");
      if (r.status === 200) assert.ok(ran.includes(p), `${p}: 200 without the handler`);
    }
    const ok = await send(port, "DELETE", "/api/contacts/1", "owner");
    assert.equal(ok.status, 200, ok.body);
    const upper = await send(port, "GET", "/API/contacts/7", "agent");
    assert.equal(upper.status, 200, `the prefix's case does not change an allow: ${upper.body}`);
  });
}

test("paths outside the prefix are left to the app", async () => {
  const ran = [];
  const a = express();
  a.use(authorize(config, { prefix: "/api" }));
  a.get("/apiary", (req, res) => { ran.push("apiary"); res.send("ok"); });
  a.get("/health", (req, res) => { ran.push("health"); res.send("ok"); });
  const port = await listen(a);
  assert.equal((await send(port, "GET", "/apiary", "agent")).status, 200);
  assert.equal((await send(port, "GET", "/health", "agent")).status, 200);
  assert.deepEqual(ran, ["apiary", "health"]);
});

test("underPrefix: what is judged, and as which Intercom path", () => {
  const seg = ["api"];
  assert.equal(underPrefix("/API/contacts/1?x=1", seg), "/contacts/1?x=1");
  assert.equal(underPrefix("//api/contacts/1", seg), "/contacts/1");
  assert.equal(underPrefix("/%61pi/contacts/1", seg), "/contacts/1");
  assert.equal(underPrefix("/api//contacts/1", seg), "//contacts/1");
  assert.equal(underPrefix("/api", seg), "/");
  assert.equal(underPrefix("/api?x", seg), "/?x");
  assert.equal(underPrefix("/apiary/contacts", seg), null);
  assert.equal(underPrefix("/contacts/1", seg), null);
  assert.equal(underPrefix("/contacts/1", []), "/contacts/1");
});
