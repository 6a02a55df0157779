// A bundler's resolution with the `browser` or `workerd` condition, or none (`default`):
// "intercom-authz" is the web build, whose default export `init` instantiates the module first.
import init, { Authorizer, initSync, type InitOutput } from "intercom-authz";

export async function start(): Promise<InitOutput> {
  return init();
}

export function startSync(bytes: ArrayBuffer): Authorizer {
  initSync({ module: bytes });
  return new Authorizer({ mode: "dry_run" });
}
