//! The diff misses nothing the evaluator decides differently. Random policy pairs (a random
//! policy and one change an author might make: a route remapped, a grant, a condition, a
//! setting, a role added or dropped), requests judged under both (a third from the decision
//! corpus, `tests/cases`, the rest random, half aimed at what changed); every request whose
//! decision changed must be covered by a difference `access::diff` reports (a setting, its
//! role, or its route). Seeded: `ACCESS_SEED`, `ACCESS_PAIRS`, `ACCESS_REQUESTS`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod random;

use intercom_authz::authorizer::{Authorizer, Outcome, WholeRequest};
use intercom_authz::policy::Route;
use intercom_authz_cli::access;
use random::{body, path_for, policy, Rng, BUILT_IN, CIDRS, IPS, VERSIONS};
use serde_json::{json, Map, Value};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| v.parse().unwrap())
}

fn authorizer(policy: &Value) -> Option<Authorizer> {
    let cfg = json!({ "policy": policy });
    Authorizer::from_json_embedded(&cfg.to_string(), "test").ok()
}

const LEVELS: &[&str] = &[
    "all",
    "assigned_to_me",
    "assigned_to_me_or_my_teams",
    "assigned_to_me_my_teams_or_unassigned",
];

/// The custom roles of a policy as written.
fn custom_roles(p: &Value) -> Vec<String> {
    p["roles"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// One change an author might make to `p`: its name (which names the route or permission it
/// touches, so requests can aim there) and the new policy.
fn mutate(r: &mut Rng, p: &Value, a: &Authorizer, perms: &[String]) -> (String, Value) {
    let mut q = p.clone();
    let roles = custom_roles(p);
    let role = (!roles.is_empty()).then(|| r.pick(&roles));
    let what = match (r.below(19), role) {
        (0, _) => {
            let routes = a.policy().routes();
            let route = &routes[r.below(routes.len())];
            let mut custom = json!({
                "method": route.method.as_str(), "path": route.template,
                "permission": [r.pick(perms)], "replace": true,
            });
            if let Some(v) = &route.versions {
                custom["versions"] = json!(v);
            }
            q["routes"] = json!([custom]);
            format!("remap {}", route.display)
        }
        (1, Some(role)) => {
            q["roles"][&role]["conversation_access"] = json!(r.pick(LEVELS));
            format!("conversation_access ({role})")
        }
        (2, _) => {
            match p.get("ip_allowlist") {
                Some(_) => drop(q.as_object_mut().unwrap().remove("ip_allowlist")),
                None => q["ip_allowlist"] = json!(r.some(CIDRS, 2)),
            }
            "ip_allowlist (global)".into()
        }
        (3, _) => {
            q["default_role"] = json!(r.pick(BUILT_IN));
            "default_role".into()
        }
        (4, Some(role)) => {
            let key = r.pick(&["grant", "revoke"]);
            let perm = r.pick(perms);
            let mut list = q["roles"][&role][key]
                .as_array()
                .cloned()
                .unwrap_or_default();
            list.push(json!(perm));
            q["roles"][&role][key] = json!(list);
            format!("{key} {perm} ({role})")
        }
        (5, Some(role)) => {
            let key = r.pick(&["mfa", "ip_allowlist", "max_session_age"]);
            let def = q["roles"][&role].as_object_mut().unwrap();
            if def.remove(key).is_none() {
                def.insert(
                    key.to_string(),
                    match key {
                        "mfa" => json!(true),
                        "ip_allowlist" => json!(r.some(CIDRS, 2)),
                        _ => json!(r.pick(&["1h", "8h"])),
                    },
                );
            }
            format!("{key} ({role})")
        }
        (6, _) => {
            let perm = r.pick(perms);
            q["mfa"] = json!({ "permissions": [perm] });
            format!("mfa.permissions {perm}")
        }
        (7, _) => {
            let (key, values): (&str, &[Value]) = match r.below(6) {
                0 => ("token_grants", &[json!(true), json!(false)]),
                1 => ("paths", &[json!("reject"), json!("normalize")]),
                2 => ("scopes", &[json!("off"), json!("documented"), json!("all")]),
                3 => ("unknown_versions", &[json!("deny"), json!("allow")]),
                4 => ("max_session_age", &[json!("1h"), json!("1d")]),
                _ => ("workspace", &[json!("ws1"), json!("ws2")]),
            };
            q[key] = r.pick(values);
            key.to_string()
        }
        (8, Some(role)) => {
            let (key, values) = match r.below(2) {
                0 => (
                    "reassign",
                    &["with_permission", "from_unassigned", "from_anyone"][..],
                ),
                _ => ("reporting_exports", &["allow", "deny"][..]),
            };
            q["roles"][&role][key] = json!(r.pick(values));
            format!("{key} ({role})")
        }
        (9, Some(role)) => {
            q["roles"][&role]["extends"] = json!(r.pick(BUILT_IN));
            format!("extends ({role})")
        }
        (10, Some(role)) => {
            q["roles"].as_object_mut().unwrap().remove(&role);
            format!("drop {role}")
        }
        (11, _) => {
            q["roles"]["late"] = json!({ "extends": r.pick(BUILT_IN), "grant": r.some(perms, 2) });
            "add role late".into()
        }
        (12, _) => {
            q["mfa"] = json!({ "methods": [r.pick(&["otp", "hwk", "mfa"])] });
            "mfa.methods".into()
        }
        (13, _) => {
            let route = pick_route(r, a);
            let mut custom = same_route(route, a);
            match r.below(2) {
                0 => custom["not_self"] = json!(true),
                _ => custom["self_permission"] = json!(r.pick(perms)),
            }
            q["routes"] = json!([custom]);
            format!("self rule {}", route.display)
        }
        (14, _) => {
            let route = pick_route(r, a);
            let mut custom = same_route(route, a);
            custom["versions"] = json!(r.pick(&["2.12-", "2.7-2.10", "2.14-"]));
            q["routes"] = json!([custom]);
            format!("versions {}", route.display)
        }
        (15, _) => {
            q["catalog"] = json!(false);
            q["routes"] = json!([{ "method": "GET", "path": "/contacts/{id}", "permission": ["contacts:read"] }]);
            "catalog off".into()
        }
        (16, _) => {
            q["scopes"] = json!("all");
            q["scope_source"] = json!(r.pick(&["workspace", "token"]));
            q["workspace_scopes"] = json!(r.some(SCOPES, 3));
            "workspace_scopes".into()
        }
        (17, role) => {
            let route = pick_route(r, a);
            let mut custom = same_route(route, a);
            custom["permission"] = json!(["x:custom"]);
            q["permissions"] = json!({ "x:custom": "a permission of this policy's own" });
            q["routes"] = json!([custom]);
            if let Some(role) = role {
                q["roles"][&role]["grant"] = json!(["x:custom"]);
            }
            format!("custom permission {}", route.display)
        }
        _ => "nothing".into(),
    };
    (what, q)
}

const SCOPES: &[&str] = &[
    "read_users_companies",
    "write_users_companies",
    "read_conversations",
    "write_conversations",
    "read_admins",
];

fn pick_route<'a>(r: &mut Rng, a: &'a Authorizer) -> &'a Route {
    let routes = a.policy().routes();
    &routes[r.below(routes.len())]
}

