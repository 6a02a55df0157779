//! Accepted findings: `--accept CODE[:SUBJECT]` as `lint` takes it (the code, or the rule's
//! name, alone: every finding of the rule; with a subject: that finding, or every finding whose
//! subject starts with `SUBJECT/`, so `R001:agent` accepts each of agent's unused grants).
//! `--accepted FILE` keeps them from one review to the next: a JSON list of those same strings,
//! read when it exists, and written back with the run's `--accept` values added (sorted, once
//! each). An entry that matches nothing this time is kept, and listed on the page.

use std::collections::BTreeSet;

use super::findings::{Finding, RULES};
use crate::common::Result;

pub struct Accepts {
    pub entries: BTreeSet<String>,
}

fn known(entry: &str) -> Result<()> {
    let code = entry.split_once(':').map_or(entry, |(c, _)| c);
    if RULES.iter().any(|r| r.0 == code || r.1 == code) {
        return Ok(());
    }
    let codes: Vec<String> = RULES.iter().map(|r| format!("{} {}", r.0, r.1)).collect();
    Err(format!(
        "`--accept {entry}`: unknown finding code `{code}` (codes: {})",
        codes.join(", ")
    ))
}

fn read_file(path: &str) -> Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read `{path}`: {e}")),
    };
    serde_json::from_str(&text)
        .map_err(|e| format!("`{path}`: expected a JSON list of `CODE[:SUBJECT]` strings: {e}"))
}

/// The file's entries and the command line's; with both, the file is written back with all.
pub fn load(file: Option<&str>, cli: &[String]) -> Result<Accepts> {
    let from_file = file.map(read_file).transpose()?.unwrap_or_default();
    for e in from_file.iter().chain(cli) {
        known(e)?;
    }
    let entries: BTreeSet<String> = from_file.into_iter().chain(cli.iter().cloned()).collect();
    if let Some(path) = file.filter(|_| !cli.is_empty()) {
        let text = serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("cannot write `{path}`: {e}"))?;
    }
    Ok(Accepts { entries })
}

fn matches(entry: &str, f: &Finding) -> bool {
    let (code, subject) = entry
        .split_once(':')
        .map_or((entry, None), |(c, s)| (c, Some(s)));
    if code != f.code() && code != f.rule() {
        return false;
    }
    subject.is_none_or(|s| {
        let mine = f.subject();
        mine == s
            || mine
                .strip_prefix(s)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

impl Accepts {
    /// Marks the accepted findings.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            f.accepted = self.entries.iter().any(|e| matches(e, f));
        }
    }

    /// The entries that match no finding.
    pub fn unmatched<'a>(&'a self, findings: &[Finding]) -> Vec<&'a str> {
        self.entries
            .iter()
            .filter(|e| !findings.iter().any(|f| matches(e, f)))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::Kind;

    fn unused(role: &str, permission: &str) -> Finding {
        Finding {
            kind: Kind::UnusedGrant {
                role: role.into(),
                permission: permission.into(),
            },
            accepted: false,
        }
    }

    #[test]
    fn code_rule_subject_and_subject_prefix() {
        let f = unused("agent", "tags:apply");
        for yes in [
            "R001",
            "unused-grant",
            "R001:agent",
            "unused-grant:agent/tags:apply",
        ] {
            assert!(matches(yes, &f), "{yes}");
        }
        for no in ["R002", "R001:age", "R001:agent/tags", "R001:tier1"] {
            assert!(!matches(no, &f), "{no}");
        }
        assert!(known("R009:x").is_err());
        assert!(known("dormant:a-4").is_ok());
    }
}
