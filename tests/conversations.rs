//! Every Intercom operation that reaches a conversation (`tests/spec-conversations/reach.tsv`,
//! extracted from the OpenAPI descriptions by `extract.py`) has a conversation kind other than
//! `free` in `core/src/conversation.rs`: a role with restricted conversation access never reaches a
//! conversation the filter does not judge. And the kinds that judge (one, list, by id) are on
//! routes whose responses and paths are what the judging reads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use intercom_authz::conversation::Kind;
use intercom_authz::policy::{template_shape, Policy, PolicyConfig};

fn reach() -> Vec<(String, String, String)> {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-conversations/reach.tsv");
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            (
                f.next().unwrap().into(),
                f.next().unwrap().into(),
                f.next().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn every_operation_that_reaches_a_conversation_is_judged_or_refused() {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let rows = reach();
    assert!(rows.len() >= 30, "reach.tsv has {} rows", rows.len());
    let mut free = Vec::new();
    for (method, shape, why) in &rows {
        let Some(route) = policy
            .routes()
            .iter()
            .find(|r| r.method.as_str() == method && template_shape(&r.template) == *shape)
        else {
            panic!("{method} {shape} (reaches a conversation: {why}) is not in the catalog");
        };
        if route.conversation == Kind::Free {
            free.push(format!("{method} {shape} ({why})"));
        }
    }
    assert!(
        free.is_empty(),
        "free routes that reach a conversation:\n{}",
        free.join("\n")
    );
}

#[test]
fn judged_kinds_sit_on_conversation_routes() {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let rows = reach();
    for r in policy.routes() {
        let shape = template_shape(&r.template);
        let listed = rows
            .iter()
            .any(|(m, s, _)| m == r.method.as_str() && *s == shape);
        match r.conversation {
            Kind::ById => assert!(shape.starts_with("/conversations/{}"), "{}", r.display),
            Kind::One => assert_eq!(shape, "/conversations/{}", "{}", r.display),
            Kind::List => assert!(
                rows.iter().any(|(m, s, why)| m == r.method.as_str()
                    && *s == shape
                    && why.contains("response:conversation_list")),
                "{} is judged as a list but its response is no conversation list in the specs",
                r.display
            ),
            Kind::Created => assert!(listed && r.method.as_str() == "POST", "{}", r.display),
            Kind::Unjudged | Kind::Free => {}
        }
    }
}
