import type { Authorizer, Decision, LookupAnswer } from "./node/intercom_authz.js";
import type { ConfigArg } from "./check.js";

export interface AuthorizeOptions {
  /**
   * Judge only requests Express could route under this prefix (`/api`), as the Intercom path
   * that follows it. Matched as Express matches: case-insensitively, percent-decoded, doubled
   * slashes skipped. Prefer mounting instead: `app.use("/api", authorize(config))`.
   */
  prefix?: string;
  /** Derive the Intercom path (query included) from the request yourself. */
  path?: (req: { method: string; url: string; originalUrl: string }) => string;
  /**
   * Fetches a conversation from Intercom (`GET /conversations/{id}` with the workspace
   * token) when a role with restricted conversation access acts on one: resolve to its status
   * and body. Without it, or when it throws, such a request is refused
   * (`503 conversation_lookup_failed`).
   */
  lookup?: (conversationId: string, req: unknown) => Promise<LookupAnswer> | LookupAnswer;
  /**
   * For apps that log users in themselves (a session, passport): the signed-in user's claims
   * (`{ sub, role, … }`, mapped as a token's claims would be), e.g. `(req) => req.user`. They
   * are judged as verified; the credential header is never read, and a request for which this
   * returns `null` or `undefined` is answered `401 missing_token`.
   */
  claims?: (req: any) => Record<string, unknown> | null | undefined;
  /**
   * Sees every final decision once, allowed or denied (a read judged by its response: the
   * verdict). A failing `lookup` is named in `decision.reasons`.
   */
  onDecision?: (decision: Decision, req: any) => void;
}

/** The Intercom target of `url` under the prefix's (lower-case) segments, or `null`. */
export function underPrefix(url: string, segments: string[]): string | null;

/** A request after the middleware: the decision is on `req.authz`. */
export interface AuthorizedRequest {
  authz: Decision;
}

/** Express middleware: denies with the filter's status, JSON body and headers. `config`: an
 *  `Authorizer`, or what its constructor takes (`ConfigArg`: an `AuthzConfig` inline, in a
 *  `const` or `as const`, a `defineConfig` result, a JSON text). */
export function authorize<const V>(
  config: V extends Authorizer ? V : ConfigArg<V>,
  options?: AuthorizeOptions,
): (req: unknown, res: unknown, next: (err?: unknown) => void) => void;

export { Authorizer };
