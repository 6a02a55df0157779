//! The root context: the configuration, and what it fetches and refreshes (the JWKS, the
//! teammate directory), and the timer that times out bodies.

use super::*;
use assignments::Assignments;

/// `identity.source: directory` needs a directory: fetched (a cluster and the workspace token)
/// or given in the configuration.
pub(crate) fn directory_ready(authz: &Authorizer, has_token: bool) -> Result<(), &'static str> {
    let cfg = &authz.config().identity;
    if !authz.identity().uses_directory() || cfg.admins.is_some() {
        return Ok(());
    }
    match (&cfg.cluster, has_token) {
        (Some(_), true) => Ok(()),
        (Some(_), false) => Err("`identity.cluster` fetches the teammate directory with the workspace token: set `upstream.intercom_token` or `upstream.intercom_token_env`"),
        (None, _) => Err("`identity.source` is `directory`: set `identity.cluster` (the filter fetches `GET /admins` through it) or give the directory in `identity.admins`"),
    }
}

/// A policy that restricts a role's conversation access needs somewhere to look conversations
/// up, a token to do it with, and held headers (the response is judged before it goes on).
pub(crate) fn conversations_ready(authz: &Authorizer, has_token: bool) -> Result<(), &'static str> {
    if !authz.policy().restricts_conversations() {
        return Ok(());
    }
    let cfg = authz.config();
    if cfg.conversations.cluster.is_none() {
        return Err("a role's `conversation_access` is restricted: `conversations.cluster` must name Intercom's cluster (the lookups go there)");
    }
    if !has_token {
        return Err("a role's `conversation_access` is restricted: the lookups need `upstream.intercom_token` or `upstream.intercom_token_env`");
    }
    if cfg.body_hold != BodyHold::Headers {
        return Err("a role's `conversation_access` is restricted: responses are judged with the headers held, which needs `body_hold: headers` (and the plugin's `allow_on_headers_stop_iteration: true`)");
    }
    Ok(())
}

/// The root context: configuration, metrics, remote JWKS.
#[derive(Default)]
pub struct Root {
    /// The root context's id (to act as the root again after timing a request out).
    pub(crate) id: u32,
    pub(crate) shared: Option<Rc<Shared>>,
    pub(crate) jwks: RefCell<Fetch>,
    /// Intercom's teammate directory (`identity.source: directory`).
    pub(crate) directory: RefCell<Fetch>,
    /// No JWKS fetch for an unknown `kid` before this time (seconds; see [`super::keys`]).
    pub(crate) unknown_kid_after: Cell<u64>,
}

/// A document the root context fetches and refreshes (the JWKS, the teammate directory).
#[derive(Default)]
pub(crate) struct Fetch {
    pub(crate) in_flight: Option<u32>,
    next_fetch: u64,
}

impl Fetch {
    /// The next fetch may start at once (when none is out).
    pub(crate) fn due_now(&mut self) {
        self.next_fetch = 0;
    }

    /// Whether a fetch may start now.
    pub(crate) fn due(&self, now: u64) -> bool {
        self.in_flight.is_none() && now >= self.next_fetch
    }

    /// A fetch failed: keep serving what we have (stale), count, log, retry soon.
    pub(crate) fn failed(
        &mut self,
        counter: Option<u32>,
        now: u64,
        retry_secs: u64,
        what: &str,
        why: &str,
    ) {
        self.next_fetch = now.saturating_add(retry_secs);
        bump(counter);
        log(
            LogLevel::Warn,
            &format!("intercom-authz: {what} failed: {why}"),
        );
    }
}

/// The answer of a root fetch: its body, or why it is not usable.
pub(crate) fn fetched_body(body_size: usize, max: usize) -> Result<Vec<u8>, String> {
    let status = host::header(MapType::HttpCallResponseHeaders, ":status")
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    if status.as_deref() != Some("200") {
        return Err(format!(
            "status {}",
            status
                .as_deref()
                .unwrap_or("none (timeout or connection failure)")
        ));
    }
    if body_size > max {
        return Err(format!("{body_size} bytes, more than `max_bytes` {max}"));
    }
    buffer(BufferType::HttpCallResponseBody, 0, body_size).ok_or_else(|| "empty body".into())
}

