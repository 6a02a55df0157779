//! The decision corpus: `tests/cases/*.json`, front-end neutral.
//!
//! A case file names a configuration (`tests/configs/<config>.json`) and lists cases; each case
//! is a request (method, path, headers, body, source IP, and who is asking: a role shorthand,
//! claims, a token to mint, or a literal credential) and the expected decision (decision,
//! status, code, required, route, canonical path, role).
//!
//! Times are relative: `{"$now": 3600}` is "now + 1 h" when the corpus is materialized;
//! `{"$now_str": 3600}` the same as a string (CVE-2026-25537), `{"$now_f": 3600.5}` as a float.
//! [`materialize`] mints every token (signed with `tests/keys/`) and writes concrete requests,
//! which every front-end replays: the core here, the filter in Envoy, the JS package, the
//! component.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use intercom_authz::authorizer::{
    Authorizer, HttpRequest, HttpResponse, LookupAnswer, Outcome, ResponseVerdict,
};
use intercom_authz::conversation::Lookup;
use intercom_authz::guard::as_lookup;
use intercom_authz::{Body, Effect};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub description: String,
    pub config: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub description: String,
    pub request: RequestSpec,
    /// What Intercom answers: the conversation lookup and the forwarded request.
    #[serde(default)]
    pub upstream: Option<Upstream>,
    pub expect: Expect,
}

/// Intercom's side of a conversation-access case (issue 14).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// The answer to the lookup `GET /conversations/{id}` (the id is the request's; every
    /// case's id is its own, so a front-end's lookup cache never answers for another case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Reply>,
    /// The answer to the request itself, when it goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Reply>,
}

/// An upstream answer.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    #[serde(default = "ok")]
    pub status: u16,
    /// A JSON body (the materialized form keeps it as `raw_body`, compact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
    #[serde(default = "json_type")]
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// No answer in time (the mock answers after 3 s; the configuration's lookup timeout is 1 s).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timeout: bool,
}

fn ok() -> u16 {
    200
}
fn json_type() -> String {
    "application/json".into()
}

impl Reply {
    fn concrete(mut self) -> Reply {
        if let Some(b) = self.body.take() {
            self.raw_body = Some(serde_json::to_string(&b).unwrap());
        }
        self
    }

    pub fn bytes(&self) -> &[u8] {
        self.raw_body.as_deref().unwrap_or_default().as_bytes()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (serialized compactly).
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent verbatim.
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default = "localhost")]
    pub source_ip: String,
    /// Shorthand: a default HS256 token with this role.
    #[serde(default)]
    pub role: Option<Value>,
    /// Claims merged over the defaults.
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
    /// A token to mint, or a literal token string.
    #[serde(default)]
    pub token: Option<Value>,
    /// A literal credential header value (replaces everything above).
    #[serde(default)]
    pub credential: Option<String>,
    /// Send no credential at all.
    #[serde(default)]
    pub no_credential: bool,
    /// Trusted-payload configs: send the claims header without the token header the JWT
    /// filter would have verified (by default both go, as after Envoy's `jwt_authn`).
    #[serde(default)]
    pub no_token_header: bool,
    /// Send a body without a `Content-Type` (by default a body goes as `application/json`).
    #[serde(default)]
    pub no_content_type: bool,
    /// Appended to the credential header's value (after minting): a valid token with a stray
    /// byte after it.
    #[serde(default)]
    pub credential_suffix: Option<String>,
    /// The path, header values and `raw_body` are bytes written as Latin-1: each character
    /// U+0000..=U+00FF stands for one byte (`"\u00ff"` is the byte 0xFF). Front-ends that see
    /// bytes (the core's HTTP view, Envoy) get those bytes; those that see strings (Node, a
    /// component) get the Latin-1 reading, which is what Node's HTTP parser hands them.
    #[serde(default)]
    pub latin1: bool,
}

fn localhost() -> String {
    "127.0.0.1".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub decision: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// What the client gets when the request was allowed and its response judged: the status
    /// and the JSON body (after redaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ExpectResponse>,
    /// How many conversations the response judging redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<usize>,
    /// Whether a conversation lookup decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looked_up: Option<bool>,
    /// The JSON body sent on instead of the caller's (a restricted role's search). Absent:
    /// the caller's body goes on unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_body: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectResponse {
    pub status: u16,
    pub body: Value,
}

/// A case with everything concrete: what a front-end sends, what it must get.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Concrete {
    pub file: String,
    pub description: String,
    pub config: String,
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub source_ip: String,
    /// See [`RequestSpec::latin1`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub latin1: bool,
    /// Intercom's side (bodies as `raw_body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    pub expect: Expect,
    /// The core's deny body for this case, byte for byte, with `requestId` `case-<index>`:
    /// every front-end must send exactly these bytes (filled by `tests/decisions.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_body: Option<String>,
}

