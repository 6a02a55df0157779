// Conversation access through the Express middleware (issue 14), over HTTP with real express:
// a restricted teammate's list is redacted, another teammate's conversation is 403 before the
// client sees it, a write is decided with the app's lookup (and refused when there is none or
// it fails), and a response the middleware cannot judge never leaves.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import crypto from "node:crypto";
import zlib from "node:zlib";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const express = require(require.resolve("express", { paths: [ROOT + "tests/node"] }));
const { authorize } = require(ROOT + "dist/js/express.js");
const SECRET = "conversations-test-secret-0123456789abcdef";
const config = {
  policy: { roles: { mine: { extends: "agent", conversation_access: "assigned_to_me" } } },
  token: { keys: [{ kid: "k", alg: "HS256", secret: SECRET }] },
};

function token(role, sub = "7") {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT", kid: "k" });
  const body = b64({ sub, role, teams: ["50"], iat: now, exp: now + 600 });
  const sig = crypto.createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

// Intercom as the app's handlers see it: conversation 1 is teammate 7's, 2 is teammate 9's.
const CONVERSATIONS = {
  1: { type: "conversation", id: "1", admin_assignee_id: 7, team_assignee_id: null, source: { body: "hello from 1" } },
  2: { type: "conversation", id: "2", admin_assignee_id: 9, team_assignee_id: null, source: { body: "secret of 2" } },
};
const lookups = [];
const searched = [];
const servers = [];
after(() => servers.forEach((s) => s.close()));

async function serve(options) {
  const app = express();
  app.use("/api", authorize(config, options));
  // The list: headers flushed, then the body in pieces; held all the same, judged whole.
  app.get("/api/conversations", (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.flushHeaders();
    const body = JSON.stringify({ type: "conversation.list", conversations: Object.values(CONVERSATIONS) });
    res.write(body.slice(0, 10));
    res.end(body.slice(10));
  });
  app.get("/api/conversations/:id", (req, res) => res.json(CONVERSATIONS[req.params.id]));
  app.post("/api/conversations/:id/reply", express.json(), (req, res) => res.json({ replied: req.params.id }));
  app.post("/api/conversations/search", express.json(), (req, res) => {
    searched.push(req.body);
    res.json({ type: "conversation.list", conversations: Object.values(CONVERSATIONS) });
  });
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${server.address().port}/api`;
  return async (method, path, role, body) => {
    const headers = { authorization: `Bearer ${token(role)}`, "content-type": "application/json" };
    const r = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, length: r.headers.get("content-length"), text, json: JSON.parse(text), headers: Object.fromEntries(r.headers) };
  };
}

const lookup = (id) => {
  lookups.push(id);
  return CONVERSATIONS[id] ? { status: 200, body: JSON.stringify(CONVERSATIONS[id]) } : { status: 404, body: "{}" };
};

test("reads: the list is redacted, another teammate's conversation is 403, their own passes", async () => {
  const call = await serve({ lookup });
  const list = await call("GET", "/conversations", "mine");
  assert.equal(list.status, 200);
  assert.equal(Number(list.length), Buffer.byteLength(list.text));
  assert.equal(list.json.conversations[0].source.body, "hello from 1");
  assert.deepEqual(list.json.conversations[1], { type: "conversation", id: "2", admin_assignee_id: 9, team_assignee_id: null, redacted: true });
  assert.ok(!list.text.includes("secret of 2"));
  const other = await call("GET", "/conversations/2", "mine");
  assert.equal(other.status, 403);
  assert.equal(other.json.code, "conversation_not_accessible");
  assert.ok(!other.text.includes("secret"));
  const own = await call("GET", "/conversations/1", "mine");
  assert.deepEqual([own.status, own.json], [200, CONVERSATIONS[1]]);
  // An agent with access to all gets everything as it came.
  const all = await call("GET", "/conversations", "agent");
  assert.ok(all.text.includes("secret of 2"));
  // Search: the handler gets the query with the teammate's assignment added (req.body replaced),
  // and the answer is judged all the same.
  const q = { field: "id", operator: ">", value: "0" };
  const search = await call("POST", "/conversations/search", "mine", { query: q });
  assert.equal(search.status, 200);
  assert.deepEqual(searched.at(-1), { query: { operator: "AND", value: [q, { field: "admin_assignee_id", operator: "=", value: 7 }] } });
  assert.equal(search.json.conversations[1].redacted, true);
  assert.equal(search.headers.etag, undefined, "a redacted answer keeps no validator of the original");
});

test("writes: decided with the app's lookup, refused without one or when it throws", async () => {
  lookups.length = 0;
  const call = await serve({ lookup });
  const reply = { message_type: "comment", type: "admin", admin_id: "7", body: "hi" };
  const ok = await call("POST", "/conversations/1/reply", "mine", reply);
  assert.deepEqual([ok.status, ok.json], [200, { replied: "1" }]);
  const no = await call("POST", "/conversations/2/reply", "mine", reply);
  assert.deepEqual([no.status, no.json.code], [403, "conversation_not_accessible"]);
  assert.deepEqual(lookups, ["1", "2"]);
  const agent = await call("POST", "/conversations/2/reply", "agent", reply);
  assert.equal(agent.status, 200);
  assert.deepEqual(lookups, ["1", "2"], "access to all: nothing looked up");
  // Each failing lookup is refused, and named in the decision's reasons the log hook sees.
  const failing = [
    [{}, /no `lookup` option/],
    [{ lookup: () => { throw new Error("intercom is down"); } }, /lookup of conversation 1 failed: intercom is down/],
    [{ lookup: async () => { throw new Error("timed out"); } }, /lookup of conversation 1 failed: timed out/],
    [{ lookup: async () => "200" }, /lookup of conversation 1 resolved to 200, not \{ status, body \}/],
    [{ lookup: async () => ({ status: 500, body: "" }) }, /lookup did not answer 200/],
  ];
  for (const [options, why] of failing) {
    const logged = [];
    const c = await serve({ ...options, onDecision: (d, req) => logged.push([d, req.method]) });
    const r = await c("POST", "/conversations/1/reply", "mine", reply);
    assert.deepEqual([r.status, r.json.code], [503, "conversation_lookup_failed"], JSON.stringify(r.json));
    assert.equal(logged.length, 1);
    assert.equal(logged[0][1], "POST");
    assert.equal(logged[0][0].code, "conversation_lookup_failed");
    assert.ok(logged[0][0].reasons.some((x) => why.test(x)), JSON.stringify(logged[0][0].reasons));
  }
});

test("the log hook sees every final decision once: allowed, denied, and a judged read's verdict", async () => {
  const logged = [];
  const call = await serve({ lookup, onDecision: (d) => logged.push(`${d.status} ${d.code}`) });
  await call("GET", "/conversations/1", "mine");
  await call("GET", "/conversations/2", "mine");
  await call("GET", "/conversations", "mine");
  await call("DELETE", "/conversations/1", "mine");
  assert.deepEqual(logged, ["200 allowed", "403 conversation_not_accessible", "200 allowed", "403 missing_permission"]);
});

test("a response that cannot be judged never leaves: compressed, not JSON", async () => {
  const app = express();
  app.use("/api", authorize(config));
  app.get("/api/conversations", (req, res) => {
    res.set("content-encoding", "gzip").type("json").send(zlib.gzipSync(JSON.stringify({ conversations: [CONVERSATIONS[2]] })));
  });
  app.get("/api/conversations/:id", (req, res) => res.type("text").send("secret of 2"));
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${server.address().port}/api`;
  const headers = { authorization: `Bearer ${token("mine")}` };
  for (const path of ["/conversations", "/conversations/2"]) {
    const r = await fetch(base + path, { headers });
    const text = await r.text();
    assert.equal(r.status, 502, text);
    assert.equal(JSON.parse(text).code, "response_not_judgeable");
    assert.equal(r.headers.get("content-encoding"), null);
  }
});
