//! The Proxy-Wasm filter for Envoy and Istio (crate `intercom-authz-filter`, target `wasm32-wasip1`).
//!
//! A thin adapter: the root context parses and compiles the plugin configuration once into an
//! [`Authorizer`] shared by every request behind `Rc`; each request context reads the method,
//! `:path`, the credential header and `source.address`, asks the authorizer, buffers the body
//! only when the route's decision needs it, and either denies with the JSON body or lets the
//! request through with the canonical path and the configured upstream headers.
//!
//! CAUTION: a panic traps the VM. With `failure_policy: FAIL_OPEN` Envoy would then let
//! requests through unchecked; with `FAIL_CLOSED` one trap is an outage of that worker until
//! a restart. Ship `FAIL_RELOAD` (envoy/README.md). Nothing here may panic:
//!
//! - **Host calls** all go through [`host`], which declares the Proxy-Wasm ABI functions itself,
//!   reads every header, property and buffer as bytes and maps every non-`Ok` status to an
//!   error (the request headers are read in one call, `proxy_get_header_map_pairs`, and parsed
//!   by a reader that never indexes past the buffer); its module documentation lists each call
//!   and why it cannot panic.
//! - **The entry points** (`proxy_on_*`) are [`abi`]'s, not the proxy-wasm SDK's (whose
//!   dispatcher panics on a context id it does not know): a request of an unknown or
//!   unconfigured root is answered 503 ([`refuse_unconfigured`]), a callback for a context that is
//!   gone is ignored, a host that re-enters a request's callback gets that request reset.
//! - **Values that are not UTF-8** are the authorizer's to judge ([`HttpRequest`] is bytes):
//!   credential → `malformed_token`, method or path → `non_canonical_path`; a request id that is
//!   not UTF-8 is replaced by a generated one; `content-length` and `source.address` that are
//!   not are ignored; a JWKS response's `:status` is read lossily.
//! - **Sizes and integers**: the body is read only up to `max_body_bytes` (`+ 1` saturating),
//!   times are `u64` seconds with saturating additions, statuses `u16` widened to `u32`; the
//!   memory the host hands back was allocated by [`abi::proxy_on_memory_allocate`] for exactly
//!   that many bytes (header values are bounded by Envoy's header limits).
//! - **The test-only `test-trap` feature** panics on purpose; it is never in a shipped module.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;
use std::{boxed::Box, format, vec};

mod abi;
mod assignments;

mod conversations;
mod host;
mod keys;
mod metrics;
mod root;

use host::{Action, BufferType, LogLevel, MapType};

use conversations::{Guarded, Held};

use intercom_authz::authorizer::{
    AuditLog, AuditMode, Authorizer, BodyHold, DecisionState, HttpRequest, Mode, Outcome,
};
use intercom_authz::conversation::Lookup;
use intercom_authz::eval::{Body, Code, Effect};
use intercom_authz::token::parse_jwks;

/// Run once when the module starts ([`abi::_initialize`]).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        // The VM is lost after this: say so loudly and count it (alert on
        // `intercom_authz.vm_panics`); the host's failure_policy decides next.
        log(
            LogLevel::Critical,
            &format!("intercom-authz: panic, the VM is unusable: {info}"),
        );
        if let Ok(id) = host::define_counter("intercom_authz.vm_panics") {
            let _ = host::increment(id, 1);
        }
    }));
}

use host::{buffer, log};
use metrics::{bump, bump_by, Metrics};
pub use root::Root;

// INVARIANT: every host call goes through `host` (bytes in, bytes out, every status an error);
// `host`'s documentation lists each call and why it cannot panic.

fn now_secs() -> u64 {
    host::now_nanos().map_or(0, |n| n / 1_000_000_000)
}

fn set_request_header(name: &str, value: Option<&str>) {
    let r = match value {
        Some(v) => host::set_header(MapType::HttpRequestHeaders, name, v.as_bytes()),
        None => host::remove_header(MapType::HttpRequestHeaders, name),
    };
    if let Err(e) = r {
        log(
            LogLevel::Warn,
            &format!("intercom-authz: cannot set request header `{name}`: {e:?}"),
        );
    }
}

/// A request id for a request whose own one is not UTF-8 (or absent where one is needed).
fn generated_request_id() -> String {
    use core::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "intercom-authz-{:x}-{n:x}",
        host::now_nanos().unwrap_or_default()
    )
}

