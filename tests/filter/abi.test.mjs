// The filter's Proxy-Wasm entry points (filter/src/abi.rs) under the minimal host: what they
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

// The sizes of a module's function bodies (its code section).
function bodySizes(bytes) {
  let i = 8;
  const leb = () => { let r = 0, s = 0, b; do { b = bytes[i++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
  while (i < bytes.length) {
    const id = bytes[i++], size = leb(), end = i + size;
    if (id === 10) {
      const sizes = [];
      for (let n = leb(); n > 0; n--) { const len = leb(); sizes.push(len); i += len; }
      return sizes;
    }
    i = end;
  }
  return [];
}

// V8's optimizing compiler needs memory by the size of a function body, and Envoy compiles
// the module's functions concurrently at start: with 32 KB bodies (wasm-opt inlining large
// functions into their only caller) an Envoy kept 14 MiB more (README, "Performance"). The
// Makefile's --one-caller-inline-max-function-size keeps the largest near 17 KB.
test("no function body is over 24 KB", () => {
  const sizes = bodySizes(fs.readFileSync(WASM));
  assert.ok(sizes.length > 500, `${sizes.length} functions read`);
  const largest = Math.max(...sizes);
  assert.ok(largest <= 24 * 1024, `the largest function body is ${largest} bytes`);
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
