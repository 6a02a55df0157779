//! Asymmetric signatures verified by `ring` (feature `ring-verify`, on for the filter):
//! RS256/384/512, PS256/384/512, ES256, ES384 and EdDSA.
//!
//! jsonwebtoken's `CryptoProvider` takes a `verifier_factory`: this one serves those algorithms
//! with `ring` and hands HMAC to the default RustCrypto provider. Signing, key parsing and JWK
//! utilities stay RustCrypto's. The key must have the exact form `ring` verifies (an
//! uncompressed EC point of the curve's size, a 32-byte Ed25519 key), or the factory refuses
//! it, so a key `ring` could never verify with is a configuration error at load (`probe`), not
//! a 401 on every request. `tests` below prove it equal to the default provider on valid,
//! tampered and mismatched inputs.

use std::boxed::Box;
use std::sync::Once;
use std::vec::Vec;

#[cfg(feature = "rust-crypto")]
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};

/// What `ring` verifies with.
enum Scheme {
    Hmac(ring::hmac::Algorithm),
    Rsa(&'static RsaParameters),
    /// ECDSA (fixed-size `r || s`, as JWS sends it) or Ed25519, with the key's exact length.
    Raw(&'static dyn signature::VerificationAlgorithm),
}

struct Ring {
    alg: Algorithm,
    scheme: Scheme,
    key: DecodingKey,
}

impl jsonwebtoken::signature::Verifier<Vec<u8>> for Ring {
    fn verify(
        &self,
        msg: &[u8],
        sig: &Vec<u8>,
    ) -> std::result::Result<(), jsonwebtoken::signature::Error> {
        let ok = match (&self.scheme, self.key.kind()) {
            // Constant time (ring::hmac::verify).
            (Scheme::Hmac(a), DecodingKeyKind::SecretOrDer(secret)) => {
                ring::hmac::verify(&ring::hmac::Key::new(*a, secret), msg, sig).is_ok()
            }
            (Scheme::Hmac(_), DecodingKeyKind::RsaModulusExponent { .. }) => false,
            (Scheme::Rsa(p), DecodingKeyKind::SecretOrDer(der)) => {
                UnparsedPublicKey::new(*p, der).verify(msg, sig).is_ok()
            }
            (Scheme::Rsa(p), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(p, msg, sig).is_ok()
            }
            (Scheme::Raw(a), DecodingKeyKind::SecretOrDer(key)) => {
                UnparsedPublicKey::new(*a, key).verify(msg, sig).is_ok()
            }
            (Scheme::Raw(_), DecodingKeyKind::RsaModulusExponent { .. }) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(jsonwebtoken::signature::Error::new())
        }
    }
}

impl JwtVerifier for Ring {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// The key's family and, for EC and Ed25519, its exact form: what `ring` accepts.
fn fits(alg: Algorithm, key: &DecodingKey) -> bool {
    let raw = match key.kind() {
        DecodingKeyKind::SecretOrDer(k) => k.as_slice(),
        DecodingKeyKind::RsaModulusExponent { .. } => &[],
    };
    match alg {
        Algorithm::ES256 => {
            key.family() == AlgorithmFamily::Ec && raw.len() == 65 && raw.first() == Some(&4)
        }
        Algorithm::ES384 => {
            key.family() == AlgorithmFamily::Ec && raw.len() == 97 && raw.first() == Some(&4)
        }
        Algorithm::EdDSA => key.family() == AlgorithmFamily::Ed && raw.len() == 32,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            key.family() == AlgorithmFamily::Hmac
        }
        _ => key.family() == AlgorithmFamily::Rsa,
    }
}

/// The verifier factory: every algorithm by ring.
pub fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let scheme = match alg {
        Algorithm::RS256 => Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Scheme::Rsa(&signature::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Scheme::Rsa(&signature::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Scheme::Rsa(&signature::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => Scheme::Raw(&signature::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Scheme::Raw(&signature::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA => Scheme::Raw(&signature::ED25519),
        Algorithm::HS256 => Scheme::Hmac(ring::hmac::HMAC_SHA256),
        Algorithm::HS384 => Scheme::Hmac(ring::hmac::HMAC_SHA384),
        Algorithm::HS512 => Scheme::Hmac(ring::hmac::HMAC_SHA512),
        // `Algorithm` is non-exhaustive: an algorithm this crate does not know verifies nothing.
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    if !fits(*alg, key) {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(Ring {
        alg: *alg,
        scheme,
        key: key.clone(),
    }))
}

type SignerFactory = fn(&Algorithm, &jsonwebtoken::EncodingKey) -> Result<Box<dyn JwtSigner>>;

/// Signing and JWK utilities: RustCrypto's where it is built in (tests, the CLI), and where it
/// is not (the filter ships verification only) an error, never jsonwebtoken's panicking stubs.
#[cfg(feature = "rust-crypto")]
fn signing() -> (SignerFactory, KeyUtils) {
    (
        DEFAULT_PROVIDER.signer_factory,
        DEFAULT_PROVIDER.key_utils.clone(),
    )
}

#[cfg(not(feature = "rust-crypto"))]
fn signing() -> (SignerFactory, KeyUtils) {
    let utils = KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidKeyFormat.into()),
        compute_digest: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
    };
    (|_, _| Err(ErrorKind::InvalidAlgorithm.into()), utils)
}

static INSTALL: Once = Once::new();

/// Installs the provider for the process (once; a provider installed earlier wins). Called
/// before any key is parsed or token verified (`token.rs`).
pub fn install() {
    INSTALL.call_once(|| {
        let (signer_factory, key_utils) = signing();
        let provider: &'static CryptoProvider = Box::leak(Box::new(CryptoProvider {
            signer_factory,
            verifier_factory: verifier,
            key_utils,
        }));
        let _ = provider.install_default();
    });
}

#[cfg(test)]
#[cfg(feature = "rust-crypto")]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use jsonwebtoken::{encode, EncodingKey, Header};

    fn read(f: &str) -> Vec<u8> {
        std::fs::read(std::format!(
            "{}/tests/keys/{f}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Every (algorithm, signer, key) combination, and the message and signature tampered:
    /// `ring` and the default provider agree, and each refuses the same keys.
    fn agree(algs: &[Algorithm], signers: &[&EncodingKey], keys: &[&DecodingKey]) -> usize {
        let mut n = 0;
        for &alg in algs {
            for signer in signers {
                let token =
                    encode(&Header::new(alg), &serde_json::json!({"sub": "1"}), signer).unwrap();
                let (msg, sig) = token.rsplit_once('.').unwrap();
                let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
                let mut bad_sig = sig.clone();
                bad_sig[10] ^= 1;
                let bad_msg = std::format!("{msg}x");
                let short: Vec<u8> = sig[..sig.len() - 1].to_vec();
                for key in keys {
                    for (m, s) in [
                        (msg.as_bytes(), &sig),
                        (msg.as_bytes(), &bad_sig),
                        (bad_msg.as_bytes(), &sig),
                        (msg.as_bytes(), &short),
                    ] {
                        let ours = verifier(&alg, key).map(|v| v.verify(m, s).is_ok());
                        let theirs = (DEFAULT_PROVIDER.verifier_factory)(&alg, key)
                            .map(|v| v.verify(m, s).is_ok());
                        assert_eq!(ours.as_ref().ok(), theirs.as_ref().ok(), "{alg:?}");
                        assert_eq!(ours.is_err(), theirs.is_err(), "{alg:?}");
                        n += 1;
                    }
                }
            }
        }
        n
    }

    #[test]
    fn ring_agrees_with_the_default_provider_on_ec_and_ed25519() {
        let p256 = EncodingKey::from_ec_pem(&read("ec.pem")).unwrap();
        let p384 = EncodingKey::from_ec_pem(&read("ec384.pem")).unwrap();
        let ed = EncodingKey::from_ed_pem(&read("ed.pem")).unwrap();
        let jwk = |k: &EncodingKey, a| {
            DecodingKey::from_jwk(&jsonwebtoken::jwk::Jwk::from_encoding_key(k, a).unwrap())
                .unwrap()
        };
        let keys = [
            DecodingKey::from_ec_pem(&read("ec.pub.pem")).unwrap(),
            jwk(&p256, Algorithm::ES256),
            DecodingKey::from_ec_pem(&read("ec384.pub.pem")).unwrap(),
            jwk(&p384, Algorithm::ES384),
            DecodingKey::from_ed_pem(&read("ed.pub.pem")).unwrap(),
            jwk(&ed, Algorithm::EdDSA),
            DecodingKey::from_rsa_pem(&read("rsa.pub.pem")).unwrap(),
        ];
        let keys: Vec<&DecodingKey> = keys.iter().collect();
        let n = agree(&[Algorithm::ES256], &[&p256], &keys)
            + agree(&[Algorithm::ES384], &[&p384], &keys)
            + agree(&[Algorithm::EdDSA], &[&ed], &keys);
        assert_eq!(n, 3 * 7 * 4);
    }

    #[test]
    fn ring_agrees_with_the_default_provider_on_hmac() {
        let secret = b"intercom-authz-hs512-test-secret-0123456789abcdef0123456789abcdef";
        let enc = EncodingKey::from_secret(secret);
        let keys = [
            DecodingKey::from_secret(secret),
            DecodingKey::from_secret(
                b"another-secret-0123456789abcdef-another-secret-0123456789abcdef",
            ),
            DecodingKey::from_rsa_pem(&read("rsa.pub.pem")).unwrap(),
        ];
        let keys: Vec<&DecodingKey> = keys.iter().collect();
        let n = agree(
            &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            &[&enc],
            &keys,
        );
        assert_eq!(n, 3 * 3 * 4);
    }

    #[test]
    fn a_key_ring_cannot_use_is_refused_when_loaded() {
        // A compressed P-256 point (RustCrypto would take it) and an Ed25519 key of 31 bytes.
        let compressed = DecodingKey::from_ec_der(&[2u8; 33]);
        assert!(verifier(&Algorithm::ES256, &compressed).is_err());
        let short = DecodingKey::from_ed_der(&[7u8; 31]);
        assert!(verifier(&Algorithm::EdDSA, &short).is_err());
    }

    /// RSA: valid, tampered signature or message, another key, a key of the wrong family, and
    /// JWK-style (n, e) keys.
    #[test]
    fn ring_agrees_with_the_default_provider() {
        let enc = EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap();
        let other = EncodingKey::from_rsa_pem(&read("rsa-other.pem")).unwrap();
        let pem_key = DecodingKey::from_rsa_pem(&read("rsa.pub.pem")).unwrap();
        let jwk_key = {
            let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap();
            let key = DecodingKey::from_jwk(&jwk).unwrap();
            assert!(matches!(
                key.kind(),
                DecodingKeyKind::RsaModulusExponent { .. }
            ));
            key
        };
        let ec_key = DecodingKey::from_ec_pem(&read("ec.pub.pem")).unwrap();
        let rsa = [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ];
        let n = agree(&rsa, &[&enc, &other], &[&pem_key, &jwk_key, &ec_key]);
        assert_eq!(n, 6 * 2 * 3 * 4);
    }
}
