//! The gateway (crate `intercom-authz-gateway`, `wasm32-wasip2`): a `wasi:http/proxy` component
//! that stands in front of Intercom on its own. `make gateway` writes
//! `dist/intercom_authz.gateway.wasm`; `jco serve`, `wasmtime serve`, Spin and wasmCloud run it.
//!
//! Each request, in named steps ([`handle`]): read its head; decide as every front-end does
//! (the same configuration, codes and deny bytes); read the body only when the decision needs
//! it (up to `max_body_bytes`, within `body_timeout_ms`); look the conversation up with the
//! workspace token when a restricted role acts on one; deny, or send the request to Intercom
//! with the workspace token in place of the caller's, the canonical path and our identity
//! headers; judge a guarded read's answer (pass, redact, deny) and stream every other answer
//! back. The settings come from the environment ([`settings`]).

use std::cell::OnceCell;
use std::format;
use std::string::String;
use std::vec::Vec;

use intercom_authz::authorizer::HttpRequest;
use intercom_authz::authorizer::{AuditMode, Mode, Outcome};
use intercom_authz::conversation::Lookup;
use intercom_authz::eval::{Body, Code, Effect};
use intercom_authz::guard::{self, HttpResponse, LookupAnswer, ResponseVerdict};

use wasip2::http::types::{IncomingRequest, ResponseOutparam};

pub mod forward;
pub mod settings;
mod wire;

use forward::BodyLength;
use settings::Settings;
use wire::{BodyIn, Outgoing, Pairs, SendBody, Short};

struct Gateway;

impl wasip2::exports::http::incoming_handler::Guest for Gateway {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        handle(request, out);
    }
}

#[allow(unsafe_code, reason = "the export glue wasip2's macro writes")]
mod export {
    use super::Gateway;
    wasip2::http::proxy::export!(Gateway);
}

