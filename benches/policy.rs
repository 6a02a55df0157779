//! Policy compile time as the policy grows (`make bench`: `cargo bench --bench policy`): N
//! custom roles, each extending a built-in or an earlier custom role, granting two permissions
//! and revoking a third (issue 30's shape), and one chain of N `extends`; then a whole
//! configuration of that policy loaded as the filter loads it. Figures go in notes,
//! never in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use intercom_authz::authorizer::Authorizer;
use intercom_authz::{Policy, PolicyConfig};

const PERMS: [&str; 8] = [
    "contacts:delete",
    "tags:manage",
    "conversations:assign",
    "articles:publish",
    "companies:delete",
    "notes:write",
    "tickets:delete",
    "reports:export",
];

/// N roles; `chain`: each extends the one before (the deepest policy there is).
fn policy(n: usize, chain: bool) -> PolicyConfig {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    let mut names: Vec<String> = ["agent", "admin", "restricted", "owner"]
        .map(String::from)
        .to_vec();
    let mut roles = serde_json::Map::new();
    for i in 0..n {
        let parent = if chain {
            names.last().unwrap().clone()
        } else {
            names[next(names.len())].clone()
        };
        let a = next(PERMS.len());
        let (b, c) = ((a + 1 + next(3)) % PERMS.len(), (a + 5) % PERMS.len());
        roles.insert(
            format!("r{i}"),
            serde_json::json!({"extends": parent, "grant": [PERMS[a], PERMS[b]], "revoke": [PERMS[c]]}),
        );
        names.push(format!("r{i}"));
    }
    serde_json::from_value(serde_json::json!({ "roles": roles })).unwrap()
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("policy/compile");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        for (shape, chain) in [("random", false), ("chain", true)] {
            let cfg = policy(n, chain);
            Policy::compile(&cfg).expect("the generated policy compiles");
            g.bench_with_input(BenchmarkId::new(shape, n), &cfg, |b, cfg| {
                b.iter(|| Policy::compile(black_box(cfg)).unwrap())
            });
        }
    }
    g.finish();
}

/// What a filter does with a new configuration: parse the whole JSON (a key and N roles) and
/// build the authorizer (policy compiled, role order for the token's claims, verifier).
fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("config/load");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let json = serde_json::json!({
            "policy": serde_json::to_value(policy(n, false)).unwrap(),
            "token": {"keys": [{"kid": "k", "alg": "HS256", "secret": "0123456789abcdef0123456789abcdef"}],
                      "issuers": ["https://sso.example.com"], "audiences": ["intercom-authz"]},
        })
        .to_string();
        Authorizer::from_json(&json).expect("the generated configuration loads");
        g.bench_with_input(BenchmarkId::new("random", n), &json, |b, json| {
            b.iter(|| Authorizer::from_json(black_box(json)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, compile, load);
criterion_main!(benches);
