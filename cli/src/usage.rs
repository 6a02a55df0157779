//! `usage POLICY AUDIT_LOG… [--format text|json|csv] [--propose OUT]`: least privilege from real
//! usage. Reads the decision logs (`activity.rs`, which `report` reads through too) and reports
//! per role and per subject the permissions granted and used (count, last use), granted and
//! never used, used but not granted by the role (the token's, `grantedByToken`), and denied
//! attempts by code; proposes a narrower policy (`--propose`, `propose.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use intercom_authz::policy::Policy;

use crate::activity::{self, Activity, RoleActivity, Use};
use crate::common::*;
use crate::UsageFormat;

mod propose;

/// One role's report.
#[derive(serde::Serialize)]
pub struct RoleReport {
    pub role: String,
    pub known: bool,
    /// What it used of its own grants: the evidence about the role.
    pub used: BTreeMap<String, Use>,
    /// What it used that the role does not grant (the token's `permissions` claim, with
    /// `token_grants`): evidence about the token, not the role.
    pub from_token: BTreeMap<String, Use>,
    /// Those of `from_token` that the records name as the token's (`grantedByToken`); the
    /// others came another way (the reassign rule, or records of another policy).
    pub recorded_by_token: BTreeSet<String>,
    pub unused: Vec<String>,
    denied: BTreeMap<String, u64>,
    subjects: BTreeMap<String, BTreeMap<String, Use>>,
}

pub fn reports(p: &Policy, u: &Activity) -> Vec<RoleReport> {
    let mut names: BTreeSet<String> = u.roles.keys().cloned().collect();
    names.extend(p.roles().iter().map(|r| r.name.clone()));
    let empty = RoleActivity::default();
    names
        .into_iter()
        .map(|name| report(p, u.roles.get(&name).unwrap_or(&empty), name))
        .collect()
}

/// One role's report. A permission the compiled role does not grant is not evidence about it
/// (a role the policy lacks keeps all): the records say which the token granted.
fn report(p: &Policy, t: &RoleActivity, name: String) -> RoleReport {
    let role = p.role(&name);
    let grants = |perm: &String| {
        role.is_none_or(|r| {
            p.permission_id(perm)
                .is_some_and(|id| r.permissions.contains(id))
        })
    };
    let (used, from_token): (BTreeMap<_, _>, BTreeMap<_, _>) = t
        .used
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .partition(|(k, _)| grants(k));
    let granted: Vec<String> = role
        .map(|r| p.names(&r.permissions).map(str::to_string).collect())
        .unwrap_or_default();
    let subjects = t
        .people
        .iter()
        .map(|(s, person)| {
            let mine = person.used.iter().filter(|(k, _)| grants(k));
            (s.clone(), mine.map(|(k, v)| (k.clone(), *v)).collect())
        })
        .collect();
    RoleReport {
        known: role.is_some(),
        unused: granted
            .into_iter()
            .filter(|g| !used.contains_key(g))
            .collect(),
        used,
        recorded_by_token: t.by_token.clone(),
        from_token,
        denied: denials(&t.denied),
        subjects,
        role: name,
    }
}

/// Denied attempts as `code (permission)` → how many.
fn denials(d: &activity::Denials) -> BTreeMap<String, u64> {
    d.iter()
        .flat_map(|(code, by_perm)| {
            by_perm.iter().map(move |(perm, n)| {
                let what = if perm.is_empty() {
                    code.clone()
                } else {
                    format!("{code} ({perm})")
                };
                (what, *n)
            })
        })
        .collect()
}

