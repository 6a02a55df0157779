//! Reads the configuration's JSON into [`Config`]: the same values, the same refusals and the
//! same error messages and positions as the `Deserialize` derived on the configuration types,
//! in one instance of each visitor.
//!
//! The derive instantiates a visitor per type, each with a map path and a sequence path, and
//! drop glue for each partial value: 57 KB of every shipped module, before `wasm-opt` (`make
//! size`). Here each type only says what its fields are ([`Fields`]) and the one struct visitor
//! fills them in place, through the same `serde_json` calls in the same order, so the text of
//! every error and where it points stay as they were. The derives stay, for the CLI's tools
//! and as the reference: `tests/config_errors.rs` holds this reader to them on thousands of
//! broken configurations, accepted ones included.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::Value;

use crate::config::{
    AuditLog, AuditMode, BodyHold, Config, ConversationsConfig, DecisionState, IdentityConfig,
    IdentitySource, Mode, RemoteJwksConfig, UpstreamConfig,
};

use crate::conversation::{Access, Reassign, ReportingExports};

use crate::policy::{
    MfaConfig, PathMode, PolicyConfig, RoleConfig, RouteConfig, ScopeMode, ScopeSource, Seconds,
    UnknownVersions,
};
use crate::token::{ClaimsConfig, KeyConfig, RoleSelection, TokenConfig};

/// Reads a configuration, as `serde_json::from_slice::<Config>` does.
pub fn read(json: &[u8]) -> Result<Config, serde_json::Error> {
    let mut config = Config::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    Slot::Struct(&mut config).deserialize(&mut de)?;
    de.end()?;
    Ok(config)
}

/// A struct of the configuration: its fields, in declaration order, each as a [`Slot`]. It
/// starts out holding its defaults (what the derive's `#[serde(default…)]` give).
trait Fields {
    /// The type's name, as the derive's messages say it.
    fn name(&self) -> &'static str;
    /// The fields' names, in declaration order (the derive's `FIELDS`).
    fn fields(&self) -> &'static [&'static str];
    /// Bit `i` is set when field `i` has no default.
    fn required(&self) -> u64 {
        0
    }
    /// Field `i`'s place.
    fn slot(&mut self, i: usize) -> Slot<'_>;
}

/// A unit-only enum (`rename_all = "snake_case"`): its variants' names and how to pick one.
trait Choice {
    fn name(&self) -> &'static str;
    fn variants(&self) -> &'static [&'static str];
    fn choose(&mut self, i: usize);
}

/// A list of structs (`token.keys`, `policy.routes`).
trait List {
    /// A new element, holding its defaults, at the end.
    fn grow(&mut self) -> Option<&mut dyn Fields>;
    /// Drops the last element (grown for an element that was not there).
    fn shrink(&mut self);
}

