//! `report CONFIG [--usage AUDIT_LOG…] [--previous OLD] -o review.html`: one self-contained
//! HTML page for an access review that people sign (no external asset, no network). It opens
//! with where it comes from (the generation time, the SHA-256 of the policy and of each log),
//! then the findings (`findings.rs`: unused grants, roles with no traffic, dormant people, uses
//! beyond the role, denials by code, changes since the previous policy; each can be accepted,
//! `accept.rs`), the people (`people_html.rs`), the role × permission matrix as a heat map and
//! each role's conditions (`matrix_html.rs`), and a sign-off block. `--review-csv` writes the
//! sign-off sheet (`review_csv.rs`). The logs are read once, streaming (`activity.rs`). A few
//! lines of inline script count the page's cells and findings into its summaries
//! (`assets.rs`), so what a reader sees is what the page holds (the browser test reads them).

mod accept;
mod assets;
mod clock;
mod findings;
mod findings_html;
mod matrix_html;
mod people_html;
mod review_csv;

use std::fmt::Write as _;
use std::process::ExitCode;

use intercom_authz::policy::Policy;

use crate::activity::{self, Activity};
use crate::common::*;
use clock::Cutoff;
use findings::Finding;

pub use clock::DEFAULT_SINCE;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `1184` as `1,184`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What `report` is asked for, besides CONFIG.
pub struct Options<'a> {
    pub logs: &'a [String],
    pub previous: Option<&'a str>,
    pub output: &'a str,
    pub since: &'a str,
    pub review_csv: Option<&'a str>,
    pub accept: &'a [String],
    pub accepted: Option<&'a str>,
}

/// A change's line: `name: old → new`, marked when it widens access.
fn change_item(name: &str, old: &Option<String>, new: &Option<String>, widens: bool) -> String {
    let show = |v: &Option<String>| esc(v.as_deref().unwrap_or("none"));
    let mark = if widens {
        " <b>(widens access)</b>"
    } else {
        ""
    };
    format!("{}: {} → {}{mark}", esc(name), show(old), show(new))
}

fn item_list(title: &str, status: &str, items: &[String]) -> String {
    format!(
        "<b>{}</b> {status}<ul><li>{}</li></ul>",
        esc(title),
        items.join("</li><li>")
    )
}

/// What changed since the previous policy (`access::diff`, as `matrix --diff` reports it): the
/// settings, each role, each route; a subject (`settings`, a role, a route) and its item's HTML.
fn changes(old: &Policy, new: &Policy) -> Vec<(String, String)> {
    // A route whose access changed only through a role's grants is that role's change.
    let d = intercom_authz_cli::access::diff(old, new).by_permission();
    let mut out = Vec::new();
    if !d.settings.is_empty() {
        let items: Vec<String> = d
            .settings
            .iter()
            .map(|c| change_item(&c.name, &c.old, &c.new, c.widens))
            .collect();
        out.push((
            "settings".to_string(),
            item_list("every request", "", &items),
        ));
    }
    for r in &d.roles {
        let mut items: Vec<String> = r.gained.iter().map(|g| format!("+ {}", esc(g))).collect();
        items.extend(r.lost.iter().map(|l| format!("− {}", esc(l))));
        items.extend(
            r.conditions
                .iter()
                .map(|c| change_item(&c.name, &c.old, &c.new, c.widens)),
        );
        out.push((r.role.clone(), item_list(&r.role, r.status, &items)));
    }
    for r in &d.routes {
        let mut items: Vec<String> = r
            .changes
            .iter()
            .map(|c| change_item(&c.name, &c.old, &c.new, c.widens))
            .collect();
        items.extend(
            r.access
                .iter()
                .map(|a| change_item(&a.role, &a.old, &a.new, a.widens)),
        );
        out.push((r.route.clone(), item_list(&r.route, r.status, &items)));
    }
    out
}

/// The file a configuration is read from: `FILE.yaml#ID` names one of the YAML file's.
fn file_of(path: &str) -> &str {
    match path.rsplit_once('#') {
        Some((file, _)) if file.ends_with(".yaml") || file.ends_with(".yml") => file,
        _ => path,
    }
}

