//! The configuration every front-end loads, and [`Authorizer`], the one call they all make.
//!
//! A front-end reads the method, the path, one header ([`Authorizer::credential_header`]), the
//! source address and, when asked ([`Effect::NeedBody`]), the body; it gets an [`Outcome`]
//! back: allow, or the status, JSON body and headers of the denial.
//!
//! ```
//! use intercom_authz::authorizer::{Authorizer, HttpRequest};
//! use intercom_authz::{Body, Lookup};
//! let authz = Authorizer::from_json(r#"{
//!     "token": { "trusted_payload_header": "x-jwt-payload" }
//! }"#).unwrap();
//! // Claims as Envoy's jwt_authn forwards them: base64url JSON.
//! let claims = r#"{"sub":"42","role":"agent","exp":4102444800}"#;
//! let header = base64_url(claims);
//! let req = HttpRequest { method: b"DELETE", path: b"/contacts/7", credential: Some(header.as_bytes()),
//!                         has_token_header: true, content_type: None, version: None,
//!                         body: Body::NotRead, source_ip: None, lookup: Lookup::NotDone };
//! let out = authz.authorize(&req, 1_800_000_000);
//! assert_eq!(out.status, 403);
//! assert_eq!(out.code, "missing_permission");
//! assert_eq!(out.required.as_deref(), Some("contacts:delete"));
//! # fn base64_url(s: &str) -> String {
//! #     use base64::Engine as _;
//! #     base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
//! # }
//! ```

use std::borrow::ToOwned;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use core::net::IpAddr;

use serde::Serialize;

pub mod guard;

pub use crate::config::{
    AuditLog, AuditMode, BodyHold, Config, ConfigError, ConversationsConfig, DecisionState, Mode,
    RemoteJwksConfig, UpstreamConfig,
};
use crate::conversation::Lookup;
use crate::eval::{
    error_title, evaluate, Body, Code, Decision, DenyBody, Effect, Principal, Request,
};
use crate::identity::{Directory, Identity};
use crate::policy::Policy;
use crate::token::{www_authenticate, NoKeys, TokenVerifier};
pub use guard::{HttpResponse, LookupAnswer, ResponseGuard, ResponseVerdict};

/// The order in which a role claim that is an array picks its role: `role_order` as written
/// (names the policy does not know dropped), then the policy's other roles, custom ones first
/// (a custom role is a specific assignment, e.g. Keycloak's `tier1` next to `agent`; several
/// of them go by name), then the built-in ones, most powerful first. Names the policy does not
/// know (`offline_access`, `default-roles-…`) are never picked while a known one is present.
fn role_order(written: &[String], policy: &Policy) -> Vec<String> {
    let known = |r: &str| policy.role(r).is_some();
    let mut order: Vec<String> = Vec::new();
    // Those written first, once each; `seen` sorted, so a policy of thousands of roles is
    // ordered in n·log n (a scan of `order` per role made 10,000 roles cost 0.3 s in V8).
    let mut seen: Vec<&str> = Vec::new();
    for r in written.iter().map(String::as_str) {
        if let Err(at) = seen.binary_search(&r) {
            if known(r) {
                seen.insert(at, r);
                order.push(r.to_string());
            }
        }
    }
    let custom = policy
        .roles()
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| !crate::policy::BUILTIN_ROLES.contains(r));
    let mut custom: Vec<&str> = custom.collect();
    crate::sort::sort_by(&mut custom, |a, b| a.cmp(b));
    // The policy's names are unique, custom and built-in apart: only `written` repeats them.
    // The custom names come from the policy itself; a built-in one is checked.
    let builtin = crate::policy::BUILTIN_ROLES
        .into_iter()
        .filter(|r| known(r));
    for r in custom.into_iter().chain(builtin) {
        if seen.binary_search(&r).is_err() {
            order.push(r.to_string());
        }
    }
    order
}

/// For the library front-ends (JS, component), where the method comes from the caller's code
/// and not from the wire: a lower-case method is a mistake (HTTP methods are case-sensitive, so
/// `get` would be judged as an unknown method), named instead of answered with a 403.
pub fn check_caller_method(method: &str) -> Result<(), String> {
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(format!(
            "invalid request: method `{method}` is not upper case (HTTP methods are case-sensitive: `{}`)",
            method.to_ascii_uppercase()
        ));
    }
    Ok(())
}

