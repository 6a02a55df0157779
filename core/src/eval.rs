//! Evaluation: a pure function of (compiled policy, principal, request, now) to a [`Decision`].
//!
//! The checks run in this order; the first that fails decides:
//!
//! 1. the method is one Intercom's API uses, the path is canonical (or `paths: "normalize"`)
//!    → `unknown_route` / `non_canonical_path`
//! 2. a route matches → `unknown_route`
//! 3. the token's workspace is the policy's → `wrong_workspace`
//! 4. the role exists (or `default_role`) → `missing_role` / `unknown_role`
//! 5. the source address is allowed (policy, then role) → `ip_not_allowed`
//! 6. the session is young enough (`iat`) → `session_too_old`
//! 7. self rules: `not_self` → `self_action_forbidden`; `self_permission` swaps the requirement
//! 8. the query rule and the body rule (the body may be needed: [`Effect::NeedBody`]) →
//!    `body_required` / `invalid_body`
//! 9. the role (plus the token's own permissions) has every required permission →
//!    `missing_permission`; then attribution ([`crate::acting`]): every field that names the
//!    acting teammate names the caller, unless the role has `admins:act_as` →
//!    `acting_as_another`
//! 10. MFA (`amr`, or `acr`) where the role or a required permission asks for it → `mfa_required`
//! 11. the route's scope (per `scopes` mode) is granted: to the workspace's Intercom token
//!     (`workspace_scopes`, when declared) or to the caller's token (`scope_source: token`)
//!     → `missing_scope`
//! 12. conversation access ([`crate::conversation`]), for a role whose access depends on
//!     assignment: a route that reaches conversations unjudged → `conversation_route_restricted`;
//!     a read is allowed with [`Guard::Response`] (the front-end judges the answer); a request on
//!     one conversation needs its assignment ([`Effect::NeedLookup`], then
//!     `conversation_not_accessible` / `conversation_lookup_failed`). The reassign rule
//!     (`reassign: own_unassigned_or_team`) lets step 9's missing `conversations:assign` be
//!     decided here, from the assignee.
//!
//! Steps 5–12 are the role's: a caller holding several roles (`token.claims.roles: "all"`) has
//! them run once per role ([`Principal::roles`]), and the first role under which the request
//! goes on decides. The types a decision is made of are in `eval/request.rs`, what it says
//! (codes, messages, the deny body) in `eval/decision.rs`.
//!
//! Evaluation never panics and has no error path that could read as "allow": every failure is a
//! [`Decision`] with [`Effect::Deny`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::acting;
use crate::body::BodyRule;
use crate::body::{self, BodyError};
use crate::conversation::search::SearchError;
use crate::conversation::{Access, Kind, Lookup, Reassign, ReportingExports};
use crate::path;
use crate::perm::PermSet;
use crate::policy::{PathMode, Policy, Role, Route, ScopeMode, ScopeSource, UnknownVersions};
use crate::rack;
use crate::router::Method;
use crate::version::ApiVersion;

mod decision;
mod request;

pub use decision::*;
pub use request::*;

/// Judges `req` made by `who` at `now` (seconds since the epoch). See the module docs.
pub fn evaluate<'a>(
    policy: &'a Policy,
    who: &'a Principal,
    req: &Request<'a>,
    now: u64,
) -> Decision<'a> {
    let mut d = Decision::new(Effect::Deny, Code::UnknownRoute);
    // `Err(Stop)` only says that a step made the decision: `d` holds it either way.
    let _: Step<()> = decide(policy, who, req, now, &mut d);
    d
}

/// A step has made the decision (a denial, or a request for the body or a lookup): `d` holds it.
struct Stop;

/// What a step returns: what the later steps need, or [`Stop`].
type Step<T> = Result<T, Stop>;

/// Makes `d` a denial with `code`.
fn stop<T>(d: &mut Decision<'_>, code: Code) -> Step<T> {
    d.code = code;
    Err(Stop)
}

