//! Who did what, from the audit logs, in one streaming pass: per role and per person (the
//! record's `adminId`), the permissions used (count, last use), the denied attempts by code and
//! permission, the last activity; and each file's SHA-256, hashed from the bytes as they are
//! read (a gzip file's digest is the compressed file's, as `sha256sum` prints it).
//!
//! `usage` and `report` both read the logs through it, so they count alike: Envoy logs
//! (`intercom-authz audit {…}` lines) or bare records (one per line, as the decision log writes
//! them), plain or gzip; other lines are skipped and counted, a record that cannot be read is
//! counted as malformed (the first one named), never fatal.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::common::Result;

const MARKER: &str = "intercom-authz audit ";

/// The part of an audit record the review reads.
#[derive(Deserialize)]
struct Record<'a> {
    time: u64,
    #[serde(rename = "adminId", borrow)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    success: bool,
    #[serde(borrow)]
    code: Cow<'a, str>,
    #[serde(default, borrow)]
    permissions: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    /// The permissions the token's own `permissions` claim granted (`token_grants`).
    #[serde(default, rename = "grantedByToken", borrow)]
    granted_by_token: Vec<Cow<'a, str>>,
}

/// Uses of one permission: how many, and the last time.
#[derive(Default, Clone, Copy, serde::Serialize)]
pub struct Use {
    pub count: u64,
    pub last: u64,
}

/// Denied attempts: code → permission tried (`""` when the record names none) → how many.
pub type Denials = BTreeMap<String, BTreeMap<String, u64>>;

/// What one person did under one role.
#[derive(Default)]
pub struct Person {
    pub last: u64,
    pub used: BTreeMap<String, Use>,
    pub denied: Denials,
}

/// What one role's requests did; `people` leaves out records without an `adminId`.
#[derive(Default)]
pub struct RoleActivity {
    pub records: u64,
    pub used: BTreeMap<String, Use>,
    pub denied: Denials,
    pub people: BTreeMap<String, Person>,
    /// The permissions records said the token granted (`grantedByToken`).
    pub by_token: BTreeSet<String>,
}

/// One log file read.
pub struct LogFile {
    pub path: String,
    pub sha256: String,
    pub lines: u64,
}

/// Everything read from the logs.
#[derive(Default)]
pub struct Activity {
    pub records: u64,
    pub skipped: u64,
    pub malformed: u64,
    pub first_malformed: Option<String>,
    /// The first and the newest record's time.
    pub span: Option<(u64, u64)>,
    pub files: Vec<LogFile>,
    pub roles: BTreeMap<String, RoleActivity>,
}

/// Runs `f` on the entry for `key`, allocating the key only the first time it is seen.
fn with<V: Default, R>(map: &mut BTreeMap<String, V>, key: &str, f: impl FnOnce(&mut V) -> R) -> R {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => f(map.entry(key.to_string()).or_default()),
    }
}

fn tally(uses: &mut BTreeMap<String, Use>, perm: &str, time: u64) {
    with(uses, perm, |u| {
        u.count += 1;
        u.last = u.last.max(time);
    });
}

fn deny(denied: &mut Denials, code: &str, perm: &str) {
    with(denied, code, |by_perm| with(by_perm, perm, |n| *n += 1));
}

/// Counts one record into a role's (or a person's) uses and denials.
fn count(used: &mut BTreeMap<String, Use>, denied: &mut Denials, r: &Record<'_>) {
    if r.success {
        for perm in &r.permissions {
            tally(used, perm, r.time);
        }
    } else {
        deny(denied, &r.code, r.action.as_deref().unwrap_or_default());
    }
}

impl Activity {
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
        with(&mut self.roles, role, |role| {
            role.records += 1;
            count(&mut role.used, &mut role.denied, r);
            for p in &r.granted_by_token {
                if !role.by_token.contains(p.as_ref()) {
                    role.by_token.insert(p.to_string());
                }
            }
            if let Some(subject) = r.subject.as_deref() {
                with(&mut role.people, subject, |p| {
                    p.last = p.last.max(r.time);
                    count(&mut p.used, &mut p.denied, r);
                });
            }
        });
    }
}

