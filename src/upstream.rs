//! What an allowed request may not carry upstream, for every front-end that forwards (the
//! filter, the gateway): headers a Rack/Rails upstream would act on that no decision judged.

use std::string::{String, ToString};
use std::vec::Vec;

use crate::authorizer::Authorizer;

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

/// The headers removed before an allowed request goes upstream: [`OVERRIDE_HEADERS`], and the
/// underscore spellings of the identity headers and the credential (CGI/Rack read
/// `x_authz_role` as `x-authz-role`). Envoy's `headers_with_underscores_action:
/// REJECT_REQUEST` (shipped) refuses underscores first; this holds where a host does not.
pub fn stripped(authz: &Authorizer) -> Vec<String> {
    let up = &authz.config().upstream;
    let mut out: Vec<String> = OVERRIDE_HEADERS.iter().map(|h| h.to_string()).collect();
    let cred = authz.credential_header();
    for h in [
        up.role_header.as_deref(),
        up.subject_header.as_deref(),
        Some(cred.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        if h.contains('-') {
            out.push(h.replace('-', "_"));
        }
    }
    out
}