/// What a front-end passes in: the bytes it received, which need not be UTF-8 (Envoy passes
/// bytes 0x80–0xFF in header values and in an HTTP/2 `:path`). A credential that is not UTF-8
/// is `malformed_token` (401); a method or path that is not is `non_canonical_path` (400).
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// The method.
    pub method: &'a [u8],
    /// The request target (`:path`), query included.
    pub path: &'a [u8],
    /// The value of [`Authorizer::credential_header`], if present.
    pub credential: Option<&'a [u8]>,
    /// With `trusted_payload_header`: the evidence that a JWT filter verified this request's
    /// token, without which the claims header is a client's copy: the request carries
    /// `token.header`, or (the filter, with `token.trusted_payload_metadata`) `jwt_authn`
    /// recorded the payload it verified.
    pub has_token_header: bool,
    /// The `Content-Type` header, if present.
    pub content_type: Option<&'a [u8]>,
    /// The `Intercom-Version` header, if present.
    pub version: Option<&'a [u8]>,
    /// The body.
    pub body: Body<'a>,
    /// The client address.
    pub source_ip: Option<IpAddr>,
    /// The conversation's assignment, for a decision that asked for it (`need_lookup`).
    pub lookup: Lookup<'a>,
}

/// A whole request at once, for front-ends that have it all in hand (the JS package, the
/// component, the CLI); see [`Authorizer::authorize_whole`].
#[derive(Debug, Clone, Copy)]
pub struct WholeRequest<'a> {
    /// The method.
    pub method: &'a str,
    /// The request target, query included.
    pub path: &'a str,
    /// The value of [`Authorizer::credential_header`], if the request has it.
    pub credential: Option<&'a str>,
    /// Whether the request has `token.header` (see [`HttpRequest::has_token_header`]).
    pub has_token_header: bool,
    /// The `Content-Type` header, if the request has it.
    pub content_type: Option<&'a str>,
    /// The `Intercom-Version` header, if the request has it.
    pub version: Option<&'a str>,
    /// A token given on its own (`Bearer ` is added for the `authorization` header).
    pub token: Option<&'a str>,
    /// Claims the caller already verified, instead of a token.
    pub claims: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The body, if any; used only when the route's decision needs it.
    pub body: Option<&'a [u8]>,
    /// The request carries a body that is not in `body` (a stream not read yet: declared
    /// length, chunked). A route whose decision needs it is then answered `body_required`
    /// (read it, ask again) instead of judged as a request without a body, which a body where
    /// none is expected could turn into another request upstream.
    pub body_unread: bool,
    /// The client address.
    pub source_ip: Option<IpAddr>,
    /// Intercom's answer to `GET /conversations/{id}` for a decision that asked for it
    /// (`need_lookup`); without it such a decision stays `need_lookup`.
    pub lookup: Option<LookupAnswer<'a>>,
}

/// A decision, owned, with everything a front-end needs to answer and to log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Allow, deny, or read the body and ask again.
    #[serde(serialize_with = "ser_effect")]
    pub effect: Effect,
    /// `true` when the request may go through.
    pub allow: bool,
    /// The HTTP status of a denial (200 when allowed).
    pub status: u16,
    /// The stable code.
    pub code: &'static str,
    /// The same code, typed.
    #[serde(skip)]
    pub code_id: Code,
    /// The permission or scope lacked (or, allowed, the main permission used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    /// The role judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The matched route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The canonical path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_path: Option<String>,
    /// The `:path` to forward when it must change (canonical path + query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_path: Option<String>,
    /// The resource id (last path parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Every permission the request needed.
    pub permissions: Vec<String>,
    /// Those the role lacks and the token's own permissions granted (`token_grants`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub granted_by_token: Vec<String>,
    /// The caller's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The caller's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// One sentence.
    pub message: String,
    /// The reasons, in check order (only when the authorizer explains, see
    /// [`Authorizer::set_explain`]; empty otherwise, to keep the request path lean).
    pub reasons: Vec<String>,
    /// Whether the action is sensitive (delete, settings, export): the audit flag.
    pub sensitive: bool,
    /// Whether the token came from the cache.
    pub token_cached: bool,
    /// With `need_lookup`: the conversation to look up (`GET /conversations/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Whether the conversation's assignment decided (or must decide) it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub looked_up: bool,
    /// Allowed on condition: the successful response (`one` conversation or a `list`) must be
    /// judged ([`Authorizer::judge_response`]) before the client sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_response: Option<&'static str>,
    /// What judging the response needs.
    #[serde(skip)]
    pub guard: Option<ResponseGuard>,
    /// The body to send on instead of the caller's (JSON): a restricted role's conversation
    /// search with the teammate's assignment condition added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_body: Option<String>,
}

