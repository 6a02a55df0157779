//! `usage POLICY AUDIT_LOG… [--format text|json] [--propose OUT]`: least privilege from real
//! usage. Reads the filter's audit lines (Envoy logs: `intercom-authz audit {…}`; or the bare
//! records, one per line, as access logs write `%FILTER_STATE(wasm.intercom_authz.audit)%`),
//! plain or gzip, streaming. Reports per role and per subject the permissions granted and
//! used (count, last use), granted and never used, used but granted by the token rather than
//! the role, and denied attempts by code; proposes a narrower policy (`--propose`: the
//! configuration with the unused grants revoked, for `matrix --diff`; see `propose.rs`).
//! Lines of other kinds are skipped and counted; a record that cannot be read is counted as
//! malformed and reported, never fatal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::process::ExitCode;

use intercom_authz::policy::Policy;
use serde::Deserialize;

use crate::common::*;
use crate::UsageFormat;

mod propose;

const MARKER: &str = "intercom-authz audit ";

/// The part of an audit record usage reads.
#[derive(Deserialize)]
struct Record<'a> {
    time: u64,
    #[serde(rename = "adminId", borrow)]
    subject: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    role: Option<std::borrow::Cow<'a, str>>,
    success: bool,
    #[serde(borrow)]
    code: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    permissions: Vec<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    action: Option<std::borrow::Cow<'a, str>>,
    /// The permissions the token's own `permissions` claim granted (`token_grants`).
    #[serde(default, rename = "grantedByToken", borrow)]
    granted_by_token: Vec<std::borrow::Cow<'a, str>>,
}

/// Uses of one permission: how many, and the last time.
#[derive(Default, Clone, Copy, serde::Serialize)]
pub struct Use {
    pub count: u64,
    pub last: u64,
}

impl Use {
    fn add(&mut self, t: u64) {
        self.count += 1;
        self.last = self.last.max(t);
    }
}

/// Counts a use of `perm`, allocating its name only the first time it is seen.
fn tally(uses: &mut BTreeMap<String, Use>, perm: &str, time: u64) {
    match uses.get_mut(perm) {
        Some(u) => u.add(time),
        None => uses.entry(perm.to_string()).or_default().add(time),
    }
}

#[derive(Default)]
struct Tally {
    used: BTreeMap<String, Use>,
    /// What records said the token granted (`grantedByToken`).
    by_token: BTreeSet<String>,
    denied: BTreeMap<String, u64>,
    subjects: BTreeMap<String, BTreeMap<String, Use>>,
}

/// Everything read from the logs.
#[derive(Default)]
pub struct Usage {
    pub records: u64,
    pub skipped: u64,
    pub malformed: u64,
    pub first_malformed: Option<String>,
    pub span: Option<(u64, u64)>,
    roles: BTreeMap<String, Tally>,
}

impl Usage {
    fn line(&mut self, line: &str, at: impl FnOnce() -> String) {
        let json = match line.find(MARKER) {
            Some(i) => line.get(i + MARKER.len()..).unwrap_or_default(),
            None if line.starts_with('{') && line.contains("\"success\"") => line,
            None => {
                self.skipped += 1;
                return;
            }
        };
        match serde_json::from_str::<Record<'_>>(json.trim_end()) {
            Ok(r) => self.record(&r),
            Err(e) => {
                self.malformed += 1;
                if self.first_malformed.is_none() {
                    self.first_malformed = Some(format!("{}: {e}", at()));
                }
            }
        }
    }

    fn record(&mut self, r: &Record<'_>) {
        self.records += 1;
        self.span = Some(
            self.span
                .map_or((r.time, r.time), |(a, b)| (a.min(r.time), b.max(r.time))),
        );
        let role = r.role.as_deref().unwrap_or("(no role)");
        let t = self.roles.entry(role.to_string()).or_default();
        let subject = r.subject.as_deref().unwrap_or("(unknown)");
        let mine = t.subjects.entry(subject.to_string()).or_default();
        if r.success {
            for p in &r.permissions {
                tally(&mut t.used, p, r.time);
                tally(mine, p, r.time);
            }
            for p in &r.granted_by_token {
                if !t.by_token.contains(p.as_ref()) {
                    t.by_token.insert(p.to_string());
                }
            }
        } else {
            let what = r
                .action
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            *t.denied.entry(format!("{}{what}", r.code)).or_default() += 1;
        }
    }
}

