import type { AuthzConfig, Authorizer, Decision } from "./node/intercom_authz";

export interface AuthorizeOptions {
  /** Judge only requests under this prefix, as the Intercom path that follows it (`/api`). */
  prefix?: string;
  /** Derive the Intercom path from the request yourself. */
  path?: (req: { method: string; originalUrl: string }) => string;
}

/** A request after the middleware: the decision is on `req.authz`. */
export interface AuthorizedRequest {
  authz: Decision;
}

/** Express middleware: denies with the filter's status, JSON body and headers. */
export function authorize(
  config: AuthzConfig | string | Authorizer,
  options?: AuthorizeOptions,
): (req: unknown, res: unknown, next: (err?: unknown) => void) => void;

export { Authorizer };
