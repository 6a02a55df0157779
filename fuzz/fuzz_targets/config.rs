//! Configuration loading, on any bytes: a policy (`PolicyConfig` → `Policy::compile`), a
//! whole configuration (`Authorizer::from_json`, and as the JS package and the component load
//! it), a JWKS document. Each is an error or a value, never a panic; a configuration that loads
//! judges a request. The shipped configuration reader (`config_read`) reads every input as the
//! serde derive it replaces does: the same value, or the same error at the same place.
#![no_main]

use intercom_authz::authorizer::{Authorizer, Config, HttpRequest};
use intercom_authz::token::parse_jwks;
use intercom_authz::{Body, Policy, PolicyConfig};
use intercom_authz_fuzz::NOW;

fn judge(a: &Authorizer) {
    for (method, path) in [("GET", "/contacts/1"), ("POST", "/conversations/1/parts")] {
        let req = HttpRequest {
            method: method.as_bytes(),
            path: path.as_bytes(),
            credential: Some(b"Bearer a.b.c"),
            has_token_header: true,
            content_type: Some(b"application/json"),
            version: Some(b"2.11"),
            body: Body::Bytes(br#"{"message_type":"close"}"#),
            source_ip: None,
            lookup: intercom_authz::conversation::Lookup::NotDone,
        };
        let out = a.authorize(&req, NOW);
        assert!(!out.allow, "a malformed token was allowed: {out:?}");
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let read = intercom_authz::config_read::read(data).map_err(|e| e.to_string());
    let derived = serde_json::from_slice::<Config>(data).map_err(|e| e.to_string());
    assert_eq!(read, derived, "config_read and the derive disagree");
    if let Ok(cfg) = serde_json::from_slice::<PolicyConfig>(data) {
        let _ = Policy::compile(&cfg);
    }
    let _ = parse_jwks(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = Authorizer::from_json(text) {
        judge(&a);
    }
    if let Ok(a) = Authorizer::from_json_embedded(text, "the fuzzer") {
        judge(&a);
    }
});
