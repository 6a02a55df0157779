//! Token verification cost per algorithm (natively), and a cache hit.
//! `cargo bench --bench tokens`. Inside Envoy (V8) see `make bench-envoy`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use intercom_authz::token::{TokenConfig, TokenVerifier};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

const NOW: u64 = 1_800_000_000;

fn keys() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn read(f: &str) -> Vec<u8> {
    std::fs::read(keys().join(f)).unwrap()
}

fn verifier(cache_size: usize) -> TokenVerifier {
    let mut cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(keys().join("../configs/default.json")).unwrap(),
    )
    .unwrap();
    cfg["token"]["cache_size"] = serde_json::json!(cache_size);
    let cfg: TokenConfig = serde_json::from_value(cfg["token"].clone()).unwrap();
    TokenVerifier::new(cfg, intercom_authz::token::NoKeys::Error).unwrap()
}

fn bench(c: &mut Criterion) {
    let secret = read("hs.secret");
    let algs: [(&str, Algorithm, EncodingKey); 12] = [
        ("hs1", Algorithm::HS256, EncodingKey::from_secret(&secret)),
        ("hs384", Algorithm::HS384, EncodingKey::from_secret(&secret)),
        ("hs512", Algorithm::HS512, EncodingKey::from_secret(&secret)),
        (
            "rs1",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "rs384",
            Algorithm::RS384,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "rs512",
            Algorithm::RS512,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "ps1",
            Algorithm::PS256,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "ps384",
            Algorithm::PS384,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "ps512",
            Algorithm::PS512,
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        (
            "es1",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&read("ec.pem")).unwrap(),
        ),
        (
            "es384",
            Algorithm::ES384,
            EncodingKey::from_ec_pem(&read("ec384.pem")).unwrap(),
        ),
        (
            "ed1",
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&read("ed.pem")).unwrap(),
        ),
    ];
    let claims = serde_json::json!({"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": "42", "role": "agent", "iat": NOW - 60, "exp": NOW + 3600});
    let cold = verifier(0);
    let cached = verifier(1024);
    let mut g = c.benchmark_group("verify");
    for (kid, alg, key) in &algs {
        let mut h = Header::new(*alg);
        h.kid = Some((*kid).into());
        let bearer = format!("Bearer {}", encode(&h, &claims, key).unwrap());
        assert!(cold.authenticate(Some(&bearer), NOW).is_ok(), "{kid}");
        g.bench_function(format!("{alg:?}"), |b| {
            b.iter(|| cold.authenticate(black_box(Some(&bearer)), NOW).is_ok())
        });
        if *kid == "rs1" {
            cached.authenticate(Some(&bearer), NOW).unwrap();
            g.bench_function("cache hit (RS256 token)", |b| {
                b.iter(|| cached.authenticate(black_box(Some(&bearer)), NOW).is_ok())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
