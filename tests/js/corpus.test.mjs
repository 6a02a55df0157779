// The whole decision corpus through the npm package (Node build): identical decisions to the
// core. The corpus is materialized by `cargo test --test decisions` (make test-js runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import fs from "node:fs";
import { isDeepStrictEqual } from "node:util";

const require = createRequire(import.meta.url);
const ROOT = new URL("../../", import.meta.url).pathname;
const { Authorizer } = require(ROOT + "dist/js/node/intercom_authz.js");
// Latin-1 cases stand for raw bytes (tests/corpus/mod.rs): the path and headers go as Node's
// HTTP parser would hand them (Latin-1 strings), the body as the bytes themselves.
const body = (c) => (c.latin1 && c.body != null ? Uint8Array.from(c.body, (ch) => ch.charCodeAt(0)) : c.body);
// The hand-written corpus (`cargo test --test decisions`) and the differential one, random
// policies and requests with the core's decisions (`cargo test --test differential`).
const CORPORA = {
  "target/tmp/corpus.json": { min: 500, lowerCase: [1, 9] },
  "target/tmp/generated.json": { min: 1000, lowerCase: [0, 0] },
};

// A conversation-access case in two steps, as an Express app would run them: a `need_lookup`
// decision is asked again with Intercom's answer to the lookup; an allowed read's upstream
// response goes through `judgeResponse`. Returns the final decision and what the client gets.
function run(a, c, request) {
  const up = c.upstream ?? {};
  let d = a.authorize(request);
  if (d.code === "need_lookup" && up.lookup) {
    const l = up.lookup;
    d = a.authorize({ ...request, lookup: l.timeout ? { status: null } : { status: l.status, body: l.raw_body ?? "" } });
  }
  if (!d.allow || !up.response) return { d, response: null, redacted: 0 };
  const r = up.response;
  const headers = { "content-type": r.content_type, ...(r.content_encoding ? { "content-encoding": r.content_encoding } : {}) };
  const v = a.judgeResponse(d, { status: r.status, headers, body: r.raw_body ?? "", requestId: request.requestId });
  if (v.action === "deny") return { d: v.decision, response: null, redacted: 0 };
  const body = v.action === "redact" ? v.body : r.raw_body ?? "";
  return { d, response: { status: r.status, body }, redacted: v.action === "redact" ? v.redacted : 0 };
}

// The response half of a conversation-access case (tests/decisions.rs: check_response).
function responseDiffs(c, d, response, redacted) {
  const e = c.expect, diffs = [];
  if (e.response) {
    if (!response) diffs.push(`no response (want ${e.response.status})`);
    else {
      let got;
      try { got = JSON.parse(response.body); } catch { got = response.body; }
      if (response.status !== e.response.status || !isDeepStrictEqual(got, e.response.body)) {
        diffs.push(`response ${response.status} ${response.body}`);
      }
    }
  }
  if (e.redacted !== undefined && e.redacted !== redacted) diffs.push(`redacted ${redacted} (want ${e.redacted})`);
  if (e.looked_up !== undefined && e.looked_up !== (d.lookedUp ?? false)) diffs.push(`lookedUp ${d.lookedUp}`);
  const sent = d.forwardBody === undefined ? undefined : JSON.parse(d.forwardBody);
  if (!isDeepStrictEqual(sent, e.forward_body)) diffs.push(`forwardBody ${d.forwardBody}`);
  return diffs;
}

// A decision reads as its JSON: every field the module writes has its getter (boundary.js's
// list and lib.rs's `Out` agree), and `JSON.stringify` writes them all.
function fieldDiffs(d) {
  const all = d.toJSON(), diffs = [];
  for (const [k, v] of Object.entries(all)) if (!isDeepStrictEqual(d[k], v)) diffs.push(`field ${k}: ${JSON.stringify(d[k])}`);
  if (JSON.stringify(d) !== JSON.stringify(all)) diffs.push("JSON.stringify(decision)");
  if (Object.keys(all).slice(0, 3).join() !== "allow,status,code") diffs.push(`toJSON's order ${Object.keys(all)}`);
  return diffs;
}

