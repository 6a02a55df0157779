//! `matrix CONFIG` and `matrix --diff OLD NEW`: who may do what, and what changed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::{By, MatrixFormat};
use intercom_authz::policy::Policy;
use std::process::ExitCode;

use crate::common::*;
use crate::conditions;

pub fn matrix(path: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
    let mfa: Vec<intercom_authz::perm::PermSet> = p
        .roles()
        .iter()
        .map(|r| conditions::mfa_for(&p, r))
        .collect();
    // A cell: 2 = allowed, 1 = some of the body-dependent actions, 0 = denied.
    let rows: Vec<(String, Vec<u8>)> = match by {
        By::Route => p
            .routes()
            .iter()
            .map(|r| {
                let variants: Vec<intercom_authz::perm::PermSet> = match r.body {
                    Some(rule) => rule
                        .possible()
                        .iter()
                        .filter_map(|n| p.permission_id(n))
                        .map(|id| {
                            let mut s = intercom_authz::perm::PermSet::new();
                            s.insert(id);
                            s
                        })
                        .collect(),
                    None => vec![r.required],
                };
                let cells = p
                    .roles()
                    .iter()
                    .zip(&mfa)
                    .map(|(role, mfa)| {
                        let n = variants
                            .iter()
                            .filter(|v| role.permissions.contains_all(v))
                            .count();
                        if n == variants.len() {
                            if variants.iter().any(|v| v.iter().any(|id| mfa.contains(id))) {
                                3
                            } else {
                                2
                            }
                        } else if n > 0 {
                            1
                        } else {
                            0
                        }
                    })
                    .collect();
                (r.display.clone(), cells)
            })
            .collect(),
        By::Permission => p
            .permissions()
            .map(|(id, name)| {
                (
                    name.to_string(),
                    p.roles()
                        .iter()
                        .zip(&mfa)
                        .map(|(role, mfa)| {
                            let mfa = mfa.contains(id);
                            u8::from(role.permissions.contains(id)) * (2 + u8::from(mfa))
                        })
                        .collect(),
                )
            })
            .collect(),
    };
    let head = if by == By::Route {
        "route"
    } else {
        "permission"
    };
    let mut s = String::new();
    match format {
        MatrixFormat::Md => {
            let _ = writeln!(s, "| {head} | {} |", roles.join(" | "));
            let _ = writeln!(s, "|---|{}", ":-:|".repeat(roles.len()));
            for (name, cells) in &rows {
                let c: Vec<&str> = cells
                    .iter()
                    .map(|b| {
                        ["·", "◐", "✓", "✓ᴹ"]
                            .get(usize::from(*b))
                            .copied()
                            .unwrap_or("?")
                    })
                    .collect();
                let _ = writeln!(s, "| `{name}` | {} |", c.join(" | "));
            }
            let _ = writeln!(s, "\n✓ allowed · denied ◐ some actions (the body decides; `explain --body` tells) ✓ᴹ allowed with MFA");
            let _ = writeln!(
                s,
                "\n| role | MFA | IP allowlist | session age |\n|---|---|---|---|"
            );
            for r in p.roles() {
                let c: Vec<String> = conditions::of(&p, r)
                    .into_iter()
                    .map(|c| c.value.unwrap_or_else(|| "—".into()))
                    .collect();
                let _ = writeln!(s, "| `{}` | {} |", r.name, c.join(" | "));
            }
        }
        MatrixFormat::Csv => {
            let _ = writeln!(s, "{head},{}", roles.join(","));
            for (name, cells) in &rows {
                let c: Vec<String> = cells
                    .iter()
                    .map(|b| match b {
                        1 => "partial".to_string(),
                        3 => "mfa".to_string(),
                        b => (b / 2).to_string(),
                    })
                    .collect();
                let _ = writeln!(s, "\"{name}\",{}", c.join(","));
            }
            let conds: Vec<Vec<conditions::Condition>> =
                p.roles().iter().map(|r| conditions::of(&p, r)).collect();
            for (i, name) in ["mfa", "ip_allowlist", "max_session_age"]
                .iter()
                .enumerate()
            {
                let c: Vec<String> = conds
                    .iter()
                    .map(|rc| {
                        let v = rc
                            .get(i)
                            .and_then(|c| c.value.as_deref())
                            .unwrap_or_default();
                        format!("\"{}\"", v.replace('"', "'"))
                    })
                    .collect();
                let _ = writeln!(s, "\"condition: {name}\",{}", c.join(","));
            }
        }
        MatrixFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(name, cells)| {
                    let pick = |want: u8| -> Vec<&str> {
                        roles
                            .iter()
                            .zip(cells)
                            .filter(|(_, b)| **b == want)
                            .map(|(r, _)| *r)
                            .collect()
                    };
                    let mut all = pick(2);
                    all.extend(pick(3));
                    serde_json::json!({head: name, "roles": all, "mfa": pick(3), "partial": pick(1)})
                })
                .collect();
            let conds: serde_json::Map<String, serde_json::Value> = p
                .roles()
                .iter()
                .map(|r| {
                    let c: serde_json::Map<String, serde_json::Value> = conditions::of(&p, r)
                        .into_iter()
                        .map(|c| (c.name.to_string(), c.value.into()))
                        .collect();
                    (r.name.clone(), c.into())
                })
                .collect();
            let _ = writeln!(s, "{}", serde_json::json!({"rows": v, "conditions": conds}));
        }
    }
    out!("{s}");
    Ok(ExitCode::SUCCESS)
}

/// What changed for one role between two policies.
#[derive(serde::Serialize)]
pub struct RoleDiff<'a> {
    pub role: &'a str,
    pub status: &'static str,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
    pub conditions: Vec<conditions::Change>,
}

fn role_diff<'a>(a: &Policy, b: &Policy, role: &'a str) -> RoleDiff<'a> {
    let perms = |p: &Policy| -> BTreeSet<String> {
        p.role(role)
            .map(|r| p.names(&r.permissions).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let conds = |p: &Policy| p.role(role).map(|r| conditions::of(p, r));
    let (pa, pb) = (perms(a), perms(b));
    let (status, conditions) = match (conds(a), conds(b)) {
        (None, Some(_)) => ("new role", Vec::new()),
        (Some(_), None) => ("removed role", Vec::new()),
        (Some(ca), Some(cb)) => ("", conditions::changes(&ca, &cb)),
        (None, None) => ("", Vec::new()),
    };
    RoleDiff {
        role,
        status,
        gained: pb.difference(&pa).cloned().collect(),
        lost: pa.difference(&pb).cloned().collect(),
        conditions,
    }
}

/// Every role that gained or lost a permission or a condition, or came or went.
pub fn role_diffs<'a>(a: &'a Policy, b: &'a Policy) -> Vec<RoleDiff<'a>> {
    let names: BTreeSet<&str> = a
        .roles()
        .iter()
        .chain(b.roles())
        .map(|r| r.name.as_str())
        .collect();
    names
        .into_iter()
        .map(|r| role_diff(a, b, r))
        .filter(|d| {
            !(d.gained.is_empty()
                && d.lost.is_empty()
                && d.status.is_empty()
                && d.conditions.is_empty())
        })
        .collect()
}
