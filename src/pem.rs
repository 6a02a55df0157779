//! Public keys from PEM (std, the token layer): `PUBLIC KEY` (SubjectPublicKeyInfo),
//! `RSA PUBLIC KEY` (PKCS#1) and `CERTIFICATE` (X.509: its SubjectPublicKeyInfo).
//!
//! A small strict DER reader instead of jsonwebtoken's `use_pem` (the `pem` and `simple_asn1`
//! crates, which pull `time`: ~100 KB of the filter). Stricter than it, too: the key's
//! algorithm OID (and an EC key's curve) must be the one the key is pinned to, where
//! jsonwebtoken takes the first BIT STRING it finds (an `id-RSASSA-PSS` key is refused: give
//! PS* keys as `rsaEncryption`; a certificate is a container for its key, never validated).
//! `tests` prove it accepts the same keys as
//! jsonwebtoken's PEM parser, with the same bytes, and refuses every truncation.

use std::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// One DER element: tag and contents; the rest of the input after it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let (bytes, rest) = rest.split_at_checked(n)?;
            let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
            // DER: the shortest length form.
            if len < 0x80 || bytes.first() == Some(&0) {
                return None;
            }
            (len, rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The contents of an element with tag `want`, and what follows it.
fn tagged(der: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = element(der)?;
    (tag == want).then_some((contents, rest))
}

/// SubjectPublicKeyInfo → (algorithm OID, parameters element, key bytes).
fn spki(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (info, rest) = tagged(der, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (alg_id, rest) = tagged(info, SEQUENCE)?;
    let (bits, end) = tagged(rest, BIT_STRING)?;
    let (oid, params) = tagged(alg_id, OID)?;
    // No unused bits: a key is whole bytes.
    let key = bits.strip_prefix(&[0])?;
    end.is_empty().then_some((oid, params, key))
}

/// An X.509 certificate → its SubjectPublicKeyInfo element. The certificate is only a
/// container for the key here: its signature, validity and chain are not checked (as with
/// jsonwebtoken); the configuration is what vouches for the key.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (cert, rest) = tagged(der, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (mut tbs, _) = tagged(cert, SEQUENCE)?;
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2; // [0] version
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        tbs = tagged(tbs, tag)?.1;
    }
    let (_, _, after) = element(tbs)?;
    tbs.get(..tbs.len() - after.len())
}

/// The PEM's label and DER contents (one block; text around it is ignored, as OpenSSL does).
fn armor(pem: &str) -> Option<(&str, Vec<u8>)> {
    const BEGIN: &str = "-----BEGIN ";
    let start = pem.find(BEGIN)?;
    let (label, body) = pem.get(start + BEGIN.len()..)?.split_once("-----")?;
    let (b64, _) = body.split_once(std::format!("-----END {label}-----").as_str())?;
    let text: Vec<u8> = b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    Some((label, STANDARD.decode(text).ok()?))
}

fn is_rsa(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    )
}

