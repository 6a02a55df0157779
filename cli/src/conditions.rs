//! The conditions a role's requests meet, as `matrix` and `report` show them: the role's own
//! from the access model ([`access::role_model`]), with the policy-wide allowlist folded in (a
//! request must pass both), and conversation access with what qualifies it.

use intercom_authz::policy::{Policy, Role};
use intercom_authz_cli::access;

/// The columns, in order: (name, heading).
pub const COLUMNS: [(&str, &str); 4] = [
    ("mfa", "MFA"),
    ("ip_allowlist", "IP allowlist"),
    ("max_session_age", "session age"),
    ("conversation_access", "conversation access"),
];

/// One condition of a role, as text; `None` when the role does not have it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Condition {
    /// One of [`COLUMNS`]' names.
    pub name: &'static str,
    /// What it requires, or `None`.
    pub value: Option<String>,
}

fn fact<'a>(facts: &'a [access::Fact], name: &str) -> Option<&'a str> {
    facts
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.as_deref())
}

/// The policy's allowlist and the role's: a request must come from both.
fn allowlist(p: &Policy, own: Option<&str>) -> Option<String> {
    let every: Vec<String> = p
        .settings()
        .ip_allowlist
        .iter()
        .map(ToString::to_string)
        .collect();
    match (every.is_empty(), own) {
        (true, own) => own.map(str::to_string),
        (false, None) => Some(format!("{} (every role)", every.join(", "))),
        (false, Some(own)) => Some(format!("{} (every role) and {own}", every.join(", "))),
    }
}

/// Conversation access, with the reassign rule and reporting exports when it is restricted.
fn conversations(facts: &[access::Fact]) -> Option<String> {
    let level = fact(facts, "conversation_access")?;
    if level == "all" {
        return Some(level.into());
    }
    Some(format!(
        "{level} (reassign {}, reporting exports {})",
        fact(facts, "reassign").unwrap_or("?"),
        fact(facts, "reporting_exports").unwrap_or("?")
    ))
}

/// The role's conditions, in [`COLUMNS`]' order.
pub fn of(p: &Policy, r: &Role) -> Vec<Condition> {
    let facts = access::role_model(p, r).conditions;
    COLUMNS
        .iter()
        .map(|(name, _)| Condition {
            name,
            value: match *name {
                "ip_allowlist" => allowlist(p, fact(&facts, name)),
                "conversation_access" => conversations(&facts),
                _ => fact(&facts, name).map(str::to_string),
            },
        })
        .collect()
}

pub use intercom_authz_cli::access::mfa_for;
