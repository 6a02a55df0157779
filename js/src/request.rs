//! `authorize`'s request, read at the boundary. The common request (headers a plain object,
//! the body absent, a string or a parsed JSON value) crosses once, as the text of
//! `JSON.stringify` made in JavaScript (boundary.js), with only the headers the decision reads;
//! otherwise it is read field by field here, and only what JSON cannot carry (a `Map` or fetch
//! `Headers`, bytes, a lookup's answer) is read apart. Every wrong type throws an error naming
//! the field and what it accepts.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::conversations::{lookup_answer, Answer};
use super::err;
use core::net::IpAddr;

/// The fields of a request object, in JavaScript's spelling.
const REQUEST_FIELDS: [&str; 12] = [
    "method",
    "path",
    "headers",
    "body",
    "token",
    "claims",
    "sourceIp",
    "now",
    "requestId",
    "lookup",
    "forwardsBody",
    "bodyUnread",
];

/// `now` above this is not seconds since the epoch (it would be the year 5138): milliseconds.
const LATEST_SECONDS: f64 = 1e11;

/// A request as the core takes it.
#[derive(Default)]
pub(crate) struct Input {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// The body was a parsed JSON value (so it goes as JSON without a `content-type`).
    pub body_is_value: bool,
    pub token: Option<String>,
    pub claims: Option<Map<String, Value>>,
    pub source_ip: Option<IpAddr>,
    pub now: Option<u64>,
    pub request_id: Option<String>,
    pub lookup: Option<Answer>,
    pub forwards_body: bool,
    pub body_unread: bool,
}

impl Input {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the request's `body` is.
#[derive(PartialEq, Eq, Clone, Copy)]
enum BodyKind {
    /// Absent, `null`, a string, or a parsed JSON value: it crosses in the JSON text.
    InText,
    /// A `Uint8Array` (a Node `Buffer`) or an `ArrayBuffer`.
    Bytes,
}

#[wasm_bindgen(module = "/src/boundary.js")]
extern "C" {
    /// The request's `JSON.stringify`, with only the headers named in `read` (a `Set` of
    /// lower-case names), when nothing in it must be read apart (boundary.js: one crossing for
    /// the common request), else `undefined`.
    #[wasm_bindgen(js_name = plainRequestText)]
    fn plain_request_text(request: &JsValue, read: &JsValue) -> Option<String>;
}

/// Reads `authorize`'s argument; `read`: the headers the decision reads (a `Set` of lower-case
/// names; the others may be left out).
pub(crate) fn read_request(request: &JsValue, read: &JsValue) -> Result<Input, JsError> {
    if let Some(text) = plain_request_text(request, read) {
        return from_fields(parse_text(&text)?);
    }
    if !is_plain_object(request) {
        return Err(err(format!(
            "invalid request: expected an object with `method` and `path`, got {}",
            describe(request)
        )));
    }
    let headers = get(request, "headers");
    let body = get(request, "body");
    let lookup = get(request, "lookup");
    let headers_apart = !absent(&headers) && !is_plain_object(&headers);
    let body_kind = body_kind(&body)?;
    let lookup_apart = !absent(&lookup);
    let apart: Vec<&str> = [
        ("headers", headers_apart),
        ("body", body_kind == BodyKind::Bytes),
        ("lookup", lookup_apart),
    ]
    .iter()
    .filter(|(_, a)| *a)
    .map(|(k, _)| *k)
    .collect();
    let mut input = from_fields(parse_text(&stringify(request, &apart)?)?)?;
    if headers_apart {
        input.headers = read_headers(&headers, "request")?;
    }
    if body_kind == BodyKind::Bytes {
        input.body = Some(bytes_of(&body));
    }
    if lookup_apart {
        input.lookup = lookup_answer(request)?;
    }
    Ok(input)
}

pub(crate) fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// An object literal's kind: its prototype is `Object.prototype` or `null` (Node's
/// `req.headers`), not a class instance (`Map`, `Headers`, a stream, a `Promise`).
fn is_plain_object(v: &JsValue) -> bool {
    if !v.is_object() || js_sys::Array::is_array(v) {
        return false;
    }
    let proto = js_sys::Object::get_prototype_of(v);
    proto.is_null() || OBJECT_PROTOTYPE.with(|p| JsValue::from(proto) == *p)
}

thread_local! {
    static OBJECT_PROTOTYPE: JsValue = js_sys::Object::get_prototype_of(&js_sys::Object::new()).into();
}

/// The request's `body` kind; a value JSON cannot carry faithfully is an error.
fn body_kind(b: &JsValue) -> Result<BodyKind, JsError> {
    if b.is_instance_of::<js_sys::Uint8Array>() || b.is_instance_of::<js_sys::ArrayBuffer>() {
        return Ok(BodyKind::Bytes);
    }
    let json = absent(b)
        || b.is_string()
        || b.as_f64().is_some()
        || b.as_bool().is_some()
        || js_sys::Array::is_array(b)
        || is_plain_object(b);
    if json {
        return Ok(BodyKind::InText);
    }
    let hint = if is_thenable(b) {
        " (a Promise: await it first)"
    } else if is_stream(b) {
        " (a stream: read it first, e.g. `await new Response(stream).arrayBuffer()`)"
    } else {
        ""
    };
    Err(err(format!(
        "invalid request: `body` must be a string, bytes (Uint8Array, Buffer, ArrayBuffer) or a parsed JSON value (a plain object or array), got {}{hint}",
        describe(b)
    )))
}

/// The bytes of a `Uint8Array` or an `ArrayBuffer` ([`BodyKind::Bytes`]).
fn bytes_of(b: &JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(b).to_vec()
}

fn is_thenable(v: &JsValue) -> bool {
    v.is_object() && get(v, "then").is_function()
}

/// A WHATWG `ReadableStream` (`getReader`) or a Node stream (`pipe`).
fn is_stream(v: &JsValue) -> bool {
    v.is_object() && (get(v, "getReader").is_function() || get(v, "pipe").is_function())
}

/// A value's kind for an error message: "a string", "a Map", "a number".
fn describe(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if js_sys::Array::is_array(v) {
        return "an array".into();
    }
    if v.is_object() && !is_plain_object(v) {
        let name = js_sys::Object::get_prototype_of(v);
        let name = get(&get(&name, "constructor"), "name").as_string();
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            return format!("a {name}");
        }
    }
    let ty = v.js_typeof().as_string().unwrap_or_default();
    match ty.as_str() {
        "object" => "an object".into(),
        "undefined" => "undefined".into(),
        _ => format!("a {ty}"),
    }
}

