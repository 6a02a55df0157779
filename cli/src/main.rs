//! `intercom-authz`: the CLI for policy authors and auditors (crate `intercom-authz-cli`, on the std layer `intercom-authz`). One file per
//! command, named after it; `common.rs` loads configurations.
//!
//! ```text
//! intercom-authz check   CONFIG|ENVOY.yaml|ISTIO.yaml [--format text|json]
//! intercom-authz explain CONFIG METHOD PATH [--role R | --claims JSON | --token T] [--body JSON] [--ip A]
//! intercom-authz matrix  CONFIG [--format md|csv|json] [--by route|permission]
//! intercom-authz matrix  --diff OLD NEW [--format md|csv|json] [--by route|permission]
//! intercom-authz lint    CONFIG|ENVOY.yaml|ISTIO.yaml [--format text|json] [--accept CODE[:SUBJECT]]
//! intercom-authz usage   CONFIG AUDIT_LOG... [--format text|json|csv] [--propose OUT]
//! intercom-authz report  CONFIG [--usage AUDIT_LOG... [--since WHEN] [--review-csv OUT]]
//!                        [--previous OLD] [--accept CODE[:SUBJECT]] [--accepted FILE] -o review.html
//! intercom-authz routes  CONFIG --openapi SPEC.yaml
//! intercom-authz token   --secret S --role R [--claims JSON] [--ttl 1h] [--kid K]
//! intercom-authz schema  [--typescript]
//! ```
//!
//! CONFIG is a full configuration (the filter's plugin configuration) or a bare policy, or an
//! Envoy or Istio YAML file that embeds one (`embedded.rs`): `check` and `lint` take each
//! configuration it holds, the other commands the one it holds (`FILE.yaml#ID` names one of
//! several). Errors are one line on stderr and exit code 1 (2 for usage errors, from clap);
//! never a panic. `explain` exits 3 unless the request is allowed outright (denied, or waiting
//! on the conversation's assignment or on the source address `--ip` did not give), `lint` and
//! `routes` exit 4 when they warn.

/// `print!` for stdout that may be closed early (`intercom-authz matrix … | head`): the
/// standard macros panic on a closed pipe; this exits quietly instead.
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// `println!`, the same way.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
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

mod activity;
mod check;
mod common;
mod conditions;
mod csv;
mod diff;
mod embedded;
mod explain;
mod files;
mod lint;
mod matrix;
mod problems;
mod report;
mod routes;
mod token;
mod usage;
mod wiring;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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

