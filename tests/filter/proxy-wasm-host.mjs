// A minimal Proxy-Wasm host (ABI 0.2.1) in Node for the filter module: the host calls are
// answered in JS (headers of one request, a plugin configuration, a clock), and the module is
// entered as proxy-wasm-cpp-host enters it (an entry point the module does not export is
// skipped; `proxy_on_vm_start` and `proxy_on_done` then answer true). Used by `make
// bench-filter` (benches/filter-host.mjs) and by the entry points' tests (abi.test.mjs).
import crypto from "node:crypto";
import fs from "node:fs";

const ROOT = new URL("../..", import.meta.url).pathname;
const NOW = Math.floor(Date.now() / 1000);
const b64 = (b) => Buffer.from(b).toString("base64url");

export function hs256() {
  const secret = fs.readFileSync(`${ROOT}tests/keys/hs.secret`);
  const head = b64(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "hs1" }));
  const body = b64(JSON.stringify({ iss: "https://sso.example.com", aud: "intercom-authz", sub: "admin-42",
    role: "agent", iat: NOW - 60, exp: NOW + 3600 }));
  const sig = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

export const CONFIG = JSON.stringify({
  token: { keys: [{ kid: "hs1", alg: "HS256", secret: fs.readFileSync(`${ROOT}tests/keys/hs.secret`, "utf8") }],
           issuers: ["https://sso.example.com"], audiences: ["intercom-authz"] },
  audit: "none",
});
export const REQUEST = [[":method", "GET"], [":path", "/contacts/123"], [":authority", "127.0.0.1"],
  [":scheme", "http"], ["user-agent", "wrk"], ["authorization", `Bearer ${hs256()}`],
  ["x-forwarded-proto", "http"], ["x-request-id", "0d5b1a3e-9f7c-4c5e-8a47-3b0f0a9f0c11"]];

