//! Verification keys: configured ones (a secret, PEM, a JWK) and JWKS documents, each with
//! its algorithm pinned; a key that cannot verify is refused at load, naming it.

use std::format;
use std::string::String;
use std::vec::Vec;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
#[cfg(test)]
use serde::Deserialize;
use serde_json::Value;

use super::KeyConfig;

/// A key ready to verify.
#[derive(Clone)]
pub struct VerifyKey {
    /// The key id.
    pub kid: Option<String>,
    /// The pinned algorithm.
    pub alg: Algorithm,
    pub(crate) key: DecodingKey,
}

impl core::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VerifyKey({:?}, {:?})", self.kid, self.alg)
    }
}

pub(crate) fn parse_alg(s: &str) -> Option<Algorithm> {
    Some(match s {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// An HMAC key, refused when shorter than the hash: RFC 7518 §3.2 says a key "of the same
/// size as the hash output … or larger MUST be used" (32 bytes for HS256, 48, 64).
pub(crate) fn hmac_key(secret: &[u8], alg: Algorithm, owner: &str) -> Result<DecodingKey, String> {
    let need = match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    };
    if secret.len() < need {
        return Err(format!(
            "{owner} has a {}-byte secret; `{alg:?}` needs at least {need} bytes (RFC 7518 §3.2)",
            secret.len()
        ));
    }
    Ok(DecodingKey::from_secret(secret))
}

/// Checks a key against its algorithm once, at load, so a bad key is a configuration error
/// and not a 401 on every request.
pub(crate) fn probe(key: &DecodingKey, alg: Algorithm) -> Result<(), String> {
    #[cfg(feature = "ring-verify")]
    crate::ring_verify::install();
    // jsonwebtoken slices an Ed25519 key with `[..32]`: a shorter one panics (a trapped VM in
    // the filter, from a JWKS document), a longer one is silently cut. Found by `fuzz/config`.
    if alg == Algorithm::EdDSA && key.try_get_as_bytes().map_or(true, |k| k.len() != 32) {
        return Err("an Ed25519 public key is 32 bytes".into());
    }
    match jsonwebtoken::crypto::verify("AAAA", b"probe", key, alg) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::Base64(_) => Ok(()),
            _ => Err(format!("the key does not fit `{alg:?}`")),
        },
    }
}

/// Parses one key of the configuration; `owner` names it in errors.
pub fn load_key(k: &KeyConfig, owner: &str) -> Result<VerifyKey, String> {
    if let Some(jwk) = &k.jwk {
        let mut key = parse_jwk(jwk, owner)?;
        if k.kid.is_some() {
            key.kid = k.kid.clone();
        }
        return Ok(key);
    }
    let alg_name = k
        .alg
        .as_deref()
        .ok_or_else(|| format!("{owner} needs `alg` (the algorithm is pinned per key)"))?;
    let alg =
        parse_alg(alg_name).ok_or_else(|| format!("unknown algorithm `{alg_name}` in {owner}"))?;
    let sources = [
        k.secret.is_some(),
        k.secret_env.is_some(),
        k.secret_base64.is_some(),
        k.pem.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(format!(
            "{owner} needs exactly one of `secret`, `secret_env`, `secret_base64`, `pem`, `jwk`"
        ));
    }
    let key = if is_hmac(alg) {
        let secret: Vec<u8> = if let Some(s) = &k.secret {
            s.as_bytes().to_vec()
        } else if let Some(var) = &k.secret_env {
            std::env::var(var)
                .map_err(|_| format!("environment variable `{var}` named by {owner} is not set"))?
                .into_bytes()
        } else if let Some(b) = &k.secret_base64 {
            STANDARD
                .decode(b.trim())
                .map_err(|_| format!("`secret_base64` of {owner} is not base64"))?
        } else {
            return Err(format!(
                "{owner}: `{alg_name}` needs a secret, not a PEM key"
            ));
        };
        hmac_key(&secret, alg, owner)?
    } else {
        let pem = k.pem.as_deref().ok_or_else(|| {
            format!("{owner}: `{alg_name}` needs a `pem` public key, not a secret")
        })?;
        crate::pem::decoding_key(pem, alg)
            .ok_or_else(|| format!("the `pem` of {owner} is not a valid {alg_name} public key"))?
    };
    probe(&key, alg).map_err(|e| format!("{owner}: {e}"))?;
    Ok(VerifyKey {
        kid: k.kid.clone(),
        alg,
        key,
    })
}

