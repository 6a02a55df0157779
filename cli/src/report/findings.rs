//! The review's findings, as data: what the policy grants against what the logs show people
//! doing. Each has a code, a rule name and a subject (for `--accept CODE[:SUBJECT]`); the page,
//! the CSV and the counts are drawn from this one list.

use std::collections::{BTreeMap, BTreeSet};

use intercom_authz::policy::Policy;

use crate::activity::{Activity, Person, RoleActivity};

/// Code, rule name, and what the SUBJECT of `--accept CODE:SUBJECT` is.
pub const RULES: [(&str, &str, &str); 6] = [
    ("R001", "unused-grant", "ROLE/PERMISSION"),
    ("R002", "no-traffic", "ROLE"),
    ("R003", "dormant", "PERSON"),
    ("R004", "beyond-role", "PERSON/PERMISSION"),
    ("R005", "denied", "ROLE/CODE/PERMISSION"),
    ("R006", "policy-change", "settings, ROLE or ROUTE"),
];

/// R004: a permission fewer than this share (percent) of the role's other people used…
pub const UNUSUAL_BELOW_PERCENT: usize = 25;
/// …in a role with at least this many people who used any of it.
pub const UNUSUAL_MIN_PEOPLE: usize = 3;

pub enum Kind {
    /// Granted to a role that the logs show in use, never used by it.
    UnusedGrant { role: String, permission: String },
    /// A role of the policy with no allowed use of its grants in the logs.
    NoTraffic {
        role: String,
        records: u64,
        denied: u64,
    },
    /// A person with no record since the cutoff.
    Dormant {
        person: String,
        roles: Vec<String>,
        last: u64,
    },
    /// A person using a permission few of the role's other people use, or one it does not grant.
    BeyondRole {
        person: String,
        role: String,
        permission: String,
        uses: u64,
        others_using: usize,
        others: usize,
        granted: bool,
    },
    /// Denied attempts of one role, code and permission.
    Denied {
        role: String,
        code: String,
        permission: String,
        attempts: u64,
        people: usize,
    },
    /// What changed since the previous policy for the settings, a role or a route (its page
    /// item, as HTML).
    Changed { subject: String, html: String },
}

pub struct Finding {
    pub kind: Kind,
    pub accepted: bool,
}

impl Finding {
    fn index(&self) -> usize {
        match self.kind {
            Kind::UnusedGrant { .. } => 0,
            Kind::NoTraffic { .. } => 1,
            Kind::Dormant { .. } => 2,
            Kind::BeyondRole { .. } => 3,
            Kind::Denied { .. } => 4,
            Kind::Changed { .. } => 5,
        }
    }

    pub fn code(&self) -> &'static str {
        RULES.get(self.index()).map_or("", |r| r.0)
    }

    pub fn rule(&self) -> &'static str {
        RULES.get(self.index()).map_or("", |r| r.1)
    }

    pub fn subject(&self) -> String {
        match &self.kind {
            Kind::UnusedGrant { role, permission } => format!("{role}/{permission}"),
            Kind::NoTraffic { role, .. } => role.clone(),
            Kind::Changed { subject, .. } => subject.clone(),
            Kind::Dormant { person, .. } => person.clone(),
            Kind::BeyondRole {
                person, permission, ..
            } => format!("{person}/{permission}"),
            Kind::Denied {
                role,
                code,
                permission,
                ..
            } => format!("{role}/{code}/{permission}"),
        }
    }

    /// The role it is about, if one.
    pub fn role(&self) -> Option<&str> {
        match &self.kind {
            Kind::UnusedGrant { role, .. }
            | Kind::NoTraffic { role, .. }
            | Kind::BeyondRole { role, .. }
            | Kind::Denied { role, .. } => Some(role),
            Kind::Dormant { .. } | Kind::Changed { .. } => None,
        }
    }
}

fn open(kind: Kind) -> Finding {
    Finding {
        kind,
        accepted: false,
    }
}

fn granted(p: &Policy, role: &str) -> Vec<String> {
    p.role(role)
        .map(|r| p.names(&r.permissions).map(str::to_string).collect())
        .unwrap_or_default()
}

fn denied_total(r: &RoleActivity) -> u64 {
    r.denied.values().flat_map(|by| by.values()).sum()
}

/// R001 and R002: each role of the policy, in the policy's order.
fn grants(p: &Policy, a: &Activity) -> Vec<Finding> {
    let none = RoleActivity::default();
    let mut out = Vec::new();
    for role in p.roles() {
        let act = a.roles.get(&role.name).unwrap_or(&none);
        let all = granted(p, &role.name);
        let (used, unused): (Vec<String>, Vec<String>) =
            all.into_iter().partition(|g| act.used.contains_key(g));
        if used.is_empty() {
            out.push(open(Kind::NoTraffic {
                role: role.name.clone(),
                records: act.records,
                denied: denied_total(act),
            }));
            continue;
        }
        out.extend(unused.into_iter().map(|permission| {
            open(Kind::UnusedGrant {
                role: role.name.clone(),
                permission,
            })
        }));
    }
    out
}

