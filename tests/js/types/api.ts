// The package's API as a project uses it (every config of the matrix): precise enough to use,
// and a mistake is a compile error. (configs.ts: the configuration written every way.)
import { Authorizer, defineConfig, type AuthorizeRequest, type Decision, type DecisionFields, type DenyBody } from "intercom-authz";
import { authorize } from "intercom-authz/express";

const authz = new Authorizer({ policy: { roles: {} }, token: { trusted_payload_header: "x-jwt-payload" }, mode: "enforce" });
const request: AuthorizeRequest = { method: "GET", path: "/contacts/1", claims: { role: "agent", exp: 4102444800 } };
const decision: Decision = authz.authorize(request);
const status: number = decision.status;
const allowed: boolean = decision.allow;
const body: DenyBody | undefined = decision.denyBody;
const code: string | undefined = body?.code;
const header: string = authz.credentialHeader();
const json: string | undefined = decision.denyBodyJson;
// A plain copy of every field (what structuredClone or postMessage takes), without `toJSON`.
const fields: DecisionFields = decision.toJSON();
const copied: string | undefined = fields.role;
// @ts-expect-error the copy is data: it has no `toJSON`
fields.toJSON();
// Headers as an object, a Map, or fetch's Headers-like iterable.
authz.authorize({ method: "GET", path: "/contacts", headers: new Map([["authorization", "Bearer x"]]) });

// @ts-expect-error: `method` is required
authz.authorize({ path: "/contacts" });

// Express takes a configuration, a `defineConfig` result (whichever build declared it: one
// `CheckedConfig`), a JSON text or an Authorizer.
const middleware = authorize({ policy: {} }, { prefix: "/api" });
const custom = defineConfig({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custom"] } } } });
const fromEach = [authorize(custom), authorize('{"mode":"dry_run"}'), authorize(authz), authorize(new Authorizer(custom))];
// @ts-expect-error: `mode` is "enforce" or "dry_run"
authorize({ mode: "shadow" });

export { status, allowed, code, header, json, copied, middleware, fromEach };