pub fn day(t: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = (t / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn text(token_grants: bool, u: &Activity, reports: &[RoleReport]) {
    let span = u
        .span
        .map(|(a, b)| format!(", {} to {}", day(a), day(b)))
        .unwrap_or_default();
    outln!(
        "{} decisions read{span}; {} other lines skipped; {} malformed",
        u.records,
        u.skipped,
        u.malformed
    );
    if let Some(m) = &u.first_malformed {
        outln!("  first malformed: {m}");
    }
    // Without `token_grants`, a permission the role lacks cannot have come from the token.
    let from = if token_grants {
        "not granted by the role: the token's claim, or the reassign rule"
    } else {
        "not granted by the role: logged under another policy?"
    };
    for r in reports {
        role_text(r, from);
    }
}

fn role_text(r: &RoleReport, from: &str) {
    let note = if r.known {
        ""
    } else {
        " (not a role of the policy)"
    };
    outln!("\nrole `{}`{note}: {} subjects", r.role, r.subjects.len());
    for (p, s) in &r.used {
        outln!("  used    {p}: {} times, last {}", s.count, day(s.last));
    }
    for (p, s) in &r.from_token {
        let last = day(s.last);
        let from = if r.recorded_by_token.contains(p) {
            "granted by the token's permissions claim"
        } else {
            from
        };
        outln!("  token   {p}: {} times, last {last} ({from})", s.count);
    }
    if r.used.is_empty() && r.known && r.from_token.is_empty() {
        outln!("  no allowed request in the logs: no evidence to narrow it");
    } else if r.used.is_empty() && r.known {
        outln!("  none of its own grants used: no evidence to narrow it");
    } else if !r.unused.is_empty() {
        outln!("  unused  {}", r.unused.join(", "));
    }
    for (code, n) in &r.denied {
        outln!("  denied  {code}: {n}");
    }
    for (s, ps) in &r.subjects {
        if !ps.is_empty() && ps.len() < r.used.len() {
            let only: Vec<String> = ps
                .iter()
                .map(|(p, u)| format!("{p} ({}×, last {})", u.count, day(u.last)))
                .collect();
            outln!("  subject `{s}` used only {}", only.join(", "));
        }
    }
}

/// `--format csv`: a row per fact, for a spreadsheet or a sign-off sheet:
/// `kind,role,subject,permission,count,last` where kind is `used` (by a subject, of the role's
/// own grants), `token` (used, not the role's), `unused` (granted, never used) or `denied`
/// (the code, and the permission asked for).
fn csv(reports: &[RoleReport]) -> String {
    use crate::csv::row;
    let mut s = row(&["kind", "role", "subject", "permission", "count", "last"]);
    for r in reports {
        let role = r.role.as_str();
        for (subject, uses) in &r.subjects {
            for (p, u) in uses {
                s += &row(&["used", role, subject, p, &u.count.to_string(), &day(u.last)]);
            }
        }
        for (p, u) in &r.from_token {
            s += &row(&["token", role, "", p, &u.count.to_string(), &day(u.last)]);
        }
        for p in &r.unused {
            s += &row(&["unused", role, "", p, "0", ""]);
        }
        for (code, n) in &r.denied {
            s += &row(&["denied", role, "", code, &n.to_string(), ""]);
        }
    }
    s
}

pub fn usage(
    policy: &str,
    logs: &[String],
    format: UsageFormat,
    propose_to: Option<&str>,
) -> Result<ExitCode> {
    let (cfg, p) = compile(policy)?;
    let u = activity::read(logs)?;
    let reports = reports(&p, &u);
    if let Some(out) = propose_to {
        propose::write(&p, policy, &cfg.policy, &reports, out)?;
    }
    match format {
        UsageFormat::Csv => out!("{}", csv(&reports)),
        UsageFormat::Text => text(cfg.policy.token_grants, &u, &reports),
        UsageFormat::Json => outln!(
            "{}",
            serde_json::json!({"decisions": u.records, "skipped": u.skipped, "malformed": u.malformed,
                "first_malformed": u.first_malformed, "from": u.span.map(|s| s.0), "to": u.span.map(|s| s.1), "roles": reports})
        ),
    }
    Ok(ExitCode::SUCCESS)
}
