//! What an allowed request may not carry upstream, for every front-end that forwards (the
//! filter, the gateway): headers a Rack/Rails upstream would act on that no decision judged.

use std::string::{String, ToString};
use std::vec::Vec;

use crate::config::Config;

/// Method overrides (Rack::MethodOverride reads `X-HTTP-Method-Override` on a POST) and path
/// rewrites (`X-Original-URL`, `X-Rewrite-URL`): the request Intercom acts on would not be the
/// one judged.
pub const OVERRIDE_HEADERS: [&str; 5] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

/// Headers the request carries for the connection or its content, and those Intercom reads to
/// know who acts and how: an identity header of ours may not be one of them.
const READ_BY_INTERCOM: [&str; 14] = [
    "authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
    "content-type",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "intercom-version",
];

/// Whether `name` may not be an identity header (`upstream.role_header`, `subject_header`):
/// a credential, a method override, a header of the connection or the content, in either
/// spelling (`_` reads as `-` in CGI/Rack).
pub fn is_reserved(name: &str, config: &Config) -> bool {
    let name = name.replace('_', "-");
    let credential = config.token.header.replace('_', "-");
    READ_BY_INTERCOM.contains(&name.as_str())
        || OVERRIDE_HEADERS.contains(&name.as_str())
        || name == credential
        || config.token.trusted_payload_header.as_deref() == Some(name.as_str())
}

/// The headers removed before an allowed request goes upstream: [`OVERRIDE_HEADERS`], and the
/// underscore spellings of those, of the identity headers and of the credential (CGI/Rack read
/// `x_authz_role` as `x-authz-role`). Envoy's `headers_with_underscores_action:
/// REJECT_REQUEST` (shipped) refuses underscores first; this holds where a host does not.
/// `credential` is the header that carries the caller's credential (`Authorizer::credential_header`).
pub fn stripped(config: &Config, credential: &str) -> Vec<String> {
    let up = &config.upstream;
    let mut out: Vec<String> = OVERRIDE_HEADERS.iter().map(|h| h.to_string()).collect();
    for h in OVERRIDE_HEADERS
        .into_iter()
        .chain(up.role_header.as_deref())
        .chain(up.subject_header.as_deref())
        .chain(Some(credential))
    {
        if h.contains('-') {
            out.push(h.replace('-', "_"));
        }
    }
    out
}
