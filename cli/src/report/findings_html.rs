//! The page's findings: a summary the page's script counts from the finding elements (each
//! `.finding`, `.accepted` when accepted, with its code, rule, role and count as data
//! attributes), the rules stated, then one section per kind, every count in the text.

use std::fmt::Write as _;

use intercom_authz::policy::Policy;

use super::clock::{stamp, Cutoff};
use super::findings::{Finding, Kind, RULES, UNUSUAL_BELOW_PERCENT, UNUSUAL_MIN_PEOPLE};
use super::{esc, thousands};
use crate::activity::Activity;
use crate::usage::day;

/// What each rule finds, for the summary table (same order as [`RULES`]).
const LABELS: [&str; 6] = [
    "unused grants",
    "roles with no traffic",
    "dormant people",
    "uses beyond the role",
    "denied (role, code, permission)",
    "changes since the previous policy",
];

/// The opening tag's attributes of a finding element; `n` is its count (attempts, uses).
fn attrs(f: &Finding, n: u64) -> String {
    let class = if f.accepted {
        "finding accepted"
    } else {
        "finding"
    };
    let role = f
        .role()
        .map(|r| format!(" data-role=\"{}\"", esc(r)))
        .unwrap_or_default();
    format!(
        "class=\"{class}\" data-code=\"{}\" data-rule=\"{}\"{role} data-subject=\"{}\" data-n=\"{n}\"",
        f.code(),
        f.rule(),
        esc(&f.subject())
    )
}

/// ` (accepted)`, as text, for print.
fn mark(f: &Finding) -> &'static str {
    if f.accepted {
        " <span class=\"acc\">(accepted)</span>"
    } else {
        ""
    }
}

/// The summary: filled by the page's script from the finding elements.
fn summary(logs: bool) -> String {
    let mut s = String::from("<p id=\"findings-summary\"></p>\n<table id=\"finding-counts\" class=\"list\"><thead><tr><th>finding</th><th>code</th><th>open</th><th>accepted</th></tr></thead><tbody>");
    for ((code, rule, _), label) in RULES.iter().zip(LABELS) {
        let _ = write!(s, "<tr data-rule=\"{rule}\"><td>{label}</td><td>{code}</td><td class=\"n open\"></td><td class=\"n accepted\"></td></tr>");
    }
    s.push_str("</tbody></table>\n");
    if logs {
        s.push_str("<div class=\"side\"><table id=\"unused-by-role\" class=\"list\"><caption>unused grants by role</caption><thead><tr><th>role</th><th>unused</th><th>accepted</th></tr></thead><tbody></tbody></table>\n<table id=\"denials-by-code\" class=\"list\"><caption>denied attempts by code</caption><thead><tr><th>code</th><th>attempts</th><th>role, permission</th></tr></thead><tbody></tbody></table></div>\n");
    }
    s
}

/// The rules, stated: those that read the logs, the one that reads the previous policy.
fn rules(cutoff: Option<&Cutoff>, previous: bool) -> String {
    if cutoff.is_none() && !previous {
        return "<p id=\"rules\">Nothing to find without audit logs (<code>--usage</code>) or a previous policy (<code>--previous</code>).</p>\n".into();
    }
    let mut s = String::from("<ul id=\"rules\">");
    if let Some(c) = cutoff {
        let _ = write!(s, "<li><b>R001 unused grant</b>: granted to a role whose people used some of its grants, never used in the logs.</li>\
<li><b>R002 no traffic</b>: a role of the policy with no allowed use of its grants in the logs (its grants are not listed as unused: no evidence either way).</li>\
<li><b>R003 dormant</b>: a person (the record's <code>adminId</code>) with no record, allowed or denied, since {} ({}); the logs only show people who made a request.</li>\
<li><b>R004 beyond the role</b>: a person used a permission that fewer than {UNUSUAL_BELOW_PERCENT}% of the role's other people used, in a role with at least {UNUSUAL_MIN_PEOPLE} people who used any of it; or one the role does not grant.</li>\
<li><b>R005 denied</b>: denied attempts, by role, code and permission.</li>",
            stamp(c.time), esc(&c.why));
    }
    if previous {
        s.push_str("<li><b>R006 policy change</b>: what changed since the previous policy, one finding per subject: the settings, a role, a route.</li>");
    }
    s + "</ul>\n"
}

fn unused(p: &Policy, a: &Activity, found: &[Finding]) -> String {
    let mut s = String::from("<h3>Unused grants (R001)</h3>\n<table id=\"unused\" class=\"list\"><thead><tr><th>role</th><th>people</th><th>unused</th><th>granted, never used</th></tr></thead>\n");
    for role in p.roles() {
        let mine: Vec<&Finding> = found
            .iter()
            .filter(|f| matches!(&f.kind, Kind::UnusedGrant { role: r, .. } if *r == role.name))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let granted = p.names(&role.permissions).count();
        let chips: Vec<String> = mine
            .iter()
            .map(|f| match &f.kind {
                Kind::UnusedGrant { permission, .. } => {
                    format!(
                        "<span {}>{}{}</span>",
                        attrs(f, 1),
                        esc(permission),
                        mark(f)
                    )
                }
                _ => String::new(),
            })
            .collect();
        let _ = writeln!(s, "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} of {}</td><td class=\"chips\">{}</td></tr>", esc(&role.name), a.roles.get(&role.name).map_or(0, |r| r.people.len()), mine.len(), granted, chips.join(" "));
    }
    s + "</table>\n"
}

