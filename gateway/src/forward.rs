//! What goes to Intercom for an allowed request, and what comes back to the client: the
//! caller's credential out and the workspace token in, the identity headers ours alone, the
//! overrides a Rails upstream would act on removed, hop-by-hop headers never copied.

use std::format;
use std::string::{String, ToString};

use intercom_authz::authorizer::Outcome;

use super::settings::Settings;
use super::wire::Pairs;

/// Connection-level headers (RFC 9110 §7.6.1; `expect` is the client's to the gateway) and
/// those the host sets itself.
const HOP_BY_HOP: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "expect",
];

/// How the body goes upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body: `content-length: 0` where the method carries content (POST, PUT, PATCH), so the
    /// host does not send an empty chunked body Intercom's side must parse.
    None,
    /// These many bytes, held (read for the decision) or replaced.
    Known(usize),
    /// Streamed as the client sends it, with its own `content-length` if it had one.
    Streamed,
}

/// The request headers Intercom gets.
pub fn request_headers(
    s: &Settings,
    method: &str,
    out: &Outcome,
    incoming: &Pairs,
    body: BodyLength,
) -> Pairs {
    let cfg = s.authz.config();
    let up = &cfg.upstream;
    let cred = s.credential.as_str();
    let guarded = out.guard.is_some();
    let dropped_as = |name: &str| {
        HOP_BY_HOP.contains(&name)
            || s.strip.iter().any(|h| h == name)
            || name == cred
            || name == cfg.token.header
            || name == "authorization"
            || up.role_header.as_deref() == Some(name)
            || up.subject_header.as_deref() == Some(name)
            || guarded
                && (name == "accept-encoding" || intercom_authz::guard::CONDITIONAL.contains(&name))
    };
    // Either spelling: CGI and Rack read `x_http_method_override` as `x-http-method-override`.
    let dropped = |name: &str| dropped_as(name) || dropped_as(&name.replace('_', "-"));
    let mut h: Pairs = incoming
        .iter()
        .filter(|(k, _)| !dropped(k))
        .cloned()
        .collect();
    let mut set = |k: &str, v: String| h.push((k.to_string(), v.into_bytes()));
    set("authorization", format!("Bearer {}", s.intercom_token));
    for (name, value) in [
        (&up.role_header, &out.role),
        (&up.subject_header, &out.subject),
    ] {
        if let (Some(name), Some(value)) = (name, value) {
            set(name, value.clone());
        }
    }
    if guarded {
        // The answer is judged: it must come uncompressed, and whole.
        set("accept-encoding", "identity".into());
    }
    match body {
        BodyLength::Known(n) => set("content-length", n.to_string()),
        BodyLength::Streamed => {
            if let Some((_, v)) = incoming.iter().find(|(k, _)| k == "content-length") {
                h.push(("content-length".into(), v.clone()));
            }
        }
        BodyLength::None if matches!(method, "POST" | "PUT" | "PATCH") => {
            set("content-length", "0".into());
        }
        BodyLength::None => {}
    }
    h
}

/// The response headers the client gets: Intercom's, but for hop-by-hop ones; a replaced
/// body's length.
pub fn response_headers(incoming: &Pairs, length: Option<usize>) -> Pairs {
    let mut h: Pairs = incoming
        .iter()
        .filter(|(k, _)| {
            !HOP_BY_HOP.contains(&k.as_str()) || k == "content-length" && length.is_none()
        })
        .cloned()
        .collect();
    if let Some(n) = length {
        h.push(("content-length".into(), n.to_string().into_bytes()));
    }
    h
}

/// Whether the request carries a body (`content-length` above 0, or `transfer-encoding`).
pub fn has_body(incoming: &Pairs) -> bool {
    incoming.iter().any(|(k, v)| {
        k == "transfer-encoding"
            || k == "content-length" && v.iter().any(|b| b.is_ascii_digit() && *b != b'0')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(config: &str) -> Settings {
        let var = |k: &str| match k {
            "INTERCOM_AUTHZ_CONFIG" => Some(config.to_string()),
            "INTERCOM_TOKEN" => Some("ws-token".to_string()),
            _ => None,
        };
        match Settings::read(&var) {
            Ok(s) => s,
            Err(e) => unreachable!("{e}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn the_caller_never_speaks_for_itself_upstream() {
        let s = settings(&crate::settings::tests::with_keys(
            r#""upstream":{"role_header":"x-authz-role","subject_header":"x-authz-subject"}"#,
        ));
        let mut out = Outcome::denied(intercom_authz::Code::Allowed, String::new());
        out.role = Some("agent".into());
        out.subject = None;
        let incoming = pairs(&[
            ("authorization", "Bearer caller"),
            ("x-authz-role", "owner"),
            ("x_authz_role", "owner"),
            ("x-authz-subject", "someone-else"),
            ("x-http-method-override", "DELETE"),
            ("x_http_method_override", "GET"),
            ("x_original_url", "/conversations"),
            ("x_authz_subject", "someone-else"),
            ("expect", "100-continue"),
            ("connection", "close"),
            ("accept", "application/json"),
            ("content-length", "12"),
        ]);
        let h = request_headers(&s, "POST", &out, &incoming, BodyLength::Known(5));
        let got: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        assert_eq!(
            got,
            [
                ("accept", &b"application/json"[..]),
                ("authorization", b"Bearer ws-token"),
                ("x-authz-role", b"agent"),
                ("content-length", b"5"),
            ]
        );
    }

    #[test]
    fn a_body_is_declared_or_not() {
        assert!(has_body(&pairs(&[("content-length", "3")])));
        assert!(has_body(&pairs(&[("transfer-encoding", "chunked")])));
        assert!(!has_body(&pairs(&[("content-length", "0")])));
        assert!(!has_body(&pairs(&[("accept", "*/*")])));
    }
}
