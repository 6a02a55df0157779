//! Conversation access for front-ends (std): the lookup's answer in, the response judged out.
//!
//! The evaluator ([`crate::eval`], step 12) decides what a role's conversation access makes of
//! a request; this module is what every front-end shares around it:
//!
//! - a request on one conversation comes back `need_lookup` with
//!   [`Outcome::conversation_id`]: the front-end fetches `GET /conversations/{id}` (the filter:
//!   `dispatch_http_call` with the workspace token; an Express app: its Intercom client) and
//!   judges again with the answer ([`LookupAnswer`]); a failed lookup is denied, never allowed;
//! - an allowed read comes back with [`Outcome::judge_response`]: the front-end passes the
//!   upstream's answer to [`Authorizer::judge_response`], which forwards it, forwards it
//!   redacted, or answers `403 conversation_not_accessible` / `502 response_not_judgeable`.

use std::format;
use std::string::String;
use std::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{Authorizer, Outcome};
use crate::conversation::{self, Assignment, Judged, Kind, Lookup, Viewer};
use crate::eval::{Code, Decision, Guard, Principal};
use crate::rack;

/// Intercom's answer to the lookup: its status (`None`: no answer, e.g. a timeout) and body.
#[derive(Debug, Clone, Copy)]
pub struct LookupAnswer<'a> {
    /// The status.
    pub status: Option<u16>,
    /// The body.
    pub body: &'a [u8],
}

/// A lookup's answer, read: the assignment, no such conversation, or why it failed.
pub type ReadLookup = Result<Option<Assignment>, &'static str>;

impl LookupAnswer<'_> {
    /// Reads it: `Ok(None)` is a 404.
    pub fn read(&self) -> ReadLookup {
        match self.status {
            None => Err(conversation::NO_ANSWER),
            Some(404) => Ok(None),
            Some(s) => conversation::read_lookup(s, self.body).map(Some),
        }
    }
}

/// What the evaluator is told of a lookup read by [`LookupAnswer::read`].
pub fn as_lookup(read: &ReadLookup) -> Lookup<'_> {
    match read {
        Ok(Some(a)) => Lookup::Known(a),
        Ok(None) => Lookup::NotFound,
        Err(why) => Lookup::Failed(why),
    }
}

/// Request headers a front-end removes from an allowed read whose response is judged: an
/// answer to them (`304 Not Modified`, `206 Partial Content`) has no whole body to judge.
pub const CONDITIONAL: [&str; 4] = ["if-none-match", "if-modified-since", "if-range", "range"];

/// Response headers a front-end removes when it redacts or refuses a judged answer: they
/// validate the original body (a client could confirm it with a conditional request).
pub const VALIDATORS: [&str; 2] = ["etag", "last-modified"];

/// What judging an allowed read's response needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseGuard {
    /// One conversation or a list.
    pub kind: Kind,
    /// Who is asking.
    pub viewer: Viewer,
}

/// `one` or `list` when an allowed decision's response must be judged.
pub fn response_kind(d: &Decision<'_>) -> Option<&'static str> {
    match d.guard {
        Guard::Response(k) if d.is_allowed() => Some(k.as_str()),
        _ => None,
    }
}

/// The guard of an allowed read.
pub fn response_guard(d: &Decision<'_>, who: &Principal) -> Option<ResponseGuard> {
    match d.guard {
        Guard::Response(kind) if d.is_allowed() => Some(ResponseGuard {
            kind,
            viewer: d.viewer(who),
        }),
        _ => None,
    }
}

/// A response guard as a front-end hands it to its caller with the decision and takes it back
/// with the response (the JS package's `responseGuard`, the component's `response-guard`):
/// plain data, so the caller keeps nothing of ours between the two steps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HandedGuard {
    /// `one` or `list`.
    pub kind: String,
    /// The role's conversation access.
    pub access: conversation::Access,
    /// The teammate's admin id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// Their team ids.
    #[serde(default)]
    pub teams: Vec<String>,
    /// How the answer says nobody: `null` (2.7–2.15), `zero` (2.16), `null_or_zero`
    /// (the request named no version).
    #[serde(default)]
    pub nobody: conversation::Nobody,
}

impl From<&ResponseGuard> for HandedGuard {
    fn from(g: &ResponseGuard) -> HandedGuard {
        HandedGuard {
            kind: g.kind.as_str().into(),
            access: g.viewer.access,
            admin: g.viewer.admin.clone(),
            teams: g.viewer.teams.clone(),
            nobody: g.viewer.nobody,
        }
    }
}

impl HandedGuard {
    /// The guard again; a kind other than `one` or `list` is the caller's mistake.
    pub fn guard(&self) -> Result<ResponseGuard, String> {
        let kind = match self.kind.as_str() {
            "one" => Kind::One,
            "list" => Kind::List,
            k => {
                return Err(format!(
                    "invalid response guard: unknown kind `{k}` (`one` or `list`)"
                ))
            }
        };
        let viewer = Viewer {
            access: self.access,
            admin: self.admin.clone(),
            teams: self.teams.clone(),
            nobody: self.nobody,
        };
        Ok(ResponseGuard { kind, viewer })
    }
}

impl Outcome {
    /// An allowed read handed back by a front-end's caller: what judging its response needs
    /// (the guard) and what a refusal names (role, route).
    pub fn handed_back(
        guard: ResponseGuard,
        role: Option<String>,
        route: Option<String>,
    ) -> Outcome {
        let mut o = Outcome::denied(Code::Allowed, String::new());
        o.effect = crate::eval::Effect::Allow;
        o.allow = true;
        o.reasons.clear();
        o.role = role;
        o.route = route;
        o.judge_response = Some(guard.kind.as_str());
        o.guard = Some(guard);
        o
    }
}

