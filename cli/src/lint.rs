//! `lint CONFIG [--format text|json] [--accept CODE[:SUBJECT]]…`: least-privilege and
//! deployment warnings. CONFIG is a configuration (or bare policy), or an Envoy or Istio YAML
//! file: its failure policies are linted, and so is each intercom-authz configuration it embeds.
//! A finding is accepted with `--accept L005` (every finding of that rule) or
//! `--accept L001:agent` (that rule for that subject): it is still shown, marked accepted, and
//! no longer makes the exit code 4. The rules are listed in the README ("The CLI").

use std::collections::BTreeSet;
use std::process::ExitCode;

use intercom_authz::authorizer::{AuditMode, Config, Mode};
use intercom_authz::policy::{Policy, ScopeMode, BUILTIN_ROLES};

use crate::common::*;
use crate::embedded::{self, Embedded, Failure};
use crate::CheckFormat;

/// One warning.
#[derive(Debug, serde::Serialize)]
pub struct Finding {
    /// `L001`…
    pub code: &'static str,
    /// The rule's name.
    pub rule: &'static str,
    /// What it is about (a role, a key, a route, a filter), for `--accept CODE:SUBJECT`.
    pub subject: String,
    /// In a YAML file, which embedded configuration.
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// One sentence.
    pub message: String,
    /// Accepted with `--accept`.
    pub accepted: bool,
}

fn finding(
    code: &'static str,
    rule: &'static str,
    subject: impl Into<String>,
    message: String,
) -> Finding {
    Finding {
        code,
        rule,
        subject: subject.into(),
        within: None,
        message,
        accepted: false,
    }
}

fn is_sensitive(perm: &str) -> bool {
    let action = perm.split_once(':').map_or(perm, |(_, a)| a);
    action.contains("delete")
        || action.contains("export")
        || perm == "settings:manage"
        || perm.starts_with("security:")
}

/// L009 / L011: what happens when the VM fails.
fn failure_findings(e: &Embedded) -> Vec<Finding> {
    let at = e.id.clone();
    match &e.failure {
        Failure::Envoy { fail_open: true, .. } => vec![finding("L009", "fail-open", at, "`fail_open: true` lets requests skip the filter when its VM fails: an authorization bypass (use `failure_policy: FAIL_RELOAD`)".into())],
        Failure::Envoy { policy: Some(p), .. } if p == "FAIL_OPEN" => vec![finding("L009", "fail-open", at, "`failure_policy: FAIL_OPEN` lets requests skip the filter when its VM fails: an authorization bypass (use FAIL_RELOAD)".into())],
        Failure::Envoy { policy: Some(p), .. } if p == "FAIL_CLOSED" => vec![finding("L011", "trap-outage", at, "`failure_policy: FAIL_CLOSED` answers 503 to every request of a worker whose VM trapped, until Envoy restarts: one bad request becomes an outage (use FAIL_RELOAD: the failing request is denied, a new VM serves the next)".into())],
        Failure::Envoy { policy: None, .. } => vec![finding("L011", "trap-outage", at, "a Wasm filter without `failure_policy` gets Envoy's default, FAIL_CLOSED: one trap becomes an outage until Envoy restarts (set `failure_policy: FAIL_RELOAD`)".into())],
        Failure::Istio { strategy: Some(s) } if s == "FAIL_OPEN" => vec![finding("L009", "fail-open", at, "`failStrategy: FAIL_OPEN` lets traffic through unchecked when the module cannot be fetched or fails: an authorization bypass (use FAIL_CLOSE)".into())],
        _ => Vec::new(),
    }
}

