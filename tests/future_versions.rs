//! Unknown routes stay unknown, also tomorrow (issue 11). For every N from 2.7 to 2.15, the
//! catalog is compiled from the routes of versions up to N only; every operation first added
//! after N (up to 2.16) must then be either denied `unknown_route` or matched to an old route
//! that asks exactly what the operation's own row asks (same permission, same body rule). A new
//! literal segment caught by an old `{id}` would fail here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use intercom_authz::catalog::{self, CATALOG_TSV};
use intercom_authz::version::{ApiVersion, VersionRange};
use intercom_authz::{evaluate, Body, Code, Policy, PolicyConfig, Principal, Request};

fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "123" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn operations_of_later_versions_are_unknown_or_decided_as_their_row_says() {
    let rows = catalog::parse(CATALOG_TSV).unwrap();
    let range = |r: &catalog::CatalogRow<'_>| VersionRange::parse(r.versions).unwrap();
    let owner = Principal {
        role: Some("owner".into()),
        amr: vec!["mfa".into()],
        ..Principal::default()
    };
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for minor in 7..=15u8 {
        let n = ApiVersion { major: 2, minor };
        let mut cfg = PolicyConfig {
            catalog: false,
            ..PolicyConfig::default()
        };
        cfg.routes = rows
            .iter()
            .filter(|r| range(r).since <= n)
            .map(|r| r.to_config())
            .collect();
        let old = Policy::compile(&cfg).unwrap();
        let (mut newer, mut unknown, mut same) = (0, 0, 0);
        for r in rows.iter().filter(|r| range(r).since > n) {
            newer += 1;
            let path = concrete(r.template);
            let req = Request {
                method: r.method,
                path: &path,
                body: Body::NotRead,
                content_type: Some("application/json"),
                version: None,
                source_ip: None,
                lookup: intercom_authz::conversation::Lookup::NotDone,
            };
            let d = evaluate(&old, &owner, &req, 1_800_000_000);
            let matched = d
                .route
                .and_then(|shown| old.routes().iter().find(|x| x.display == shown));
            match matched {
                None if d.code == Code::UnknownRoute => unknown += 1,
                Some(m) => {
                    let want = r.to_config();
                    let asks_the_same = m.required
                        == Policy::compile(&PolicyConfig {
                            catalog: false,
                            routes: vec![want.clone()],
                            ..PolicyConfig::default()
                        })
                        .unwrap()
                        .routes()[0]
                            .required
                        && m.body.map(|b| b.name())
                            == want.body.as_deref().map(|b| b.trim_start_matches("body:"));
                    if asks_the_same {
                        same += 1;
                    } else {
                        failures.push(format!(
                            "catalog ≤ {n}: {} {} (added {}) is judged as `{}`",
                            r.method, r.template, r.versions, m.display
                        ));
                    }
                }
                None => failures.push(format!(
                    "catalog ≤ {n}: {} {} (added {}) got {:?}",
                    r.method, r.template, r.versions, d.code
                )),
            }
        }
        report.push(format!(
            "≤ {n}: {newer} later operations, {unknown} unknown_route, {same} decided as their row, {} misjudged",
            newer - unknown - same
        ));
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n{}",
        report.join("\n"),
        failures.join("\n")
    );
}
