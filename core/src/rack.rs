//! How Intercom's upstream reads a request, so that the filter judges exactly that.
//!
//! Intercom's API is served by a Rails (Rack) application. Wherever Rack or Rails would read a
//! request differently from a plain reading, the filter either reads it Rack's way or refuses
//! it (`ambiguous_request`, `unsupported_media_type`):
//!
//! | Rack / Rails reads | here |
//! |---|---|
//! | query keys `k`, `k[]`, `k[x]`, `[k]`, `k]`, `%6B`, `+k`, separated by `&` **or `;`** | [`query_pairs`] + [`base_key`]: every spelling is the key `k` |
//! | `_method` (Rack::MethodOverride) turns a POST into another method | refused in any spelling |
//! | a form body (`application/x-www-form-urlencoded`, `multipart/form-data`) is parsed into params, `_method` included | refused on every route: Intercom's API speaks JSON only (no operation of 2.7–2.16 takes a form) |
//! | a body-dependent route's body read as JSON only with a JSON `Content-Type` | [`is_json`] required, else refused |
//! | `/admins/activity_logs.json` routed as `/admins/activity_logs` with format `json` (`:id` never holds a `.`) | [`format_stem`]: refused when the stem is another route |
//! | query values override JSON body values in `params` | a body rule's field in the query, in any spelling, is refused |

/// The query's `(raw key, raw value)` pairs, split on `&` and `;` (Rack 2 splits on both).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split(['&', ';'])
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Whether the raw query key `raw` names `key` the way Rack's nested-params parser reads it
/// (percent-decoded, `+` a space, surrounding whitespace and brackets dropped, the name up to
/// the first bracket): `Some(true)` for the plain spelling `key`, `Some(false)` for any other
/// spelling of it (`key[]`, `key[x]`, `%6Bey`, …), `None` for another key.
pub fn base_key(raw: &str, key: &str) -> Option<bool> {
    if raw == key {
        return Some(true);
    }
    // Per request, for every query key: no allocation unless the key could be another spelling.
    let plain = |b: u8| !matches!(b, b'%' | b'+' | b'[' | b']') && !b.is_ascii_whitespace();
    if raw.bytes().all(plain) {
        return None;
    }
    let mut decoded = alloc::vec::Vec::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (c, step) = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => match (crate::path::hex(h), crate::path::hex(l)) {
                (Some(h), Some(l)) => (h * 16 + l, 3),
                _ => (b, 1),
            },
            (b'+', _, _) => (b' ', 1),
            _ => (b, 1),
        };
        decoded.push(c);
        i += step;
    }
    let trimmed = decoded
        .iter()
        .position(|c| !matches!(c, b'[' | b']') && !c.is_ascii_whitespace())
        .map_or(&[][..], |s| decoded.get(s..).unwrap_or(&[]));
    let end = trimmed
        .iter()
        .position(|c| matches!(c, b'[' | b']'))
        .unwrap_or(trimmed.len());
    let name = trimmed.get(..end).unwrap_or(&[]);
    let name = name.trim_ascii_end();
    (name == key.as_bytes()).then_some(false)
}

/// Every value given to `key` in the query, in any spelling: `(plain spelling?, raw value)`.
pub fn values<'q>(query: &'q str, key: &'q str) -> impl Iterator<Item = (bool, &'q str)> + 'q {
    query_pairs(query).filter_map(move |(k, v)| base_key(k, key).map(|plain| (plain, v)))
}

/// The media type of a `Content-Type` value, without parameters (compared case-insensitively).
fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Whether `s` starts with `prefix`, ignoring ASCII case.
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// `application/json` or `application/<anything>+json`, with any parameters.
pub fn is_json(content_type: &str) -> bool {
    let t = media_type(content_type);
    let suffix_json = t
        .len()
        .checked_sub(5)
        .and_then(|i| t.get(i..))
        .is_some_and(|s| s.eq_ignore_ascii_case("+json"));
    t.eq_ignore_ascii_case("application/json") || (starts_with_ci(t, "application/") && suffix_json)
}

/// `application/json` itself (any parameters): the one JSON type Rails parses into params by
/// default, so the only one whose body Intercom surely reads as the filter did.
pub fn is_plain_json(content_type: &str) -> bool {
    media_type(content_type).eq_ignore_ascii_case("application/json")
}

/// A media type Rack parses into params (and reads `_method` from): its form types
/// (`FORM_DATA_MEDIA_TYPES`) and the other multipart types it parses
/// (`PARSEABLE_DATA_MEDIA_TYPES`: `multipart/related`, `multipart/mixed`).
pub fn is_form(content_type: &str) -> bool {
    let t = media_type(content_type);
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/related",
        "multipart/mixed",
    ]
    .iter()
    .any(|f| t.eq_ignore_ascii_case(f))
}

/// Whether Rack reads a body as form data for want of a type: a POST whose `Content-Type` is
/// absent or empty (`Rack::Request#form_data?`).
pub fn untyped_post(method: &str, content_type: Option<&str>) -> bool {
    method == "POST" && content_type.is_none_or(|c| c.trim().is_empty())
}

/// The path Rails routes when the last segment has a format suffix: `/a/b.json` → `/a/b`
/// (a dynamic segment never holds a `.`, and `(.:format)` takes the rest). `None` when the last
/// segment has no `.`.
pub fn format_stem(path: &str) -> Option<&str> {
    let last = path.rfind('/')?;
    let dot = path.get(last..)?.find('.')?;
    path.get(..last + dot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rack_spellings_of_a_key() {
        for raw in [
            "message_type[]",
            "message_type[x]",
            "[message_type]",
            "message_type]",
            "%6Dessage_type",
            "+message_type",
            "message_type%5B%5D",
            "message_type ",
        ] {
            assert_eq!(base_key(raw, "message_type"), Some(false), "{raw}");
        }
        assert_eq!(base_key("message_type", "message_type"), Some(true));
        for raw in [
            "message_types",
            "xmessage_type",
            "message",
            "message_type_x",
        ] {
            assert_eq!(base_key(raw, "message_type"), None, "{raw}");
        }
        let q = "a=1;retain_metrics[]=false&b=2";
        let v: alloc::vec::Vec<_> = values(q, "retain_metrics").collect();
        assert_eq!(v, [(false, "false")]);
    }

    #[test]
    fn media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.intercom+json"));
        assert!(!is_json("text/json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json(""));
        assert!(is_form("application/x-www-form-urlencoded; charset=utf-8"));
        assert!(is_form("Multipart/Form-Data; boundary=x"));
        assert!(!is_form("application/json"));
        assert!(is_form("multipart/mixed; boundary=b"));
        assert!(is_form("Multipart/Related"));
        assert!(untyped_post("POST", None));
        assert!(untyped_post("POST", Some(" ")));
        assert!(!untyped_post("PUT", None));
        assert!(!untyped_post("POST", Some("application/json")));
    }

    #[test]
    fn format_suffixes() {
        assert_eq!(
            format_stem("/admins/activity_logs.json"),
            Some("/admins/activity_logs")
        );
        assert_eq!(format_stem("/contacts/1.5.json"), Some("/contacts/1"));
        assert_eq!(format_stem("/contacts/1"), None);
        assert_eq!(format_stem("/a.b/c"), None);
    }
}