thread_local! {
    static SETTINGS: OnceCell<Result<Settings, String>> = const { OnceCell::new() };
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One request, start to end.
fn handle(request: IncomingRequest, out: ResponseOutparam) {
    SETTINGS.with(|cell| {
        let settings = cell.get_or_init(|| Settings::read(&|k| std::env::var(k).ok()));
        match settings {
            Ok(s) => serve(s, request, out),
            Err(why) => not_configured(out, why),
        }
    });
}

/// The request as read from the wire.
struct Head {
    method: String,
    path: String,
    headers: Pairs,
    /// The client's address, if the platform says ([`client_ip`]).
    source: Option<core::net::IpAddr>,
    request_id: Option<String>,
}

/// How an allowed request ended.
enum Ended {
    /// Intercom's answer went to the client (or Intercom did not answer).
    Answered,
    /// A judged answer went with these many conversations redacted.
    Redacted(usize),
    /// A judged answer was refused with this decision.
    Refused(Box<Outcome>),
}

fn serve(s: &Settings, request: IncomingRequest, out: ResponseOutparam) {
    let headers = wire::pairs(&request.headers());
    let head = Head {
        method: wire::method_name(&request.method()),
        path: request.path_with_query().unwrap_or_else(|| "/".into()),
        source: client_ip(s, &headers),
        request_id: wire::first(&headers, &s.authz.config().request_id_header)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(String::from),
        headers,
    };
    let idle = s.authz.config().body_timeout_ms;
    let body = request
        .consume()
        .ok()
        .and_then(|b| BodyIn::open(b, idle).ok());
    let (decided, held) = decide(s, &head, body.as_ref());
    let dry = s.authz.config().mode == Mode::DryRun;
    if !decided.allow && (!dry || decided.status == Code::BodyTimeout.status()) {
        audit(s, &head, &decided, 0);
        return deny(out, &decided, head.request_id.as_deref());
    }
    let body = match held {
        Held::Read(bytes) => Sent::Held(bytes),
        Held::NotRead if forward::has_body(&head.headers) => match body {
            Some(b) => Sent::Stream(b),
            None => Sent::Nothing,
        },
        Held::NotRead => Sent::Nothing,
    };
    match forward(s, &head, &decided, body, out) {
        Ended::Answered => audit(s, &head, &decided, 0),
        Ended::Redacted(n) => audit(s, &head, &decided, n),
        Ended::Refused(refused) => audit(s, &head, &refused, 0),
    }
}

/// The decision's audit record (`audit: all`, `deny` or `none`), one JSON line on standard
/// error, the format `intercom-authz usage` and `report` read.
fn audit(s: &Settings, head: &Head, out: &Outcome, redacted: usize) {
    let cfg = s.authz.config();
    let audited = match cfg.audit {
        AuditMode::All => true,
        AuditMode::Deny => !out.allow,
        AuditMode::None => false,
    };
    if !audited {
        return;
    }
    let source = head.source.map(|a| a.to_string());
    let record = intercom_authz::audit::record(
        out,
        &intercom_authz::audit::Seen {
            time: now(),
            source: source.as_deref(),
            method: head.method.as_bytes(),
            path: head.path.as_bytes(),
            request_id: head.request_id.as_deref(),
            dry_run: cfg.mode == Mode::DryRun,
            redacted,
        },
    );
    eprintln!("{record}");
}

/// The body, as far as the decision went.
enum Held {
    /// Not read: it streams upstream (if the request has one).
    NotRead,
    /// Read whole for the decision.
    Read(Vec<u8>),
}

/// What goes upstream as the body.
enum Sent {
    Nothing,
    Held(Vec<u8>),
    Stream(BodyIn),
}

/// The decision: headers first, then the body and the conversation's assignment if asked.
fn decide(s: &Settings, head: &Head, body: Option<&BodyIn>) -> (Outcome, Held) {
    let cfg = s.authz.config();
    let h = |name: &str| wire::first(&head.headers, name);
    let cred = s.credential.as_str();
    if let Some(name) = twice(&head.headers, &[cred, "content-type", "intercom-version"]) {
        let why = format!("The request has more than one `{name}` header: which one Intercom reads is not ours to guess");
        return (Outcome::denied(Code::AmbiguousRequest, why), Held::NotRead);
    }
    let mut req = HttpRequest {
        method: head.method.as_bytes(),
        path: head.path.as_bytes(),
        credential: h(cred),
        has_token_header: h(&cfg.token.header).is_some(),
        content_type: h("content-type"),
        version: h("intercom-version"),
        body: if forward::has_body(&head.headers) {
            Body::NotRead
        } else {
            Body::Absent
        },
        source_ip: head.source,
        lookup: Lookup::NotDone,
    };
    let now = now();
    let mut out = s.authz.authorize(&req, now);
    let mut held = Held::NotRead;
    if out.effect == Effect::NeedBody {
        let max = cfg.max_body_bytes;
        let read = match body {
            Some(b) => b.read_all(max, cfg.body_timeout_ms),
            None => Err(Short::Failed("no body stream".into())),
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(Short::TooLarge) => return (Outcome::body_too_large(max), held),
            Err(Short::Timeout) => {
                let why = format!("the body did not arrive within {} ms", cfg.body_timeout_ms);
                return (out.after(Code::BodyTimeout, why), held);
            }
            Err(Short::Failed(e)) => {
                let why = format!("the body could not be read ({e})");
                return (out.after(Code::InvalidBody, why), held);
            }
        };
        held = Held::Read(bytes);
        if let Held::Read(b) = &held {
            req.body = if b.is_empty() {
                Body::Absent
            } else {
                Body::Bytes(b)
            };
            out = s.authz.authorize(&req, now);
        }
    }
    if out.effect == Effect::NeedLookup {
        let answer = look_up(
            s,
            out.conversation_id.as_deref().unwrap_or_default(),
            req.version,
        );
        let read = LookupAnswer {
            status: answer.0,
            body: &answer.1,
        }
        .read();
        req.lookup = guard::as_lookup(&read);
        out = s.authz.authorize(&req, now);
    }
    (out, held)
}

/// The first of `names` the request carries more than once: a header the decision reads must
/// say one thing.
fn twice<'a>(headers: &Pairs, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .find(|n| headers.iter().filter(|(k, _)| k == *n).count() > 1)
        .copied()
}