fn ser_effect<S: serde::Serializer>(e: &Effect, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match e {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
        Effect::NeedBody => "need_body",
        Effect::NeedLookup => "need_lookup",
    })
}

impl Outcome {
    /// The JSON body of a denial.
    pub fn deny_body(&self, request_id: Option<&str>) -> String {
        DenyBody {
            error: error_title(self.status),
            message: &self.message,
            required: self.required.as_deref(),
            current_role: self.role.as_deref(),
            code: self.code,
            route: self.route.as_deref(),
            request_id,
        }
        .to_json()
    }

    /// The `WWW-Authenticate` header of a 401.
    pub fn www_authenticate(&self) -> Option<String> {
        (self.status == 401).then(|| {
            www_authenticate(
                Code::parse(self.code).unwrap_or(Code::MalformedToken),
                &self.message,
            )
        })
    }

    /// A body over `max_body_bytes`: `413 body_too_large`, in the same words everywhere.
    pub fn body_too_large(max: usize) -> Outcome {
        Outcome::denied(
            Code::BodyTooLarge,
            format!("the body is larger than {max} bytes"),
        )
    }

    /// A decision that needs a body the caller has not read (see [`WholeRequest::body_unread`]):
    /// `400 body_required`, the route and role of `need` kept.
    pub fn body_unread(need: &Outcome) -> Outcome {
        need.after(
            Code::BodyRequired,
            String::from("The decision needs the request's body: read it and pass it as `body`"),
        )
    }

    /// A denial made outside the policy (token, body size).
    pub fn denied(code: Code, message: String) -> Outcome {
        let mut message = message;
        if let Some(first) = message.get(..1) {
            let up = first.to_ascii_uppercase();
            message.replace_range(..1, &up);
        }
        Outcome {
            effect: Effect::Deny,
            allow: false,
            status: code.status(),
            code: code.as_str(),
            code_id: code,
            required: None,
            role: None,
            route: None,
            canonical_path: None,
            forward_path: None,
            resource_id: None,
            permissions: Vec::new(),
            granted_by_token: Vec::new(),
            subject: None,
            email: None,
            reasons: std::vec![message.clone()],
            message,
            sensitive: false,
            token_cached: false,
            conversation_id: None,
            looked_up: false,
            judge_response: None,
            guard: None,
            forward_body: None,
        }
    }
}

/// A compiled configuration: policy, keys and token cache. One per configuration; a new
/// configuration means a new `Authorizer` (so the token cache starts empty).
#[derive(Debug)]
pub struct Authorizer {
    config: Config,
    policy: Policy,
    tokens: TokenVerifier,
    identity: Identity,
    explain: bool,
}

fn is_sensitive(perm: &str) -> bool {
    let action = perm.split_once(':').map_or(perm, |(_, a)| a);
    action.contains("delete")
        || action.contains("export")
        || action == "redact"
        || perm.starts_with("settings:")
        || perm.starts_with("security:")
}

impl Authorizer {
    /// Parses and compiles a configuration (JSON).
    pub fn from_json(json: &str) -> Result<Authorizer, ConfigError> {
        Authorizer::new(Self::parse(json)?)
    }

