//! Claim mapping: a verified token's claims (or claims a host verified) to a [`Principal`],
//! by the claim names and paths of [`ClaimsConfig`]; a claim of the wrong type is
//! `invalid_claim`.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde_json::Value;

use super::{fail, ClaimsConfig, RoleSelection, TokenError};
use crate::eval::{Code, Principal};

pub(crate) fn lookup<'v>(
    claims: &'v serde_json::Map<String, Value>,
    path: &str,
) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

pub(crate) fn string_claim(
    claims: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<Option<String>, TokenError> {
    match lookup(claims, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => fail(
            Code::InvalidClaim,
            format!("claim `{path}` must be a string"),
        ),
    }
}

pub(crate) fn list_claim(
    claims: &serde_json::Map<String, Value>,
    path: &str,
    split: bool,
) -> Result<Vec<String>, TokenError> {
    match lookup(claims, path) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if split => {
            Ok(s.split_ascii_whitespace().map(str::to_string).collect())
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => fail(
                    Code::InvalidClaim,
                    format!("claim `{path}` must be a list of strings"),
                ),
            })
            .collect(),
        Some(_) => fail(
            Code::InvalidClaim,
            format!("claim `{path}` must be a list of strings"),
        ),
    }
}

/// Maps verified claims to a principal. A claim of the wrong type is an error, not absent.
pub fn map_claims(
    cfg: &ClaimsConfig,
    claims: &serde_json::Map<String, Value>,
) -> Result<Principal, TokenError> {
    let (role, roles) = role_claim(cfg, claims)?;
    let scopes = if cfg.scopes == "scope" && lookup(claims, "scope").is_none() {
        list_claim(claims, "scp", true)?
    } else {
        list_claim(claims, &cfg.scopes, true)?
    };
    let issued_at = match claims.get("iat") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64),
        None => None,
        Some(_) => return fail(Code::InvalidClaim, "`iat` must be a number (NumericDate)"),
    };
    Ok(Principal {
        role,
        roles,
        acr: string_claim(claims, &cfg.acr)?,
        subject: string_claim(claims, &cfg.subject)?,
        email: string_claim(claims, &cfg.email)?,
        workspace: string_claim(claims, &cfg.workspace)?,
        scopes,
        permissions: list_claim(claims, &cfg.permissions, true)?,
        teams: list_claim(claims, &cfg.teams, false)?,
        amr: list_claim(claims, &cfg.amr, false)?,
        issued_at,
    })
}

/// The role claim, through `role_map`: the caller's role and, with `roles: "all"`, every role
/// of the policy it names (in `role_order`, which the authorizer fills with the policy's roles).
pub(crate) fn role_claim(
    cfg: &ClaimsConfig,
    claims: &serde_json::Map<String, Value>,
) -> Result<(Option<String>, Vec<String>), TokenError> {
    let mapped = |s: &str| cfg.role_map.get(s).map_or(s, String::as_str).to_string();
    let names: Vec<String> = match lookup(claims, &cfg.role) {
        None | Some(Value::Null) => return Ok((None, Vec::new())),
        Some(Value::String(s)) => vec![mapped(s)],
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).map(mapped).collect()
        }
        Some(_) => {
            return fail(
                Code::InvalidClaim,
                format!("claim `{}` must be a string or a list of strings", cfg.role),
            )
        }
    };
    let known: Vec<String> = cfg
        .role_order
        .iter()
        .filter(|r| names.contains(r))
        .cloned()
        .collect();
    let role = known.first().or(names.first()).cloned();
    let roles = match cfg.roles {
        RoleSelection::All if known.len() > 1 => known,
        _ => Vec::new(),
    };
    Ok((role, roles))
}
