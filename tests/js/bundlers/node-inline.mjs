// A Node app on intercom-authz/inline: bundled, it needs no file beside it.
import { initSync, Authorizer } from "intercom-authz/inline";
import { decide } from "./decide.mjs";

initSync();
console.log(decide(Authorizer));
