//! `token --secret S --role R`: mint an HS256 token for local testing. The secret is checked
//! as every front-end checks a configured `secret` (the std layer's `load_key`): a token
//! signed with a secret they would refuse could never be verified.

use std::process::ExitCode;

use intercom_authz::token::{load_key, KeyConfig};

use crate::common::*;

/// The secret, as a configured HS256 key's `secret`: refused in the same words.
fn check_secret(secret: &str) -> Result<()> {
    let key = KeyConfig {
        alg: Some("HS256".into()),
        secret: Some(secret.into()),
        ..KeyConfig::default()
    };
    load_key(&key, "`--secret`").map(|_| ())
}

pub fn token(
    secret: &str,
    role: &str,
    claims: Option<String>,
    ttl: &str,
    kid: Option<String>,
    sub: &str,
) -> Result<ExitCode> {
    let ttl = intercom_authz::policy::parse_duration(ttl)
        .ok_or_else(|| format!("`--ttl {ttl}` is not a duration (use `3600`, `30m`, `1h`)"))?;
    check_secret(secret)?;
    let t = now();
    let mut c = serde_json::json!({"sub": sub, "role": role, "iat": t, "exp": t + ttl});
    if let Some(extra) = claims {
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&extra)
            .map_err(|e| format!("`--claims` is not a JSON object: {e}"))?;
        if let Some(o) = c.as_object_mut() {
            o.extend(extra);
        }
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid;
    let tok = jsonwebtoken::encode(
        &header,
        &c,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|_| "cannot sign the token".to_string())?;
    outln!("{tok}");
    Ok(ExitCode::SUCCESS)
}
