//! JWT parsing and verification under the `default` test configuration (HS256/384/512, RS256,
//! PS256, ES256, ES384, EdDSA keys).
//!
//! - A token (seeds: every valid token of the corpus, minted at the fixed clock), mutated: it
//!   verifies only if its signed part (`header.payload`) is one of the originals' and its
//!   signature segment is canonical base64url. Bytes outside ASCII, through the authorizer as
//!   Envoy passes them, are always a 401.
//! - A payload (input starting `{`), signed with the `hs1` key: it verifies only if an
//!   independent reading agrees: strict JSON, `exp` a number not past, `nbf`/`iat` not in the
//!   future, the issuer and an audience accepted.
#![no_main]

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use intercom_authz::authorizer::{Authorizer, HttpRequest};
use intercom_authz::Body;
use intercom_authz_fuzz::{authorizers, signed_parts, NOW};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

const HS1: &[u8] = b"intercom-authz-test-secret-0123456789abcdef";
const LEEWAY: f64 = 60.0;

struct State {
    authz: Authorizer,
    originals: BTreeMap<String, String>,
}

thread_local! {
    static STATE: State = {
        let authz = authorizers().into_iter().find(|(n, _)| n == "default").unwrap().1;
        let originals = signed_parts("default", &authz);
        assert!(originals.len() > 20, "only {} valid tokens in the corpus", originals.len());
        State { authz, originals }
    };
}

fn mutated(s: &State, data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        let mut cred = b"Bearer ".to_vec();
        cred.extend_from_slice(data);
        let req = HttpRequest {
            method: b"GET",
            path: b"/contacts",
            credential: Some(&cred),
            has_token_header: true,
            content_type: None,
            version: None,
            body: Body::NotRead,
            source_ip: None,
            lookup: intercom_authz::conversation::Lookup::NotDone,
        };
        let out = s.authz.authorize(&req, NOW);
        assert_eq!(out.status, 401, "a non-UTF-8 token: {out:?}");
        return;
    };
    if s.authz.tokens().verify(token, NOW).is_err() {
        return;
    }
    let (signed, sig) = token.rsplit_once('.').unwrap();
    assert!(
        s.originals.contains_key(signed),
        "a token whose signed part is no original's verified: {token}"
    );
    let bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(bytes),
        sig,
        "a non-canonical signature verified: {token}"
    );
}

fn independent(payload: &[u8]) -> Result<(), String> {
    let v = intercom_authz::body::parse_strict(payload).map_err(|_| "not strict JSON")?;
    let c = v.as_object().ok_or("not an object")?;
    let time = |k: &str| {
        c.get(k)
            .map(|v| v.as_f64().ok_or(format!("{k} not a number")))
    };
    let exp = time("exp").ok_or("no exp")??;
    if NOW as f64 > exp + LEEWAY {
        return Err("expired".into());
    }
    for k in ["nbf", "iat"] {
        if let Some(t) = time(k) {
            if NOW as f64 + LEEWAY < t? {
                return Err(format!("{k} in the future"));
            }
        }
    }
    if c.get("iss") != Some(&Value::from("https://sso.example.com")) {
        return Err("issuer".into());
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == "intercom-authz",
        Some(Value::Array(a)) => a.iter().any(|a| a == "intercom-authz"),
        _ => false,
    };
    if !aud_ok {
        return Err("audience".into());
    }
    Ok(())
}

fn signed_payload(s: &State, payload: &[u8]) {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"hs1"}"#);
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let key = EncodingKey::from_secret(HS1);
    let sig = jsonwebtoken::crypto::sign(signed.as_bytes(), &key, Algorithm::HS256).unwrap();
    let token = format!("{signed}.{sig}");
    if s.authz.tokens().verify(&token, NOW).is_ok() {
        if let Err(why) = independent(payload) {
            panic!("verified, but {why}: {}", String::from_utf8_lossy(payload));
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        if data.first() == Some(&b'{') {
            signed_payload(s, data);
        } else {
            mutated(s, data);
        }
    });
});
