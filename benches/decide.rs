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

/// Judging a list response (issue 14): the 20-conversation list of `make bench-envoy`
/// (envoy/bench/run.py), half of it another teammate's, for an `assigned_to_me` teammate.
fn conversation_list(c: &mut Criterion) {
    use intercom_authz::conversation::{judge_response, Access, Kind, Viewer};
    let items: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"type":"conversation","id":"{}","created_at":{},"updated_at":{},"admin_assignee_id":{},"team_assignee_id":null,"state":"open","read":true,"source":{{"type":"conversation","id":"{}","delivered_as":"customer_initiated","subject":"","body":"<p>Hello, I have a question about my order #{}.</p>","author":{{"type":"user","id":"u{i}","name":"Customer {i}","email":"c{i}@example.com"}}}},"contacts":{{"type":"contact.list","contacts":[{{"type":"contact","id":"c{i}"}}]}},"tags":{{"type":"tag.list","tags":[]}}}}"#,
                1000 + i,
                1_700_000_000 + i,
                1_700_000_100 + i,
                if i % 2 == 0 { 7 } else { 9 },
                5000 + i,
                40000 + i
            )
        })
        .collect();
    let body = format!(
        r#"{{"type":"conversation.list","conversations":[{}],"total_count":20,"pages":{{"type":"pages","page":1,"per_page":20,"total_pages":1}}}}"#,
        items.join(",")
    );
    let viewer = Viewer {
        access: Access::AssignedToMe,
        admin: Some("7".into()),
        teams: Vec::new(),
        nobody: intercom_authz::conversation::Nobody::NullOrZero,
    };
    let mut g = c.benchmark_group("conversation list");
    g.bench_function(
        format!("judge and redact 10 of 20 ({} bytes)", body.len()),
        |b| b.iter(|| judge_response(Kind::List, &viewer, black_box(body.as_bytes())).unwrap()),
    );
    g.bench_function("parse only (serde_json::Value)", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, full_catalog, scaling, conversation_list);
criterion_main!(benches);
