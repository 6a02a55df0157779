//! `explain CONFIG METHOD PATH`: judge one request, with every reason. Without `--ip` the
//! source address is unknown: an `ip_allowlist` is reported as not evaluated (the rest of the
//! decision is judged without it), never judged against an address nobody gave.

use std::fmt::Write as _;
use std::net::IpAddr;

use intercom_authz::authorizer::{Config, HttpRequest, Outcome};
use intercom_authz::policy::Policy;
use intercom_authz::{Body, Effect, Principal};
use std::process::ExitCode;

use crate::common::*;

/// Where a role got (or lost) a permission, following `extends`.
fn provenance(policy: &Policy, role: &str, perm: &str) -> String {
    let Some(id) = policy.permission_id(perm) else {
        return format!("`{perm}` is not a permission");
    };
    let mut chain = Vec::new();
    let mut cur = policy.role(role);
    while let Some(r) = cur {
        if r.revoked.contains(id) {
            chain.push(format!("revoked by role `{}`", r.name));
            break;
        }
        if r.granted.contains(id) {
            chain.push(format!("granted by role `{}`", r.name));
            break;
        }
        match &r.extends {
            Some(parent) => {
                chain.push(format!("`{}` extends `{parent}`", r.name));
                cur = policy.role(parent);
            }
            None => {
                let has = r.permissions.contains(id);
                chain.push(format!(
                    "built-in role `{}` {} it",
                    r.name,
                    if has { "has" } else { "does not have" }
                ));
                break;
            }
        }
    }
    chain.join(", ")
}

/// The role's conversation access and what it makes of this route (issue 14).
fn conversation_rule(s: &mut String, policy: &Policy, out: &Outcome) {
    use intercom_authz::conversation::{Access, Kind, Reassign, ReportingExports};
    let Some(role) = out.role.as_deref().and_then(|r| policy.role(r)) else {
        return;
    };
    let kind = policy
        .routes()
        .iter()
        .find(|x| Some(&x.display) == out.route.as_ref())
        .map_or(Kind::Free, |r| r.conversation);
    let kind = if out.code == "conversation_route_restricted" && kind == Kind::Free {
        Kind::Unjudged // a query parameter named a conversation
    } else {
        kind
    };
    if role.conversation_access == Access::All && role.reassign == Reassign::WithPermission {
        return;
    }
    let what = match (kind, role.conversation_access) {
        (_, Access::All) | (Kind::Free | Kind::Created, _) => "not restricted on this route",
        (Kind::One, _) => "judged on the response: a conversation not theirs is 403 conversation_not_accessible",
        (Kind::List, _) => "judged on the response: conversations not theirs are redacted (type, id, times, assignees kept)",
        (Kind::ById, _) => "judged before it goes on, from a lookup of the conversation's assignment (GET /conversations/{id}); a failed lookup is 503",
        (Kind::Unjudged, _) => "refused: the route reaches conversations without an assignment to judge",
        (Kind::Export, _) if role.reporting_exports == ReportingExports::Allow => "allowed by `reporting_exports: allow`: the export holds every conversation's assignee, state and channel",
        (Kind::Export, _) => "refused (reporting_export_restricted): the export holds every conversation's assignee, state and channel; `reporting_exports: allow` lets it through",
        (Kind::Search, _) => "the teammate's assignment condition is added to the query; the answer is judged as a list",
    };
    if !out.forward_body.as_deref().unwrap_or_default().is_empty() {
        let _ = writeln!(
            s,
            "  search sent as  {}",
            out.forward_body.as_deref().unwrap_or_default()
        );
    }
    let _ = writeln!(
        s,
        "  conversations  access `{}`: {what}",
        role.conversation_access.as_str()
    );
    if role.reassign == Reassign::OwnUnassignedOrTeam {
        let _ = writeln!(s, "  reassign       without conversations:assign, only from their own, the unassigned or a team inbox (looked up)");
    }
    if let Some(id) = &out.conversation_id {
        let _ = writeln!(s, "  lookup         GET /conversations/{id}");
    }
}

/// `--ip`, parsed.
fn source_ip(ip: Option<&str>) -> Result<Option<IpAddr>> {
    ip.map(|a| {
        intercom_authz::net::parse_source(a)
            .ok_or_else(|| format!("`--ip {a}` is not an IP address"))
    })
    .transpose()
}

