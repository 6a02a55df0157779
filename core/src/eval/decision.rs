//! What a decision says: its [`Effect`], its stable [`Code`] (with the HTTP status and the
//! default message), and the deny body every front-end sends byte for byte.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::Serialize;

use crate::body::BodyError;
use crate::conversation::{Access, Kind, Nobody, Viewer};
use crate::path::PathError;
use crate::perm::PermSet;
use crate::policy::Policy;
use crate::version::ApiVersion;

/// Allow, deny, or read the body and ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Let the request through.
    Allow,
    /// Stop it with [`Decision::status`] and [`Decision::deny_body`].
    Deny,
    /// This route's decision depends on the body: read it (whole) and evaluate again.
    NeedBody,
    /// This decision depends on the conversation's current assignment: look it up
    /// ([`Decision::conversation_id`]) and evaluate again with [`Request::lookup`].
    NeedLookup,
}

/// What the front-end must still do with an allowed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing.
    None,
    /// Judge the successful response with [`crate::conversation::judge_response`] (kind
    /// [`Kind::One`] or [`Kind::List`]) before it reaches the client; ask the upstream for an
    /// uncompressed answer.
    Response(Kind),
}

macro_rules! codes {
    ($($variant:ident => ($name:literal, $status:literal, $doc:literal),)*) => {
        /// A stable, machine-readable decision code. The set only grows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $(#[doc = $doc] $variant,)* }
        impl Code {
            /// Every code.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            /// The code as it appears in deny bodies, stats and logs.
            pub fn as_str(self) -> &'static str { match self { $(Code::$variant => $name,)* } }
            /// The HTTP status that goes with it.
            pub fn status(self) -> u16 { match self { $(Code::$variant => $status,)* } }
            /// The code named `s`.
            pub fn parse(s: &str) -> Option<Code> { match s { $($name => Some(Code::$variant),)* _ => None } }
        }
    };
}

codes! {
    Allowed => ("allowed", 200, "allowed"),
    NeedBody => ("need_body", 100, "the body must be read before deciding"),
    MissingPermission => ("missing_permission", 403, "the role lacks a permission the request needs"),
    MissingScope => ("missing_scope", 403, "the route's OAuth scope is not granted (workspace_scopes, or the caller's token)"),
    UnknownRoute => ("unknown_route", 403, "no route in the catalog matches; denied"),
    MissingRole => ("missing_role", 403, "the token names no role"),
    UnknownRole => ("unknown_role", 403, "the token names a role the policy does not define"),
    MfaRequired => ("mfa_required", 403, "the request needs multi-factor authentication"),
    SessionTooOld => ("session_too_old", 401, "the session started too long ago, or has no `iat`"),
    IpNotAllowed => ("ip_not_allowed", 403, "the source address is not allowed"),
    WrongWorkspace => ("wrong_workspace", 403, "the token is for another workspace"),
    SelfActionForbidden => ("self_action_forbidden", 403, "nobody may do this to themselves"),
    NonCanonicalPath => ("non_canonical_path", 400, "the path is ambiguous or not canonical"),
    BodyRequired => ("body_required", 400, "the route's decision needs a body and there is none"),
    InvalidBody => ("invalid_body", 400, "the body cannot be judged"),
    BodyTooLarge => ("body_too_large", 413, "the body is larger than the configured limit"),
    MissingToken => ("missing_token", 401, "no bearer token"),
    MalformedToken => ("malformed_token", 401, "the token is not a well-formed JWT"),
    InvalidSignature => ("invalid_signature", 401, "the signature does not verify"),
    TokenExpired => ("token_expired", 401, "the token has expired"),
    TokenNotYetValid => ("token_not_yet_valid", 401, "the token is not valid yet (`nbf`)"),
    WrongIssuer => ("wrong_issuer", 401, "the token's issuer is not accepted"),
    WrongAudience => ("wrong_audience", 401, "the token's audience is not accepted"),
    UnknownKey => ("unknown_key", 401, "no configured key matches the token's `kid`"),
    DisallowedAlgorithm => ("disallowed_algorithm", 401, "the token's algorithm is not the key's"),
    TokenTooLarge => ("token_too_large", 401, "the token is larger than the configured limit"),
    InvalidClaim => ("invalid_claim", 401, "a claim is missing or has the wrong type"),
    KeysUnavailable => ("keys_unavailable", 401, "no verification keys are available yet"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "a form body (any route; a POST body without a Content-Type is one to Rack), or a body-dependent route's body that is not JSON"),
    UnknownVersion => ("unknown_version", 400, "the `Intercom-Version` names a version the catalog does not know"),
    BodyTimeout => ("body_timeout", 408, "a body-dependent request's body did not arrive within `body_timeout_ms` (filter)"),
    NeedLookup => ("need_lookup", 100, "the conversation's assignment must be looked up before deciding"),
    ConversationNotAccessible => ("conversation_not_accessible", 403, "the role's conversation access does not reach this conversation (by its assignment)"),
    ConversationLookupFailed => ("conversation_lookup_failed", 503, "the conversation's assignment could not be looked up (failed, timed out, malformed): denied"),
    ConversationRouteRestricted => ("conversation_route_restricted", 403, "the route reaches conversations without an assignment to judge; a role with restricted conversation access may not use it"),
    ReportingExportRestricted => ("reporting_export_restricted", 403, "a reporting data export holds every conversation's assignee, state and channel; a role with restricted conversation access may export only with `reporting_exports: allow`"),
    SearchTooComplex => ("search_too_complex", 400, "a restricted role's conversation search, with its assignment condition added, would exceed Intercom's query limits (2 levels of nesting, 15 filters per group)"),
    ResponseNotJudgeable => ("response_not_judgeable", 502, "the upstream's answer could not be judged for conversation access (not JSON, compressed, too large): not passed on"),
    AmbiguousRequest => ("ambiguous_request", 400, "Intercom's Rails upstream could read it otherwise: `_method`, a format suffix naming another route, a body where only the query is judged"),
    ActingAsAnother => ("acting_as_another", 403, "a field of the request (`admin_id`, `from`, `author_id`, …) names another teammate as the one who acts; only a role with `admins:act_as` may"),
    UnknownTeammate => ("unknown_teammate", 403, "with `identity.source: directory`: the token's email is not a teammate in Intercom's directory (or several share it)"),
    DirectoryUnavailable => ("directory_unavailable", 503, "with `identity.source: directory`: Intercom's teammate directory has not been loaded yet"),
    BodyHoldMisconfigured => ("body_hold_misconfigured", 500, "with `body_hold: buffer_filter`, the router had a body-dependent request's headers before its body was judged (the buffer filter is missing or before this filter): refused, and so is every later body-dependent request (filter)"),
}

