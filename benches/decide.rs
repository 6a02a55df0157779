//! Decision latency on the full Intercom catalog, and how it scales with the number of routes
//! and roles. `make bench` (`cargo bench --bench decide`). Figures go in notes, never in tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use intercom_authz::{evaluate, Body, Policy, PolicyConfig, Principal, Request};

const NOW: u64 = 1_800_000_000;

fn principal(role: &str) -> Principal {
    Principal {
        role: Some(role.into()),
        subject: Some("42".into()),
        issued_at: Some(NOW - 60),
        ..Default::default()
    }
}

fn req<'a>(method: &'a str, path: &'a str, body: Body<'a>) -> Request<'a> {
    Request {
        method,
        path,
        body,
        content_type: Some("application/json"),
        version: None,
        source_ip: None,
        lookup: intercom_authz::conversation::Lookup::NotDone,
    }
}

fn full_catalog(c: &mut Criterion) {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let agent = principal("agent");
    let mut g = c.benchmark_group("decide/catalog");
    let cases: [(&str, Request<'_>); 6] = [
        (
            "allowed GET /contacts/{id}",
            req("GET", "/contacts/123", Body::NotRead),
        ),
        (
            "allowed GET /contacts?query",
            req(
                "GET",
                "/contacts?per_page=50&starting_after=WzE2NzE3MTAwMDAwMDAsNjM5XQ",
                Body::NotRead,
            ),
        ),
        (
            "denied DELETE /contacts/{id}",
            req("DELETE", "/contacts/123", Body::NotRead),
        ),
        (
            "body POST /conversations/{id}/parts",
            req(
                "POST",
                "/conversations/9/parts",
                Body::Bytes(br#"{"message_type":"close","type":"admin","admin_id":"42"}"#),
            ),
        ),
        (
            "deep GET /office_hours_schedules/{}/office_hours_exceptions/{}",
            req(
                "GET",
                "/office_hours_schedules/1/office_hours_exceptions/2",
                Body::NotRead,
            ),
        ),
        (
            "unknown route",
            req("GET", "/internal/debug", Body::NotRead),
        ),
    ];
    for (name, r) in cases {
        // Sanity: the benchmark measures what it says.
        let d = evaluate(&policy, &agent, &r, NOW);
        assert_eq!(
            d.is_allowed(),
            !(name.starts_with("denied")
                || name.starts_with("unknown")
                || name.starts_with("deep")),
            "{name}"
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(evaluate(
                    black_box(&policy),
                    black_box(&agent),
                    black_box(&r),
                    NOW,
                ))
                .is_allowed()
            })
        });
    }
    g.finish();
}

fn synthetic(n_routes: usize, n_roles: usize) -> Policy {
    let mut routes = Vec::new();
    for i in 0..n_routes {
        routes.push(serde_json::json!({"method": "GET", "path": format!("/r{i}/items/{{id}}"), "permission": "contacts:read"}));
    }
    let mut roles = serde_json::Map::new();
    for i in 0..n_roles {
        roles.insert(
            format!("role{i}"),
            serde_json::json!({"extends": "agent", "grant": ["tags:manage"]}),
        );
    }
    let cfg: PolicyConfig = serde_json::from_value(
        serde_json::json!({"catalog": false, "routes": routes, "roles": roles}),
    )
    .unwrap();
    Policy::compile(&cfg).unwrap()
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide/scaling");
    for (n_routes, n_roles) in [
        (100, 10),
        (1_000, 10),
        (10_000, 10),
        (1_000, 100),
        (1_000, 1_000),
    ] {
        let policy = synthetic(n_routes, n_roles);
        let who = principal(&format!("role{}", n_roles / 2));
        let path = format!("/r{}/items/77", n_routes / 2);
        let r = req("GET", &path, Body::NotRead);
        assert!(evaluate(&policy, &who, &r, NOW).is_allowed());
        g.bench_with_input(
            BenchmarkId::new("routes x roles", format!("{n_routes}x{n_roles}")),
            &r,
            |b, r| {
                b.iter(|| {
                    black_box(evaluate(
                        black_box(&policy),
                        black_box(&who),
                        black_box(r),
                        NOW,
                    ))
                    .is_allowed()
                })
            },
        );
    }
    g.finish();
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.bench_function("catalog (237 routes, 5 roles)", |b| {
        b.iter(|| Policy::compile(black_box(&PolicyConfig::default())).unwrap())
    });
    for n in [1_000, 10_000] {
        let mut routes = Vec::new();
        for i in 0..n {
            routes.push(serde_json::json!({"method": "GET", "path": format!("/r{i}/items/{{id}}"), "permission": "contacts:read"}));
        }
        let cfg: PolicyConfig =
            serde_json::from_value(serde_json::json!({"catalog": false, "routes": routes}))
                .unwrap();
        g.bench_function(format!("{n} synthetic routes"), |b| {
            b.iter(|| Policy::compile(black_box(&cfg)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, full_catalog, scaling);
criterion_main!(benches);