/// Where one field's value goes, and so how it is read.
enum Slot<'a> {
    Struct(&'a mut dyn Fields),
    OptStruct(&'a mut Option<RemoteJwksConfig>),
    List(&'a mut dyn List),
    Roles(&'a mut BTreeMap<String, RoleConfig>),
    Enum(&'a mut dyn Choice),
    OptEnum(&'a mut dyn Choice),
    Str(&'a mut String),
    OptStr(&'a mut Option<String>),
    Bool(&'a mut bool),
    U64(&'a mut u64),
    Usize(&'a mut usize),
    Strs(&'a mut Vec<String>),
    OptStrs(&'a mut Option<Vec<String>>),
    OneOrMany(&'a mut Vec<String>),
    StrMap(&'a mut BTreeMap<String, String>),
    OptValue(&'a mut Option<Value>),
    OptSeconds(&'a mut Option<Seconds>),
    /// Inside `OptSeconds`, past `null`.
    Seconds(&'a mut Option<Seconds>),
}

impl<'de> DeserializeSeed<'de> for Slot<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self {
            Slot::Struct(s) => return d.deserialize_struct(s.name(), s.fields(), Shape(s)),
            Slot::OptStruct(o) => return d.deserialize_option(Maybe(Slot::OptStruct(o))),
            Slot::List(l) => return d.deserialize_seq(Items(l)),
            Slot::Roles(m) => return d.deserialize_map(Roles(m)),
            Slot::Enum(c) => return d.deserialize_enum(c.name(), c.variants(), Pick(c)),
            Slot::OptEnum(c) => return d.deserialize_option(Maybe(Slot::Enum(c))),
            Slot::OptSeconds(v) => return d.deserialize_option(Maybe(Slot::Seconds(v))),
            Slot::Str(v) => *v = String::deserialize(d)?,
            Slot::OptStr(v) => *v = Option::deserialize(d)?,
            Slot::Bool(v) => *v = bool::deserialize(d)?,
            Slot::U64(v) => *v = u64::deserialize(d)?,
            Slot::Usize(v) => *v = usize::deserialize(d)?,
            Slot::Strs(v) => *v = Vec::deserialize(d)?,
            Slot::OptStrs(v) => *v = Option::deserialize(d)?,
            Slot::OneOrMany(v) => *v = one_or_many(d)?,
            Slot::StrMap(v) => *v = BTreeMap::deserialize(d)?,
            Slot::OptValue(v) => *v = Option::deserialize(d)?,
            Slot::Seconds(v) => *v = Some(seconds(d)?),
        }
        Ok(())
    }
}

/// A route's `permission`: one string or an array of them (`policy::one_or_many`).
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match d.deserialize_any(Scalar::Other)? {
        Scalar::Str(s) => Ok(alloc::vec![s]),
        Scalar::Strs(v) => Ok(v),
        _ => Err(D::Error::custom(
            "data did not match any variant of untagged enum OneOrMany",
        )),
    }
}

/// A duration: seconds, or a string such as `30m` (`policy::Seconds`).
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
    match d.deserialize_any(Scalar::Other)? {
        Scalar::U64(n) => Ok(Seconds(n)),
        Scalar::Str(s) => crate::policy::parse_duration(&s)
            .map(Seconds)
            .ok_or_else(|| {
                D::Error::custom(alloc::format!(
                    "invalid duration `{s}` (use seconds or `30m`, `8h`, `1d`)"
                ))
            }),
        _ => Err(D::Error::custom(
            "data did not match any variant of untagged enum Raw",
        )),
    }
}

/// Any JSON value, read whole, as what the two untagged enums above can take: the derive
/// reads (buffers) the whole value before it tries each variant, so a wrong one is refused
/// after it, and so is it here.
enum Scalar {
    U64(u64),
    Str(String),
    /// An array of strings only.
    Strs(Vec<String>),
    Other,
}

impl<'de> DeserializeSeed<'de> for Scalar {
    type Value = Scalar;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(Scalar::Other)
    }
}

impl<'de> Visitor<'de> for Scalar {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        let mut strings = Some(Vec::new());
        while let Some(item) = seq.next_element_seed(Scalar::Other)? {
            match (item, strings.as_mut()) {
                (Scalar::Str(s), Some(v)) => v.push(s),
                _ => strings = None,
            }
        }
        Ok(strings.map_or(Scalar::Other, Scalar::Strs))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_key_seed(Scalar::Other)?.is_some() {
            map.next_value_seed(Scalar::Other)?;
        }
        Ok(Scalar::Other)
    }
}

/// A struct's visitor: a JSON object by field name, or (as the derive accepts) an array in
/// field order.
struct Shape<'a>(&'a mut dyn Fields);

impl<'de> Visitor<'de> for Shape<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.0.name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.0.fields();
        let mut seen = 0u64;
        let names = Name {
            names: fields,
            variant: false,
        };
        while let Some(i) = map.next_key_seed(names)? {
            if seen & (1 << i) != 0 {
                return Err(A::Error::duplicate_field(
                    fields.get(i).copied().unwrap_or(""),
                ));
            }
            seen |= 1 << i;
            map.next_value_seed(self.0.slot(i))?;
        }
        let missing = self.0.required() & !seen;
        match fields.get(missing.trailing_zeros() as usize) {
            Some(name) if missing != 0 => Err(A::Error::missing_field(name)),
            _ => Ok(()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let n = self.0.fields().len();
        for i in 0..n {
            let absent = seq.next_element_seed(self.0.slot(i))?.is_none();
            if absent && self.0.required() & (1 << i) != 0 {
                let s = if n == 1 { "" } else { "s" };
                let expected = alloc::format!("struct {} with {n} element{s}", self.0.name());
                return Err(A::Error::invalid_length(i, &expected.as_str()));
            }
        }
        Ok(())
    }
}

/// A field's or a variant's name, as its index; an unknown one is refused (the structs are
/// `deny_unknown_fields`).
#[derive(Clone, Copy)]
struct Name {
    names: &'static [&'static str],
    variant: bool,
}

impl<'de> DeserializeSeed<'de> for Name {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.variant {
            "variant identifier"
        } else {
            "field identifier"
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        match self.names.iter().position(|n| *n == v) {
            Some(i) => Ok(i),
            None if self.variant => Err(E::unknown_variant(v, self.names)),
            None => Err(E::unknown_field(v, self.names)),
        }
    }
}

/// A unit-only enum's visitor.
struct Pick<'a>(&'a mut dyn Choice);

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enum {}", self.0.name())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let names = Name {
            names: self.0.variants(),
            variant: true,
        };
        let (i, variant) = data.variant_seed(names)?;
        variant.unit_variant()?;
        self.0.choose(i);
        Ok(())
    }
}

/// An optional value's visitor: `null` leaves the default (`None`), anything else fills it.
struct Maybe<'a>(Slot<'a>);

impl<'de> Visitor<'de> for Maybe<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.0 {
            Slot::OptStruct(o) => Slot::Struct(o.insert(RemoteJwksConfig::blank())).deserialize(d),
            slot => slot.deserialize(d),
        }
    }
}

/// A list of structs' visitor.
struct Items<'a>(&'a mut dyn List);

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = self.0.grow() {
            if seq.next_element_seed(Slot::Struct(element))?.is_none() {
                self.0.shrink();
                break;
            }
        }
        Ok(())
    }
}

