//! The JavaScript front-end (crate `intercom-authz-js`, `wasm32-unknown-unknown`, wasm-bindgen): an
//! `Authorizer` class with the filter's exact decisions, for Node, browsers and edge workers.
//! `make js` builds the npm package in `dist/js/`.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use intercom_authz::authorizer::{Authorizer as Core, WholeRequest};
use intercom_authz::guard::LookupAnswer;
use intercom_authz::Code;

mod conversations;
mod request;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
import type { CheckedConfig, ConfigArg, DefineConfigArg } from "../check.js";
/** The configuration's types, generated from the Rust types (`config.d.ts`). */
export type * from "../config.js";
/** How a configuration is checked where it is passed in (`check.d.ts`). */
export type * from "../check.js";

/**
 * Declares a configuration with custom permissions or roles: their names are those of
 * `policy.permissions` and `policy.roles`. Every permission a role or route names must be a
 * built-in one, an alias, `resource:*`, `*` or a declared one, and every role `extends` or
 * `default_role` names a built-in one or one of `policy.roles` (`"agnet"` is an error here; a
 * plain `AuthzConfig` takes any role name). Written inline, in a `const` or `as const`.
 * Returns the configuration itself.
 */
export function defineConfig<const V>(config: DefineConfigArg<V>): CheckedConfig;

/** `[Symbol.dispose]()` (what `free()` does, for `using`) where the project's lib has
 *  `Symbol.dispose` (`esnext`, `esnext.disposable`, Node's types), nothing elsewhere: `make js`
 *  removes the member wasm-bindgen declares, which needs that lib. */
type Disposal = SymbolConstructor extends { readonly dispose: infer D extends symbol } ? { [K in D]: () => void } : {};
// `T`: the type of the configuration the constructor was given (`make js` adds it to the class).
export interface Authorizer<T = unknown> extends Disposal {}

/** A request to judge. Who is asking comes from `claims` (already verified), from `token`,
 *  or from the configured credential header in `headers`. */
export interface AuthorizeRequest {
  method: string;
  /** The request target, query included: `/contacts/12?per_page=5`. */
  path: string;
  /** Request headers: an object (Node's `req.headers`), a `Map`, or fetch's `Headers`; names are matched case-insensitively. */
  headers?: Record<string, string | string[] | undefined> | Map<string, string | string[]> | Iterable<[string, string]>;
  /** The body: a string, bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`), or a parsed JSON value. Read only when the route needs it; a body-dependent route needs `content-type: application/json` in `headers` (a parsed value goes as JSON without one). */
  body?: string | Uint8Array | ArrayBuffer | object | null;
  /** A bearer token (with or without the `Bearer ` prefix). */
  token?: string;
  /** Claims already verified by the caller (mapped like a token's claims). */
  claims?: Record<string, unknown>;
  /** The client address. */
  sourceIp?: string;
  /** Seconds since the epoch (default: now). */
  now?: number;
  /** Echoed as `requestId` in the deny body. */
  requestId?: string;
  /** Intercom's answer to `GET /conversations/{conversationId}`, when a first decision was
   *  `need_lookup` (a role with restricted conversation access acting on one conversation):
   *  its status (`null`: no answer, e.g. a timeout) and body. */
  lookup?: LookupAnswer;
  /** You send the decision's `forwardBody` to Intercom instead of the caller's body when it
   *  has one (a restricted role's search, with the teammate's assignment added). Without it
   *  such a search is refused (`conversation_route_restricted`). The Express middleware does. */
  forwardsBody?: boolean;
  /** The request carries a body you have not read (Node: `content-length` other than 0, or
   *  `transfer-encoding`) and did not pass as `body`. A route whose decision needs it is then
   *  answered `body_required` (400): read the body and ask again. Without it, a missing `body`
   *  is a request without one. The Express middleware sets it. */
  bodyUnread?: boolean;
}

/** Intercom's answer to the conversation lookup. */
export interface LookupAnswer {
  status: number | null;
  body?: string | Uint8Array | ArrayBuffer | object | null;
}

/** What `judgeResponse` needs of an allowed read: pass the decision back as it came. */
export interface ResponseGuard {
  kind: "one" | "list";
  access: "all" | "assigned_to_me" | "assigned_to_me_or_my_teams" | "assigned_to_me_my_teams_or_unassigned";
  admin?: string;
  teams: string[];
  /** How the answer says nobody, by the request's `Intercom-Version`: `null` (2.7–2.15), `zero` (2.16). */
  nobody: "null" | "zero" | "null_or_zero";
}

