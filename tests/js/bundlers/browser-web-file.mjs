// A browser app on intercom-authz/web for esbuild with `--loader:.wasm=file`: the `.wasm`
// imported as a URL (esbuild copies it beside the bundle), handed to `init`.
import init, { Authorizer } from "intercom-authz/web";
import wasmUrl from "intercom-authz/web/wasm";
import { decide, show } from "./decide.mjs";

init({ module_or_path: wasmUrl }).then(() => show(decide(Authorizer)), (e) => show(`error: ${e}`));
