//! RS256/384/512 and PS256/384/512 verified by `ring` (feature `fast-rsa`, on for the filter).
//!
//! jsonwebtoken's `CryptoProvider` takes a `verifier_factory`: this one serves the RSA
//! algorithms with `ring` and hands every other algorithm to the default RustCrypto provider.
//! Signing, key parsing and JWK utilities stay RustCrypto's. `tests` below prove it equal to
//! the default provider on valid, tampered and mismatched inputs.

use std::boxed::Box;
use std::sync::Once;
use std::vec::Vec;

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};

struct RingRsa {
    alg: Algorithm,
    params: &'static RsaParameters,
    key: DecodingKey,
}

impl jsonwebtoken::signature::Verifier<Vec<u8>> for RingRsa {
    fn verify(
        &self,
        msg: &[u8],
        sig: &Vec<u8>,
    ) -> std::result::Result<(), jsonwebtoken::signature::Error> {
        let ok = match self.key.kind() {
            DecodingKeyKind::SecretOrDer(der) => UnparsedPublicKey::new(self.params, der)
                .verify(msg, sig)
                .is_ok(),
            DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents { n, e }
                .verify(self.params, msg, sig)
                .is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(jsonwebtoken::signature::Error::new())
        }
    }
}

impl JwtVerifier for RingRsa {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// The verifier factory: ring for RSA, the default provider for the rest.
pub fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let params: &'static RsaParameters = match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return (DEFAULT_PROVIDER.verifier_factory)(alg, key),
    };
    if key.family() != jsonwebtoken::AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingRsa {
        alg: *alg,
        params,
        key: key.clone(),
    }))
}

static INSTALL: Once = Once::new();

/// Installs the provider for the process (once; a provider installed earlier wins).
pub fn install() {
    INSTALL.call_once(|| {
        let provider: &'static CryptoProvider = Box::leak(Box::new(CryptoProvider {
            signer_factory: DEFAULT_PROVIDER.signer_factory,
            verifier_factory: verifier,
            key_utils: DEFAULT_PROVIDER.key_utils.clone(),
        }));
        let _ = provider.install_default();
    });
}

#[cfg(test)]
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

    /// Both providers give the same answer: valid, tampered signature, tampered message, another
    /// key, a key of the wrong family, and JWK-style (n, e) keys.
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
        let mut n = 0;
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            for signer in [&enc, &other] {
                let token =
                    encode(&Header::new(alg), &serde_json::json!({"sub": "1"}), signer).unwrap();
                let (msg, sig) = token.rsplit_once('.').unwrap();
                let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
                let mut bad_sig = sig.clone();
                bad_sig[10] ^= 1;
                let bad_msg = std::format!("{msg}x");
                for key in [&pem_key, &jwk_key, &ec_key] {
                    for (m, s) in [
                        (msg.as_bytes(), &sig),
                        (msg.as_bytes(), &bad_sig),
                        (bad_msg.as_bytes(), &sig),
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
        assert_eq!(n, 6 * 2 * 3 * 3);
    }
}
