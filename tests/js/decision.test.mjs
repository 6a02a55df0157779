// The decision `authorize` returns (js/src/decision.js): `allow`, `status` and `code` are its
// own; the other fields are getters over its JSON, and nothing of it is lost in a copy made as
// the declarations say (`toJSON()`). The corpus test holds every field against the core.
import assert from "node:assert/strict";
import test from "node:test";
import util from "node:util";
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Authorizer } = require("../../dist/js/node/intercom_authz.js");

const secret = "decision-test-secret-0123456789abcdef";
const authz = new Authorizer({ token: { keys: [{ kid: "k", alg: "HS256", secret }] } });
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const signed = `${b64({ alg: "HS256", kid: "k" })}.${b64({ sub: "u1", role: "agent", exp: 4102444800 })}`;
const token = `${signed}.${crypto.createHmac("sha256", secret).update(signed).digest("base64url")}`;
const agent = { method: "DELETE", path: "/contacts/3", claims: { sub: "u1", role: "agent" }, requestId: "r-1" };

test("allow, status and code are own properties; the rest are read when asked for", () => {
  const d = authz.authorize(agent);
  assert.deepEqual(Object.keys(d), ["allow", "status", "code"]);
  assert.deepEqual([d.allow, d.status, d.code], [false, 403, "missing_permission"]);
  assert.equal(d.required, "contacts:delete");
  assert.equal(d.role, "agent");
  assert.equal(d.denyBody.requestId, "r-1");
  assert.equal(JSON.stringify(d.denyBody), d.denyBodyJson);
  assert.equal(d.forwardBody, undefined);
});

test("toJSON, JSON.stringify, structuredClone of toJSON and console.log show every field", () => {
  const d = authz.authorize(agent);
  const all = d.toJSON();
  assert.equal(all.required, "contacts:delete");
  assert.deepEqual(all.denyBody, JSON.parse(all.denyBodyJson));
  assert.deepEqual(JSON.parse(JSON.stringify(d)), all);
  assert.deepEqual(structuredClone(all), all);
  assert.notEqual(d.toJSON(), all, "each toJSON is a copy: changing one changes no decision");
  all.allow = true;
  assert.equal(d.toJSON().allow, false);
  const shown = util.inspect(d);
  assert.match(shown, /^Decision \{/);
  assert.match(shown, /required: 'contacts:delete'/);
});

test("the request's one crossing and the field-by-field reading give the same decision", () => {
  const h = { authorization: `Bearer ${token}` };
  authz.authorize({ method: "GET", path: "/contacts/3", headers: h }); // the token cached
  const plain = authz.authorize({ method: "GET", path: "/contacts/3", headers: h });
  const apart = authz.authorize({ method: "GET", path: "/contacts/3", headers: new Map(Object.entries(h)) });
  assert.equal(plain.code, "allowed");
  assert.deepEqual(apart.toJSON(), plain.toJSON());
  // Whatever makes the one crossing fail is named by the field-by-field reading.
  assert.throws(() => authz.authorize({ ...agent, claims: { sub: 1n } }), /BigInt|claims/);
  assert.throws(() => authz.authorize({ ...agent, body: Promise.resolve("{}") }), /await it first/);
});

test("a field's name inside a string value is not the field", () => {
  const sub = 'u1","forwardBody":"{}","responseGuard":{"x":1},"role":"owner';
  const d = authz.authorize({ method: "GET", path: "/contacts/3", claims: { sub, role: "agent" } });
  assert.equal(d.code, "allowed");
  assert.equal(d.forwardBody, undefined);
  assert.equal(d.responseGuard, undefined);
  assert.equal(d.subject, sub);
  assert.equal(d.role, "agent");
});

test("a header the decision reads named __proto__ goes the long way", () => {
  const odd = new Authorizer({ token: { header: "__proto__", trusted_payload_header: "x-jwt-payload" } });
  const headers = JSON.parse('{"__proto__": ["a"], "x-jwt-payload": "e30"}');
  const a = odd.authorize({ method: "GET", path: "/contacts/3", headers });
  const b = odd.authorize({ method: "GET", path: "/contacts/3", headers: new Map(Object.entries(headers)) });
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test("a copy of a decision that guards a response or rewrites a search keeps what it guards", () => {
  const mine = new Authorizer({ policy: { roles: { mine: { extends: "agent", conversation_access: "assigned_to_me" } } } });
  const d = mine.authorize({ method: "GET", path: "/conversations/2", claims: { sub: "7", role: "mine" } });
  assert.ok(d.responseGuard);
  const theirs = { status: 200, headers: { "content-type": "application/json" },
                   body: JSON.stringify({ type: "conversation", id: "2", admin_assignee_id: 9, team_assignee_id: null }) };
  for (const copy of [d, { ...d }, structuredClone(d), Object.assign({}, d), d.toJSON()]) {
    const v = mine.judgeResponse(copy, theirs);
    assert.equal(v.action, "deny");
    assert.equal(v.decision.code, "conversation_not_accessible");
  }
  const search = mine.authorize({ method: "POST", path: "/conversations/search", claims: { sub: "7", role: "mine" }, forwardsBody: true,
                                  headers: { "content-type": "application/json" }, body: { query: { field: "open", operator: "=", value: true } } });
  assert.ok(search.forwardBody);
  assert.equal({ ...search }.forwardBody, search.forwardBody);
});

test("a request whose getters throw is named by the long way, and the module keeps working", () => {
  // JSON.stringify never reads a Symbol key: judged as without it; a field's getter is named.
  const symbol = { ...agent, headers: {}, get [Symbol("x")]() { throw new Error("boom"); } };
  const field = { ...agent, headers: { get authorization() { throw new Error("boom"); } } };
  for (let i = 0; i < 1000; i++) {
    assert.equal(authz.authorize(symbol).code, "missing_permission");
    assert.throws(() => authz.authorize(field), /invalid request: boom/);
  }
  assert.equal(authz.authorize(agent).code, "missing_permission");
  assert.equal(new Authorizer({}).authorize({ method: "GET", path: "/contacts/1", claims: { role: "agent" } }).code, "allowed");
});

test("the one crossing sees the request as JSON.stringify does", () => {
  const bearer = `Bearer ${token}`; // the agent's
  const h = { authorization: bearer };
  // headers that are not the request's own enumerable field are not there, as on the long way
  const hidden = { method: "GET", path: "/contacts/3" };
  Object.defineProperty(hidden, "headers", { value: h, enumerable: false });
  assert.equal(authz.authorize(hidden).code, "missing_token");
  Object.prototype.headers = h;
  try {
    assert.equal(authz.authorize({ method: "GET", path: "/contacts/3" }).code, "missing_token");
  } finally {
    delete Object.prototype.headers;
  }
  // a key Object.prototype has read-only does not drop a header
  Object.defineProperty(Object.prototype, "authorization", { value: "x", writable: false, configurable: true });
  try {
    assert.equal(authz.authorize({ method: "GET", path: "/contacts/3", headers: { authorization: bearer } }).code, "allowed");
  } finally {
    delete Object.prototype.authorization;
  }
  // a toJSON JSON.stringify would call is honoured (the long way calls it)
  const withToJSON = { method: "DELETE", path: "/contacts/3" };
  Object.defineProperty(withToJSON, "toJSON", { value: () => ({ method: "GET", path: "/contacts/3", headers: h }), enumerable: false });
  assert.equal(authz.authorize(withToJSON).code, "allowed");
});
