//! The shipped catalog covers every operation of every stable Intercom API description
//! (2.7 to 2.16), extracted into `tests/spec-routes/<version>.txt` by
//! `tests/spec-routes/extract.py`, and has nothing the specs do not have.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use intercom_authz::catalog::{parse, CATALOG_TSV};
use intercom_authz::policy::template_shape as shape;

#[test]
fn every_spec_operation_is_in_the_catalog() {
    let rows = parse(CATALOG_TSV).unwrap();
    let catalog: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), shape(r.template)))
        .collect();
    assert_eq!(catalog.len(), rows.len(), "the catalog repeats a route");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-routes");
    let mut versions: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    versions.sort();
    assert_eq!(
        versions.len(),
        10,
        "expected the 10 stable versions 2.7 to 2.16"
    );
    let mut union = BTreeSet::new();
    let mut report = Vec::new();
    for v in versions {
        let text = std::fs::read_to_string(&v).unwrap();
        let ops: Vec<(String, String)> = text
            .lines()
            .map(|l| {
                let (m, p) = l.split_once(' ').unwrap();
                (m.to_string(), shape(p))
            })
            .collect();
        let missing: Vec<_> = ops.iter().filter(|o| !catalog.contains(*o)).collect();
        assert!(
            missing.is_empty(),
            "{}: not in the catalog: {missing:?}",
            v.display()
        );
        report.push(format!(
            "{} {}/{}",
            v.file_stem().unwrap().to_string_lossy(),
            ops.len(),
            ops.len()
        ));
        union.extend(ops);
    }
    let extra: Vec<_> = catalog.difference(&union).collect();
    assert!(extra.is_empty(), "in the catalog but in no spec: {extra:?}");
    let v216 = std::fs::read_to_string(dir.join("2.16.txt"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(v216, 231);
    println!("coverage: {}", report.join(", "));
}

#[test]
fn versions_column_agrees_with_the_specs() {
    let rows = parse(CATALOG_TSV).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-routes");
    let order = [
        "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16",
    ];
    let sets: Vec<BTreeSet<(String, String)>> = order
        .iter()
        .map(|v| {
            std::fs::read_to_string(dir.join(format!("{v}.txt")))
                .unwrap()
                .lines()
                .map(|l| {
                    let (m, p) = l.split_once(' ').unwrap();
                    (m.to_string(), shape(p))
                })
                .collect()
        })
        .collect();
    for r in rows {
        let key = (r.method.to_string(), shape(r.template));
        let present: Vec<&str> = order
            .iter()
            .zip(&sets)
            .filter(|(_, s)| s.contains(&key))
            .map(|(v, _)| *v)
            .collect();
        let first = present.first().copied().unwrap();
        let last = present.last().copied().unwrap();
        let want = if last == "2.16" {
            format!("{first}-")
        } else {
            format!("{first}-{last}")
        };
        assert_eq!(r.versions, want, "{} {}", r.method, r.template);
    }
}