/// `policy.roles`' visitor.
struct Roles<'a>(&'a mut BTreeMap<String, RoleConfig>);

impl<'de> Visitor<'de> for Roles<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let mut role = RoleConfig::default();
            map.next_value_seed(Slot::Struct(&mut role))?;
            self.0.insert(name, role);
        }
        Ok(())
    }
}

impl<T: Fields + Blank> List for Vec<T> {
    fn grow(&mut self) -> Option<&mut dyn Fields> {
        self.push(T::blank());
        self.last_mut().map(|e| e as &mut dyn Fields)
    }
    fn shrink(&mut self) {
        self.pop();
    }
}

/// A list element before it is read: its defaults.
trait Blank {
    fn blank() -> Self;
}

impl Blank for KeyConfig {
    fn blank() -> Self {
        KeyConfig::default()
    }
}

impl Blank for RouteConfig {
    fn blank() -> Self {
        RouteConfig {
            scope_documented: true,
            ..RouteConfig::default()
        }
    }
}

impl RemoteJwksConfig {
    /// Before it is read: its defaults, and no cluster or path (both required).
    fn blank() -> Self {
        RemoteJwksConfig {
            cluster: String::new(),
            path: String::new(),
            authority: None,
            refresh_secs: crate::config::default_refresh(),
            retry_secs: crate::config::default_retry(),
            max_bytes: crate::config::default_max_body(),
            timeout_ms: crate::config::default_timeout(),
        }
    }
}

