//! `lint CONFIG`: least-privilege and deployment warnings.

use std::collections::BTreeSet;

use intercom_authz::policy::BUILTIN_ROLES;
use std::process::ExitCode;

use crate::common::*;

fn is_sensitive(perm: &str) -> bool {
    let action = perm.split_once(':').map_or(perm, |(_, a)| a);
    action.contains("delete")
        || action.contains("export")
        || perm == "settings:manage"
        || perm.starts_with("security:")
}

/// An Envoy configuration: the failure policy is what matters here. FAIL_OPEN is a bypass
/// (L009); FAIL_CLOSED, written or left as Envoy's default, turns one trap into an outage of
/// that worker until Envoy restarts (L011).
fn lint_envoy_yaml(path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut wasm_filters = 0;
    let mut policies = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.contains("envoy.extensions.filters.http.wasm.v3.Wasm") {
            wasm_filters += 1;
        }
        if !t.starts_with("failure_policy:") {
            continue;
        }
        policies += 1;
        if t.contains("FAIL_OPEN") {
            out.push(format!("L009 fail-open: {path}:{}: `failure_policy: FAIL_OPEN` lets requests skip the filter when its VM fails: an authorization bypass (use FAIL_RELOAD)", i + 1));
        } else if t.contains("FAIL_CLOSED") {
            out.push(format!("L011 trap-outage: {path}:{}: `failure_policy: FAIL_CLOSED` answers 503 to every request of a worker whose VM trapped, until Envoy restarts: one bad request becomes an outage (use FAIL_RELOAD: the failing request is denied, a new VM serves the next)", i + 1));
        }
    }
    if wasm_filters > policies {
        out.push(format!("L011 trap-outage: {path}: a Wasm filter without `failure_policy` gets Envoy's default, FAIL_CLOSED: one trap becomes an outage until Envoy restarts (set `failure_policy: FAIL_RELOAD`)"));
    }
    out
}

pub fn lint(path: &str) -> Result<ExitCode> {
    let text = read(path)?;
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        let warnings = lint_envoy_yaml(path, &text);
        for w in &warnings {
            outln!("{w}");
        }
        if warnings.is_empty() {
            outln!("no warnings");
        }
        return Ok(if warnings.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(4)
        });
    }
    let (cfg, p) = compile(path)?;
    let mut warnings: Vec<String> = Vec::new();
    let mfa_set: BTreeSet<String> = p.names(&p.mfa_permissions()).map(str::to_string).collect();
    for r in p.roles() {
        if r.mfa {
            continue;
        }
        let risky: Vec<&str> = p
            .names(&r.permissions)
            .filter(|n| is_sensitive(n) && !mfa_set.contains(*n))
            .collect();
        if !risky.is_empty() {
            warnings.push(format!(
                "L001 sensitive-without-mfa: role `{}` may {} without multi-factor authentication (add them to `mfa.permissions` or set `mfa` on the role)",
                r.name,
                risky.join(", ")
            ));
        }
    }
    if let Some(admin) = p.role("admin") {
        for r in p
            .roles()
            .iter()
            .filter(|r| !BUILTIN_ROLES.contains(&r.name.as_str()))
        {
            if r.permissions.contains_all(&admin.permissions) {
                warnings.push(format!(
                    "L002 broader-than-admin: custom role `{}` has every permission of `admin`",
                    r.name
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
                warnings.push(format!(
                    "L003 indistinguishable-roles: roles `{}` and `{}` grant exactly the same",
                    a.name, b.name
                ));
            }
        }
    }
    if cfg.mode == intercom_authz::authorizer::Mode::DryRun {
        warnings.push("L004 dry-run: `mode` is `dry_run`: nothing is denied".into());
    }
    if cfg.policy.scopes == intercom_authz::policy::ScopeMode::Off {
        warnings.push(
            "L005 scopes-off: `policy.scopes` is `off`: OAuth scopes in tokens are not checked"
                .into(),
        );
    }
    if cfg.audit == intercom_authz::authorizer::AuditMode::None {
        warnings.push("L006 no-audit: `audit` is `none`: decisions leave no audit trail".into());
    }
    if let Some(d) = &cfg.policy.default_role {
        warnings.push(format!(
            "L007 default-role: tokens without a role are judged as `{d}`"
        ));
    }
    for k in &cfg.token.keys {
        if let Some(s) = &k.secret {
            if s.len() < 32 {
                warnings.push(format!(
                    "L008 weak-hmac-secret: key `{}` has a {}-byte secret; use at least 32 random bytes",
                    k.kid.as_deref().unwrap_or("?"),
                    s.len()
                ));
            }
        }
    }
    for r in p.routes() {
        if r.template
            .split('/')
            .filter(|s| !s.is_empty())
            .all(|s| s.starts_with('{'))
        {
            warnings.push(format!("L010 catch-all-route: `{}` matches any path of its length: unknown routes are allowed through it", r.display));
        }
    }
    if warnings.is_empty() {
        outln!("no warnings");
        return Ok(ExitCode::SUCCESS);
    }
    for w in &warnings {
        outln!("{w}");
    }
    Ok(ExitCode::from(4))
}
