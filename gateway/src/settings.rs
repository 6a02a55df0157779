//! The gateway's settings, the way edge platforms hand them over: environment variables
//! (`wasi:cli/environment`; `jco serve` passes its own, `wasmtime serve --env`, Spin's
//! `environment`, wasmCloud's config). Read once per instance; a bad setting refuses every
//! request with one line naming it.

use std::format;
use std::string::{String, ToString};

use intercom_authz::authorizer::{Authorizer, Mode};
use intercom_authz::config::IdentitySource;

/// The configuration (the filter's JSON, `upstream` and all).
pub const CONFIG_VAR: &str = "INTERCOM_AUTHZ_CONFIG";
/// Where Intercom is: `https://api.intercom.io` (default), or a mock's `http://127.0.0.1:8080`.
pub const UPSTREAM_VAR: &str = "INTERCOM_AUTHZ_UPSTREAM";
/// The workspace token's variable when the configuration names none (`upstream.intercom_token_env`).
pub const DEFAULT_TOKEN_VAR: &str = "INTERCOM_TOKEN";
/// A header the platform sets to the client's address (Fastly's `fastly-client-ip`,
/// Cloudflare's `cf-connecting-ip`, a fronting proxy's `x-forwarded-for`: its last entry).
/// Unset: no address (`wasi:http` has none), so a policy with an IP allowlist denies.
pub const CLIENT_IP_VAR: &str = "INTERCOM_AUTHZ_CLIENT_IP_HEADER";

/// Where allowed requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `true`: https.
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
}

/// Everything a request needs, built once.
pub struct Settings {
    /// The compiled configuration.
    pub authz: Authorizer,
    /// The workspace's Intercom token: what allowed requests carry instead of the caller's.
    pub intercom_token: String,
    /// Where Intercom is.
    pub upstream: Upstream,
    /// [`Authorizer::credential_header`], once (it is read on every request).
    pub credential: String,
    /// The header that carries the client's address ([`CLIENT_IP_VAR`]), lower case.
    pub client_ip_header: Option<String>,
    /// Headers never forwarded (the credential, the identity headers' underscore spellings,
    /// method overrides; see [`intercom_authz::upstream::stripped`]).
    pub strip: std::vec::Vec<String>,
}

impl Settings {
    /// Reads the settings from `var` (the environment, or a test's map).
    pub fn read(var: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let json = var(CONFIG_VAR)
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| format!("`{CONFIG_VAR}` is not set (the configuration, as JSON)"))?;
        let authz = Authorizer::from_json_embedded(&json, "the gateway")
            .map_err(|e| format!("`{CONFIG_VAR}`: {e}"))?;
        let up = &authz.config().upstream;
        if authz.config().token.trusted_payload_header.is_some() {
            return Err(format!("`{CONFIG_VAR}`: `token.trusted_payload_header` is not available in the gateway: no JWT filter stands in front of it, so the header would be the client's; configure `token.keys`"));
        }
        refuse_what_it_cannot_honour(&authz)?;
        if up.forward_caller_token {
            return Err(format!("`{CONFIG_VAR}`: `upstream.forward_caller_token` is not available in the gateway: Intercom gets the workspace token, never the caller's"));
        }
        let intercom_token = match (&up.intercom_token, &up.intercom_token_env) {
            (Some(t), _) => t.clone(),
            (None, name) => {
                let name = name.as_deref().unwrap_or(DEFAULT_TOKEN_VAR);
                var(name).filter(|t| !t.is_empty()).ok_or_else(|| {
                    format!("the workspace token: environment variable `{name}` is not set")
                })?
            }
        };
        // It goes in a header: visible ASCII only (a newline would drop the header: every
        // allowed request would reach Intercom without it).
        if !intercom_token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the workspace token has characters a header cannot carry (spaces, newlines, non-ASCII)".into());
        }
        let upstream = match var(UPSTREAM_VAR) {
            Some(url) => parse_base(&url).map_err(|e| format!("`{UPSTREAM_VAR}`: {e}"))?,
            None => Upstream {
                https: true,
                authority: "api.intercom.io".into(),
            },
        };
        let credential = authz.credential_header();
        let strip = intercom_authz::upstream::stripped(authz.config(), &credential);
        Ok(Settings {
            authz,
            intercom_token,
            upstream,
            credential,
            client_ip_header: var(CLIENT_IP_VAR).map(|h| h.to_ascii_lowercase()),
            strip,
        })
    }
}