/// What every request context shares with the root.
struct Shared {
    authz: Authorizer,
    metrics: Metrics,
    intercom_token: Option<String>,
    /// Request headers removed before the upstream sees an allowed request (see [`intercom_authz::upstream::stripped`]).
    strip: Vec<String>,
    /// [`Authorizer::credential_header`], once.
    credential_header: String,
    /// [`Policy::reads_source_ip`](intercom_authz::policy::Policy::reads_source_ip), once.
    reads_source_ip: bool,
    /// With `trusted_payload_header`: `token.header` (lower case), whose presence is checked
    /// and which never goes upstream unless `forward_caller_token`.
    token_header: Option<String>,
    /// Requests waiting for their body, answered `408 body_timeout` by the root's tick when
    /// their deadline passes (a request context has no timer of its own).
    waiting: RefCell<Vec<Waiting>>,
    /// Conversation assignments known, shared by every worker (see [`assignments`]).
    assignments: assignments::Assignments,
    /// Whether a role's conversation access is restricted (assignments matter).
    restricts_conversations: bool,
    /// Requests waiting for a JWKS fetch (see [`keys`]), by context id.
    awaiting_keys: RefCell<Vec<u32>>,
    /// The root context's id (it makes the fetches).
    root_id: u32,
    /// With `body_hold: buffer_filter`: the router was seen with the headers of a request
    /// whose body was not judged yet (see [`Request::unprotected`]).
    unprotected: Cell<bool>,
}

/// A request held for its body.
struct Waiting {
    context_id: u32,
    /// Milliseconds since the epoch.
    deadline: u64,
}

/// Whether the router has started this request's upstream request (it sets the attempt count
/// as it does, before sending the headers).
fn router_started() -> bool {
    host::property(&["upstream", "request_attempt_count"])
        .and_then(|b| <[u8; 8]>::try_from(b.get(..8)?).ok())
        .is_some_and(|n| u64::from_le_bytes(n) > 0)
}

fn now_millis() -> u64 {
    host::now_nanos().map_or(0, |n| n / 1_000_000)
}

/// Sends a denial (JSON body, headers, `%RESPONSE_CODE_DETAILS%`); resets the stream when even
/// that fails.
fn send_denial(out: &Outcome, request_id: Option<&str>) {
    let body = out.deny_body(request_id);
    let www = out.www_authenticate();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-intercom-authz-code", out.code),
        ("cache-control", "no-store"),
    ];
    if let Some(w) = &www {
        headers.push(("www-authenticate", w.as_str()));
    }
    // %RESPONSE_CODE_DETAILS% says who denied and why, as Envoy's rbac filter does.
    let details = format!("intercom_authz_denied.{}", out.code);
    if let Err(e) = host::send_response(out.status, &details, &headers, body.as_bytes()) {
        log(
            LogLevel::Error,
            &format!("intercom-authz: cannot send the denial: {e:?}; resetting the stream"),
        );
        host::reset_request();
    }
}

/// A request context: judged by a configured root, or answered 503 by one without a
/// configuration.
enum Stream {
    Request(Box<Request>),
    Unconfigured,
}

impl Stream {
    fn on_request_headers(&mut self, end_of_stream: bool) -> Action {
        match self {
            Stream::Request(r) => r.on_request_headers(end_of_stream),
            Stream::Unconfigured => refuse_unconfigured(),
        }
    }

    fn on_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self {
            Stream::Request(r) => r.on_request_body(size, end_of_stream),
            Stream::Unconfigured => Action::Pause,
        }
    }

    fn on_request_trailers(&mut self) -> Action {
        match self {
            Stream::Request(r) => r.on_request_trailers(),
            Stream::Unconfigured => Action::Pause,
        }
    }

    fn on_response_headers(&mut self, end_of_stream: bool) -> Action {
        match self {
            Stream::Request(r) => r.response_headers(end_of_stream),
            Stream::Unconfigured => Action::Continue,
        }
    }

    fn on_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self {
            Stream::Request(r) => r.response_body(size, end_of_stream),
            Stream::Unconfigured => Action::Continue,
        }
    }

    fn on_response_trailers(&mut self) -> Action {
        match self {
            Stream::Request(r) => r.response_trailers(),
            Stream::Unconfigured => Action::Continue,
        }
    }

    /// The JWKS fetch it waited for is over (see [`keys`]).
    fn keys_refreshed(&mut self) {
        if let Stream::Request(r) = self {
            r.keys_refreshed();
        }
    }

    /// The body is overdue (see [`Request::body_timed_out`]).
    fn body_timed_out(&mut self) {
        if let Stream::Request(r) = self {
            r.body_timed_out();
        }
    }

    /// A conversation lookup answered.
    fn on_http_call_response(&mut self, token: u32, body_size: usize) {
        if let Stream::Request(r) = self {
            r.looked_up(token, body_size);
        }
    }
}

