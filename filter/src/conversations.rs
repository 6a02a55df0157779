//! Conversation access by assignment in the filter (issue 14; the rules: [`intercom_authz::conversation`],
//! the shared front-end side: [`intercom_authz::guard`]).
//!
//! - **A write on one conversation** comes back `need_lookup`: the request stays paused while
//!   the filter asks Intercom `GET /conversations/{id}` (`abi::http_call` to
//!   `conversations.cluster`, with the workspace token, `accept-encoding: identity`), judges
//!   again with the answer and resumes or denies. Answers are remembered `cache_secs` per
//!   conversation (a warm cache costs no lookup), and so are the assignments a judged read
//!   response shows (a reply after opening the conversation costs none); an allowed write
//!   forgets its conversation (it may have reassigned it). A lookup that fails, times out or cannot be read is
//!   `503 conversation_lookup_failed`, never an allow.
//! - **An allowed read** (one conversation, a list) carries a guard: the upstream is asked for
//!   an uncompressed answer, a 2xx response's headers are held (the plugin's
//!   `allow_on_headers_stop_iteration`) until its body has been judged, then it goes on as it
//!   came, redacted (`Content-Length` fixed), or is replaced by the denial.

use std::string::String;
use std::time::Duration;
use std::{boxed::Box, format, vec, vec::Vec};

use super::abi;
use super::assignments::written;
use super::host::{Action, BufferType, LogLevel, MapType};
use super::{bump, bump_by, host, log, now_millis, send_denial, Request};
use intercom_authz::authorizer::{HttpResponse, LookupAnswer, Mode, Outcome, ResponseVerdict};
use intercom_authz::conversation::{is_conversation_number, Assignment, Lookup};
use intercom_authz::eval::{Body, Code, Effect};
use intercom_authz::guard::as_lookup;

/// The body as judged, kept for the decision after the lookup.
#[derive(Default)]
pub(super) enum Held {
    #[default]
    NotRead,
    Absent,
    Bytes(Vec<u8>),
}

impl Held {
    pub(super) fn of(bytes: Vec<u8>) -> Held {
        if bytes.is_empty() {
            Held::Absent
        } else {
            Held::Bytes(bytes)
        }
    }

    pub(super) fn body(&self) -> Body<'_> {
        match self {
            Held::NotRead => Body::NotRead,
            Held::Absent => Body::Absent,
            Held::Bytes(b) => Body::Bytes(b),
        }
    }
}

/// What an allowed read's response needs to be judged: the outcome, and the response's
/// headers as they came.
pub(super) struct Guarded {
    out: Box<Outcome>,
    status: u16,
    content_type: Option<Vec<u8>>,
    content_encoding: Option<Vec<u8>>,
}

impl Request {
    /// A decision is final, or needs the conversation's assignment first.
    pub(super) fn finish(&mut self, out: Outcome, held: Held) -> Action {
        if out.effect == Effect::NeedLookup {
            self.look_up(&out, held)
        } else {
            self.act(&out)
        }
    }

    /// From the cache, or asks Intercom (the request waits, see [`Request::looked_up`]).
    fn look_up(&mut self, out: &Outcome, held: Held) -> Action {
        // The evaluator asks only for conversation numbers; anything else never goes in a path.
        let Some(id) = out
            .conversation_id
            .clone()
            .filter(|id| is_conversation_number(id))
        else {
            return self.decide_after(&held, Lookup::Failed("the conversation id is not one"));
        };
        let cached = self.shared.assignments.get(&id, now_millis());
        if let Some(a) = cached {
            bump(self.shared.metrics.lookup_cache_hits);
            self.conversation = Some(id);
            return self.decide_after(&held, Lookup::Known(&a));
        }
        match self.dispatch_lookup(&id) {
            Ok(token) => {
                bump(self.shared.metrics.lookups);
                self.epoch = self.shared.assignments.epoch();
                self.lookup_token = Some(token);
                self.conversation = Some(id);
                self.held = held;
                Action::Pause
            }
            Err(why) => {
                self.lookup_failed(&id, &why);
                self.decide_after(&held, Lookup::Failed("the lookup could not be sent"))
            }
        }
    }

