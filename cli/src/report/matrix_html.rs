//! The role × permission matrix (grouped by resource; MFA and body-decided grants marked; with
//! logs, a heat map whose cells show their counts) and each role's conditions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use intercom_authz::policy::Policy;

use super::{esc, thousands};
use crate::activity::RoleActivity;
use crate::conditions;
use crate::usage::day;

/// Which permissions a body-dependent route decides (marked ◐ in the matrix).
fn body_decided(p: &Policy) -> BTreeSet<String> {
    p.routes()
        .iter()
        .filter_map(|r| r.body)
        .flat_map(|rule| rule.possible().iter().map(|s| s.to_string()))
        .collect()
}

/// Whether the role used any of its own grants: the evidence a heat map needs.
fn in_use(p: &Policy, role: &str, act: &RoleActivity) -> bool {
    p.role(role).is_some_and(|r| {
        p.names(&r.permissions)
            .any(|name| act.used.contains_key(name))
    })
}

/// A cell: granted or not; with logs, used (count in the cell), unused, or no evidence (a role
/// with no traffic).
fn cell(
    p: &Policy,
    role: &str,
    id: u16,
    name: &str,
    act: Option<&RoleActivity>,
    max: u64,
) -> String {
    let Some(r) = p.role(role) else {
        return String::new();
    };
    if !r.permissions.contains(id) {
        return "<td class=\"no\">·</td>".into();
    }
    let mfa = if conditions::mfa_for(p, r).contains(id) {
        "ᴹ"
    } else {
        ""
    };
    let Some(act) = act else {
        return format!("<td class=\"yes\">✓{mfa}</td>");
    };
    if !in_use(p, role, act) {
        return format!("<td class=\"idle\" title=\"the role has no traffic\">✓{mfa}</td>");
    }
    match act.used.get(name) {
        None => format!(
            "<td class=\"unused\" title=\"granted, never used\">✓{mfa} <small>0</small></td>"
        ),
        Some(u) => {
            // Log scale: light green for one use, dark for the most used.
            let f = (u.count as f64).ln_1p() / (max as f64).ln_1p().max(1.0);
            let light = 88.0 - 48.0 * f;
            format!("<td class=\"used\" data-count=\"{}\" style=\"background:hsl(120,55%,{light:.0}%)\" title=\"{} uses, last {}\">✓{mfa} <small>{}</small></td>", u.count, u.count, day(u.last), thousands(u.count))
        }
    }
}

pub fn matrix(p: &Policy, usage: Option<&BTreeMap<String, RoleActivity>>) -> String {
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
    let body = body_decided(p);
    let max = usage
        .into_iter()
        .flat_map(|u| u.values())
        .flat_map(|r| r.used.values())
        .map(|u| u.count)
        .max()
        .unwrap_or(1);
    let none = RoleActivity::default();
    let mut s = String::from("<table id=\"matrix\"><thead><tr><th class=\"perm\">permission</th>");
    for r in &roles {
        let _ = write!(s, "<th class=\"role\">{}</th>", esc(r));
    }
    s.push_str("</tr></thead>\n");
    let mut resource = "";
    for (id, name) in p.permissions() {
        let res = name.split(':').next().unwrap_or(name);
        if res != resource {
            resource = res;
            let _ = writeln!(
                s,
                "<tr class=\"resource\"><th colspan=\"{}\">{}</th></tr>",
                roles.len() + 1,
                esc(res)
            );
        }
        let mark = if body.contains(name) { " ◐" } else { "" };
        let _ = write!(
            s,
            "<tr><td class=\"perm\" title=\"{}\">{}{mark}</td>",
            esc(p.permission_description(id)),
            esc(name)
        );
        for r in &roles {
            let act = usage.map(|u| u.get(*r).unwrap_or(&none));
            s.push_str(&cell(p, r, id, name, act, max));
        }
        s.push_str("</tr>\n");
    }
    s + "</table>"
}

pub fn conditions(p: &Policy) -> String {
    let heads: String = conditions::COLUMNS
        .iter()
        .map(|(_, h)| format!("<th>{h}</th>"))
        .collect();
    let mut s = format!("<table id=\"conditions\"><thead><tr><th>role</th>{heads}</tr></thead>\n");
    for r in p.roles() {
        let c: Vec<String> = conditions::of(p, r)
            .into_iter()
            .map(|c| esc(&c.value.unwrap_or_else(|| "—".into())))
            .collect();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            c.join("</td><td>")
        );
    }
    s + "</table>"
}