/** The upstream's answer to an allowed read whose decision has `responseGuard`. */
export interface UpstreamResponse {
  status: number;
  /** Response headers (`content-type`, `content-encoding` are read), same forms as a request's. */
  headers?: Record<string, string | string[] | undefined> | Map<string, string | string[]> | Iterable<[string, string]>;
  /** The whole body, as received (not decompressed). */
  body: string | Uint8Array | ArrayBuffer;
  /** Echoed as `requestId` in a denial's body. */
  requestId?: string;
}

/** What becomes of a judged response: forward it, forward `body` instead (set
 *  `content-length`), or answer `decision` (a denial) instead. */
export type ResponseVerdict =
  | { action: "pass" }
  | { action: "redact"; body: string; redacted: number }
  | { action: "deny"; decision: Decision };

/** The JSON body of a denial (seed 000's shape, extended). */
export interface DenyBody {
  error: "Forbidden" | "Unauthorized" | "Bad Request" | "Payload Too Large" | "Request Timeout"
    | "Unsupported Media Type" | "Internal Server Error" | "Bad Gateway" | "Service Unavailable";
  message: string;
  required?: string;
  currentRole?: string;
  code: string;
  route?: string;
  requestId?: string;
}

/** The decision (the same fields everywhere: filter, component, CLI), as `authorize` returns
 *  it: `allow`, `status` and `code` are its own properties; every other field is a getter that
 *  reads the decision's JSON text the first time one is asked for (a caller that reads only
 *  those three pays for no more). `toJSON()` gives every field as a plain object: what
 *  `JSON.stringify` writes, and what to hand to `structuredClone`, `postMessage` or a spread
 *  (`{ ...decision }` copies only the three). */
export interface Decision extends DecisionFields {
  /** Every field, as a plain object (in the order of the Envoy filter's decision). */
  toJSON(): DecisionFields;
}

/** A decision's fields (`Decision.toJSON()`). */
export interface DecisionFields {
  allow: boolean;
  /** 200 when allowed; 400, 401, 403 or 413 otherwise. */
  status: number;
  /** A stable code: `allowed`, `missing_permission`, `unknown_route`, `invalid_signature`, … */
  code: string;
  required?: string;
  role?: string;
  route?: string;
  canonicalPath?: string;
  /** When set, forward this `:path` (canonical path + query) instead of the original. */
  forwardPath?: string;
  resourceId?: string;
  permissions: string[];
  /** The permissions the role lacks that the token's own `permissions` claim granted
   *  (`token_grants`), when there are some. */
  grantedByToken?: string[];
  subject?: string;
  email?: string;
  message: string;
  reasons: string[];
  /** A delete, settings or export action. */
  sensitive: boolean;
  tokenCached: boolean;
  /** The response to send when denied, as an object (keys in the order of `denyBodyJson`). */
  denyBody?: DenyBody;
  /** The same body as the exact bytes the Envoy filter and the component send. */
  denyBodyJson?: string;
  /** Headers of that response: `content-type`, and `www-authenticate` on a 401. */
  denyHeaders?: Record<string, string>;
  /** With `need_lookup`: the conversation to fetch (`GET /conversations/{id}`), to authorize
   *  again with `lookup`. */
  conversationId?: string;
  /** Whether the conversation's assignment decided. */
  lookedUp?: boolean;
  /** Allowed on condition: judge the upstream's successful answer with `judgeResponse`
   *  before the client sees it. */
  judgeResponse?: "one" | "list";
  responseGuard?: ResponseGuard;
  /** When set, send this JSON body to Intercom instead of the caller's: a restricted role's
   *  conversation search with the teammate's assignment condition added. */
  forwardBody?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `AuthzConfig | CheckedConfig | string` in TypeScript, checked by `ConfigArg` (check.d.ts)
    /// against `T`, the class's type parameter (`make js` declares it): a configuration in a
    /// `const` or `as const` is one too.
    #[wasm_bindgen(typescript_type = "ConfigArg<T>")]
    pub type ConfigInput;
    /// `AuthorizeRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "AuthorizeRequest")]
    pub type RequestInput;
    /// `Decision` in TypeScript.
    #[wasm_bindgen(typescript_type = "Decision")]
    pub type DecisionOutput;
    /// `UpstreamResponse` in TypeScript.
    #[wasm_bindgen(typescript_type = "UpstreamResponse")]
    pub type ResponseInput;
    /// `ResponseVerdict` in TypeScript.
    #[wasm_bindgen(typescript_type = "ResponseVerdict")]
    pub type VerdictOutput;
}