/// `JSON.stringify` of the request, without the fields read apart (on a shallow copy).
fn stringify(request: &JsValue, apart: &[&str]) -> Result<String, JsError> {
    let copy;
    let what = if apart.is_empty() {
        request
    } else {
        let c = js_sys::Object::assign(&js_sys::Object::new(), request.unchecked_ref());
        for k in apart {
            let _ = js_sys::Reflect::delete_property(&c, &JsValue::from_str(k));
        }
        copy = JsValue::from(c);
        &copy
    };
    let text = js_sys::JSON::stringify(what).map_err(|e| {
        let msg = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        err(format!("invalid request: {msg}"))
    })?;
    Ok(String::from(text))
}

/// The JSON text as an object. `JSON.stringify` escapes a lone surrogate (`"\ud800"`), which
/// UTF-8 cannot hold: it reads as U+FFFD, as a string crossing into wasm does.
fn parse_text(text: &str) -> Result<Map<String, Value>, JsError> {
    let fixed;
    let text = if text.contains("\\ud") {
        fixed = replace_lone_surrogates(text);
        &fixed
    } else {
        text
    };
    serde_json::from_str(text).map_err(|e| err(format!("invalid request: {e}")))
}

/// `\udXXX` escapes that are not a high-low pair become `\ufffd`.
fn replace_lone_surrogates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut i, mut last) = (0, 0);
    while let Some(off) = text.get(i..).and_then(|t| t.find('\\')) {
        i += off;
        match surrogate_at(text, i) {
            Some(0xD800..=0xDBFF) if matches!(surrogate_at(text, i + 6), Some(0xDC00..=0xDFFF)) => {
                i += 12
            }
            Some(_) => {
                out.push_str(text.get(last..i).unwrap_or_default());
                out.push_str("\\ufffd");
                i += 6;
                last = i;
            }
            None => i += 2, // any other escape, `\\` included
        }
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}

