//! Token verification cost per algorithm, built for `wasm32-wasip1` and run under Node's WASI
//! with `--no-liftoff` (V8's optimizing tier only, as Envoy runs it), or natively:
//!
//! ```sh
//! cargo build --release --example verify_bench --target wasm32-wasip1
//! node --no-liftoff benches/wasm-verify.mjs target/wasm32-wasip1/release/examples/verify_bench.wasm
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use intercom_authz::token::{TokenConfig, TokenVerifier};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

const NOW: u64 = 1_800_000_000;

fn main() {
    let secret = include_bytes!("../tests/keys/hs.secret");
    let rsa = include_bytes!("../tests/keys/rsa.pem");
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../tests/configs/default.json")).unwrap();
    let claims = serde_json::json!({"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": "42", "role": "agent", "iat": NOW - 60, "exp": NOW + 3600});
    let algs: Vec<(&str, Algorithm, EncodingKey)> = vec![
        ("hs1", Algorithm::HS256, EncodingKey::from_secret(secret)),
        (
            "rs1",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(rsa).unwrap(),
        ),
        (
            "ps1",
            Algorithm::PS256,
            EncodingKey::from_rsa_pem(rsa).unwrap(),
        ),
        (
            "es1",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(include_bytes!("../tests/keys/ec.pem")).unwrap(),
        ),
        (
            "es384",
            Algorithm::ES384,
            EncodingKey::from_ec_pem(include_bytes!("../tests/keys/ec384.pem")).unwrap(),
        ),
        (
            "ed1",
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(include_bytes!("../tests/keys/ed.pem")).unwrap(),
        ),
    ];
    let verifier = |cache: usize| {
        let mut t = config["token"].clone();
        t["cache_size"] = serde_json::json!(cache);
        TokenVerifier::new(
            serde_json::from_value::<TokenConfig>(t).unwrap(),
            intercom_authz::token::NoKeys::Error,
        )
        .unwrap()
    };
    let cold = verifier(0);
    let cached = verifier(16);
    let median = |mut f: Box<dyn FnMut()>, n: usize| -> f64 {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..n {
                f();
            }
            runs.push(t0.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
        runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        runs[2]
    };
    // `VERIFY_ONLY=ES256` (say) measures one algorithm, e.g. under a profiler.
    let only = std::env::var("VERIFY_ONLY").ok();
    for (kid, alg, key) in &algs {
        if only.as_ref().is_some_and(|o| *o != format!("{alg:?}")) {
            continue;
        }
        let mut h = Header::new(*alg);
        h.kid = Some((*kid).into());
        let bearer = format!("Bearer {}", encode(&h, &claims, key).unwrap());
        assert!(cold.authenticate(Some(&bearer), NOW).is_ok());
        let n = if matches!(alg, Algorithm::HS256) {
            2000
        } else {
            30
        };
        let b2 = bearer.clone();
        let cold_ref = &cold;
        // SAFETY of the borrow: the closure does not outlive this iteration.
        let us = median(
            Box::new(move || assert!(cold_ref.authenticate(Some(&b2), NOW).is_ok()))
                as Box<dyn FnMut()>,
            n,
        );
        println!("{alg:?}: median {us:.1} µs per verify");
        if *kid == "rs1" {
            cached.authenticate(Some(&bearer), NOW).unwrap();
            let c = &cached;
            let us = median(
                Box::new(move || assert!(c.authenticate(Some(&bearer), NOW).is_ok())),
                20_000,
            );
            println!("cache hit (RS256 token): median {us:.2} µs");
        }
    }
}