/// What differs in JavaScript: `secret_env` is read from `process.env` (Node; wasm has no
/// environment of its own).
fn js_only_settings(cfg: &mut serde_json::Value) -> Result<(), JsError> {
    let Some(keys) = cfg
        .pointer_mut("/token/keys")
        .and_then(|k| k.as_array_mut())
    else {
        return Ok(());
    };
    for (i, key) in keys.iter_mut().enumerate() {
        let Some(obj) = key.as_object_mut() else {
            continue;
        };
        let Some(name) = obj
            .get("secret_env")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            continue;
        };
        let env = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("process"))
            .ok()
            .filter(|p| p.is_object())
            .and_then(|p| js_sys::Reflect::get(&p, &JsValue::from_str("env")).ok())
            .filter(|e| e.is_object());
        let Some(env) = env else {
            return Err(err(format!("invalid token settings: `token.keys[{i}].secret_env` needs Node's `process.env`; here pass the secret itself (`secret`)")));
        };
        let value = js_sys::Reflect::get(&env, &JsValue::from_str(&name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err(format!("invalid token settings: environment variable `{name}` named by `token.keys[{i}]` is not set")))?;
        obj.remove("secret_env");
        obj.insert("secret".into(), serde_json::Value::String(value));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Out {
    allow: bool,
    status: u16,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forward_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
    permissions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    granted_by_token: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    message: String,
    reasons: Vec<String>,
    sensitive: bool,
    token_cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    deny_body_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deny_headers: Option<std::collections::BTreeMap<&'static str, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    looked_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    judge_response: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_guard: Option<intercom_authz::guard::HandedGuard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forward_body: Option<String>,
}

fn err(msg: impl core::fmt::Display) -> JsError {
    JsError::new(&msg.to_string())
}

/// Returns its argument: `defineConfig`'s work is done by TypeScript (see the declaration).
#[wasm_bindgen(js_name = defineConfig, skip_typescript)]
pub fn define_config(config: JsValue) -> JsValue {
    config
}

/// Judges requests against one configuration. Construct once, reuse: the policy is compiled
/// and verified tokens are cached.
#[wasm_bindgen]
pub struct Authorizer {
    core: Core,
    /// The request headers [`Authorizer::authorize`] reads ([`headers_read_by`]).
    headers: [String; 4],
    /// The same, lower case, as a JavaScript `Set`: the common request crosses with only these
    /// (boundary.js, `plainRequestText`).
    headers_read: JsValue,
}

#[wasm_bindgen]
impl Authorizer {
    /// Compiles a configuration (an object or a JSON string). Throws an `Error` whose message
    /// names the culprit.
    #[wasm_bindgen(constructor)]
    pub fn new(config: ConfigInput) -> Result<Authorizer, JsError> {
        let value: JsValue = config.into();
        let mut v: serde_json::Value = match value.as_string() {
            Some(s) => serde_json::from_slice(s.as_bytes())
                .map_err(|e| err(format!("invalid configuration: {e}")))?,
            None => serde_wasm_bindgen::from_value(value)
                .map_err(|e| err(format!("invalid configuration: {e}")))?,
        };
        js_only_settings(&mut v)?;
        let mut core =
            Core::from_json_embedded(&v.to_string(), "the JavaScript package").map_err(err)?;
        core.set_explain(true);
        let headers = headers_read_by(&core);
        let headers_read = js_sys::Set::new(&JsValue::UNDEFINED);
        for name in &headers {
            headers_read.add(&JsValue::from_str(&name.to_ascii_lowercase()));
        }
        Ok(Authorizer {
            core,
            headers,
            headers_read: headers_read.into(),
        })
    }

    /// The request header that carries the credential (lower case).
    #[wasm_bindgen(js_name = credentialHeader)]
    pub fn credential_header(&self) -> String {
        self.core.credential_header()
    }

    /// The largest body judged (`max_body_bytes`); a longer one is `413 body_too_large`.
    #[wasm_bindgen(js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.core.config().max_body_bytes as f64
    }

    /// Hands over Intercom's teammate directory (`identity.source: "directory"`): the answer of
    /// `GET /admins` fetched with the workspace token, as an object or its JSON text. Returns
    /// how many teammates it lists; throws (and keeps the old directory) when it is malformed.
    #[wasm_bindgen(js_name = setDirectory)]
    pub fn set_directory(&self, admins: JsValue) -> Result<f64, JsError> {
        let text = match admins.as_string() {
            Some(s) => s,
            None => {
                let v: serde_json::Value = serde_wasm_bindgen::from_value(admins)
                    .map_err(|e| err(format!("invalid directory: {e}")))?;
                v.to_string()
            }
        };
        self.core
            .set_directory(text.as_bytes())
            .map(|n| n as f64)
            .map_err(|e| err(format!("invalid directory: {e}")))
    }

    /// Judges one request. Throws on a caller's mistake, named (an unknown field, a missing or
    /// lower-case `method`, `headers` of the wrong type); whatever a client sent is judged.
    pub fn authorize(&self, request: RequestInput) -> Result<DecisionOutput, JsError> {
        let r = request::read_request(&request.into(), &self.headers_read)?;
        let now = r
            .now
            .unwrap_or_else(|| (js_sys::Date::now() / 1000.0) as u64);
        // A body given as a value was parsed already (JSON by construction): absent a header,
        // it goes as JSON. A string or bytes body keeps whatever the headers say.
        let [credential, token_header, content_type, version] = &self.headers;
        let content_type = r
            .header(content_type)
            .or_else(|| r.body_is_value.then_some("application/json"));
        let out = self.core.authorize_whole(
            &WholeRequest {
                method: &r.method,
                path: &r.path,
                credential: r.header(credential),
                has_token_header: r.header(token_header).is_some(),
                content_type,
                version: r.header(version),
                token: r.token.as_deref(),
                claims: r.claims.as_ref(),
                body: r.body.as_deref(),
                body_unread: r.body_unread,
                source_ip: r.source_ip,
                lookup: r.lookup.as_ref().map(|(status, body)| LookupAnswer {
                    status: *status,
                    body: body.as_deref().unwrap_or_default(),
                }),
            },
            now,
        );
        decision_output(
            out.unless_body_forwarded(r.forwards_body),
            r.request_id.as_deref(),
        )
    }
}

