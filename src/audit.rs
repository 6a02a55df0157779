//! The audit record: one JSON object per audited decision, in the format `intercom-authz usage`
//! and `report` read. The filter writes it to filter state `intercom_authz.audit` (and the log
//! line `intercom-authz audit {…}`), the gateway to its standard error.
//!
//! Written field by field into one buffer, in the order the README shows: with `audit: all`
//! (the default) every request writes one. A `serde_json::Value` tree of nineteen owned entries
//! cost more than the rest of the request's own work; a derived `Serialize` still wrote each
//! key through the escaper a few bytes at a time (the largest item of the filter's own time in
//! a V8 profile of `make bench-filter` with `audit: all`). The keys here are static and plain,
//! so each goes in with its comma and colon as one piece; values are escaped as serde_json
//! escapes them (the test below holds the two to the same JSON).

use std::string::String;

use crate::authorizer::Outcome;

/// What the record says about the request beyond its [`Outcome`].
pub struct Seen<'a> {
    /// Seconds since the epoch.
    pub time: u64,
    /// The client's address (the filter: `source.address`, as Envoy gave it).
    pub source: Option<&'a str>,
    /// The method, as sent.
    pub method: &'a [u8],
    /// The path as sent (the record prefers the canonical path when there is one).
    pub path: &'a [u8],
    /// The request id, if any.
    pub request_id: Option<&'a str>,
    /// The configuration's `mode: dry_run`.
    pub dry_run: bool,
    /// Conversations redacted from the response.
    pub redacted: usize,
}

/// One JSON object, written as its fields come.
struct Object {
    out: String,
}

impl Object {
    fn new() -> Self {
        Object {
            out: String::with_capacity(512),
        }
    }

    /// `key` is static, plain ASCII, and carries its separator: `{"time":` first, `,"role":` after.
    fn str(&mut self, key: &str, value: &str) {
        self.out.push_str(key);
        quote(&mut self.out, value);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => {
                self.out.push_str(key);
                self.out.push_str("null");
            }
        }
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.out.push_str(key);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn strings(&mut self, key: &str, values: &[String]) {
        self.out.push_str(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            quote(&mut self.out, v);
        }
        self.out.push(']');
    }

    fn num(&mut self, key: &str, value: u64) {
        self.out.push_str(key);
        digits(&mut self.out, value);
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// A JSON string, escaped as serde_json escapes it: `"`, `\\` and the control characters
/// (`\b \f \n \r \t`, the others as `\u00XX`); everything else as is.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // Every escaped byte is ASCII: the slices below end on character boundaries.
        out.push_str(s.get(plain..i).unwrap_or_default());
        plain = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            for nibble in [b >> 4, b & 0xf] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(plain..).unwrap_or_default());
    out.push('"');
}

fn digits(out: &mut String, n: u64) {
    if n >= 10 {
        digits(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// The record as JSON.
pub fn record(out: &Outcome, seen: &Seen<'_>) -> String {
    let mut o = Object::new();
    o.num("{\"time\":", seen.time);
    o.opt(",\"adminId\":", out.subject.as_deref());
    o.opt(",\"adminEmail\":", out.email.as_deref());
    let action = out
        .required
        .as_deref()
        .or(out.permissions.first().map(String::as_str));
    o.opt(",\"action\":", action);
    o.strings(",\"permissions\":", &out.permissions);
    // Where a permission came from when not from the role: the token's own (`token_grants`).
    if !out.granted_by_token.is_empty() {
        o.strings(",\"grantedByToken\":", &out.granted_by_token);
    }
    o.opt(",\"resource\":", out.route.as_deref());
    o.opt(",\"resourceId\":", out.resource_id.as_deref());
    o.bool(",\"success\":", out.allow);
    let ip = seen
        .source
        .and_then(crate::net::parse_source)
        .map(|a| a.to_string());
    o.opt(",\"ipAddress\":", ip.as_deref());
    o.str(",\"code\":", out.code);
    o.num(",\"status\":", u64::from(out.status));
    o.opt(",\"role\":", out.role.as_deref());
    o.str(",\"method\":", &String::from_utf8_lossy(seen.method));
    match &out.canonical_path {
        Some(p) => o.str(",\"path\":", p),
        None => o.str(",\"path\":", &String::from_utf8_lossy(seen.path)),
    }
    o.opt(",\"requestId\":", seen.request_id);
    o.bool(",\"sensitive\":", out.sensitive);
    o.bool(",\"dryRun\":", seen.dry_run);
    o.bool(",\"lookedUp\":", out.looked_up);
    o.num(",\"redacted\":", seen.redacted as u64);
    o.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all = String::new();
        for c in (0u32..0x80).chain([0xe9, 0x2028, 0x1f600]) {
            all.push(char::from_u32(c).unwrap());
        }
        for s in [all.as_str(), "", "plain", "\"quoted\"", "a\\b", "ünï\u{7f}"] {
            let mut ours = String::new();
            quote(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
        }
        for n in [0u64, 7, 10, 408, u64::MAX] {
            let mut ours = String::new();
            digits(&mut ours, n);
            assert_eq!(ours, n.to_string());
        }
    }

    #[test]
    fn the_record_is_json_with_every_field_in_order() {
        let mut out = Outcome::denied(
            crate::Code::MissingPermission,
            String::from("no \"contacts:delete\""),
        );
        out.subject = Some(String::from("42"));
        out.permissions = vec![String::from("contacts:delete"), String::from("tags:manage")];
        out.granted_by_token = vec![String::from("tags:manage")];
        out.route = Some(String::from("DELETE /contacts/{id}"));
        let seen = Seen {
            time: 1_700_000_000,
            source: Some("[::1]:4242"),
            method: b"DELETE",
            path: b"/contacts/\xff",
            request_id: Some("r\n1"),
            dry_run: true,
            redacted: 3,
        };
        let text = record(&out, &seen);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = [
            "time",
            "adminId",
            "adminEmail",
            "action",
            "permissions",
            "grantedByToken",
            "resource",
            "resourceId",
            "success",
            "ipAddress",
            "code",
            "status",
            "role",
            "method",
            "path",
            "requestId",
            "sensitive",
            "dryRun",
            "lookedUp",
            "redacted",
        ];
        let mut at = 0;
        for k in keys {
            let found = text[at..]
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} out of order in {text}"));
            at += found;
        }
        assert_eq!(v.as_object().unwrap().len(), keys.len());
        assert_eq!(v["time"], 1_700_000_000u64);
        assert_eq!(v["adminEmail"], serde_json::Value::Null);
        assert_eq!(v["action"], "contacts:delete");
        assert_eq!(v["permissions"][1], "tags:manage");
        assert_eq!(v["grantedByToken"], serde_json::json!(["tags:manage"]));
        assert_eq!(v["ipAddress"], "::1");
        assert_eq!(v["success"], false);
        assert_eq!(v["code"], "missing_permission");
        assert_eq!(v["path"], "/contacts/\u{fffd}");
        assert_eq!(v["requestId"], "r\n1");
        assert_eq!(v["dryRun"], true);
        assert_eq!(v["redacted"], 3);
    }
}