/// The test-only trap (feature `test-trap`, never in a shipped module): a real panic, so the
/// panic hook, its counter and the host's failure_policy are all exercised.
#[cfg(feature = "test-trap")]
#[allow(clippy::panic, reason = "the point of this test-only build")]
fn test_trap() {
    if host::header(MapType::HttpRequestHeaders, "x-intercom-authz-test-trap").is_some() {
        panic!("test trap requested (feature test-trap)");
    }
}

/// A request that reached a root with no configuration (Envoy normally refuses such a plugin
/// before any request), or a context the VM does not know: answered 503, nothing goes
/// upstream.
fn refuse_unconfigured() -> Action {
    let body = br#"{"error":"Service Unavailable","message":"intercom-authz has no configuration","code":"not_configured"}"#;
    let headers = [
        ("content-type", "application/json"),
        ("x-intercom-authz-code", "not_configured"),
        ("cache-control", "no-store"),
    ];
    if host::send_response(503, "intercom_authz_not_configured", &headers, body).is_err() {
        host::reset_request();
    }
    Action::Pause
}

/// One request.
struct Request {
    /// The context id (the root times out a held body by it).
    id: u32,
    shared: Rc<Shared>,
    body_wanted: bool,
    /// The headers went on (rewritten) before the body was judged.
    headers_sent: bool,
    /// The decision that asked for the body, while it is awaited (what a `408` is about).
    awaiting: Option<Outcome>,
    /// Whether the headers ended the stream.
    headers_end: bool,
    /// Waiting for a JWKS fetch (an unknown `kid`, see [`keys`]); tried once per request.
    keys_wait: bool,
    keys_tried: bool,
    /// The body's end, seen while waiting for the keys.
    early_end: Option<keys::EarlyEnd>,
    request_id: Option<String>,
    /// As Envoy holds them: bytes, possibly not UTF-8 (the authorizer decides what that means).
    method: Vec<u8>,
    path: Vec<u8>,
    credential: Option<Vec<u8>>,
    /// Whether `token.header` came (read with `trusted_payload_header` only).
    has_token_header: bool,
    /// With `token.trusted_payload_metadata`: `jwt_authn` recorded the payload it verified.
    jwt_verified: bool,
    content_type: Option<Vec<u8>>,
    version: Option<Vec<u8>>,
    /// The request id header as sent (made text by [`Request::read_request_id`] when needed).
    request_id_raw: Option<Vec<u8>>,
    /// `content-length`, when it is a number.
    declared_length: Option<usize>,
    /// The size of the body as held (what a rewritten body replaces).
    body_len: usize,
    /// Which of [`Shared::strip`] the request carries (by index): only those are removed.
    present: Vec<usize>,
    source: Option<String>,
    /// The body judged, while the conversation's lookup is out.
    held: Held,
    /// The lookup out (`dispatch_http_call`'s token).
    lookup_token: Option<u32>,
    /// The conversation looked up.
    conversation: Option<String>,
    /// An allowed read whose response is judged before the client sees it.
    guarded: Option<Guarded>,
    /// The assignments' write epoch when a lookup or a judged read started.
    epoch: u64,
    /// A write on a conversation went upstream (its id, if the path names one): its answer
    /// forgets the conversation again.
    wrote: Option<Option<String>>,
    /// When the last decision was made (seconds; 0: none yet): the audit line's time, without
    /// asking the host again.
    decided_at: Cell<u64>,
}

impl Drop for Request {
    fn drop(&mut self) {
        if self.body_wanted {
            self.stop_waiting();
        }
        // A write whose answer never came (reset, timeout): Intercom may still have applied
        // it after a read learned the old assignment.
        self.write_answered();
    }
}

