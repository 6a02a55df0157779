//! One row per person and role: last seen, each permission used with its count, each denial
//! with its count; dormant people and uses beyond the role marked in the text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::findings::{Finding, Kind};
use super::{esc, thousands};
use crate::activity::{Activity, Person};
use crate::usage::day;

/// Who is dormant, and which (person, role, permission) are beyond the role.
struct Marks<'a> {
    dormant: BTreeSet<&'a str>,
    beyond: BTreeSet<(&'a str, &'a str, &'a str)>,
}

fn marks(found: &[Finding]) -> Marks<'_> {
    let mut m = Marks {
        dormant: BTreeSet::new(),
        beyond: BTreeSet::new(),
    };
    for f in found {
        match &f.kind {
            Kind::Dormant { person, .. } => {
                m.dormant.insert(person);
            }
            Kind::BeyondRole {
                person,
                role,
                permission,
                ..
            } => {
                m.beyond.insert((person, role, permission));
            }
            _ => {}
        }
    }
    m
}

fn used(p: &Person, beyond: &dyn Fn(&str) -> bool) -> String {
    let items: Vec<String> = p
        .used
        .iter()
        .map(|(perm, u)| {
            let flag = if beyond(perm) { " ⚑" } else { "" };
            format!(
                "<span class=\"use\">{}{flag} <b>{}</b></span>",
                esc(perm),
                thousands(u.count)
            )
        })
        .collect();
    items.join(" ")
}

fn denials(p: &Person) -> String {
    let items: Vec<String> = p
        .denied
        .iter()
        .flat_map(|(code, by)| by.iter().map(move |(perm, n)| (code, perm, n)))
        .map(|(code, perm, n)| {
            format!(
                "<span class=\"use\"><code>{}</code> {} <b>{}</b></span>",
                esc(code),
                esc(if perm.is_empty() { "—" } else { perm }),
                thousands(*n)
            )
        })
        .collect();
    items.join(" ")
}

pub fn section(a: &Activity, found: &[Finding]) -> String {
    let m = marks(found);
    let rows = a.people();
    let mut s = format!("<h2 id=\"people-h\">People</h2>\n<p>{} people with a record in the logs (the record's <code>adminId</code>); ⚑ a use beyond the role (R004).</p>\n<table id=\"people\" class=\"list\"><thead><tr><th>person</th><th>role</th><th>last seen</th><th>permissions used (uses)</th><th>denied (attempts)</th></tr></thead>\n", rows.iter().map(|r| r.0).collect::<BTreeSet<_>>().len());
    for (who, role, p) in rows {
        let dormant = m.dormant.contains(who);
        let last = if dormant {
            format!("{} <b>dormant</b>", day(p.last))
        } else {
            day(p.last)
        };
        let beyond = |perm: &str| m.beyond.contains(&(who, role, perm));
        let _ = writeln!(
            s,
            "<tr class=\"person{}\"><td>{}</td><td>{}</td><td>{last}</td><td>{}</td><td>{}</td></tr>",
            if dormant { " dormant" } else { "" },
            esc(who),
            esc(role),
            used(p, &beyond),
            denials(p)
        );
    }
    s + "</table>\n"
}