/// The surrogate escaped at `i` (`\ud800`), if one is.
fn surrogate_at(text: &str, i: usize) -> Option<u16> {
    let hex = text.get(i..i + 6)?.strip_prefix("\\u")?;
    let v = u16::from_str_radix(hex, 16).ok()?;
    (0xD800..0xE000).contains(&v).then_some(v)
}

/// The request's fields, each checked for its type.
fn from_fields(fields: Map<String, Value>) -> Result<Input, JsError> {
    let mut input = Input::default();
    let (mut method, mut path) = (None, None);
    for (k, v) in fields {
        if v.is_null() {
            continue;
        }
        match k.as_str() {
            "method" => method = Some(string(v, "method", "an HTTP method: \"GET\"")?),
            "path" => path = Some(string(v, "path", "the request target: \"/contacts/12\"")?),
            "headers" => input.headers = headers_of(v)?,
            "body" => (input.body, input.body_is_value) = body_of(v),
            "token" => input.token = Some(string(v, "token", "a bearer token")?),
            "claims" => input.claims = Some(claims_of(v)?),
            "sourceIp" => input.source_ip = Some(source_ip_of(v)?),
            "now" => input.now = Some(now_of(&v)?),
            "requestId" => input.request_id = Some(string(v, "requestId", "a string")?),
            "forwardsBody" => input.forwards_body = flag(&v, "forwardsBody")?,
            "bodyUnread" => input.body_unread = flag(&v, "bodyUnread")?,
            _ => return Err(unknown_field("request", &k, &REQUEST_FIELDS)),
        }
    }
    input.method = method
        .ok_or_else(|| err("invalid request: `method` is required (\"GET\", \"POST\", …)"))?;
    input.path = path
        .ok_or_else(|| err("invalid request: `path` is required (\"/contacts/12?per_page=5\")"))?;
    intercom_authz::authorizer::check_caller_method(&input.method).map_err(err)?;
    Ok(input)
}

/// A misspelled field (`header:`) is an error, not a request without a credential: `what`
/// names the object, `fields` are the ones it has.
fn unknown_field(what: &str, k: &str, fields: &[&str]) -> JsError {
    let near = intercom_authz::perm::nearest(k, fields.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    err(format!("invalid {what}: unknown field `{k}`{near}"))
}

/// A JSON value's kind for an error message.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string(v: Value, field: &str, accepts: &str) -> Result<String, JsError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(err(format!(
            "invalid request: `{field}` must be a string ({accepts}), got {}",
            kind(&other)
        ))),
    }
}

fn flag(v: &Value, field: &str) -> Result<bool, JsError> {
    v.as_bool().ok_or_else(|| {
        err(format!(
            "invalid request: `{field}` must be true or false, got {}",
            kind(v)
        ))
    })
}

fn headers_of(v: Value) -> Result<Vec<(String, String)>, JsError> {
    let Value::Object(m) = v else {
        return Err(err(format!(
            "invalid request: `headers` must be an object, a `Map` or `Headers`, got {}",
            kind(&v)
        )));
    };
    let mut out = Vec::with_capacity(m.len());
    for (name, value) in m {
        if let Some(value) = header_value(value, &name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// A header's value: a string, or an array whose first string counts (Node's repeated
/// headers); `null` is no header.
fn header_value(v: Value, name: &str) -> Result<Option<String>, JsError> {
    match v {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        Value::Array(a) if a.iter().all(Value::is_string) => Ok(a
            .into_iter()
            .next()
            .and_then(|s| s.as_str().map(str::to_string))),
        other => Err(err(format!(
            "invalid request: header `{name}` must be a string or an array of strings, got {}",
            kind(&other)
        ))),
    }
}

/// A string body is its UTF-8 bytes; any other value is JSON (and `true`: it was a value).
fn body_of(v: Value) -> (Option<Vec<u8>>, bool) {
    match v {
        Value::String(s) => (Some(s.into_bytes()), false),
        other => (Some(other.to_string().into_bytes()), true),
    }
}

fn claims_of(v: Value) -> Result<Map<String, Value>, JsError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(err(format!(
            "invalid request: `claims` must be an object of verified claims (`{{ sub, role }}`, e.g. `req.user`), got {}",
            kind(&other)
        ))),
    }
}

fn source_ip_of(v: Value) -> Result<IpAddr, JsError> {
    let s = string(v, "sourceIp", "an IPv4 or IPv6 address")?;
    intercom_authz::net::parse_source(&s).ok_or_else(|| {
        err(format!(
            "invalid request: `sourceIp` must be an IPv4 or IPv6 address (\"203.0.113.7\", \"::1\"), got \"{s}\""
        ))
    })
}

fn now_of(v: &Value) -> Result<u64, JsError> {
    let n = v
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| {
            err(format!(
                "invalid request: `now` must be seconds since the epoch (a number ≥ 0), got {}",
                kind(v)
            ))
        })?;
    if n >= LATEST_SECONDS {
        return Err(err(format!(
            "invalid request: `now` is seconds since the epoch; {n} looks like milliseconds (use `Date.now() / 1000`)"
        )));
    }
    Ok(n as u64)
}