/// A custom route replacing `route` as it is (its permission, versions and body rule).
fn same_route(route: &Route, a: &Authorizer) -> Value {
    let p = a.policy();
    let mut custom = json!({
        "method": route.method.as_str(), "path": route.template,
        "permission": p.names(&route.required).collect::<Vec<_>>(), "replace": true,
    });
    if let Some(v) = &route.versions {
        custom["versions"] = json!(v);
    }
    if let Some(b) = route.body {
        custom["body"] = json!(b.name());
    }
    custom
}

/// A request as the evaluator sees it (claims already verified).
#[derive(Clone)]
struct Req {
    method: String,
    path: String,
    claims: Map<String, Value>,
    body: Option<String>,
    ip: String,
    version: Option<String>,
}

/// The requests of the decision corpus (`tests/cases/*.json`), their claims as written (a
/// `role` shorthand becomes the role claim); those a token or raw bytes carry are left out.
fn corpus_requests() -> Vec<Req> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/cases");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        for case in file["cases"].as_array().unwrap() {
            let q = &case["request"];
            if q.get("latin1").is_some()
                || q.get("token").is_some()
                || q.get("credential").is_some()
            {
                continue;
            }
            let mut claims = q["claims"].as_object().cloned().unwrap_or_default();
            if let Some(role) = q.get("role") {
                claims.insert("role".into(), role.clone());
            }
            claims.entry("sub").or_insert(json!("42"));
            out.push(Req {
                method: q["method"].as_str().unwrap().to_string(),
                path: q["path"].as_str().unwrap().to_string(),
                claims,
                body: q
                    .get("body")
                    .map(Value::to_string)
                    .or_else(|| q["raw_body"].as_str().map(str::to_string)),
                ip: q["source_ip"].as_str().unwrap_or("127.0.0.1").to_string(),
                version: q["headers"]["intercom-version"]
                    .as_str()
                    .map(str::to_string),
            });
        }
    }
    assert!(out.len() > 300, "only {} corpus requests", out.len());
    out
}