/// A decision, borrowing from the policy and the request. Cheap to build on the allow path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// Allow, deny, or need the body.
    pub effect: Effect,
    /// Why.
    pub code: Code,
    /// The permission or scope the request lacked (or, when allowed, the main permission used).
    pub required: Option<&'a str>,
    /// The role judged.
    pub role: Option<&'a str>,
    /// The matched route, as `METHOD /template`.
    pub route: Option<&'a str>,
    /// The canonical path (what the front-end must forward), when the path was valid.
    pub canonical_path: Option<Cow<'a, str>>,
    /// The query string, verbatim.
    pub query: &'a str,
    /// Whether the canonical path differs from the one sent.
    pub path_changed: bool,
    /// Where the last path parameter (the resource id) is in `canonical_path`.
    pub(crate) resource_range: Option<(usize, usize)>,
    /// Every permission the request needed.
    pub permissions: PermSet,
    /// Those the role lacks and the token's own permissions granted (`token_grants`).
    pub from_token: PermSet,
    /// Extra detail for the message.
    pub detail: Detail<'a>,
    /// What the front-end must do with the response of an allowed request.
    pub guard: Guard,
    /// The role's conversation access (for judging the response).
    pub access: Access,
    /// Where the conversation id is in `canonical_path` (routes on one conversation).
    pub(crate) conversation_range: Option<(usize, usize)>,
    /// Whether a lookup decided (or must decide) this request.
    pub looked_up: bool,
    /// With several roles (`token.claims.roles: "all"`): every role judged, in order.
    pub considered: Vec<&'a str>,
    /// The API version the request names, when the catalog knows it (how its answers say
    /// nobody: [`crate::conversation::Nobody`]).
    pub api_version: Option<ApiVersion>,
    /// The body to send on instead of the caller's (a restricted role's search, with the
    /// assignment condition added).
    pub forward_body: Option<Vec<u8>>,
}

