//! `matrix CONFIG` and `matrix --diff OLD NEW`: who may do what, and what changed.

use std::fmt::Write as _;

use std::process::ExitCode;

use intercom_authz::perm::PermSet;
use intercom_authz::policy::Policy;
use intercom_authz_cli::access;

use crate::{By, MatrixFormat};

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

/// Codes per row: per route (from the access model, `access::Cell`, as `--diff` compares them)
/// or per permission, a cell for each role.
fn rows(p: &Policy, by: By) -> Vec<(String, Vec<u8>)> {
    match by {
        By::Route => p
            .routes()
            .iter()
            .map(|route| {
                let cells = p
                    .roles()
                    .iter()
                    .map(|role| symbol(&access::Cell::of(p, route, role)))
                    .collect();
                (route.display.clone(), cells)
            })
            .collect(),
        By::Permission => {
            let mfa: Vec<PermSet> = p
                .roles()
                .iter()
                .map(|r| conditions::mfa_for(p, r))
                .collect();
            p.permissions()
                .map(|(id, name)| {
                    let cells = p
                        .roles()
                        .iter()
                        .zip(&mfa)
                        .map(|(role, mfa)| {
                            u8::from(role.permissions.contains(id))
                                * (2 + u8::from(mfa.contains(id)))
                        })
                        .collect();
                    (name.to_string(), cells)
                })
                .collect()
        }
    }
}

/// What a matrix shows: the rows' heading, the roles, the rows.
struct Table<'a> {
    head: &'static str,
    roles: Vec<&'a str>,
    rows: Vec<(String, Vec<u8>)>,
}

fn md(p: &Policy, t: &Table<'_>) -> String {
    let mut s = format!("| {} | {} |\n", t.head, t.roles.join(" | "));
    let _ = writeln!(s, "|---|{}", ":-:|".repeat(t.roles.len()));
    for (name, cells) in &t.rows {
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
        let c: Vec<String> = conditions::of(p, r)
            .into_iter()
            .map(|c| c.value.unwrap_or_else(|| "—".into()))
            .collect();
        let _ = writeln!(s, "| `{}` | {} |", r.name, c.join(" | "));
    }
    s
}

/// CSV (`csv.rs`): a row per route or permission (`1`, `0`, `partial`, `mfa`), then a row per
/// condition (`condition: mfa`, …).
fn csv(p: &Policy, t: &Table<'_>) -> String {
    let mut head = vec![t.head];
    head.extend(&t.roles);
    let mut s = crate::csv::row(&head);
    for (name, cells) in &t.rows {
        let mut fields = vec![name.as_str()];
        fields.extend(cells.iter().map(|b| match b {
            1 => "partial",
            3 => "mfa",
            2 => "1",
            _ => "0",
        }));
        s += &crate::csv::row(&fields);
    }
    let conds: Vec<Vec<conditions::Condition>> =
        p.roles().iter().map(|r| conditions::of(p, r)).collect();
    for (i, (name, _)) in conditions::COLUMNS.iter().enumerate() {
        let label = format!("condition: {name}");
        let mut fields = vec![label.as_str()];
        fields.extend(conds.iter().map(|rc| {
            rc.get(i)
                .and_then(|c| c.value.as_deref())
                .unwrap_or_default()
        }));
        s += &crate::csv::row(&fields);
    }
    s
}

/// `{rows: [{route|permission, roles, mfa, partial}], conditions: {role: {name: value}}}`.
fn json(p: &Policy, t: &Table<'_>) -> String {
    let rows: Vec<serde_json::Value> = t
        .rows
        .iter()
        .map(|(name, cells)| {
            let pick = |want: u8| -> Vec<&str> {
                t.roles
                    .iter()
                    .zip(cells)
                    .filter(|(_, b)| **b == want)
                    .map(|(r, _)| *r)
                    .collect()
            };
            let mut all = pick(2);
            all.extend(pick(3));
            serde_json::json!({t.head: name, "roles": all, "mfa": pick(3), "partial": pick(1)})
        })
        .collect();
    let conds: serde_json::Map<String, serde_json::Value> = p
        .roles()
        .iter()
        .map(|r| {
            let c: serde_json::Map<String, serde_json::Value> = conditions::of(p, r)
                .into_iter()
                .map(|c| (c.name.to_string(), c.value.into()))
                .collect();
            (r.name.clone(), c.into())
        })
        .collect();
    format!(
        "{}\n",
        serde_json::json!({"rows": rows, "conditions": conds})
    )
}

pub fn matrix(path: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let t = Table {
        head: if by == By::Route {
            "route"
        } else {
            "permission"
        },
        roles: p.roles().iter().map(|r| r.name.as_str()).collect(),
        rows: rows(&p, by),
    };
    let s = match format {
        MatrixFormat::Md => md(&p, &t),
        MatrixFormat::Csv => csv(&p, &t),
        MatrixFormat::Json => json(&p, &t),
    };
    out!("{s}");
    Ok(ExitCode::SUCCESS)
}