fn open(path: &str) -> Result<Box<dyn BufRead>> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let head = std::io::Cursor::new(magic.get(..n).unwrap_or_default().to_vec()).chain(f);
    Ok(if magic == [0x1f, 0x8b] {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(head)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, head))
    })
}

pub fn read_logs(paths: &[String]) -> Result<Usage> {
    let mut u = Usage::default();
    let tty = std::io::stderr().is_terminal();
    let mut buf = Vec::new();
    let mut n = 0u64;
    for path in paths {
        let mut r = open(path)?;
        let mut lineno = 0u64;
        loop {
            buf.clear();
            let got = r
                .read_until(b'\n', &mut buf)
                .map_err(|e| format!("`{path}`: {e}"))?;
            if got == 0 {
                break;
            }
            lineno += 1;
            n += 1;
            let line = String::from_utf8_lossy(&buf);
            u.line(line.trim_end_matches(['\n', '\r']), || {
                format!("{path}:{lineno}")
            });
            if tty && n % 100_000 == 0 {
                eprint!("\r{n} lines read…");
            }
        }
    }
    if tty && n >= 100_000 {
        eprintln!("\r{n} lines read.   ");
    }
    Ok(u)
}

/// One role's report.
#[derive(serde::Serialize)]
pub struct RoleReport {
    pub role: String,
    pub known: bool,
    /// What it used of its own grants: the evidence about the role.
    pub used: BTreeMap<String, Use>,
    /// What it used that the role does not grant (the token's `permissions` claim, with
    /// `token_grants`): evidence about the token, not the role.
    pub from_token: BTreeMap<String, Use>,
    /// Those of `from_token` that the records name as the token's (`grantedByToken`); the
    /// others came another way (the reassign rule, or records of another policy).
    pub recorded_by_token: BTreeSet<String>,
    pub unused: Vec<String>,
    denied: BTreeMap<String, u64>,
    subjects: BTreeMap<String, BTreeMap<String, Use>>,
}

pub fn reports(p: &Policy, u: &Usage) -> Vec<RoleReport> {
    let mut names: BTreeSet<String> = u.roles.keys().cloned().collect();
    names.extend(p.roles().iter().map(|r| r.name.clone()));
    let empty = Tally::default();
    names
        .into_iter()
        .map(|name| report(p, u.roles.get(&name).unwrap_or(&empty), name))
        .collect()
}

/// One role's report. A permission the compiled role does not grant is not evidence about it
/// (a role the policy lacks keeps all): the records say which the token granted.
fn report(p: &Policy, t: &Tally, name: String) -> RoleReport {
    let role = p.role(&name);
    let grants = |perm: &String| {
        role.is_none_or(|r| {
            p.permission_id(perm)
                .is_some_and(|id| r.permissions.contains(id))
        })
    };
    let (used, from_token): (BTreeMap<_, _>, BTreeMap<_, _>) = t
        .used
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .partition(|(k, _)| grants(k));
    let granted: Vec<String> = role
        .map(|r| p.names(&r.permissions).map(str::to_string).collect())
        .unwrap_or_default();
    let subjects = t
        .subjects
        .iter()
        .map(|(s, uses)| {
            let mine = uses.iter().filter(|(k, _)| grants(k));
            (s.clone(), mine.map(|(k, v)| (k.clone(), *v)).collect())
        })
        .collect();
    RoleReport {
        known: role.is_some(),
        unused: granted
            .into_iter()
            .filter(|g| !used.contains_key(g))
            .collect(),
        used,
        recorded_by_token: t.by_token.clone(),
        from_token,
        denied: t.denied.clone(),
        subjects,
        role: name,
    }
}