/// The client's address, from the header the platform sets ([`settings::CLIENT_IP_VAR`]): its
/// last entry. `wasi:http` gives no peer address: without the setting there is none, and a
/// policy with an IP allowlist denies (fail closed).
fn client_ip(s: &Settings, headers: &Pairs) -> Option<core::net::IpAddr> {
    let name = s.client_ip_header.as_deref()?;
    let (_, value) = headers.iter().rev().find(|(k, _)| k == name)?;
    let value = std::str::from_utf8(value).ok()?;
    intercom_authz::net::parse_source(value.rsplit(',').next()?.trim())
}

/// `GET /conversations/{id}` with the workspace token, in the request's API version: its
/// status (none: no answer) and body.
fn look_up(s: &Settings, id: &str, version: Option<&[u8]>) -> (Option<u16>, Vec<u8>) {
    let cfg = &s.authz.config().conversations;
    let mut headers: Pairs = vec![
        (
            "authorization".into(),
            format!("Bearer {}", s.intercom_token).into_bytes(),
        ),
        ("accept".into(), b"application/json".to_vec()),
        ("accept-encoding".into(), b"identity".to_vec()),
    ];
    if let Some(v) = version {
        headers.push(("intercom-version".into(), v.to_vec()));
    }
    let path = format!("/conversations/{id}");
    let sent = wire::send(
        Outgoing {
            method: "GET",
            path: &path,
            https: s.upstream.https,
            authority: &s.upstream.authority,
            headers,
            timeout_ms: Some(cfg.timeout_ms),
        },
        SendBody::None,
    );
    let Ok(resp) = sent else {
        return (None, Vec::new());
    };
    let status = resp.status();
    let body = resp
        .consume()
        .ok()
        .and_then(|b| BodyIn::open(b, cfg.timeout_ms).ok())
        .and_then(|b| b.read_all(cfg.max_response_bytes, cfg.timeout_ms).ok());
    match body {
        Some(body) => (Some(status), body),
        None => (None, Vec::new()),
    }
}

/// Sends the allowed request to Intercom and the answer to the client (judged if guarded).
fn forward(
    s: &Settings,
    head: &Head,
    out: &Outcome,
    body: Sent,
    client: ResponseOutparam,
) -> Ended {
    let replaced = out.forward_body.as_deref().map(str::as_bytes);
    let held;
    let (length, send_body) = match (body, replaced) {
        (_, Some(b)) => (BodyLength::Known(b.len()), SendBody::Bytes(b)),
        (Sent::Held(b), None) => {
            held = b;
            (BodyLength::Known(held.len()), SendBody::Bytes(&held))
        }
        (Sent::Stream(b), None) => (BodyLength::Streamed, SendBody::Stream(b)),
        (Sent::Nothing, None) => (BodyLength::None, SendBody::None),
    };
    let path = out.forward_path.as_deref().unwrap_or(&head.path);
    let sent = wire::send(
        Outgoing {
            method: &head.method,
            path,
            https: s.upstream.https,
            authority: &s.upstream.authority,
            headers: forward::request_headers(s, &head.method, out, &head.headers, length),
            timeout_ms: None,
        },
        send_body,
    );
    let resp = match sent {
        Ok(resp) => resp,
        Err(why) => {
            unreachable_upstream(client, &why);
            return Ended::Answered;
        }
    };
    let status = resp.status();
    let headers = wire::pairs(&resp.headers());
    let answer = resp.consume().ok();
    let Some(answer) = answer.and_then(|b| BodyIn::open(b, wire::STALL_MS).ok()) else {
        unreachable_upstream(client, "the answer has no body stream");
        return Ended::Answered;
    };
    if out.guard.is_none() || !guard::judges_status(status) {
        let h = forward::response_headers(&headers, None);
        wire::respond(client, status, &h, SendBody::Stream(answer));
        return Ended::Answered;
    }
    judge(
        s,
        out,
        status,
        &headers,
        answer,
        head.request_id.as_deref(),
        client,
    )
}

