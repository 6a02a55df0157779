//! `matrix CONFIG` and `matrix --diff OLD NEW`: who may do what, and what changed.

use std::fmt::Write as _;

use crate::{By, MatrixFormat};
use intercom_authz_cli::access;
use std::process::ExitCode;

use crate::common::*;
use crate::conditions;

/// A route cell's code: 0 denied, 1 some of the body's actions, 2 allowed, 3 allowed with MFA.
fn symbol(c: &access::Cell) -> u8 {
    match c.allowed.len() {
        0 => 0,
        n if n < c.of => 1,
        _ if c.mfa.is_empty() => 2,
        _ => 3,
    }
}

pub fn matrix(path: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
    let mfa: Vec<intercom_authz::perm::PermSet> = p
        .roles()
        .iter()
        .map(|r| conditions::mfa_for(&p, r))
        .collect();
    // A cell: 2 = allowed, 1 = some of the body-dependent actions, 0 = denied; 3 = allowed
    // with MFA. Routes read from the access model (`access::Cell`), as `--diff` compares them.
    let rows: Vec<(String, Vec<u8>)> = match by {
        By::Route => p
            .routes()
            .iter()
            .map(|route| {
                let cells = p
                    .roles()
                    .iter()
                    .map(|role| symbol(&access::Cell::of(&p, route, role)))
                    .collect();
                (route.display.clone(), cells)
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
            let heads: Vec<&str> = conditions::COLUMNS.iter().map(|(_, h)| *h).collect();
            let _ = writeln!(
                s,
                "\n| role | {} |\n|---|{}",
                heads.join(" | "),
                "---|".repeat(heads.len())
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
            for (i, (name, _)) in conditions::COLUMNS.iter().enumerate() {
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
