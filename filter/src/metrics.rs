//! The filter's Envoy counters.

use super::*;

/// Envoy counters, defined once per configuration; ids are looked up by position, so counting
/// costs one host call and no allocation. The three counts every allowed request makes are
/// [`Batched`] instead: a host call crosses V8's C API into Envoy, so an allowed request makes
/// as few as it can (`make bench-filter` counts them).
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) allowed: Batched,
    pub(crate) cache_hits: Batched,
    pub(crate) cache_misses: Batched,
    pub(crate) jwks_ok: Option<u32>,
    pub(crate) jwks_failed: Option<u32>,
    pub(crate) directory_ok: Option<u32>,
    pub(crate) directory_failed: Option<u32>,
    pub(crate) lookups: Option<u32>,
    pub(crate) lookup_cache_hits: Option<u32>,
    pub(crate) lookup_failed: Option<u32>,
    pub(crate) responses_redacted: Option<u32>,
    pub(crate) conversations_redacted: Option<u32>,
    pub(crate) shadow_redacted: Option<u32>,
    /// Indexed by `Code as usize`.
    pub(crate) denied: Vec<Option<u32>>,
    pub(crate) shadow_denied: Vec<Option<u32>>,
}

pub(crate) const PREFIX: &str = "intercom_authz";

pub(crate) fn define(name: &str) -> Option<u32> {
    host::define_counter(&format!("{PREFIX}.{name}")).ok()
}

pub(crate) fn bump(id: Option<u32>) {
    bump_by(id, 1);
}

pub(crate) fn bump_by(id: Option<u32>, n: usize) {
    if let (Some(id), Ok(n @ 1..)) = (id, i64::try_from(n)) {
        let _ = host::increment(id, n);
    }
}

/// A counter added up in the VM and handed to Envoy by [`Metrics::flush`] (on every tick: at
/// most a second behind).
#[derive(Default)]
pub(crate) struct Batched {
    pub(crate) id: Option<u32>,
    pub(crate) pending: Cell<u64>,
}

impl Batched {
    pub(crate) fn new(name: &str) -> Batched {
        Batched {
            id: define(name),
            pending: Cell::new(0),
        }
    }

    pub(crate) fn add_one(&self) {
        self.pending.set(self.pending.get().saturating_add(1));
    }

    pub(crate) fn flush(&self) {
        bump_by(
            self.id,
            usize::try_from(self.pending.take()).unwrap_or(usize::MAX),
        );
    }
}

impl Metrics {
    /// Hands the batched counts to Envoy.
    pub(crate) fn flush(&self) {
        for b in [&self.allowed, &self.cache_hits, &self.cache_misses] {
            b.flush();
        }
    }

    pub(crate) fn define_all() -> Metrics {
        let per_code = |kind: &str| -> Vec<Option<u32>> {
            Code::ALL
                .iter()
                .map(|c| match c {
                    Code::Allowed | Code::NeedBody | Code::NeedLookup => None,
                    c => define(&format!("{kind}.{}", c.as_str())),
                })
                .collect()
        };
        // Counted by the panic hook (which defines it again: the same counter), defined here so
        // that it exists, at 0, before the first panic: an alert on its increase needs a series.
        let _ = define("vm_panics");
        Metrics {
            allowed: Batched::new("allowed"),
            cache_hits: Batched::new("token_cache_hits"),
            cache_misses: Batched::new("token_cache_misses"),
            jwks_ok: define("jwks_fetch_ok"),
            jwks_failed: define("jwks_fetch_failed"),
            directory_ok: define("directory_fetch_ok"),
            directory_failed: define("directory_fetch_failed"),
            lookups: define("conversation_lookups"),
            lookup_cache_hits: define("conversation_lookup_cache_hits"),
            lookup_failed: define("conversation_lookup_failed"),
            responses_redacted: define("responses_redacted"),
            conversations_redacted: define("conversations_redacted"),
            shadow_redacted: define("shadow_responses_redacted"),
            denied: per_code("denied"),
            shadow_denied: per_code("shadow_denied"),
        }
    }

    pub(crate) fn denial(&self, code: Code, dry_run: bool) {
        let table = if dry_run {
            &self.shadow_denied
        } else {
            &self.denied
        };
        bump(table.get(code as usize).copied().flatten());
    }
}
