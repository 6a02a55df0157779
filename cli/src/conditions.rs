//! The conditions a role's grants come with (for `matrix` and `matrix --diff`): MFA, the IP
//! allowlist, the session age. A condition that goes away between two policies is flagged.

use intercom_authz::perm::PermSet;
use intercom_authz::policy::{Policy, Role};

/// One condition of a role, as text; `None` when the role does not have it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Condition {
    /// `mfa`, `ip_allowlist`, `max_session_age`.
    pub name: &'static str,
    /// What it requires, or `None`.
    pub value: Option<String>,
}

fn duration(s: u64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The role's conditions, in a fixed order.
pub fn of(p: &Policy, r: &Role) -> Vec<Condition> {
    let needs = mfa_for(p, r);
    let mfa_perms: Vec<&str> = p.names(&needs).collect();
    let mfa = match (r.mfa, mfa_perms.len()) {
        (true, _) => Some("every request".to_string()),
        (false, 0) => None,
        (false, _) => Some(format!("for {}", mfa_perms.join(", "))),
    };
    let ips: Vec<String> = r.ip_allowlist.iter().map(ToString::to_string).collect();
    vec![
        Condition {
            name: "mfa",
            value: mfa,
        },
        Condition {
            name: "ip_allowlist",
            value: (!ips.is_empty()).then(|| ips.join(", ")),
        },
        Condition {
            name: "max_session_age",
            value: r.max_session_age.map(duration),
        },
    ]
}

/// The role's permissions that need MFA (all of them when the role needs it everywhere).
pub fn mfa_for(p: &Policy, r: &Role) -> PermSet {
    if r.mfa {
        return r.permissions;
    }
    let mut out = PermSet::new();
    for id in p
        .mfa_permissions()
        .iter()
        .filter(|id| r.permissions.contains(*id))
    {
        out.insert(id);
    }
    out
}

/// One condition that changed: its old and new value, and whether it was dropped.
#[derive(Debug, serde::Serialize)]
pub struct Change {
    pub name: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
    pub dropped: bool,
}

/// What changed between a role's conditions in two policies.
pub fn changes(old: &[Condition], new: &[Condition]) -> Vec<Change> {
    old.iter()
        .zip(new)
        .filter(|(a, b)| a.value != b.value)
        .map(|(a, b)| Change {
            name: a.name,
            old: a.value.clone(),
            new: b.value.clone(),
            dropped: a.value.is_some() && b.value.is_none(),
        })
        .collect()
}
