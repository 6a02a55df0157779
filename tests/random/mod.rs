//! Random policies and requests, shared by the differential corpus (`tests/differential.rs`)
//! and the diff's property test (`tests/access_diff.rs`): a seeded splitmix64 draw, so a seed
//! replays.
#![allow(dead_code)] // two test crates include this, each using part of it

use intercom_authz::body::BodyRule;
use intercom_authz::policy::Route;
use serde_json::{json, Map, Value};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
    pub fn some<T: Clone>(&mut self, xs: &[T], max: usize) -> Vec<T> {
        (0..self.below(max + 1)).map(|_| self.pick(xs)).collect()
    }
}

pub const BUILT_IN: &[&str] = &["owner", "admin", "agent", "observer", "restricted"];
pub const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.0.0/16",
    "127.0.0.1/32",
    "2001:db8::/32",
];
pub const IPS: &[&str] = &[
    "127.0.0.1",
    "10.1.2.3",
    "192.168.7.7",
    "203.0.113.9",
    "::1",
    "2001:db8::5",
];
pub const VERSIONS: &[&str] = &[
    "2.7", "2.9", "2.11", "2.13", "2.14", "2.16", "Unstable", "3.0", "latest",
];
pub const WORDS: &[&str] = &[
    "close",
    "assignment",
    "snoozed",
    "open",
    "comment",
    "note",
    "quick_reply",
    "admin",
    "user",
    "contact",
    "delete",
    "publish",
    "unpublish",
    "live",
    "draft",
    "published",
    "x",
    "",
];

/// A random policy that compiles (custom roles, conditions, modes); `perms` are the catalog's.
pub fn policy(r: &mut Rng, perms: &[String]) -> Value {
    let mut roles = Map::new();
    for i in 0..r.below(4) {
        let mut role = json!({
            "extends": r.pick(BUILT_IN),
            "grant": r.some(perms, 4),
            "revoke": r.some(perms, 4),
        });
        if r.chance(20) {
            role["mfa"] = json!(true);
        }
        if r.chance(20) {
            role["ip_allowlist"] = json!(r.some(CIDRS, 2));
        }
        if r.chance(15) {
            role["max_session_age"] = json!(r.pick(&["1h", "8h", "1d"]));
        }
        roles.insert(format!("custom{i}"), role);
    }
    let mut p = json!({ "roles": roles });
    if r.chance(30) {
        p["mfa"] = json!({ "permissions": r.some(perms, 3) });
    }
    if r.chance(20) {
        p["ip_allowlist"] = json!(r.some(CIDRS, 2));
    }
    for (key, values) in [
        ("paths", &["reject", "normalize"][..]),
        ("scopes", &["off", "documented", "all"][..]),
        ("unknown_versions", &["deny", "allow"][..]),
        ("scope_source", &["workspace", "token"][..]),
    ] {
        if r.chance(40) {
            p[key] = json!(r.pick(values));
        }
    }
    if r.chance(20) {
        p["token_grants"] = json!(false);
    }
    if r.chance(15) {
        p["default_role"] = json!(r.pick(BUILT_IN));
    }
    if r.chance(15) {
        p["max_session_age"] = json!("12h");
    }
    p
}

/// A segment a route's `{param}` might get (accepted or not).
pub fn param(r: &mut Rng) -> String {
    if r.chance(80) {
        return r
            .pick(&["123", "6a1f09c2e4", "5f4dcc3b-5aa7-4a3b-8e5f-1c2d3e4f5a6b"])
            .to_string();
    }
    r.pick(&[
        "123",
        "6a1f09c2e4",
        "0",
        "last",
        "me",
        "abc_def",
        "5f4dcc3b-5aa7-4a3b-8e5f-1c2d3e4f5a6b",
        "a%20b",
        "..",
        "%2e",
    ])
    .to_string()
}

pub fn path_for(r: &mut Rng, route: &Route) -> String {
    let mut segs: Vec<String> = route
        .template
        .split('/')
        .skip(1)
        .map(|s| {
            if s.starts_with('{') {
                param(r)
            } else {
                s.to_string()
            }
        })
        .collect();
    if r.chance(8) && !segs.is_empty() {
        // What a bypass tries: case, encoding, dot segments, empty segments.
        let i = r.below(segs.len());
        let s = segs[i].clone();
        segs[i] = match r.below(6) {
            0 => s.to_uppercase(),
            1 => s.replacen(|c: char| c.is_ascii_alphabetic(), "%61", 1),
            2 => format!("{s}/."),
            3 => format!("x/../{s}"),
            4 => format!("/{s}"),
            _ => format!("{s};x"),
        };
    }
    let mut path = format!("/{}", segs.join("/"));
    if r.chance(4) {
        path.push('/');
    }
    if r.chance(8) {
        path.push_str(r.pick(&[
            "?per_page=5",
            "?message_type=close",
            "?state=live",
            "?a=%ff",
            "#top",
        ]));
    }
    path
}

pub fn body(r: &mut Rng, rule: Option<BodyRule>) -> Option<Value> {
    let rule = rule?;
    if r.chance(10) {
        return None;
    }
    let mut keys: Vec<&str> = rule.fields().to_vec();
    keys.extend(["type", "body", "admin_id"]);
    let mut m = Map::new();
    for _ in 0..1 + r.below(3) {
        let v = match r.below(5) {
            0 => r.pick(&[json!(1), json!(null), json!(true)]),
            1 => Value::Array(
                (0..r.below(3))
                    .map(|k| json!({ "id": k.to_string() }))
                    .collect(),
            ),
            2 => json!({ "type": r.pick(WORDS), "id": "7" }),
            _ => json!(r.pick(WORDS)),
        };
        m.insert(r.pick(&keys).to_string(), v);
    }
    Some(Value::Object(m))
}
