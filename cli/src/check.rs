//! `check CONFIG`: does the configuration load, and what is in it. Every problem is listed
//! in one run (see `problems.rs`), one line each naming the culprit; `--format json` gives
//! the same as `{"ok", "file", "problems": [{"in"?, "at", "message"}]}`. CONFIG may be an
//! Envoy or Istio YAML file: each intercom-authz configuration in it is checked (`in` names
//! it; see `embedded.rs`).

use std::process::ExitCode;

use crate::common::*;
use crate::embedded;
use crate::problems::{find, Problem};
use crate::CheckFormat;
use intercom_authz::authorizer::Config;
use intercom_authz::policy::{Policy, BUILTIN_ROLES};
use serde_json::Value;

type Source = (Option<String>, Result<Value>);

/// The configurations to check: the file itself, or each one a YAML file embeds.
fn sources(path: &str) -> Vec<Source> {
    if !embedded::is_yaml(path) {
        return vec![(None, load_value(path))];
    }
    match embedded::read(path) {
        Err(e) => vec![(None, Err(e))],
        Ok(found) => found.into_iter().map(|e| (Some(e.at), e.config)).collect(),
    }
}

pub fn check(path: &str, format: CheckFormat) -> Result<ExitCode> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut loaded: Vec<(Option<String>, Config, Policy)> = Vec::new();
    let sources = sources(path);
    let found = sources.len();
    for (within, source) in sources {
        let (found, ok) = match source {
            Ok(v) => find(v, has_keys),
            Err(message) => (
                vec![Problem {
                    within: None,
                    at: String::new(),
                    message,
                }],
                None,
            ),
        };
        problems.extend(found.into_iter().map(|p| Problem {
            within: within.clone(),
            ..p
        }));
        if let Some((cfg, policy)) = ok {
            loaded.push((within, cfg, policy));
        }
    }
    match format {
        CheckFormat::Text => text(path, &problems, &loaded),
        CheckFormat::Json => {
            let v = match (problems.is_empty(), loaded.as_slice()) {
                (true, [(None, _, p)]) => {
                    serde_json::json!({"ok": true, "file": path, "roles": p.roles().len(), "routes": p.routes().len(), "permissions": p.permissions().count(), "problems": []})
                }
                (ok, _) => {
                    serde_json::json!({"ok": ok, "file": path, "configurations": found, "problems": problems})
                }
            };
            outln!("{v}");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn text(path: &str, problems: &[Problem], loaded: &[(Option<String>, Config, Policy)]) {
    for (within, cfg, p) in loaded {
        let within = within
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let bare = if has_keys(cfg) {
            ""
        } else {
            " (a bare policy: no token settings checked)"
        };
        outln!("ok: `{path}`{within}: {}{bare}", summary(p));
    }
    for p in problems {
        let within = p
            .within
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        match p.at.as_str() {
            "" if within.is_empty() => eprintln!("error: {}", p.message),
            "" => eprintln!("error: `{path}`{within}: {}", p.message),
            at => eprintln!("error: `{path}`{within} at `{at}`: {}", p.message),
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        eprintln!("{n} problem{} in `{path}`", if n == 1 { "" } else { "s" });
    }
}

fn summary(p: &Policy) -> String {
    let custom = p.roles().len() - BUILTIN_ROLES.len();
    format!(
        "{} roles ({} custom), {} routes, {} permissions",
        p.roles().len(),
        custom,
        p.routes().len(),
        p.permissions().count()
    )
}
