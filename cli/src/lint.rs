//! `lint CONFIG [--format text|json] [--accept CODE[:SUBJECT]]…`: least-privilege and
//! deployment warnings. CONFIG is a configuration (or bare policy), or an Envoy or Istio YAML
//! file: its failure policies are linted, and so is each intercom-authz configuration it embeds,
//! and how each is wired into its host (the buffer filter, jwt_authn, the VM's environment,
//! the HTTP filter that runs it: `wiring.rs`).
//! A finding is accepted with `--accept L005` (every finding of that rule) or
//! `--accept L001:agent` (that rule for that subject): it is still shown, marked accepted, and
//! no longer makes the exit code 4. The rules are listed in the README ("The CLI").

use std::collections::BTreeSet;
use std::process::ExitCode;

use intercom_authz::authorizer::{AuditMode, BodyHold, Config, Mode};
use intercom_authz::policy::{Policy, ScopeMode, BUILTIN_ROLES};

use crate::common::*;
use crate::embedded::{self, Embedded, Failure, Host};
use crate::wiring::{self, Buffer, Chain, Place, Site};
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
        Failure::Istio { strategy: Some(s) } if s == "FAIL_OPEN" => vec![finding("L009", "fail-open", at, "`failStrategy: FAIL_OPEN` lets traffic through unchecked when the module cannot be fetched or fails: an authorization bypass (use FAIL_RELOAD, Istio 1.27+)".into())],
        Failure::Istio { strategy: Some(s) } if s == "FAIL_CLOSE" => vec![finding("L011", "trap-outage", at, "`failStrategy: FAIL_CLOSE` answers 503 to every request of a worker whose VM trapped, until the proxy restarts: one bad request becomes an outage (use FAIL_RELOAD, Istio 1.27+: the failing request is denied, a new VM serves the next)".into())],
        Failure::Istio { strategy: None } => vec![finding("L011", "trap-outage", at, "a WasmPlugin without `failStrategy` gets Istio's default, FAIL_CLOSE: one trap becomes an outage until the proxy restarts (set `failStrategy: FAIL_RELOAD`, Istio 1.27+)".into())],
        _ => Vec::new(),
    }
}

/// Whether the configuration is an Istio WasmPlugin's.
fn in_wasm_plugin(host: &Host) -> bool {
    matches!(host.site, Site::Plugin(_))
}

/// L013–L015: the buffer filter a `body_hold: buffer_filter` configuration needs right after
/// it (before the router).
fn buffer_finding(e: &Embedded, chain: &Chain, max_body: usize) -> Option<Finding> {
    let (code, rule, message) = match wiring::buffer(chain, max_body) {
        Buffer::Fine | Buffer::Unknown => return None,
        Buffer::Missing => {
            let fix = if chain.istio {
                "insert envoy.filters.http.buffer between this filter and the router, as the EnvoyFilter in istio/wasmplugin.yaml does"
            } else {
                "add envoy.filters.http.buffer right after this filter"
            };
            ("L013", "buffer-filter-missing", format!("`body_hold: buffer_filter` but no envoy.filters.http.buffer follows this filter before the router: a body-dependent request's headers, with the workspace's Intercom token, reach the router before its body is judged, and the filter refuses such requests (500 body_hold_misconfigured) ({fix})"))
        }
        Buffer::First => {
            let fix = if chain.istio {
                "insert it right after this filter, e.g. INSERT_BEFORE envoy.filters.http.router"
            } else {
                "move it right after this filter"
            };
            ("L014", "buffer-filter-first", format!("envoy.filters.http.buffer runs before this filter, not after it: it holds the body, then the headers go on to the router before this filter judges the body, and the filter refuses body-dependent requests (500 body_hold_misconfigured) ({fix})"))
        }
        Buffer::TooSmall(n) => ("L015", "buffer-filter-too-small", format!("the envoy.filters.http.buffer after this filter holds at most {n} bytes, less than `max_body_bytes` ({max_body}): bodies over {n} bytes get 413 from it (raise its `max_request_bytes` to at least {max_body}, or lower `max_body_bytes`)")),
    };
    Some(finding(code, rule, e.id.clone(), message))
}