impl Fields for Config {
    fn name(&self) -> &'static str {
        "Config"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "policy",
            "token",
            "mode",
            "max_body_bytes",
            "upstream",
            "audit",
            "decision_state",
            "remote_jwks",
            "request_id_header",
            "body_hold",
            "body_timeout_ms",
            "conversations",
            "identity",
            "audit_log",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Struct(&mut self.policy),
            1 => Slot::Struct(&mut self.token),
            2 => Slot::Enum(&mut self.mode),
            3 => Slot::Usize(&mut self.max_body_bytes),
            4 => Slot::Struct(&mut self.upstream),
            5 => Slot::Enum(&mut self.audit),
            6 => Slot::Enum(&mut self.decision_state),
            7 => Slot::OptStruct(&mut self.remote_jwks),
            8 => Slot::Str(&mut self.request_id_header),
            9 => Slot::Enum(&mut self.body_hold),
            10 => Slot::U64(&mut self.body_timeout_ms),
            11 => Slot::Struct(&mut self.conversations),
            12 => Slot::Struct(&mut self.identity),
            _ => Slot::Enum(&mut self.audit_log),
        }
    }
}

impl Fields for PolicyConfig {
    fn name(&self) -> &'static str {
        "PolicyConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "workspace",
            "roles",
            "permissions",
            "routes",
            "catalog",
            "scopes",
            "unknown_versions",
            "scope_source",
            "workspace_scopes",
            "mfa",
            "max_session_age",
            "ip_allowlist",
            "paths",
            "token_grants",
            "default_role",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::OptStr(&mut self.workspace),
            1 => Slot::Roles(&mut self.roles),
            2 => Slot::StrMap(&mut self.permissions),
            3 => Slot::List(&mut self.routes),
            4 => Slot::Bool(&mut self.catalog),
            5 => Slot::Enum(&mut self.scopes),
            6 => Slot::Enum(&mut self.unknown_versions),
            7 => Slot::Enum(&mut self.scope_source),
            8 => Slot::OptStrs(&mut self.workspace_scopes),
            9 => Slot::Struct(&mut self.mfa),
            10 => Slot::OptSeconds(&mut self.max_session_age),
            11 => Slot::Strs(&mut self.ip_allowlist),
            12 => Slot::Enum(&mut self.paths),
            13 => Slot::Bool(&mut self.token_grants),
            _ => Slot::OptStr(&mut self.default_role),
        }
    }
}

impl Fields for RoleConfig {
    fn name(&self) -> &'static str {
        "RoleConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "description",
            "extends",
            "grant",
            "revoke",
            "mfa",
            "max_session_age",
            "ip_allowlist",
            "conversation_access",
            "reassign",
            "reporting_exports",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::OptStr(&mut self.description),
            1 => Slot::OptStr(&mut self.extends),
            2 => Slot::Strs(&mut self.grant),
            3 => Slot::Strs(&mut self.revoke),
            4 => Slot::Bool(&mut self.mfa),
            5 => Slot::OptSeconds(&mut self.max_session_age),
            6 => Slot::Strs(&mut self.ip_allowlist),
            7 => Slot::OptEnum(&mut self.conversation_access),
            8 => Slot::OptEnum(&mut self.reassign),
            _ => Slot::OptEnum(&mut self.reporting_exports),
        }
    }
}

impl Fields for RouteConfig {
    fn name(&self) -> &'static str {
        "RouteConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "method",
            "path",
            "permission",
            "scope",
            "scope_documented",
            "body",
            "query",
            "self_permission",
            "not_self",
            "replace",
            "versions",
        ]
    }
    fn required(&self) -> u64 {
        0b111
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Str(&mut self.method),
            1 => Slot::Str(&mut self.path),
            2 => Slot::OneOrMany(&mut self.permission),
            3 => Slot::OptStr(&mut self.scope),
            4 => Slot::Bool(&mut self.scope_documented),
            5 => Slot::OptStr(&mut self.body),
            6 => Slot::OptStr(&mut self.query),
            7 => Slot::OptStr(&mut self.self_permission),
            8 => Slot::Bool(&mut self.not_self),
            9 => Slot::Bool(&mut self.replace),
            _ => Slot::OptStr(&mut self.versions),
        }
    }
}