/// What the gateway cannot do that a configuration may ask of it: each refused with its reason.
fn refuse_what_it_cannot_honour(authz: &Authorizer) -> Result<(), String> {
    let cfg = authz.config();
    let why = if cfg.mode == Mode::DryRun {
        "`mode: dry_run` is not available in the gateway: it would send every request, denied or not, to Intercom with the workspace token"
    } else if cfg.token.keys.is_empty() && cfg.token.jwks.is_none() {
        "the gateway needs `token.keys` or `token.jwks`: it verifies the caller's token itself (nothing hands it verified claims)"
    } else if cfg.identity.source == IdentitySource::Directory && cfg.identity.admins.is_none() {
        "`identity.source: directory` needs the directory in `identity.admins` in the gateway (it does not fetch `GET /admins`)"
    } else {
        return Ok(());
    };
    Err(format!("`{CONFIG_VAR}`: {why}"))
}

/// `http(s)://host[:port]`, nothing after it (the path is the request's).
pub fn parse_base(url: &str) -> Result<Upstream, String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "expected `https://host[:port]` or `http://host[:port]`, got `{url}`"
        ));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let bad = |c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if authority.is_empty() || authority.contains(bad) {
        return Err(format!(
            "expected `https://host[:port]` with no path, query or user, got `{url}`"
        ));
    }
    Ok(Upstream {
        https,
        authority: authority.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base("http://127.0.0.1:8080/"),
            Ok(Upstream {
                https: false,
                authority: "127.0.0.1:8080".into()
            })
        );
        assert!(parse_base("https://api.intercom.io").is_ok_and(|u| u.https));
        for bad in [
            "api.intercom.io",
            "https://",
            "https://a/b",
            "https://u@a",
            "ftp://a",
        ] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    pub(crate) const KEYS: &str = r#"{"token":{"keys":[{"kid":"k","alg":"HS256","secret":"0123456789abcdef0123456789abcdef"}]}}"#;

    /// `KEYS` with more top-level fields (`"mode":"dry_run"`).
    pub(crate) fn with_keys(more: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(KEYS).unwrap_or_default();
        let extra: serde_json::Value =
            serde_json::from_str(&format!("{{{more}}}")).unwrap_or_default();
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        v.to_string()
    }

    fn refusal(config: &str, token: &str) -> String {
        let var = |k: &str| match k {
            CONFIG_VAR => Some(config.to_string()),
            DEFAULT_TOKEN_VAR => Some(token.to_string()),
            _ => None,
        };
        Settings::read(&var).err().unwrap_or_default()
    }

    #[test]
    fn what_it_cannot_honour_is_refused_by_name() {
        assert!(refusal(&with_keys(r#""mode":"dry_run""#), "t")
            .contains("`mode: dry_run` is not available"));
        assert!(refusal("{}", "t").contains("needs `token.keys` or `token.jwks`"));
        assert!(
            refusal(&with_keys(r#""identity":{"source":"directory"}"#), "t")
                .contains("`identity.admins`")
        );
        assert!(refusal(KEYS, "ws\ntoken").contains("characters a header cannot carry"));
        assert_eq!(refusal(KEYS, "ws-token"), "");
    }

    #[test]
    fn settings_name_what_is_missing() {
        let none = |_: &str| None;
        assert!(Settings::read(&none)
            .err()
            .unwrap_or_default()
            .contains(CONFIG_VAR));
        let no_token = |k: &str| (k == CONFIG_VAR).then(|| KEYS.to_string());
        assert!(Settings::read(&no_token)
            .err()
            .unwrap_or_default()
            .contains("`INTERCOM_TOKEN` is not set"));
        let forward = |k: &str| match k {
            CONFIG_VAR => Some(with_keys(r#""upstream":{"forward_caller_token":true}"#)),
            _ => Some("t".into()),
        };
        assert!(Settings::read(&forward)
            .err()
            .unwrap_or_default()
            .contains("forward_caller_token"));
        let trusted = |k: &str| match k {
            CONFIG_VAR => {
                Some(r#"{"token":{"trusted_payload_header":"x-jwt-payload"}}"#.to_string())
            }
            _ => Some("t".into()),
        };
        assert!(Settings::read(&trusted)
            .err()
            .unwrap_or_default()
            .contains("trusted_payload_header"));
        let ok = |k: &str| match k {
            CONFIG_VAR => Some(with_keys(r#""upstream":{"intercom_token_env":"WS"}"#)),
            "WS" => Some("secret".into()),
            _ => None,
        };
        let s = Settings::read(&ok).map_err(|e| e.to_string());
        assert!(s
            .as_ref()
            .is_ok_and(|s| s.intercom_token == "secret" && s.upstream.https));
    }
}
