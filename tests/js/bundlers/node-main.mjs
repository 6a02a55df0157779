// A Node app on the package's main entry (the node build, which reads web/intercom_authz_bg.wasm).
import { Authorizer } from "intercom-authz";
import { decide } from "./decide.mjs";

console.log(decide(Authorizer));