/// The steps of a decision, in order; the first that decides ends it.
fn decide<'a>(
    policy: &'a Policy,
    who: &'a Principal,
    req: &Request<'a>,
    now: u64,
    d: &mut Decision<'a>,
) -> Step<()> {
    let method = method(req, d)?;
    let canon = canonical_path(policy, req, d)?;
    rack_reading(req, canon.query, d)?;
    let version = api_version(policy, req, d)?;
    let (route, resource_is_self) = route(policy, who, (req.method, method), &canon, version, d)?;
    workspace(policy, who, d)?;
    let role = role(policy, who, d)?;
    let on = Judged {
        route,
        resource_is_self,
        query: canon.query,
    };
    if who.roles.len() < 2 {
        return as_role(policy, who, req, now, &on, role, d);
    }
    union_of_roles(policy, who, req, now, &on, d)
}

/// What the steps after the route need to know of it.
struct Judged<'a, 'q> {
    route: &'a Route,
    resource_is_self: bool,
    query: &'q str,
}

/// Steps 5–12, for one role: its conditions, then what the request needs against what it grants.
fn as_role<'a>(
    policy: &'a Policy,
    who: &'a Principal,
    req: &Request<'a>,
    now: u64,
    on: &Judged<'a, '_>,
    role: &'a Role,
    d: &mut Decision<'a>,
) -> Step<()> {
    d.role = Some(&role.name);
    role_conditions(policy, who, req, now, role, d)?;
    let mut required = self_rules(on.route, on.resource_is_self, d)?;
    let scope = query_and_body(policy, on.route, req, on.query, &mut required, d)?;
    let (granted, reassign_check) = permissions(policy, who, role, on.route, required, d)?;
    attribution(policy, who, on.route, req, on.query, granted, d)?;
    mfa(policy, who, role, required, d)?;
    oauth_scope(policy, who, scope, d)?;
    d.access = role.conversation_access;
    let kind = conversation_kind(on, req, role);
    if let Err(code) = conversation_access(policy, who, req, kind, reassign_check, d) {
        return stop(d, code);
    }
    if d.effect == Effect::NeedLookup {
        return Err(Stop);
    }
    d.effect = Effect::Allow;
    d.code = Code::Allowed;
    Ok(())
}

/// Several roles (`token.claims.roles: "all"`): the union of their grants, each keeping its own
/// conditions. The first role (in `role_order`) under which the request goes on decides: an
/// allow, or a request for the body or a lookup; when every role denies, the first role's
/// denial stands, naming the roles considered.
fn union_of_roles<'a>(
    policy: &'a Policy,
    who: &'a Principal,
    req: &Request<'a>,
    now: u64,
    on: &Judged<'a, '_>,
    d: &mut Decision<'a>,
) -> Step<()> {
    let start = d.clone();
    let mut first: Option<Decision<'a>> = None;
    let mut considered = Vec::new();
    for role in who.roles.iter().filter_map(|n| policy.role(n)) {
        considered.push(role.name.as_str());
        let mut this = start.clone();
        let allowed = as_role(policy, who, req, now, on, role, &mut this).is_ok();
        if allowed || matches!(this.effect, Effect::NeedBody | Effect::NeedLookup) {
            *d = this;
            d.considered = considered;
            return if allowed { Ok(()) } else { Err(Stop) };
        }
        first.get_or_insert(this);
    }
    if let Some(f) = first {
        *d = f;
    }
    d.considered = considered;
    Err(Stop)
}

/// Step 1a: the method, an HTTP token naming one of the API's methods.
fn method<'a>(req: &Request<'a>, d: &mut Decision<'a>) -> Step<Method> {
    if !req.method.bytes().all(path::is_tchar) {
        d.detail = Detail::Path(path::PathError::MethodNotToken);
        return stop(d, Code::NonCanonicalPath);
    }
    let Some(method) = Method::parse(req.method) else {
        d.detail = Detail::Method(req.method);
        return stop(d, Code::UnknownRoute);
    };
    Ok(method)
}

/// Step 1b: the canonical path (see [`crate::path`]); a path that was not canonical is refused
/// under `paths: reject`.
fn canonical_path<'a>(
    policy: &Policy,
    req: &Request<'a>,
    d: &mut Decision<'a>,
) -> Step<path::Canonical<'a>> {
    let canon = match path::canonicalize(req.path) {
        Ok(c) => c,
        Err(e) => {
            d.detail = Detail::Path(e);
            return stop(d, Code::NonCanonicalPath);
        }
    };
    d.query = canon.query;
    d.path_changed = canon.changed;
    if canon.changed && policy.paths == PathMode::Reject {
        d.canonical_path = Some(canon.path);
        return stop(d, Code::NonCanonicalPath);
    }
    Ok(canon)
}