impl Root {
    pub(crate) fn now(&self) -> u64 {
        now_secs()
    }

    /// Answers `408 body_timeout` to every request whose body is overdue.
    pub(crate) fn expire_bodies(&self) {
        let Some(shared) = &self.shared else { return };
        let now = now_millis();
        let overdue: Vec<Waiting> = {
            // INVARIANT: never held across a host call (a local reply may end a stream, whose
            // context then leaves the list); `try_` so that a mistake here cannot trap the VM.
            let Ok(mut waiting) = shared.waiting.try_borrow_mut() else {
                return;
            };
            if waiting.iter().all(|w| w.deadline > now) {
                return;
            }
            let (overdue, keep) = waiting.drain(..).partition(|w| w.deadline <= now);
            *waiting = keep;
            overdue
        };
        let cfg = shared.authz.config();
        let ms = cfg.body_timeout_ms;
        let hint = match cfg.body_hold {
            BodyHold::Headers => " (if the client did send it: `body_hold: headers` needs the plugin's `allow_on_headers_stop_iteration: true`, Envoy 1.35+; without it no body ever arrives)",
            BodyHold::BufferFilter => "",
        };
        for w in overdue {
            if host::set_effective_context(w.context_id).is_err() {
                continue; // that stream has ended
            }
            log(
                LogLevel::Warn,
                &format!("intercom-authz: the body did not arrive within {ms} ms of the headers: 408 body_timeout{hint}"),
            );
            abi::body_timed_out(w.context_id);
        }
        let _ = host::set_effective_context(self.id);
    }

    pub(crate) fn fetch_jwks(&self) {
        let Some(shared) = &self.shared else { return };
        let Some(r) = &shared.authz.config().remote_jwks else {
            return;
        };
        let mut st = self.jwks.borrow_mut();
        let now = self.now();
        if !st.due(now) {
            return;
        }
        let authority = r.authority.clone().unwrap_or_else(|| r.cluster.clone());
        let headers = [
            (":method", "GET"),
            (":path", r.path.as_str()),
            (":authority", authority.as_str()),
            ("accept", "application/json"),
        ];
        match abi::http_call(
            self.id,
            &r.cluster,
            &headers,
            Duration::from_millis(r.timeout_ms),
        ) {
            Ok(token) => st.in_flight = Some(token),
            Err(e) => st.failed(
                shared.metrics.jwks_failed,
                now,
                r.retry_secs,
                &format!("JWKS fetch from cluster `{}`", r.cluster),
                &format!("{e:?}"),
            ),
        }
    }

    /// Fetches Intercom's teammate directory (`GET /admins`, the workspace token), when due.
    pub(crate) fn fetch_directory(&self) {
        let Some(shared) = &self.shared else { return };
        let cfg = &shared.authz.config().identity;
        let (Some(cluster), Some(token)) = (&cfg.cluster, &shared.intercom_token) else {
            return;
        };
        let mut st = self.directory.borrow_mut();
        let now = self.now();
        if !cfg_uses_directory(shared) || !st.due(now) {
            return;
        }
        let bearer = format!("Bearer {token}");
        let headers = [
            (":method", "GET"),
            (":path", cfg.path.as_str()),
            (":authority", cfg.authority.as_str()),
            ("authorization", bearer.as_str()),
            ("accept", "application/json"),
            ("accept-encoding", "identity"),
            // 2.16 lists each admin's Intercom role (`identity.roles`); ids, emails and teams
            // are the same in every version.
            ("intercom-version", "2.16"),
        ];
        match abi::http_call(
            self.id,
            cluster,
            &headers,
            Duration::from_millis(cfg.timeout_ms),
        ) {
            Ok(t) => st.in_flight = Some(t),
            Err(e) => st.failed(
                shared.metrics.directory_failed,
                now,
                cfg.retry_secs,
                &format!("teammate directory fetch from cluster `{cluster}`"),
                &format!("{e:?}"),
            ),
        }
    }