    fn dispatch_lookup(&self, id: &str) -> Result<u32, String> {
        let cfg = &self.shared.authz.config().conversations;
        let (Some(cluster), Some(token)) = (&cfg.cluster, &self.shared.intercom_token) else {
            return Err("no `conversations.cluster` or workspace token".into());
        };
        let path = format!("/conversations/{id}");
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            (":method", "GET"),
            (":path", path.as_str()),
            (":authority", cfg.authority.as_str()),
            ("authorization", bearer.as_str()),
            ("accept", "application/json"),
            ("accept-encoding", "identity"),
        ];
        // The same API version as the request: the assignment fields are read from its shape.
        let version = self
            .version
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok());
        if let Some(v) = version {
            headers.push(("intercom-version", v));
        }
        abi::http_call(
            self.id,
            cluster,
            &headers,
            Duration::from_millis(cfg.timeout_ms),
        )
        .map_err(|e| format!("{e:?}"))
    }

    fn lookup_failed(&self, id: &str, why: &str) {
        bump(self.shared.metrics.lookup_failed);
        log(
            LogLevel::Warn,
            &format!("intercom-authz: lookup of conversation {id} failed: {why}"),
        );
    }

    /// Intercom answered the lookup (or it timed out: no `:status`).
    pub(super) fn looked_up(&mut self, token: u32, body_size: usize) {
        if self.lookup_token != Some(token) {
            return;
        }
        self.lookup_token = None;
        let id = self.conversation.clone().unwrap_or_default();
        let status = host::header(MapType::HttpCallResponseHeaders, ":status")
            .and_then(|s| std::str::from_utf8(&s).ok()?.parse::<u16>().ok());
        let max = self.shared.authz.config().conversations.max_response_bytes;
        let body = if body_size > max {
            Vec::new()
        } else {
            host::buffer(BufferType::HttpCallResponseBody, 0, body_size).unwrap_or_default()
        };
        let answer = LookupAnswer {
            status: status.filter(|_| body_size <= max),
            body: &body,
        };
        let read = answer.read();
        match &read {
            Ok(Some(a)) => self
                .shared
                .assignments
                .learn(&id, a, self.epoch, now_millis()),
            Ok(None) => {}
            Err(why) => self.lookup_failed(&id, &format!("{why} (status {status:?})")),
        }
        let held = core::mem::take(&mut self.held);
        if self.decide_after(&held, as_lookup(&read)) == Action::Continue {
            if let Err(e) = host::resume_request() {
                log(
                    LogLevel::Error,
                    &format!("intercom-authz: cannot resume the request: {e:?}"),
                );
            }
        }
    }

    /// The decision with the assignment (an allowed write forgets it in `act`: it may
    /// change it).
    fn decide_after(&mut self, held: &Held, lookup: Lookup<'_>) -> Action {
        let mut out = self.decide(held.body(), lookup);
        if out.effect == Effect::NeedLookup {
            out = out.after(
                Code::ConversationLookupFailed,
                "The conversation's assignment could not be established".into(),
            );
        }
        self.act(&out)
    }

    /// A request going to Intercom: a write on a conversation forgets what is known of it
    /// (every worker: [`Assignments::forget`](super::assignments::Assignments::forget)), now and again when its answer comes back.
    pub(super) fn goes_upstream(&mut self, out: &Outcome) {
        if !self.shared.restricts_conversations {
            return;
        }
        if let Some(id) = written(&self.method, out.canonical_path.as_deref()) {
            self.shared.assignments.forget(id.as_deref());
            self.wrote = Some(id);
        }
    }

    /// The answer to a write came back (see [`Request::goes_upstream`]).
    pub(super) fn write_answered(&mut self) {
        if let Some(id) = self.wrote.take() {
            self.shared.assignments.forget(id.as_deref());
        }
    }

    /// An allowed read whose response must be judged.
    pub(super) fn guard(&mut self, out: &Outcome) {
        if out.guard.is_some() {
            self.epoch = self.shared.assignments.epoch();
            self.guarded = Some(Guarded {
                out: Box::new(out.clone()),
                status: 0,
                content_type: None,
                content_encoding: None,
            });
        }
    }

    pub(super) fn response_headers(&mut self, end_of_stream: bool) -> Action {
        self.write_answered();
        let Some(g) = self.guarded.as_mut() else {
            return Action::Continue;
        };
        let head = |name| host::header(MapType::HttpResponseHeaders, name);
        g.status = head(":status")
            .and_then(|s| std::str::from_utf8(&s).ok()?.parse().ok())
            .unwrap_or(0);
        if g.status == 304 {
            return self.judge(&[]); // refused: nothing to judge
        }
        if !(200..300).contains(&g.status) {
            self.guarded = None; // Intercom's errors say nothing of the conversation
            return Action::Continue;
        }
        g.content_type = head("content-type");
        g.content_encoding = head("content-encoding");
        if end_of_stream {
            return self.judge(&[]);
        }
        let max = self.shared.authz.config().conversations.max_response_bytes;
        let declared = head("content-length")
            .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > max) {
            return self.too_large(max);
        }
        Action::Pause
    }

    pub(super) fn response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if self.guarded.is_none() {
            return Action::Continue;
        }
        let max = self.shared.authz.config().conversations.max_response_bytes;
        if size > max {
            return self.too_large(max);
        }
        if !end_of_stream {
            return Action::Pause; // Envoy buffers the response until its end
        }
        self.judge_buffered(size)
    }

    pub(super) fn response_trailers(&mut self) -> Action {
        if self.guarded.is_none() {
            return Action::Continue;
        }
        let max = self.shared.authz.config().conversations.max_response_bytes;
        self.judge_buffered(max.saturating_add(1))
    }

    fn judge_buffered(&mut self, size: usize) -> Action {
        let body = host::buffer(BufferType::HttpResponseBody, 0, size).unwrap_or_default();
        let max = self.shared.authz.config().conversations.max_response_bytes;
        if body.len() > max {
            return self.too_large(max);
        }
        self.judge(&body)
    }

    fn too_large(&mut self, max: usize) -> Action {
        let Some(g) = self.guarded.take() else {
            return Action::Continue;
        };
        let d = g.out.after(
            Code::ResponseNotJudgeable,
            format!("The upstream's answer cannot be judged for conversation access: it is larger than {max} bytes"),
        );
        self.refuse_response(&d)
    }

    fn judge(&mut self, body: &[u8]) -> Action {
        let Some(g) = self.guarded.take() else {
            return Action::Continue;
        };
        let resp = HttpResponse {
            status: g.status,
            content_type: g.content_type.as_deref(),
            content_encoding: g.content_encoding.as_deref(),
            body,
        };
        // What the response shows of assignments is remembered like a lookup's answer: a
        // write after a read (open, then reply) needs no lookup.
        let now = now_millis();
        let (table, since) = (&self.shared.assignments, self.epoch);
        let mut seen = |id: &str, a: &Assignment| table.learn(id, a, since, now);
        let verdict = self
            .shared
            .authz
            .judge_response_seen(&g.out, &resp, &mut seen);
        match verdict {
            ResponseVerdict::Pass => Action::Continue,
            ResponseVerdict::Redacted { body: new, count } => {
                self.redacted(&g.out, body.len(), &new, count)
            }
            ResponseVerdict::Deny(d) => self.refuse_response(&d),
        }
    }

    fn redacted(&mut self, out: &Outcome, old: usize, new: &[u8], count: usize) -> Action {
        let m = &self.shared.metrics;
        let dry = self.shared.authz.config().mode == Mode::DryRun;
        if dry {
            bump(m.shadow_redacted);
        } else {
            bump(m.responses_redacted);
            bump_by(m.conversations_redacted, count);
        }
        self.audit_response(out, dry, count);
        if dry {
            return Action::Continue;
        }
        let len = format!("{}", new.len());
        let replaced = host::set_buffer(BufferType::HttpResponseBody, 0, old, new).and_then(|()| {
            for h in intercom_authz::guard::VALIDATORS {
                host::remove_header(MapType::HttpResponseHeaders, h)?;
            }
            host::set_header(
                MapType::HttpResponseHeaders,
                "content-length",
                len.as_bytes(),
            )
        });
        if let Err(e) = replaced {
            // Never the unredacted body: deny instead.
            let d = out.after(
                Code::ResponseNotJudgeable,
                format!("The redacted answer could not be sent ({e:?})"),
            );
            return self.refuse_response(&d);
        }
        Action::Continue
    }

    fn refuse_response(&mut self, d: &Outcome) -> Action {
        let dry = self.shared.authz.config().mode == Mode::DryRun;
        self.shared.metrics.denial(d.code_id, dry);
        if self.request_id.is_none() {
            self.read_request_id();
        }
        self.audit_response(d, dry, 0);
        if dry {
            return Action::Continue;
        }
        for h in intercom_authz::guard::VALIDATORS {
            let _ = host::remove_header(MapType::HttpResponseHeaders, h);
        }
        send_denial(d, self.request_id.as_deref());
        Action::Pause
    }

    fn audit_response(&mut self, out: &Outcome, dry: bool, redacted: usize) {
        if !self.audited(out) {
            return;
        }
        if self.request_id.is_none() {
            self.read_request_id();
        }
        self.audit(out, dry, redacted);
    }
}
