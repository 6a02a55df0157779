//! What every command shares: reading a configuration (full, a bare policy, or the one an
//! Envoy or Istio YAML file embeds), compiling it.

use intercom_authz::authorizer::{Authorizer, Config};
use intercom_authz::policy::Policy;

use crate::embedded;
pub use crate::files::{read, Result};

/// A configuration file's JSON: a full configuration (a bare policy is wrapped as
/// `{"policy": …}`), or the plugin configuration an Envoy or Istio YAML file embeds (see
/// `embedded.rs`; `FILE.yaml#ID` names one of several), read as `check` and `lint` read it.
pub fn load_value(path: &str) -> Result<serde_json::Value> {
    if embedded::is_yaml(path) {
        return embedded::one(path);
    }
    let text = read(path)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{path}` is not valid JSON: {e}"))?;
    let full = value.as_object().is_some_and(|o| {
        [
            "policy",
            "token",
            "mode",
            "upstream",
            "audit",
            "remote_jwks",
            "max_body_bytes",
            "request_id_header",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    });
    Ok(if full {
        value
    } else {
        serde_json::json!({ "policy": value })
    })
}

/// A configuration file: a full configuration, or a bare policy.
pub fn load_config(path: &str) -> Result<Config> {
    config_of(path, &load_value(path)?)
}

/// The configuration a file's JSON (`load_value`) holds.
pub fn config_of(path: &str, value: &serde_json::Value) -> Result<Config> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let p = e.path().to_string();
        format!(
            "`{path}`: invalid configuration at `{p}`: {}",
            e.into_inner()
        )
    })
}

/// Whether the configuration has anything to verify tokens with (a bare policy has not).
pub fn has_keys(cfg: &Config) -> bool {
    !cfg.token.keys.is_empty()
        || cfg.token.jwks.is_some()
        || cfg.remote_jwks.is_some()
        || cfg.token.trusted_payload_header.is_some()
}

pub fn compile(path: &str) -> Result<(Config, Policy)> {
    compile_config(path, load_config(path)?)
}

/// A configuration's policy, compiled (`path` names it in the error).
pub fn compile_config(path: &str, cfg: Config) -> Result<(Config, Policy)> {
    let policy =
        Policy::compile(&cfg.policy).map_err(|e| format!("`{path}`: invalid policy: {e}"))?;
    Ok((cfg, policy))
}

pub fn authorizer(path: &str, cfg: &Config) -> Result<Authorizer> {
    let mut cfg = cfg.clone();
    // A bare policy has no token settings: explain by role or claims needs none.
    if cfg.token.keys.is_empty()
        && cfg.token.jwks.is_none()
        && cfg.remote_jwks.is_none()
        && cfg.token.trusted_payload_header.is_none()
    {
        cfg.token.trusted_payload_header = Some("x-intercom-authz-cli".into());
    }
    let mut a = Authorizer::new(cfg).map_err(|e| format!("`{path}`: {e}"))?;
    a.set_explain(true);
    Ok(a)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