/// The bytes a Latin-1 string stands for (see [`RequestSpec::latin1`]).
pub fn latin1_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 case has a character above U+00FF"))
        .collect()
}

impl Concrete {
    /// A string of the case as the bytes a front-end receives.
    pub fn bytes(&self, s: &str) -> Vec<u8> {
        if self.latin1 {
            latin1_bytes(s)
        } else {
            s.as_bytes().to_vec()
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Materialized {
    pub now: u64,
    pub configs: BTreeMap<String, Value>,
    pub cases: Vec<Concrete>,
}

/// The project's root (this module is also built into `fuzz/`, one level down).
pub fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if dir.join("tests/cases").is_dir() {
        dir
    } else {
        dir.join("..")
    }
}

struct SigningKey {
    alg: Algorithm,
    kid: Option<&'static str>,
    key: EncodingKey,
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/keys").join(p))
        .unwrap_or_else(|e| panic!("tests/keys/{p}: {e}"))
}

fn signing_key(name: &str) -> SigningKey {
    let secret = read("hs.secret");
    let (alg, kid, key) = match name {
        "hs1" => (
            Algorithm::HS256,
            Some("hs1"),
            EncodingKey::from_secret(&secret),
        ),
        "rs1" => (
            Algorithm::RS256,
            Some("rs1"),
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        "ps1" => (
            Algorithm::PS256,
            Some("ps1"),
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        "es1" => (
            Algorithm::ES256,
            Some("es1"),
            EncodingKey::from_ec_pem(&read("ec.pem")).unwrap(),
        ),
        "es384" => (
            Algorithm::ES384,
            Some("es384"),
            EncodingKey::from_ec_pem(&read("ec384.pem")).unwrap(),
        ),
        "ed1" => (
            Algorithm::EdDSA,
            Some("ed1"),
            EncodingKey::from_ed_pem(&read("ed.pem")).unwrap(),
        ),
        "rsa-noalg" => (
            Algorithm::RS256,
            Some("rsa-noalg"),
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        "rsa-noalg-ps" => (
            Algorithm::PS256,
            Some("rsa-noalg"),
            EncodingKey::from_rsa_pem(&read("rsa.pem")).unwrap(),
        ),
        "ec-jwk" => (
            Algorithm::ES256,
            Some("ec-jwk"),
            EncodingKey::from_ec_pem(&read("ec.pem")).unwrap(),
        ),
        "ed-jwk" => (
            Algorithm::EdDSA,
            Some("ed-jwk"),
            EncodingKey::from_ed_pem(&read("ed.pem")).unwrap(),
        ),
        "oct-jwk" => (
            Algorithm::HS512,
            Some("oct-jwk"),
            EncodingKey::from_secret(&read("hs512.secret")),
        ),
        // An attacker's RSA key, presented as `rs1`.
        "rs-other" => (
            Algorithm::RS256,
            Some("rs1"),
            EncodingKey::from_rsa_pem(&read("rsa-other.pem")).unwrap(),
        ),
        // Key confusion: HS256 keyed with the RSA *public* key's PEM text.
        "hs-rsa-pub" => (
            Algorithm::HS256,
            Some("rs1"),
            EncodingKey::from_secret(&read("rsa.pub.pem")),
        ),
        // HMAC with the right secret but sent under an RSA kid.
        "hs-as-rs1" => (
            Algorithm::HS256,
            Some("rs1"),
            EncodingKey::from_secret(&secret),
        ),
        other => panic!("unknown signing key `{other}`"),
    };
    SigningKey { alg, kid, key }
}

fn alg_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        other => panic!("no name for {other:?}"),
    }
}

/// Replaces `{"$now": n}` and friends.
fn times(v: &Value, now: u64) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, x) = m.iter().next().unwrap();
            let off = x.as_f64().unwrap_or(0.0);
            match k.as_str() {
                "$now" => json!((now as i64) + off as i64),
                "$now_str" => json!(((now as i64) + off as i64).to_string()),
                "$now_f" => json!(now as f64 + off),
                _ => Value::Object(m.iter().map(|(k, v)| (k.clone(), times(v, now))).collect()),
            }
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), times(v, now))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| times(v, now)).collect()),
        other => other.clone(),
    }
}

