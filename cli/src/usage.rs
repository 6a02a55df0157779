//! `usage POLICY AUDIT_LOG… [--format text|json] [--propose OUT]`: least privilege from real
//! usage. Reads the filter's audit lines (Envoy logs: `intercom-authz audit {…}`; or the bare
//! records, one per line, as access logs write `%FILTER_STATE(wasm.intercom_authz.audit)%`),
//! plain or gzip, streaming. Reports per role and per subject the permissions granted and
//! used (count, last use), granted and never used, and denied attempts by code; proposes a
//! narrower policy (`--propose`: the configuration with the unused grants revoked, for
//! `matrix --diff`). Lines of other kinds are skipped and counted; a record that cannot be
//! read is counted as malformed and reported, never fatal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::process::ExitCode;

use intercom_authz::policy::Policy;
use serde::Deserialize;

use crate::common::*;
use crate::CheckFormat;

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
    pub used: BTreeMap<String, Use>,
    pub unused: Vec<String>,
    denied: BTreeMap<String, u64>,
    subjects: BTreeMap<String, BTreeMap<String, Use>>,
}

pub fn reports(p: &Policy, u: &Usage) -> Vec<RoleReport> {
    let mut names: BTreeSet<String> = u.roles.keys().cloned().collect();
    names.extend(p.roles().iter().map(|r| r.name.clone()));
    names
        .into_iter()
        .map(|name| {
            let empty = Tally::default();
            let t = u.roles.get(&name).unwrap_or(&empty);
            let granted: Vec<String> = p
                .role(&name)
                .map(|r| p.names(&r.permissions).map(str::to_string).collect())
                .unwrap_or_default();
            RoleReport {
                known: p.role(&name).is_some(),
                unused: granted
                    .into_iter()
                    .filter(|g| !t.used.contains_key(g))
                    .collect(),
                used: t.used.clone(),
                denied: t.denied.clone(),
                subjects: t.subjects.clone(),
                role: name,
            }
        })
        .collect()
}

/// The configuration with each used role's unused grants revoked (a role nobody used is left
/// alone: no evidence either way).
/// Whether `role` extends `ancestor`, directly or not.
fn descends(p: &Policy, role: &str, ancestor: &str) -> bool {
    let mut cur = p.role(role).and_then(|r| r.extends.clone());
    for _ in 0..p.roles().len() {
        match cur {
            Some(name) if name == ancestor => return true,
            Some(name) => cur = p.role(&name).and_then(|r| r.extends.clone()),
            None => return false,
        }
    }
    false
}

/// The proposal keeps every grant the logs show in use: checked, not assumed.
fn verify(proposed: &serde_json::Value, reports: &[RoleReport]) -> Result<()> {
    let cfg: intercom_authz::authorizer::Config = serde_json::from_value(proposed.clone())
        .map_err(|e| format!("the proposal does not load: {e}"))?;
    let p =
        Policy::compile(&cfg.policy).map_err(|e| format!("the proposal does not compile: {e}"))?;
    for r in reports.iter().filter(|r| r.known) {
        let Some(role) = p.role(&r.role) else {
            continue;
        };
        for used in r.used.keys() {
            if p.permission_id(used)
                .is_some_and(|id| !role.permissions.contains(id))
            {
                return Err(format!(
                    "the proposal would take `{used}` from role `{}`, which used it",
                    r.role
                ));
            }
        }
    }
    Ok(())
}

fn propose(p: &Policy, mut cfg: serde_json::Value, reports: &[RoleReport]) -> serde_json::Value {
    let policy = cfg.pointer_mut("/policy").filter(|p| p.is_object());
    let Some(policy) = policy else { return cfg };
    let roles = policy.as_object_mut().and_then(|o| {
        o.entry("roles")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
    });
    let Some(roles) = roles else { return cfg };
    for r in reports
        .iter()
        .filter(|r| r.known && !r.used.is_empty() && !r.unused.is_empty())
    {
        // A role that extends this one inherits the revoke: keep what any of them used.
        let heirs_use: BTreeSet<&String> = reports
            .iter()
            .filter(|h| descends(p, &h.role, &r.role))
            .flat_map(|h| h.used.keys())
            .collect();
        let unused: Vec<&String> = r.unused.iter().filter(|u| !heirs_use.contains(u)).collect();
        let role = roles
            .entry(r.role.clone())
            .or_insert_with(|| serde_json::json!({}));
        let Some(role) = role.as_object_mut() else {
            continue;
        };
        let mut revoke: BTreeSet<String> = role
            .get("revoke")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let grant: Vec<String> = role
            .get("grant")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let (kept, dropped): (Vec<String>, Vec<String>) =
            grant.into_iter().partition(|g| !unused.contains(&g));
        revoke.extend(unused.into_iter().filter(|u| !dropped.contains(u)).cloned());
        if !dropped.is_empty() {
            role.insert("grant".into(), kept.into());
        }
        role.insert(
            "revoke".into(),
            revoke.into_iter().collect::<Vec<_>>().into(),
        );
    }
    cfg
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

fn text(path: &str, u: &Usage, reports: &[RoleReport]) {
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
    for r in reports {
        let note = if r.known {
            ""
        } else {
            " (not a role of the policy)"
        };
        outln!("\nrole `{}`{note}: {} subjects", r.role, r.subjects.len());
        for (p, s) in &r.used {
            outln!("  used    {p}: {} times, last {}", s.count, day(s.last));
        }
        if r.used.is_empty() && r.known {
            outln!("  no allowed request in the logs: no evidence to narrow it");
        } else if !r.unused.is_empty() {
            outln!("  unused  {}", r.unused.join(", "));
        }
        for (code, n) in &r.denied {
            outln!("  denied  {code}: {n}");
        }
        let all: BTreeSet<&String> = r.used.keys().collect();
        for (s, ps) in &r.subjects {
            if !ps.is_empty() && ps.len() < all.len() {
                let only: Vec<String> = ps
                    .iter()
                    .map(|(p, u)| format!("{p} ({}×, last {})", u.count, day(u.last)))
                    .collect();
                outln!("  subject `{s}` used only {}", only.join(", "));
            }
        }
    }
    let _ = path;
}

pub fn usage(
    policy: &str,
    logs: &[String],
    format: CheckFormat,
    propose_to: Option<&str>,
) -> Result<ExitCode> {
    let (_, p) = compile(policy)?;
    let u = read_logs(logs)?;
    let reports = reports(&p, &u);
    if let Some(out) = propose_to {
        let proposed = propose(&p, load_value(policy)?, &reports);
        verify(&proposed, &reports)?;
        let text = serde_json::to_string_pretty(&proposed).map_err(|e| e.to_string())?;
        std::fs::write(out, text + "\n").map_err(|e| format!("cannot write `{out}`: {e}"))?;
    }
    match format {
        CheckFormat::Text => text(policy, &u, &reports),
        CheckFormat::Json => outln!(
            "{}",
            serde_json::json!({"decisions": u.records, "skipped": u.skipped, "malformed": u.malformed,
                "first_malformed": u.first_malformed, "from": u.span.map(|s| s.0), "to": u.span.map(|s| s.1), "roles": reports})
        ),
    }
    Ok(ExitCode::SUCCESS)
}