    /// The directory fetch answered: the new copy replaces the old one; a failure keeps it.
    pub(crate) fn on_directory(&self, shared: &Shared, body_size: usize) {
        let cfg = &shared.authz.config().identity;
        let now = self.now();
        let mut st = self.directory.borrow_mut();
        st.in_flight = None;
        let what = format!(
            "teammate directory fetch from cluster `{}`",
            cfg.cluster.as_deref().unwrap_or("?")
        );
        match fetched_body(body_size, cfg.max_bytes).and_then(|b| shared.authz.set_directory(&b)) {
            Ok(n) => {
                st.next_fetch = now.saturating_add(cfg.refresh_secs);
                bump(shared.metrics.directory_ok);
                log(
                    LogLevel::Info,
                    &format!(
                        "intercom-authz: loaded {n} teammate(s) from Intercom's directory at `{}`",
                        cfg.path
                    ),
                );
            }
            Err(e) => st.failed(
                shared.metrics.directory_failed,
                now,
                cfg.retry_secs,
                &what,
                &e,
            ),
        }
    }
}

pub(crate) fn cfg_uses_directory(shared: &Shared) -> bool {
    shared.authz.identity().uses_directory()
}

impl Root {
    pub(crate) fn new(id: u32) -> Root {
        Root {
            id,
            ..Root::default()
        }
    }

    /// A root fetch answered (or timed out: no `:status`): the JWKS or the directory.
    pub(crate) fn on_http_call_response(&mut self, token_id: u32, body_size: usize) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        if self.directory.borrow().in_flight == Some(token_id) {
            self.on_directory(&shared, body_size);
            return;
        }
        let Some(r) = shared.authz.config().remote_jwks.clone() else {
            return;
        };
        let now = self.now();
        let mut st = self.jwks.borrow_mut();
        if st.in_flight != Some(token_id) {
            return;
        }
        st.in_flight = None;
        let result: Result<usize, String> = match fetched_body(body_size, r.max_bytes) {
            Err(e) => Err(e),
            Ok(body) => parse_jwks(&body).map(|(keys, skipped)| {
                for s in skipped {
                    log(
                        LogLevel::Warn,
                        &format!("intercom-authz: JWKS key skipped: {s}"),
                    );
                }
                let n = keys.len();
                shared.authz.tokens().set_remote_keys(keys);
                n
            }),
        };
        match result {
            Ok(n) => {
                st.next_fetch = now.saturating_add(r.refresh_secs);
                bump(shared.metrics.jwks_ok);
                log(
                    LogLevel::Info,
                    &format!(
                        "intercom-authz: loaded {n} key(s) from the JWKS at `{}`",
                        r.path
                    ),
                );
            }
            Err(e) => st.failed(
                shared.metrics.jwks_failed,
                now,
                r.retry_secs,
                &format!("JWKS fetch from cluster `{}`", r.cluster),
                &e,
            ),
        }
        drop(st);
        self.release_key_waiters(&shared);
    }
}

