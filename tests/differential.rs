//! The differential corpus: random policies and random requests (seeded, `DIFF_SEED`,
//! `DIFF_CASES`), judged by the core, written to `target/tmp/generated.json` in the corpus's
//! materialized form with the core's decisions as the expectations. The JS package and the
//! component replay that file (`make test-js`, `make test-component`) and must decide the same,
//! deny body byte for byte. Here, `authorize_whole` (what they call) must agree with the
//! filter's two-step path on every case.
//!
//! Replay another draw: `DIFF_SEED=7 DIFF_CASES=20000 cargo test --test differential`, then
//! the front-ends' runners with `CORPUS=target/tmp/generated.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod corpus;
mod random;

use std::collections::BTreeMap;

use intercom_authz::authorizer::{Authorizer, Outcome, WholeRequest};
use random::{body, path_for, policy, Rng, BUILT_IN, IPS, VERSIONS};
use serde_json::{json, Map, Value};

/// The catalog's scopes and permissions, which random tokens and policies draw from.
struct Vocab {
    scopes: Vec<String>,
    perms: Vec<String>,
}

/// A random request against one of the configurations (`names`, policies compiled).
fn case(r: &mut Rng, i: usize, name: &str, authz: &Authorizer, vocab: &Vocab) -> Value {
    let (scopes, perms) = (&vocab.scopes, &vocab.perms);
    let routes = authz.policy().routes();
    let route = &routes[r.below(routes.len())];
    let custom: Vec<String> = authz
        .policy()
        .roles()
        .iter()
        .map(|x| x.name.clone())
        .collect();
    let method = if r.chance(90) {
        route.method.as_str().to_string()
    } else {
        r.pick(&["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
            .to_string()
    };
    let mut req = json!({ "method": method, "path": path_for(r, route), "source_ip": r.pick(IPS) });
    let role = match r.below(10) {
        0 => Value::Null,
        1 => json!("nobody"),
        2 => json!([r.pick(&custom), r.pick(BUILT_IN)]),
        _ => json!(r.pick(&custom)),
    };
    let mut claims = Map::new();
    claims.insert("role".into(), role);
    if r.chance(30) {
        claims.insert("amr".into(), json!(r.pick(&[["mfa"], ["pwd"]])));
    }
    if r.chance(20) {
        claims.insert(
            "iat".into(),
            json!({ "$now": -(r.below(3) as i64) * 43_200 - 60 }),
        );
    }
    if r.chance(30) {
        claims.insert("scope".into(), json!(r.some(scopes, 4).join(" ")));
    }
    if r.chance(10) {
        claims.insert("permissions".into(), json!(r.some(perms, 2)));
    }
    req["claims"] = Value::Object(claims);
    match r.below(20) {
        0 => req["no_credential"] = json!(true),
        1 => req["token"] = json!({ "key": r.pick(&["rs1", "es1", "ed1", "ps1"]) }),
        2 => req["token"] = json!({ "signature": "tamper" }),
        3 => req["credential"] = json!("Bearer not.a.token"),
        _ => {}
    }
    if r.chance(25) {
        req["headers"] = json!({ "intercom-version": r.pick(VERSIONS) });
    }
    if let Some(b) = body(r, route.body) {
        req["body"] = b;
    }
    if r.chance(2) {
        req["path"] = json!(format!("{}\u{ff}", req["path"].as_str().unwrap()));
        req["latin1"] = json!(true);
    }
    json!({
        "description": format!("generated #{i} ({name})"),
        "request": req,
        "expect": { "decision": "deny", "status": 0, "code": "?" },
    })
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| v.parse().unwrap())
}

/// `authorize_whole` (the JS package, the component, the CLI) on a case, when it is text.
fn whole(a: &Authorizer, c: &corpus::Concrete, now: u64) -> Option<Outcome> {
    if c.latin1 || c.method.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let h = |k: &str| c.headers.get(k).map(String::as_str);
    Some(a.authorize_whole(
        &WholeRequest {
            method: &c.method,
            path: &c.path,
            credential: h(&a.credential_header()),
            has_token_header: c.headers.contains_key("authorization"),
            content_type: h("content-type"),
            version: h("intercom-version"),
            token: None,
            claims: None,
            body: c.body.as_deref().map(str::as_bytes),
            body_unread: false,
            source_ip: c.source_ip.parse().ok(),
            lookup: None,
        },
        now,
    ))
}

#[test]
fn generated_corpus() {
    let seed = env_or("DIFF_SEED", 1);
    let n = env_or("DIFF_CASES", 3000) as usize;
    let mut r = Rng(seed);
    let base = corpus::load_config("default");
    let catalog = Authorizer::from_json(&base.to_string()).unwrap();
    let compiled = catalog.policy();
    let vocab = Vocab {
        perms: compiled.permissions().map(|(_, p)| p.to_string()).collect(),
        scopes: compiled
            .routes()
            .iter()
            .filter_map(|x| x.scope.clone())
            .collect(),
    };
    let mut configs = BTreeMap::new();
    let mut authz = BTreeMap::new();
    while configs.len() < 8 {
        let mut cfg = base.clone();
        cfg["policy"] = policy(&mut r, &vocab.perms);
        // A random policy may not compile (a custom role revoking what it extends is fine; a
        // default role that is unknown is not): draw again.
        if let Ok(a) = Authorizer::from_json(&cfg.to_string()) {
            let name = format!("gen-{}", configs.len());
            authz.insert(name.clone(), a);
            configs.insert(name, cfg);
        }
    }
    let names: Vec<String> = configs.keys().cloned().collect();
    let mut files = Vec::new();
    for name in &names {
        let cases: Vec<Value> = (0..n / names.len())
            .map(|i| case(&mut r, i, name, &authz[name], &vocab))
            .collect();
        let file = json!({ "description": "generated", "config": name, "cases": cases });
        files.push((
            format!("generated seed {seed}"),
            serde_json::from_value(file).unwrap(),
        ));
    }
    let now = corpus::now();
    let mut m = corpus::materialize_files(files, configs, now);
    let mut codes = BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    for (i, c) in m.cases.iter_mut().enumerate() {
        let a = &authz[&c.config];
        let out = corpus::run_core(a, c, now);
        *codes.entry(out.code).or_default() += 1;
        if let Some(w) = whole(a, c, now) {
            if (w.allow, w.status, w.code, &w.route)
                != (out.allow, out.status, out.code, &out.route)
            {
                failures.push(format!(
                    "{}: two steps {} / whole {}",
                    c.description, out.code, w.code
                ));
            }
        }
        c.expect = corpus::Expect {
            decision: if out.allow { "allow" } else { "deny" }.into(),
            status: out.status,
            code: out.code.into(),
            required: out.required.clone(),
            route: out.route.clone(),
            canonical_path: out.canonical_path.clone(),
            role: out.role.clone(),
            response: None,
            redacted: None,
            looked_up: None,
            forward_body: out
                .forward_body
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok()),
        };
        c.deny_body = (!out.allow).then(|| out.deny_body(Some(&format!("case-{i}"))));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("seed {seed}: {} cases, codes {codes:?}", m.cases.len());
    // The draw must reach far: allows, the body, conditions, tokens, paths.
    for code in [
        "allowed",
        "missing_permission",
        "body_required",
        "mfa_required",
        "unknown_route",
        "non_canonical_path",
        "missing_token",
        "invalid_signature",
    ] {
        assert!(
            codes.contains_key(code),
            "no `{code}` in the draw: {codes:?}"
        );
    }
    assert!(
        codes["allowed"] * 5 > m.cases.len(),
        "too few allows: {codes:?}"
    );
    corpus::write(
        &m,
        &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated.json"),
    );
}
