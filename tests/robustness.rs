//! Random inputs never panic the evaluator or the token layer, and never turn into an allow
//! they should not: a light, deterministic stand-in for a fuzzer (no extra crate), run by
//! `cargo test`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use intercom_authz::authorizer::{Authorizer, HttpRequest};
use intercom_authz::{evaluate, Body, Policy, PolicyConfig, Principal, Request};

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const SEGMENTS: &[&str] = &[
    "contacts",
    "conversations",
    "parts",
    "reply",
    "admins",
    "away",
    "tags",
    "1",
    "last",
    "search",
    "..",
    ".",
    "",
    "%2e",
    "%2F",
    ";x",
    "%00",
    "{id}",
    "~",
    "Contacts",
    "%63ontacts",
    "help_center",
    "collections",
    "messages",
    "é",
    "?a=b",
    "#f",
];
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "",
];
const BODIES: &[&str] = &[
    r#"{"message_type":"close"}"#,
    r#"{"message_type":"note","type":"admin"}"#,
    r#"{"message_type":1}"#,
    r#"{"to":[{},{}]}"#,
    r#"{"action":"delete"}"#,
    r#"{"name":"x","users":[]}"#,
    "{",
    "[]",
    "null",
    "\"x\"",
    r#"{"a":{"a":1,"a":2}}"#,
    "",
];
const ROLES: &[Option<&str>] = &[
    Some("owner"),
    Some("admin"),
    Some("agent"),
    Some("observer"),
    Some("restricted"),
    Some("nobody"),
    None,
];

#[test]
fn random_requests_never_panic_and_unknown_routes_never_pass() {
    let policy = Policy::compile(&PolicyConfig::default()).unwrap();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut allowed = 0;
    for _ in 0..100_000 {
        let mut path = String::new();
        for _ in 0..(rng.next() % 6) {
            path.push('/');
            path.push_str(rng.pick(SEGMENTS));
        }
        if rng.next() % 10 == 0 {
            path = path.trim_start_matches('/').to_string();
        }
        let body = match rng.next() % 3 {
            0 => Body::NotRead,
            1 => Body::Absent,
            _ => Body::Bytes(rng.pick(BODIES).as_bytes()),
        };
        let who = Principal {
            role: rng.pick(ROLES).map(str::to_string),
            subject: Some("1".into()),
            permissions: if rng.next() % 4 == 0 {
                vec!["contacts:delete".into(), "bogus".into()]
            } else {
                vec![]
            },
            ..Default::default()
        };
        let req = Request {
            method: rng.pick(METHODS),
            path: &path,
            body,
            content_type: Some("application/json"),
            version: None,
            source_ip: None,
            lookup: intercom_authz::conversation::Lookup::NotDone,
        };
        let d = evaluate(&policy, &who, &req, 1_800_000_000);
        if d.is_allowed() {
            allowed += 1;
            // An allow always names the route it matched, on the canonical path it judged,
            // for a role the policy knows.
            assert!(d.route.is_some(), "{path}");
            assert!(d.role.is_some_and(|r| r != "nobody"), "{path}");
            let canon = d.canonical_path.as_deref().unwrap();
            assert!(
                !canon.contains("//") && !canon.contains("/./") && !canon.contains("/../"),
                "{path}"
            );
        }
        let _ = d.deny_body(Some("r"));
        let _ = d.reasons(&policy, "permissions");
    }
    assert!(
        allowed > 300,
        "the generator should reach real routes ({allowed} allowed)"
    );
}

#[test]
fn random_tokens_never_panic_and_never_authenticate() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/rsa.pub.pem"
    ))
    .unwrap();
    let config = serde_json::json!({"token": {"keys": [
        {"kid": "k", "alg": "HS256", "secret": "0123456789abcdef0123456789abcdef"},
        {"kid": "r", "alg": "RS256", "pem": pem},
    ]}});
    let authz = Authorizer::from_json(&config.to_string()).unwrap();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    const PIECES: &[&str] = &[
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ",
        "eyJhbGciOiJub25lIn0",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InIifQ",
        "eyJyb2xlIjoib3duZXIiLCJleHAiOjk5OTk5OTk5OTl9",
        "e30",
        "W10",
        "AAAA",
        "",
        "!!",
        "=",
        "eyJ",
        "....",
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsiLCJjcml0IjpbImV4cCJdfQ",
    ];
    for _ in 0..50_000 {
        let n = 1 + rng.next() % 4;
        let mut t = String::from("Bearer ");
        for i in 0..n {
            if i > 0 {
                t.push('.');
            }
            t.push_str(rng.pick(PIECES));
        }
        let req = HttpRequest {
            method: b"GET",
            path: b"/contacts",
            content_type: None,
            version: None,
            credential: Some(t.as_bytes()),
            has_token_header: true,
            body: Body::NotRead,
            source_ip: None,
            lookup: intercom_authz::conversation::Lookup::NotDone,
        };
        let out = authz.authorize(&req, 1_800_000_000);
        assert!(!out.allow, "{t}");
        assert_eq!(out.status, 401, "{t}: {}", out.code);
        assert!(!out.message.is_empty());
    }
}
