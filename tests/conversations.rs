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
    tsv("reach.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
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
            Kind::Search => assert_eq!(
                (r.method.as_str(), shape.as_str()),
                ("POST", "/conversations/search"),
                "{}",
                r.display
            ),
            Kind::Export => assert!(
                shape.contains("/reporting_data/"),
                "{} is judged as an export",
                r.display
            ),
            Kind::Unjudged | Kind::Free => {}
        }
    }
}

fn tsv(name: &str) -> Vec<Vec<String>> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/spec-conversations")
        .join(name);
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

/// Every query parameter of 2.7–2.16 that mentions a conversation or a ticket
/// (`query.tsv`, by `extract.py`) is judged or reviewed: one that names a conversation is in
/// `conversation::QUERY_PARAMS` (or sits on a route refused to restricted roles anyway); any
/// other has a reason in `query-reviewed.tsv`. And nothing is listed that the specs lack.
#[test]
fn every_query_parameter_naming_a_conversation_is_judged_or_reviewed() {
    use intercom_authz::conversation::QUERY_PARAMS;
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let found = tsv("query.tsv");
    let reviewed = tsv("query-reviewed.tsv");
    assert!(found.iter().any(|r| r[2] == "references_conversation_id"));
    let mut missing = Vec::new();
    for r in &found {
        let (method, shape, param, names) = (&r[0], &r[1], &r[2], r[4] == "names");
        let judged = QUERY_PARAMS
            .iter()
            .any(|(m, s, p)| m.as_str() == method && s == shape && p == param);
        let route = policy
            .routes()
            .iter()
            .find(|x| x.method.as_str() == method && template_shape(&x.template) == *shape)
            .unwrap_or_else(|| panic!("{method} {shape} is not in the catalog"));
        let refused = route.conversation == Kind::Unjudged;
        let listed = reviewed
            .iter()
            .any(|x| x[0] == *method && x[1] == *shape && x[2] == *param && x.len() == 4);
        let ok = if names { judged || refused } else { listed };
        if !ok {
            missing.push(format!("{method} {shape} ?{param} ({})", r[4]));
        }
        if names && judged {
            assert!(
                route.conversation_query.contains(&param.as_str()),
                "{method} {shape}: the compiled route does not check ?{param}"
            );
        }
    }
    assert!(
        missing.is_empty(),
        "query parameters neither judged nor reviewed:\n{}",
        missing.join("\n")
    );
    for (m, s, p) in QUERY_PARAMS {
        assert!(
            found
                .iter()
                .any(|r| r[0] == m.as_str() && r[1] == *s && r[2] == *p && r[4] == "names"),
            "{} {s} ?{p} is judged but the specs do not name a conversation with it",
            m.as_str()
        );
    }
    for x in &reviewed {
        assert!(
            found
                .iter()
                .any(|r| r[0] == x[0] && r[1] == x[1] && r[2] == x[2]),
            "query-reviewed.tsv lists {} {} ?{}, which no spec has",
            x[0],
            x[1],
            x[2]
        );
    }
}