impl Activity {
    /// Every (person, role, what they did), sorted by person, then role.
    pub fn people(&self) -> Vec<(&str, &str, &Person)> {
        let mut rows: Vec<(&str, &str, &Person)> = self
            .roles
            .iter()
            .flat_map(|(role, r)| {
                r.people
                    .iter()
                    .map(move |(who, p)| (who.as_str(), role.as_str(), p))
            })
            .collect();
        rows.sort_by_key(|(who, role, _)| (*who, *role));
        rows
    }
}

/// A reader that hashes every byte it hands on.
struct Hashing<'h, R> {
    inner: R,
    hasher: Option<&'h mut Sha256>,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(n)
    }
}

/// The file, plain or gzip, hashed as it is read.
fn open<'h>(path: &str, hasher: Option<&'h mut Sha256>) -> Result<Box<dyn BufRead + 'h>> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut f = Hashing { inner: f, hasher };
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

/// Reads one file into `a`; returns its line count and, with `hash`, its SHA-256 (else empty).
fn read_file(a: &mut Activity, path: &str, hash: bool) -> Result<LogFile> {
    let mut hasher = Sha256::new();
    let mut lines = 0u64;
    {
        let mut r = open(path, hash.then_some(&mut hasher))?;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let got = r
                .read_until(b'\n', &mut buf)
                .map_err(|e| format!("`{path}`: {e}"))?;
            if got == 0 {
                break;
            }
            lines += 1;
            // `from_utf8` first: `from_utf8_lossy` alone validates several times slower.
            let line = match std::str::from_utf8(&buf) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(&buf),
            };
            a.line(line.trim_end_matches(['\n', '\r']), || {
                format!("{path}:{lines}")
            });
        }
    }
    Ok(LogFile {
        path: path.to_string(),
        sha256: if hash {
            hex(&hasher.finalize())
        } else {
            String::new()
        },
        lines,
    })
}

/// The logs, read once, in order (`usage`).
pub fn read(paths: &[String]) -> Result<Activity> {
    read_all(paths, false)
}

/// The same, each file's SHA-256 taken as it is read (`report`'s provenance).
pub fn read_hashed(paths: &[String]) -> Result<Activity> {
    read_all(paths, true)
}

fn read_all(paths: &[String], hash: bool) -> Result<Activity> {
    let mut a = Activity::default();
    for path in paths {
        let f = read_file(&mut a, path, hash)?;
        a.files.push(f);
    }
    Ok(a)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a whole file (the policy, the previous policy).
pub fn sha256_file(path: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_and_denials_are_counted_per_role() {
        let mut a = Activity::default();
        let rec = |s: &str, ok: bool, code: &str, action: &str, t: u64| {
            format!("x intercom-authz audit {{\"time\":{t},\"adminId\":\"{s}\",\"role\":\"agent\",\"success\":{ok},\"code\":\"{code}\",\"permissions\":[\"{action}\"],\"action\":\"{action}\"}}")
        };
        a.line(
            &rec("a-1", true, "allowed", "contacts:read", 5),
            String::new,
        );
        a.line(
            &rec("a-1", false, "mfa_required", "contacts:delete", 9),
            String::new,
        );
        a.line(
            &rec("a-2", true, "allowed", "contacts:read", 7),
            String::new,
        );
        a.line("other", String::new);
        a.line("intercom-authz audit {\"time\":\"x\"}", || "f:5".into());
        let role = &a.roles["agent"];
        assert_eq!((a.records, a.skipped, a.malformed), (3, 1, 1));
        assert_eq!(role.used["contacts:read"].count, 2);
        assert_eq!(role.denied["mfa_required"]["contacts:delete"], 1);
        assert_eq!(role.people["a-1"].last, 9);
        assert_eq!(a.span, Some((5, 9)));
        assert!(a.first_malformed.as_deref().unwrap().starts_with("f:5: "));
    }

    #[test]
    fn sha256_of_the_empty_input() {
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
