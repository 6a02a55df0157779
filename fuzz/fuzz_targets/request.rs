//! A whole request through the `Authorizer`, under every test configuration, from bytes (see
//! [`Frame`]; seeds: every corpus case, tokens minted at the fixed clock). Properties:
//!
//! - the filter's two steps (headers, then the body if asked) and the body given at once
//!   decide the same;
//! - when every field is UTF-8, `authorize_whole` (the JS package, the component, the CLI)
//!   decides the same;
//! - an allowed request, sent again with the path it is forwarded with, is allowed for the
//!   same route (canonicalization is stable end to end);
//! - a denial's body is JSON with the same code, and a 401 has `WWW-Authenticate`.
#![no_main]

use intercom_authz::authorizer::{Authorizer, Outcome, WholeRequest};
use intercom_authz::{Body, Effect};
use intercom_authz_fuzz::{authorizers, Frame, NOW};

thread_local! {
    static AUTHZ: Vec<(String, Authorizer)> = authorizers();
}

fn same(a: &Outcome, b: &Outcome, what: &str, f: &Frame) {
    assert_eq!(
        (a.allow, a.status, a.code, &a.route),
        (b.allow, b.status, b.code, &b.route),
        "{what} decide differently for {f:?}:\n{}\n{}",
        a.message,
        b.message
    );
}

fn stepwise(a: &Authorizer, f: &Frame) -> Outcome {
    let mut req = f.http();
    let out = a.authorize(&req, NOW);
    if out.effect != Effect::NeedBody {
        return out;
    }
    req.body = f.body.as_deref().map_or(Body::Absent, Body::Bytes);
    a.authorize(&req, NOW)
}

fn text(v: &Option<Vec<u8>>) -> Option<Option<&str>> {
    v.as_deref().map(std::str::from_utf8).transpose().ok()
}

fn whole(a: &Authorizer, f: &Frame) -> Option<Outcome> {
    if f.body
        .as_ref()
        .is_some_and(|b| b.len() > a.config().max_body_bytes)
    {
        return None;
    }
    let r = WholeRequest {
        method: std::str::from_utf8(&f.method).ok()?,
        path: std::str::from_utf8(&f.path).ok()?,
        credential: text(&f.credential)?,
        has_token_header: f.has_token_header,
        content_type: text(&f.content_type)?,
        version: text(&f.version)?,
        token: None,
        claims: None,
        body: f.body.as_deref(),
        body_unread: false,
        source_ip: f.http().source_ip,
        lookup: None,
    };
    Some(a.authorize_whole(&r, NOW))
}

fn check(a: &Authorizer, f: &Frame) {
    let out = stepwise(a, f);
    assert_ne!(out.effect, Effect::NeedBody);
    let mut at_once = f.http();
    at_once.body = f.body.as_deref().map_or(Body::Absent, Body::Bytes);
    same(&out, &a.authorize(&at_once, NOW), "two steps and one", f);
    if let Some(w) = whole(a, f) {
        same(&out, &w, "authorize and authorize_whole", f);
    }
    if out.allow {
        let forward = out.forward_path.clone().unwrap_or_else(|| {
            String::from_utf8(f.path.clone()).expect("an allowed path is ASCII")
        });
        let again = Frame {
            path: forward.into_bytes(),
            ..f.clone()
        };
        same(
            &out,
            &stepwise(a, &again),
            "the path and its forwarded form",
            f,
        );
    } else {
        let body: serde_json::Value = serde_json::from_str(&out.deny_body(Some("r"))).unwrap();
        assert_eq!(body["code"], out.code);
        assert_eq!(out.www_authenticate().is_some(), out.status == 401);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = Frame::parse(data);
    AUTHZ.with(|all| {
        let (_, a) = &all[usize::from(f.config) % all.len()];
        check(a, &f);
    });
});