/// L001–L008, L010: the policy and the configuration.
fn policy_findings(cfg: &Config, p: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let mfa = p.mfa_permissions();
    let mfa_set: BTreeSet<&str> = p.names(&mfa).collect();
    for r in p.roles().iter().filter(|r| !r.mfa) {
        let risky: Vec<&str> = p
            .names(&r.permissions)
            .filter(|n| is_sensitive(n) && !mfa_set.contains(n))
            .collect();
        if !risky.is_empty() {
            out.push(finding("L001", "sensitive-without-mfa", &r.name, format!("role `{}` may {} without multi-factor authentication (add them to `mfa.permissions` or set `mfa` on the role)", r.name, risky.join(", "))));
        }
    }
    if let Some(admin) = p.role("admin") {
        for r in p
            .roles()
            .iter()
            .filter(|r| !BUILTIN_ROLES.contains(&r.name.as_str()))
        {
            if r.permissions.contains_all(&admin.permissions) {
                out.push(finding(
                    "L002",
                    "broader-than-admin",
                    &r.name,
                    format!("custom role `{}` has every permission of `admin`", r.name),
                ));
            }
        }
    }
    let roles = p.roles();
    for (i, a) in roles.iter().enumerate() {
        for b in roles.iter().skip(i + 1) {
            if a.permissions == b.permissions
                && a.mfa == b.mfa
                && a.max_session_age == b.max_session_age
                && a.ip_allowlist == b.ip_allowlist
            {
                out.push(finding(
                    "L003",
                    "indistinguishable-roles",
                    format!("{},{}", a.name, b.name),
                    format!("roles `{}` and `{}` grant exactly the same", a.name, b.name),
                ));
            }
        }
    }
    if cfg.mode == Mode::DryRun {
        out.push(finding(
            "L004",
            "dry-run",
            "",
            "`mode` is `dry_run`: nothing is denied".into(),
        ));
    }
    if cfg.policy.scopes == ScopeMode::Off {
        out.push(finding(
            "L005",
            "scopes-off",
            "",
            "`policy.scopes` is `off`: OAuth scopes in tokens are not checked".into(),
        ));
    }
    if cfg.audit == AuditMode::None {
        out.push(finding(
            "L006",
            "no-audit",
            "",
            "`audit` is `none`: decisions leave no audit trail".into(),
        ));
    }
    if let Some(d) = &cfg.policy.default_role {
        out.push(finding(
            "L007",
            "default-role",
            d,
            format!("tokens without a role are judged as `{d}`"),
        ));
    }
    for k in &cfg.token.keys {
        let kid = k.kid.as_deref().unwrap_or("?");
        if let Some(s) = k.secret.as_ref().filter(|s| s.len() < 32) {
            out.push(finding(
                "L008",
                "weak-hmac-secret",
                kid,
                format!(
                    "key `{kid}` has a {}-byte secret; use at least 32 random bytes",
                    s.len()
                ),
            ));
        }
    }
    for r in p.routes() {
        if r.template
            .split('/')
            .filter(|s| !s.is_empty())
            .all(|s| s.starts_with('{'))
        {
            out.push(finding(
                "L010",
                "catch-all-route",
                &r.display,
                format!(
                    "`{}` matches any path of its length: unknown routes are allowed through it",
                    r.display
                ),
            ));
        }
    }
    out
}

/// Every finding of the file; a configuration that does not load is an error (see `check`).
fn findings(path: &str) -> Result<Vec<Finding>> {
    if !embedded::is_yaml(path) {
        let (cfg, p) = compile(path)?;
        return Ok(policy_findings(&cfg, &p));
    }
    let found = embedded::read(path)?;
    let mut out = Vec::new();
    for e in &found {
        let mut these = failure_findings(e);
        let cfg = e.config.clone().and_then(|v| {
            serde_json::from_value::<Config>(v).map_err(|err| {
                format!(
                    "`{path}` ({}): invalid configuration: {err} (run `check`)",
                    e.at
                )
            })
        })?;
        let p = Policy::compile(&cfg.policy)
            .map_err(|err| format!("`{path}` ({}): invalid policy: {err} (run `check`)", e.at))?;
        these.extend(policy_findings(&cfg, &p));
        if e.trusts_forwarded_for && p.reads_source_ip() {
            these.push(finding("L012", "spoofable-client-address", e.id.clone(), "an `ip_allowlist` behind a connection manager without `use_remote_address: true`: Envoy takes the client address from `X-Forwarded-For`, which any client writes (set `use_remote_address: true`, and `xff_num_trusted_hops` only for load balancers of yours)".into()));
        }
        out.extend(these.into_iter().map(|f| Finding {
            within: Some(e.at.clone()),
            ..f
        }));
    }
    Ok(out)
}

fn accepted(f: &Finding, accept: &[String]) -> bool {
    accept.iter().any(|a| match a.split_once(':') {
        Some((code, subject)) => code == f.code && subject == f.subject,
        None => a == f.code,
    })
}

pub fn lint(path: &str, format: CheckFormat, accept: &[String]) -> Result<ExitCode> {
    let mut all = findings(path)?;
    for f in &mut all {
        f.accepted = accepted(f, accept);
    }
    let open = all.iter().filter(|f| !f.accepted).count();
    match format {
        CheckFormat::Json => outln!(
            "{}",
            serde_json::json!({"file": path, "warnings": open, "findings": all})
        ),
        CheckFormat::Text if all.is_empty() => outln!("no warnings"),
        CheckFormat::Text => {
            for f in &all {
                let within = f
                    .within
                    .as_deref()
                    .map(|w| format!("{path} ({w}): "))
                    .unwrap_or_default();
                let mark = if f.accepted { " (accepted)" } else { "" };
                outln!("{} {}: {within}{}{mark}", f.code, f.rule, f.message);
            }
        }
    }
    Ok(if open == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    })
}