for (const [file, want] of Object.entries(CORPORA)) test(`${file}: the same decisions as the core`, () => {
  const corpus = JSON.parse(fs.readFileSync(ROOT + file, "utf8"));
  const authz = Object.fromEntries(Object.entries(corpus.configs).map(([k, v]) => [k, new Authorizer(v)]));
  const failures = [];
  let refused = 0;
  for (const [i, c] of corpus.cases.entries()) {
    const request = {
      method: c.method, path: c.path, headers: c.headers, body: body(c), sourceIp: c.source_ip, now: corpus.now,
      requestId: `case-${i}`, forwardsBody: true,
    };
    if (/[a-z]/.test(c.method)) {
      // From the wire the filter judges it; from code it is a mistake, and it throws.
      assert.throws(() => authz[c.config].authorize(request), /method `.*` is not upper case/);
      refused++;
      continue;
    }
    const { d, response, redacted } = run(authz[c.config], c, request);
    const e = c.expect;
    const diffs = responseDiffs(c, d, response, redacted);
    if ((d.allow ? "allow" : "deny") !== e.decision) diffs.push(`decision ${d.allow ? "allow" : "deny"}`);
    if (d.status !== e.status) diffs.push(`status ${d.status}`);
    if (d.code !== e.code) diffs.push(`code ${d.code}`);
    for (const [k, js] of [["required", "required"], ["route", "route"], ["canonical_path", "canonicalPath"], ["role", "role"]]) {
      if (e[k] !== undefined && d[js] !== e[k]) diffs.push(`${js} ${d[js]}`);
    }
    if (!d.allow) {
      if (d.denyBodyJson !== c.deny_body) diffs.push(`deny body ${d.denyBodyJson}, the core's ${c.deny_body}`);
      if (JSON.stringify(d.denyBody) !== c.deny_body) diffs.push("denyBody's key order");
      if ((d.status === 401) !== ("www-authenticate" in d.denyHeaders)) diffs.push("www-authenticate");
    }
    diffs.push(...fieldDiffs(d));
    if (diffs.length) failures.push(`${c.file} / ${c.description}: ${diffs.join(", ")} (want ${e.status} ${e.code})`);
  }
  assert.deepEqual(failures, []);
  assert.ok(corpus.cases.length >= want.min, `${corpus.cases.length} cases`);
  assert.ok(refused >= want.lowerCase[0] && refused <= want.lowerCase[1], `${refused} lower-case methods`);
});

test("a bad configuration throws an Error naming the culprit", () => {
  assert.throws(
    () => new Authorizer({ policy: { roles: { tier1: { extends: "agent", grant: ["contacts:destroy"] } } }, token: { trusted_payload_header: "x" } }),
    (e) => e instanceof Error && e.message === "invalid policy: unknown permission `contacts:destroy` in role `tier1` (did you mean `contacts:delete`?)",
  );
  assert.throws(() => new Authorizer("{not json"), /invalid configuration/);
  assert.throws(() => new Authorizer({ polcy: {} }), /unknown field `polcy`/);
});

test("a restricted search goes on only for a caller that sends forwardBody", () => {
  const a = new Authorizer({ policy: { roles: { mine: { extends: "agent", conversation_access: "assigned_to_me" } } },
    token: { trusted_payload_header: "x-jwt-payload" } });
  const exp = Math.floor(Date.now() / 1000) + 600;
  const req = { method: "POST", path: "/conversations/search", claims: { role: "mine", sub: "7", exp },
    body: { query: { field: "open", operator: "=", value: true } } };
  const unsaid = a.authorize(req);
  assert.deepEqual([unsaid.allow, unsaid.code, unsaid.forwardBody], [false, "conversation_route_restricted", undefined]);
  assert.match(unsaid.message, /forwardsBody/);
  const said = a.authorize({ ...req, forwardsBody: true });
  assert.equal(said.allow, true);
  assert.deepEqual(JSON.parse(said.forwardBody).query.value[1], { field: "admin_assignee_id", operator: "=", value: 7 });
});

