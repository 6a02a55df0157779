//! The conversation assignments the filter knows, shared by every worker.
//!
//! Envoy runs one VM per worker thread; what one worker learns or forgets must hold for all,
//! or a worker's earlier read answers for a conversation another worker saw reassigned. So
//! the table lives in Proxy-Wasm shared data (one per VM id, every worker's VM sees it):
//!
//! - **slots**: `conversations.cache_size` keys `intercom_authz.assignment.<n>`, a conversation
//!   in slot `id mod n`, each holding one `id|admin|team|until_ms` (or nothing): a bounded,
//!   direct-mapped table, since shared data is never evicted;
//! - **the write epoch** `intercom_authz.assignment.epoch`: bumped by every write that goes to
//!   Intercom on a conversation (or a ticket), when it goes and again when its answer
//!   comes back ([`Assignments::forget`]), which also empties the conversation's slot.
//!
//! An assignment is learned (from a lookup's answer or a judged read's response) only when no
//! write went through anywhere since that request started ([`Assignments::learn`]: the epoch
//! read then must still be the epoch now, and the slot must not have changed since it was
//! read, by its CAS token). A read answered while a write is in flight therefore never caches
//! the old assignment after the write, and the write's answer empties the slot again in case a
//! read learned it before Intercom applied the write. Writes made outside the filter (the
//! Intercom inbox, workflows) are seen when the entry expires (`cache_secs`).

use std::format;
use std::string::String;

use super::host;
use intercom_authz::config::ConversationsConfig;
use intercom_authz::conversation::{is_conversation_number, Assignment};

const EPOCH: &str = "intercom_authz.assignment.epoch";
/// How often a contended epoch bump is tried again.
const BUMP_TRIES: usize = 16;

/// The shared table (configuration only: the data is the host's).
pub(super) struct Assignments {
    slots: u64,
    ttl_ms: u64,
}

impl Assignments {
    pub(super) fn new(cfg: &ConversationsConfig) -> Assignments {
        let on = cfg.cache_secs > 0 && cfg.cache_size > 0;
        if on && host::shared_data(EPOCH).is_none() {
            // Created before any write, so that every bump compares its CAS token (a token of
            // 0 would not: two first bumps could both write 1).
            let _ = host::set_shared_data(EPOCH, b"0", 0);
        }
        Assignments {
            slots: if on { cfg.cache_size as u64 } else { 0 },
            ttl_ms: cfg.cache_secs.saturating_mul(1000),
        }
    }

    fn slot(&self, id: &str) -> Option<String> {
        let n: u64 = id.parse().ok()?;
        (self.slots > 0 && is_conversation_number(id))
            .then(|| format!("intercom_authz.assignment.{}", n % self.slots))
    }

    /// The write epoch now: what a request reads when it starts (a lookup, a judged read).
    pub(super) fn epoch(&self) -> u64 {
        if self.slots == 0 {
            return 0;
        }
        host::shared_data(EPOCH)
            .and_then(|(v, _)| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(0)
    }

    /// The assignment remembered for `id`, if it has not expired.
    pub(super) fn get(&self, id: &str, now_ms: u64) -> Option<Assignment> {
        let key = self.slot(id)?;
        let (v, _) = host::shared_data(&key)?;
        let entry = Entry::read(&v)?;
        (entry.id == id && entry.until > now_ms).then_some(entry.assignment)
    }

    /// Remembers what a response said of `id`, learned by a request that read `since` as the
    /// epoch when it started: only if no write went through since (see the module docs).
    pub(super) fn learn(&self, id: &str, a: &Assignment, since: u64, now_ms: u64) {
        let Some(key) = self.slot(id) else { return };
        let Some(line) = Entry::write(id, a, now_ms.saturating_add(self.ttl_ms)) else {
            return;
        };
        // The slot first, the epoch second: a write bumps the epoch first, empties the slot
        // second, so one of the two checks sees it.
        let cas = match host::shared_data(&key) {
            Some((_, cas)) => cas,
            None => {
                // Created empty so that what follows has a CAS token (0 would not check).
                if host::set_shared_data(&key, b"", 0).is_err() {
                    return;
                }
                match host::shared_data(&key) {
                    Some((_, cas)) => cas,
                    None => return,
                }
            }
        };
        if cas == 0 || self.epoch() != since {
            return;
        }
        let _ = host::set_shared_data(&key, line.as_bytes(), cas);
    }

    /// A write on `id` (or, `None`, on conversations the path does not name) goes to
    /// Intercom, or its answer came back: bumps the epoch, then empties the slot.
    pub(super) fn forget(&self, id: Option<&str>) {
        if self.slots == 0 {
            return;
        }
        let bumped = (0..BUMP_TRIES).any(|_| {
            let (now, cas) = host::shared_data(EPOCH)
                .map(|(v, cas)| {
                    let n = std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok());
                    (n.unwrap_or(0u64), cas)
                })
                .unwrap_or((0, 0));
            let next = format!("{}", now.wrapping_add(1));
            host::set_shared_data(EPOCH, next.as_bytes(), cas).is_ok()
        });
        if !bumped {
            host::log(
                host::LogLevel::Warn,
                "intercom-authz: the assignments' write epoch could not be bumped (contention): reads in flight may still teach the cache",
            );
        }
        if let Some(key) = id.and_then(|id| self.slot(id)) {
            let _ = host::set_shared_data(&key, b"", 0);
        }
    }
}

