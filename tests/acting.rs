//! Attribution's table (`core/src/acting.tsv`, the compiled columns of
//! `tests/spec-acting/acting.tsv`, both extracted from the specs by
//! `tests/spec-acting/extract.py`) against the rest of what the repository knows of the specs:
//!
//! - every row is a route of the catalog, and every catalog route of that shape carries it;
//! - every body field the specs' examples send (`tests/spec-examples/fields.json`) whose name
//!   says "a person" is either acting (the table) or rejected with a reason
//!   (`tests/spec-acting/rejected.tsv`): a new such field fails here until someone decides;
//! - every attribution field `tests/spec-examples/reviewed.tsv` lists is in the table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use intercom_authz::acting::{self, ACTING_TSV};
use intercom_authz::catalog::{parse, CATALOG_TSV};
use intercom_authz::policy::{template_shape as shape, Policy, PolicyConfig};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (method, shape, field) of a TSV whose first four columns are method, path, where, field.
fn fields_of(text: &str) -> BTreeSet<(String, String, String)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].to_string(), c[1].to_string(), c[3].to_string())
        })
        .collect()
}

#[test]
fn the_compiled_table_is_the_reviewed_one() {
    let full = std::fs::read_to_string(root().join("tests/spec-acting/acting.tsv")).unwrap();
    let compact: Vec<String> = full
        .lines()
        .map(|l| l.split('\t').take(5).collect::<Vec<_>>().join("\t"))
        .collect();
    assert_eq!(
        ACTING_TSV.lines().collect::<Vec<_>>(),
        compact,
        "core/src/acting.tsv is not tests/spec-acting/acting.tsv's first five columns: run tests/spec-acting/extract.py"
    );
}

#[test]
fn every_row_is_a_catalog_route_and_the_compiled_route_carries_it() {
    let rows = parse(CATALOG_TSV).unwrap();
    let catalog: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), shape(r.template)))
        .collect();
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    for (method, path, field) in acting::rows() {
        assert!(
            catalog.contains(&(method.to_string(), path.to_string())),
            "acting.tsv names {method} {path}, which the catalog does not have"
        );
        let route = policy
            .routes()
            .iter()
            .find(|r| r.method.as_str() == method && shape(&r.template) == path)
            .unwrap();
        assert!(route.acting.contains(&field), "{method} {path} {field:?}");
    }
    let total: usize = policy.routes().iter().map(|r| r.acting.len()).sum();
    assert_eq!(total, acting::rows().count());
}

/// A field name that says "a person": who a request acts as could hide behind any of these.
fn personal(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    [
        "admin",
        "author",
        "owner",
        "sender",
        "creator",
        "created_by",
        "updated_by",
        "teammate",
    ]
    .iter()
    .any(|w| last.starts_with(w) || last.contains(&format!("_{w}")))
        || last == "from"
}

#[test]
fn every_personal_field_the_specs_send_is_acting_or_rejected_with_a_reason() {
    let acting = fields_of(ACTING_TSV);
    let rejected =
        fields_of(&std::fs::read_to_string(root().join("tests/spec-acting/rejected.tsv")).unwrap());
    let fields: BTreeMap<String, BTreeMap<String, Vec<String>>> = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/spec-examples/fields.json")).unwrap(),
    )
    .unwrap();
    let mut undecided = Vec::new();
    for (route, names) in &fields {
        let (method, template) = route.split_once(' ').unwrap();
        let path = shape(template);
        for name in names.keys().filter(|n| personal(n)) {
            let key = (method.to_string(), path.clone(), name.clone());
            let decided = acting.contains(&key)
                || rejected.contains(&key)
                || acting.iter().any(|(m, p, f)| {
                    *m == key.0 && *p == key.1 && f.starts_with(&format!("{name}."))
                });
            if !decided {
                undecided.push(format!("{method} {path} `{name}`"));
            }
        }
    }
    assert!(
        undecided.is_empty(),
        "body fields that may say who acts, neither in core/src/acting.tsv nor in tests/spec-acting/rejected.tsv (run tests/spec-acting/extract.py and decide):\n{}",
        undecided.join("\n")
    );
}

#[test]
fn every_reviewed_attribution_field_is_enforced() {
    let acting = fields_of(ACTING_TSV);
    let reviewed =
        std::fs::read_to_string(root().join("tests/spec-examples/reviewed.tsv")).unwrap();
    for line in reviewed.lines().filter(|l| l.contains("attribution")) {
        let c: Vec<&str> = line.split('\t').collect();
        let key = (c[0].to_string(), c[1].to_string(), c[2].to_string());
        assert!(
            acting.contains(&key),
            "reviewed.tsv calls {key:?} attribution; acting.tsv lacks it"
        );
        assert!(
            !line.contains("NOT enforced"),
            "reviewed.tsv still says: {line}"
        );
    }
}
