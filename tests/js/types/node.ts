// Node's resolution (node10: package.json's `types`; node16, nodenext: the `node` condition):
// "intercom-authz" is the Node build, which has no `init`/`initSync` (it loads its module itself).
import { Authorizer } from "intercom-authz";
// @ts-expect-error: `initSync` is the web build's
import { initSync } from "intercom-authz";

export const ready: Authorizer = new Authorizer({});
export { initSync };
