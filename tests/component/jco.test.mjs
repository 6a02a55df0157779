// The component transpiled by npm @bytecodealliance/jco (make test-component writes
// tests/node/build/jco), called from Node on a sample of the corpus.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";

// A case's body as bytes: Latin-1 cases stand for raw bytes (see tests/corpus/mod.rs).
const bytes = (c) => (c.latin1 ? Uint8Array.from(c.body, (ch) => ch.charCodeAt(0)) : new TextEncoder().encode(c.body));
const ROOT = new URL("../../", import.meta.url).pathname;
const { authz } = await import(ROOT + "tests/node/build/jco/intercom_authz.js");
const corpus = JSON.parse(fs.readFileSync(ROOT + "target/tmp/corpus.json", "utf8"));

test("a sample of the corpus through jco: the same decisions as the core", () => {
  const authorizers = Object.fromEntries(Object.entries(corpus.configs).map(([k, v]) => [k, authz.Authorizer.create(JSON.stringify(v))]));
  // Every 5th case, and every case of the token attack and path files.
  const sample = corpus.cases.filter((c, i) => i % 5 === 0 || c.file === "tokens.json" || c.file === "paths.json");
  assert.ok(sample.length >= 150, `${sample.length}`);
  const failures = [];
  for (const c of sample) {
    const d = authorizers[c.config].authorize({
      method: c.method, path: c.path, headers: Object.entries(c.headers).map(([name, value]) => ({ name, value })),
      body: c.body === null ? undefined : bytes(c), sourceIp: c.source_ip, now: BigInt(corpus.now),
    });
    const e = c.expect;
    if (d.status !== e.status || d.code !== e.code || (e.required && d.required !== e.required) || (e.route && d.route !== e.route)) {
      failures.push(`${c.file} / ${c.description}: ${d.status} ${d.code} (want ${e.status} ${e.code})`);
    }
  }
  assert.deepEqual(failures, []);
});

test("a bad configuration throws the config-error variant", () => {
  assert.throws(() => authz.Authorizer.create('{"mode":"shadow"}'), (e) => e.payload?.tag === "invalid" && /unknown variant `shadow`/.test(e.payload.val));
});
