// intercom-authz/inline's declarations as a TypeScript app sees them (tsc, nodenext and bundler
// resolution): init() and initSync() without argument, the web build's exports and types.
import init, { initSync, Authorizer, type AuthzConfig, type Decision } from "intercom-authz/inline";

await init();
initSync();
const config: AuthzConfig = { policy: {} };
const d: Decision = new Authorizer(config).authorize({ method: "DELETE", path: "/contacts/1", claims: { role: "agent" } });
const status: number = d.status;
console.log(status);
