// A browser app on intercom-authz/inline: the module is in the bundle, nothing to fetch.
import init, { Authorizer } from "intercom-authz/inline";
import { decide, show } from "./decide.mjs";

init().then(() => show(decide(Authorizer)), (e) => show(`error: ${e}`));
