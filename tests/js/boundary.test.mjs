// Every wrong type at the package's boundary throws an Error naming the field and what it
// accepts; what JSON cannot carry (a Map or Headers, bytes) is read as well as an object.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Readable } from "node:stream";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const { Authorizer } = require(ROOT + "dist/js/node/intercom_authz.js");

const a = new Authorizer({});
const agent = { sub: "u1", role: "agent" };
const reply = { method: "POST", path: "/conversations/5/reply", claims: agent };

test("bodies JSON cannot carry throw, naming the body and what it accepts", () => {
  const cases = [
    [Promise.resolve("{}"), /`body` must be a string, bytes .* got a Promise \(a Promise: await it first\)/],
    [new ReadableStream(), /got a ReadableStream \(a stream: read it first/],
    [Readable.from(["{}"]), /got a Readable \(a stream: read it first/],
    [new Map(), /`body` must be .* got a Map$/],
    [() => "{}", /`body` must be .* got a function/],
    [new Uint16Array(2), /got a Uint16Array/],
  ];
  for (const [body, want] of cases) assert.throws(() => a.authorize({ ...reply, body }), want, String(body));
});

test("fields of the wrong type throw, naming the field and what it accepts", () => {
  const cases = [
    [{ claims: "agent" }, /`claims` must be an object of verified claims .* got a string/],
    [{ claims: ["agent"] }, /`claims` must be an object .* got an array/],
    [{ sourceIp: "localhost" }, /`sourceIp` must be an IPv4 or IPv6 address .* got "localhost"/],
    [{ sourceIp: 2130706433 }, /`sourceIp` must be a string \(an IPv4 or IPv6 address\), got a number/],
    [{ now: Date.now() }, /`now` is seconds since the epoch; \d+ looks like milliseconds \(use `Date.now\(\) \/ 1000`\)/],
    [{ now: "1700000000" }, /`now` must be seconds since the epoch .* got a string/],
    [{ now: -1 }, /`now` must be seconds since the epoch/],
    [{ token: 12 }, /`token` must be a string \(a bearer token\), got a number/],
    [{ method: 1 }, /`method` must be a string/],
    [{ headers: "authorization: x" }, /`headers` must be an object, a `Map` or `Headers`, got a string/],
    [{ headers: { "content-length": 5 } }, /header `content-length` must be a string or an array of strings, got a number/],
    [{ headers: { "x-b": ["a", 1] } }, /header `x-b` must be a string or an array of strings, got an array/],
    [{ headers: new Map([["x-a", 5]]) }, /header `x-a` must be a string or an array of strings/],
    [{ forwardsBody: "yes" }, /`forwardsBody` must be true or false, got a string/],
    [{ bodyUnread: 1 }, /`bodyUnread` must be true or false/],
    [{ header: {} }, /unknown field `header` \(did you mean `headers`\?\)/],
    [{ claims: { n: 10n } }, /invalid request: .*BigInt/],
  ];
  for (const [extra, want] of cases) {
    assert.throws(() => a.authorize({ method: "GET", path: "/contacts/1", claims: agent, ...extra }), want, JSON.stringify(Object.keys(extra)));
  }
  assert.throws(() => a.authorize("GET /contacts"), /invalid request: expected an object with `method` and `path`, got a string/);
  assert.throws(() => a.authorize(new Map()), /got a Map/);
  assert.throws(() => a.authorize({ path: "/x" }), /`method` is required/);
  // Milliseconds are refused; seconds (fractional ones too) are taken.
  assert.equal(a.authorize({ method: "GET", path: "/contacts/1", claims: agent, now: Date.now() / 1000 }).code, "allowed");
  // A sourceIp with a port, as `req.socket.remoteAddress` never has but proxies write, is an address.
  assert.equal(a.authorize({ method: "GET", path: "/contacts/1", claims: agent, sourceIp: "[::1]:8080" }).code, "allowed");
});

test("headers as an object, a Map, fetch Headers or pairs decide alike; bytes bodies too", () => {
  const text = JSON.stringify({ message_type: "note", type: "admin", admin_id: "u1", body: "x" });
  const h = { "content-type": "application/json", "intercom-version": "2.11" };
  const base = a.authorize({ ...reply, headers: h, body: text });
  assert.equal(base.code, "allowed");
  const forms = [
    { headers: new Map(Object.entries(h)), body: text },
    { headers: new Headers(h), body: Buffer.from(text) },
    { headers: Object.entries(h), body: new TextEncoder().encode(text).buffer },
    { headers: { "Content-Type": ["application/json", "text/plain"], "Intercom-Version": "2.11" }, body: new TextEncoder().encode(text) },
    { headers: Object.assign(Object.create(null), h), body: JSON.parse(text) },
  ];
  for (const f of forms) assert.deepEqual(a.authorize({ ...reply, ...f }).toJSON(), base.toJSON());
  // A value given as parsed JSON goes as JSON without a content-type; a string does not.
  assert.equal(a.authorize({ ...reply, body: JSON.parse(text) }).code, "allowed");
  assert.equal(a.authorize({ ...reply, body: text }).code, "unsupported_media_type");
});

test("what a client can send is judged, never thrown: odd strings, lone surrogates", () => {
  const lone = "Bearer \ud800abc";
  const d = a.authorize({ method: "GET", path: "/contacts/1\ud800", headers: { authorization: lone } });
  assert.equal(d.allow, false);
  assert.equal(d.status, 401);
  const p = a.authorize({ method: "GET", path: "/contacts/\udc00", claims: agent });
  assert.equal(p.allow, false);
  assert.equal(p.status, 400);
});

test("an invalid body's message names the value sent and the values accepted", () => {
  const d = a.authorize({ ...reply, body: { message_type: "comentt", type: "admin", admin_id: "u1" } });
  assert.equal(d.code, "invalid_body");
  assert.match(d.message, /`message_type` is "comentt", which this route does not accept \(it accepts "comment", "quick_reply", "note", /);
  assert.equal(d.denyBody.message, d.message);
});

test("a permission the token's own claim granted is named: grantedByToken and a reason", () => {
  const grants = new Authorizer({ policy: { token_grants: true } });
  const d = grants.authorize({
    method: "DELETE",
    path: "/contacts/7",
    claims: { sub: "u1", role: "agent", permissions: ["contacts:delete"] },
  });
  assert.equal(d.allow, true, d.message);
  assert.deepEqual(d.grantedByToken, ["contacts:delete"]);
  assert.ok(
    d.reasons.includes("`contacts:delete` granted by the token's `permissions` claim"),
    d.reasons.join(" | "),
  );
  const own = grants.authorize({ method: "GET", path: "/contacts/7", claims: agent });
  assert.equal(own.grantedByToken, undefined, "the role's own: nothing named");
});