impl Request {
    /// Holds the request for its body until the deadline (see [`Root::expire_bodies`]).
    fn start_waiting(&mut self) {
        self.read_request_id();
        self.body_wanted = true;
        let deadline = now_millis().saturating_add(self.shared.authz.config().body_timeout_ms);
        if let Ok(mut waiting) = self.shared.waiting.try_borrow_mut() {
            waiting.push(Waiting {
                context_id: self.id,
                deadline,
            });
        }
    }

    /// The body came (or the stream ended); `false` when the root has already answered 408.
    fn stop_waiting(&mut self) -> bool {
        self.body_wanted = false;
        let Ok(mut waiting) = self.shared.waiting.try_borrow_mut() else {
            return true;
        };
        let before = waiting.len();
        waiting.retain(|w| w.context_id != self.id);
        waiting.len() < before
    }

    fn now(&self) -> u64 {
        now_secs()
    }

    fn decide(&self, body: Body<'_>, lookup: Lookup<'_>) -> Outcome {
        let before = self.shared.authz.tokens().stats();
        let req = HttpRequest {
            method: &self.method,
            path: &self.path,
            credential: self.credential.as_deref(),
            has_token_header: match self.shared.authz.config().token.trusted_payload_metadata {
                Some(_) => self.jwt_verified,
                None => self.has_token_header,
            },
            content_type: self.content_type.as_deref(),
            version: self.version.as_deref(),
            body,
            source_ip: self
                .source
                .as_deref()
                .and_then(intercom_authz::net::parse_source),
            lookup,
        };
        let now = self.now();
        self.decided_at.set(now);
        let out = self.shared.authz.authorize(&req, now);
        let after = self.shared.authz.tokens().stats();
        let m = &self.shared.metrics;
        if after.hits > before.hits {
            m.cache_hits.add_one();
        }
        if after.misses > before.misses {
            m.cache_misses.add_one();
        }
        out
    }

    /// Whether the configuration's `audit` mode writes this outcome's line.
    fn audited(&self, out: &Outcome) -> bool {
        match self.shared.authz.config().audit {
            AuditMode::All => true,
            AuditMode::Deny => !out.allow,
            AuditMode::None => false,
        }
    }

    /// Counts, audits and records (filter state) a final outcome: every decision, once.
    fn record(&mut self, out: &Outcome, dry: bool) {
        let m = &self.shared.metrics;
        if out.allow {
            m.allowed.add_one();
        } else {
            m.denial(out.code_id, dry);
        }
        let audited = self.audited(out);
        if (audited || !out.allow) && self.request_id.is_none() {
            self.read_request_id();
        }
        if audited {
            self.audit(out, dry, 0);
        }
        // Reachable from access logs as %FILTER_STATE(wasm.intercom_authz.decision:PLAIN)%.
        if !out.allow || self.shared.authz.config().decision_state == DecisionState::All {
            let _ = host::set_property(&["intercom_authz.decision"], out.code.as_bytes());
        }
    }

    /// Acts on a final outcome: continue or deny.
    fn act(&mut self, out: &Outcome) -> Action {
        let dry = self.shared.authz.config().mode == Mode::DryRun;
        self.record(out, dry);
        if !out.allow && !dry {
            send_denial(out, self.request_id.as_deref());
            return Action::Pause;
        }
        if !self.headers_sent {
            self.prepare_upstream(out);
        }
        if let Some(body) = out.forward_body.as_deref().filter(|_| out.allow) {
            if let Err(e) = self.replace_body(body.as_bytes()) {
                let refused = out.after(
                    Code::ConversationRouteRestricted,
                    format!("The search could not be sent with the assignment condition ({e})"),
                );
                send_denial(&refused, self.request_id.as_deref());
                return Action::Pause;
            }
        }
        self.goes_upstream(out);
        self.guard(out);
        Action::Continue
    }

    /// Sends `body` on instead of the caller's (a restricted role's search), with its length.
    fn replace_body(&self, body: &[u8]) -> Result<(), String> {
        host::set_buffer(BufferType::HttpRequestBody, 0, self.body_len, body)
            .map_err(|e| format!("{e:?}"))?;
        if self.declared_length.is_some() {
            set_request_header("content-length", Some(&body.len().to_string()));
        }
        Ok(())
    }