fn no_traffic(p: &Policy, found: &[Finding]) -> String {
    let mut s = String::from("<h3>Roles with no traffic (R002)</h3>\n<table id=\"no-traffic\" class=\"list\"><thead><tr><th>role</th><th>grants</th><th>in the logs</th></tr></thead>\n");
    for f in found {
        let Kind::NoTraffic {
            role,
            records,
            denied,
        } = &f.kind
        else {
            continue;
        };
        let grants = p.role(role).map_or(0, |r| p.names(&r.permissions).count());
        let seen = match (records, denied) {
            (0, _) => "no request".to_string(),
            (n, d) => format!(
                "{} requests, {} denied, none using its grants",
                thousands(*n),
                thousands(*d)
            ),
        };
        let _ = writeln!(
            s,
            "<tr {}><td>{}{}</td><td class=\"n\">{grants}</td><td>{seen}</td></tr>",
            attrs(f, *records),
            esc(role),
            mark(f)
        );
    }
    s + "</table>\n"
}

fn dormant(found: &[Finding], newest: u64) -> String {
    let mut s = String::from("<h3>Dormant people (R003)</h3>\n<table id=\"dormant\" class=\"list\"><thead><tr><th>person</th><th>role</th><th>last seen</th><th>days before the newest record</th></tr></thead>\n");
    for f in found {
        let Kind::Dormant {
            person,
            roles,
            last,
        } = &f.kind
        else {
            continue;
        };
        let _ = writeln!(
            s,
            "<tr {}><td>{}{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            attrs(f, 1),
            esc(person),
            mark(f),
            esc(&roles.join(", ")),
            day(*last),
            newest.saturating_sub(*last) / 86_400
        );
    }
    s + "</table>\n"
}

fn beyond(found: &[Finding]) -> String {
    let mut s = String::from("<h3>Uses beyond the role (R004)</h3>\n<table id=\"beyond\" class=\"list\"><thead><tr><th>person</th><th>role</th><th>permission</th><th>uses</th><th>the role's other people who used it</th></tr></thead>\n");
    for f in found {
        let Kind::BeyondRole {
            person,
            role,
            permission,
            uses,
            others_using,
            others,
            granted,
        } = &f.kind
        else {
            continue;
        };
        let why = if *granted {
            format!("{others_using} of {others}")
        } else {
            format!("{others_using} of {others}; <b>not granted by the role</b>")
        };
        let _ = writeln!(s, "<tr {}><td>{}{}</td><td>{}</td><td class=\"perm\">{}</td><td class=\"n\">{}</td><td>{why}</td></tr>", attrs(f, *uses), esc(person), mark(f), esc(role), esc(permission), thousands(*uses));
    }
    s + "</table>\n"
}

fn denied(found: &[Finding]) -> String {
    let mut rows: Vec<(&Finding, u64)> = found
        .iter()
        .filter_map(|f| match f.kind {
            Kind::Denied { attempts, .. } => Some((f, attempts)),
            _ => None,
        })
        .collect();
    rows.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut s = String::from("<h3>Denied attempts (R005)</h3>\n<table id=\"denied\" class=\"list\"><thead><tr><th>role</th><th>code</th><th>permission</th><th>attempts</th><th>people</th></tr></thead>\n");
    for (f, n) in rows {
        let Kind::Denied {
            role,
            code,
            permission,
            people,
            ..
        } = &f.kind
        else {
            continue;
        };
        let perm = if permission.is_empty() {
            "—"
        } else {
            permission
        };
        let _ = writeln!(s, "<tr {} data-denial=\"{}\"><td>{}{}</td><td><code>{}</code></td><td class=\"perm\">{}</td><td class=\"n\">{}</td><td class=\"n\">{people}</td></tr>", attrs(f, n), esc(code), esc(role), mark(f), esc(code), esc(perm), thousands(n));
    }
    s + "</table>\n"
}

/// R006: the changes since the previous policy, one item per subject.
fn changes(old: &str, found: &[Finding]) -> String {
    let mut s = format!(
        "<h3>Changes since <code>{}</code> (R006)</h3>\n<ul id=\"changes\">",
        esc(old)
    );
    let mut any = false;
    for f in found {
        if let Kind::Changed { html, .. } = &f.kind {
            any = true;
            let _ = write!(s, "<li {}>{html}{}</li>", attrs(f, 1), mark(f));
        }
    }
    if !any {
        s.push_str("<li>no change since the previous policy</li>");
    }
    s + "</ul>\n"
}

fn stale(unmatched: &[&str]) -> String {
    if unmatched.is_empty() {
        return String::new();
    }
    let items: Vec<String> = unmatched
        .iter()
        .map(|e| format!("<code>{}</code>", esc(e)))
        .collect();
    format!(
        "<p id=\"stale-accepts\">Accepted, and found nothing this time: {}.</p>\n",
        items.join(", ")
    )
}

/// What the findings section needs besides the findings.
pub struct Context<'a> {
    pub policy: &'a Policy,
    /// With logs: what they show, and since when people count as active.
    pub logs: Option<(&'a Activity, &'a Cutoff)>,
    pub previous: Option<&'a str>,
    pub unmatched: Vec<&'a str>,
}

pub fn section(c: &Context<'_>, found: &[Finding]) -> String {
    let mut s = String::from("<h2 id=\"findings\">Findings</h2>\n");
    s.push_str(&summary(c.logs.is_some()));
    s.push_str(&stale(&c.unmatched));
    s.push_str(&rules(c.logs.map(|(_, c)| c), c.previous.is_some()));
    if let Some((a, _)) = c.logs {
        s.push_str(&unused(c.policy, a, found));
        s.push_str(&no_traffic(c.policy, found));
        s.push_str(&dormant(found, a.span.map_or(0, |s| s.1)));
        s.push_str(&beyond(found));
        s.push_str(&denied(found));
    }
    if let Some(old) = c.previous {
        s.push_str(&changes(old, found));
    }
    s
}