/// Whether an answer of this status to a guarded read is judged (a success, or a 304 that
/// would confirm a copy unjudged); any other passes as it is.
pub fn judges_status(status: u16) -> bool {
    (200..300).contains(&status) || status == 304
}

impl Outcome {
    /// `502 response_not_judgeable` for this guarded read, saying why (a front-end that could
    /// not read the answer whole says so here).
    pub fn not_judgeable(&self, why: &str) -> Outcome {
        self.after(
            Code::ResponseNotJudgeable,
            format!("The upstream's answer cannot be judged for conversation access: {why}"),
        )
    }
}

/// An upstream response, as far as judging it goes.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a> {
    /// The status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<&'a [u8]>,
    /// `Content-Encoding`.
    pub content_encoding: Option<&'a [u8]>,
    /// The whole body.
    pub body: &'a [u8],
}

/// What becomes of a judged response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseVerdict {
    /// Forward it as it came.
    Pass,
    /// Forward this body instead (`count` conversations redacted); fix `Content-Length`.
    Redacted {
        /// The new body.
        body: Vec<u8>,
        /// How many conversations were redacted.
        count: usize,
    },
    /// Answer this denial instead.
    Deny(Box<Outcome>),
}

use std::boxed::Box;

impl Authorizer {
    /// Judges the upstream's response to a request `out` allowed. Only a successful (2xx)
    /// answer to a read with [`Outcome::guard`] is judged; it must be uncompressed JSON no
    /// larger than `conversations.max_response_bytes`, or it is `502 response_not_judgeable`.
    pub fn judge_response(&self, out: &Outcome, resp: &HttpResponse<'_>) -> ResponseVerdict {
        self.judge_response_seen(out, resp, &mut |_, _| {})
    }

    /// [`Authorizer::judge_response`], telling `seen` the assignment of each conversation
    /// judged (see [`conversation::judge_response_seen`]).
    pub fn judge_response_seen(
        &self,
        out: &Outcome,
        resp: &HttpResponse<'_>,
        seen: &mut conversation::Seen<'_>,
    ) -> ResponseVerdict {
        let Some(guard) = &out.guard else {
            return ResponseVerdict::Pass;
        };
        if !judges_status(resp.status) {
            return ResponseVerdict::Pass;
        }
        let refuse =
            |code: Code, why: String| ResponseVerdict::Deny(Box::new(out.after(code, why)));
        let not_judgeable = |why: &str| ResponseVerdict::Deny(Box::new(out.not_judgeable(why)));
        if resp.status == 304 {
            // The front-end drops the conditional headers ([`CONDITIONAL`]); a 304 would
            // confirm a copy the client holds without judging it now.
            return not_judgeable("a 304 Not Modified has no body to judge");
        }
        if resp
            .content_encoding
            .is_some_and(|e| !e.trim_ascii().eq_ignore_ascii_case(b"identity"))
        {
            return not_judgeable("it is compressed");
        }
        let json = resp
            .content_type
            .and_then(|c| std::str::from_utf8(c).ok())
            .is_some_and(rack::is_json);
        if !json {
            return not_judgeable("it is not JSON");
        }
        let max = self.config().conversations.max_response_bytes;
        if resp.body.len() > max {
            return not_judgeable(&format!("it is larger than {max} bytes"));
        }
        match conversation::judge_response_seen(guard.kind, &guard.viewer, resp.body, seen) {
            Ok(Judged::Unchanged) => ResponseVerdict::Pass,
            Ok(Judged::Redacted { body, count }) => ResponseVerdict::Redacted { body, count },
            Ok(Judged::NotAccessible) => refuse(
                Code::ConversationNotAccessible,
                String::from(
                    "This conversation is not assigned to you or your teams (the role's conversation access)",
                ),
            ),
            Err(why) => not_judgeable(why),
        }
    }
}

impl Outcome {
    /// For a front-end whose caller sends the request on itself (the JS package, the
    /// component): an allow with [`Outcome::forward_body`] (a restricted role's search, whose
    /// query must go with the teammate's assignment added) stands only if the caller said it
    /// sends that body (`forwardsBody` / `forwards-body`); a caller that would send the
    /// original gets the refusal the search had before it could be rewritten.
    pub fn unless_body_forwarded(self, forwards: bool) -> Outcome {
        if forwards || self.forward_body.is_none() || !self.allow {
            return self;
        }
        self.after(
            Code::ConversationRouteRestricted,
            String::from("This search goes on only with the teammate's assignment added to its query: the caller must send the decision's forward body (declare `forwardsBody: true` / `forwards-body`)"),
        )
    }

    /// A denial of what `self` allowed, decided later (response, lookup): same route and role.
    pub fn after(&self, code: Code, message: String) -> Outcome {
        let mut o = Outcome::denied(code, message);
        o.role.clone_from(&self.role);
        o.route.clone_from(&self.route);
        o.canonical_path.clone_from(&self.canonical_path);
        o.resource_id.clone_from(&self.resource_id);
        o.permissions.clone_from(&self.permissions);
        o.granted_by_token.clone_from(&self.granted_by_token);
        o.subject.clone_from(&self.subject);
        o.email.clone_from(&self.email);
        o.sensitive = self.sensitive;
        o
    }
}