/// A PEM public key for `alg`, or `None` when it is not one (wrong type, curve, or encoding).
pub fn decoding_key(pem: &str, alg: Algorithm) -> Option<DecodingKey> {
    let (label, der) = armor(pem)?;
    let info = match label {
        "RSA PUBLIC KEY" => {
            let rsa = is_rsa(alg);
            // PKCS#1 RSAPublicKey: one SEQUENCE of two INTEGERs.
            let (body, rest) = tagged(&der, SEQUENCE)?;
            let (_, e) = tagged(body, INTEGER)?;
            let (_, e_rest) = tagged(e, INTEGER)?;
            return (rsa && rest.is_empty() && e_rest.is_empty())
                .then(|| DecodingKey::from_rsa_der(&der));
        }
        "PUBLIC KEY" => der.as_slice(),
        "CERTIFICATE" => certificate_spki(&der)?,
        _ => return None,
    };
    let (oid, params, key) = spki(info)?;
    // namedCurve: one OID and nothing after it.
    let curve = || {
        tagged(params, OID)
            .filter(|(_, rest)| rest.is_empty())
            .map(|(c, _)| c)
    };
    match alg {
        Algorithm::ES256 => {
            (oid == EC && curve() == Some(P256)).then(|| DecodingKey::from_ec_der(key))
        }
        Algorithm::ES384 => {
            (oid == EC && curve() == Some(P384)).then(|| DecodingKey::from_ec_der(key))
        }
        Algorithm::EdDSA => {
            (oid == ED25519 && params.is_empty()).then(|| DecodingKey::from_ed_der(key))
        }
        // rsaEncryption's parameters are NULL (RFC 3279 §2.3.1); some encoders omit them. An
        // id-RSASSA-PSS key (RFC 4055) is refused: give PS* keys as rsaEncryption.
        _ if is_rsa(alg) => (oid == RSA && matches!(params, [] | [0x05, 0x00]))
            .then(|| DecodingKey::from_rsa_der(key)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn read(f: &str) -> String {
        std::fs::read_to_string(std::format!(
            "{}/tests/keys/{f}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    const KEYS: [(&str, Algorithm); 4] = [
        ("rsa.pub.pem", Algorithm::RS256),
        ("ec.pub.pem", Algorithm::ES256),
        ("ec384.pub.pem", Algorithm::ES384),
        ("ed.pub.pem", Algorithm::EdDSA),
    ];

    fn bytes(k: &DecodingKey) -> Vec<u8> {
        k.try_get_as_bytes().unwrap().to_vec()
    }

    /// The same key bytes as jsonwebtoken's own PEM parser, for every test key.
    #[cfg(feature = "rust-crypto")]
    #[test]
    fn same_keys_as_jsonwebtoken() {
        for (f, alg) in KEYS {
            let pem = read(f);
            let theirs = match alg {
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
                _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
            }
            .unwrap();
            assert_eq!(
                bytes(&decoding_key(&pem, alg).unwrap()),
                bytes(&theirs),
                "{f}"
            );
        }
    }

    #[test]
    fn a_key_is_read_only_for_its_own_algorithm() {
        for (f, alg) in KEYS {
            for (_, other) in KEYS {
                let got = decoding_key(&read(f), other).is_some();
                assert_eq!(got, other == alg, "{f} as {other:?}");
            }
            assert!(decoding_key(&read(f), Algorithm::HS256).is_none());
        }
        // Every RSA algorithm reads an RSA key.
        for alg in [Algorithm::RS512, Algorithm::PS256, Algorithm::PS512] {
            assert!(decoding_key(&read("rsa.pub.pem"), alg).is_some());
        }
    }

    /// PKCS#1 (`RSA PUBLIC KEY`) is the SPKI's inner key, and gives the same key.
    #[test]
    fn pkcs1_reads_as_the_spki_key() {
        let spki_key = decoding_key(&read("rsa.pub.pem"), Algorithm::RS256).unwrap();
        let der = bytes(&spki_key);
        let b64 = STANDARD.encode(&der);
        let pkcs1 =
            std::format!("-----BEGIN RSA PUBLIC KEY-----\n{b64}\n-----END RSA PUBLIC KEY-----\n");
        assert_eq!(bytes(&decoding_key(&pkcs1, Algorithm::RS256).unwrap()), der);
        for alg in [
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::HS256,
            Algorithm::HS512,
        ] {
            assert!(decoding_key(&pkcs1, alg).is_none(), "{alg:?}");
        }
    }

    /// Every truncation and every changed length byte is refused or reads a different key,
    /// never a panic.
    #[test]
    fn damaged_der_is_refused() {
        for (f, alg) in KEYS {
            let pem = read(f);
            let (label, der) = armor(&pem).unwrap();
            let good = bytes(&decoding_key(&pem, alg).unwrap());
            for cut in 0..der.len() {
                let b64 = STANDARD.encode(&der[..cut]);
                let p = std::format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
                assert!(decoding_key(&p, alg).is_none(), "{f} cut at {cut}");
            }
            for i in 0..der.len() {
                let mut d = der.clone();
                d[i] ^= 0x80;
                let b64 = STANDARD.encode(&d);
                let p = std::format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
                if let Some(k) = decoding_key(&p, alg) {
                    assert_ne!(bytes(&k), good, "{f}: byte {i} flipped, same key");
                }
            }
        }
    }

    /// A certificate gives its subject's key (`rsa.cert.pem` is a self-signed certificate of
    /// `rsa.pem`), as with jsonwebtoken.
    #[test]
    fn a_certificate_gives_its_key() {
        let cert = decoding_key(&read("rsa.cert.pem"), Algorithm::RS256).unwrap();
        let key = decoding_key(&read("rsa.pub.pem"), Algorithm::RS256).unwrap();
        assert_eq!(bytes(&cert), bytes(&key));
        #[cfg(feature = "rust-crypto")]
        assert_eq!(
            bytes(&DecodingKey::from_rsa_pem(read("rsa.cert.pem").as_bytes()).unwrap()),
            bytes(&key)
        );
        assert!(decoding_key(&read("rsa.cert.pem"), Algorithm::ES256).is_none());
    }

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        std::format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
    }

    /// Bytes after a certificate, or after an EC key's curve, are refused.
    #[test]
    fn trailing_bytes_are_refused() {
        let (_, mut cert) = armor(&read("rsa.cert.pem")).unwrap();
        cert.extend([0x05, 0x00]);
        assert!(decoding_key(&pem("CERTIFICATE", &cert), Algorithm::RS256).is_none());
        // ec.pub.pem's SPKI with `05 00` after the curve OID (lengths adjusted).
        let (_, der) = armor(&read("ec.pub.pem")).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x59, 0x30, 0x13]);
        let mut bad = std::vec![0x30, 0x5b, 0x30, 0x15];
        bad.extend(&der[4..4 + 0x13]);
        bad.extend([0x05, 0x00]);
        bad.extend(&der[4 + 0x13..]);
        assert!(decoding_key(&pem("PUBLIC KEY", &bad), Algorithm::ES256).is_none());
        assert!(decoding_key(&pem("PUBLIC KEY", &der), Algorithm::ES256).is_some());
    }

    #[test]
    fn not_a_public_key() {
        assert!(decoding_key(&read("rsa.pem"), Algorithm::RS256).is_none());
        assert!(decoding_key("", Algorithm::RS256).is_none());
        assert!(decoding_key(
            "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----",
            Algorithm::RS256
        )
        .is_none());
    }
}
