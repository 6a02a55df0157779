//! The configuration as written: [`Config`] and the parts the std layer adds to the core's
//! [`PolicyConfig`] (tokens, upstream, remote JWKS, conversation lookups, audit). Plain data,
//! read by [`crate::config_read`] and loaded by [`crate::authorizer::Authorizer`].

use std::collections::BTreeMap;
use std::string::String;

use serde::{Deserialize, Serialize};

use crate::policy::PolicyConfig;
use crate::token::TokenConfig;

/// The whole configuration: the same JSON for the filter, the JS package, the component and
/// the CLI. Front-ends ignore the parts that do not concern them (JS has no upstream).
/// [`Config::default`] is the configuration `{}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Config {
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Tokens.
    #[serde(default)]
    pub token: TokenConfig,
    /// `enforce` (default) or `dry_run` (log and count denials, let them through).
    #[serde(default)]
    pub mode: Mode,
    /// The largest body buffered for a body-dependent route (default 64 KiB); more is 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// What the filter adds to or removes from the request sent upstream.
    #[serde(default)]
    pub upstream: UpstreamConfig,
    /// Which decisions get an audit line.
    #[serde(default)]
    pub audit: AuditMode,
    /// Which decisions the filter writes to Envoy's filter state as `intercom_authz.decision`,
    /// for access logs (`%FILTER_STATE(wasm.intercom_authz.decision:PLAIN)%`; filter only).
    #[serde(default)]
    pub decision_state: DecisionState,
    /// A JWKS fetched through an Envoy cluster (filter only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_jwks: Option<RemoteJwksConfig>,
    /// The header whose value is echoed as `requestId` (default `x-request-id`).
    #[serde(default = "default_request_id")]
    pub request_id_header: String,
    /// How the filter keeps a body-dependent request from the upstream until its body is
    /// judged (filter only; see [`BodyHold`]).
    #[serde(default)]
    pub body_hold: BodyHold,
    /// How long the filter waits for a body-dependent request's whole body after its headers,
    /// in milliseconds (default 10,000); then `408 body_timeout` (filter only).
    #[serde(default = "default_body_timeout")]
    pub body_timeout_ms: u64,
    /// Conversation access by assignment: where the filter looks conversations up, how long it
    /// remembers them, how large a judged response may be (module `guard`).
    #[serde(default)]
    pub conversations: ConversationsConfig,
    /// Who the caller is in Intercom: the admin id (and teams, and optionally the role) from
    /// the token, or from Intercom's own teammate directory by the verified email.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Where the filter writes an audit record (filter only; see [`AuditLog`]).
    #[serde(default)]
    pub audit_log: AuditLog,
}

/// How the filter holds a request whose decision needs its body.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodyHold {
    /// Pause the headers until the body is judged: nothing goes upstream before the decision
    /// and the headers are rewritten after it. Needs Envoy ≥ 1.35 with the plugin's
    /// `allow_on_headers_stop_iteration: true` (without it the body never arrives, and the
    /// request ends `408 body_timeout`).
    #[default]
    Headers,
    /// Let the (rewritten) headers go on and hold the body: for hosts without that knob
    /// (Istio's `WasmPlugin`), where `envoy.filters.http.buffer` must follow this filter so the
    /// headers cannot reach the upstream before the decision.
    BufferFilter,
}

fn default_body_timeout() -> u64 {
    10_000
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: PolicyConfig::default(),
            token: TokenConfig::default(),
            mode: Mode::default(),
            max_body_bytes: default_max_body(),
            upstream: UpstreamConfig::default(),
            audit: AuditMode::default(),
            audit_log: AuditLog::default(),
            decision_state: DecisionState::default(),
            remote_jwks: None,
            request_id_header: default_request_id(),
            body_hold: BodyHold::default(),
            body_timeout_ms: default_body_timeout(),
            conversations: ConversationsConfig::default(),
            identity: IdentityConfig::default(),
        }
    }
}

pub(crate) fn default_max_body() -> usize {
    64 * 1024
}
fn default_request_id() -> String {
    "x-request-id".into()
}

/// Enforcement mode.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Mode {
    /// Deny what the policy denies.
    #[default]
    Enforce,
    /// Shadow mode: log and count what would be denied, deny nothing.
    DryRun,
}

/// Which decisions the filter writes to filter state (`intercom_authz.decision`).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum DecisionState {
    /// Every decision: an access log tells an allowed request (`allowed`) from one the filter
    /// never judged (`-`).
    #[default]
    All,
    /// Denials only (`%RESPONSE_CODE_DETAILS%` says the same): one host call fewer per allowed
    /// request (`make bench-filter` counts them; `make bench-envoy` has a row for it).
    Deny,
}

/// Which decisions are written to the audit log.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AuditMode {
    /// Every decision.
    #[default]
    All,
    /// Denials only.
    Deny,
    /// None.
    None,
}

/// Where the filter writes an audit record.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AuditLog {
    /// In Envoy's filter state, `wasm.intercom_authz.audit`, for an access log to write
    /// (`%FILTER_STATE(wasm.intercom_authz.audit:PLAIN)%`): one JSON line per request, written
    /// by Envoy off the request path (the shipped `envoy.yaml` does). One host call per record.
    #[default]
    AccessLog,
    /// In Envoy's application log, `intercom-authz audit {…}` at `info` (component `wasm`),
    /// as well as in filter state: a second host call, and Envoy's logger, per record.
    Both,
}