    fn parse(json: &str) -> Result<Config, ConfigError> {
        crate::config_read::read(json.as_bytes()).map_err(|e| {
            // serde_json appends " at line L column C": keep it, it helps find the spot.
            let msg = e.to_string();
            let path = crate::json_path::path_at(json, e.line(), e.column(), &msg);
            if path == "." {
                ConfigError(format!("invalid configuration: {msg}"))
            } else {
                ConfigError(format!("invalid configuration at `{path}`: {msg}"))
            }
        })
    }

    /// Compiles a configuration for a host that makes no HTTP calls and can pass claims it
    /// verified itself (the npm package, the component): `remote_jwks` is refused, and a
    /// configuration without keys is claims-only (a token is `unknown_key`); `token.claims`
    /// still says where the role and the rest are.
    pub fn from_json_embedded(json: &str, host: &str) -> Result<Authorizer, ConfigError> {
        let config = Self::parse(json)?;
        if config.remote_jwks.is_some() {
            return Err(ConfigError(format!(
                "invalid configuration: `remote_jwks` is not available in {host} (it fetches nothing): pass the keys in `token.keys`, or verify the token yourself and pass its claims"
            )));
        }
        Self::build(config, NoKeys::ClaimsOnly)
    }

    /// Compiles a configuration.
    pub fn new(config: Config) -> Result<Authorizer, ConfigError> {
        let no_keys = if config.remote_jwks.is_some() {
            NoKeys::AwaitRemote
        } else {
            NoKeys::Error
        };
        Self::build(config, no_keys)
    }

