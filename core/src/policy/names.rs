//! Permission names as a configuration writes them (a name, an alias, `resource:*`, `*`),
//! resolved into sets. Every bad name of a list is found, not only the first: a role with two
//! typos is refused with one line naming both.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{hint, Policy, PolicyError};
use crate::perm::{self, PermSet};

/// A name that resolves to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BadName<'n> {
    /// Not a permission or an alias; the nearest permission, when one is near.
    Unknown(&'n str, Option<String>),
    /// A `resource:*` that matches no permission.
    NoMatch(&'n str),
}

impl Policy {
    /// Resolves a permission name, alias, `resource:*` or `*` into a set.
    fn resolve<'n>(&self, name: &'n str) -> Result<PermSet, BadName<'n>> {
        let mut set = PermSet::new();
        if name == "*" {
            for i in 0..self.perm_names.len() {
                set.insert(i as u16);
            }
            return Ok(set);
        }
        if let Some(res) = name.strip_suffix(":*") {
            for (i, n) in self.perm_names.iter().enumerate() {
                if n.split_once(':').is_some_and(|(r, _)| r == res) {
                    set.insert(i as u16);
                }
            }
            return if set.is_empty() {
                Err(BadName::NoMatch(name))
            } else {
                Ok(set)
            };
        }
        if let Some(id) = self.permission_id(name) {
            set.insert(id);
            return Ok(set);
        }
        if let Some(perms) = perm::alias(name) {
            for p in perms {
                if let Some(id) = self.permission_id(p) {
                    set.insert(id);
                }
            }
            return Ok(set);
        }
        let near = perm::nearest(name, self.perm_names.iter().map(|n| &**n));
        Err(BadName::Unknown(name, near.map(String::from)))
    }

    /// The union of what `names` resolve to; each name that resolves to nothing goes to `bad`.
    pub(super) fn resolve_names<'n>(
        &self,
        names: &'n [String],
        bad: &mut Vec<BadName<'n>>,
    ) -> PermSet {
        let mut set = PermSet::new();
        for n in names {
            match self.resolve(n) {
                Ok(s) => set = set.union(&s),
                Err(b) if !bad.contains(&b) => bad.push(b),
                Err(_) => {}
            }
        }
        set
    }

    /// The union of what `names` resolve to, or one error naming every bad name in `owner`.
    pub(super) fn resolve_all(
        &self,
        names: &[String],
        owner: &str,
    ) -> Result<PermSet, PolicyError> {
        let mut bad = Vec::new();
        let set = self.resolve_names(names, &mut bad);
        refuse(&bad, owner)?;
        Ok(set)
    }
}

/// One error naming every name of `bad` (none: no error), on one line: one name is said as
/// before (``unknown permission `x` in role `r` (did you mean `y`?)``), several are listed.
pub(super) fn refuse(bad: &[BadName<'_>], owner: &str) -> Result<(), PolicyError> {
    let unknown: Vec<(&str, String)> = bad
        .iter()
        .filter_map(|b| match b {
            BadName::Unknown(n, near) => Some((*n, hint(n, near.as_deref()))),
            BadName::NoMatch(_) => None,
        })
        .collect();
    let no_match: Vec<String> = bad
        .iter()
        .filter_map(|b| match b {
            BadName::NoMatch(n) => Some(format!("`{n}`")),
            BadName::Unknown(..) => None,
        })
        .collect();
    let mut parts = Vec::new();
    match unknown.as_slice() {
        [] => {}
        [(n, hint)] => parts.push(format!("unknown permission `{n}` in {owner}{hint}")),
        many => {
            let listed: Vec<String> = many.iter().map(|(n, h)| format!("`{n}`{h}")).collect();
            parts.push(format!(
                "unknown permissions in {owner}: {}",
                listed.join(", ")
            ));
        }
    }
    if !no_match.is_empty() {
        parts.push(format!(
            "no permission matches {} in {owner}",
            no_match.join(", ")
        ));
    }
    if parts.is_empty() {
        return Ok(());
    }
    Err(PolicyError(parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use crate::policy::{Policy, PolicyConfig};
    use alloc::string::String;

    fn refusal(json: &str) -> String {
        let cfg: PolicyConfig = serde_json::from_str(json).unwrap();
        Policy::compile(&cfg).unwrap_err().0
    }

    #[test]
    fn every_bad_grant_and_revoke_of_a_role_is_named_on_one_line() {
        let e = refusal(
            r#"{"roles":{"tier1":{"extends":"agent",
                "grant":["contacts:destroy","tags:read","tags:aply","contacts:destroy"],
                "revoke":["conversations:asign","nothing:*"]}}}"#,
        );
        assert_eq!(
            e,
            "unknown permissions in role `tier1`: `contacts:destroy` (did you mean `contacts:delete`?), \
             `tags:aply` (did you mean `tags:apply`?), `conversations:asign` (did you mean \
             `conversations:assign`?); no permission matches `nothing:*` in role `tier1`"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn one_bad_name_reads_as_before() {
        assert_eq!(
            refusal(r#"{"roles":{"t":{"revoke":["x:*"]}}}"#),
            "no permission matches `x:*` in role `t`"
        );
        assert_eq!(
            refusal(r#"{"mfa":{"permissions":["contact:delete","contacts:read"]}}"#),
            "unknown permission `contact:delete` in `mfa.permissions` (did you mean `contacts:delete`?)"
        );
    }
}