impl Fields for MfaConfig {
    fn name(&self) -> &'static str {
        "MfaConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &["permissions", "methods", "acr_values"]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Strs(&mut self.permissions),
            1 => Slot::OptStrs(&mut self.methods),
            _ => Slot::Strs(&mut self.acr_values),
        }
    }
}

impl Fields for TokenConfig {
    fn name(&self) -> &'static str {
        "TokenConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "header",
            "keys",
            "jwks",
            "issuers",
            "audiences",
            "leeway",
            "max_token_bytes",
            "cache_size",
            "claims",
            "trusted_payload_header",
            "trusted_payload_requires_token",
            "trusted_payload_metadata",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Str(&mut self.header),
            1 => Slot::List(&mut self.keys),
            2 => Slot::OptValue(&mut self.jwks),
            3 => Slot::Strs(&mut self.issuers),
            4 => Slot::Strs(&mut self.audiences),
            5 => Slot::U64(&mut self.leeway),
            6 => Slot::Usize(&mut self.max_token_bytes),
            7 => Slot::Usize(&mut self.cache_size),
            8 => Slot::Struct(&mut self.claims),
            9 => Slot::OptStr(&mut self.trusted_payload_header),
            10 => Slot::Bool(&mut self.trusted_payload_requires_token),
            _ => Slot::OptStr(&mut self.trusted_payload_metadata),
        }
    }
}

impl Fields for KeyConfig {
    fn name(&self) -> &'static str {
        "KeyConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "kid",
            "alg",
            "secret",
            "secret_env",
            "secret_base64",
            "pem",
            "jwk",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::OptStr(&mut self.kid),
            1 => Slot::OptStr(&mut self.alg),
            2 => Slot::OptStr(&mut self.secret),
            3 => Slot::OptStr(&mut self.secret_env),
            4 => Slot::OptStr(&mut self.secret_base64),
            5 => Slot::OptStr(&mut self.pem),
            _ => Slot::OptValue(&mut self.jwk),
        }
    }
}

impl Fields for ClaimsConfig {
    fn name(&self) -> &'static str {
        "ClaimsConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "role",
            "role_order",
            "permissions",
            "scopes",
            "subject",
            "teams",
            "workspace",
            "amr",
            "email",
            "role_map",
            "roles",
            "acr",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Str(&mut self.role),
            1 => Slot::Strs(&mut self.role_order),
            2 => Slot::Str(&mut self.permissions),
            3 => Slot::Str(&mut self.scopes),
            4 => Slot::Str(&mut self.subject),
            5 => Slot::Str(&mut self.teams),
            6 => Slot::Str(&mut self.workspace),
            7 => Slot::Str(&mut self.amr),
            8 => Slot::Str(&mut self.email),
            9 => Slot::StrMap(&mut self.role_map),
            10 => Slot::Enum(&mut self.roles),
            _ => Slot::Str(&mut self.acr),
        }
    }
}

impl Fields for UpstreamConfig {
    fn name(&self) -> &'static str {
        "UpstreamConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "role_header",
            "subject_header",
            "intercom_token",
            "intercom_token_env",
            "forward_caller_token",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::OptStr(&mut self.role_header),
            1 => Slot::OptStr(&mut self.subject_header),
            2 => Slot::OptStr(&mut self.intercom_token),
            3 => Slot::OptStr(&mut self.intercom_token_env),
            _ => Slot::Bool(&mut self.forward_caller_token),
        }
    }
}

impl Fields for RemoteJwksConfig {
    fn name(&self) -> &'static str {
        "RemoteJwksConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "cluster",
            "path",
            "authority",
            "refresh_secs",
            "retry_secs",
            "max_bytes",
            "timeout_ms",
        ]
    }
    fn required(&self) -> u64 {
        0b11
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Str(&mut self.cluster),
            1 => Slot::Str(&mut self.path),
            2 => Slot::OptStr(&mut self.authority),
            3 => Slot::U64(&mut self.refresh_secs),
            4 => Slot::U64(&mut self.retry_secs),
            5 => Slot::Usize(&mut self.max_bytes),
            _ => Slot::U64(&mut self.timeout_ms),
        }
    }
}