/// The header table: when, from what (each file with its SHA-256), and the review window.
fn provenance(path: &str, o: &Options<'_>, logs: Option<(&Activity, &Cutoff)>) -> Result<String> {
    let mut s = format!(
        "<table id=\"provenance\"><tr><th>generated</th><td>{}</td></tr>\n",
        clock::generated()?
    );
    let file = |what: &str, p: &str| -> Result<String> {
        Ok(format!("<tr><th>{what}</th><td><code>{}</code><br><span class=\"hash\">SHA-256 {}</span></td></tr>\n", esc(p), activity::sha256_file(file_of(p))?))
    };
    s.push_str(&file("policy", path)?);
    if let Some(old) = o.previous {
        s.push_str(&file("previous policy", old)?);
    }
    if let Some(acc) = o.accepted {
        let _ = writeln!(
            s,
            "<tr><th>accepted findings</th><td><code>{}</code></td></tr>",
            esc(acc)
        );
    }
    let Some((a, cutoff)) = logs else {
        return Ok(s + "</table>\n");
    };
    for f in &a.files {
        let _ = writeln!(s, "<tr><th>audit log</th><td><code>{}</code>, {} lines<br><span class=\"hash\">SHA-256 {}</span></td></tr>", esc(&f.path), thousands(f.lines), f.sha256);
    }
    let span = a
        .span
        .map(|(x, y)| format!(", {} to {}", clock::stamp(x), clock::stamp(y)))
        .unwrap_or_default();
    let _ = writeln!(s, "<tr><th>records</th><td id=\"usage\">{} decisions{span}; {} other lines skipped; {} malformed{}</td></tr>", thousands(a.records), thousands(a.skipped), thousands(a.malformed), a.first_malformed.as_deref().map(|m| format!(" (first: {})", esc(m))).unwrap_or_default());
    let _ = writeln!(
        s,
        "<tr><th>active means</th><td>a record since {} ({})</td></tr>",
        clock::stamp(cutoff.time),
        esc(&cutoff.why)
    );
    Ok(s + "</table>\n")
}

const SIGN_OFF: &str = "<h2>Sign-off</h2>\n<table id=\"sign-off\"><thead><tr><th>reviewer</th><th>date</th><th>decision</th><th>signature</th></tr></thead><tr><td></td><td></td><td></td><td></td></tr><tr><td></td><td></td><td></td><td></td></tr></table>\n";

fn legend(logs: bool) -> &'static str {
    if logs {
        "<p class=\"legend\"><span>ᴹ needs MFA</span><span>◐ the body decides (some routes)</span><span style=\"background:hsl(120,55%,60%)\">✓ used, with its count (darker: more)</span><span class=\"unused\" style=\"background:#f9c79a\">✓ 0: granted, never used</span><span style=\"background:#eee\">✓ granted to a role with no traffic</span></p>\n"
    } else {
        "<p class=\"legend\"><span class=\"yes\">✓ granted</span><span>ᴹ needs MFA</span><span>◐ the body decides (some routes)</span></p>\n"
    }
}

/// Everything the page shows.
struct Page<'a> {
    path: &'a str,
    policy: &'a Policy,
    logs: Option<(&'a Activity, &'a Cutoff)>,
    findings: &'a [Finding],
    unmatched: Vec<&'a str>,
}

fn page(pg: &Page<'_>, o: &Options<'_>) -> Result<String> {
    let title = esc(pg.path);
    let mut h = format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access review: {title}</title><style>{}</style></head><body>\n<h1>Access review: <code>{title}</code></h1>\n", assets::STYLE);
    h.push_str(&provenance(pg.path, o, pg.logs)?);
    let ctx = findings_html::Context {
        policy: pg.policy,
        logs: pg.logs,
        previous: o.previous,
        unmatched: pg.unmatched.clone(),
    };
    h.push_str(&findings_html::section(&ctx, pg.findings));
    if let Some((a, _)) = pg.logs {
        h.push_str(&people_html::section(a, pg.findings));
    }
    h.push_str("<h2 id=\"matrix-h\">Roles × permissions</h2>\n<p id=\"summary\"></p>\n");
    h.push_str(legend(pg.logs.is_some()));
    h.push_str(&matrix_html::matrix(
        pg.policy,
        pg.logs.map(|(a, _)| &a.roles),
    ));
    h.push_str("\n<h2>Conditions</h2>\n");
    h.push_str(&matrix_html::conditions(pg.policy));
    h.push_str(SIGN_OFF);
    let _ = writeln!(h, "<script>{}</script></body></html>", assets::SCRIPT);
    Ok(h)
}

pub fn report(path: &str, o: &Options<'_>) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let accepts = accept::load(o.accepted, o.accept)?;
    let logs = if o.logs.is_empty() {
        None
    } else {
        let a = activity::read_hashed(o.logs)?;
        let cutoff = clock::cutoff(o.since, a.span.map_or(0, |s| s.1))?;
        Some((a, cutoff))
    };
    let mut found = logs
        .as_ref()
        .map(|(a, c)| findings::from_logs(&p, a, c.time))
        .unwrap_or_default();
    if let Some(old) = o.previous {
        let (_, before) = compile(old)?;
        found.extend(findings::changes(changes(&before, &p)));
    }
    accepts.apply(&mut found);
    let unmatched = accepts.unmatched(&found);
    for e in &unmatched {
        eprintln!("note: accepted `{e}` matches no finding");
    }
    let pg = Page {
        path,
        policy: &p,
        logs: logs.as_ref().map(|(a, c)| (a, c)),
        findings: &found,
        unmatched,
    };
    let html = page(&pg, o)?;
    std::fs::write(o.output, html).map_err(|e| format!("cannot write `{}`: {e}", o.output))?;
    if let (Some(csv), Some((a, _))) = (o.review_csv, &logs) {
        review_csv::write(csv, &p, a, &found)?;
        eprintln!("wrote {csv}");
    }
    let open = found.iter().filter(|f| !f.accepted).count();
    eprintln!(
        "wrote {}: {open} open findings, {} accepted",
        o.output,
        found.len() - open
    );
    Ok(ExitCode::SUCCESS)
}
