//! Side by side in one run: intercom-authz and AWS Cedar (`cedar-policy`) judging the same
//! role policy for the same requests. `cargo bench --bench cedar --features bench-cedar`.
//!
//! The Cedar policy is generated from the compiled built-in roles (one `permit` per role listing
//! its actions), so both engines hold the same rules. Cedar gets the action already mapped
//! from the route (it has no path matching); intercom-authz does the whole job: canonicalize the
//! path, match the route, check the permission.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request as CedarRequest,
};
use criterion::{criterion_group, criterion_main, Criterion};
use intercom_authz::policy::BUILTIN_ROLES;
use intercom_authz::{evaluate, Body, Policy, PolicyConfig, Principal, Request};

const NOW: u64 = 1_800_000_000;

fn cedar_policies(p: &Policy) -> String {
    let mut src = String::new();
    for role in BUILTIN_ROLES {
        let r = p.role(role).unwrap();
        let actions: Vec<String> = p
            .names(&r.permissions)
            .map(|n| format!("Action::\"{n}\""))
            .collect();
        src.push_str(&format!(
            "permit(principal in Role::\"{role}\", action in [{}], resource);\n",
            actions.join(", ")
        ));
    }
    src
}

fn side_by_side(c: &mut Criterion) {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let policies = PolicySet::from_str(&cedar_policies(&policy)).unwrap();
    let entities = Entities::from_json_str(
        r#"[{"uid":{"type":"User","id":"42"},"attrs":{},"parents":[{"type":"Role","id":"agent"}]},
            {"uid":{"type":"Role","id":"agent"},"attrs":{},"parents":[]},
            {"uid":{"type":"Route","id":"/contacts/{id}"},"attrs":{},"parents":[]}]"#,
        None,
    )
    .unwrap();
    let authorizer = Authorizer::new();
    let user = EntityUid::from_str(r#"User::"42""#).unwrap();
    let route = EntityUid::from_str(r#"Route::"/contacts/{id}""#).unwrap();
    let who = Principal {
        role: Some("agent".into()),
        subject: Some("42".into()),
        ..Default::default()
    };

    let mut g = c.benchmark_group("side_by_side");
    for (name, method, action, allowed) in [
        ("allowed", "GET", "contacts:read", true),
        ("denied", "DELETE", "contacts:delete", false),
    ] {
        let r = Request {
            method,
            path: "/contacts/123",
            body: Body::NotRead,
            content_type: None,
            version: None,
            source_ip: None,
            lookup: intercom_authz::conversation::Lookup::NotDone,
        };
        assert_eq!(evaluate(&policy, &who, &r, NOW).is_allowed(), allowed);
        let act = EntityUid::from_str(&format!("Action::\"{action}\"")).unwrap();
        let cr =
            CedarRequest::new(user.clone(), act, route.clone(), Context::empty(), None).unwrap();
        assert_eq!(
            authorizer
                .is_authorized(&cr, &policies, &entities)
                .decision()
                == Decision::Allow,
            allowed
        );
        g.bench_function(format!("intercom-authz {name}"), |b| {
            b.iter(|| {
                black_box(evaluate(
                    black_box(&policy),
                    black_box(&who),
                    black_box(&r),
                    NOW,
                ))
                .is_allowed()
            })
        });
        g.bench_function(format!("cedar {name}"), |b| {
            b.iter(|| {
                black_box(authorizer.is_authorized(
                    black_box(&cr),
                    black_box(&policies),
                    black_box(&entities),
                ))
                .decision()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