test("claims, tokens, bodies and the deny body", () => {
  const a = new Authorizer({ policy: {}, token: { trusted_payload_header: "x-jwt-payload" } });
  const exp = Math.floor(Date.now() / 1000) + 600;
  const d = a.authorize({ method: "DELETE", path: "/contacts/7", claims: { role: "agent", sub: "42", exp }, requestId: "r-1" });
  assert.equal(d.allow, false);
  assert.deepEqual(d.denyBody, {
    error: "Forbidden", message: "Missing permission: contacts:delete", required: "contacts:delete",
    currentRole: "agent", code: "missing_permission", route: "DELETE /contacts/{id}", requestId: "r-1",
  });
  assert.deepEqual(d.denyHeaders, { "content-type": "application/json" });
  const close = a.authorize({ method: "POST", path: "/conversations/7/parts", claims: { role: "agent", exp }, body: { message_type: "close" } });
  assert.equal(close.allow, true);
  assert.equal(close.required, "conversations:close");
  assert.ok(close.reasons.length > 0);
  const noBody = a.authorize({ method: "POST", path: "/conversations/7/parts", claims: { role: "agent", exp } });
  assert.equal(noBody.code, "body_required");
  const missing = a.authorize({ method: "GET", path: "/contacts" });
  assert.equal(missing.status, 401);
  assert.match(missing.denyHeaders["www-authenticate"], /^Bearer realm="intercom-authz"/);
  assert.throws(() => a.authorize({ path: "/x" }), /invalid request/);
});

test("secret_env is read from process.env; remote_jwks and misspelled request fields are loud", async () => {
  const crypto = await import("node:crypto");
  const secret = "js-env-secret-0123456789abcdef-0123456789";
  process.env.INTERCOM_AUTHZ_JS_TEST_SECRET = secret;
  const a = new Authorizer({ token: { keys: [{ kid: "k", alg: "HS256", secret_env: "INTERCOM_AUTHZ_JS_TEST_SECRET" }] } });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT", kid: "k" });
  const body = b64({ sub: "7", role: "agent", iat: now, exp: now + 600 });
  const sig = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  const d = a.authorize({ method: "GET", path: "/contacts", headers: { authorization: `Bearer ${head}.${body}.${sig}` } });
  assert.equal(d.code, "allowed");
  assert.throws(
    () => new Authorizer({ token: { keys: [{ kid: "k", alg: "HS256", secret_env: "INTERCOM_AUTHZ_SURELY_UNSET_VAR" }] } }),
    /environment variable `INTERCOM_AUTHZ_SURELY_UNSET_VAR` named by `token.keys\[0\]` is not set/,
  );
  assert.throws(
    () => new Authorizer({ token: { issuers: ["x"] }, remote_jwks: { cluster: "jwks", path: "/jwks" } }),
    /`remote_jwks` is not available in the JavaScript package/,
  );
  // A misspelled field is an error, not a request without a credential.
  assert.throws(() => a.authorize({ method: "GET", path: "/contacts", header: { authorization: "Bearer x" } }), /unknown field `header`/);
  // Bodies as bytes: Uint8Array, Buffer, ArrayBuffer.
  const claims = new Authorizer({ policy: {}, token: { trusted_payload_header: "x" } });
  const close = JSON.stringify({ message_type: "close" });
  for (const bytes of [new TextEncoder().encode(close), Buffer.from(close), new TextEncoder().encode(close).buffer]) {
    const r = claims.authorize({ method: "POST", path: "/conversations/1/parts", claims: { role: "observer", exp: now + 60 },
      headers: { "content-type": "application/json" }, body: bytes });
    assert.equal(r.required, "conversations:close", String(bytes));
  }
});
