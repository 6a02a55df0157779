// A browser app on intercom-authz/web, as its README says: `init()` fetches the `.wasm` the web
// build names with `new URL("intercom_authz_bg.wasm", import.meta.url)`.
import init, { Authorizer } from "intercom-authz/web";
import { decide, show } from "./decide.mjs";

init().then(() => show(decide(Authorizer)), (e) => show(`error: ${e}`));
