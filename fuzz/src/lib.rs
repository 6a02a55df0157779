//! What the fuzz targets share: a fixed clock, the test configurations, the decision corpus
//! (materialized at that clock, so its tokens are valid in every run and a crasher replays the
//! same), the request frame, and a JSON generator driven by the fuzzer's bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../tests/corpus/mod.rs"]
pub mod corpus;

use std::collections::BTreeMap;

use intercom_authz::authorizer::{Authorizer, HttpRequest};
use intercom_authz::Body;

/// The targets' clock, seconds since the epoch (2030-03-17): tokens minted by the seeds at
/// this time are valid in every run.
pub const NOW: u64 = 1_900_000_000;

/// Every configuration of `tests/configs/`, by name, compiled.
pub fn authorizers() -> Vec<(String, Authorizer)> {
    let mut names: Vec<String> = std::fs::read_dir(corpus::root().join("tests/configs"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".json")?.to_string())
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let a = Authorizer::from_json(&corpus::load_config(&n).to_string())
                .unwrap_or_else(|e| panic!("tests/configs/{n}.json: {e}"));
            (n, a)
        })
        .collect()
}

/// Field separator of a request frame (a single byte would be a byte the fuzzer could never
/// put in a field).
pub const SEP: &[u8] = b"\x1e\x1e\x1e";
/// A field that is absent (not merely empty).
pub const NONE: &[u8] = b"\x1f";

/// A request as fuzz bytes: `[config][flags]` then, separated by [`SEP`], method, path,
/// credential, content type, `Intercom-Version`, body, source IP. A missing trailing field or
/// [`NONE`] is an absent header (body); flag bit 0 says the request has `token.header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Index into [`authorizers`] (modulo their number).
    pub config: u8,
    /// See the type's docs.
    pub has_token_header: bool,
    /// The method.
    pub method: Vec<u8>,
    /// The request target.
    pub path: Vec<u8>,
    /// The credential header's value.
    pub credential: Option<Vec<u8>>,
    /// `Content-Type`.
    pub content_type: Option<Vec<u8>>,
    /// `Intercom-Version`.
    pub version: Option<Vec<u8>>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// The client address, as text.
    pub ip: Option<Vec<u8>>,
}

fn split_sep(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEP.len()).position(|w| w == SEP) {
        out.push(&rest[..i]);
        rest = &rest[i + SEP.len()..];
    }
    out.push(rest);
    out
}

impl Frame {
    /// Reads a frame; any bytes are some frame.
    pub fn parse(data: &[u8]) -> Frame {
        let (head, rest) = data.split_at(data.len().min(2));
        let fields = split_sep(rest);
        let opt = |i: usize| -> Option<Vec<u8>> {
            fields.get(i).filter(|f| *f != &NONE).map(|f| f.to_vec())
        };
        Frame {
            config: head.first().copied().unwrap_or(0),
            has_token_header: head.get(1).is_some_and(|f| f & 1 == 1),
            method: fields.first().map(|f| f.to_vec()).unwrap_or_default(),
            path: opt(1).unwrap_or_default(),
            credential: opt(2),
            content_type: opt(3),
            version: opt(4),
            body: opt(5),
            ip: opt(6),
        }
    }