/// One slot's content.
struct Entry {
    id: String,
    assignment: Assignment,
    until: u64,
}

impl Entry {
    fn read(v: &[u8]) -> Option<Entry> {
        let text = std::str::from_utf8(v).ok()?;
        let mut f = text.split('|');
        let (id, admin, team, until) = (f.next()?, f.next()?, f.next()?, f.next()?);
        if f.next().is_some() || id.is_empty() {
            return None;
        }
        let some = |s: &str| (!s.is_empty()).then(|| String::from(s));
        Some(Entry {
            id: id.into(),
            assignment: Assignment {
                admin: some(admin),
                team: some(team),
            },
            until: until.parse().ok()?,
        })
    }

    /// `None` when an id holds the separator (never Intercom's ids: not remembered).
    fn write(id: &str, a: &Assignment, until: u64) -> Option<String> {
        let admin = a.admin.as_deref().unwrap_or_default();
        let team = a.team.as_deref().unwrap_or_default();
        let plain = |s: &str| !s.contains('|');
        (plain(id) && plain(admin) && plain(team)).then(|| format!("{id}|{admin}|{team}|{until}"))
    }
}

/// The conversation (or ticket) a write on this canonical path names: `Some(None)` for a
/// conversation path without one (`/conversations/redact`), `None` when it is no
/// conversation's path.
pub(super) fn written(method: &[u8], canonical_path: Option<&str>) -> Option<Option<String>> {
    if matches!(method, b"GET" | b"HEAD" | b"OPTIONS") {
        return None;
    }
    let path = canonical_path?;
    // A search reads (its answer is judged like any list): it changes nothing.
    if matches!(path, "/conversations/search" | "/tickets/search") {
        return None;
    }
    let mut segs = path.trim_start_matches('/').split('/');
    let first = segs.next()?;
    if first != "conversations" && first != "tickets" {
        return None;
    }
    Some(
        segs.next()
            .filter(|s| is_conversation_number(s))
            .map(String::from),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let a = Assignment {
            admin: Some("7".into()),
            team: None,
        };
        let line = Entry::write("12", &a, 99).unwrap();
        assert_eq!(line, "12|7||99");
        let e = Entry::read(line.as_bytes()).unwrap();
        assert_eq!((e.id.as_str(), e.assignment, e.until), ("12", a, 99));
        assert!(Entry::read(b"").is_none());
        assert!(Entry::read(b"1|2|3|4|5").is_none());
        let bad = Assignment {
            admin: Some("7|8".into()),
            team: None,
        };
        assert!(Entry::write("1", &bad, 1).is_none());
    }

    #[test]
    fn writes_on_conversations() {
        assert_eq!(
            written(b"POST", Some("/conversations/5/reply")),
            Some(Some("5".into()))
        );
        assert_eq!(written(b"PUT", Some("/tickets/9")), Some(Some("9".into())));
        assert_eq!(written(b"POST", Some("/conversations/redact")), Some(None));
        assert_eq!(written(b"GET", Some("/conversations/5")), None);
        assert_eq!(written(b"POST", Some("/conversations/search")), None);
        assert_eq!(written(b"POST", Some("/contacts/5")), None);
    }
}