/// Step 1c: nothing Rack would read differently from what is judged.
fn rack_reading(req: &Request<'_>, query: &str, d: &mut Decision<'_>) -> Step<()> {
    match rack_request(req, query) {
        Some((code, why)) => {
            d.detail = Detail::Ambiguous(why);
            stop(d, code)
        }
        None => untyped_post_body(req, d),
    }
}

/// Step 1c': a POST body without a `Content-Type` is form data to Rack (its `_method` read):
/// refused; whether there is one may need the body.
fn untyped_post_body(req: &Request<'_>, d: &mut Decision<'_>) -> Step<()> {
    if !rack::untyped_post(req.method, req.content_type) {
        return Ok(());
    }
    if body_bytes(req, d).or_else(|code| stop(d, code))?.is_some() {
        d.detail = Detail::Ambiguous(
            "a POST body without a Content-Type is parsed as a form by Rack (and its `_method` read); send `Content-Type: application/json`",
        );
        return stop(d, Code::UnsupportedMediaType);
    }
    Ok(())
}

/// Step 1d: the API version the routes are looked up in.
fn api_version(
    policy: &Policy,
    req: &Request<'_>,
    d: &mut Decision<'_>,
) -> Step<Option<ApiVersion>> {
    let v = requested_version(policy, req.version).or_else(|code| stop(d, code))?;
    d.api_version = v;
    Ok(v)
}

/// Step 2: the route, in the requested version, whose parameters accept the path's values and
/// which no Rails format suffix turns into another; and whether its first parameter is the
/// caller's own id.
fn route<'a>(
    policy: &'a Policy,
    who: &Principal,
    (written, method): (&'a str, Method),
    canon: &path::Canonical<'a>,
    version: Option<ApiVersion>,
    d: &mut Decision<'a>,
) -> Step<(&'a Route, bool)> {
    let path: &str = &canon.path;
    let Some(m) = policy.router.find(method, path) else {
        if policy.router.any_method(path) {
            d.detail = Detail::Method(written);
        }
        d.canonical_path = Some(canon.path.clone());
        return Err(Stop);
    };
    let Some(route) = policy.routes.get(m.value as usize) else {
        return Err(Stop);
    };
    if let (Some(v), Some(range)) = (version, route.version_range) {
        if !range.contains(v) {
            d.detail = Detail::Version(v);
            d.canonical_path = Some(canon.path.clone());
            return Err(Stop);
        }
    }
    d.route = Some(&route.display);
    if rack::format_stem(path)
        .and_then(|stem| policy.router.find(method, stem))
        .is_some_and(|other| other.value != m.value)
    {
        d.detail = Detail::Ambiguous(
            "Rails reads the last segment's `.suffix` as a format, which names another route",
        );
        return stop(d, Code::AmbiguousRequest);
    }
    let params = m.params();
    if params
        .iter()
        .zip(&route.params)
        .any(|(value, kind)| !kind.accepts(value))
    {
        // A word where an id goes: a literal route this catalog does not know (yet).
        d.route = None;
        d.canonical_path = Some(canon.path.clone());
        return Err(Stop);
    }
    let resource_is_self = params
        .first()
        .is_some_and(|p| Some(*p) == who.subject.as_deref());
    // Parameters are slices of the canonical path: remember the last one as a range.
    let range = |p: &&str| {
        let start = (p.as_ptr() as usize).saturating_sub(path.as_ptr() as usize);
        (start, start + p.len())
    };
    d.resource_range = params.last().map(range);
    if route.conversation == Kind::ById {
        d.conversation_range = params.first().map(range);
    }
    d.canonical_path = Some(canon.path.clone());
    Ok((route, resource_is_self))
}

/// Step 3: the caller's workspace.
fn workspace(policy: &Policy, who: &Principal, d: &mut Decision<'_>) -> Step<()> {
    match &policy.workspace {
        Some(ws) if who.workspace.as_deref() != Some(ws.as_str()) => stop(d, Code::WrongWorkspace),
        _ => Ok(()),
    }
}

