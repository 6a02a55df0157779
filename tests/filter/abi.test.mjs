// The filter's Proxy-Wasm entry points (src/filter/abi.rs) under the minimal host: what they
// export, and that the cases Envoy never produces (a context the VM does not know, a callback
// after the context is gone, an answer to an HTTP call nobody made) get an answer and never
// trap. Run by `make test-envoy`.
import assert from "node:assert/strict";
import fs from "node:fs";
import test from "node:test";

import { CONFIG, REQUEST, load } from "./proxy-wasm-host.mjs";

const WASM = new URL("../../dist/intercom_authz.wasm", import.meta.url).pathname;
const CONTINUE = 0;
const PAUSE = 1;

test("exports the callbacks it handles and no others", async () => {
  const module = await WebAssembly.compile(fs.readFileSync(WASM));
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const n of ["proxy_abi_version_0_2_1", "_initialize", "proxy_on_memory_allocate", "proxy_on_context_create",
    "proxy_on_configure", "proxy_on_tick", "proxy_on_request_headers", "proxy_on_request_body",
    "proxy_on_request_trailers", "proxy_on_response_headers", "proxy_on_response_body",
    "proxy_on_response_trailers", "proxy_on_http_call_response", "proxy_on_delete"]) {
    assert.ok(names.has(n), `${n} is exported`);
  }
  // Envoy skips these when they are missing: fewer VM entries per request.
  for (const n of ["proxy_on_log", "proxy_on_done", "proxy_on_vm_start", "proxy_on_new_connection",
    "proxy_on_downstream_data", "proxy_on_grpc_receive", "proxy_on_queue_ready", "proxy_on_foreign_function"]) {
    assert.ok(!names.has(n), `${n} is not exported`);
  }
});

test("an allowed request goes on, entering the VM 4 times", async () => {
  const v = await load("filter", WASM, CONFIG);
  const before = v.entries();
  assert.equal(v.one(), CONTINUE);
  assert.equal(v.h.sent(), undefined);
  assert.equal(v.entries() - before, 4);
});

test("a request context the VM never created is answered 503", async () => {
  const v = await load("filter", WASM, CONFIG);
  v.h.reset();
  assert.equal(v.e.proxy_on_request_headers(999, REQUEST.length, 1), PAUSE);
  assert.equal(v.h.sent(), 503);
});

test("a request of a root the VM does not know, or of an unconfigured root, is answered 503", async () => {
  const v = await load("filter", WASM, CONFIG);
  for (const [root, ctx] of [[77, 50], [70, 71]]) {
    if (root === 70) v.e.proxy_on_context_create(70, 0); // a root never configured
    v.h.reset();
    v.e.proxy_on_context_create(ctx, root);
    assert.equal(v.e.proxy_on_request_headers(ctx, REQUEST.length, 1), PAUSE, `root ${root}`);
    assert.equal(v.h.sent(), 503, `root ${root}`);
    v.e.proxy_on_delete(ctx);
  }
});

test("callbacks after a context is deleted, and unknown HTTP call answers, are ignored", async () => {
  const v = await load("filter", WASM, CONFIG);
  v.h.reset();
  v.e.proxy_on_context_create(60, 1);
  assert.equal(v.e.proxy_on_request_headers(60, REQUEST.length, 1), CONTINUE);
  v.e.proxy_on_delete(60);
  v.h.reset();
  assert.equal(v.e.proxy_on_response_headers(60, 0, 0), CONTINUE);
  assert.equal(v.e.proxy_on_response_body(60, 10, 1), CONTINUE);
  assert.equal(v.e.proxy_on_request_body(60, 10, 1), PAUSE); // a request side never judged: held
  v.e.proxy_on_http_call_response(1, 12345, 0, 0, 0);
  v.e.proxy_on_delete(60); // twice
  v.e.proxy_on_tick(99); // a root that is not there
  assert.equal(v.e.proxy_on_configure(99, 0), 0);
  assert.equal(v.h.sent(), undefined);
  // The VM still serves.
  assert.equal(v.one(), CONTINUE);
});
