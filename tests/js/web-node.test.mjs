// The web build in Node, without a bundler (an app that passes the module's bytes itself):
// `intercom-authz/web` is an ES module that says so (web/package.json), so Node loads it
// without reparsing or a warning (Node 18 would not guess at all).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

test("intercom-authz/web imports in Node as an ES module, with no warning, and decides", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "intercom-authz-web-"));
  try {
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.join(ROOT, "dist/js"), path.join(dir, "node_modules/intercom-authz"));
    fs.writeFileSync(path.join(dir, "app.mjs"), [
      'import { Authorizer, initSync } from "intercom-authz/web";',
      'import { readFileSync } from "node:fs";',
      'initSync({ module: readFileSync(new URL(import.meta.resolve("intercom-authz/web/wasm"))) });',
      'const d = new Authorizer({}).authorize({ method: "GET", path: "/contacts/1", claims: { sub: "1", role: "agent" } });',
      "console.log(d.code);",
    ].join("\n"));
    const run = spawnSync(process.execPath, ["app.mjs"], { cwd: dir, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), "allowed");
    assert.equal(run.stderr, "", "Node warned about the module's type");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