/// R003: people whose last record, under any role, is older than the cutoff.
fn dormant(a: &Activity, cutoff: u64) -> Vec<Finding> {
    let mut people: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
    for (role, r) in &a.roles {
        for (person, p) in &r.people {
            let e = people.entry(person).or_default();
            e.0 = e.0.max(p.last);
            e.1.push(role.clone());
        }
    }
    people
        .into_iter()
        .filter(|(_, (last, _))| *last < cutoff)
        .map(|(person, (last, roles))| {
            open(Kind::Dormant {
                person: person.to_string(),
                roles,
                last,
            })
        })
        .collect()
}

/// R004 for one role: see [`UNUSUAL_BELOW_PERCENT`].
fn beyond(p: &Policy, role: &str, r: &RoleActivity) -> Vec<Finding> {
    let grant: Option<BTreeSet<String>> =
        p.role(role).map(|_| granted(p, role).into_iter().collect());
    let active: Vec<(&String, &Person)> = r
        .people
        .iter()
        .filter(|(_, p)| !p.used.is_empty())
        .collect();
    // How many of the role's people used each permission.
    let mut users: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, me) in &active {
        for perm in me.used.keys() {
            *users.entry(perm).or_default() += 1;
        }
    }
    let others = active.len().saturating_sub(1);
    let mut out = Vec::new();
    for (person, me) in &active {
        for (perm, u) in &me.used {
            let others_using = users.get(perm.as_str()).map_or(0, |n| n.saturating_sub(1));
            let is_granted = grant.as_ref().is_none_or(|g| g.contains(perm));
            let rare = active.len() >= UNUSUAL_MIN_PEOPLE
                && others_using * 100 < UNUSUAL_BELOW_PERCENT * others;
            if rare || !is_granted {
                out.push(open(Kind::BeyondRole {
                    person: (*person).clone(),
                    role: role.to_string(),
                    permission: perm.clone(),
                    uses: u.count,
                    others_using,
                    others,
                    granted: is_granted,
                }));
            }
        }
    }
    out
}

/// R005: each role, code and permission denied.
fn denied(a: &Activity) -> Vec<Finding> {
    let mut out = Vec::new();
    for (role, r) in &a.roles {
        for (code, by) in &r.denied {
            for (perm, n) in by {
                let people = r
                    .people
                    .values()
                    .filter(|p| p.denied.get(code).is_some_and(|b| b.contains_key(perm)))
                    .count();
                out.push(open(Kind::Denied {
                    role: role.clone(),
                    code: code.clone(),
                    permission: perm.clone(),
                    attempts: *n,
                    people,
                }));
            }
        }
    }
    out
}

/// Every finding from the logs, in the order of [`RULES`].
pub fn from_logs(p: &Policy, a: &Activity, cutoff: u64) -> Vec<Finding> {
    let mut out = grants(p, a);
    out.extend(dormant(a, cutoff));
    for (role, r) in &a.roles {
        out.extend(beyond(p, role, r));
    }
    out.extend(denied(a));
    out
}

/// R006: one per subject (the settings, a role, a route) that changed since the previous policy.
pub fn changes(items: Vec<(String, String)>) -> Vec<Finding> {
    items
        .into_iter()
        .map(|(subject, html)| open(Kind::Changed { subject, html }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Use;

    fn person(perms: &[&str], last: u64) -> Person {
        Person {
            last,
            used: perms
                .iter()
                .map(|p| (p.to_string(), Use { count: 1, last }))
                .collect(),
            denied: Default::default(),
        }
    }

    #[test]
    fn a_permission_few_others_use_is_beyond_the_role() {
        let cfg: intercom_authz::PolicyConfig = serde_json::from_str("{}").unwrap();
        let p = Policy::compile(&cfg).unwrap();
        let mut r = RoleActivity::default();
        for (who, perms) in [
            ("a", &["contacts:read"][..]),
            ("b", &["contacts:read"]),
            ("c", &["contacts:read"]),
            ("d", &["contacts:read", "conversations:assign"]),
        ] {
            r.people.insert(who.into(), person(perms, 10));
        }
        let f = beyond(&p, "agent", &r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject(), "d/conversations:assign");
        // Not granted to the role: beyond it whatever the others do.
        r.people
            .insert("e".into(), person(&["contacts:delete"], 10));
        assert_eq!(beyond(&p, "agent", &r).len(), 2);
    }

    #[test]
    fn dormant_is_the_last_record_under_any_role() {
        let mut a = Activity::default();
        let mut r = RoleActivity::default();
        r.people.insert("x".into(), person(&[], 5));
        r.people.insert("y".into(), person(&[], 50));
        a.roles.insert("agent".into(), r);
        let mut r = RoleActivity::default();
        r.people.insert("y".into(), person(&[], 500));
        a.roles.insert("tier1".into(), r);
        let f = dormant(&a, 100);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject(), "x");
    }
}
