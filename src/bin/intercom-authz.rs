//! `intercom-authz`: the CLI for policy authors and auditors (feature `cli`).
//!
//! ```text
//! intercom-authz check   CONFIG [--format text|json]
//! intercom-authz explain CONFIG METHOD PATH [--role R | --claims JSON | --token T] [--body JSON] [--ip A]
//! intercom-authz matrix  CONFIG [--format md|csv|json] [--by route|permission]
//! intercom-authz matrix  --diff OLD NEW
//! intercom-authz lint    CONFIG
//! intercom-authz routes  CONFIG --openapi SPEC.yaml
//! intercom-authz token   --secret S --role R [--claims JSON] [--ttl 1h] [--kid K]
//! intercom-authz schema  [--typescript]
//! ```
//!
//! CONFIG is a full configuration (the filter's plugin configuration) or a bare policy. Errors
//! are one line on stderr and exit code 1 (2 for usage errors, from clap); never a panic.
//! `explain` exits 3 when the request is denied, `lint` and `routes` exit 4 when they warn.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

/// `print!` for stdout that may be closed early (`intercom-authz matrix … | head`): the
/// standard macros panic on a closed pipe; this exits quietly instead.
macro_rules! out {
    ($($arg:tt)*) => { write_stdout(format_args!($($arg)*)) };
}

/// `println!`, the same way.
macro_rules! outln {
    ($($arg:tt)*) => { write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0); // the reader has all it wanted
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

use clap::{Parser, Subcommand, ValueEnum};
use intercom_authz::authorizer::{Authorizer, Config, HttpRequest, Outcome};
use intercom_authz::policy::{Policy, BUILTIN_ROLES};
use intercom_authz::router::Method;
use intercom_authz::{Body, Principal};

#[derive(Parser)]
#[command(
    name = "intercom-authz",
    version,
    about = "Check, explain and audit intercom-authz policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum MatrixFormat {
    Md,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum By {
    Route,
    Permission,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration or policy file
    Check {
        config: String,
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
    },
    /// Judge one request and explain the decision
    Explain {
        config: String,
        method: String,
        path: String,
        #[arg(long, conflicts_with_all = ["claims", "token"])]
        role: Option<String>,
        /// Verified claims, as JSON (mapped like a token's)
        #[arg(long, conflicts_with = "token")]
        claims: Option<String>,
        /// A bearer token, verified with the configuration's keys
        #[arg(long)]
        token: Option<String>,
        /// The JSON body
        #[arg(long)]
        body: Option<String>,
        /// The source address
        #[arg(long)]
        ip: Option<String>,
        /// The time, in seconds since the epoch (default: now)
        #[arg(long)]
        now: Option<u64>,
    },
    /// Print the role × route (or permission) access matrix, or what changed between two policies
    Matrix {
        config: Option<String>,
        #[arg(long, value_enum, default_value = "md")]
        format: MatrixFormat,
        #[arg(long, value_enum, default_value = "route")]
        by: By,
        /// Compare two policies: what each role gained and lost
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "config")]
        diff: Option<Vec<String>>,
    },
    /// Least-privilege warnings
    Lint { config: String },
    /// Operations of an Intercom OpenAPI description that the policy does not classify
    Routes {
        config: String,
        #[arg(long)]
        openapi: String,
    },
    /// The configuration's JSON Schema (or, with --typescript, its TypeScript declarations),
    /// generated from the Rust types
    Schema {
        #[arg(long)]
        typescript: bool,
    },
    /// Mint an HS256 token for local testing
    Token {
        #[arg(long)]
        secret: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        claims: Option<String>,
        #[arg(long, default_value = "1h")]
        ttl: String,
        #[arg(long)]
        kid: Option<String>,
        #[arg(long, default_value = "admin-1")]
        sub: String,
    },
}

type Result<T> = std::result::Result<T, String>;

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read `{path}`: {}",
            e.kind()
                .to_string()
                .to_lowercase()
                .replace("entity ", "file ")
        )
    })
}

