//! What a decision is made of: who asks ([`Principal`]) and what they ask ([`Request`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::conversation::Lookup;

/// Who is asking: what the token layer extracted from the verified token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The role name.
    #[serde(default)]
    pub role: Option<String>,
    /// The caller's Intercom admin id (or the token's subject).
    #[serde(default)]
    pub subject: Option<String>,
    /// The caller's email, for the audit log.
    #[serde(default)]
    pub email: Option<String>,
    /// The workspace the token is for.
    #[serde(default)]
    pub workspace: Option<String>,
    /// OAuth scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Permissions granted by the token itself (added to the role's if `token_grants`).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Every role the caller holds, when the grants of several are one union
    /// (`token.claims.roles: "all"`); at most one: just [`Principal::role`].
    pub roles: Vec<String>,
    /// The authentication context class (`acr`): multi-factor when it is one of the policy's
    /// `mfa.acr_values` (Keycloak's and Entra ID's step-up).
    pub acr: Option<String>,
    /// Authentication methods (`amr`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the session started (`iat`), seconds since the epoch.
    #[serde(default)]
    pub issued_at: Option<u64>,
}

/// The request body, as far as the front-end has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Not read yet: a route that needs it answers [`Effect::NeedBody`].
    NotRead,
    /// The request has no body.
    Absent,
    /// The whole body.
    Bytes(&'a [u8]),
}

/// What is judged.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The request target (`:path`), query included.
    pub path: &'a str,
    /// The body.
    pub body: Body<'a>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Intercom-Version` header, if any (see [`crate::version`]).
    pub version: Option<&'a str>,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// The conversation's assignment, for a decision that asked for it ([`Effect::NeedLookup`]).
    pub lookup: Lookup<'a>,
}