fn default_claims(now: u64) -> Map<String, Value> {
    json!({
        "iss": "https://sso.example.com",
        "aud": "intercom-authz",
        "sub": "42",
        "email": "teammate@example.com",
        "iat": now - 60,
        "exp": now + 3600,
    })
    .as_object()
    .unwrap()
    .clone()
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// Mints a token from a spec (see the module docs) and claims.
fn mint(spec: &Map<String, Value>, claims: &Map<String, Value>, now: u64) -> String {
    let key = signing_key(spec.get("key").and_then(Value::as_str).unwrap_or("hs1"));
    let mut header = Map::new();
    header.insert("alg".into(), json!(alg_name(key.alg)));
    header.insert("typ".into(), json!("JWT"));
    if let Some(k) = key.kid {
        header.insert("kid".into(), json!(k));
    }
    if let Some(h) = spec.get("header").and_then(Value::as_object) {
        for (k, v) in h {
            if v.is_null() {
                header.remove(k);
            } else {
                header.insert(k.clone(), times(v, now));
            }
        }
    }
    let h64 = match spec.get("header_raw").and_then(Value::as_str) {
        Some(raw) => b64(raw.as_bytes()),
        None => b64(serde_json::to_string(&header).unwrap().as_bytes()),
    };
    let p64 = match spec.get("payload_raw").and_then(Value::as_str) {
        Some(raw) => b64(times(&json!(raw), now).as_str().unwrap().as_bytes()),
        None => b64(serde_json::to_string(claims).unwrap().as_bytes()),
    };
    let message = format!("{h64}.{p64}");
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &key.key, key.alg).unwrap();
    match spec.get("signature").and_then(Value::as_str) {
        None => format!("{message}.{sig}"),
        Some("empty") => format!("{message}."),
        Some("tamper") => {
            // Flip a bit in the middle of the signature.
            let mut raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
            let mid = raw.len() / 2;
            raw[mid] ^= 0x01;
            format!("{message}.{}", b64(&raw))
        }
        Some("tamper_payload") => {
            let mut c = claims.clone();
            c.insert("role".into(), json!("owner"));
            format!(
                "{h64}.{}.{sig}",
                b64(serde_json::to_string(&c).unwrap().as_bytes())
            )
        }
        Some(other) => panic!("unknown signature manipulation `{other}`"),
    }
}

fn credential_for(spec: &RequestSpec, trusted: Option<&str>, now: u64) -> Option<(String, String)> {
    let (name, mut value) = credential_value(spec, trusted, now)?;
    if let Some(suffix) = &spec.credential_suffix {
        value.push_str(suffix);
    }
    Some((name, value))
}

fn credential_value(
    spec: &RequestSpec,
    trusted: Option<&str>,
    now: u64,
) -> Option<(String, String)> {
    if spec.no_credential {
        return None;
    }
    let header_name = trusted.unwrap_or("authorization").to_string();
    if let Some(c) = &spec.credential {
        return Some((
            header_name,
            times(&json!(c), now).as_str().unwrap().to_string(),
        ));
    }
    let mut claims = default_claims(now);
    if let Some(role) = &spec.role {
        claims.insert("role".into(), role.clone());
    }
    let token_spec = match &spec.token {
        Some(Value::String(literal)) => return Some((header_name, format!("Bearer {literal}"))),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => panic!("`token` must be a string or an object, not {other}"),
        None => Map::new(),
    };
    if let Some(extra) = &spec.claims {
        for (k, v) in extra {
            if v.is_null() {
                claims.remove(k);
            } else {
                claims.insert(k.clone(), times(v, now));
            }
        }
    }
    if let Some(t) = trusted {
        return Some((
            t.to_string(),
            b64(serde_json::to_string(&claims).unwrap().as_bytes()),
        ));
    }
    Some((
        header_name,
        format!("Bearer {}", mint(&token_spec, &claims, now)),
    ))
}

pub fn load_files() -> Vec<(String, CaseFile)> {
    let dir = root().join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let de = &mut serde_json::Deserializer::from_str(&text);
            let f: CaseFile = serde_path_to_error::deserialize(de)
                .unwrap_or_else(|e| panic!("tests/cases/{name}: {e}"));
            (name, f)
        })
        .collect()
}