/// A `headers` value JSON cannot carry: a `Map`, fetch's `Headers`, or any iterable of
/// `[name, value]` pairs; values as in an object.
pub(crate) fn read_headers(h: &JsValue, what: &str) -> Result<Vec<(String, String)>, JsError> {
    if absent(h) {
        return Ok(Vec::new());
    }
    let bad = || {
        err(format!(
            "invalid {what}: `headers` must be an object, a `Map` or `Headers`, got {}",
            describe(h)
        ))
    };
    if !h.is_object() {
        return Err(bad());
    }
    let pairs: Vec<JsValue> = match js_sys::try_iter(h).map_err(|_| bad())? {
        Some(it) => it.collect::<Result<_, _>>().map_err(|_| bad())?,
        None => js_sys::Object::entries(&js_sys::Object::from(h.clone())).to_vec(),
    };
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let pair = js_sys::Array::from(&pair);
        let name = pair.get(0).as_string().ok_or_else(bad)?;
        let value: Value = serde_wasm_bindgen::from_value(pair.get(1)).map_err(|_| {
            err(format!(
                "invalid {what}: header `{name}` must be a string or an array of strings"
            ))
        })?;
        if let Some(value) = header_value(value, &name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// A `body` field (a response's, a lookup's): absent or `null` → none; a string → its UTF-8
/// bytes; a `Uint8Array` or an `ArrayBuffer` → those bytes; a parsed JSON value → its text
/// (and `true`: it was a value).
pub(crate) fn body_bytes(of: &JsValue, field: &str) -> Result<(Option<Vec<u8>>, bool), JsError> {
    let b = get(of, field);
    if absent(&b) {
        return Ok((None, false));
    }
    if let Some(s) = b.as_string() {
        return Ok((Some(s.into_bytes()), false));
    }
    if body_kind(&b)? == BodyKind::Bytes {
        return Ok((Some(bytes_of(&b)), false));
    }
    let v: Value =
        serde_wasm_bindgen::from_value(b).map_err(|e| err(format!("invalid {field}: {e}")))?;
    Ok((Some(v.to_string().into_bytes()), true))
}

/// An object with only these fields; `what` names it in the error.
pub(crate) fn check_object(what: &str, v: &JsValue, fields: &[&str]) -> Result<(), JsError> {
    if !v.is_object() {
        return Err(err(format!(
            "invalid {what}: expected an object, got {}",
            describe(v)
        )));
    }
    for k in js_sys::Object::keys(&js_sys::Object::from(v.clone())).iter() {
        let k = k.as_string().unwrap_or_default();
        if !fields.contains(&k.as_str()) {
            return Err(unknown_field(what, &k, fields));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates as fix;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(fix(r#"{"a":"\ud800"}"#), r#"{"a":"\ufffd"}"#);
        assert_eq!(
            fix(r#"{"a":"x\udc00y\ud800"}"#),
            r#"{"a":"x\ufffdy\ufffd"}"#
        );
        // A pair stays; an escaped backslash before `ud800` is not an escape.
        assert_eq!(fix(r#"{"a":"\ud83d\ude00"}"#), r#"{"a":"\ud83d\ude00"}"#);
        assert_eq!(fix(r#"{"a":"\\ud800"}"#), r#"{"a":"\\ud800"}"#);
        assert_eq!(
            fix(r#"{"a":"\ud83d\ud83d\ude00"}"#),
            r#"{"a":"\ufffd\ud83d\ude00"}"#
        );
    }
}
