//! Public keys from PEM (`src/pem.rs`, a hand-written DER reader), on any bytes: the first byte
//! picks the PEM label and the algorithm, the rest is the DER (seeds: the test keys' DER, and
//! a self-signed certificate). Properties: never a panic; a key read from `PUBLIC KEY` or
//! `RSA PUBLIC KEY` is one jsonwebtoken's own PEM parser (`use_pem`) reads too, with the same
//! bytes — ours is only ever stricter. (Not for `CERTIFICATE`: there jsonwebtoken takes the
//! first BIT STRING anywhere in the certificate, we take the subject's key.)
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use intercom_authz::pem::decoding_key;
use jsonwebtoken::{Algorithm, DecodingKey};

const LABELS: [&str; 3] = ["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"];
const ALGS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn theirs(pem: &str, alg: Algorithm) -> Option<Vec<u8>> {
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
        _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
    };
    Some(key.ok()?.try_get_as_bytes().ok()?.to_vec())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, der)) = data.split_first() else {
        return;
    };
    let label = LABELS[usize::from(pick) % LABELS.len()];
    let alg = ALGS[usize::from(pick / 3) % ALGS.len()];
    let b64 = STANDARD.encode(der);
    let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
    let Some(ours) = decoding_key(&pem, alg) else {
        return;
    };
    let ours = ours
        .try_get_as_bytes()
        .expect("a public key has bytes")
        .to_vec();
    if label == "CERTIFICATE" {
        return;
    }
    assert_eq!(
        theirs(&pem, alg).as_deref(),
        Some(ours.as_slice()),
        "{label} as {alg:?}: we read a key jsonwebtoken does not (or reads otherwise)"
    );
});