/// Step 4: the caller's role (the token's, or the policy's `default_role`).
fn role<'a>(policy: &'a Policy, who: &'a Principal, d: &mut Decision<'a>) -> Step<&'a Role> {
    let Some(role_name) = who.role.as_deref().or(policy.default_role.as_deref()) else {
        return stop(d, Code::MissingRole);
    };
    let Some(role) = policy.role(role_name) else {
        d.detail = Detail::Role(role_name);
        return stop(d, Code::UnknownRole);
    };
    d.role = Some(&role.name);
    Ok(role)
}

/// Steps 5–6: the role's source addresses (and the policy's) and its session age.
fn role_conditions(
    policy: &Policy,
    who: &Principal,
    req: &Request<'_>,
    now: u64,
    role: &Role,
    d: &mut Decision<'_>,
) -> Step<()> {
    for list in [&policy.ip_allowlist, &role.ip_allowlist] {
        if !list.is_empty()
            && !req
                .source_ip
                .is_some_and(|ip| list.iter().any(|c| c.contains(ip)))
        {
            return stop(d, Code::IpNotAllowed);
        }
    }
    if let Some(max) = role.max_session_age {
        let fresh = who
            .issued_at
            .is_some_and(|iat| now.saturating_sub(iat) <= max);
        if !fresh {
            return stop(d, Code::SessionTooOld);
        }
    }
    Ok(())
}

/// Step 7: a route on the caller's own id needs its self permission, or is refused.
fn self_rules(route: &Route, resource_is_self: bool, d: &mut Decision<'_>) -> Step<PermSet> {
    let mut required = route.required;
    if resource_is_self {
        if route.not_self {
            return stop(d, Code::SelfActionForbidden);
        }
        if let Some(p) = route.self_permission {
            required = PermSet::new();
            required.insert(p);
        }
    }
    Ok(required)
}

