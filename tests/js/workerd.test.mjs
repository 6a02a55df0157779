// The web build inside Cloudflare's workerd (npm), on 127.0.0.1: a module worker that imports
// the package answers allow and deny correctly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";

const ROOT = new URL("../../", import.meta.url).pathname;
const WORKERD = path.join(ROOT, "tests/node/node_modules/.bin/workerd");

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

test("a module worker in workerd allows and denies like the filter", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "intercom-authz-workerd-"));
  for (const f of ["intercom_authz.js", "boundary.js", "intercom_authz_bg.wasm"]) fs.copyFileSync(path.join(ROOT, "dist/js/web", f), path.join(dir, f));
  const config = { policy: {}, token: { trusted_payload_header: "x-jwt-payload" } };
  fs.writeFileSync(path.join(dir, "worker.mjs"), `
import { initSync, Authorizer } from "./intercom_authz.js";
import wasm from "./intercom_authz_bg.wasm";
initSync({ module: wasm });
const authz = new Authorizer(${JSON.stringify(config)});
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const body = request.method === "GET" ? null : (await request.text()) || null;
    const d = authz.authorize({ method: request.method, path: url.pathname + url.search, headers: request.headers, body });
    if (!d.allow) return new Response(JSON.stringify(d.denyBody), { status: d.status, headers: d.denyHeaders });
    return Response.json({ allowed: true, role: d.role, route: d.route });
  },
};`);
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "config.capnp"), `
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "intercom_authz.js", esModule = embed "intercom_authz.js"),
    (name = "boundary.js", esModule = embed "boundary.js"),
    (name = "intercom_authz_bg.wasm", wasm = embed "intercom_authz_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);`);
  const proc = spawn(WORKERD, ["serve", path.join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  t.after(() => proc.kill("SIGTERM"));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try { await fetch(base + "/"); break; } catch {
      if (Date.now() > deadline) assert.fail(`workerd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const claims = (role) => Buffer.from(JSON.stringify({ role, sub: "7", exp: Math.floor(Date.now() / 1000) + 600 })).toString("base64url");
  // As behind a JWT filter: the verified token and the claims it wrote. Without the token, the
  // claims header is a client's own: refused.
  const forged = await fetch(base + "/contacts/5", { headers: { "x-jwt-payload": claims("owner") } });
  assert.equal(forged.status, 401);
  assert.equal((await forged.json()).code, "missing_token");
  const bearer = { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln" };
  const ok = await fetch(base + "/contacts/5", { headers: { ...bearer, "x-jwt-payload": claims("agent") } });
  assert.equal(ok.status, 200, log);
  assert.deepEqual(await ok.json(), { allowed: true, role: "agent", route: "GET /contacts/{id}" });
  const no = await fetch(base + "/contacts/5", { method: "DELETE", headers: { ...bearer, "x-jwt-payload": claims("agent") } });
  assert.equal(no.status, 403);
  assert.equal((await no.json()).code, "missing_permission");
  const json = { ...bearer, "x-jwt-payload": claims("observer"), "content-type": "application/json" };
  const parts = await fetch(base + "/conversations/1/parts", { method: "POST", headers: json, body: '{"message_type":"snoozed"}' });
  assert.equal((await parts.json()).required, "conversations:snooze");
  // A body-dependent route's body must say it is JSON (a form parser would read it otherwise).
  const text = await fetch(base + "/conversations/1/parts", { method: "POST", headers: { ...bearer, "x-jwt-payload": claims("observer") }, body: '{"message_type":"snoozed"}' });
  assert.equal(text.status, 415);
  assert.equal((await text.json()).code, "unsupported_media_type");
  const anon = await fetch(base + "/contacts");
  assert.equal(anon.status, 401);
});
