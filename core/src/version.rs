//! Intercom API versions (`Intercom-Version: 2.11`) and the catalog's version ranges.
//!
//! The catalog says which versions have each route (`2.7-`: from 2.7 on; `2.7-2.11`: removed
//! after 2.11). A request that names a version is judged against the routes of that version: a
//! route added in 2.16 does not exist for `Intercom-Version: 2.7` (`unknown_route`). A version
//! the catalog does not know (`Unstable`, `Preview`, `9.99`) is refused with `unknown_version`
//! unless the policy says `unknown_versions: "allow"`, which judges it against every version's
//! routes. A request without the header is judged against every version's routes (Intercom
//! then uses the app's default version, which the filter cannot see).

use core::fmt;

/// A stable API version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    /// `2` in `2.11`.
    pub major: u8,
    /// `11` in `2.11`.
    pub minor: u8,
}

impl ApiVersion {
    /// `2.11` → `Some(2.11)`; anything else (`Unstable`, `2.x`, `02.7`, ` 2.7`) → `None`.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.split_once('.')?;
        let num = |t: &str| -> Option<u8> {
            let plain = !t.is_empty()
                && t.len() <= 3
                && t.bytes().all(|c| c.is_ascii_digit())
                && (t == "0" || !t.starts_with('0'));
            if plain {
                t.parse().ok()
            } else {
                None
            }
        };
        Some(ApiVersion {
            major: num(a)?,
            minor: num(b)?,
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The versions that have a route: from `since`, up to `until` (inclusive) if it was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    /// The first version with the route.
    pub since: ApiVersion,
    /// The last version with the route, if it was removed.
    pub until: Option<ApiVersion>,
}

impl VersionRange {
    /// `2.7-` or `2.7-2.11`.
    pub fn parse(s: &str) -> Option<VersionRange> {
        let (a, b) = s.split_once('-')?;
        let since = ApiVersion::parse(a)?;
        let until = if b.is_empty() {
            None
        } else {
            Some(ApiVersion::parse(b)?)
        };
        if until.is_some_and(|u| u < since) {
            return None;
        }
        Some(VersionRange { since, until })
    }

    /// Whether version `v` has the route.
    pub fn contains(self, v: ApiVersion) -> bool {
        v >= self.since && self.until.is_none_or(|u| v <= u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let v = |s| ApiVersion::parse(s);
        assert_eq!(
            v("2.11"),
            Some(ApiVersion {
                major: 2,
                minor: 11
            })
        );
        assert!(v("2.7") < v("2.11"));
        for bad in [
            "Unstable", "Preview", "2", "2.", ".7", "2.x", "02.7", " 2.7", "2.7 ", "2.7.1",
            "2.1000",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        let r = VersionRange::parse("2.7-2.11").unwrap_or(VersionRange {
            since: ApiVersion { major: 0, minor: 0 },
            until: None,
        });
        assert!(r.contains(ApiVersion { major: 2, minor: 9 }));
        assert!(!r.contains(ApiVersion {
            major: 2,
            minor: 12
        }));
        assert_eq!(VersionRange::parse("2.11-2.7"), None);
        assert!(VersionRange::parse("2.16-").is_some_and(|r| r.until.is_none()));
    }
}