pub fn load_config(name: &str) -> Value {
    let p = root().join("tests/configs").join(format!("{name}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

pub fn materialize(now: u64) -> Materialized {
    materialize_files(load_files(), BTreeMap::new(), now)
}

/// Materializes `files`; a configuration not in `configs` is read from `tests/configs/`.
pub fn materialize_files(
    files: Vec<(String, CaseFile)>,
    mut configs: BTreeMap<String, Value>,
    now: u64,
) -> Materialized {
    let mut cases = Vec::new();
    for (file, f) in files {
        let cfg = configs
            .entry(f.config.clone())
            .or_insert_with(|| load_config(&f.config))
            .clone();
        let trusted = cfg
            .pointer("/token/trusted_payload_header")
            .and_then(Value::as_str);
        for c in f.cases {
            let mut headers: BTreeMap<String, String> = c
                .request
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect();
            if let Some((k, v)) = credential_for(&c.request, trusted, now) {
                headers.insert(k, v);
                // After Envoy's jwt_authn, the token it verified is still on the request.
                if trusted.is_some() && !c.request.no_token_header {
                    headers.insert(
                        "authorization".into(),
                        format!("Bearer {}", mint(&Map::new(), &default_claims(now), now)),
                    );
                }
            }
            let body = match (&c.request.body, &c.request.raw_body) {
                (Some(v), None) => Some(serde_json::to_string(v).unwrap()),
                (None, Some(raw)) => Some(raw.clone()),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    panic!("{file}: {}: both `body` and `raw_body`", c.description)
                }
            };
            // A body goes as JSON, as Intercom's clients send it, unless the case says otherwise.
            if body.is_some() && !c.request.no_content_type {
                headers
                    .entry("content-type".into())
                    .or_insert_with(|| "application/json".into());
            }
            cases.push(Concrete {
                file: file.clone(),
                description: c.description,
                config: f.config.clone(),
                method: c.request.method,
                path: c.request.path,
                headers,
                body,
                source_ip: c.request.source_ip,
                latin1: c.request.latin1,
                upstream: c.upstream.map(|u| Upstream {
                    lookup: u.lookup.map(Reply::concrete),
                    response: u.response.map(Reply::concrete),
                }),
                expect: c.expect,
                deny_body: None,
            });
        }
    }
    Materialized {
        now,
        configs,
        cases,
    }
}

/// Runs one case the way a front-end does: without the body first, then with it if asked.
pub fn run_core(authz: &Authorizer, c: &Concrete, now: u64) -> Outcome {
    let header = authz.credential_header();
    let credential = c.headers.get(&header).map(|h| c.bytes(h));
    let source_ip = c.source_ip.parse().ok();
    let (method, path) = (c.bytes(&c.method), c.bytes(&c.path));
    let body = c.body.as_deref().map(|b| c.bytes(b));
    let mut req = HttpRequest {
        method: &method,
        path: &path,
        credential: credential.as_deref(),
        has_token_header: c
            .headers
            .contains_key(&authz.config().token.header.to_ascii_lowercase()),
        content_type: c.headers.get("content-type").map(|h| h.as_bytes()),
        version: c.headers.get("intercom-version").map(|h| h.as_bytes()),
        body: Body::NotRead,
        source_ip,
        lookup: Lookup::NotDone,
    };
    let mut out = authz.authorize(&req, now);
    if out.effect == Effect::NeedBody {
        req.body = match &body {
            Some(b) => Body::Bytes(b),
            None => Body::Absent,
        };
        out = authz.authorize(&req, now);
    }
    if out.effect != Effect::NeedLookup {
        return out;
    }
    let Some(reply) = c.upstream.as_ref().and_then(|u| u.lookup.as_ref()) else {
        panic!(
            "{}: {}: the decision needs a lookup and the case has no `upstream.lookup`",
            c.file, c.description
        );
    };
    let answer = LookupAnswer {
        status: (!reply.timeout).then_some(reply.status),
        body: reply.bytes(),
    };
    let read = answer.read();
    req.lookup = as_lookup(&read);
    authz.authorize(&req, now)
}

/// What the client receives for an allowed case with an upstream response: the outcome (a
/// denial when judging the response refused it) and, when it goes on, the status and body.
pub fn run_core_response(
    authz: &Authorizer,
    c: &Concrete,
    now: u64,
) -> (Outcome, Option<(u16, Vec<u8>)>, usize) {
    let out = run_core(authz, c, now);
    let Some(reply) = c.upstream.as_ref().and_then(|u| u.response.as_ref()) else {
        return (out, None, 0);
    };
    if !out.allow {
        return (out, None, 0);
    }
    let resp = HttpResponse {
        status: reply.status,
        content_type: Some(reply.content_type.as_bytes()),
        content_encoding: reply.content_encoding.as_deref().map(str::as_bytes),
        body: reply.bytes(),
    };
    match authz.judge_response(&out, &resp) {
        ResponseVerdict::Pass => (out, Some((reply.status, reply.bytes().to_vec())), 0),
        ResponseVerdict::Redacted { body, count } => (out, Some((reply.status, body)), count),
        ResponseVerdict::Deny(d) => (*d, None, 0),
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn write(m: &Materialized, out: &Path) {
    std::fs::write(out, serde_json::to_string_pretty(m).unwrap()).unwrap();
}