/// Every request header the decision reads: the credential's, the token's (`token.header`),
/// `content-type`, `intercom-version`.
fn headers_read_by(core: &Core) -> [String; 4] {
    [
        core.credential_header(),
        core.config().token.header.clone(),
        String::from("content-type"),
        String::from("intercom-version"),
    ]
}

/// The decision as JavaScript sees it.
fn decision_output(
    out: intercom_authz::authorizer::Outcome,
    request_id: Option<&str>,
) -> Result<DecisionOutput, JsError> {
    let (deny_body_json, deny_headers) = if out.allow {
        (None, None)
    } else {
        let mut h = std::collections::BTreeMap::new();
        h.insert("content-type", String::from("application/json"));
        if let Some(w) = out.www_authenticate() {
            h.insert("www-authenticate", w);
        }
        (Some(out.deny_body(request_id)), Some(h))
    };
    let code = code_value(out.code_id);
    let o = Out {
        allow: out.allow,
        status: out.status,
        code: out.code,
        required: out.required,
        role: out.role,
        route: out.route,
        canonical_path: out.canonical_path,
        forward_path: out.forward_path,
        resource_id: out.resource_id,
        permissions: out.permissions,
        granted_by_token: out.granted_by_token,
        subject: out.subject,
        email: out.email,
        message: out.message,
        reasons: out.reasons,
        sensitive: out.sensitive,
        token_cached: out.token_cached,
        deny_body_json,
        deny_headers,
        conversation_id: out.conversation_id,
        looked_up: out.looked_up,
        judge_response: out.judge_response,
        response_guard: out
            .guard
            .as_ref()
            .map(intercom_authz::guard::HandedGuard::from),
        forward_body: out.forward_body,
    };
    let text =
        serde_json::to_string(&o).map_err(|e| err(format!("cannot build the decision: {e}")))?;
    Ok(new_decision(o.allow, o.status, &code, &text))
}

thread_local! {
    /// Every decision code as a JavaScript string, made once (`Code::ALL`'s order).
    static CODES: Vec<JsValue> = Code::ALL.iter().map(|c| JsValue::from_str(c.as_str())).collect();
}

/// `code` as a JavaScript string, without decoding it again per decision.
fn code_value(code: Code) -> JsValue {
    let made = CODES.with(|all| all.get(code as usize).cloned());
    made.unwrap_or_else(|| JsValue::from_str(code.as_str()))
}

#[wasm_bindgen(module = "/src/boundary.js")]
extern "C" {
    /// A `Decision` (boundary.js): `allow`, `status` and `code` at once, the rest from `text`
    /// (the decision's JSON) when first read.
    #[wasm_bindgen(js_name = newDecision)]
    fn new_decision(allow: bool, status: u16, code: &JsValue, text: &str) -> DecisionOutput;
}
