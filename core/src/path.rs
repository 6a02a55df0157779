//! Path canonicalization: one canonical form of the request path before any matching.
//!
//! Authorization bypasses in proxies come from the proxy and the upstream reading one path two
//! ways (CVE-2019-9901 `..` not normalized, CVE-2021-29492 escaped `/`, CVE-2021-31920 `//`,
//! CVE-2021-32779 `#fragment` kept in the path, CVE-2026-73511 `;` parameters and `..;`).
//! [`canonicalize`] removes every such ambiguity, or refuses the path:
//!
//! | input | result |
//! |---|---|
//! | `?query` | split off, kept verbatim in [`Canonical::query`] (a control or non-ASCII byte in it is **refused**) |
//! | `#fragment` | dropped (never sent by a well-behaved client) |
//! | `%41` … percent-encoded unreserved character (`A-Z a-z 0-9 - . _ ~`) | decoded |
//! | other `%XX` | kept, hex digits upper-cased |
//! | `%2F`, `%5C`, `%00` (encoded `/`, `\`, NUL) | **refused** |
//! | bad `%` escape, raw `\`, control or non-ASCII byte, `;` | **refused** |
//! | empty segment (`//`, trailing `/`), `.` | removed |
//! | `..` (also `%2e%2e`) | removes the previous segment; never climbs above `/` |
//! | upper case | kept: Intercom's paths are case-sensitive, `/Contacts` is an unknown route |
//!
//! ```
//! use intercom_authz_core::path::canonicalize;
//! let c = canonicalize("/contacts//%31%32/./notes/../?per_page=5#x").unwrap();
//! assert_eq!(c.path, "/contacts/12");
//! assert_eq!(c.query, "per_page=5");
//! assert!(c.changed);
//! assert!(canonicalize("/contacts%2F12").is_err());
//! assert!(canonicalize("/contacts/..;/admins").is_err());
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// The longest path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 8192;

/// A canonical path, and the query string that came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical<'a> {
    /// The canonical path: starts with `/`, no empty, `.` or `..` segments, no trailing `/`.
    pub path: Cow<'a, str>,
    /// The query string without `?` (empty when there is none), verbatim.
    pub query: &'a str,
    /// Whether the path differs from what the client sent (fragment included).
    pub changed: bool,
}

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Not origin-form: empty, or not starting with `/`.
    NotOriginForm,
    /// Longer than [`MAX_PATH_LEN`].
    TooLong,
    /// `%2F`: an encoded `/`.
    EncodedSlash,
    /// `%5C` or a raw `\`.
    Backslash,
    /// `%00`, a control character or a non-ASCII byte.
    ForbiddenByte,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// `;`: a path parameter (`..;/`, `;jsessionid=`), which some servers strip.
    Semicolon,
    /// The method is not an HTTP token (RFC 9110 `tchar`s): a non-ASCII byte, a space…
    MethodNotToken,
}

impl PathError {
    /// A short description, for the deny body.
    pub fn message(self) -> &'static str {
        match self {
            PathError::NotOriginForm => "the path must start with `/`",
            PathError::TooLong => "the path is too long",
            PathError::EncodedSlash => "the path contains an encoded `/` (%2F)",
            PathError::Backslash => "the path contains a `\\` or its encoding (%5C)",
            PathError::ForbiddenByte => {
                "the request target contains NUL, a control character or a non-ASCII byte"
            }
            PathError::BadEscape => "the path contains a malformed percent escape",
            PathError::Semicolon => "the path contains a `;` parameter",
            PathError::MethodNotToken => "the method is not an HTTP token",
        }
    }
}

pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes one raw segment into `out`; returns the decoded segment's range in `out`.
fn decode_segment(seg: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    let mut i = 0;
    while let Some(&b) = seg.get(i) {
        match b {
            b'%' => {
                let hi = seg
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .ok_or(PathError::BadEscape)?;
                let lo = seg
                    .get(i + 2)
                    .copied()
                    .and_then(hex)
                    .ok_or(PathError::BadEscape)?;
                let v = hi * 16 + lo;
                match v {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    b';' => return Err(PathError::Semicolon),
                    0..=0x1f | 0x7f => return Err(PathError::ForbiddenByte),
                    v if unreserved(v) => out.push(v),
                    v => {
                        const H: &[u8; 16] = b"0123456789ABCDEF";
                        out.push(b'%');
                        out.extend(H.get(usize::from(v >> 4)).copied());
                        out.extend(H.get(usize::from(v & 15)).copied());
                    }
                }
                i += 3;
            }
            b'\\' => return Err(PathError::Backslash),
            b';' => return Err(PathError::Semicolon),
            0..=0x20 | 0x7f..=0xff => return Err(PathError::ForbiddenByte),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(())
}

/// Bytes that may appear in a canonical segment as they are: unreserved characters and the
/// sub-delimiters, `:` and `@` (RFC 3986 `pchar`), but not `;`.
#[expect(
    clippy::indexing_slicing,
    reason = "const evaluation: an out-of-range index fails the build, not a request"
)]
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_'
                    | b'~'
                    | b'.'
                    | b':'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'='
            );
        b += 1;
    }
    t
};

