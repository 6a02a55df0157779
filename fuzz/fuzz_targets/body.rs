//! Body rules, for every body-dependent route: the first byte picks the rule and whether the
//! rest is raw bytes or JSON generated from them (keys and values drawn from what the rules
//! read, with repeated keys). Properties: strict parsing accepts only what serde_json reads,
//! and reads it the same; the authorizer allows a body only when it parses strictly, the rule
//! can judge it, and the role holds every permission the rule asks for.
#![no_main]

use intercom_authz::authorizer::{Authorizer, HttpRequest};
use intercom_authz::body::{parse_strict, BodyRule};
use intercom_authz::policy::Route;
use intercom_authz::{Body, Principal};
use intercom_authz_fuzz::{authorizers, Cursor, NOW};

const WORDS: &[&str] = &[
    "action",
    "admin",
    "admin_id",
    "assignee_id",
    "assignment",
    "bcc",
    "cc",
    "close",
    "comment",
    "companies",
    "delete",
    "draft",
    "email",
    "external_id",
    "from",
    "id",
    "intercom_user_id",
    "live",
    "message_type",
    "note",
    "open",
    "publish",
    "published",
    "quick_reply",
    "scheduled_publish_at",
    "scheduled_unpublish_at",
    "set_audience",
    "set_availability",
    "snoozed",
    "snoozed_until",
    "state",
    "ticket_state_id",
    "to",
    "translated_content",
    "type",
    "unpublish",
    "update_tags",
    "user_id",
    "users",
    "user",
    "contact",
    "name",
    "body",
    "",
    "MESSAGE_TYPE",
    "message_type\u{0}",
    "Close",
    "fr",
    "123",
];

thread_local! {
    static AUTHZ: Authorizer = authorizers()
        .into_iter()
        .find(|(n, _)| n == "default")
        .map(|(_, a)| a)
        .unwrap();
}

/// A concrete path for a route template (`{id}` → `123`).
fn concrete(route: &Route) -> String {
    let mut out = String::new();
    for seg in route.template.split('/').skip(1) {
        out.push('/');
        out.push_str(if seg.starts_with('{') { "123" } else { seg });
    }
    out
}

fn judge(authz: &Authorizer, rule: BodyRule, body: &[u8], pick: u8) {
    let policy = authz.policy();
    let routes: Vec<&Route> = policy
        .routes()
        .iter()
        .filter(|r| r.body == Some(rule))
        .collect();
    let route = routes[usize::from(pick) % routes.len()];
    let role = &policy.roles()[usize::from(pick / 16) % policy.roles().len()];
    let who = Principal {
        role: Some(role.name.clone()),
        subject: Some("1".into()),
        ..Principal::default()
    };
    let path = concrete(route);
    let req = HttpRequest {
        method: route.method.as_str().as_bytes(),
        path: path.as_bytes(),
        credential: None,
        has_token_header: false,
        content_type: Some(b"application/json"),
        version: None,
        body: Body::Bytes(body),
        source_ip: None,
        lookup: intercom_authz::conversation::Lookup::NotDone,
    };
    let out = authz.authorize_principal(&who, &req, NOW);
    if !out.allow {
        return;
    }
    let value = parse_strict(body).expect("allowed a body that does not parse strictly");
    let asked = rule
        .required(&value)
        .expect("allowed a body the rule cannot judge");
    for p in asked {
        let id = policy.permission_id(p).unwrap();
        assert!(
            role.permissions.contains(id),
            "{} allowed {} for role {} without {p}",
            route.display,
            String::from_utf8_lossy(body),
            role.name
        );
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut c = Cursor(data);
    let head = c.byte();
    let pick = c.byte();
    let rule = BodyRule::ALL[usize::from(head & 0x7f) % BodyRule::ALL.len()];
    let generated;
    let body: &[u8] = if head & 0x80 == 0 {
        c.0
    } else {
        let mut words: Vec<&str> = WORDS.to_vec();
        words.extend(rule.fields());
        generated = c.json(&words, 0);
        generated.as_bytes()
    };
    match parse_strict(body) {
        Ok(v) => {
            let lenient: serde_json::Value = serde_json::from_slice(body)
                .expect("strict parsing accepted what serde_json refuses");
            assert_eq!(
                v, lenient,
                "strict and serde_json read {body:?} differently"
            );
            let _ = rule.required(&v);
        }
        Err(_) => {}
    }
    AUTHZ.with(|a| judge(a, rule, body, pick));
});
