//! Legitimate shapes are never refused (issue 11): every request-body example of every stable
//! Intercom spec (2.7–2.16, extracted by `tests/spec-examples/extract.py`) is decided without
//! `invalid_body` or `body_required`, as an owner and as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use intercom_authz::policy::template_shape as normalize;
use intercom_authz::{evaluate, Body, Code, Policy, PolicyConfig, Principal, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Example {
    method: String,
    path: String,
    name: String,
    body: serde_json::Value,
    versions: Vec<String>,
}

#[test]
fn every_documented_body_is_judged() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-examples/examples.json"),
    )
    .unwrap();
    let examples: Vec<Example> = serde_json::from_str(&text).unwrap();
    assert!(examples.len() > 400, "{}", examples.len());
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let owner = Principal {
        role: Some("owner".into()),
        amr: vec!["mfa".into()],
        ..Principal::default()
    };
    let mut refused = Vec::new();
    let mut body_routes = 0;
    for e in &examples {
        let path: String = e
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let body = e.body.to_string();
        let judge = |b: Body<'_>| {
            let req = Request {
                method: &e.method,
                path: &path,
                body: b,
                content_type: Some("application/json"),
                version: None,
                source_ip: None,
                lookup: intercom_authz::conversation::Lookup::NotDone,
            };
            evaluate(&policy, &owner, &req, 1_800_000_000).code
        };
        if judge(Body::NotRead) == Code::NeedBody {
            body_routes += 1;
        }
        let code = judge(Body::Bytes(body.as_bytes()));
        if matches!(
            code,
            Code::InvalidBody | Code::BodyRequired | Code::UnknownRoute
        ) {
            refused.push(format!(
                "{} {} `{}` ({}): {code:?} {body}",
                e.method,
                e.path,
                e.name,
                e.versions.join(",")
            ));
        }
    }
    assert!(
        body_routes > 30,
        "only {body_routes} examples hit body-dependent routes"
    );
    assert!(
        refused.is_empty(),
        "{} refused:\n{}",
        refused.len(),
        refused.join("\n")
    );
}

/// Body fields that can change what Intercom does, or to whom: action selectors, recipients,
/// targets, states, flags that archive or enable.
const DECIDING: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "from",
    "message_type",
    "action",
    "state",
    "status",
    "untag",
    "open",
    "assignee_id",
    "admin_id",
    "assignment",
    "snoozed_until",
    "users",
    "companies",
    "contacts",
    "archived",
    "type",
    "role",
    "scheduled_publish_at",
    "scheduled_unpublish_at",
    "translated_content",
    "ticket_state_id",
    "enabled",
    "id",
];

/// Every deciding field of every request schema of every stable spec is read by the route's
/// body rule, or reviewed (with a reason) in `tests/spec-examples/reviewed.tsv`. A new spec that
/// adds such a field fails here until a rule reads it or someone reviews it.
#[test]
fn every_deciding_body_field_is_read_or_reviewed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-examples");
    let fields: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, Vec<String>>,
    > = serde_json::from_str(&std::fs::read_to_string(dir.join("fields.json")).unwrap()).unwrap();
    let reviewed: std::collections::BTreeSet<(String, String, String)> =
        std::fs::read_to_string(dir.join("reviewed.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                assert!(c.len() == 4 && !c[3].is_empty(), "reviewed.tsv: {l}");
                (c[0].to_string(), c[1].to_string(), c[2].to_string())
            })
            .collect();
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let mut unread = Vec::new();
    let mut read = 0;
    let mut used_reviews = std::collections::BTreeSet::new();
    for (op, names) in &fields {
        let (method, template) = op.split_once(' ').unwrap();
        let key = normalize(template);
        let route = policy
            .routes()
            .iter()
            .find(|r| r.method.as_str() == method && normalize(&r.template) == key)
            .unwrap_or_else(|| panic!("{op}: not in the catalog"));
        for name in names.keys().filter(|n| DECIDING.contains(&n.as_str())) {
            // `PUT /tickets/{id}`-style rules read every key of the body.
            let by_rule = route.body.is_some_and(|r| {
                r.fields().contains(&name.as_str()) || r.name() == "ticket_update"
            });
            let review = (method.to_string(), key.clone(), name.clone());
            if by_rule {
                read += 1;
            } else if reviewed.contains(&review) {
                used_reviews.insert(review);
            } else {
                unread.push(format!(
                    "{method}\t{key}\t{name}\t(versions {:?})",
                    names[name]
                ));
            }
        }
    }
    assert!(
        unread.is_empty(),
        "deciding body fields no rule reads and nobody reviewed (tests/spec-examples/reviewed.tsv):\n{}",
        unread.join("\n")
    );
    let stale: Vec<_> = reviewed.difference(&used_reviews).collect();
    assert!(
        stale.is_empty(),
        "reviews for fields the specs do not have (or a rule now reads): {stale:?}"
    );
    assert!(read >= 20, "only {read} deciding fields read by rules");
    println!(
        "deciding fields: {read} read by body rules, {} reviewed",
        used_reviews.len()
    );
}

/// Every documented path-parameter example of every stable spec is accepted by the catalog's
/// parameter kinds (an id never takes a word-shaped segment, except the words the spec
/// documents, such as `123 or "last"` for a conversation to reply to).
#[test]
fn every_documented_path_parameter_is_accepted() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-examples");
    let params: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, Vec<String>>,
    > = serde_json::from_str(&std::fs::read_to_string(dir.join("params.json")).unwrap()).unwrap();
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let (mut checked, mut refused) = (0, Vec::new());
    for (op, by_name) in &params {
        let (method, template) = op.split_once(' ').unwrap();
        let route = policy
            .routes()
            .iter()
            .find(|r| r.method.as_str() == method && normalize(&r.template) == normalize(template))
            .unwrap_or_else(|| panic!("{op}: not in the catalog"));
        let names: Vec<&str> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (name, examples) in by_name {
            let Some(i) = names.iter().position(|n| n == name) else {
                continue;
            };
            let kind = route.params[i];
            // `123 or "last"` documents two values.
            for ex in examples.iter().flat_map(|e| e.split(" or ")) {
                let value = ex.trim().trim_matches('"');
                checked += 1;
                if !kind.accepts(value) {
                    refused.push(format!("{op}: {{{name}}} = {value:?} ({kind:?})"));
                }
            }
        }
    }
    assert!(checked > 150, "{checked}");
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