/// Step 8: what the query and the body make the route require; the OAuth scope it needs.
fn query_and_body<'a>(
    policy: &'a Policy,
    route: &'a Route,
    req: &Request<'_>,
    query: &str,
    required: &mut PermSet,
    d: &mut Decision<'a>,
) -> Step<Option<(&'a str, bool)>> {
    let mut scope: Option<(&'a str, bool)> =
        route.scope.as_deref().map(|s| (s, route.scope_documented));
    if let Some(q) = route.query {
        if let Some((perm, sc)) = q.extra(query) {
            if let Some(id) = policy.permission_id(perm) {
                required.insert(id);
            }
            scope = Some((sc, true));
        }
        if route.body.is_none() {
            no_body_beside_query(req, d)?;
        }
    }
    if let Some(rule) = route.body {
        *required = body_permissions(policy, rule, req, query, d)?;
    }
    d.permissions = *required;
    Ok(scope)
}

/// Step 8a: Rails merges a JSON body into the params a query rule reads: only the query is
/// judged, so a body is refused.
fn no_body_beside_query(req: &Request<'_>, d: &mut Decision<'_>) -> Step<()> {
    match req.body {
        Body::NotRead => {
            d.effect = Effect::NeedBody;
            stop(d, Code::NeedBody)
        }
        Body::Bytes(b) if !b.iter().all(u8::is_ascii_whitespace) => {
            d.detail = Detail::Ambiguous(
                "this route is judged by its query; Rails would also read its body",
            );
            stop(d, Code::AmbiguousRequest)
        }
        _ => Ok(()),
    }
}

/// The body a step reads: its bytes, `None` when absent or blank, or `Err(NeedBody)` (and the
/// effect that asks for it) when it has not been read yet.
fn body_bytes<'b>(req: &Request<'b>, d: &mut Decision<'_>) -> Result<Option<&'b [u8]>, Code> {
    match req.body {
        Body::NotRead => {
            d.effect = Effect::NeedBody;
            Err(Code::NeedBody)
        }
        Body::Absent => Ok(None),
        Body::Bytes(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Body::Bytes(b) => Ok(Some(b)),
    }
}

/// Step 8b: the permissions a body rule reads off the JSON body (never off the query).
fn body_permissions(
    policy: &Policy,
    rule: BodyRule,
    req: &Request<'_>,
    query: &str,
    d: &mut Decision<'_>,
) -> Step<PermSet> {
    if let Some(field) = rule
        .fields()
        .iter()
        .find(|f| rack::values(query, f).next().is_some())
    {
        d.detail = Detail::Body(BodyError::InQuery(field));
        return stop(d, Code::InvalidBody);
    }
    let bytes = match body_bytes(req, d) {
        Err(code) => return stop(d, code),
        Ok(None) => return stop(d, Code::BodyRequired),
        Ok(Some(b)) => b,
    };
    if !req.content_type.is_some_and(rack::is_json) {
        d.detail = Detail::Ambiguous(
            "this route's decision reads a JSON body: send `Content-Type: application/json`",
        );
        return stop(d, Code::UnsupportedMediaType);
    }
    let names = match body::parse_strict(bytes).and_then(|v| rule.required(&v)) {
        Ok(n) => n,
        Err(e) => {
            d.detail = Detail::Body(e);
            return stop(d, Code::InvalidBody);
        }
    };
    let mut required = PermSet::new();
    for n in names {
        match policy.permission_id(n) {
            Some(id) => required.insert(id),
            // A custom policy could not remove a built-in permission, so this cannot happen;
            // deny rather than assume.
            None => return stop(d, Code::InvalidBody),
        }
    }
    Ok(required)
}

/// Step 9: the role (and, with `token_grants`, the token) grants every required permission;
/// what it grants, and whether the reassign rule must look the conversation up instead (seed
/// 004: without "Can reassign", still from one's own, the unassigned or a team inbox).
fn permissions<'a>(
    policy: &'a Policy,
    who: &Principal,
    role: &Role,
    route: &Route,
    required: PermSet,
    d: &mut Decision<'a>,
) -> Step<(PermSet, bool)> {
    let mut by_token = PermSet::new();
    if policy.token_grants {
        for p in &who.permissions {
            if let Some(id) = policy.permission_id(p) {
                by_token.insert(id);
            }
        }
    }
    let granted = role.permissions.union(&by_token);
    // What the role lacks: the token's own grants cover some (named in the reasons), the rest
    // is missing.
    let lacked = required.difference(&role.permissions);
    let mut missing = lacked.difference(&by_token);
    d.from_token = lacked.difference(&missing);
    let reassign_check = role.reassign == Reassign::OwnUnassignedOrTeam
        && route.conversation == Kind::ById
        && policy
            .assign_permission
            .is_some_and(|id| missing.contains(id));
    if reassign_check {
        if let Some(id) = policy.assign_permission {
            missing.remove(id);
        }
    }
    if let Some(id) = missing.first() {
        d.required = Some(policy.permission_name(id));
        return stop(d, Code::MissingPermission);
    }
    d.required = required.first().map(|id| policy.permission_name(id));
    Ok((granted, reassign_check))
}

/// Step 9b: every field that names the acting teammate names the caller ([`crate::acting`]),
/// unless the role may act for others (`admins:act_as`). Rails merges the query into the
/// params it reads, so such a field in the query is refused as well.
fn attribution<'a>(
    policy: &'a Policy,
    who: &Principal,
    route: &Route,
    req: &Request<'_>,
    query: &str,
    granted: PermSet,
    d: &mut Decision<'a>,
) -> Step<()> {
    if route.acting.is_empty() || policy.act_as.is_some_and(|id| granted.contains(id)) {
        return Ok(());
    }
    if route
        .acting
        .iter()
        .any(|f| rack::values(query, f.top()).next().is_some())
    {
        d.detail = Detail::Ambiguous(
            "a field that names the acting teammate is in the query, which Rails reads as well",
        );
        return stop(d, Code::AmbiguousRequest);
    }
    let bytes = match body_bytes(req, d) {
        Err(code) => return stop(d, code),
        Ok(None) => return Ok(()),
        Ok(Some(b)) => b,
    };
    if !req.content_type.is_some_and(rack::is_json) {
        d.detail = Detail::Ambiguous(
            "this route's body says who acts: send it as JSON (`Content-Type: application/json`)",
        );
        return stop(d, Code::UnsupportedMediaType);
    }
    let body = match body::parse_strict(bytes) {
        Ok(v) => v,
        Err(e) => {
            d.detail = Detail::Body(e);
            return stop(d, Code::InvalidBody);
        }
    };
    let caller = who.subject.as_deref();
    if let Some(other) = acting::other_actor(&body, &route.acting, caller) {
        d.required = policy.act_as.map(|id| policy.permission_name(id));
        d.detail = Detail::Note(format!(
            "The request acts as another teammate: `{}` is `{}`, the caller is `{}` (acting for others needs admins:act_as)",
            other.field,
            other.named,
            caller.unwrap_or("unknown")
        ));
        return stop(d, Code::ActingAsAnother);
    }
    Ok(())
}