    fn build(config: Config, no_keys: NoKeys) -> Result<Authorizer, ConfigError> {
        let policy = Policy::compile(&config.policy)
            .map_err(|e| ConfigError(format!("invalid policy: {e}")))?;
        if config.max_body_bytes == 0 {
            return Err(ConfigError("`max_body_bytes` must be more than 0".into()));
        }
        if config.body_timeout_ms == 0 {
            return Err(ConfigError("`body_timeout_ms` must be more than 0".into()));
        }
        if let Some(r) = &config.remote_jwks {
            if r.cluster.is_empty() || !r.path.starts_with('/') {
                return Err(ConfigError(
                    "`remote_jwks` needs a `cluster` and a `path` starting with `/`".into(),
                ));
            }
            if r.refresh_secs == 0 {
                return Err(ConfigError(
                    "`remote_jwks.refresh_secs` must be more than 0".into(),
                ));
            }
        }
        for (name, h) in [
            ("token.header", Some(&config.token.header)),
            (
                "token.trusted_payload_header",
                config.token.trusted_payload_header.as_ref(),
            ),
            ("request_id_header", Some(&config.request_id_header)),
        ] {
            // A header a request can carry: an HTTP token (RFC 9110 §5.1), ASCII, so every
            // front-end matches it case-insensitively the same way.
            if let Some(h) = h.filter(|h| h.is_empty() || !h.bytes().all(crate::path::is_tchar)) {
                return Err(ConfigError(format!(
                    "`{name}` `{h}` is not a header name (letters, digits and !#$%&'*+-.^_`|~)"
                )));
            }
        }
        for (name, h) in [
            ("role_header", &config.upstream.role_header),
            ("subject_header", &config.upstream.subject_header),
        ] {
            if let Some(h) = h {
                if h.is_empty()
                    || !h
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(ConfigError(format!(
                        "`upstream.{name}` `{h}` must be a lower-case header name"
                    )));
                }
                if crate::upstream::is_reserved(h, &config) {
                    return Err(ConfigError(format!(
                        "`upstream.{name}` `{h}` is a header the request or Intercom already reads (credentials, method overrides, content, connection): name one of your own, such as `x-authz-role`"
                    )));
                }
            }
        }
        if config.upstream.role_header.is_some()
            && config.upstream.role_header == config.upstream.subject_header
        {
            return Err(ConfigError(
                "`upstream.role_header` and `upstream.subject_header` must differ".into(),
            ));
        }
        let mut token_cfg = config.token.clone();
        token_cfg.claims.role_order = role_order(&token_cfg.claims.role_order, &policy);
        let tokens = TokenVerifier::new(token_cfg, no_keys)
            .map_err(|e| ConfigError(format!("invalid token settings: {e}")))?;
        let identity = Identity::new(&config.identity).map_err(ConfigError)?;
        Ok(Authorizer {
            config,
            policy,
            tokens,
            identity,
            explain: false,
        })
    }

    /// Who callers are in Intercom (the teammate directory, when configured).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Hands over a fresh teammate directory (Intercom's `GET /admins` answer): what the filter
    /// does on every refresh, and what a JS or component caller does with its own copy. Returns
    /// how many teammates it lists; a malformed answer changes nothing.
    pub fn set_directory(&self, admins_json: &[u8]) -> Result<usize, String> {
        let d = Directory::parse(admins_json, self.config.identity.max_bytes)?;
        let n = d.len();
        self.identity.set_directory(d);
        Ok(n)
    }

    /// Whether outcomes carry their reasons and a message when allowed (the CLI and the JS
    /// package want them; the filter does not pay for them).
    pub fn set_explain(&mut self, explain: bool) {
        self.explain = explain;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The token verifier (remote keys, cache counters).
    pub fn tokens(&self) -> &TokenVerifier {
        &self.tokens
    }

    /// The request header a front-end must read and pass as [`HttpRequest::credential`]
    /// (lower case).
    pub fn credential_header(&self) -> String {
        self.config
            .token
            .trusted_payload_header
            .as_deref()
            .unwrap_or(&self.config.token.header)
            .to_ascii_lowercase()
    }

    /// Judges a request at `now` (seconds since the epoch).
    pub fn authorize(&self, req: &HttpRequest<'_>, now: u64) -> Outcome {
        let hits = self.tokens.stats().hits;
        let credential = match req.credential.map(core::str::from_utf8) {
            // The same words as for a Latin-1 string from the JS package (`token.rs`).
            Some(Err(_)) => {
                return Outcome::denied(
                    Code::MalformedToken,
                    "the credential header has a byte outside ASCII".into(),
                )
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        if let Some(out) = self.client_set_payload(credential.is_some(), req.has_token_header) {
            return out;
        }
        let verified = match self.tokens.authenticate(credential, now) {
            Ok(v) => v,
            Err(e) => return Outcome::denied(e.code, e.message),
        };
        let mut out = self.authorize_principal(&verified.principal, req, now);
        out.token_cached = self.tokens.stats().hits > hits;
        out
    }

    /// With `trusted_payload_header`: Envoy's `jwt_authn` (`forward_payload_header`) and Istio
    /// (`outputPayloadToHeader`) remove a client's copy of that header and write it for a
    /// token they verified, but only when they run before this filter. `evidence`
    /// ([`HttpRequest::has_token_header`]) says one did; without it the header is refused.
    fn client_set_payload(&self, payload: bool, evidence: bool) -> Option<Outcome> {
        let t = &self.config.token;
        let trusted = t.trusted_payload_header.as_deref()?;
        let required = t.trusted_payload_requires_token || t.trusted_payload_metadata.is_some();
        if !payload || evidence || !required {
            return None;
        }
        let message = match &t.trusted_payload_metadata {
            Some(m) => format!("the `{trusted}` header came, but `jwt_authn` recorded no verified payload (`payload_in_metadata: {m}`) for this request: no JWT filter verified a token before this one, so the header is not its"),
            None => format!("the `{trusted}` header came without a token in `{}`: either no JWT filter ran before this one (the header is then a client's), or it removed the token (Istio's default, `forwardOriginalToken: false`: set `token.trusted_payload_metadata: \"payload\"`)", t.header),
        };
        Some(Outcome::denied(Code::MissingToken, message))
    }

    /// Judges a whole request: the credential (or claims), then the body when the route needs
    /// it. The JS package, the component and the CLI all come through here.
    pub fn authorize_whole(&self, r: &WholeRequest<'_>, now: u64) -> Outcome {
        let bearer;
        let credential = match r.token {
            Some(t) if self.credential_header() == "authorization" && !t.starts_with("Bearer ") => {
                bearer = format!("Bearer {t}");
                Some(bearer.as_str())
            }
            Some(t) => Some(t),
            None => r.credential,
        };
        let principal = r
            .claims
            .map(|c| crate::token::map_claims(self.tokens.claims(), c));
        let judge = |req: &HttpRequest<'_>| -> Outcome {
            match &principal {
                Some(Ok(p)) => self.authorize_principal(p, req, now),
                Some(Err(e)) => Outcome::denied(e.code, e.message.clone()),
                None => self.authorize(req, now),
            }
        };
        let mut req = HttpRequest {
            method: r.method.as_bytes(),
            path: r.path.as_bytes(),
            credential: credential.map(str::as_bytes),
            // A token given on its own is the token header.
            has_token_header: r.has_token_header || r.token.is_some(),
            content_type: r.content_type.map(str::as_bytes),
            version: r.version.map(str::as_bytes),
            body: Body::NotRead,
            source_ip: r.source_ip,
            lookup: Lookup::NotDone,
        };
        let mut out = judge(&req);
        if out.effect == Effect::NeedBody {
            let max = self.config.max_body_bytes;
            req.body = match r.body {
                // The filter's limit and words (it never buffers more).
                Some(b) if b.len() > max => return Outcome::body_too_large(max),
                Some(b) => Body::Bytes(b),
                None if r.body_unread => return Outcome::body_unread(&out),
                None => Body::Absent,
            };
            out = judge(&req);
        }
        match (out.effect, &r.lookup) {
            (Effect::NeedLookup, Some(answer)) => {
                let assignment = answer.read();
                req.lookup = guard::as_lookup(&assignment);
                judge(&req)
            }
            _ => out,
        }
    }

    /// Judges already-verified claims (the JS package's `claims` input and the CLI's `--claims`).
    pub fn authorize_principal(&self, who: &Principal, req: &HttpRequest<'_>, now: u64) -> Outcome {
        let who = match self.identity.resolve(who) {
            Ok(p) => p,
            Err((code, message)) => return Outcome::denied(code, message),
        };
        let who: &Principal = &who;
        // Not UTF-8: each bad sequence becomes U+FFFD, which the canonicalizer refuses as it
        // refuses a non-ASCII character from a string front-end (same code, same words). Valid
        // UTF-8, the usual case, is borrowed.
        let method = String::from_utf8_lossy(req.method);
        let path = String::from_utf8_lossy(req.path);
        let core_req = core_request(req, &method, &path);
        let d = evaluate(&self.policy, who, &core_req, now);
        let mut out = self.outcome(&d, who);
        if out.code_id == Code::MissingRole {
            // Say where the role was looked for: a claim path that matches nothing is the
            // usual mistake (`realm_access.roles` vs `resource_access.<client>.roles`).
            out.message = format!(
                "The token names no role (nothing at claim `{}`)",
                self.config.token.claims.role
            );
        }
        out
    }

    fn outcome(&self, d: &Decision<'_>, who: &Principal) -> Outcome {
        let permissions: Vec<String> = self
            .policy
            .names(&d.permissions)
            .map(str::to_owned)
            .collect();
        let sensitive = permissions.iter().any(|p| is_sensitive(p));
        Outcome {
            effect: d.effect,
            allow: d.is_allowed(),
            status: d.status(),
            code: d.code.as_str(),
            code_id: d.code,
            required: d.required.map(str::to_owned),
            role: d.role.map(str::to_owned),
            route: d.route.map(str::to_owned),
            canonical_path: d.canonical_path.as_deref().map(str::to_owned),
            forward_path: d.forward_path(),
            resource_id: d.resource_id().map(str::to_owned),
            permissions,
            granted_by_token: self
                .policy
                .names(&d.from_token)
                .map(str::to_owned)
                .collect(),
            subject: who.subject.clone(),
            email: who.email.clone(),
            message: if d.is_allowed() && !self.explain {
                String::new()
            } else {
                d.message()
            },
            reasons: if self.explain {
                d.reasons(&self.policy, &self.config.token.claims.permissions)
            } else {
                Vec::new()
            },
            sensitive,
            token_cached: false,
            conversation_id: (d.effect == Effect::NeedLookup)
                .then(|| d.conversation_id().map(str::to_owned))
                .flatten(),
            looked_up: d.looked_up,
            judge_response: guard::response_kind(d),
            guard: guard::response_guard(d, who),
            forward_body: d
                .forward_body
                .as_ref()
                .filter(|_| d.is_allowed())
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// A header value as text, or a marker no rule accepts when it is not UTF-8.
fn lossless_or_invalid(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("\u{fffd}")
}

/// The core's view of a request (the canonicalizer refuses everything outside its strict
/// alphabet in `method` and `path`).
fn core_request<'a>(req: &HttpRequest<'a>, method: &'a str, path: &'a str) -> Request<'a> {
    Request {
        method,
        path,
        body: req.body,
        // A header that is not UTF-8 is no JSON type (`rack::is_json` refuses it) and no API
        // version (`unknown_version`, or every version's routes if allowed).
        content_type: req.content_type.map(lossless_or_invalid),
        version: req.version.map(lossless_or_invalid),
        source_ip: req.source_ip,
        lookup: req.lookup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_empty_object() {
        let parsed: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn embedded_hosts_fetch_nothing_and_may_be_claims_only() {
        let claims_only = Authorizer::from_json_embedded(r#"{"policy":{}}"#, "X").unwrap();
        let claims = serde_json::json!({"role": "agent"});
        let req = |token: Option<&'static str>| WholeRequest {
            method: "GET",
            path: "/contacts/1",
            credential: None,
            has_token_header: false,
            content_type: None,
            version: None,
            token,
            claims: if token.is_none() {
                claims.as_object()
            } else {
                None
            },
            body: None,
            body_unread: false,
            source_ip: None,
            lookup: None,
        };
        assert_eq!(claims_only.authorize_whole(&req(None), 0).code, "allowed");
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3duZXIifQ.c2ln";
        let out = claims_only.authorize_whole(&req(Some(t)), 0);
        assert_eq!((out.status, out.code), (401, "unknown_key"), "{out:?}");
        assert!(out.message.contains("claims-only"), "{}", out.message);
        // `{}` is claims-only, and so is a `token` that only says where the claims are.
        assert!(Authorizer::from_json_embedded("{}", "X").is_ok());
        let groups = r#"{"token":{"claims":{"role":"groups"}}}"#;
        assert!(Authorizer::from_json_embedded(groups, "X").is_ok());
        let e = Authorizer::from_json_embedded(
            r#"{"remote_jwks":{"cluster":"c","path":"/j"}}"#,
            "the X",
        )
        .unwrap_err()
        .0;
        assert!(
            e.starts_with("invalid configuration: `remote_jwks` is not available in the X"),
            "{e}"
        );
        // The filter still refuses a configuration that could verify nothing.
        assert!(Authorizer::from_json("{}").is_err());
    }

    /// A permission the role lacks and the token's own permissions grant is named as such, with
    /// the claim it came from (the CLI's `explain` and the JS package's `reasons` show it).
    #[test]
    fn reasons_name_the_token_grant() {
        let judge = |grants: bool| {
            let cfg = serde_json::json!({
                "policy": {"token_grants": grants},
                "token": {"claims": {"permissions": "perms"}},
            });
            let mut a = Authorizer::from_json_embedded(&cfg.to_string(), "X").unwrap();
            a.set_explain(true);
            let claims = serde_json::json!({"role": "agent", "perms": ["contacts:delete"]});
            a.authorize_whole(
                &WholeRequest {
                    method: "DELETE",
                    path: "/contacts/1",
                    credential: None,
                    has_token_header: false,
                    content_type: None,
                    version: None,
                    token: None,
                    claims: claims.as_object(),
                    body: None,
                    body_unread: false,
                    source_ip: None,
                    lookup: None,
                },
                0,
            )
        };
        let out = judge(true);
        assert!(out.allow, "{out:?}");
        assert_eq!(out.granted_by_token, ["contacts:delete"]);
        let reason = "`contacts:delete` granted by the token's `perms` claim";
        assert!(out.reasons.iter().any(|r| r == reason), "{:?}", out.reasons);
        let out = judge(false);
        assert_eq!(out.code, "missing_permission", "{out:?}");
        assert!(out.granted_by_token.is_empty());
        assert!(
            !out.reasons.iter().any(|r| r.contains("granted by")),
            "{:?}",
            out.reasons
        );
    }

    #[test]
    fn config_errors_are_one_line_naming_the_culprit() {
        let cases = [
            (r#"{"policy":{"roles":{"t":{"grnat":[]}}}}"#, "invalid configuration at `policy.roles.t.grnat`: unknown field `grnat`"),
            (r#"{"mode":"shadow"}"#, "invalid configuration at `mode`: unknown variant `shadow`, expected `enforce` or `dry_run`"),
            (r#"{"token":{"keys":[{"kid":"a","alg":"RS256","secret":"x"}]}}"#, "invalid token settings: key `a`: `RS256` needs a `pem` public key, not a secret"),
            (r#"{"token":{"keys":[{"kid":"a","alg":"HS999","secret":"x"}]}}"#, "invalid token settings: unknown algorithm `HS999` in key `a`"),
            (r#"{"token":{"keys":[{"kid":"a","alg":"RS256","pem":"nope"}]}}"#, "invalid token settings: the `pem` of key `a` is not a valid RS256 public key"),
            (r#"{"token":{}}"#, "invalid token settings: `token` has no key"),
            (r#"{"token":{"keys":[{"alg":"HS256","secret_env":"INTERCOM_AUTHZ_SURELY_UNSET"}]}}"#, "invalid token settings: environment variable `INTERCOM_AUTHZ_SURELY_UNSET` named by `token.keys[0]` is not set"),
            (r#"{"policy":{"roles":{"t":{"extends":"agent","grant":["contacts:destroy"]}}},"token":{"trusted_payload_header":"x"}}"#,
             "invalid policy: unknown permission `contacts:destroy` in role `t` (did you mean `contacts:delete`?)"),
            (r#"{"upstream":{"role_header":"X Role"},"token":{"trusted_payload_header":"x"}}"#, "`upstream.role_header` `X Role` must be a lower-case header name"),
            (r#"{"upstream":{"role_header":"authorization"}}"#, "`upstream.role_header` `authorization` is a header the request or Intercom already reads"),
            ("{\"token\":{\"header\":\"x-t\u{d6}ken\"}}", "`token.header` `x-t\u{d6}ken` is not a header name (letters, digits and !#$%&'*+-.^_`|~)"),
            (r#"{"token":{"trusted_payload_header":"x jwt"}}"#, "`token.trusted_payload_header` `x jwt` is not a header name"),
            (r#"{"request_id_header":"","token":{"trusted_payload_header":"x"}}"#, "`request_id_header` `` is not a header name"),
            (r#"{"upstream":{"subject_header":"x-http-method-override"}}"#, "`upstream.subject_header` `x-http-method-override` is a header the request"),
            (r#"{"upstream":{"role_header":"x-me","subject_header":"x-me"}}"#, "`upstream.role_header` and `upstream.subject_header` must differ"),
            ("{", "invalid configuration: EOF while parsing an object"),
            (r#"{"token":{"keys":[{"kid":"a","alg":"HS256","secret":"short"}]}}"#, "invalid token settings: key `a` has a 5-byte secret; `HS256` needs at least 32 bytes (RFC 7518 §3.2)"),
            (r#"{"token":{"keys":[{"kid":"a","alg":"HS512","secret":"0123456789abcdef0123456789abcdef0123456789abcdef"}]}}"#, "invalid token settings: key `a` has a 48-byte secret; `HS512` needs at least 64 bytes"),
            (r#"{"token":{"jwks":{"keys":[{"kty":"oct","kid":"o","alg":"HS384","k":"c2hvcnQ"}]}}}"#, "invalid token settings: `token.jwks`: the JWKS has no usable signature key (JWKS key 0 has a 5-byte secret; `HS384` needs at least 48 bytes"),
        ];
        for (json, want) in cases {
            let got = Authorizer::from_json(json)
                .err()
                .map(|e| e.0)
                .unwrap_or_default();
            assert!(got.starts_with(want), "{json}\n got: {got}\nwant: {want}");
            assert!(!got.contains('\n'), "{got}");
        }
    }
}