/// Headers for the upstream.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpstreamConfig {
    /// Set to the judged role (any client-sent copy is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_header: Option<String>,
    /// Set to the caller's subject (any client-sent copy is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_header: Option<String>,
    /// Replace `Authorization` with `Bearer <this>`: the workspace's Intercom access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercom_token: Option<String>,
    /// Same, from this environment variable of the VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercom_token_env: Option<String>,
    /// Forward the caller's JWT upstream (default `false`: it is removed).
    #[serde(default)]
    pub forward_caller_token: bool,
}

/// A JWKS fetched through an Envoy cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RemoteJwksConfig {
    /// The Envoy cluster.
    pub cluster: String,
    /// The path on it, e.g. `/.well-known/jwks.json`.
    pub path: String,
    /// The `:authority` to send (default: the cluster name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Seconds between refreshes (default 300).
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Seconds between retries after a failure (default 5).
    #[serde(default = "default_retry")]
    pub retry_secs: u64,
    /// The largest JWKS accepted, in bytes (default 64 KiB).
    #[serde(default = "default_max_body")]
    pub max_bytes: usize,
    /// Request timeout in milliseconds (default 2,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

pub(crate) fn default_refresh() -> u64 {
    300
}
pub(crate) fn default_retry() -> u64 {
    5
}
pub(crate) fn default_timeout() -> u64 {
    2000
}

/// A configuration that could not be loaded: one line naming the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Where and how conversations are looked up and judged.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConversationsConfig {
    /// The Envoy cluster lookups go to: Intercom's (filter only; needed when a role's
    /// conversation access is restricted, with `upstream.intercom_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The lookup's `:authority` (default `api.intercom.io`).
    #[serde(default = "default_authority")]
    pub authority: String,
    /// The lookup's timeout in milliseconds (default 2,000); then `503 conversation_lookup_failed`.
    #[serde(default = "default_lookup_timeout")]
    pub timeout_ms: u64,
    /// How long a looked-up assignment is remembered, in seconds (default 5; 0: never).
    #[serde(default = "default_cache_secs")]
    pub cache_secs: u64,
    /// How many assignments are remembered (default 1,024): the slots of a table every worker
    /// shares (Proxy-Wasm shared data), a conversation in slot `id mod cache_size`.
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
    /// The largest response judged, in bytes (default 8 MiB); more is
    /// `502 response_not_judgeable`, never passed on.
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
}

fn default_authority() -> String {
    "api.intercom.io".into()
}
fn default_lookup_timeout() -> u64 {
    2000
}
fn default_cache_secs() -> u64 {
    5
}
fn default_cache_size() -> usize {
    1024
}
fn default_max_response() -> usize {
    8 * 1024 * 1024
}

impl Default for ConversationsConfig {
    fn default() -> Self {
        ConversationsConfig {
            cluster: None,
            authority: default_authority(),
            timeout_ms: default_lookup_timeout(),
            cache_secs: default_cache_secs(),
            cache_size: default_cache_size(),
            max_response_bytes: default_max_response(),
        }
    }
}

/// Where the caller's Intercom admin id comes from.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum IdentitySource {
    /// The token's subject claim (`token.claims.subject`, default `sub`) is the admin id, and
    /// its `teams` claim the teams.
    #[default]
    Token,
    /// Intercom's teammate directory (`GET /admins`), matched by the token's verified email
    /// (`token.claims.email`, case-insensitive): the admin id and teams are the directory's; an
    /// email it does not know is `403 unknown_teammate`.
    Directory,
}

/// Who the caller is in Intercom (README, "Who the caller is").
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IdentityConfig {
    /// `token` (default) or `directory`.
    #[serde(default)]
    pub source: IdentitySource,
    /// The directory itself, as Intercom's `GET /admins` answers it (`{"type":"admin.list",
    /// "admins":[…]}`): for the JS package, the component, or a fixed copy. The filter fetches
    /// it from `cluster` instead, and JS callers may hand a fresh one over (`setDirectory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<serde_json::Value>,
    /// The Envoy cluster that reaches Intercom: the filter fetches the directory from it with
    /// the workspace token (`upstream.intercom_token`), at start and every `refresh_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The fetch's `:authority` (default `api.intercom.io`).
    #[serde(default = "default_authority")]
    pub authority: String,
    /// The fetch's path (default `/admins`).
    #[serde(default = "default_admins_path")]
    pub path: String,
    /// Seconds between refreshes (default 300); the last good copy serves meanwhile.
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Seconds between retries after a failed fetch (default 10).
    #[serde(default = "default_directory_retry")]
    pub retry_secs: u64,
    /// The fetch's timeout in milliseconds (default 2,000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// The largest directory accepted, in bytes (default 4 MiB).
    #[serde(default = "default_directory_max")]
    pub max_bytes: usize,
    /// Intercom role (its `name` or `id` in the directory) → policy role. When set, the
    /// caller's role is the one the workspace gives them in Intercom (2.16's admin `role`), not
    /// the token's; a teammate whose Intercom role is not mapped is `unknown_role`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, String>,
}

fn default_admins_path() -> String {
    "/admins".into()
}
pub(crate) fn default_directory_retry() -> u64 {
    10
}
pub(crate) fn default_directory_max() -> usize {
    4 * 1024 * 1024
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            source: IdentitySource::Token,
            admins: None,
            cluster: None,
            authority: default_authority(),
            path: default_admins_path(),
            refresh_secs: default_refresh(),
            retry_secs: default_directory_retry(),
            timeout_ms: default_timeout(),
            max_bytes: default_directory_max(),
            roles: BTreeMap::new(),
        }
    }
}
