//! `wasi:http` and `wasi:io` at arm's length: fields as pairs, bodies read with a limit and a
//! deadline, streamed without one, requests sent and answers awaited. Nothing here decides.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
};
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// Header pairs, names lower case.
pub type Pairs = Vec<(String, Vec<u8>)>;

/// How long a stream may make no progress (a client or Intercom that stops reading or sending)
/// before the exchange is abandoned: one instance may serve every request (`jco serve`), and a
/// write to a client that left may never complete.
pub const STALL_MS: u64 = 30_000;

/// Waits for `p` at most `ms`: whether it became ready.
fn ready_within(p: &Pollable, ms: u64) -> bool {
    let timer = monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000));
    wasip2::io::poll::poll(&[p, &timer]).contains(&0)
}

/// A method as it is spelled on the wire.
pub fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

fn method_of(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

/// The fields as pairs (names lower case).
pub fn pairs(f: &Fields) -> Pairs {
    f.entries()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// The first value of `name`.
pub fn first<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_slice())
}

/// Fields from pairs; a pair the host refuses (a forbidden or malformed header) is left out.
pub fn fields(pairs: &[(String, Vec<u8>)]) -> Fields {
    let f = Fields::new();
    for (k, v) in pairs {
        let _ = f.append(k, v);
    }
    f
}

/// How reading a body ended short.
#[derive(Debug, PartialEq, Eq)]
pub enum Short {
    /// Longer than the limit.
    TooLarge,
    /// Not all there by the deadline.
    Timeout,
    /// The stream failed.
    Failed(String),
}

/// Reads a whole body, up to `max` bytes, by `deadline_ms` from now.
pub fn read_all(stream: &InputStream, max: usize, deadline_ms: u64) -> Result<Vec<u8>, Short> {
    let timer = monotonic_clock::subscribe_duration(deadline_ms.saturating_mul(1_000_000));
    let mut out = Vec::new();
    loop {
        match stream.read(65_536) {
            Ok(chunk) if chunk.is_empty() => {
                let ready = wasip2::io::poll::poll(&[&stream.subscribe(), &timer]);
                if !ready.contains(&0) {
                    return Err(Short::Timeout);
                }
            }
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > max {
                    return Err(Short::TooLarge);
                }
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Short::Failed(e.to_debug_string()))
            }
        }
    }
}

/// The body of an incoming request or response, consumed.
pub struct BodyIn {
    // INVARIANT: `stream` before `body`: fields drop in order, and the stream is the body's
    // child resource (wasmtime traps on a parent dropped before its child; jco does not check).
    stream: InputStream,
    body: IncomingBody,
    /// How long it may send nothing while it is copied on.
    idle_ms: u64,
}

impl BodyIn {
    /// Takes the body's stream; copied on, it may send nothing for `idle_ms` at most.
    pub fn open(body: IncomingBody, idle_ms: u64) -> Result<BodyIn, String> {
        let stream = body
            .stream()
            .map_err(|()| "the body's stream was taken already".to_string())?;
        Ok(BodyIn {
            stream,
            body,
            idle_ms,
        })
    }

    /// Reads it whole (see [`read_all`]).
    pub fn read_all(&self, max: usize, deadline_ms: u64) -> Result<Vec<u8>, Short> {
        read_all(&self.stream, max, deadline_ms)
    }

    /// Copies what is left into `out`, as it arrives.
    pub fn copy_to(self, out: &OutputStream) -> Result<(), String> {
        let BodyIn {
            stream,
            body,
            idle_ms,
        } = self;
        let r = loop {
            match stream.read(65_536) {
                Ok(chunk) if chunk.is_empty() => {
                    if !ready_within(&stream.subscribe(), idle_ms) {
                        break Err(format!("nothing arrived for {idle_ms} ms"));
                    }
                }
                Ok(chunk) => {
                    if let Err(e) = write_all(out, &chunk) {
                        break Err(e);
                    }
                }
                Err(StreamError::Closed) => break Ok(()),
                Err(e) => break Err(stream_error(e)),
            }
        };
        drop(stream);
        drop(body);
        r
    }
}

