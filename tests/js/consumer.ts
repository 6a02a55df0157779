// Compiled with `tsc --noEmit` by make test-js: the package's types are precise enough to use.
import { Authorizer, defineConfig, type AuthorizeRequest, type AuthzConfig, type Decision, type DenyBody } from "intercom-authz";
import { authorize } from "intercom-authz/express";

const authz = new Authorizer({ policy: { roles: {} }, token: { trusted_payload_header: "x-jwt-payload" }, mode: "enforce" });
const request: AuthorizeRequest = { method: "GET", path: "/contacts/1", claims: { role: "agent", exp: 4102444800 } };
const decision: Decision = authz.authorize(request);
const status: number = decision.status;
const allowed: boolean = decision.allow;
const body: DenyBody | undefined = decision.denyBody;
const code: string | undefined = body?.code;
const header: string = authz.credentialHeader();
const middleware = authorize({ policy: {} }, { prefix: "/api" });

// @ts-expect-error: `method` is required
authz.authorize({ path: "/contacts" });
// @ts-expect-error: `mode` is "enforce" or "dry_run"
new Authorizer({ mode: "shadow" });

// Permission names are checked down to the name.
const ok: AuthzConfig = { policy: { roles: { t1: { extends: "agent", grant: ["contacts:delete", "tags:*", "Can export lead, user, company data", "*"], revoke: ["conversations:assign"] } } } };
// @ts-expect-error: a typo in a permission name
const typo: AuthzConfig = { policy: { roles: { t1: { grant: ["contacts:destroy"] } } } };
// @ts-expect-error: a typo in `mfa.permissions`
new Authorizer({ policy: { mfa: { permissions: ["contact:delete"] } } });
// @ts-expect-error: a custom permission needs `defineConfig` (or `AuthzConfig<"reports:custom">`)
new Authorizer({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custom"] } } } });
// defineConfig infers the custom permissions from `policy.permissions`…
const custom = new Authorizer(defineConfig({
  policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custom", "reports:*"] } },
            routes: [{ method: "GET", path: "/reports/custom", permission: "reports:custom" }] },
}));
// …and still refuses a name that is neither built in nor declared.
// @ts-expect-error: `reports:custm` is not declared
defineConfig({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custm"] } } } });
// Headers as an object, a Map, or fetch's Headers-like iterable.
authz.authorize({ method: "GET", path: "/contacts", headers: new Map([["authorization", "Bearer x"]]) });
const json: string | undefined = decision.denyBodyJson;

export { status, allowed, code, header, middleware, ok, typo, custom, json };