/// A JWK's fields, as read: each absent, `null` or a string (anything else, or a JWK that is not
/// an object, is refused); other members are ignored.
#[cfg_attr(test, derive(Deserialize, Debug, PartialEq))]
pub(crate) struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[cfg_attr(test, serde(rename = "use"))]
    use_: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
}

impl RawJwk {
    /// Read by hand rather than through `serde_json::from_value` (a derived visitor and a copy
    /// of the value); held to the derive by `tests::raw_jwk_reads_as_the_derive`.
    pub(crate) fn read(v: &Value) -> Option<RawJwk> {
        let m = v.as_object()?;
        let field = |name: &str| match m.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        };
        Some(RawJwk {
            kty: field("kty")?,
            kid: field("kid")?,
            alg: field("alg")?,
            use_: field("use")?,
            crv: field("crv")?,
            n: field("n")?,
            e: field("e")?,
            x: field("x")?,
            y: field("y")?,
            k: field("k")?,
        })
    }
}

/// Parses one JWK. The algorithm is the JWK's `alg`, or follows from `kty`/`crv` (RSA: RS256,
/// EC P-256: ES256, EC P-384: ES384, OKP Ed25519: EdDSA, oct: HS256).
pub fn parse_jwk(v: &Value, owner: &str) -> Result<VerifyKey, String> {
    let raw = RawJwk::read(v).ok_or_else(|| format!("{owner} is not a JWK object"))?;
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(format!(
            "{owner} is not a signature key (`use` is not `sig`)"
        ));
    }
    let kty = raw
        .kty
        .as_deref()
        .ok_or_else(|| format!("{owner} has no `kty`"))?;
    let alg = match raw.alg.as_deref() {
        Some(a) => parse_alg(a).ok_or_else(|| format!("unsupported `alg` `{a}` in {owner}"))?,
        None => match (kty, raw.crv.as_deref()) {
            ("RSA", _) => Algorithm::RS256,
            ("EC", Some("P-256")) => Algorithm::ES256,
            ("EC", Some("P-384")) => Algorithm::ES384,
            ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
            ("oct", _) => Algorithm::HS256,
            _ => {
                return Err(format!(
                    "{owner}: cannot tell the algorithm of a `{kty}` key"
                ))
            }
        },
    };
    let need = |f: &Option<String>, name: &str| -> Result<String, String> {
        f.clone().ok_or_else(|| format!("{owner} has no `{name}`"))
    };
    let key = match (kty, alg) {
        (
            "RSA",
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => DecodingKey::from_rsa_components(&need(&raw.n, "n")?, &need(&raw.e, "e")?),
        ("EC", Algorithm::ES256 | Algorithm::ES384) => {
            let want = if alg == Algorithm::ES256 {
                "P-256"
            } else {
                "P-384"
            };
            if raw.crv.as_deref() != Some(want) {
                return Err(format!("{owner}: curve does not match `{alg:?}`"));
            }
            DecodingKey::from_ec_components(&need(&raw.x, "x")?, &need(&raw.y, "y")?)
        }
        ("OKP", Algorithm::EdDSA) => DecodingKey::from_ed_components(&need(&raw.x, "x")?),
        ("oct", Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
            let k = URL_SAFE_NO_PAD
                .decode(need(&raw.k, "k")?)
                .map_err(|_| format!("{owner}: `k` is not base64url"))?;
            Ok(hmac_key(&k, alg, owner)?)
        }
        _ => {
            return Err(format!(
                "{owner}: `alg` `{alg:?}` does not fit a `{kty}` key"
            ))
        }
    }
    .map_err(|_| format!("{owner} has invalid key material"))?;
    probe(&key, alg).map_err(|e| format!("{owner}: {e}"))?;
    Ok(VerifyKey {
        kid: raw.kid,
        alg,
        key,
    })
}

/// Parses a JWKS document. Keys that cannot verify signatures (encryption keys, unsupported
/// types) are skipped and reported in the second value; a document with no usable key is an
/// error.
pub fn parse_jwks(doc: &[u8]) -> Result<(Vec<VerifyKey>, Vec<String>), String> {
    let v: Value = serde_json::from_slice(doc).map_err(|_| String::from("the JWKS is not JSON"))?;
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| String::from("the JWKS has no `keys` array"))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match parse_jwk(k, &format!("JWKS key {i}")) {
            Ok(key) => out.push(key),
            Err(e) => skipped.push(e),
        }
    }
    if out.is_empty() {
        return Err(format!(
            "the JWKS has no usable signature key ({})",
            skipped.join("; ")
        ));
    }
    Ok((out, skipped))
}
