// The component transpiled by npm @bytecodealliance/jco (make test-component writes
// tests/node/build/jco), called from Node on a sample of the corpus.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { isDeepStrictEqual } from "node:util";

// A case's body as bytes: Latin-1 cases stand for raw bytes (see tests/corpus/mod.rs).
const bytes = (c) => (c.latin1 ? Uint8Array.from(c.body, (ch) => ch.charCodeAt(0)) : new TextEncoder().encode(c.body));
const ROOT = new URL("../../", import.meta.url).pathname;
const { authz } = await import(ROOT + "tests/node/build/jco/intercom_authz.js");
const corpus = JSON.parse(fs.readFileSync(ROOT + "target/tmp/corpus.json", "utf8"));

// A conversation-access case in two steps (tests/decisions.rs): the lookup's answer when the
// first decision is `need_lookup`, then the upstream response through `judgeResponse`.
function run(a, c, request) {
  const up = c.upstream ?? {};
  const enc = (s) => new TextEncoder().encode(s ?? "");
  let d = a.authorize(request);
  if (d.code === "need_lookup" && up.lookup) {
    const l = up.lookup;
    d = a.authorize({ ...request, lookup: { status: l.timeout ? undefined : l.status, body: enc(l.raw_body) } });
  }
  const r = up.response;
  if (!d.allow || !r) return { d, response: null, redacted: 0 };
  const v = a.judgeResponse(d, {
    status: r.status, contentType: r.content_type, contentEncoding: r.content_encoding, body: enc(r.raw_body), requestId: request.requestId,
  });
  if (v.tag === "deny") return { d: v.val, response: null, redacted: 0 };
  if (v.tag === "redact") return { d, response: { status: r.status, body: v.val.body }, redacted: v.val.count };
  return { d, response: { status: r.status, body: enc(r.raw_body) }, redacted: 0 };
}

test("a sample of the corpus through jco: the same decisions as the core", () => {
  const authorizers = Object.fromEntries(Object.entries(corpus.configs).map(([k, v]) => [k, authz.Authorizer.create(JSON.stringify(v))]));
  // Every 5th case, and every case of the token attack, path and conversation-access files.
  const whole = new Set(["tokens.json", "paths.json", "conversations.json"]);
  const sample = corpus.cases.filter((c, i) => i % 5 === 0 || whole.has(c.file));
  assert.ok(sample.length >= 150, `${sample.length}`);
  const failures = [];
  for (const c of sample) {
    const i = corpus.cases.indexOf(c);
    const request = {
      method: c.method, path: c.path, headers: Object.entries(c.headers).map(([name, value]) => ({ name, value })),
      body: c.body === null ? undefined : bytes(c), sourceIp: c.source_ip, now: BigInt(corpus.now), requestId: `case-${i}`,
      forwardsBody: true,
    };
    if (/[a-z]/.test(c.method)) {
      assert.throws(() => authorizers[c.config].authorize(request), /is not upper case/);
      continue;
    }
    const { d, response, redacted } = run(authorizers[c.config], c, request);
    const e = c.expect;
    if (e.response) {
      let got = null;
      try { got = response && JSON.parse(new TextDecoder().decode(response.body)); } catch { got = "not JSON"; }
      if (!response || response.status !== e.response.status || !isDeepStrictEqual(got, e.response.body)) {
        failures.push(`${c.file} / ${c.description}: response ${response?.status} ${JSON.stringify(got)}`);
      }
    }
    if (e.redacted !== undefined && e.redacted !== redacted) failures.push(`${c.description}: redacted ${redacted}`);
    if (e.looked_up !== undefined && e.looked_up !== d.lookedUp) failures.push(`${c.description}: lookedUp ${d.lookedUp}`);
    const sent = d.forwardBody == null ? undefined : JSON.parse(d.forwardBody);
    if (!isDeepStrictEqual(sent, e.forward_body)) failures.push(`${c.description}: forwardBody ${d.forwardBody}`);
    if (d.status !== e.status || d.code !== e.code || (e.required && d.required !== e.required) || (e.route && d.route !== e.route)) {
      failures.push(`${c.file} / ${c.description}: ${d.status} ${d.code} (want ${e.status} ${e.code})`);
    }
    if (!d.allow && d.denyBody !== c.deny_body) failures.push(`${c.description}: deny body ${d.denyBody}`);
  }
  assert.deepEqual(failures, []);
});

test("errors throw with their text as the message; headers are optional", () => {
  assert.throws(() => authz.Authorizer.create('{"mode":"shadow"}'), (e) => /^invalid configuration at `mode`: unknown variant `shadow`/.test(e.message));
  const a = authz.Authorizer.create('{"policy":{}}'); // claims-only
  assert.throws(() => a.authorize({ method: "get", path: "/contacts" }), (e) => e.message.startsWith("invalid request: method `get` is not upper case"));
  assert.equal(a.authorize({ method: "GET", path: "/contacts", claimsJson: '{"role":"agent"}' }).code, "allowed");
  // A plain object is not a list of headers: it arrives empty, and the message says so.
  const d = a.authorize({ method: "GET", path: "/contacts", headers: { authorization: "Bearer x" } });
  assert.equal(d.code, "missing_token");
  assert.match(d.message, /no headers were passed/);
});