/// A configuration file: a full configuration, or a bare policy.
fn load_config(path: &str) -> Result<Config> {
    let text = read(path)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{path}` is not valid JSON: {e}"))?;
    let full = value.as_object().is_some_and(|o| {
        [
            "policy",
            "token",
            "mode",
            "upstream",
            "audit",
            "remote_jwks",
            "max_body_bytes",
            "request_id_header",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    });
    let value = if full {
        value
    } else {
        serde_json::json!({ "policy": value })
    };
    let cfg: Config = serde_path_to_error::deserialize(&value).map_err(|e| {
        let p = e.path().to_string();
        format!(
            "`{path}`: invalid configuration at `{p}`: {}",
            e.into_inner()
        )
    })?;
    Ok(cfg)
}

fn compile(path: &str) -> Result<(Config, Policy)> {
    let cfg = load_config(path)?;
    let policy =
        Policy::compile(&cfg.policy).map_err(|e| format!("`{path}`: invalid policy: {e}"))?;
    Ok((cfg, policy))
}

fn authorizer(path: &str, cfg: &Config) -> Result<Authorizer> {
    let mut cfg = cfg.clone();
    // A bare policy has no token settings: explain by role or claims needs none.
    if cfg.token.keys.is_empty()
        && cfg.token.jwks.is_none()
        && cfg.remote_jwks.is_none()
        && cfg.token.trusted_payload_header.is_none()
    {
        cfg.token.trusted_payload_header = Some("x-intercom-authz-cli".into());
    }
    let mut a = Authorizer::new(cfg).map_err(|e| format!("`{path}`: {e}"))?;
    a.set_explain(true);
    Ok(a)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { config, format } => check(&config, format),
        Command::Explain {
            config,
            method,
            path,
            role,
            claims,
            token,
            body,
            ip,
            now: at,
        } => explain(&config, &method, &path, role, claims, token, body, ip, at),
        Command::Matrix {
            config,
            format,
            by,
            diff,
        } => match (diff, config) {
            (Some(d), _) => match d.as_slice() {
                [old, new] => matrix_diff(old, new),
                _ => Err("`--diff` takes OLD and NEW".into()),
            },
            (None, Some(c)) => matrix(&c, format, by),
            (None, None) => Err("`matrix` needs CONFIG or `--diff OLD NEW`".into()),
        },
        Command::Lint { config } => lint(&config),
        Command::Routes { config, openapi } => routes(&config, &openapi),
        Command::Schema { typescript } => {
            if typescript {
                out!("{}", intercom_authz::schema::typescript());
            } else {
                let schema = intercom_authz::schema::json_schema();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&schema).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            secret,
            role,
            claims,
            ttl,
            kid,
            sub,
        } => token(&secret, &role, claims, &ttl, kid, &sub),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn check(path: &str, format: CheckFormat) -> Result<ExitCode> {
    let outcome = load_config(path).and_then(|cfg| {
        let policy =
            Policy::compile(&cfg.policy).map_err(|e| format!("`{path}`: invalid policy: {e}"))?;
        let has_keys = !cfg.token.keys.is_empty()
            || cfg.token.jwks.is_some()
            || cfg.remote_jwks.is_some()
            || cfg.token.trusted_payload_header.is_some();
        if has_keys {
            Authorizer::new(cfg.clone()).map_err(|e| format!("`{path}`: {e}"))?;
        }
        Ok((policy, has_keys))
    });
    match (outcome, format) {
        (Ok((p, has_keys)), CheckFormat::Text) => {
            let custom = p.roles().len() - BUILTIN_ROLES.len();
            outln!(
                "ok: `{path}`: {} roles ({} custom), {} routes, {} permissions{}",
                p.roles().len(),
                custom,
                p.routes().len(),
                p.permissions().count(),
                if has_keys {
                    ""
                } else {
                    " (a bare policy: no token settings checked)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        (Ok((p, _)), CheckFormat::Json) => {
            let v = serde_json::json!({"ok": true, "file": path, "roles": p.roles().len(), "routes": p.routes().len(), "permissions": p.permissions().count(), "problems": []});
            outln!("{v}");
            Ok(ExitCode::SUCCESS)
        }
        (Err(e), CheckFormat::Text) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        (Err(e), CheckFormat::Json) => {
            outln!(
                "{}",
                serde_json::json!({"ok": false, "file": path, "problems": [e]})
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Where a role got (or lost) a permission, following `extends`.
fn provenance(policy: &Policy, role: &str, perm: &str) -> String {
    let Some(id) = policy.permission_id(perm) else {
        return format!("`{perm}` is not a permission");
    };
    let mut chain = Vec::new();
    let mut cur = policy.role(role);
    while let Some(r) = cur {
        if r.revoked.contains(id) {
            chain.push(format!("revoked by role `{}`", r.name));
            break;
        }
        if r.granted.contains(id) {
            chain.push(format!("granted by role `{}`", r.name));
            break;
        }
        match &r.extends {
            Some(parent) => {
                chain.push(format!("`{}` extends `{parent}`", r.name));
                cur = policy.role(parent);
            }
            None => {
                let has = r.permissions.contains(id);
                chain.push(format!(
                    "built-in role `{}` {} it",
                    r.name,
                    if has { "has" } else { "does not have" }
                ));
                break;
            }
        }
    }
    chain.join(", ")
}

#[allow(clippy::too_many_arguments)]
fn explain(
    path: &str,
    method: &str,
    target: &str,
    role: Option<String>,
    claims: Option<String>,
    token: Option<String>,
    body: Option<String>,
    ip: Option<String>,
    at: Option<u64>,
) -> Result<ExitCode> {
    let (cfg, _) = compile(path)?;
    let authz = authorizer(path, &cfg)?;
    let at = at.unwrap_or_else(now);
    let source_ip = match &ip {
        Some(a) => Some(
            intercom_authz::net::parse_source(a)
                .ok_or_else(|| format!("`--ip {a}` is not an IP address"))?,
        ),
        None => None,
    };
    let mut req = HttpRequest {
        method: method.as_bytes(),
        path: target.as_bytes(),
        credential: None,
        has_token_header: false,
        // `explain --body` sends JSON, as Intercom's clients do.
        content_type: body.is_some().then_some(b"application/json".as_slice()),
        version: None,
        body: Body::NotRead,
        source_ip,
    };
    let bearer = token.map(|t| format!("Bearer {}", t.trim_start_matches("Bearer ")));
    let principal: Option<Principal> = match (&role, &claims) {
        // A teammate with this role, of the guarded workspace, signing in now, without MFA.
        (Some(r), _) => Some(Principal {
            role: Some(r.clone()),
            subject: Some("cli".into()),
            workspace: cfg.policy.workspace.clone(),
            issued_at: Some(at),
            ..Default::default()
        }),
        (None, Some(c)) => {
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(c)
                .map_err(|e| format!("`--claims` is not a JSON object: {e}"))?;
            Some(
                intercom_authz::token::map_claims(authz.tokens().claims(), &map)
                    .map_err(|e| format!("`--claims`: {}", e.message))?,
            )
        }
        (None, None) if bearer.is_none() => {
            return Err("say who is asking: `--role`, `--claims` or `--token`".into())
        }
        (None, None) => None,
    };
    let judge = |req: &HttpRequest<'_>| -> Outcome {
        match &principal {
            Some(p) => authz.authorize_principal(p, req, at),
            None => authz.authorize(
                &HttpRequest {
                    credential: bearer.as_deref().map(str::as_bytes),
                    has_token_header: true,
                    ..*req
                },
                at,
            ),
        }
    };
    let mut out = judge(&req);
    if out.effect == intercom_authz::Effect::NeedBody {
        req.body = match &body {
            Some(b) => Body::Bytes(b.as_bytes()),
            None => Body::Absent,
        };
        out = judge(&req);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {target}: {} ({} {})",
        method,
        if out.allow { "ALLOW" } else { "DENY" },
        out.status,
        out.code
    );
    if let Some(r) = &out.route {
        let _ = writeln!(s, "  route       {r}");
    }
    if let Some(p) = &out.canonical_path {
        let _ = writeln!(s, "  path        {p}");
    }
    if let Some(r) = &out.role {
        let _ = writeln!(s, "  role        {r}");
    }
    if !out.permissions.is_empty() {
        let _ = writeln!(s, "  requires    {}", out.permissions.join(", "));
        if let Some(r) = &out.role {
            for p in &out.permissions {
                let _ = writeln!(s, "    {p}: {}", provenance(authz.policy(), r, p));
            }
        }
    }
    if let Some(rt) = authz
        .policy()
        .routes()
        .iter()
        .find(|x| Some(&x.display) == out.route.as_ref())
    {
        let scope = match (&rt.scope, rt.scope_documented) {
            (Some(sc), true) => format!("{sc} (documented)"),
            (Some(sc), false) => format!("{sc} (inferred)"),
            (None, _) => "none known".into(),
        };
        let _ = writeln!(s, "  scope       {scope}");
    }
    let _ = writeln!(s, "  reasons");
    for r in &out.reasons {
        let _ = writeln!(s, "    - {r}");
    }
    if !out.allow {
        let _ = writeln!(s, "  deny body   {}", out.deny_body(None));
    }
    out!("{s}");
    Ok(if out.allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn matrix(path: &str, format: MatrixFormat, by: By) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let roles: Vec<&str> = p.roles().iter().map(|r| r.name.as_str()).collect();
    // A cell: 2 = allowed, 1 = some of the body-dependent actions, 0 = denied.
    let rows: Vec<(String, Vec<u8>)> = match by {
        By::Route => p
            .routes()
            .iter()
            .map(|r| {
                let variants: Vec<intercom_authz::perm::PermSet> = match r.body {
                    Some(rule) => rule
                        .possible()
                        .iter()
                        .filter_map(|n| p.permission_id(n))
                        .map(|id| {
                            let mut s = intercom_authz::perm::PermSet::new();
                            s.insert(id);
                            s
                        })
                        .collect(),
                    None => vec![r.required],
                };
                let cells = p
                    .roles()
                    .iter()
                    .map(|role| {
                        let n = variants
                            .iter()
                            .filter(|v| role.permissions.contains_all(v))
                            .count();
                        if n == variants.len() {
                            2
                        } else if n > 0 {
                            1
                        } else {
                            0
                        }
                    })
                    .collect();
                (r.display.clone(), cells)
            })
            .collect(),
        By::Permission => p
            .permissions()
            .map(|(id, name)| {
                (
                    name.to_string(),
                    p.roles()
                        .iter()
                        .map(|role| u8::from(role.permissions.contains(id)) * 2)
                        .collect(),
                )
            })
            .collect(),
    };
    let head = if by == By::Route {
        "route"
    } else {
        "permission"
    };
    let mut s = String::new();
    match format {
        MatrixFormat::Md => {
            let _ = writeln!(s, "| {head} | {} |", roles.join(" | "));
            let _ = writeln!(s, "|---|{}", ":-:|".repeat(roles.len()));
            for (name, cells) in &rows {
                let c: Vec<&str> = cells
                    .iter()
                    .map(|b| ["·", "◐", "✓"].get(usize::from(*b)).copied().unwrap_or("?"))
                    .collect();
                let _ = writeln!(s, "| `{name}` | {} |", c.join(" | "));
            }
            if rows.iter().any(|(_, c)| c.contains(&1)) {
                let _ = writeln!(s, "\n✓ allowed · denied ◐ some actions (the body decides; `explain --body` tells)");
            }
        }
        MatrixFormat::Csv => {
            let _ = writeln!(s, "{head},{}", roles.join(","));
            for (name, cells) in &rows {
                let c: Vec<String> = cells
                    .iter()
                    .map(|b| {
                        if *b == 1 {
                            "partial".to_string()
                        } else {
                            (b / 2).to_string()
                        }
                    })
                    .collect();
                let _ = writeln!(s, "\"{name}\",{}", c.join(","));
            }
        }
        MatrixFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(name, cells)| {
                    let pick = |want: u8| -> Vec<&str> {
                        roles
                            .iter()
                            .zip(cells)
                            .filter(|(_, b)| **b == want)
                            .map(|(r, _)| *r)
                            .collect()
                    };
                    serde_json::json!({head: name, "roles": pick(2), "partial": pick(1)})
                })
                .collect();
            let _ = writeln!(s, "{}", serde_json::Value::Array(v));
        }
    }
    out!("{s}");
    Ok(ExitCode::SUCCESS)
}

fn matrix_diff(old: &str, new: &str) -> Result<ExitCode> {
    let (_, a) = compile(old)?;
    let (_, b) = compile(new)?;
    let names: BTreeSet<&str> = a
        .roles()
        .iter()
        .chain(b.roles())
        .map(|r| r.name.as_str())
        .collect();
    let perms = |p: &Policy, role: &str| -> BTreeSet<String> {
        p.role(role)
            .map(|r| p.names(&r.permissions).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut changed = false;
    for role in names {
        let (pa, pb) = (perms(&a, role), perms(&b, role));
        let gained: Vec<&String> = pb.difference(&pa).collect();
        let lost: Vec<&String> = pa.difference(&pb).collect();
        let status = match (a.role(role).is_some(), b.role(role).is_some()) {
            (false, true) => " (new role)",
            (true, false) => " (removed role)",
            _ => "",
        };
        if gained.is_empty() && lost.is_empty() && status.is_empty() {
            continue;
        }
        changed = true;
        outln!("{role}{status}");
        for g in gained {
            outln!("  + {g}");
        }
        for l in lost {
            outln!("  - {l}");
        }
    }
    if !changed {
        outln!("no role gained or lost a permission");
    }
    Ok(ExitCode::SUCCESS)
}

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

fn lint(path: &str) -> Result<ExitCode> {
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

/// `METHOD /path` of every operation in an OpenAPI document (YAML or JSON), read without a
/// YAML library: the `paths:` block, path keys at one indentation, methods at the next.
fn openapi_operations(text: &str) -> Vec<(String, String)> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let mut out = Vec::new();
        if let Some(paths) = v.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                for m in ["get", "put", "post", "delete", "patch"] {
                    if item.get(m).is_some() {
                        out.push((m.to_uppercase(), path.clone()));
                    }
                }
            }
        }
        return out;
    }
    let mut out = Vec::new();
    let mut in_paths = false;
    let mut path_indent = None;
    let mut current: Option<String> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if indent == 0 {
            in_paths = t == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let key = t.trim_start();
        let unquoted = key.trim_end_matches(':').trim_matches(['"', '\'']);
        if unquoted.starts_with('/') && key.ends_with(':') {
            if path_indent.is_none() {
                path_indent = Some(indent);
            }
            if Some(indent) == path_indent {
                current = Some(unquoted.to_string());
            }
            continue;
        }
        if let (Some(p), Some(pi)) = (&current, path_indent) {
            if indent == pi + 2 {
                let m = key.trim_end_matches(':');
                if ["get", "put", "post", "delete", "patch"].contains(&m) && key.ends_with(':') {
                    out.push((m.to_uppercase(), p.clone()));
                }
            }
        }
    }
    out
}

fn routes(path: &str, spec: &str) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let text = read(spec)?;
    let ops = openapi_operations(&text);
    if ops.is_empty() {
        return Err(format!("`{spec}` has no `paths` with operations"));
    }
    let mut missing = Vec::new();
    for (m, route) in &ops {
        let Some(method) = Method::parse(m) else {
            continue;
        };
        // A template's parameters become a sample value, then the policy's router decides.
        let sample: String = route
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let known = p
            .routes()
            .iter()
            .any(|r| r.method == method && same_shape(&r.template, route))
            || {
                let who = Principal {
                    role: Some("owner".into()),
                    ..Default::default()
                };
                let req = intercom_authz::Request {
                    method: m,
                    path: &sample,
                    body: Body::NotRead,
                    content_type: None,
                    version: None,
                    source_ip: None,
                };
                intercom_authz::evaluate(&p, &who, &req, 0).route.is_some()
            };
        if !known {
            missing.push((m.clone(), route.clone()));
        }
    }
    outln!(
        "{} of {} operations in `{spec}` are classified",
        ops.len() - missing.len(),
        ops.len()
    );
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "unclassified ({}); every suggestion is a GUESS to review. Merge this into your policy \
(`permissions` and `routes`); until a role is granted a new permission only `owner` has it:",
        missing.len()
    );
    let mut permissions = serde_json::Map::new();
    let mut entries = Vec::new();
    for (m, r) in &missing {
        let (perm, why) = suggest(&p, m, r);
        outln!("  GUESS {m} {r} -> {perm} ({why})");
        if p.permission_id(&perm).is_none() {
            permissions.insert(
                perm.clone(),
                serde_json::json!(format!("GUESS by `routes --openapi` for {m} {r}: review")),
            );
        }
        entries.push(serde_json::json!({"method": m, "path": r, "permission": perm}));
    }
    let fragment = serde_json::json!({"permissions": permissions, "routes": entries});
    outln!(
        "{}",
        serde_json::to_string_pretty(&fragment).unwrap_or_default()
    );
    Ok(ExitCode::from(4))
}

/// The permission to suggest for an unclassified operation, never weaker than the operation:
/// a read (`GET`, or a `POST …/search`) of a resource the policy knows gets its `:read`
/// permission; anything else gets a new permission of its own (`resource:action`, declared in
/// the fragment), which no role but `owner` has until someone grants it.
fn suggest(p: &Policy, method: &str, template: &str) -> (String, &'static str) {
    let literals: Vec<&str> = template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect();
    let name = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    let resource = literals
        .first()
        .map_or_else(|| "api".to_string(), |s| name(s));
    let reads = method == "GET" || (method == "POST" && literals.last() == Some(&"search"));
    let read = format!("{resource}:read");
    if reads && p.permission_id(&read).is_some() {
        return (read, "a read of a known resource");
    }
    let action = if literals.len() > 1 {
        literals
            .iter()
            .skip(1)
            .map(|s| name(s))
            .collect::<Vec<_>>()
            .join("_")
    } else {
        match method {
            "GET" => "read".into(),
            "DELETE" => "delete".into(),
            "POST" => "create".into(),
            _ => "update".into(),
        }
    };
    let action = if method == "GET" || reads {
        action
    } else {
        format!("{}_{action}", method.to_ascii_lowercase())
    };
    let mut perm = format!("{resource}:{action}");
    let mut n = 2;
    while p.permission_id(&perm).is_some() && !reads {
        perm = format!("{resource}:{action}_{n}");
        n += 1;
    }
    (
        perm,
        "a new permission: only `owner` has it until a role is granted it",
    )
}

fn same_shape(a: &str, b: &str) -> bool {
    let shape = |t: &str| {
        t.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    shape(a) == shape(b)
}

fn token(
    secret: &str,
    role: &str,
    claims: Option<String>,
    ttl: &str,
    kid: Option<String>,
    sub: &str,
) -> Result<ExitCode> {
    let ttl = intercom_authz::policy::parse_duration(ttl)
        .ok_or_else(|| format!("`--ttl {ttl}` is not a duration (use `3600`, `30m`, `1h`)"))?;
    let t = now();
    let mut c = serde_json::json!({"sub": sub, "role": role, "iat": t, "exp": t + ttl});
    if let Some(extra) = claims {
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&extra)
            .map_err(|e| format!("`--claims` is not a JSON object: {e}"))?;
        if let Some(o) = c.as_object_mut() {
            o.extend(extra);
        }
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid;
    let tok = jsonwebtoken::encode(
        &header,
        &c,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|_| "cannot sign the token".to_string())?;
    outln!("{tok}");
    Ok(ExitCode::SUCCESS)
}