    /// The bytes [`Frame::parse`] reads back as this frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.config, u8::from(self.has_token_header)];
        let opt = |f: &Option<Vec<u8>>| f.clone().unwrap_or_else(|| NONE.to_vec());
        let fields = [
            self.method.clone(),
            self.path.clone(),
            opt(&self.credential),
            opt(&self.content_type),
            opt(&self.version),
            opt(&self.body),
            opt(&self.ip),
        ];
        out.extend(fields.join(SEP));
        out
    }

    /// The request as the filter sees it (body not read yet).
    pub fn http(&self) -> HttpRequest<'_> {
        HttpRequest {
            method: &self.method,
            path: &self.path,
            credential: self.credential.as_deref(),
            has_token_header: self.has_token_header,
            content_type: self.content_type.as_deref(),
            version: self.version.as_deref(),
            body: Body::NotRead,
            source_ip: self
                .ip
                .as_deref()
                .and_then(|ip| std::str::from_utf8(ip).ok()?.parse().ok()),
            lookup: intercom_authz::conversation::Lookup::NotDone,
        }
    }

    /// A corpus case as a frame, for the seeds.
    pub fn from_case(c: &corpus::Concrete, configs: &[(String, Authorizer)]) -> Frame {
        let config = configs.iter().position(|(n, _)| *n == c.config).unwrap();
        let authz = &configs[config].1;
        let header = |h: &str| c.headers.get(h).map(|v| c.bytes(v));
        Frame {
            config: u8::try_from(config).unwrap(),
            has_token_header: c
                .headers
                .contains_key(&authz.config().token.header.to_ascii_lowercase()),
            method: c.bytes(&c.method),
            path: c.bytes(&c.path),
            credential: header(&authz.credential_header()),
            content_type: header("content-type"),
            version: header("intercom-version"),
            body: c.body.as_deref().map(|b| c.bytes(b)),
            ip: Some(c.source_ip.clone().into_bytes()),
        }
    }
}

/// Reads the fuzzer's bytes one at a time (zeros when they run out).
pub struct Cursor<'a>(pub &'a [u8]);

impl Cursor<'_> {
    /// The next byte.
    pub fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    /// One of `xs`.
    pub fn pick<'x>(&mut self, xs: &[&'x str]) -> &'x str {
        xs[usize::from(self.byte()) % xs.len()]
    }

    /// A JSON text whose keys and strings mostly come from `words` (so the fuzzer reaches the
    /// values a body rule reads); objects may repeat a key, which strict parsing must refuse.
    pub fn json(&mut self, words: &[&str], depth: u8) -> String {
        let scalar = depth >= 4;
        match self.byte() % if scalar { 5 } else { 8 } {
            0 => "null".into(),
            1 => ["true", "false"][usize::from(self.byte() & 1)].into(),
            2 => self.number(),
            3 => serde_json::to_string(self.pick(words)).unwrap(),
            4 => {
                let n = usize::from(self.byte() % 6);
                let raw: Vec<u8> = (0..n).map(|_| self.byte()).collect();
                serde_json::to_string(&String::from_utf8_lossy(&raw)).unwrap()
            }
            5 | 6 => {
                let n = self.byte() % 5;
                let fields: Vec<String> = (0..n)
                    .map(|_| {
                        let k = serde_json::to_string(self.pick(words)).unwrap();
                        format!("{k}:{}", self.json(words, depth + 1))
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            _ => {
                let n = self.byte() % 4;
                let items: Vec<String> = (0..n).map(|_| self.json(words, depth + 1)).collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    fn number(&mut self) -> String {
        match self.byte() % 4 {
            0 => i64::from(self.byte() as i8).to_string(),
            1 => u64::from_le_bytes([self.byte(), self.byte(), self.byte(), 0, 0, 0, 0, 0])
                .to_string(),
            2 => format!("{}.5", self.byte()),
            _ => format!("1e{}", self.byte()),
        }
    }
}

/// The header.payload part of each valid token of the corpus for `config`, minted at [`NOW`]:
/// the token target's "originals".
pub fn signed_parts(config: &str, authz: &Authorizer) -> BTreeMap<String, String> {
    let header = authz.credential_header();
    let mut out = BTreeMap::new();
    for c in corpus::materialize(NOW).cases {
        let Some(cred) = c.headers.get(&header).filter(|_| c.config == config) else {
            continue;
        };
        let token = cred.strip_prefix("Bearer ").unwrap_or(cred);
        if authz.tokens().verify(token, NOW).is_ok() {
            if let Some((signed, _)) = token.rsplit_once('.') {
                out.insert(signed.to_string(), c.description.clone());
            }
        }
    }
    out
}