#[derive(Clone, Copy, ValueEnum)]
enum UsageFormat {
    Text,
    Json,
    Csv,
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
        /// The configuration: a full configuration or a bare policy (JSON), or an Envoy
        /// bootstrap, ECDS resource or Istio manifest (YAML), whose every intercom-authz
        /// configuration is checked
        config: String,
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
    },
    /// Judge one request and explain the decision
    Explain {
        /// The configuration: a full configuration or a bare policy (JSON), or the one an Envoy
        /// bootstrap, ECDS resource or Istio manifest embeds (YAML; `FILE.yaml#ID` names one of
        /// several)
        config: String,
        /// The request's method (`GET`, `DELETE`, …)
        method: String,
        /// The request's path, with its query if any (`/contacts/123?per_page=5`)
        path: String,
        /// The caller's role (a teammate of the guarded workspace, signed in now, without MFA)
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
        /// The source address (without it, an `ip_allowlist` is reported as not evaluated)
        #[arg(long)]
        ip: Option<String>,
        /// The time, in seconds since the epoch (default: now)
        #[arg(long)]
        now: Option<u64>,
    },
    /// Print the role × route (or permission) access matrix, or what changed between two policies
    Matrix {
        /// The configuration: a full configuration or a bare policy (JSON), or the one an Envoy
        /// bootstrap, ECDS resource or Istio manifest embeds (YAML; `FILE.yaml#ID` names one of
        /// several)
        config: Option<String>,
        #[arg(long, value_enum, default_value = "md")]
        format: MatrixFormat,
        #[arg(long, value_enum, default_value = "route")]
        by: By,
        /// Compare two policies: what each role gained and lost (OLD and NEW are read as
        /// CONFIG is)
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "config")]
        diff: Option<Vec<String>>,
    },
    /// Least-privilege warnings
    Lint {
        /// The configuration: a full configuration or a bare policy (JSON), or an Envoy
        /// bootstrap, ECDS resource or Istio manifest (YAML), whose every intercom-authz
        /// configuration is linted, with how the host runs it
        config: String,
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Accept a finding: `L005` (the whole rule) or `L001:agent` (the rule for one subject)
        #[arg(long, value_name = "CODE[:SUBJECT]")]
        accept: Vec<String>,
    },
    /// Least privilege from the filter's audit lines: used and unused grants per role and
    /// subject, denials by code, and a narrower policy (--propose)
    Usage {
        /// The configuration: a full configuration or a bare policy (JSON), or the one an Envoy
        /// bootstrap, ECDS resource or Istio manifest embeds (YAML; `FILE.yaml#ID` names one of
        /// several)
        config: String,
        /// The filter's audit lines (Envoy logs or bare records, plain or gzip; lines of other
        /// kinds are skipped and counted)
        #[arg(required = true, value_name = "AUDIT_LOG")]
        logs: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: UsageFormat,
        /// Write the configuration with every unused grant revoked to this file
        #[arg(long, value_name = "OUT")]
        propose: Option<String>,
    },
    /// One self-contained HTML page for an access review
    Report {
        /// The configuration: a full configuration or a bare policy (JSON), or the one an Envoy
        /// bootstrap, ECDS resource or Istio manifest embeds (YAML; `FILE.yaml#ID` names one of
        /// several)
        config: String,
        /// Audit logs: used and unused grants as a heat map
        #[arg(long = "usage", value_name = "AUDIT_LOG", num_args = 1..)]
        logs: Vec<String>,
        /// A previous configuration (read as CONFIG is): what changed since
        #[arg(long, value_name = "OLD")]
        previous: Option<String>,
        /// Where to write the page
        #[arg(short = 'o', long = "output", value_name = "HTML")]
        output: String,
        /// Active means a record since then: a duration before the newest record (`30d`, `12h`,
        /// `2w`) or a date (`2026-09-01`); never the wall clock, so the page is reproducible
        #[arg(long, value_name = "WHEN", default_value = report::DEFAULT_SINCE, requires = "logs")]
        since: String,
        /// Also write the sign-off sheet: person, role, entitlements, permissions used, last
        /// activity, findings, and blank reviewer and decision columns (RFC 4180; a value a
        /// spreadsheet would run as a formula gets a leading ')
        #[arg(long, value_name = "OUT", requires = "logs")]
        review_csv: Option<String>,
        /// Accept a finding: `R003` or `dormant` (the whole rule), `R003:a-4` (that subject), or
        /// `R001:agent` (every finding whose subject starts with `agent/`). Codes: R001
        /// unused-grant ROLE/PERMISSION, R002 no-traffic ROLE, R003 dormant PERSON, R004
        /// beyond-role PERSON/PERMISSION, R005 denied ROLE/CODE/PERMISSION, R006 policy-change
        /// settings, ROLE or ROUTE. Accepted findings are shown as accepted, not counted as open
        #[arg(long, value_name = "CODE[:SUBJECT]")]
        accept: Vec<String>,
        /// Keep accepted findings from one review to the next: a JSON list of `--accept` strings
        /// (`["R003:a-4", "R001:agent"]`), read if it exists and, with `--accept`, written back
        /// with the new ones added. An entry that matches nothing is kept and listed on the page
        #[arg(long, value_name = "FILE")]
        accepted: Option<String>,
    },
    /// Operations of an Intercom OpenAPI description that the policy does not classify
    Routes {
        /// The configuration: a full configuration or a bare policy (JSON), or the one an Envoy
        /// bootstrap, ECDS resource or Istio manifest embeds (YAML; `FILE.yaml#ID` names one of
        /// several)
        config: String,
        /// An Intercom OpenAPI description (YAML or JSON)
        #[arg(long, value_name = "SPEC")]
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
        /// The HS256 secret, as a key's `secret` in the configuration (at least 32 bytes)
        #[arg(long)]
        secret: String,
        /// The `role` claim
        #[arg(long)]
        role: String,
        /// More claims, as a JSON object
        #[arg(long)]
        claims: Option<String>,
        /// How long it is valid (`3600`, `30m`, `1h`)
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// The `kid` header
        #[arg(long)]
        kid: Option<String>,
        /// The `sub` claim
        #[arg(long, default_value = "admin-1")]
        sub: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { config, format } => check::check(&config, format),
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
        } => explain::explain(&config, &method, &path, role, claims, token, body, ip, at),
        Command::Matrix {
            config,
            format,
            by,
            diff,
        } => match (diff, config) {
            (Some(d), _) => match d.as_slice() {
                [old, new] => diff::matrix_diff(old, new, format, by),
                _ => Err("`--diff` takes OLD and NEW".into()),
            },
            (None, Some(c)) => matrix::matrix(&c, format, by),
            (None, None) => Err("`matrix` needs CONFIG or `--diff OLD NEW`".into()),
        },
        Command::Lint {
            config,
            format,
            accept,
        } => lint::lint(&config, format, &accept),
        Command::Usage {
            config,
            logs,
            format,
            propose,
        } => usage::usage(&config, &logs, format, propose.as_deref()),
        Command::Report {
            config,
            logs,
            previous,
            output,
            since,
            review_csv,
            accept,
            accepted,
        } => report::report(
            &config,
            &report::Options {
                logs: &logs,
                previous: previous.as_deref(),
                output: &output,
                since: &since,
                review_csv: review_csv.as_deref(),
                accept: &accept,
                accepted: accepted.as_deref(),
            },
        ),
        Command::Routes { config, openapi } => routes::routes(&config, &openapi),
        Command::Schema { typescript } => {
            if typescript {
                out!("{}", intercom_authz_cli::schema::typescript());
            } else {
                let schema = intercom_authz_cli::schema::json_schema();
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
        } => token::token(&secret, &role, claims, &ttl, kid, &sub),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
