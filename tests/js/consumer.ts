// Compiled with `tsc --noEmit` by make test-js: the package's types are precise enough to use.
import { Authorizer, type AuthorizeRequest, type Decision, type DenyBody } from "intercom-authz";
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

export { status, allowed, code, header, middleware };
