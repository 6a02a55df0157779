//! The audit record: one JSON object per audited decision, written once and used twice (the
//! log line `intercom-authz audit {…}` and the filter state `intercom_authz.audit`).
//!
//! A struct serialized in field order (the order the README shows), not a `serde_json::Value`
//! tree: with `audit: all` (the default) every request writes one, and building a map of
//! nineteen owned entries first cost more than the rest of the request's own work.

use std::borrow::Cow;
use std::string::String;

use serde::Serialize;

use intercom_authz::authorizer::Outcome;

/// What the record says about the request beyond its [`Outcome`].
pub(super) struct Seen<'a> {
    /// Seconds since the epoch.
    pub time: u64,
    /// `source.address`, as Envoy gave it.
    pub source: Option<&'a str>,
    pub method: &'a [u8],
    pub path: &'a [u8],
    pub request_id: Option<&'a str>,
    pub dry_run: bool,
    /// Conversations redacted from the response.
    pub redacted: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    time: u64,
    admin_id: Option<&'a str>,
    admin_email: Option<&'a str>,
    action: Option<&'a str>,
    permissions: &'a [String],
    resource: Option<&'a str>,
    resource_id: Option<&'a str>,
    success: bool,
    /// As text (serde writes an address as its `Display` in JSON).
    ip_address: Option<core::net::IpAddr>,
    code: &'a str,
    status: u16,
    role: Option<&'a str>,
    method: Cow<'a, str>,
    path: Cow<'a, str>,
    request_id: Option<&'a str>,
    sensitive: bool,
    dry_run: bool,
    looked_up: bool,
    redacted: usize,
}

/// The record as JSON.
pub(super) fn record(out: &Outcome, seen: &Seen<'_>) -> String {
    let r = Record {
        time: seen.time,
        admin_id: out.subject.as_deref(),
        admin_email: out.email.as_deref(),
        action: out
            .required
            .as_deref()
            .or(out.permissions.first().map(String::as_str)),
        permissions: &out.permissions,
        resource: out.route.as_deref(),
        resource_id: out.resource_id.as_deref(),
        success: out.allow,
        ip_address: seen.source.and_then(intercom_authz::net::parse_source),
        code: out.code,
        status: out.status,
        role: out.role.as_deref(),
        method: String::from_utf8_lossy(seen.method),
        path: match &out.canonical_path {
            Some(p) => Cow::Borrowed(p.as_str()),
            None => String::from_utf8_lossy(seen.path),
        },
        request_id: seen.request_id,
        sensitive: out.sensitive,
        dry_run: seen.dry_run,
        looked_up: out.looked_up,
        redacted: seen.redacted,
    };
    // Only strings, numbers and booleans: serializing cannot fail.
    serde_json::to_string(&r).unwrap_or_default()
}