/// A guarded read's answer (a success or a 304, [`guard::judges_status`]): read whole, then
/// passed, redacted or refused; one that cannot be read whole is refused.
fn judge(
    s: &Settings,
    out: &Outcome,
    status: u16,
    headers: &Pairs,
    answer: BodyIn,
    request_id: Option<&str>,
    client: ResponseOutparam,
) -> Ended {
    let max = s.authz.config().conversations.max_response_bytes;
    let why = match answer.read_all(max, wire::STALL_MS) {
        Ok(body) => return judge_whole(s, out, status, headers, &body, request_id, client),
        Err(Short::TooLarge) => format!("it is larger than {max} bytes"),
        Err(Short::Timeout) => format!("it did not arrive whole within {} ms", wire::STALL_MS),
        Err(Short::Failed(e)) => format!("it could not be read ({e})"),
    };
    let refused = out.not_judgeable(&why);
    deny(client, &refused, request_id);
    Ended::Refused(Box::new(refused))
}

/// A guarded read's whole answer, judged.
fn judge_whole(
    s: &Settings,
    out: &Outcome,
    status: u16,
    headers: &Pairs,
    body: &[u8],
    request_id: Option<&str>,
    client: ResponseOutparam,
) -> Ended {
    let resp = HttpResponse {
        status,
        content_type: wire::first(headers, "content-type"),
        content_encoding: wire::first(headers, "content-encoding"),
        body,
    };
    match s.authz.judge_response(out, &resp) {
        ResponseVerdict::Pass => {
            let h = forward::response_headers(headers, Some(body.len()));
            wire::respond(client, status, &h, SendBody::Bytes(body));
            Ended::Answered
        }
        ResponseVerdict::Redacted { body, count } => {
            // The original body's validators do not describe this one.
            let mut h = forward::response_headers(headers, Some(body.len()));
            h.retain(|(k, _)| !guard::VALIDATORS.contains(&k.as_str()));
            wire::respond(client, status, &h, SendBody::Bytes(&body));
            Ended::Redacted(count)
        }
        ResponseVerdict::Deny(denied) => {
            deny(client, &denied, request_id);
            Ended::Refused(denied)
        }
    }
}

/// A denial: the JSON body every front-end sends, byte for byte.
fn deny(client: ResponseOutparam, out: &Outcome, request_id: Option<&str>) {
    let body = out.deny_body(request_id);
    json_answer(client, out.status, out.code, &body, out.www_authenticate());
}

/// The gateway's own answers (not decisions): the deny body's keys, in its order, its own code.
fn own_answer(client: ResponseOutparam, status: u16, title: &str, code: &str, message: &str) {
    let body = intercom_authz::eval::DenyBody {
        error: title,
        message,
        required: None,
        current_role: None,
        code,
        route: None,
        request_id: None,
    }
    .to_json();
    json_answer(client, status, code, &body, None);
}

/// A JSON answer with its code in `x-intercom-authz-code`, never cached.
fn json_answer(client: ResponseOutparam, status: u16, code: &str, body: &str, www: Option<String>) {
    let mut h: Pairs = vec![
        ("content-type".into(), b"application/json".to_vec()),
        ("x-intercom-authz-code".into(), code.as_bytes().to_vec()),
        ("cache-control".into(), b"no-store".to_vec()),
        ("content-length".into(), body.len().to_string().into_bytes()),
    ];
    if let Some(w) = www {
        h.push(("www-authenticate".into(), w.into_bytes()));
    }
    wire::respond(client, status, &h, SendBody::Bytes(body.as_bytes()));
}

/// `503 not_configured`: the settings are missing or wrong (the message names which).
fn not_configured(client: ResponseOutparam, why: &str) {
    eprintln!("intercom-authz gateway: refusing every request: {why}");
    own_answer(
        client,
        503,
        "Service Unavailable",
        "not_configured",
        &format!("The gateway is not configured: {why}"),
    );
}

/// `502 upstream_unreachable`: Intercom did not answer.
fn unreachable_upstream(client: ResponseOutparam, why: &str) {
    own_answer(
        client,
        502,
        "Bad Gateway",
        "upstream_unreachable",
        &format!("Intercom could not be reached: {why}"),
    );
}