/// A random request on one of `a`'s routes (half the time one that `aim` names, by its
/// display or a permission it needs), by a role of either policy (or none).
fn request(r: &mut Rng, a: &Authorizer, roles: &[String], aim: &str) -> Req {
    let p = a.policy();
    let aimed: Vec<&Route> = p
        .routes()
        .iter()
        .filter(|x| {
            let named = |n: &str| aim.split_whitespace().any(|w| w == n);
            aim.contains(&x.display)
                || p.names(&x.required).any(named)
                || x.body
                    .is_some_and(|b| b.possible().iter().any(|n| named(n)))
        })
        .collect();
    let routes: Vec<&Route> = if !aimed.is_empty() && r.chance(50) {
        aimed
    } else {
        p.routes().iter().collect()
    };
    let route = routes[r.below(routes.len())];
    let mut claims = Map::new();
    match r.below(10) {
        0 => {}
        1 => {
            claims.insert("role".into(), json!([r.pick(roles), r.pick(BUILT_IN)]));
        }
        _ => {
            claims.insert("role".into(), json!(r.pick(roles)));
        }
    }
    claims.insert("sub".into(), json!("42"));
    if r.chance(40) {
        claims.insert("amr".into(), json!(r.pick(&[["mfa"], ["otp"], ["pwd"]])));
    }
    if r.chance(50) {
        claims.insert("iat".into(), json!(1_000_000 - r.below(3) as u64 * 7_200));
    }
    if r.chance(20) {
        claims.insert("workspace_id".into(), json!(r.pick(&["ws1", "ws2"])));
    }
    if r.chance(15) {
        claims.insert(
            "permissions".into(),
            json!([r.pick(&[
                "contacts:delete",
                "articles:publish",
                "conversations:assign"
            ])]),
        );
    }
    if r.chance(30) {
        claims.insert("scope".into(), json!(r.some(SCOPES, 3).join(" ")));
    }
    Req {
        version: r.chance(25).then(|| r.pick(VERSIONS).to_string()),
        method: route.method.as_str().to_string(),
        path: path_for(r, route),
        body: body(r, route.body).as_ref().map(Value::to_string),
        claims,
        ip: r.pick(IPS).to_string(),
    }
}

/// A corpus request, half the time by a role of either policy instead of its own.
fn from_corpus(r: &mut Rng, corpus: &[Req], roles: &[String]) -> Req {
    let mut req = r.pick(corpus);
    if r.chance(50) {
        req.claims.insert("role".into(), json!(r.pick(roles)));
    }
    req
}

fn judge(a: &Authorizer, req: &Req) -> Outcome {
    a.authorize_whole(
        &WholeRequest {
            method: &req.method,
            path: &req.path,
            credential: None,
            has_token_header: false,
            content_type: req.body.as_ref().map(|_| "application/json"),
            version: req.version.as_deref(),
            token: None,
            claims: Some(&req.claims),
            body: req.body.as_deref().map(str::as_bytes),
            body_unread: false,
            source_ip: req.ip.parse().ok(),
            lookup: None,
        },
        1_000_000,
    )
}

/// Two decisions are the same when everything but their sentence is: a denial's message may
/// word the same code differently (`unknown_route` "in API version 2.14" when another version
/// has the route's shape), which the diff does not claim to cover.
fn same_decision(a: &Outcome, b: &Outcome) -> bool {
    let plain = |o: &Outcome| Outcome {
        message: String::new(),
        reasons: Vec::new(),
        ..o.clone()
    };
    plain(a) == plain(b)
}

/// The roles a decision could have been judged as: the claim's, the decisions', the defaults.
fn roles_of(claims: &Map<String, Value>, outs: [&Outcome; 2]) -> Vec<String> {
    let mut v: Vec<String> = match claims.get("role") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    v.extend(outs.iter().filter_map(|o| o.role.clone()));
    v
}