/// Detail behind a code, for messages and reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail<'a> {
    /// Nothing more to say.
    None,
    /// The path problem.
    Path(PathError),
    /// The body problem.
    Body(BodyError),
    /// The role name the token gave (unknown to the policy).
    Role(&'a str),
    /// The method was not one the API uses, or the path exists with other methods.
    Method(&'a str),
    /// A free-form note (token layer).
    Note(String),
    /// What another parser could read differently.
    Ambiguous(&'static str),
    /// The API version the route was looked up in.
    Version(ApiVersion),
}

impl<'a> Decision<'a> {
    pub(crate) fn new(effect: Effect, code: Code) -> Self {
        Decision {
            effect,
            code,
            required: None,
            role: None,
            route: None,
            canonical_path: None,
            query: "",
            path_changed: false,
            resource_range: None,
            permissions: PermSet::new(),
            from_token: PermSet::new(),
            detail: Detail::None,
            guard: Guard::None,
            access: Access::All,
            conversation_range: None,
            looked_up: false,
            considered: Vec::new(),
            api_version: None,
            forward_body: None,
        }
    }

    /// Who is asking, as conversation access judges them: the role's level, the caller's
    /// admin id and teams, and how the requested version says nobody.
    pub fn viewer(&self, who: &super::Principal) -> Viewer {
        Viewer {
            access: self.access,
            admin: who.subject.clone(),
            teams: who.teams.clone(),
            nobody: Nobody::of(self.api_version),
        }
    }

    /// A deny with `code` and nothing else (front-ends use it for token and body-size errors).
    pub fn deny(code: Code) -> Self {
        Decision::new(Effect::Deny, code)
    }

    /// The last path parameter (the resource id, for audit).
    pub fn resource_id(&self) -> Option<&str> {
        let (a, b) = self.resource_range?;
        self.canonical_path.as_deref()?.get(a..b)
    }

    /// The conversation a request on one conversation names (its first path parameter).
    pub fn conversation_id(&self) -> Option<&str> {
        let (a, b) = self.conversation_range?;
        self.canonical_path.as_deref()?.get(a..b)
    }

    /// Whether the request may go through.
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }

    /// The HTTP status: 200 when allowed.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `error` field of the deny body.
    pub fn error_title(&self) -> &'static str {
        error_title(self.status())
    }

    /// One sentence for people.
    pub fn message(&self) -> String {
        let m = self.sentence();
        if self.considered.len() < 2 || self.is_allowed() {
            return m;
        }
        format!("{m} (roles considered: {})", self.considered.join(", "))
    }

    fn sentence(&self) -> String {
        let req = self.required.unwrap_or("?");
        match (self.code, &self.detail) {
            (Code::Allowed, _) => format!("Allowed: {req}"),
            (Code::MissingPermission, _) => format!("Missing permission: {req}"),
            (Code::MissingScope, _) => format!("Missing OAuth scope: {req}"),
            (Code::MfaRequired, _) => format!("Multi-factor authentication is required for {req}"),
            (Code::UnknownRoute, Detail::Method(m)) => {
                format!("No route allows {m} on this path; unknown routes are denied")
            }
            (Code::UnknownRoute, Detail::Version(v)) => {
                format!(
                    "No route matches this request in API version {v}; unknown routes are denied"
                )
            }
            (Code::UnknownVersion, _) => String::from(
                "Unknown Intercom-Version: the policy knows only the catalog's versions",
            ),
            (Code::UnknownRoute, _) => {
                String::from("No route matches this request; unknown routes are denied")
            }
            (Code::UnknownRole, Detail::Role(r)) => format!("Unknown role: {r}"),
            (Code::NonCanonicalPath, Detail::Path(e)) => {
                format!("Non-canonical path: {}", e.message())
            }
            (Code::AmbiguousRequest, Detail::Ambiguous(why)) => format!("Ambiguous request: {why}"),
            (Code::UnsupportedMediaType, Detail::Ambiguous(why)) => {
                format!("Unsupported media type: {why}")
            }
            (Code::NonCanonicalPath, _) => {
                String::from("Non-canonical path: send the canonical form")
            }
            (Code::BodyRequired, _) => String::from("This route's decision needs a JSON body"),
            (Code::InvalidBody, Detail::Body(e)) => format!("Invalid body: {e}"),
            (_, Detail::Note(n)) => n.clone(),
            (code, _) => {
                let mut s = String::from(describe(code));
                if let Some(first) = s.get(..1) {
                    let up = first.to_ascii_uppercase();
                    s.replace_range(..1, &up);
                }
                s
            }
        }
    }

    /// The reasons, in the order the checks ran. `grants_claim` is the claim the token's own
    /// permissions come from (`token.claims.permissions`), named when they granted one.
    pub fn reasons(&self, policy: &Policy, grants_claim: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.canonical_path {
            if self.path_changed {
                out.push(format!("canonical path `{p}`"));
            }
        }
        if let Some(r) = self.route {
            out.push(format!("matched route `{r}`"));
        }
        if let Some(r) = self.role {
            out.push(format!("role `{r}`"));
        }
        if !self.permissions.is_empty() {
            let names: Vec<&str> = policy.names(&self.permissions).collect();
            out.push(format!("requires {}", names.join(", ")));
        }
        for p in policy.names(&self.from_token) {
            out.push(format!(
                "`{p}` granted by the token's `{grants_claim}` claim"
            ));
        }
        out.push(self.message());
        out
    }

    /// The JSON deny body (seed 000's shape, extended):
    /// `{"error","message","required","currentRole","code","route","requestId"}`.
    pub fn deny_body(&self, request_id: Option<&str>) -> String {
        DenyBody {
            error: error_title(self.status()),
            message: &self.message(),
            required: self.required,
            current_role: self.role,
            code: self.code.as_str(),
            route: self.route,
            request_id,
        }
        .to_json()
    }

    /// What to forward upstream as `:path` (canonical path plus the query), when it changed.
    pub fn forward_path(&self) -> Option<String> {
        let p = self.canonical_path.as_ref()?;
        if !self.path_changed {
            return None;
        }
        Some(if self.query.is_empty() {
            String::from(&**p)
        } else {
            format!("{p}?{}", self.query)
        })
    }
}

