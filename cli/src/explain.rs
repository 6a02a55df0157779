//! `explain CONFIG METHOD PATH`: judge one request, with every reason.

use std::fmt::Write as _;

use intercom_authz::authorizer::{HttpRequest, Outcome};
use intercom_authz::policy::Policy;
use intercom_authz::{Body, Principal};
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
    let (cfg, _) = compile(path)?;
    let authz = authorizer(path, &cfg)?;
    let at = at.unwrap_or_else(now);
    let source_ip = match &ip {
        Some(a) => Some(
            intercom_authz::net::parse_source(a)
                .ok_or_else(|| format!("`--ip {a}` is not an IP address"))?,
        ),
        None => None,
    };
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
    let principal: Option<Principal> = match (&role, &claims) {
        // A teammate with this role, of the guarded workspace, signing in now, without MFA.
        (Some(r), _) => Some(Principal {
            role: Some(r.clone()),
            subject: Some("cli".into()),
            workspace: cfg.policy.workspace.clone(),
            issued_at: Some(at),
            ..Default::default()
        }),
        (None, Some(c)) => {
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(c)
                .map_err(|e| format!("`--claims` is not a JSON object: {e}"))?;
            Some(
                intercom_authz::token::map_claims(authz.tokens().claims(), &map)
                    .map_err(|e| format!("`--claims`: {}", e.message))?,
            )
        }
        (None, None) if bearer.is_none() => {
            return Err("say who is asking: `--role`, `--claims` or `--token`".into())
        }
        (None, None) => None,
    };
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
    if out.effect == intercom_authz::Effect::NeedBody {
        req.body = match &body {
            Some(b) => Body::Bytes(b.as_bytes()),
            None => Body::Absent,
        };
        out = judge(&req);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {target}: {} ({} {})",
        method,
        match (out.allow, out.effect) {
            (true, _) => "ALLOW",
            (false, intercom_authz::Effect::NeedLookup) =>
                "DECIDED BY THE CONVERSATION'S ASSIGNMENT",
            _ => "DENY",
        },
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
    if !out.permissions.is_empty() {
        let _ = writeln!(s, "  requires    {}", out.permissions.join(", "));
        if let Some(r) = &out.role {
            for p in &out.permissions {
                let _ = writeln!(s, "    {p}: {}", provenance(authz.policy(), r, p));
            }
        }
    }
    if let Some(rt) = authz
        .policy()
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
    conversation_rule(&mut s, authz.policy(), &out);
    let _ = writeln!(s, "  reasons");
    for r in &out.reasons {
        let _ = writeln!(s, "    - {r}");
    }
    if !out.allow && out.effect != intercom_authz::Effect::NeedLookup {
        let _ = writeln!(s, "  deny body   {}", out.deny_body(None));
    }
    out!("{s}");
    Ok(if out.allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