impl Root {
    pub(crate) fn on_configure(&mut self, _size: usize) -> bool {
        let Some(bytes) = buffer(BufferType::PluginConfiguration, 0, usize::MAX) else {
            log(
                LogLevel::Error,
                "intercom-authz: refusing configuration: the plugin configuration is empty",
            );
            return false;
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(_) => {
                log(
                    LogLevel::Error,
                    "intercom-authz: refusing configuration: it is not UTF-8",
                );
                return false;
            }
        };
        let authz = match Authorizer::from_json(text) {
            Ok(a) => a,
            Err(e) => {
                log(
                    LogLevel::Error,
                    &format!("intercom-authz: refusing configuration: {e}"),
                );
                return false;
            }
        };
        let up = &authz.config().upstream;
        let intercom_token = match (&up.intercom_token, &up.intercom_token_env) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(var)) => match std::env::var(var) {
                Ok(t) if !t.is_empty() => Some(t),
                _ => {
                    log(LogLevel::Error, &format!("intercom-authz: refusing configuration: VM environment variable `{var}` (`upstream.intercom_token_env`) is not set"));
                    return false;
                }
            },
            (None, None) => None,
        };
        if let Err(why) = conversations_ready(&authz, intercom_token.is_some())
            .and_then(|()| directory_ready(&authz, intercom_token.is_some()))
        {
            log(
                LogLevel::Error,
                &format!("intercom-authz: refusing configuration: {why}"),
            );
            return false;
        }
        if let Some(old) = &self.shared {
            old.metrics.flush(); // the same counters: nothing counted is lost to a new configuration
        }
        let assignments = Assignments::new(&authz.config().conversations);
        let restricts_conversations = authz.policy().restricts_conversations();
        let remote = authz.config().remote_jwks.is_some();
        let mode = authz.config().mode;
        let body_timeout = authz.config().body_timeout_ms;
        self.shared = Some(Rc::new(Shared {
            strip: intercom_authz::upstream::stripped(authz.config(), &authz.credential_header()),
            credential_header: authz.credential_header(),
            reads_source_ip: authz.policy().reads_source_ip(),
            token_header: authz
                .config()
                .token
                .trusted_payload_header
                .as_ref()
                .map(|_| authz.config().token.header.to_ascii_lowercase()),
            authz,
            metrics: Metrics::define_all(),
            intercom_token,
            waiting: RefCell::new(Vec::new()),
            assignments,
            restricts_conversations,
            unprotected: Cell::new(false),
            awaiting_keys: RefCell::new(Vec::new()),
            root_id: self.id,
        }));
        *self.jwks.borrow_mut() = Fetch::default();
        *self.directory.borrow_mut() = Fetch::default();
        // The tick refreshes the JWKS and times out bodies: a quarter of the body timeout,
        // between 50 ms and 1 s.
        let tick = (body_timeout / 4).clamp(50, 1000);
        if let Err(e) = host::set_tick_period(tick) {
            log(
                LogLevel::Error,
                &format!(
                    "intercom-authz: cannot start the timer (JWKS refresh, body timeouts): {e:?}"
                ),
            );
        }
        if remote {
            self.fetch_jwks();
        }
        self.fetch_directory();
        log(
            LogLevel::Info,
            &format!(
                "intercom-authz: configuration loaded ({})",
                if mode == Mode::DryRun {
                    "dry_run: denials are logged, not enforced"
                } else {
                    "enforce"
                }
            ),
        );
        true
    }

    pub(crate) fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.metrics.flush();
        }
        self.fetch_jwks();
        self.fetch_directory();
        self.expire_bodies();
    }

    pub(crate) fn create_stream(&self, context_id: u32) -> Stream {
        let Some(shared) = self.shared.clone() else {
            return Stream::Unconfigured;
        };
        Stream::Request(Box::new(Request {
            id: context_id,
            shared,
            body_wanted: false,
            headers_sent: false,
            awaiting: None,
            headers_end: false,
            keys_wait: false,
            keys_tried: false,
            early_end: None,
            request_id: None,
            method: Vec::new(),
            path: Vec::new(),
            credential: None,
            has_token_header: false,
            jwt_verified: false,
            content_type: None,
            version: None,
            request_id_raw: None,
            declared_length: None,
            body_len: 0,
            present: Vec::new(),
            source: None,
            held: Held::NotRead,
            lookup_token: None,
            conversation: None,
            guarded: None,
            epoch: 0,
            wrote: None,
            decided_at: Cell::new(0),
        }))
    }
}