/// The `error` field of a deny body for `status`.
pub fn error_title(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        400 => "Bad Request",
        413 => "Payload Too Large",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        200 => "OK",
        _ => "Forbidden",
    }
}

/// The JSON body of a denial: seed 000's shape (`error`, `message`, `required`,
/// `currentRole`), extended with `code`, `route` and `requestId`. Every front-end sends this.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyBody<'b> {
    /// `Forbidden`, `Unauthorized`, `Bad Request` or `Payload Too Large`.
    pub error: &'b str,
    /// One sentence.
    pub message: &'b str,
    /// The permission or scope lacked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<&'b str>,
    /// The role judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_role: Option<&'b str>,
    /// The stable code.
    pub code: &'b str,
    /// The matched route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<&'b str>,
    /// The request id, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'b str>,
}

impl DenyBody<'_> {
    /// The body as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from(r#"{"error":"Forbidden","code":"internal"}"#))
    }
}

fn describe(code: Code) -> &'static str {
    // One place for the default messages: the doc strings of `Code`.
    match code {
        Code::MissingRole => "the token names no role",
        Code::NeedLookup => "the decision needs the conversation's current assignment: look it up",
        Code::ConversationNotAccessible => "this conversation is not assigned to you, your teams or (where the role allows) nobody: the role's conversation access does not reach it",
        Code::ConversationRouteRestricted => "this route reaches conversations without an assignment to judge; a role with restricted conversation access may not use it",
        Code::ReportingExportRestricted => "reporting exports hold every conversation's assignee, state and channel; this role's conversation access is restricted and its `reporting_exports` is not `allow`",
        Code::SessionTooOld => "the session started too long ago; sign in again",
        Code::IpNotAllowed => "requests from this address are not allowed",
        Code::WrongWorkspace => "the token is for another workspace",
        Code::SelfActionForbidden => "nobody may do this to their own account",
        Code::BodyTooLarge => "the body is larger than the configured limit",
        Code::BodyTimeout => "the body did not arrive in time",
        Code::MissingToken => "a bearer token is required",
        Code::MalformedToken => "the token is not a well-formed JWT",
        Code::InvalidSignature => "the token's signature does not verify",
        Code::TokenExpired => "the token has expired",
        Code::TokenNotYetValid => "the token is not valid yet",
        Code::WrongIssuer => "the token's issuer is not accepted",
        Code::WrongAudience => "the token's audience is not accepted",
        Code::UnknownKey => "no configured key matches the token",
        Code::DisallowedAlgorithm => "the token's algorithm is not allowed for its key",
        Code::TokenTooLarge => "the token is too large",
        Code::InvalidClaim => "a token claim is missing or has the wrong type",
        Code::KeysUnavailable => "verification keys are not available yet",
        _ => "the request is denied",
    }
}