/// A request to send upstream.
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub https: bool,
    pub authority: &'a str,
    pub headers: Pairs,
    pub timeout_ms: Option<u64>,
}

/// What goes in the request's body.
pub enum SendBody<'a> {
    None,
    Bytes(&'a [u8]),
    Stream(BodyIn),
}

/// Sends a request and waits for the answer's head.
pub fn send(req: Outgoing<'_>, body: SendBody<'_>) -> Result<IncomingResponse, String> {
    let r = OutgoingRequest::new(fields(&req.headers));
    let scheme = if req.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let set = [
        r.set_method(&method_of(req.method)),
        r.set_path_with_query(Some(req.path)),
        r.set_scheme(Some(&scheme)),
        r.set_authority(Some(req.authority)),
    ];
    if set.iter().any(Result::is_err) {
        return Err(format!("the host refused `{} {}`", req.method, req.path));
    }
    let out_body = r.body().map_err(|()| "no request body".to_string())?;
    let options = req.timeout_ms.map(|ms| {
        let o = RequestOptions::new();
        let ns = ms.saturating_mul(1_000_000);
        let _ = o.set_connect_timeout(Some(ns));
        let _ = o.set_first_byte_timeout(Some(ns));
        o
    });
    let pending = outgoing_handler::handle(r, options).map_err(|e| describe(&e))?;
    write_body(out_body, body)?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(resp))) => Ok(resp),
        Some(Ok(Err(e))) => Err(describe(&e)),
        Some(Err(())) | None => Err("no answer".into()),
    }
}

fn write_body(out_body: OutgoingBody, body: SendBody<'_>) -> Result<(), String> {
    {
        let w = out_body
            .write()
            .map_err(|()| "no body stream".to_string())?;
        match body {
            SendBody::None => {}
            SendBody::Bytes(b) => write_all(&w, b)?,
            SendBody::Stream(s) => s.copy_to(&w)?,
        }
        flush(&w)?;
    }
    OutgoingBody::finish(out_body, None).map_err(|e| describe(&e))
}

/// Writes all of `buf`, as fast as the stream takes it (abandoned after [`STALL_MS`] of
/// taking nothing).
fn write_all(out: &OutputStream, mut buf: &[u8]) -> Result<(), String> {
    while !buf.is_empty() {
        let room = match out.check_write() {
            Ok(0) => {
                if !ready_within(&out.subscribe(), STALL_MS) {
                    return Err(format!("nothing was taken for {STALL_MS} ms"));
                }
                continue;
            }
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX).min(buf.len()),
            Err(e) => return Err(stream_error(e)),
        };
        let (now, rest) = buf.split_at(room);
        out.write(now).map_err(stream_error)?;
        buf = rest;
    }
    Ok(())
}

/// Flushes what was written. A host may close the stream once it has the `content-length` it
/// was told (wasmtime): everything was written, so that is the end, not a failure.
fn flush(out: &OutputStream) -> Result<(), String> {
    match out.flush() {
        Ok(()) => {}
        Err(StreamError::Closed) => return Ok(()),
        Err(e) => return Err(stream_error(e)),
    }
    if !ready_within(&out.subscribe(), STALL_MS) {
        return Err(format!("nothing was taken for {STALL_MS} ms"));
    }
    match out.check_write() {
        Ok(_) | Err(StreamError::Closed) => Ok(()),
        Err(e) => Err(stream_error(e)),
    }
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "the stream was closed".into(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

/// An error code in words.
pub fn describe(e: &ErrorCode) -> String {
    format!("{e:?}")
}

/// Answers the client: status, headers, then the body.
pub fn respond(
    out: ResponseOutparam,
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: SendBody<'_>,
) {
    let resp = OutgoingResponse::new(fields(headers));
    let _ = resp.set_status_code(status);
    let Ok(out_body) = resp.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(resp));
    // The head is sent: a failure now can only cut the body short.
    let _ = write_body(out_body, body);
}
