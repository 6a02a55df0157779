//! The policy as written: [`PolicyConfig`] and the types it holds, read by serde (and by the
//! std layer's table-driven reader). Plain data: what they mean is [`super::Policy::compile`]'s.
//! The catalog's rows are [`RouteConfig`]s too, so this module sits below both.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};

use serde::{Deserialize, Deserializer, Serialize};

use crate::conversation::{Access, Reassign, ReportingExports};

/// A policy as written (JSON). Every field is optional; `{}` is the shipped default (and so is
/// [`PolicyConfig::default`]).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyConfig {
    /// The workspace this policy guards; a token for another workspace is denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Custom roles, and adjustments (`mfa`, `grant`, …) to the built-in ones.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("x-custom-roles" = true)))]
    pub roles: BTreeMap<String, RoleConfig>,
    /// Custom permissions: `name` → description.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("x-custom-permissions" = true)))]
    pub permissions: BTreeMap<String, String>,
    /// Routes added to (or, with `replace`, replacing) the shipped catalog.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Whether the shipped Intercom catalog is loaded (default `true`).
    #[serde(default = "yes")]
    pub catalog: bool,
    /// Which route scopes are enforced (`off`, `documented`, `all`).
    #[serde(default)]
    pub scopes: ScopeMode,
    /// What an `Intercom-Version` outside the catalog's versions means: `deny` (default,
    /// `unknown_version`) or `allow` (judged against every version's routes).
    #[serde(default)]
    pub unknown_versions: UnknownVersions,
    /// Whose OAuth scopes are checked: the Intercom token the filter injects (`workspace`, the
    /// default) or the caller's own token (`token`, for delegated OAuth tokens).
    #[serde(default)]
    pub scope_source: ScopeSource,
    /// The scopes the workspace's Intercom token was granted. A route needing another one is
    /// denied locally with `missing_scope` (Intercom would refuse it). Absent: not declared, no
    /// scope is checked in `workspace` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_scopes: Option<Vec<String>>,
    /// Multi-factor requirements.
    #[serde(default)]
    pub mfa: MfaConfig,
    /// The oldest a session (`iat`) may be, for every role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_age: Option<Seconds>,
    /// Source addresses allowed for every role (empty: any).
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// What to do with a path that is not canonical.
    #[serde(default)]
    pub paths: PathMode,
    /// Whether permissions listed in the token add to the role's (default `true`).
    #[serde(default = "yes")]
    pub token_grants: bool,
    /// The role of a token that names none (default: none, such a token is denied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("x-role" = true)))]
    pub default_role: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for PolicyConfig {
    fn default() -> Self {
        // INVARIANT: the same as deserializing `{}` (a derived Default would turn the catalog
        // and token grants off).
        PolicyConfig {
            workspace: None,
            roles: BTreeMap::new(),
            permissions: BTreeMap::new(),
            routes: Vec::new(),
            catalog: true,
            scopes: ScopeMode::default(),
            scope_source: ScopeSource::default(),
            workspace_scopes: None,
            unknown_versions: UnknownVersions::default(),
            mfa: MfaConfig::default(),
            max_session_age: None,
            ip_allowlist: Vec::new(),
            paths: PathMode::default(),
            token_grants: true,
            default_role: None,
        }
    }
}

/// A role as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoleConfig {
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The role it starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("x-role" = true)))]
    pub extends: Option<String>,
    /// Permissions added: names, Intercom teammate-permission labels or ids, `resource:*`, `*`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("x-permission" = true)))]
    pub grant: Vec<String>,
    /// Permissions removed (after `grant`), same forms.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("x-permission" = true)))]
    pub revoke: Vec<String>,
    /// Whether every request of this role needs multi-factor authentication.
    #[serde(default)]
    pub mfa: bool,
    /// The oldest a session of this role may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_age: Option<Seconds>,
    /// Source addresses allowed for this role (empty: any).
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// Which conversations the role may see and act on (Intercom's "Conversation access"):
    /// `all` (default), `assigned_to_me`, `assigned_to_me_or_my_teams`,
    /// `assigned_to_me_my_teams_or_unassigned`. Inherited from `extends` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_access: Option<Access>,
    /// Without `conversations:assign`: `with_permission` (default, assigning needs it) or
    /// `own_unassigned_or_team` (seed 004: still from their own, the unassigned or a team
    /// inbox). Inherited from `extends` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign: Option<Reassign>,
    /// With restricted `conversation_access`: `refuse` (default, `reporting_export_restricted`)
    /// or `allow` reporting data exports, whose conversation dataset holds every
    /// conversation's assignee, state and channel. Inherited from `extends` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_exports: Option<ReportingExports>,
}