pub fn day(t: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = (t / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn text(token_grants: bool, u: &Usage, reports: &[RoleReport]) {
    let span = u
        .span
        .map(|(a, b)| format!(", {} to {}", day(a), day(b)))
        .unwrap_or_default();
    outln!(
        "{} decisions read{span}; {} other lines skipped; {} malformed",
        u.records,
        u.skipped,
        u.malformed
    );
    if let Some(m) = &u.first_malformed {
        outln!("  first malformed: {m}");
    }
    // Without `token_grants`, a permission the role lacks cannot have come from the token.
    let from = if token_grants {
        "not granted by the role: the token's claim, or the reassign rule"
    } else {
        "not granted by the role: logged under another policy?"
    };
    for r in reports {
        role_text(r, from);
    }
}

fn role_text(r: &RoleReport, from: &str) {
    let note = if r.known {
        ""
    } else {
        " (not a role of the policy)"
    };
    outln!("\nrole `{}`{note}: {} subjects", r.role, r.subjects.len());
    for (p, s) in &r.used {
        outln!("  used    {p}: {} times, last {}", s.count, day(s.last));
    }
    for (p, s) in &r.from_token {
        let last = day(s.last);
        let from = if r.recorded_by_token.contains(p) {
            "granted by the token's permissions claim"
        } else {
            from
        };
        outln!("  token   {p}: {} times, last {last} ({from})", s.count);
    }
    if r.used.is_empty() && r.known && r.from_token.is_empty() {
        outln!("  no allowed request in the logs: no evidence to narrow it");
    } else if r.used.is_empty() && r.known {
        outln!("  none of its own grants used: no evidence to narrow it");
    } else if !r.unused.is_empty() {
        outln!("  unused  {}", r.unused.join(", "));
    }
    for (code, n) in &r.denied {
        outln!("  denied  {code}: {n}");
    }
    for (s, ps) in &r.subjects {
        if !ps.is_empty() && ps.len() < r.used.len() {
            let only: Vec<String> = ps
                .iter()
                .map(|(p, u)| format!("{p} ({}×, last {})", u.count, day(u.last)))
                .collect();
            outln!("  subject `{s}` used only {}", only.join(", "));
        }
    }
}

/// `--format csv`: a row per fact, for a spreadsheet or a sign-off sheet:
/// `kind,role,subject,permission,count,last` where kind is `used` (by a subject, of the role's
/// own grants), `token` (used, not the role's), `unused` (granted, never used) or `denied`
/// (the code, and the permission asked for).
fn csv(reports: &[RoleReport]) -> String {
    use crate::csv::row;
    let mut s = row(&["kind", "role", "subject", "permission", "count", "last"]);
    for r in reports {
        let role = r.role.as_str();
        for (subject, uses) in &r.subjects {
            for (p, u) in uses {
                s += &row(&["used", role, subject, p, &u.count.to_string(), &day(u.last)]);
            }
        }
        for (p, u) in &r.from_token {
            s += &row(&["token", role, "", p, &u.count.to_string(), &day(u.last)]);
        }
        for p in &r.unused {
            s += &row(&["unused", role, "", p, "0", ""]);
        }
        for (code, n) in &r.denied {
            s += &row(&["denied", role, "", code, &n.to_string(), ""]);
        }
    }
    s
}

pub fn usage(
    policy: &str,
    logs: &[String],
    format: UsageFormat,
    propose_to: Option<&str>,
) -> Result<ExitCode> {
    let (cfg, p) = compile(policy)?;
    let u = read_logs(logs)?;
    let reports = reports(&p, &u);
    if let Some(out) = propose_to {
        propose::write(&p, policy, &cfg.policy, &reports, out)?;
    }
    match format {
        UsageFormat::Csv => out!("{}", csv(&reports)),
        UsageFormat::Text => text(cfg.policy.token_grants, &u, &reports),
        UsageFormat::Json => outln!(
            "{}",
            serde_json::json!({"decisions": u.records, "skipped": u.skipped, "malformed": u.malformed,
                "first_malformed": u.first_malformed, "from": u.span.map(|s| s.0), "to": u.span.map(|s| s.1), "roles": reports})
        ),
    }
    Ok(ExitCode::SUCCESS)
}
