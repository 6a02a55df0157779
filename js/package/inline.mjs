// intercom-authz/inline: the web build with its WebAssembly module inside the JavaScript
// (base64), for bundlers that do not copy the `.wasm` a `new URL(…, import.meta.url)` names
// (esbuild) and for Node bundles (`--platform=node`): no file to fetch or read. The API of
// intercom-authz/web, except that `init()` and `initSync()` need no argument.
//
//   import init, { Authorizer } from "intercom-authz/inline";
//   await init(); // or initSync()
//
// The bundle carries the module as base64 text: a third larger than the `.wasm` of
// intercom-authz/web (which a browser compiles while it downloads), and it gzips less well.
import initGlue, { initSync as initSyncGlue } from "./inline/intercom_authz.mjs";
import base64 from "./inline/intercom_authz_bg.mjs";

// Every export of the web build (Authorizer, defineConfig, …); the two below replace its own.
export * from "./inline/intercom_authz.mjs";

// The instance's exports once instantiated (by either function): later calls decode nothing.
let instantiated;

// The module's bytes, decoded from base64 (Uint8Array.fromBase64 where there is one).
function wasmBytes() {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(base64);
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Instantiates the inlined module asynchronously (browsers, workers, Node). An argument, as
// intercom-authz/web takes it, instantiates that module instead.
export default async function init(moduleOrPath) {
  return (instantiated ??= await initGlue(moduleOrPath ?? { module_or_path: wasmBytes() }));
}

// Instantiates the inlined module synchronously (Node, workers; on a browser's main thread
// `init()` keeps the page responsive while it compiles).
export function initSync(module) {
  return (instantiated ??= initSyncGlue(module ?? { module: wasmBytes() }));
}