/// `cfg` with every `ip_allowlist` set aside: what is judged when the address is unknown.
fn without_allowlists(cfg: &Config) -> Config {
    let mut cfg = cfg.clone();
    cfg.policy.ip_allowlist.clear();
    for r in cfg.policy.roles.values_mut() {
        r.ip_allowlist.clear();
    }
    cfg
}

/// The allowlists an address would be judged against for `role` (the policy's, then the
/// role's, inherited through `extends`), when there is any.
fn allowlists(cfg: &Config, policy: &Policy, role: &str) -> Option<String> {
    let mut lists = Vec::new();
    if !cfg.policy.ip_allowlist.is_empty() {
        lists.push(format!(
            "the policy's {}",
            cfg.policy.ip_allowlist.join(", ")
        ));
    }
    let own = policy
        .role(role)
        .map(|r| &r.ip_allowlist)
        .filter(|l| !l.is_empty());
    if let Some(list) = own {
        let cidrs: Vec<String> = list.iter().map(ToString::to_string).collect();
        lists.push(format!("role `{role}`'s {}", cidrs.join(", ")));
    }
    (!lists.is_empty()).then(|| lists.join("; "))
}

/// Who is asking: `--role` (a teammate of the guarded workspace, signing in at `at`, without
/// MFA) or `--claims` (mapped as a token's); `None` with `--token` (verified when judged).
fn principal(
    cfg: &Config,
    authz: &intercom_authz::authorizer::Authorizer,
    role: Option<String>,
    claims: Option<&str>,
    has_token: bool,
    at: u64,
) -> Result<Option<Principal>> {
    match (role, claims) {
        (Some(r), _) => Ok(Some(Principal {
            role: Some(r),
            subject: Some("cli".into()),
            workspace: cfg.policy.workspace.clone(),
            issued_at: Some(at),
            ..Default::default()
        })),
        (None, Some(c)) => {
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(c)
                .map_err(|e| format!("`--claims` is not a JSON object: {e}"))?;
            intercom_authz::token::map_claims(authz.tokens().claims(), &map)
                .map(Some)
                .map_err(|e| format!("`--claims`: {}", e.message))
        }
        (None, None) if has_token => Ok(None),
        (None, None) => Err("say who is asking: `--role`, `--claims` or `--token`".into()),
    }
}

/// What was judged, and what was not.
struct Judged<'a> {
    out: Outcome,
    method: &'a str,
    target: &'a str,
    /// Without `--ip`: the allowlists not evaluated.
    unjudged: Option<String>,
    /// The claim the token's own permissions come from.
    grants_claim: &'a str,
}