/// A route as written (also what each catalog line becomes).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RouteConfig {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path template, as `/contacts/{id}`.
    pub path: String,
    /// The permission(s) needed (all of them).
    #[serde(deserialize_with = "one_or_many")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "schema::one_or_many_permissions")
    )]
    pub permission: Vec<String>,
    /// The OAuth scope needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether the scope is documented by Intercom (enforced in `scopes: "documented"` mode).
    #[serde(default = "yes")]
    pub scope_documented: bool,
    /// A body rule name ([`BodyRule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A query rule name ([`QueryRule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// When the route's first parameter is the caller's own id, this permission is needed
    /// instead (a teammate may set their own away status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("x-permission" = true)))]
    pub self_permission: Option<String>,
    /// When the route's first parameter is the caller's own id, deny (nobody edits their own
    /// permissions).
    #[serde(default)]
    pub not_self: bool,
    /// Replace the catalog's route for the same method and template.
    #[serde(default)]
    pub replace: bool,
    /// The API versions that have the route: `2.7-` (from 2.7 on) or `2.7-2.11` (removed
    /// after 2.11). Absent: every version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Which route scopes are checked against the token's scopes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ScopeMode {
    /// Scopes are not checked.
    Off,
    /// Only scopes Intercom documents for the route (the OpenAPI text or the 2.17 docs).
    #[default]
    Documented,
    /// Every route scope, documented or inferred.
    All,
}

/// What a request naming an API version the catalog does not know gets.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum UnknownVersions {
    /// `400 unknown_version`.
    #[default]
    Deny,
    /// Judged against every version's routes.
    Allow,
}

/// Whose OAuth scopes a route's scope is checked against.
///
/// Intercom's scopes belong to the access token of the workspace's app, which the filter
/// injects (`upstream.intercom_token`), not to an employee's SSO token: by default the policy
/// declares them (`workspace_scopes`). A caller that holds a delegated Intercom OAuth token
/// carries its own (`token`, read from the `scopes` claim).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ScopeSource {
    /// `workspace_scopes` (when declared).
    #[default]
    Workspace,
    /// The caller's token (`token.claims.scopes`).
    Token,
}

/// What to do with a path that is not canonical (see [`crate::path`]).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PathMode {
    /// Refuse it with 400 `non_canonical_path`.
    #[default]
    Reject,
    /// Judge the canonical path; the front-end forwards the canonical path.
    Normalize,
}

/// Multi-factor authentication requirements.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MfaConfig {
    /// Permissions that need MFA whoever asks (names, aliases, `resource:*`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("x-permission" = true)))]
    pub permissions: Vec<String>,
    /// `amr` values that count as multi-factor (default `mfa`, `otp`, `hwk`, `sms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// `acr` values that count as multi-factor (none by default): Keycloak's step-up level
    /// (`"2"`, or a name from its ACR-to-LoA mapping), Entra ID's `c1`-style contexts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
}

/// A duration in seconds, written as a number or as `"30m"`, `"8h"`, `"1d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Seconds(pub u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Seconds(n)),
            Raw::S(s) => parse_duration(&s).map(Seconds).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid duration `{s}` (use seconds or `30m`, `8h`, `1d`)"
                ))
            }),
        }
    }
}

/// Parses `90`, `90s`, `30m`, `8h`, `1d`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (s.get(..i)?, s.get(i..)?),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// JSON Schema where the derive cannot say it (feature `schema`): a duration, and a route's
/// permission (one name or a list).
#[cfg(feature = "schema")]
mod schema {
    use alloc::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use super::Seconds;

    impl JsonSchema for Seconds {
        fn schema_name() -> Cow<'static, str> {
            "Seconds".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A duration: seconds, or `30m`, `8h`, `1d`.",
                "oneOf": [
                    { "type": "integer", "minimum": 0 },
                    { "type": "string", "pattern": "^[0-9]+[smhd]?$" }
                ]
            })
        }
    }

    /// A route's `permission`: one name or a list (all of them are needed).
    pub(crate) fn one_or_many_permissions(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-permission": true,
            "oneOf": [
                { "type": "string", "minLength": 1 },
                { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1 }
            ]
        })
    }
}