    /// Rewrites the request for the upstream: canonical `:path` (when the request is, or may
    /// be, allowed), role and subject headers, the caller's token out, Intercom's token in.
    fn prepare_upstream(&self, out: &Outcome) {
        let cfg = self.shared.authz.config();
        if out.allow || out.effect == Effect::NeedBody {
            if let Some(p) = &out.forward_path {
                set_request_header(":path", Some(p));
            }
        }
        for &i in &self.present {
            if let Some(h) = self.shared.strip.get(i) {
                set_request_header(h, None);
            }
        }
        let up = &cfg.upstream;
        for (name, value) in [
            (&up.role_header, &out.role),
            (&up.subject_header, &out.subject),
        ] {
            if let Some(h) = name {
                // INVARIANT: a client-sent copy never survives, allowed or not (every value
                // removed first, then ours set).
                set_request_header(h, None);
                if let Some(v) = value {
                    set_request_header(h, Some(v));
                }
            }
        }
        let cred = self.shared.credential_header.as_str();
        if !up.forward_caller_token && cred != "authorization" {
            set_request_header(cred, None);
        }
        // With trusted claims, the token the JWT filter verified is the caller's too.
        if let Some(t) = &self.shared.token_header {
            if !up.forward_caller_token && self.has_token_header && t != "authorization" {
                set_request_header(t, None);
            }
        }
        if out.guard.is_some() {
            // The response is judged: it must come uncompressed, and whole.
            set_request_header("accept-encoding", Some("identity"));
            for h in intercom_authz::guard::CONDITIONAL {
                set_request_header(h, None);
            }
        }
        match &self.shared.intercom_token {
            Some(t) => set_request_header("authorization", Some(&format!("Bearer {t}"))),
            None if !up.forward_caller_token
                && (cred == "authorization"
                    || self.has_token_header
                        && self.shared.token_header.as_deref() == Some("authorization")) =>
            {
                set_request_header("authorization", None)
            }
            None => {}
        }
    }

    /// The request id, echoed in deny bodies and audit lines. A value that is not UTF-8 is
    /// replaced by a generated id (it is still a request that needs correlating); an absent one
    /// stays absent.
    fn read_request_id(&mut self) {
        self.request_id = self
            .request_id_raw
            .as_deref()
            .map(|b| std::str::from_utf8(b).map_or_else(|_| generated_request_id(), String::from));
    }

    /// Reads every header the filter needs in one host call (`proxy_get_header_map_pairs`):
    /// the first value of each, as bytes.
    fn read_headers(&mut self) {
        let raw = host::header_pairs(MapType::HttpRequestHeaders).unwrap_or_default();
        let shared = Rc::clone(&self.shared);
        let cred = shared.credential_header.as_bytes();
        let token_header = shared.token_header.as_deref().map(str::as_bytes);
        let rid = shared.authz.config().request_id_header.as_bytes();
        let first = |slot: &mut Option<Vec<u8>>, v: &[u8]| {
            if slot.is_none() {
                *slot = Some(v.to_vec());
            }
        };
        let (mut method, mut path, mut length) = (None, None, None);
        for (k, v) in host::pairs(&raw) {
            match k {
                b":method" => first(&mut method, v),
                b":path" => first(&mut path, v),
                b"content-type" => first(&mut self.content_type, v),
                b"intercom-version" => first(&mut self.version, v),
                b"content-length" => first(&mut length, v),
                k if k == cred => first(&mut self.credential, v),
                k if Some(k) == token_header => self.has_token_header = true,
                k if k == rid => first(&mut self.request_id_raw, v),
                k => {
                    if let Some(i) = shared.strip.iter().position(|s| s.as_bytes() == k) {
                        if !self.present.contains(&i) {
                            self.present.push(i);
                        }
                    }
                }
            }
        }
        self.method = method.unwrap_or_default();
        self.path = path.unwrap_or_default();
        self.declared_length = length
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
    }

    /// With `token.trusted_payload_metadata`, for a request with the claims header: whether
    /// `jwt_authn` recorded a verified payload under that name (its dynamic metadata).
    fn read_jwt_record(&mut self) {
        let Some(name) = &self.shared.authz.config().token.trusted_payload_metadata else {
            return;
        };
        if self.shared.token_header.is_some() && self.credential.is_some() {
            let path = [
                "metadata",
                "filter_metadata",
                "envoy.filters.http.jwt_authn",
                name.as_str(),
            ];
            self.jwt_verified = host::property(&path).is_some_and(|v| !v.is_empty());
        }
    }

