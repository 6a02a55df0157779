//! `--review-csv OUT`: one row per person and role, for the sign-off: what the role grants,
//! what the person used, when last, the findings about them, and blank `reviewer` and
//! `decision` columns, written by `csv.rs` (RFC 4180; a value a spreadsheet would run as a formula
//! gets a leading `'`, since people's ids come from the logs).

use std::collections::BTreeMap;

use intercom_authz::policy::Policy;

use super::findings::{Finding, Kind};
use crate::activity::{Activity, Person};
use crate::common::Result;
use crate::csv::row;
use crate::usage::day;

pub const HEADER: [&str; 8] = [
    "person",
    "role",
    "entitlements",
    "permissions used",
    "last activity",
    "findings",
    "reviewer",
    "decision",
];

/// The findings about people, by person: the role they are about (none: every role) and the
/// finding as the sheet shows it (`R004 beyond-role conversations:assign (accepted)`).
fn about(findings: &[Finding]) -> BTreeMap<&str, Vec<(Option<&str>, String)>> {
    let mut out: BTreeMap<&str, Vec<(Option<&str>, String)>> = BTreeMap::new();
    for f in findings {
        let (who, role, what) = match &f.kind {
            Kind::Dormant { person, .. } => (person, None, String::new()),
            Kind::BeyondRole {
                person,
                role,
                permission,
                ..
            } => (person, Some(role.as_str()), format!(" {permission}")),
            _ => continue,
        };
        let mark = if f.accepted { " (accepted)" } else { "" };
        let text = format!("{} {}{what}{mark}", f.code(), f.rule());
        out.entry(who).or_default().push((role, text));
    }
    out
}

fn used(p: &Person) -> String {
    let u: Vec<String> = p
        .used
        .iter()
        .map(|(perm, u)| format!("{perm} ({})", u.count))
        .collect();
    u.join(";")
}

/// The CSV text: people sorted by id, then role.
pub fn render(p: &Policy, a: &Activity, findings: &[Finding]) -> String {
    let rows = a.people();
    let about = about(findings);
    let mut s = row(&HEADER);
    for (who, role, person) in rows {
        let mine: Vec<&str> = about
            .get(who)
            .into_iter()
            .flatten()
            .filter(|(r, _)| r.is_none_or(|r| r == role))
            .map(|(_, text)| text.as_str())
            .collect();
        let grants: Vec<&str> = p
            .role(role)
            .map(|r| p.names(&r.permissions).collect())
            .unwrap_or_default();
        s.push_str(&row(&[
            who,
            role,
            &grants.join(";"),
            &used(person),
            &day(person.last),
            &mine.join(";"),
            "",
            "",
        ]));
    }
    s
}

pub fn write(out: &str, p: &Policy, a: &Activity, findings: &[Finding]) -> Result<()> {
    std::fs::write(out, render(p, a, findings)).map_err(|e| format!("cannot write `{out}`: {e}"))
}
