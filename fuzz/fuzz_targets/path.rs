//! Path canonicalization, on any bytes (lossy UTF-8, as the authorizer reads a non-UTF-8
//! `:path`). Properties: a canonical path is a fixed point; it never contains what the
//! canonicalizer refuses (`%2F`, `\`, `;`, controls, non-ASCII, a malformed escape), nor an
//! empty, `.` or `..` segment, nor a trailing `/`; escapes are upper-case and only for bytes
//! that must stay escaped; an unchanged path is the client's path exactly.
#![no_main]

use intercom_authz::path::canonicalize;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

fn check_escapes(path: &str) {
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = path
                    .get(i + 1..i + 3)
                    .expect("a truncated escape in a canonical path");
                assert!(
                    hex.bytes()
                        .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h)),
                    "escape %{hex} is not upper-case hex in {path:?}"
                );
                let v = u8::from_str_radix(hex, 16).unwrap();
                assert!(
                    !unreserved(v) && !matches!(v, b'/' | b'\\' | b';' | 0..=0x1f | 0x7f),
                    "escape %{hex} should have been decoded or refused in {path:?}"
                );
                i += 3;
            }
            c => {
                assert!(
                    c.is_ascii_graphic() && !b"\\;?#".contains(&c),
                    "byte {c:#04x} in canonical path {path:?}"
                );
                i += 1;
            }
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Ok(c) = canonicalize(&raw) else { return };
    let path = &*c.path;
    assert!(path.starts_with('/'), "{path:?}");
    assert!(
        path == "/" || !path.ends_with('/'),
        "trailing slash: {path:?}"
    );
    for seg in path.split('/').skip(1) {
        assert!(
            path == "/" || !matches!(seg, "" | "." | ".."),
            "segment {seg:?} in {path:?}"
        );
    }
    check_escapes(path);
    assert!(
        c.query.bytes().all(|b| b.is_ascii_graphic() && b != b'#'),
        "query {:?}",
        c.query
    );
    // A fixed point, query and all.
    let again_raw = if c.query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", c.query)
    };
    let again = canonicalize(&again_raw).expect("a canonical path is refused");
    assert_eq!(again.path, c.path, "not a fixed point: {raw:?}");
    assert_eq!(again.query, c.query);
    assert!(
        !again.changed,
        "canonical {again_raw:?} reported as changed"
    );
    if !c.changed {
        let client = raw.split(['?', '#']).next().unwrap_or("");
        assert_eq!(client, path, "unchanged, yet not the client's path");
    }
});
