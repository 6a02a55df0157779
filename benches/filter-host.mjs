// `make bench-filter`: the filter's own per-request cost, without Envoy. The minimal Proxy-Wasm
// host of tests/filter/proxy-wasm-host.mjs, in V8 as in Envoy (`node --no-liftoff`), the host
// calls answered in JS, so what is timed is the module's work and its calls across the boundary, not Envoy's
// (`make bench-envoy` times that, with far more noise on a shared machine). For each module:
// the host calls one allowed `GET /contacts/123` makes, and the time per request (median of
// rounds), next to the no-op floor.
// usage: node --no-liftoff benches/filter-host.mjs NAME=MODULE.wasm[:CONFIG.json] ...
import fs from "node:fs";

import { CONFIG, load } from "../tests/filter/proxy-wasm-host.mjs";

function perRequest(v, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) v.one();
  return Number(process.hrtime.bigint() - t0) / n;
}

const variants = [];
for (const arg of process.argv.slice(2)) {
  const [name, spec] = arg.split("=");
  const [file, cfg] = spec.split(":");
  variants.push(await load(name, file, cfg ? fs.readFileSync(cfg, "utf8") : CONFIG));
}
for (const v of variants) {
  if (v.one() !== 0 || v.h.sent() !== undefined) throw new Error(`${v.name}: the request was not allowed`);
  for (let i = 0; i < 20000; i++) v.one(); // V8 tiers up
}
const N = 50000, ROUNDS = 7;
const times = new Map(variants.map((v) => [v.name, []]));
for (let r = 0; r < ROUNDS; r++) for (const v of variants) times.get(v.name).push(perRequest(v, N));
// The fastest round: interference from the rest of a shared machine only ever adds time.
const floor = Math.min(...times.get(variants[0].name));
console.log(`per allowed GET /contacts/123 (HS256, cached), ${ROUNDS} interleaved rounds × ${N} requests, fastest round (median):`);
for (const v of variants) {
  v.h.calls.clear();
  const before = v.entries();
  v.one();
  const entries = v.entries() - before;
  const t = times.get(v.name).sort((a, b) => a - b);
  const [best, med] = [t[0], t[ROUNDS >> 1]];
  const calls = [...v.h.calls].filter(([n]) => n !== "proxy_on_memory_allocate").map(([n, c]) => `${n.replace(/^proxy_/, "")}${c > 1 ? `×${c}` : ""}`);
  const us = (ns) => (ns / 1000).toFixed(2);
  console.log(`  ${v.name.padEnd(16)} ${us(best).padStart(6)} µs (${us(med)})  +${us(best - floor)} µs over ${variants[0].name}  VM entries: ${entries}  host calls: ${calls.join(" ")}`);
}
