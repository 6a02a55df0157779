// Where the lib has `Symbol.dispose` (esnext, Node's types), `using` frees an Authorizer.
import { Authorizer } from "intercom-authz";

export function once(): boolean {
  using authz = new Authorizer({});
  return authz.authorize({ method: "GET", path: "/contacts", claims: { role: "agent" } }).allow;
}
