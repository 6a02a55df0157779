//! `matrix CONFIG` and `matrix --diff OLD NEW`: who may do what, and what changed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::{By, MatrixFormat};
use intercom_authz::policy::Policy;
use std::process::ExitCode;

use crate::common::*;

pub fn matrix(path: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
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
                    .map(|role| {
                        let n = variants
                            .iter()
                            .filter(|v| role.permissions.contains_all(v))
                            .count();
                        if n == variants.len() {
                            2
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
                        .map(|role| u8::from(role.permissions.contains(id)) * 2)
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
                    .map(|b| ["·", "◐", "✓"].get(usize::from(*b)).copied().unwrap_or("?"))
                    .collect();
                let _ = writeln!(s, "| `{name}` | {} |", c.join(" | "));
            }
            if rows.iter().any(|(_, c)| c.contains(&1)) {
                let _ = writeln!(s, "\n✓ allowed · denied ◐ some actions (the body decides; `explain --body` tells)");
            }
        }
        MatrixFormat::Csv => {
            let _ = writeln!(s, "{head},{}", roles.join(","));
            for (name, cells) in &rows {
                let c: Vec<String> = cells
                    .iter()
                    .map(|b| {
                        if *b == 1 {
                            "partial".to_string()
                        } else {
                            (b / 2).to_string()
                        }
                    })
                    .collect();
                let _ = writeln!(s, "\"{name}\",{}", c.join(","));
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
                    serde_json::json!({head: name, "roles": pick(2), "partial": pick(1)})
                })
                .collect();
            let _ = writeln!(s, "{}", serde_json::Value::Array(v));
        }
    }
    out!("{s}");
    Ok(ExitCode::SUCCESS)
}

pub fn matrix_diff(old: &str, new: &str) -> Result<ExitCode> {
    let (_, a) = compile(old)?;
    let (_, b) = compile(new)?;
    let names: BTreeSet<&str> = a
        .roles()
        .iter()
        .chain(b.roles())
        .map(|r| r.name.as_str())
        .collect();
    let perms = |p: &Policy, role: &str| -> BTreeSet<String> {
        p.role(role)
            .map(|r| p.names(&r.permissions).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut changed = false;
    for role in names {
        let (pa, pb) = (perms(&a, role), perms(&b, role));
        let gained: Vec<&String> = pb.difference(&pa).collect();
        let lost: Vec<&String> = pa.difference(&pb).collect();
        let status = match (a.role(role).is_some(), b.role(role).is_some()) {
            (false, true) => " (new role)",
            (true, false) => " (removed role)",
            _ => "",
        };
        if gained.is_empty() && lost.is_empty() && status.is_empty() {
            continue;
        }
        changed = true;
        outln!("{role}{status}");
        for g in gained {
            outln!("  + {g}");
        }
        for l in lost {
            outln!("  - {l}");
        }
    }
    if !changed {
        outln!("no role gained or lost a permission");
    }
    Ok(ExitCode::SUCCESS)
}