/// An RFC 9110 `tchar`, the bytes a method (a token) is made of.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Canonicalizes a request target (`:path`, query included). See the module docs.
pub fn canonicalize(raw: &str) -> Result<Canonical<'_>, PathError> {
    if raw.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    // One pass: find the end of the path, and whether it is already canonical.
    let bytes = raw.as_bytes();
    let mut end = bytes.len();
    let mut plain = true;
    let mut prev = 0u8;
    let mut seg_start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'?' || b == b'#' {
            end = i;
            break;
        }
        match b {
            b'/' => {
                let seg = bytes.get(seg_start..i).unwrap_or(&[]);
                if i > 0 && (prev == b'/' || seg == b"." || seg == b"..") {
                    plain = false;
                }
                seg_start = i + 1;
            }
            b => plain &= PLAIN.get(usize::from(b)).copied().unwrap_or(false),
        }
        prev = b;
    }
    let path = raw.get(..end).unwrap_or("");
    let rest = raw.get(end..).unwrap_or("");
    // The query and fragment are passed on verbatim: they must be what every parser reads the
    // same way, printable ASCII (RFC 3986: anything else is percent-encoded).
    if !rest.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(PathError::ForbiddenByte);
    }
    let had_fragment = rest.contains('#');
    let query = match rest.strip_prefix('?') {
        Some(q) => q.split('#').next().unwrap_or(""),
        None => "",
    };
    if !path.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    let last = bytes.get(seg_start..end).unwrap_or(&[]);
    if path.len() > 1 && (prev == b'/' || last == b"." || last == b"..") {
        plain = false;
    }
    if plain {
        return Ok(Canonical {
            path: Cow::Borrowed(path),
            query,
            changed: had_fragment,
        });
    }
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    // Start offsets in `out` of each kept segment's leading `/`.
    let mut starts: Vec<usize> = Vec::new();
    let mut seg_buf = Vec::new();
    for seg in path.split('/').skip(1) {
        seg_buf.clear();
        decode_segment(seg.as_bytes(), &mut seg_buf)?;
        match seg_buf.as_slice() {
            b"" | b"." => {}
            b".." => {
                if let Some(s) = starts.pop() {
                    out.truncate(s);
                }
            }
            s => {
                starts.push(out.len());
                out.push(b'/');
                out.extend_from_slice(s);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
    // INVARIANT: `out` holds only ASCII (decode_segment refuses every other byte).
    let canon = String::from_utf8(out).map_err(|_| PathError::ForbiddenByte)?;
    let changed = had_fragment || canon != path;
    Ok(Canonical {
        path: Cow::Owned(canon),
        query,
        changed,
    })
}

/// Iterates the segments of a canonical path.
pub fn segments(canonical: &str) -> impl Iterator<Item = &str> {
    canonical.split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (String, bool) {
        let c = canonicalize(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        (c.path.into_owned(), c.changed)
    }

    #[test]
    fn table() {
        let cases: &[(&str, Result<(&str, bool), PathError>)] = &[
            ("/", Ok(("/", false))),
            ("/contacts", Ok(("/contacts", false))),
            ("/contacts/123", Ok(("/contacts/123", false))),
            ("/contacts/123?x=1", Ok(("/contacts/123", false))),
            ("/contacts/", Ok(("/contacts", true))),
            ("//contacts", Ok(("/contacts", true))),
            ("/contacts//123", Ok(("/contacts/123", true))),
            ("/./contacts", Ok(("/contacts", true))),
            ("/admins/../contacts", Ok(("/contacts", true))),
            ("/../../contacts", Ok(("/contacts", true))),
            ("/%63ontacts", Ok(("/contacts", true))),
            ("/%2e%2e/contacts", Ok(("/contacts", true))),
            ("/%2E/contacts", Ok(("/contacts", true))),
            ("/contacts/a%20b", Ok(("/contacts/a%20b", false))),
            ("/contacts/a%2fb", Err(PathError::EncodedSlash)),
            ("/contacts/a%2Fb", Err(PathError::EncodedSlash)),
            ("/contacts%5c..%5cadmins", Err(PathError::Backslash)),
            ("/contacts\\..\\admins", Err(PathError::Backslash)),
            ("/contacts/1%00", Err(PathError::ForbiddenByte)),
            ("/contacts/1;x=y", Err(PathError::Semicolon)),
            ("/contacts/..;/admins", Err(PathError::Semicolon)),
            ("/contacts/%3b", Err(PathError::Semicolon)),
            ("/contacts/%zz", Err(PathError::BadEscape)),
            ("/contacts/%4", Err(PathError::BadEscape)),
            ("contacts", Err(PathError::NotOriginForm)),
            ("", Err(PathError::NotOriginForm)),
            ("*", Err(PathError::NotOriginForm)),
            ("http://evil/contacts", Err(PathError::NotOriginForm)),
            ("/contacts/é", Err(PathError::ForbiddenByte)),
            ("/contacts/a b", Err(PathError::ForbiddenByte)),
            ("/contacts#/../admins", Ok(("/contacts", true))),
            ("/Contacts", Ok(("/Contacts", false))),
            ("/contacts/%7e", Ok(("/contacts/~", true))),
            ("/contacts/%c3%a9", Ok(("/contacts/%C3%A9", true))),
        ];
        for (raw, want) in cases {
            let got = canonicalize(raw).map(|c| (c.path.into_owned(), c.changed));
            let want = want.map(|(p, ch)| (String::from(p), ch));
            assert_eq!(got, want, "canonicalize({raw:?})");
        }
    }

    #[test]
    fn idempotent_on_samples() {
        for raw in ["/a//b/./c/../d/", "/%61/%2e%2e/b", "/x/%c3%a9/y"] {
            let (once, _) = ok(raw);
            let (twice, changed) = ok(&once);
            assert_eq!(once, twice);
            assert!(!changed, "{raw}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;

    /// A small deterministic generator: the property test needs no extra crate.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    const PIECES: &[&str] = &[
        "/", "//", ".", "..", "a", "contacts", "%2e", "%2E%2e", "%63", "%2f", "%5c", "%00", ";",
        "?", "#", "%", "%4", "%zz", "~", "-", "_", "%20", "\\", "é", "A", "1",
    ];

    #[test]
    fn canonical_forms_are_fixed_points_without_ambiguity() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200_000 {
            let n = 1 + (rng.next() % 8) as usize;
            let mut raw = String::from("/");
            for _ in 0..n {
                raw.push_str(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
            }
            let Ok(c) = canonicalize(&raw) else { continue };
            let p: &str = &c.path;
            assert!(p.starts_with('/'), "{raw:?} -> {p:?}");
            assert!(
                !p.contains("//") && (p == "/" || !p.ends_with('/')),
                "{raw:?} -> {p:?}"
            );
            assert!(
                segments(p).all(|s| s != "." && s != ".."),
                "{raw:?} -> {p:?}"
            );
            assert!(!p.contains(['?', '#', ';', '\\']), "{raw:?} -> {p:?}");
            let again = canonicalize(p).unwrap_or_else(|e| panic!("{raw:?} -> {p:?} -> {e:?}"));
            assert_eq!(&*again.path, p, "not a fixed point: {raw:?}");
            assert!(!again.changed, "{raw:?} -> {p:?}");
            // No percent-encoded unreserved character survives (it would be a second spelling).
            let bytes = p.as_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if *b == b'%' {
                    let v = u8::from_str_radix(&p[i + 1..i + 3], 16).unwrap();
                    assert!(!unreserved(v), "{raw:?} -> {p:?}");
                }
            }
            // `changed` is exactly "the path part differs" (or a fragment was dropped).
            let path_part = raw.split(['?', '#']).next().unwrap();
            assert_eq!(c.changed, p != path_part || raw.contains('#'), "{raw:?}");
        }
    }
}
