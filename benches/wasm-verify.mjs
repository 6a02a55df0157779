// Runs examples/verify_bench.rs built for wasm32-wasip1 under Node's WASI.
// Use `node --no-liftoff` (V8's optimizing compiler only, as in Envoy).
import { WASI } from "node:wasi";
import fs from "node:fs";
// VERIFY_ONLY=ES256 (say) measures one algorithm (e.g. with `node --cpu-prof`).
const env = process.env.VERIFY_ONLY ? { VERIFY_ONLY: process.env.VERIFY_ONLY } : {};
const wasi = new WASI({ version: "preview1", args: ["verify_bench"], env });
const module = await WebAssembly.compile(fs.readFileSync(process.argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