#[test]
fn the_diff_covers_every_changed_decision() {
    let seed = env_or("ACCESS_SEED", 1);
    let pairs = env_or("ACCESS_PAIRS", 150) as usize;
    let per_pair = env_or("ACCESS_REQUESTS", 300) as usize;
    let mut r = Rng(seed);
    let corpus = corpus_requests();
    let catalog = authorizer(&json!({})).unwrap();
    let perms: Vec<String> = catalog
        .policy()
        .permissions()
        .map(|(_, p)| p.to_string())
        .collect();
    let (mut drawn, mut changed, mut failures) = (0, 0, Vec::new());
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    while drawn < pairs {
        let p = policy(&mut r, &perms);
        let Some(a) = authorizer(&p) else { continue };
        let (what, q) = mutate(&mut r, &p, &a, &perms);
        let Some(b) = authorizer(&q) else { continue };
        drawn += 1;
        let diff = access::diff(a.policy(), b.policy());
        let mut roles: Vec<String> = a
            .policy()
            .roles()
            .iter()
            .chain(b.policy().roles())
            .map(|x| x.name.clone())
            .collect();
        roles.push("nobody".into());
        for _ in 0..per_pair {
            let on = if r.chance(50) { &a } else { &b };
            let req = if r.chance(33) {
                from_corpus(&mut r, &corpus, &roles)
            } else {
                request(&mut r, on, &roles, &what)
            };
            let (oa, ob) = (judge(&a, &req), judge(&b, &req));
            if same_decision(&oa, &ob) {
                continue;
            }
            changed += 1;
            let kind = what.split_whitespace().next().unwrap();
            *kinds.entry(kind.to_string()).or_default() += 1;
            let who = roles_of(&req.claims, [&oa, &ob]);
            let who: Vec<&str> = who.iter().map(String::as_str).collect();
            let routes: Vec<&str> = [&oa.route, &ob.route]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            if !diff.covers(&who, &routes) {
                failures.push(format!(
                    "pair {drawn} ({what}): {} {} (version {:?}) as {who:?}: {} → {}, not in the diff {}\nold {}\nnew {}\npolicy {p}\nnew {q}",
                    req.method, req.path, req.version, oa.code, ob.code, serde_json::to_string(&diff).unwrap(),
                    serde_json::to_string(&oa).unwrap(), serde_json::to_string(&ob).unwrap()
                ));
            }
        }
    }
    eprintln!("seed {seed}: {pairs} policy pairs, {} requests, {changed} decisions changed, by change: {kinds:?}", pairs * per_pair);
    assert!(
        failures.is_empty(),
        "{} uncovered, first:\n{}",
        failures.len(),
        failures[0]
    );
    assert!(
        changed * 20 > pairs * per_pair / 10,
        "too few decisions changed ({changed}): the draw does not test the diff"
    );
}

/// The changes the issue named, by hand: each one appears.
#[test]
fn the_dangerous_changes_are_reported() {
    let base = json!({ "roles": { "tier1": { "extends": "agent", "conversation_access": "assigned_to_me" } }, "ip_allowlist": ["10.0.0.0/8"] });
    let a = authorizer(&base).unwrap();
    let cases = [
        (
            json!({ "routes": [{ "method": "DELETE", "path": "/contacts/{id}", "permission": ["contacts:read"], "replace": true }] }),
            "DELETE /contacts/{id}",
        ),
        (
            json!({ "roles": { "tier1": { "extends": "agent", "conversation_access": "all" } } }),
            "conversation_access",
        ),
        (json!({ "ip_allowlist": null }), "ip_allowlist"),
        (json!({ "default_role": "admin" }), "default_role"),
    ];
    for (change, needle) in cases {
        let mut q = base.clone();
        for (k, v) in change.as_object().unwrap() {
            match v {
                Value::Null => drop(q.as_object_mut().unwrap().remove(k)),
                v => q[k] = v.clone(),
            }
        }
        let b = authorizer(&q).unwrap();
        let d = access::diff(a.policy(), b.policy());
        let text = serde_json::to_string(&d).unwrap();
        assert!(text.contains(needle), "{needle} missing from {text}");
        assert!(
            text.contains("\"widens\":true"),
            "{needle}: not flagged as widening: {text}"
        );
    }
}