    fn read_source(&mut self) {
        if self.source.is_none() {
            self.source =
                host::property(&["source", "address"]).and_then(|b| String::from_utf8(b).ok());
        }
    }

    /// One audit line; `redacted`: conversations redacted from the response.
    fn audit(&mut self, out: &Outcome, dry: bool, redacted: usize) {
        self.read_source();
        let time = match self.decided_at.get() {
            0 => self.now(),
            t => t,
        };
        let record = intercom_authz::audit::record(
            out,
            &intercom_authz::audit::Seen {
                time,
                source: self.source.as_deref(),
                method: &self.method,
                path: &self.path,
                request_id: self.request_id.as_deref(),
                dry_run: dry,
                redacted,
            },
        );
        // For access logs and decision logs (%FILTER_STATE(wasm.intercom_authz.audit:PLAIN)%):
        // Envoy writes them after the request, off its path. The same record in Envoy's own
        // log too only with `audit_log: both` (a second host call, and Envoy's logger).
        let _ = host::set_property(&["intercom_authz.audit"], record.as_bytes());
        if self.shared.authz.config().audit_log == AuditLog::Both {
            log(LogLevel::Info, &format!("intercom-authz audit {record}"));
        }
    }
}

/// The callbacks ([`Stream`] hands them over).
impl Request {
    /// Headers: read them (and the client address when an allowlist needs it), decide; a
    /// decision that needs the body holds the request for it.
    fn on_request_headers(&mut self, end_of_stream: bool) -> Action {
        #[cfg(feature = "test-trap")]
        test_trap();
        self.read_headers();
        // One host call fewer per request when no allowlist reads it (the audit line asks
        // for it itself).
        if self.shared.reads_source_ip {
            self.read_source();
        }
        self.headers_end = end_of_stream;
        self.read_jwt_record();
        let out = self.decide(Body::NotRead, Lookup::NotDone);
        if out.code_id == Code::UnknownKey && self.wait_for_keys() {
            return Action::Pause;
        }
        self.judge_headers(out)
    }

    /// The decision on the headers: final, or it needs the body (held for it).
    fn judge_headers(&mut self, out: Outcome) -> Action {
        if out.effect != Effect::NeedBody {
            return self.finish(out, Held::NotRead);
        }
        if self.headers_end {
            let out = self.decide(Body::Absent, Lookup::NotDone);
            return self.finish(out, Held::Absent);
        }
        self.hold_for_body(&out)
    }

    /// The decision needs the body: refuse one declared too large, start its timeout, and
    /// keep the headers from the upstream until it is judged (see `body_hold`).
    fn hold_for_body(&mut self, out: &Outcome) -> Action {
        let max = self.shared.authz.config().max_body_bytes;
        let declared = self.declared_length;
        if declared.is_some_and(|n| n > max) {
            return self.act(&Outcome::body_too_large(max));
        }
        self.start_waiting();
        self.awaiting = Some(out.clone());
        match self.shared.authz.config().body_hold {
            // Nothing goes on until the decision: Envoy keeps the headers and still delivers
            // the body (`allow_on_headers_stop_iteration: true`); `act` rewrites the headers
            // once allowed.
            BodyHold::Headers => Action::Pause,
            // Hosts without that knob: a paused header callback would never see the body
            // (proxy-wasm-cpp-host#143), so the headers go on, rewritten now, and the body is
            // held here; `envoy.filters.http.buffer` after this filter keeps the headers from
            // the router until the body has passed (or been denied) here.
            BodyHold::BufferFilter => {
                if self.shared.unprotected.get() {
                    return self.unprotected();
                }
                self.prepare_upstream(out);
                if self.shared.restricts_conversations {
                    // The decision (a search's, say) may yet judge the answer: it must come
                    // whole and uncompressed, as `act` would have asked.
                    set_request_header("accept-encoding", Some("identity"));
                    for h in intercom_authz::guard::CONDITIONAL {
                        set_request_header(h, None);
                    }
                }
                self.headers_sent = true;
                Action::Continue
            }
        }
    }

