//! OAuth scopes are the workspace's Intercom token's (issue 11): with the default policy `{}`,
//! no route of the catalog is ever denied `missing_scope` to an owner whose SSO token carries
//! no scope claim; with `workspace_scopes` declared, exactly the routes needing an undeclared
//! documented scope are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use intercom_authz::{evaluate, Body, Code, Policy, PolicyConfig, Principal, Request};

fn owner() -> Principal {
    Principal {
        role: Some("owner".into()),
        amr: vec!["mfa".into()],
        ..Principal::default()
    }
}

/// Every catalog route with its parameters filled in, and the code an owner gets for it
/// (bodies: `{}`, the route's cheapest reading is irrelevant to scopes).
fn codes(policy: &Policy) -> Vec<(String, Option<String>, Code)> {
    let who = owner();
    policy
        .routes()
        .iter()
        .map(|r| {
            let path: String = r
                .template
                .split('/')
                .map(|s| if s.starts_with('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let req = Request {
                method: r.method.as_str(),
                path: &path,
                body: Body::Bytes(b"{}"),
                content_type: Some("application/json"),
                version: None,
                source_ip: None,
                lookup: intercom_authz::conversation::Lookup::NotDone,
            };
            let d = evaluate(policy, &who, &req, 1_800_000_000);
            (r.display.clone(), r.scope.clone(), d.code)
        })
        .collect()
}

#[test]
fn the_default_policy_asks_no_employee_token_for_a_scope() {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let all = codes(&policy);
    assert!(all.len() > 200, "{}", all.len());
    let with_scope = all.iter().filter(|(_, s, _)| s.is_some()).count();
    assert!(with_scope > 40, "only {with_scope} routes have a scope");
    let denied: Vec<_> = all
        .iter()
        .filter(|(_, _, c)| *c == Code::MissingScope)
        .collect();
    assert!(denied.is_empty(), "{denied:?}");
}

#[test]
fn declared_workspace_scopes_deny_exactly_the_routes_that_need_another() {
    let cfg: PolicyConfig = serde_json::from_str(
        r#"{"workspace_scopes": ["read_conversations", "write_conversations", "read_content"]}"#,
    )
    .unwrap();
    let policy = Policy::compile(&cfg).unwrap();
    let granted = ["read_conversations", "write_conversations", "read_content"];
    let doc = |display: &str| {
        policy
            .routes()
            .iter()
            .find(|r| r.display == display)
            .is_some_and(|r| r.scope_documented)
    };
    let mut denied = 0;
    // Body-dependent routes refuse `{}` before the scope step; the corpus covers them.
    let judged: Vec<_> = codes(&policy)
        .into_iter()
        .filter(|(_, _, c)| !matches!(c, Code::InvalidBody | Code::BodyRequired))
        .collect();
    assert!(judged.len() > 200, "{}", judged.len());
    for (display, scope, code) in judged {
        let must_deny = doc(&display) && scope.as_deref().is_some_and(|s| !granted.contains(&s));
        assert_eq!(
            code == Code::MissingScope,
            must_deny,
            "{display} (scope {scope:?}): {code:?}"
        );
        denied += usize::from(must_deny);
    }
    assert!(denied > 20, "{denied}");
}

#[test]
fn an_unknown_workspace_scope_is_refused_with_a_hint() {
    let cfg: PolicyConfig =
        serde_json::from_str(r#"{"workspace_scopes": ["read_conversation"]}"#).unwrap();
    let e = Policy::compile(&cfg).unwrap_err().0;
    assert_eq!(
        e,
        "unknown OAuth scope `read_conversation` in `workspace_scopes` (did you mean `read_conversations`?)"
    );
}