function host(config) {
  const calls = new Map();
  let mem, exports, headers, sent;
  const u8 = () => new Uint8Array(mem.buffer);
  const dv = () => new DataView(mem.buffer);
  const str = (p, n) => Buffer.from(u8().subarray(p, p + n)).toString("utf8");
  const give = (bytes, retPtr, retSize) => {
    const p = exports.proxy_on_memory_allocate(bytes.length);
    u8().set(bytes, p);
    dv().setUint32(retPtr, p, true);
    dv().setUint32(retSize, bytes.length, true);
    return 0;
  };
  const pairs = (map) => {
    const enc = map.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
    const size = 4 + enc.length * 8 + enc.reduce((s, [k, v]) => s + k.length + v.length + 2, 0);
    const out = Buffer.alloc(size);
    out.writeUInt32LE(enc.length, 0);
    let at = 4;
    for (const [k, v] of enc) { out.writeUInt32LE(k.length, at); out.writeUInt32LE(v.length, at + 4); at += 8; }
    for (const [k, v] of enc) { k.copy(out, at); at += k.length + 1; v.copy(out, at); at += v.length + 1; }
    return out;
  };
  const env = {
    proxy_log: (level, p, n) => { if (level >= 3) console.error(`module log ${level}: ${str(p, n)}`); return 0; },
    proxy_get_buffer_bytes: (type, start, max, rp, rs) => type === 7 ? give(Buffer.from(config), rp, rs) : 1,
    proxy_get_header_map_pairs: (map, rp, rs) => give(pairs(map === 0 ? headers : []), rp, rs),
    proxy_get_header_map_value: (map, kp, kn, rp, rs) => {
      const k = str(kp, kn);
      const hit = map === 0 && headers.find(([n]) => n === k);
      return hit ? give(Buffer.from(hit[1]), rp, rs) : 1;
    },
    proxy_replace_header_map_value: (map, kp, kn, vp, vn) => {
      const k = str(kp, kn);
      headers = headers.filter(([n]) => n !== k).concat([[k, str(vp, vn)]]);
      return 0;
    },
    proxy_add_header_map_value: (map, kp, kn, vp, vn) => { headers.push([str(kp, kn), str(vp, vn)]); return 0; },
    proxy_remove_header_map_value: (map, kp, kn) => { const k = str(kp, kn); headers = headers.filter(([n]) => n !== k); return 0; },
    proxy_get_property: (pp, pn, rp, rs) =>
      str(pp, pn).replace(/\0/g, ".").replace(/\.$/, "") === "source.address" ? give(Buffer.from("127.0.0.1:40000"), rp, rs) : 1,
    proxy_set_property: () => 0,
    proxy_get_shared_data: () => 1, // NotFound
    proxy_set_shared_data: () => 0,
    proxy_define_metric: (type, np, nn, rid) => { dv().setUint32(rid, 1, true); return 0; },
    proxy_increment_metric: () => 0,
    proxy_get_current_time_nanoseconds: (rp) => { dv().setBigUint64(rp, BigInt(Date.now()) * 1000000n, true); return 0; },
    proxy_set_tick_period_milliseconds: () => 0,
    proxy_send_local_response: (status) => { sent = status; return 0; },
  };
  const wasi = {
    random_get: (p, n) => { crypto.randomFillSync(u8().subarray(p, p + n)); return 0; },
    environ_sizes_get: (cp, sp) => { dv().setUint32(cp, 0, true); dv().setUint32(sp, 0, true); return 0; },
    environ_get: () => 0,
    fd_write: (fd, iovs, n, written) => {
      let total = 0;
      for (let i = 0; i < n; i++) total += dv().getUint32(iovs + i * 8 + 4, true);
      dv().setUint32(written, total, true);
      return 0;
    },
    proc_exit: (code) => { throw new Error(`proc_exit(${code})`); },
  };
  const counted = (table) => new Proxy(table, {
    get: (t, name) => {
      const f = t[name] ?? (() => 0);
      return (...a) => { calls.set(name, (calls.get(name) ?? 0) + 1); return f(...a); };
    },
  });
  return {
    imports: { env: counted(env), wasi_snapshot_preview1: counted(wasi) },
    bind(instance) { exports = instance.exports; mem = exports.memory; },
    calls, reset() { headers = REQUEST.map((h) => [...h]); sent = undefined; },
    sent: () => sent,
  };
}

export async function load(name, file, config) {
  const h = host(config);
  const module = await WebAssembly.compile(fs.readFileSync(file));
  const wanted = WebAssembly.Module.imports(module);
  const imports = {};
  for (const { module: m, name: n } of wanted) (imports[m] ??= {})[n] = h.imports[m][n];
  const instance = await WebAssembly.instantiate(module, imports);
  h.bind(instance);
  // As proxy-wasm-cpp-host calls into a module: an entry point the module does not export is
  // skipped (on_vm_start and on_done then answer true), and each call made is one VM entry.
  const vm = instance.exports;
  let entries = 0;
  const e = new Proxy({}, {
    get: (_, n) => (...a) => {
      if (!vm[n]) return n === "proxy_on_vm_start" || n === "proxy_on_done" ? 1 : 0;
      entries++;
      return vm[n](...a);
    },
  });
  vm._initialize?.();
  e.proxy_on_context_create(1, 0);
  if (!e.proxy_on_vm_start(1, 0) || !e.proxy_on_configure(1, config.length)) throw new Error(`${name}: configuration refused`);
  let id = 2;
  const one = () => {
    h.reset();
    const ctx = id++;
    e.proxy_on_context_create(ctx, 1);
    const action = e.proxy_on_request_headers(ctx, REQUEST.length, 1);
    e.proxy_on_response_headers(ctx, 0, 0);
    e.proxy_on_log(ctx);
    e.proxy_on_done(ctx);
    e.proxy_on_delete(ctx);
    return action;
  };
  return { name, one, h, e, entries: () => entries };
}