    /// With `body_hold: buffer_filter`, the router has the headers of a request whose body is
    /// not judged: `envoy.filters.http.buffer` is missing, or placed before this filter. The
    /// request is refused, `500 body_hold_misconfigured` (the local reply resets the upstream
    /// request before any of its body went), and so is every later body-dependent request of
    /// this configuration on this worker, before its headers go on: a wiring mistake lets at
    /// most one request's headers reach the upstream per worker, and never a body.
    fn unprotected(&mut self) -> Action {
        if !self.stop_waiting() {
            return Action::Pause; // already answered 408
        }
        if !self.shared.unprotected.replace(true) {
            log(
                LogLevel::Critical,
                "intercom-authz: `body_hold: buffer_filter`, but the router had a body-dependent request's headers before its body was judged: envoy.filters.http.buffer is missing or placed before this filter. Every body-dependent request is refused (500 body_hold_misconfigured) until the configuration changes: put the buffer filter right after this filter, or use `body_hold: headers` with the plugin's `allow_on_headers_stop_iteration: true`",
            );
        }
        let out = self.instead_of_the_body(
            Code::BodyHoldMisconfigured,
            "The proxy is misconfigured: this request's body cannot be judged before it reaches Intercom".into(),
        );
        self.act(&out)
    }

    /// A denial in place of the decision that awaited the body (same role, route, path).
    fn instead_of_the_body(&mut self, code: Code, message: String) -> Outcome {
        match self.awaiting.take() {
            Some(o) => o.after(code, message),
            None => Outcome::denied(code, message),
        }
    }

    /// Answers `408 body_timeout` ([`Root::expire_bodies`], which has already taken the
    /// request off the wait list): counted, audited and recorded like any denial.
    fn body_timed_out(&mut self) {
        let ms = self.shared.authz.config().body_timeout_ms;
        let message = format!("the body did not arrive within {ms} ms");
        let out = self.instead_of_the_body(Code::BodyTimeout, message);
        // Not a policy decision: refused in dry run too (nothing would ever reach Intercom).
        self.record(&out, false);
        send_denial(&out, self.request_id.as_deref());
    }

    fn on_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.keys_wait {
            let end = end_of_stream.then_some(keys::EarlyEnd::Body(body_size));
            return self.body_during_key_wait(end);
        }
        if self.lookup_token.is_some() {
            // Decided on the headers but for the conversation's assignment: the body waits too.
            return Action::Pause;
        }
        if !self.body_wanted {
            return Action::Continue;
        }
        if self.headers_sent && router_started() {
            return self.unprotected();
        }
        let max = self.shared.authz.config().max_body_bytes;
        if body_size > max {
            if !self.stop_waiting() {
                return Action::Pause; // already answered 408
            }
            return self.act(&Outcome::body_too_large(max));
        }
        if !end_of_stream {
            // Envoy buffers the body until the end of the stream.
            return Action::Pause;
        }
        if !self.stop_waiting() {
            return Action::Pause; // already answered 408
        }
        self.body_len = body_size;
        let held = Held::of(buffer(BufferType::HttpRequestBody, 0, body_size).unwrap_or_default());
        let out = self.decide(held.body(), Lookup::NotDone);
        self.finish(out, held)
    }

    fn on_request_trailers(&mut self) -> Action {
        if self.keys_wait {
            return self.body_during_key_wait(Some(keys::EarlyEnd::Trailers));
        }
        if self.lookup_token.is_some() {
            return Action::Pause;
        }
        if !self.body_wanted {
            return Action::Continue;
        }
        if self.headers_sent && router_started() {
            return self.unprotected();
        }
        // The body ended with trailers: judge what was buffered.
        if !self.stop_waiting() {
            return Action::Pause; // already answered 408
        }
        let max = self.shared.authz.config().max_body_bytes;
        let bytes =
            buffer(BufferType::HttpRequestBody, 0, max.saturating_add(1)).unwrap_or_default();
        if bytes.len() > max {
            return self.act(&Outcome::denied(
                Code::BodyTooLarge,
                String::from("the body is larger than the limit"),
            ));
        }
        self.body_len = bytes.len();
        let held = Held::of(bytes);
        let out = self.decide(held.body(), Lookup::NotDone);
        self.finish(out, held)
    }
}