/// L016: `body_hold: headers` without the Wasm filter's `allow_on_headers_stop_iteration`.
fn header_hold_finding(e: &Embedded) -> Option<Finding> {
    let message = if in_wasm_plugin(&e.host) {
        "`body_hold: headers` (the default) needs the Wasm filter's `allow_on_headers_stop_iteration: true`, which a WasmPlugin cannot set: every body-dependent request would wait for a body that never arrives and get 408 (use `body_hold: buffer_filter` with the buffer filter, as istio/wasmplugin.yaml does, or deploy with istio/envoyfilter.yaml)"
    } else if !e.host.header_hold {
        "`body_hold: headers` (the default) needs the Wasm filter's `allow_on_headers_stop_iteration: true`: without it every body-dependent request waits for a body that never arrives and gets 408 (set it, Envoy 1.35+, or use `body_hold: buffer_filter` with envoy.filters.http.buffer after this filter)"
    } else {
        return None;
    };
    Some(finding(
        "L016",
        "no-header-hold",
        e.id.clone(),
        message.into(),
    ))
}

/// L017: claims read from a header that no jwt_authn before this filter has written.
fn payload_finding(e: &Embedded, chain: &Chain, header: &str) -> Option<Finding> {
    if wiring::jwt_authn_before(chain) != Some(false) {
        return None;
    }
    let fix = if in_wasm_plugin(&e.host) {
        "use `phase: AUTHZ`, which runs after Istio's jwt_authn".to_string()
    } else if chain.istio {
        "insert this filter after envoy.filters.http.jwt_authn, e.g. INSERT_BEFORE envoy.filters.http.router".to_string()
    } else {
        format!("put envoy.filters.http.jwt_authn, with `forward_payload_header: {header}`, before this filter")
    };
    Some(finding("L017", "unverified-payload-header", e.id.clone(), format!("`token.trusted_payload_header` trusts `{header}`, but no envoy.filters.http.jwt_authn runs before this filter: a client can write that header itself and claim any role ({fix})")))
}

/// L018 (and a `check` error): the environment variable `upstream.intercom_token_env` names,
/// when the VM is not given it, and what then happens and what to do.
pub fn token_env_missing<'a>(host: &Host, cfg: &'a Config) -> Option<(&'a str, String)> {
    let var = cfg.upstream.intercom_token_env.as_deref()?;
    if host.env.iter().any(|v| v == var) {
        return None;
    }
    let fix = if in_wasm_plugin(host) {
        format!("add `{{name: {var}, valueFrom: HOST}}` to `vmConfig.env`")
    } else {
        format!("add {var} to `vm_config.environment_variables.host_env_keys`")
    };
    Some((var, format!("the filter refuses to load ({fix})")))
}

/// L019: an extension config that no HTTP filter of the file asks for.
fn unreferenced_finding(e: &Embedded, name: &str, patch: bool) -> Finding {
    let fix = if patch {
        "insert one before the router with an HTTP_FILTER patch, as istio/envoyfilter.yaml does"
    } else {
        "add one to the `http_filters`, before the router"
    };
    finding("L019", "filter-not-inserted", e.id.clone(), format!("no HTTP filter in this file asks for the extension config `{name}` (a filter of that name with `config_discovery`): this filter never runs and nothing is authorized ({fix})"))
}

/// L013–L019: how the filter is wired into its host (see `wiring.rs`).
fn wiring_findings(e: &Embedded, cfg: &Config) -> Vec<Finding> {
    let chain = match &e.host.place {
        Place::Chain(c) => Some(c),
        _ => None,
    };
    let mut out = Vec::new();
    match cfg.body_hold {
        BodyHold::BufferFilter => {
            out.extend(chain.and_then(|c| buffer_finding(e, c, cfg.max_body_bytes)));
        }
        BodyHold::Headers => out.extend(header_hold_finding(e)),
    }
    if let (Some(c), Some(h)) = (chain, &cfg.token.trusted_payload_header) {
        out.extend(payload_finding(e, c, h));
    }
    if let Some((var, then)) = token_env_missing(&e.host, cfg) {
        let message = format!(
            "`upstream.intercom_token_env` reads `{var}`, which the VM is not given: {then}"
        );
        out.push(finding(
            "L018",
            "token-env-not-passed",
            e.id.clone(),
            message,
        ));
    }
    if let Place::Unreferenced { name, patch } = &e.host.place {
        out.push(unreferenced_finding(e, name, *patch));
    }
    out
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
        these.extend(wiring_findings(e, &cfg));
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
