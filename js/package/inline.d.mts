// intercom-authz/inline: the API of intercom-authz/web; `init()` and `initSync()` instantiate
// the module inlined in the package when given no argument.
import type { InitInput, InitOutput, SyncInitInput } from "./inline/intercom_authz.mjs";

export * from "./inline/intercom_authz.mjs";

/** Instantiates the inlined module (or the one given) synchronously. */
export function initSync(module?: { module: SyncInitInput } | SyncInitInput): InitOutput;

/** Instantiates the inlined module (or the one given). */
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;
