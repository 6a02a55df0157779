//! `matrix --diff OLD NEW`: everything the evaluator could decide differently between two
//! configurations ([`access::diff`]), as text, CSV or JSON. Changes outside the policy (the
//! token's claims mapping, the mode, the identity source) are named as settings too: they change
//! who is which role, or whether a denial is enforced. `--by route` (the default) lists, under
//! each route, every role whose access there changed; `--by permission` lists each role's
//! permissions gained and lost and only the routes whose definition changed.

use std::fmt::Write as _;
use std::process::ExitCode;

use intercom_authz_cli::access::{self, Change, Diff};

use crate::common::*;
use crate::{By, MatrixFormat};

/// The top-level keys outside `policy` whose values differ.
fn config_changes(old: &serde_json::Value, new: &serde_json::Value) -> Vec<Change> {
    let keys = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().filter(|k| *k != "policy").cloned().collect())
            .unwrap_or_default()
    };
    let mut all = keys(old);
    all.extend(keys(new));
    let show = |v: Option<&serde_json::Value>| v.map(|v| v.to_string());
    all.into_iter()
        .filter(|k| old.get(k) != new.get(k))
        .map(|k| Change {
            old: show(old.get(&k)),
            new: show(new.get(&k)),
            widens: k == "mode",
            name: format!("configuration `{k}`"),
        })
        .collect()
}

/// The diff between two configuration files.
pub fn between(old: &str, new: &str) -> Result<Diff> {
    let (va, vb) = (load_value(old)?, load_value(new)?);
    let (_, a) = compile_config(old, config_of(old, &va)?)?;
    let (_, b) = compile_config(new, config_of(new, &vb)?)?;
    let mut d = access::diff(&a, &b);
    d.settings.extend(config_changes(&va, &vb));
    Ok(d)
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

fn mark(widens: bool) -> &'static str {
    if widens {
        "  (widens access)"
    } else {
        ""
    }
}

fn change_line(s: &mut String, c: &Change) {
    let _ = writeln!(
        s,
        "  ! {}: {} → {}{}",
        c.name,
        show(&c.old),
        show(&c.new),
        mark(c.widens)
    );
}

/// The diff as text: settings, then roles, then routes (each route's definition, then the
/// roles whose access there changed).
pub fn text(d: &Diff) -> String {
    if d.is_empty() {
        return "nothing the evaluator decides changed\n".into();
    }
    let mut s = format!(
        "{} settings, {} roles, {} routes changed; {} changes widen access\n",
        d.settings.len(),
        d.roles.len(),
        d.routes.len(),
        d.widening()
    );
    if !d.settings.is_empty() {
        s.push_str("\nsettings (every request)\n");
        d.settings.iter().for_each(|c| change_line(&mut s, c));
    }
    if !d.roles.is_empty() {
        s.push_str("\nroles\n");
    }
    for r in &d.roles {
        let status = if r.status.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.status)
        };
        let _ = writeln!(s, "{}{status}", r.role);
        r.gained.iter().for_each(|g| {
            let _ = writeln!(s, "  + {g}");
        });
        r.lost.iter().for_each(|l| {
            let _ = writeln!(s, "  - {l}");
        });
        r.conditions.iter().for_each(|c| change_line(&mut s, c));
    }
    if !d.routes.is_empty() {
        s.push_str("\nroutes\n");
    }
    for r in &d.routes {
        let status = if r.status.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.status)
        };
        let _ = writeln!(s, "{}{status}", r.route);
        r.changes.iter().for_each(|c| change_line(&mut s, c));
        for a in &r.access {
            let _ = writeln!(
                s,
                "  {}: {} → {}{}",
                a.role,
                show(&a.old),
                show(&a.new),
                mark(a.widens)
            );
        }
    }
    s
}

/// The diff as CSV: `scope,subject,what,old,new,widens` (scope: setting, role, route, access).
pub fn csv(d: &Diff) -> String {
    let mut s = crate::csv::row(&["scope", "subject", "what", "old", "new", "widens"]);
    let mut row = |scope: &str, subject: &str, what: &str, old: &str, new: &str, w: bool| {
        let w = if w { "true" } else { "false" };
        s.push_str(&crate::csv::row(&[scope, subject, what, old, new, w]));
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    for c in &d.settings {
        row("setting", "", &c.name, &opt(&c.old), &opt(&c.new), c.widens);
    }
    for r in &d.roles {
        if !r.status.is_empty() {
            row("role", &r.role, r.status, "", "", r.status == "new role");
        }
        r.gained
            .iter()
            .for_each(|g| row("role", &r.role, "gained", "", g, true));
        r.lost
            .iter()
            .for_each(|l| row("role", &r.role, "lost", l, "", false));
        for c in &r.conditions {
            row(
                "role",
                &r.role,
                &c.name,
                &opt(&c.old),
                &opt(&c.new),
                c.widens,
            );
        }
    }
    for r in &d.routes {
        if !r.status.is_empty() {
            row("route", &r.route, r.status, "", "", r.status == "new route");
        }
        for c in &r.changes {
            row(
                "route",
                &r.route,
                &c.name,
                &opt(&c.old),
                &opt(&c.new),
                c.widens,
            );
        }
        for a in &r.access {
            row(
                "access",
                &r.route,
                &a.role,
                &opt(&a.old),
                &opt(&a.new),
                a.widens,
            );
        }
    }
    s
}

pub fn matrix_diff(old: &str, new: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let mut d = between(old, new)?;
    if by == By::Permission {
        d = d.by_permission();
    }
    match format {
        MatrixFormat::Json => outln!("{}", serde_json::to_string(&d).map_err(|e| e.to_string())?),
        MatrixFormat::Csv => out!("{}", csv(&d)),
        MatrixFormat::Md => out!("{}", text(&d)),
    }
    Ok(ExitCode::SUCCESS)
}
