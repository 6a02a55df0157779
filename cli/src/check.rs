//! `check CONFIG`: does the configuration load, and what is in it. Every problem is listed
//! in one run (see `problems.rs`), one line each naming the culprit; `--format json` gives
//! the same as `{"ok", "file", "problems": [{"in"?, "at", "message"}]}`. CONFIG may be an
//! Envoy or Istio YAML file: each intercom-authz configuration in it is checked (`in` names
//! it; see `embedded.rs`), and so is what the filter cannot load without: the environment
//! variable `upstream.intercom_token_env` names, passed to the VM (`lint` L018).

use std::process::ExitCode;

use crate::common::*;
use crate::embedded::{self, Host};
use crate::lint::token_env_missing;
use crate::problems::{find, Problem};
use crate::CheckFormat;
use intercom_authz::authorizer::Config;
use intercom_authz::policy::{Policy, BUILTIN_ROLES};
use serde_json::Value;

/// A configuration to check: which one (in a YAML file), its JSON, and its host (in a YAML
/// file: what the VM is given).
type Source = (Option<String>, Result<Value>, Option<Host>);

/// The configurations to check: the file itself, or each one a YAML file embeds.
fn sources(path: &str) -> Vec<Source> {
    if !embedded::is_yaml(path) {
        return vec![(None, load_value(path), None)];
    }
    match embedded::read(path) {
        Err(e) => vec![(None, Err(e), None)],
        Ok(found) => found
            .into_iter()
            .map(|e| (Some(e.at), e.config, Some(e.host)))
            .collect(),
    }
}

/// What the host does not give a configuration that loads: the environment variable its
/// Intercom token comes from (`lint` L018), without which the filter refuses it.
fn host_problems(host: Option<&Host>, cfg: &Config) -> Vec<Problem> {
    host.and_then(|h| token_env_missing(h, cfg))
        .map(|(var, then)| Problem {
            within: None,
            at: "upstream.intercom_token_env".into(),
            message: format!("the VM is not given `{var}`: {then}"),
        })
        .into_iter()
        .collect()
}

pub fn check(path: &str, format: CheckFormat) -> Result<ExitCode> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut loaded: Vec<(Option<String>, Config, Policy)> = Vec::new();
    let sources = sources(path);
    let found = sources.len();
    for (within, source, host) in sources {
        let (mut found, ok) = match source {
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
        if let Some((cfg, _)) = &ok {
            found.extend(host_problems(host.as_ref(), cfg));
        }
        let ok = ok.filter(|_| found.is_empty());
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