/// The first line's verdict.
fn verdict(j: &Judged<'_>) -> &'static str {
    match (j.out.allow, j.out.effect, &j.unjudged) {
        (true, _, None) => "ALLOW",
        (true, _, Some(_)) => "ALLOW IF THE SOURCE ADDRESS IS ALLOWED",
        (false, Effect::NeedLookup, _) => "DECIDED BY THE CONVERSATION'S ASSIGNMENT",
        _ => "DENY",
    }
}

/// Each permission the request needs, and where the role (or the token) got it.
fn requirements(s: &mut String, policy: &Policy, j: &Judged<'_>) {
    let out = &j.out;
    if out.permissions.is_empty() {
        return;
    }
    let _ = writeln!(s, "  requires    {}", out.permissions.join(", "));
    let Some(r) = &out.role else {
        return;
    };
    for p in &out.permissions {
        let mut why = provenance(policy, r, p);
        if out.granted_by_token.contains(p) {
            let _ = write!(
                why,
                ", but the token's `{}` claim grants it",
                j.grants_claim
            );
        }
        let _ = writeln!(s, "    {p}: {why}");
    }
}

/// The decision's reasons; without `--ip`, the allowlists not evaluated where they would have
/// been (after the role is known).
fn reasons<'j>(j: &'j Judged<'_>) -> Vec<&'j str> {
    let mut all: Vec<&str> = j.out.reasons.iter().map(String::as_str).collect();
    if j.unjudged.is_some() {
        let at = all
            .iter()
            .position(|r| r.starts_with("role `"))
            .map_or(all.len(), |i| i + 1);
        all.insert(
            at,
            "the source address is not evaluated: `ip_allowlist` needs --ip",
        );
    }
    all
}

/// The explanation, as printed.
fn render(policy: &Policy, j: &Judged<'_>) -> String {
    let out = &j.out;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}: {} ({} {})",
        j.method,
        j.target,
        verdict(j),
        out.status,
        out.code
    );
    if let Some(r) = &out.route {
        let _ = writeln!(s, "  route       {r}");
    }
    if let Some(p) = &out.canonical_path {
        let _ = writeln!(s, "  path        {p}");
    }
    if let Some(r) = &out.role {
        let _ = writeln!(s, "  role        {r}");
    }
    if let Some(lists) = &j.unjudged {
        let _ = writeln!(
            s,
            "  address     not given: `ip_allowlist` not evaluated (needs --ip): {lists}"
        );
    }
    requirements(&mut s, policy, j);
    if let Some(rt) = policy
        .routes()
        .iter()
        .find(|x| Some(&x.display) == out.route.as_ref())
    {
        let scope = match (&rt.scope, rt.scope_documented) {
            (Some(sc), true) => format!("{sc} (documented)"),
            (Some(sc), false) => format!("{sc} (inferred)"),
            (None, _) => "none known".into(),
        };
        let _ = writeln!(s, "  scope       {scope}");
    }
    conversation_rule(&mut s, policy, out);
    let _ = writeln!(s, "  reasons");
    for r in reasons(j) {
        let _ = writeln!(s, "    - {r}");
    }
    if !out.allow && out.effect != Effect::NeedLookup {
        let _ = writeln!(s, "  deny body   {}", out.deny_body(None));
    }
    s
}

#[allow(clippy::too_many_arguments)]
pub fn explain(
    path: &str,
    method: &str,
    target: &str,
    role: Option<String>,
    claims: Option<String>,
    token: Option<String>,
    body: Option<String>,
    ip: Option<String>,
    at: Option<u64>,
) -> Result<ExitCode> {
    let (cfg, policy) = compile(path)?;
    let source_ip = source_ip(ip.as_deref())?;
    let unknown_address = source_ip.is_none() && policy.reads_source_ip();
    let authz = if unknown_address {
        authorizer(path, &without_allowlists(&cfg))?
    } else {
        authorizer(path, &cfg)?
    };
    let at = at.unwrap_or_else(now);
    let mut req = HttpRequest {
        method: method.as_bytes(),
        path: target.as_bytes(),
        credential: None,
        has_token_header: false,
        // `explain --body` sends JSON, as Intercom's clients do.
        content_type: body.is_some().then_some(b"application/json".as_slice()),
        version: None,
        body: Body::NotRead,
        source_ip,
        lookup: intercom_authz::conversation::Lookup::NotDone,
    };
    let bearer = token.map(|t| format!("Bearer {}", t.trim_start_matches("Bearer ")));
    let principal = principal(&cfg, &authz, role, claims.as_deref(), bearer.is_some(), at)?;
    let judge = |req: &HttpRequest<'_>| -> Outcome {
        match &principal {
            Some(p) => authz.authorize_principal(p, req, at),
            None => authz.authorize(
                &HttpRequest {
                    credential: bearer.as_deref().map(str::as_bytes),
                    has_token_header: true,
                    ..*req
                },
                at,
            ),
        }
    };
    let mut out = judge(&req);
    if out.effect == Effect::NeedBody {
        req.body = match &body {
            Some(b) => Body::Bytes(b.as_bytes()),
            None => Body::Absent,
        };
        out = judge(&req);
    }
    let unjudged = match (&out.role, unknown_address) {
        (Some(r), true) => allowlists(&cfg, &policy, r),
        _ => None,
    };
    let judged = Judged {
        out,
        method,
        target,
        unjudged,
        grants_claim: &cfg.token.claims.permissions,
    };
    out!("{}", render(authz.policy(), &judged));
    // Allowed outright only: a decision that waits on what was not given (the conversation's
    // assignment, the source address) is not an allow.
    Ok(if judged.out.allow && judged.unjudged.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
