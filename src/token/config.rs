//! The token settings as written (`token` in the configuration): keys, issuers, audiences,
//! limits, and where each claim is read. Plain data, read by [`crate::config_read`].

use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where tokens come from and how they are checked.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenConfig {
    /// The request header that carries the token (default `authorization`, `Bearer <jwt>`).
    #[serde(default = "default_header")]
    pub header: String,
    /// Keys configured one by one.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// An inline JWKS document (`{"keys":[…]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Accepted issuers (`iss`); empty: any.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted audiences (`aud`, any of); empty: any.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`, in seconds (default 60, like Envoy).
    #[serde(default = "default_leeway")]
    pub leeway: u64,
    /// The largest token accepted, in bytes (default 8 KiB).
    #[serde(default = "default_max_token")]
    pub max_token_bytes: usize,
    /// How many verified tokens to remember (default 1,024; 0 disables the cache).
    #[serde(default = "default_cache")]
    pub cache_size: usize,
    /// Where the claims are.
    #[serde(default)]
    pub claims: ClaimsConfig,
    /// Trusted-payload mode: read claims already verified by Envoy `jwt_authn`
    /// (`forward_payload_header`) or Istio (`outputPayloadToHeader`) from this header, as
    /// base64url JSON, without verifying again. CAUTION: only safe when that filter runs first:
    /// it removes a client's copy of the header and writes it for a token it verified; a
    /// client's copy reaches this filter when no JWT filter runs before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_payload_header: Option<String>,
    /// With `trusted_payload_header`: refuse the claims header when the request lacks
    /// `header` (default `true`), evidence that a JWT filter saw a token. Not used with
    /// `trusted_payload_metadata`, the better evidence where the JWT filter removes the token
    /// (Istio's default, `forwardOriginalToken: false`).
    #[serde(default = "yes")]
    pub trusted_payload_requires_token: bool,
    /// With `trusted_payload_header`, in the filter: the `payload_in_metadata` name under which
    /// Envoy's `jwt_authn` records the payload it verified (Istio's `RequestAuthentication`
    /// always uses `payload`). The claims header is then trusted only when that record exists
    /// for the request (the JWT filter ran before this one and verified its token), and the
    /// token itself need not come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_payload_metadata: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            header: default_header(),
            keys: Vec::new(),
            jwks: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: default_leeway(),
            max_token_bytes: default_max_token(),
            cache_size: default_cache(),
            claims: ClaimsConfig::default(),
            trusted_payload_header: None,
            trusted_payload_requires_token: true,
            trusted_payload_metadata: None,
        }
    }
}

fn default_header() -> String {
    "authorization".into()
}
fn default_leeway() -> u64 {
    60
}
fn default_max_token() -> usize {
    8192
}
fn default_cache() -> usize {
    1024
}

/// One verification key. Exactly one of `secret`, `secret_env`, `secret_base64`, `pem`, `jwk`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KeyConfig {
    /// The key id tokens name in `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm this key verifies (pinned; required for `secret*` and `pem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// An HMAC secret, inline (UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The name of an environment variable holding the HMAC secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// An HMAC secret, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_base64: Option<String>,
    /// A public key in PEM (RSA, EC or Ed25519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// One JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
}

/// Claim names (or paths). A path is tried first as one claim name (so
/// `https://example.com/claims/role` works), then as `.`-separated nested names
/// (`realm_access.roles`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClaimsConfig {
    /// The role: a string, or an array picked by `role_order`.
    pub role: String,
    /// When the role claim is an array (Keycloak's `realm_access.roles`, Okta or Entra
    /// `groups`/`roles`): the first of these it contains wins; then the policy's other roles,
    /// custom ones first (by name), then the built-in ones, most powerful first. Names the policy
    /// does not know are skipped; only an array with no known role is `unknown_role` (naming its
    /// first entry).
    pub role_order: Vec<String>,
    /// Extra permissions: an array or a space-delimited string.
    pub permissions: String,
    /// OAuth scopes: a space-delimited string (`scope`) or an array (`scp`); both names are
    /// tried when left at the default.
    pub scopes: String,
    /// The caller's Intercom admin id.
    pub subject: String,
    /// Teams: an array.
    pub teams: String,
    /// The workspace id.
    pub workspace: String,
    /// Authentication methods: an array.
    pub amr: String,
    /// Email.
    pub email: String,
    /// IdP values of the role claim → policy roles: Keycloak group paths (`/support/tier1`),
    /// Okta group names, Entra ID group object ids. A value not listed is taken as it is.
    pub role_map: BTreeMap<String, String>,
    /// `one` (default): `role_order` picks one role of an array claim. `all`: the caller holds
    /// every role of the policy the claim names, and gets the union of their grants, each with
    /// its own conditions (MFA, IP allowlist, session age).
    pub roles: RoleSelection,
    /// The authentication context class, for `policy.mfa.acr_values` (default `acr`).
    pub acr: String,
}

/// How an array role claim becomes the caller's role(s).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RoleSelection {
    /// One role: the first of `role_order` the claim names.
    #[default]
    One,
    /// Every role of the policy the claim names: the union of their grants.
    All,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        ClaimsConfig {
            role: "role".into(),
            role_order: Vec::new(),
            permissions: "permissions".into(),
            scopes: "scope".into(),
            subject: "sub".into(),
            teams: "teams".into(),
            workspace: "workspace_id".into(),
            amr: "amr".into(),
            email: "email".into(),
            role_map: BTreeMap::new(),
            roles: RoleSelection::One,
            acr: "acr".into(),
        }
    }
}