/// Step 10: multi-factor authentication, where the role or a required permission needs it.
fn mfa(
    policy: &Policy,
    who: &Principal,
    role: &Role,
    required: PermSet,
    d: &mut Decision<'_>,
) -> Step<()> {
    let needs_mfa = role.mfa
        || !required
            .difference(&required.difference(&policy.mfa_permissions))
            .is_empty();
    let by_amr = who
        .amr
        .iter()
        .any(|a| policy.mfa_methods.iter().any(|m| m == a));
    let by_acr = who
        .acr
        .as_ref()
        .is_some_and(|a| policy.mfa_acr_values.iter().any(|v| v == a));
    if needs_mfa && !by_amr && !by_acr {
        return stop(d, Code::MfaRequired);
    }
    Ok(())
}

/// Step 11: the OAuth scope the route needs, where the policy enforces it.
fn oauth_scope<'a>(
    policy: &'a Policy,
    who: &'a Principal,
    scope: Option<(&'a str, bool)>,
    d: &mut Decision<'a>,
) -> Step<()> {
    let Some((sc, documented)) = scope else {
        return Ok(());
    };
    let enforced = match policy.scopes {
        ScopeMode::Off => false,
        ScopeMode::Documented => documented,
        ScopeMode::All => true,
    };
    let granted: Option<&[String]> = match policy.scope_source {
        ScopeSource::Token => Some(&who.scopes),
        ScopeSource::Workspace => policy.workspace_scopes.as_deref(),
    };
    if enforced && granted.is_some_and(|g| !g.iter().any(|s| s == sc)) {
        d.required = Some(sc);
        return stop(d, Code::MissingScope);
    }
    Ok(())
}

/// Step 12a: how this request reaches conversations: the route's kind, unless its query names
/// a conversation (in any Rack spelling) or it is an export the role may make.
fn conversation_kind(on: &Judged<'_, '_>, req: &Request<'_>, role: &Role) -> Kind {
    let params = &on.route.conversation_query;
    // Rails reads a JSON body's fields into the same params, on a GET too: a body on such a
    // route could name the conversation where the query does not.
    let names_one = params
        .iter()
        .any(|p| rack::values(on.query, p).next().is_some())
        || (!params.is_empty() && req.content_type.is_some());
    match on.route.conversation {
        _ if names_one => Kind::Unjudged,
        Kind::Export if role.reporting_exports == ReportingExports::Allow => Kind::Free,
        k => k,
    }
}

/// Step 12: what the role's conversation access makes of this route (see the module docs).
fn conversation_access<'a>(
    policy: &'a Policy,
    who: &Principal,
    req: &Request<'_>,
    kind: Kind,
    reassign_check: bool,
    d: &mut Decision<'a>,
) -> Result<(), Code> {
    let restricted = d.access != Access::All;
    let lookup = reassign_check || restricted && kind == Kind::ById;
    match kind {
        Kind::Unjudged if restricted => return Err(Code::ConversationRouteRestricted),
        Kind::Export if restricted => return Err(Code::ReportingExportRestricted),
        Kind::Search if restricted => {
            let query = d.query;
            return search(who, req, query, d);
        }
        Kind::One | Kind::List if restricted => d.guard = Guard::Response(kind),
        _ => {}
    }
    if !lookup {
        return Ok(());
    }
    if let Some(id) = d
        .conversation_id()
        .filter(|id| !crate::conversation::is_conversation_number(id))
    {
        d.detail = Detail::Note(format!(
            "`{id}` is not a conversation number: the conversation this request acts on cannot be looked up"
        ));
        return Err(Code::ConversationRouteRestricted);
    }
    d.looked_up = true;
    let a = match req.lookup {
        Lookup::NotDone => {
            d.effect = Effect::NeedLookup;
            d.code = Code::NeedLookup;
            return Ok(());
        }
        Lookup::Failed(why) => {
            d.detail = Detail::Note(format!(
                "The conversation's assignment could not be looked up ({why}): denied"
            ));
            return Err(Code::ConversationLookupFailed);
        }
        Lookup::NotFound => return Err(Code::ConversationNotAccessible),
        Lookup::Known(a) => a,
    };
    let viewer = d.viewer(who);
    if !viewer.may_access(a) {
        return Err(Code::ConversationNotAccessible);
    }
    if reassign_check && !viewer.may_reassign(a) {
        d.required = policy
            .assign_permission
            .map(|id| policy.permission_name(id));
        d.detail = Detail::Note(String::from("Missing permission: conversations:assign (this conversation is in another teammate's inbox; without it only the teammate's own, the unassigned and team inboxes)"));
        return Err(Code::MissingPermission);
    }
    Ok(())
}

