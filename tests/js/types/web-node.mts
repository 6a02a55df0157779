// An ES module of a Node project that loads the web build itself ("intercom-authz/web", e.g.
// to pass the module's bytes): an ES module (web/package.json says so), typed with Node's own
// fetch types.
import init, { Authorizer, initSync } from "intercom-authz/web";
import { readFileSync } from "node:fs";

export async function start(): Promise<void> {
  await init({ module_or_path: readFileSync(new URL(import.meta.resolve("intercom-authz/web/wasm"))) });
}

export function startSync(): Authorizer {
  initSync({ module: readFileSync(new URL(import.meta.resolve("intercom-authz/web/wasm"))) });
  return new Authorizer({ mode: "dry_run" });
}