impl Fields for ConversationsConfig {
    fn name(&self) -> &'static str {
        "ConversationsConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "cluster",
            "authority",
            "timeout_ms",
            "cache_secs",
            "cache_size",
            "max_response_bytes",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::OptStr(&mut self.cluster),
            1 => Slot::Str(&mut self.authority),
            2 => Slot::U64(&mut self.timeout_ms),
            3 => Slot::U64(&mut self.cache_secs),
            4 => Slot::Usize(&mut self.cache_size),
            _ => Slot::Usize(&mut self.max_response_bytes),
        }
    }
}

impl Fields for IdentityConfig {
    fn name(&self) -> &'static str {
        "IdentityConfig"
    }
    fn fields(&self) -> &'static [&'static str] {
        &[
            "source",
            "admins",
            "cluster",
            "authority",
            "path",
            "refresh_secs",
            "retry_secs",
            "timeout_ms",
            "max_bytes",
            "roles",
        ]
    }
    fn slot(&mut self, i: usize) -> Slot<'_> {
        match i {
            0 => Slot::Enum(&mut self.source),
            1 => Slot::OptValue(&mut self.admins),
            2 => Slot::OptStr(&mut self.cluster),
            3 => Slot::Str(&mut self.authority),
            4 => Slot::Str(&mut self.path),
            5 => Slot::U64(&mut self.refresh_secs),
            6 => Slot::U64(&mut self.retry_secs),
            7 => Slot::U64(&mut self.timeout_ms),
            8 => Slot::Usize(&mut self.max_bytes),
            _ => Slot::StrMap(&mut self.roles),
        }
    }
}

/// A unit-only enum's [`Choice`]: its name, then each variant's JSON name and value, in
/// declaration order.
macro_rules! choice {
    ($ty:ident, $($name:literal => $variant:ident),+) => {
        impl Choice for $ty {
            fn name(&self) -> &'static str {
                stringify!($ty)
            }
            fn variants(&self) -> &'static [&'static str] {
                &[$($name),+]
            }
            fn choose(&mut self, i: usize) {
                let all = [$($ty::$variant),+];
                if let Some(v) = all.get(i) {
                    *self = *v;
                }
            }
        }
    };
}

choice!(Mode, "enforce" => Enforce, "dry_run" => DryRun);
choice!(AuditMode, "all" => All, "deny" => Deny, "none" => None);
choice!(AuditLog, "access_log" => AccessLog, "both" => Both);
choice!(DecisionState, "all" => All, "deny" => Deny);
choice!(BodyHold, "headers" => Headers, "buffer_filter" => BufferFilter);
choice!(IdentitySource, "token" => Token, "directory" => Directory);
choice!(RoleSelection, "one" => One, "all" => All);
choice!(ScopeMode, "off" => Off, "documented" => Documented, "all" => All);
choice!(UnknownVersions, "deny" => Deny, "allow" => Allow);
choice!(ScopeSource, "workspace" => Workspace, "token" => Token);
choice!(PathMode, "reject" => Reject, "normalize" => Normalize);
choice!(
    Access,
    "all" => All,
    "assigned_to_me" => AssignedToMe,
    "assigned_to_me_or_my_teams" => AssignedToMeOrMyTeams,
    "assigned_to_me_my_teams_or_unassigned" => AssignedToMeMyTeamsOrUnassigned
);
choice!(Reassign, "with_permission" => WithPermission, "own_unassigned_or_team" => OwnUnassignedOrTeam);
choice!(ReportingExports, "refuse" => Refuse, "allow" => Allow);

/// `Option<Access>`, `Option<Reassign>`: picking a variant makes it `Some`.
impl<T: Choice + Default> Choice for Option<T> {
    fn name(&self) -> &'static str {
        T::default().name()
    }
    fn variants(&self) -> &'static [&'static str] {
        T::default().variants()
    }
    fn choose(&mut self, i: usize) {
        self.get_or_insert_with(T::default).choose(i);
    }
}
