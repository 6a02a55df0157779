// An ES module of a Node project (node16, nodenext): "intercom-authz" is the Node build, a
// CommonJS module whose named exports an ES module imports; "intercom-authz/express" too.
import { Authorizer, defineConfig } from "intercom-authz";
import { authorize } from "intercom-authz/express";
// @ts-expect-error: `initSync` is the web build's
import { initSync } from "intercom-authz";

const config = defineConfig({ policy: { roles: { tier1: { extends: "agent" } } } });
export const middleware = authorize(config);
export const authz = new Authorizer(config);
export { initSync };
