//! A signing key the filter has not seen: with `remote_jwks`, a token whose `kid` no key
//! matches waits for one JWKS fetch made at once (not at the next scheduled refresh), then is
//! judged with the keys there are: an identity provider's new key works from its first token.
//! At most one such fetch per worker per `remote_jwks.retry_secs`, shared by every request that needs it
//! (one in flight is joined); a token that arrives after one and still names an unknown key is
//! `401 unknown_key` at once, so made-up `kid`s cannot make the filter hammer the JWKS.

use super::*;

/// A body that ended while the request waited for the keys (the callback that saw the end is
/// replayed once the headers are judged).
#[derive(Debug, Clone, Copy)]
pub(crate) enum EarlyEnd {
    Body(usize),
    Trailers,
}

impl Request {
    /// The token's key is unknown: whether the request waits for a JWKS fetch made now.
    pub(super) fn wait_for_keys(&mut self) -> bool {
        if self.keys_tried || self.shared.authz.config().remote_jwks.is_none() {
            return false;
        }
        self.keys_tried = true;
        let fetching = abi::fetch_keys_now(self.shared.root_id);
        // The root dispatched as itself: act as this request again.
        let _ = host::set_effective_context(self.id);
        if !fetching {
            return false;
        }
        if let Ok(mut w) = self.shared.awaiting_keys.try_borrow_mut() {
            w.push(self.id);
            self.keys_wait = true;
        }
        self.keys_wait
    }

    /// While waiting: the body waits too; its end is remembered.
    pub(super) fn body_during_key_wait(&mut self, end: Option<EarlyEnd>) -> Action {
        if end.is_some() {
            self.early_end = end;
        }
        Action::Pause
    }

    /// The JWKS fetch answered (or failed): judged again with the keys there are now, and let
    /// go when allowed.
    pub(super) fn keys_refreshed(&mut self) {
        if !self.keys_wait {
            return;
        }
        self.keys_wait = false;
        let out = self.decide(Body::NotRead, Lookup::NotDone);
        let mut action = self.judge_headers(out);
        if action == Action::Pause && self.body_wanted {
            action = match self.early_end.take() {
                Some(EarlyEnd::Body(size)) => self.on_request_body(size, true),
                Some(EarlyEnd::Trailers) => self.on_request_trailers(),
                None => Action::Pause,
            };
        }
        if action == Action::Continue {
            if let Err(e) = host::resume_request() {
                log(
                    LogLevel::Error,
                    &format!("intercom-authz: cannot resume the request: {e:?}"),
                );
            }
        }
    }
}

impl Root {
    /// A request met an unknown `kid`: fetch the JWKS now, unless one is out (joined: `true`)
    /// or one was made for this less than `retry_secs` ago (`false`).
    pub(crate) fn fetch_keys_now(&self) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let Some(r) = &shared.authz.config().remote_jwks else {
            return false;
        };
        if self.jwks.borrow().in_flight.is_some() {
            return true;
        }
        let now = self.now();
        if now < self.unknown_kid_after.get() {
            return false;
        }
        self.unknown_kid_after
            .set(now.saturating_add(r.retry_secs.max(1)));
        log(
            LogLevel::Info,
            "intercom-authz: a token's key is not in the JWKS: fetching it now",
        );
        let _ = host::set_effective_context(self.id);
        self.jwks.borrow_mut().due_now();
        self.fetch_jwks();
        self.jwks.borrow().in_flight.is_some()
    }

    /// The JWKS fetch is over: every request waiting for it is judged again.
    pub(crate) fn release_key_waiters(&self, shared: &Shared) {
        let waiting = match shared.awaiting_keys.try_borrow_mut() {
            Ok(mut w) => core::mem::take(&mut *w),
            Err(_) => return,
        };
        for id in waiting {
            if host::set_effective_context(id).is_ok() {
                abi::keys_refreshed(id);
            }
        }
        let _ = host::set_effective_context(self.id);
    }
}
