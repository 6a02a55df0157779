//! `report CONFIG [--usage AUDIT_LOG…] [--previous OLD] -o review.html`: one self-contained
//! HTML page for an access review (no external asset, no network): the role × permission
//! matrix grouped by resource, body-decided permissions and MFA marked, each role's conditions,
//! what changed since a previous policy, and, with `--usage`, used and unused grants as a heat
//! map. A few lines of inline script count the cells into the summary, so what a reader sees is
//! what the page holds (the browser test reads that summary).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use intercom_authz::policy::Policy;

use crate::common::*;
use crate::usage::{self, RoleReport};
use crate::conditions;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:center}
th.perm,td.perm{text-align:left;font-family:monospace}tr.resource th{background:#eee;text-align:left}
td.yes{background:#d8f0d8}td.no{color:#bbb}td.unused{background:#f9c79a}
.legend span{display:inline-block;padding:0 6px;margin-right:8px;border:1px solid #ccc}
#summary{font-size:16px;font-weight:600}";

const SCRIPT: &str = "const n=s=>document.querySelectorAll(s).length;
document.getElementById('summary').textContent=
n('th.role')+' roles · '+n('td.perm')+' permissions · '+n('td.yes,td.used,td.unused')+' grants · '+
n('td.used')+' used · '+n('td.unused')+' unused';";

/// Which permissions a body-dependent route decides (marked ◐ in the matrix).
fn body_decided(p: &Policy) -> BTreeSet<String> {
    p.routes()
        .iter()
        .filter_map(|r| r.body)
        .flat_map(|rule| rule.possible().iter().map(|s| s.to_string()))
        .collect()
}

/// A cell: granted or not, with usage when there is some.
fn cell(
    p: &Policy,
    role: &str,
    id: u16,
    name: &str,
    usage: Option<&RoleReport>,
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
    match usage.map(|u| u.used.get(name)) {
        None => format!("<td class=\"yes\">✓{mfa}</td>"),
        Some(None) => format!("<td class=\"unused\" title=\"granted, never used\">✓{mfa}</td>"),
        Some(Some(u)) => {
            // Log scale: light green for one use, dark for the most used.
            let f = (u.count as f64).ln_1p() / (max as f64).ln_1p().max(1.0);
            let light = 88.0 - 48.0 * f;
            format!("<td class=\"used\" data-count=\"{}\" style=\"background:hsl(120,55%,{light:.0}%)\" title=\"{} uses, last {}\">✓{mfa}</td>", u.count, u.count, usage::day(u.last))
        }
    }
}

fn matrix_table(p: &Policy, usage: Option<&BTreeMap<String, RoleReport>>) -> String {
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
    let body = body_decided(p);
    let max = usage
        .into_iter()
        .flat_map(|u| u.values())
        .flat_map(|r| r.used.values())
        .map(|u| u.count)
        .max()
        .unwrap_or(1);
    let mut s = String::from("<table id=\"matrix\"><tr><th class=\"perm\">permission</th>");
    for r in &roles {
        let _ = write!(s, "<th class=\"role\">{}</th>", esc(r));
    }
    s.push_str("</tr>\n");
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
            s.push_str(&cell(p, r, id, name, usage.and_then(|u| u.get(*r)), max));
        }
        s.push_str("</tr>\n");
    }
    s + "</table>"
}

fn conditions_table(p: &Policy) -> String {
    let mut s = String::from("<table id=\"conditions\"><tr><th>role</th><th>MFA</th><th>IP allowlist</th><th>session age</th></tr>\n");
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

fn change_item(name: &str, old: &Option<String>, new: &Option<String>, widens: bool) -> String {
    let show = |v: &Option<String>| esc(v.as_deref().unwrap_or("none"));
    let mark = if widens { " <b>(widens access)</b>" } else { "" };
    format!("{}: {} → {}{mark}", esc(name), show(old), show(new))
}

/// What changed since the previous policy (`access::diff`, as `matrix --diff` reports it).
fn changes(old: &Policy, new: &Policy) -> String {
    let mut s = String::from("<ul id=\"changes\">");
    let d = intercom_authz_cli::access::diff(old, new);
    let mut item = |title: &str, status: &str, items: Vec<String>| {
        let _ = write!(
            s,
            "<li><b>{}</b> {status}<ul><li>{}</li></ul></li>",
            esc(title),
            items.join("</li><li>")
        );
    };
    if !d.settings.is_empty() {
        let items = d.settings.iter().map(|c| change_item(&c.name, &c.old, &c.new, c.widens));
        item("every request", "", items.collect());
    }
    for r in &d.roles {
        let mut items: Vec<String> = r.gained.iter().map(|g| format!("+ {}", esc(g))).collect();
        items.extend(r.lost.iter().map(|l| format!("− {}", esc(l))));
        items.extend(r.conditions.iter().map(|c| change_item(&c.name, &c.old, &c.new, c.widens)));
        item(&r.role, r.status, items);
    }
    for r in &d.routes {
        let mut items: Vec<String> = r.changes.iter().map(|c| change_item(&c.name, &c.old, &c.new, c.widens)).collect();
        items.extend(r.access.iter().map(|a| change_item(&a.role, &a.old, &a.new, a.widens)));
        item(&r.route, r.status, items);
    }
    if d.is_empty() {
        s.push_str("<li>nothing the evaluator decides changed</li>");
    }
    s + "</ul>"
}

pub fn report(path: &str, logs: &[String], previous: Option<&str>, out: &str) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let usage = if logs.is_empty() {
        None
    } else {
        let u = usage::read_logs(logs)?;
        Some((
            usage::reports(&p, &u)
                .into_iter()
                .map(|r| (r.role.clone(), r))
                .collect::<BTreeMap<_, _>>(),
            u,
        ))
    };
    let mut h = format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access review: {}</title><style>{STYLE}</style></head><body>\n", esc(path));
    let _ = writeln!(
        h,
        "<h1>Access review: <code>{}</code></h1>\n<p id=\"summary\"></p>",
        esc(path)
    );
    if let Some((_, u)) = &usage {
        let span = u
            .span
            .map(|(a, b)| format!(", {} to {}", usage::day(a), usage::day(b)))
            .unwrap_or_default();
        let _ = writeln!(h, "<p id=\"usage\">Usage from {} decisions in {} log file(s){span}; {} malformed lines.</p>", u.records, logs.len(), u.malformed);
    }
    h.push_str("<p class=\"legend\"><span class=\"yes\">✓ granted</span><span>ᴹ needs MFA</span><span>◐ the body decides (some routes)</span>");
    if usage.is_some() {
        h.push_str("<span style=\"background:hsl(120,55%,60%)\">✓ used (darker: more)</span><span class=\"unused\" style=\"background:#f9c79a\">✓ granted, never used</span>");
    }
    h.push_str("</p>\n<h2>Roles × permissions</h2>\n");
    h.push_str(&matrix_table(&p, usage.as_ref().map(|(r, _)| r)));
    h.push_str("\n<h2>Conditions</h2>\n");
    h.push_str(&conditions_table(&p));
    if let Some(old) = previous {
        let (_, o) = compile(old)?;
        let _ = write!(
            h,
            "\n<h2>Changes since <code>{}</code></h2>\n{}",
            esc(old),
            changes(&o, &p)
        );
    }
    let _ = write!(h, "\n<script>{SCRIPT}</script></body></html>\n");
    std::fs::write(out, h).map_err(|e| format!("cannot write `{out}`: {e}"))?;
    eprintln!("wrote {out}");
    Ok(ExitCode::SUCCESS)
}