/// Step 12, search: the caller's query with the teammate's assignment condition added (see
/// [`crate::conversation::search`]); the answer is judged as a list.
fn search(
    who: &Principal,
    req: &Request<'_>,
    query: &str,
    d: &mut Decision<'_>,
) -> Result<(), Code> {
    // Rails merges the query string over the JSON body's params: `?query[…]=` would replace
    // the rewritten query. Only the two flags that add fields to each result may be there.
    let flag = |(k, v): (&str, &str)| {
        matches!(k, "include_monitors" | "include_scorecards") && matches!(v, "true" | "false")
    };
    if !rack::query_pairs(query).all(flag) {
        d.detail = Detail::Ambiguous(
            "a restricted role's search is read from its body only (Rails lets the query string override it); the URL may carry only `include_monitors` and `include_scorecards`",
        );
        return Err(Code::AmbiguousRequest);
    }
    let bytes = body_bytes(req, d)?.ok_or(Code::BodyRequired)?;
    if !req.content_type.is_some_and(rack::is_plain_json) {
        d.detail = Detail::Ambiguous(
            "a restricted role's search is rewritten from its JSON body: send `Content-Type: application/json` (the type Rails parses)",
        );
        return Err(Code::UnsupportedMediaType);
    }
    let body = body::parse_strict(bytes).map_err(|e| {
        d.detail = Detail::Body(e);
        Code::InvalidBody
    })?;
    match crate::conversation::search::rewrite(&d.viewer(who), &body) {
        Ok(rewritten) => {
            d.forward_body = Some(rewritten);
            d.guard = Guard::Response(Kind::List);
            Ok(())
        }
        Err(SearchError::Invalid(why)) => {
            d.detail = Detail::Note(format!("Invalid body: {why}"));
            Err(Code::InvalidBody)
        }
        Err(SearchError::TooComplex(why)) => {
            d.detail = Detail::Note(format!("Search too complex: {why}"));
            Err(Code::SearchTooComplex)
        }
        Err(SearchError::Nothing) => {
            d.detail = Detail::Note(String::from(
                "The role's conversation access reaches no conversation for a teammate without an admin id or teams: nothing to search",
            ));
            Err(Code::ConversationRouteRestricted)
        }
    }
}

/// Step 1d: the API version the routes are looked up in: `None` (every version's routes)
/// without the header or, with `unknown_versions: allow`, for a version the catalog lacks.
fn requested_version(policy: &Policy, header: Option<&str>) -> Result<Option<ApiVersion>, Code> {
    let Some(h) = header else { return Ok(None) };
    match ApiVersion::parse(h.trim()) {
        Some(v) if policy.knows_version(v) => Ok(Some(v)),
        _ if policy.unknown_versions == UnknownVersions::Allow => Ok(None),
        _ => Err(Code::UnknownVersion),
    }
}

/// Step 1c: what Intercom's Rack/Rails upstream would read differently (see [`crate::rack`]).
fn rack_request(req: &Request<'_>, query: &str) -> Option<(Code, &'static str)> {
    if rack::values(query, "_method").next().is_some() {
        return Some((
            Code::AmbiguousRequest,
            "`_method` in the query overrides the method in Rack",
        ));
    }
    if req.content_type.is_some_and(rack::is_form) {
        return Some((
            Code::UnsupportedMediaType,
            "a form body is parsed into params (and `_method`) by Rack; Intercom's API takes JSON",
        ));
    }
    None
}

/// The permissions required by each route, for listings (`matrix`, README tables).
pub fn route_permissions(policy: &Policy) -> Vec<(&str, Vec<&str>)> {
    policy
        .routes
        .iter()
        .map(|r| (r.display.as_str(), policy.names(&r.required).collect()))
        .collect()
}
