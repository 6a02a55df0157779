//! The route index: `METHOD /path/{param}` templates, matched segment by segment.
//!
//! # Template syntax
//! A template is `/`-separated segments; a segment is either a literal (`contacts`) or a
//! parameter that spans the whole segment (`{id}`). Parameter names do not matter for matching:
//! `/contacts/{id}` and `/contacts/{contact_id}` are the same route.
//!
//! # Precedence
//! At each segment a literal wins over a parameter; if the literal branch has no route for the
//! rest of the path, matching falls back to the parameter branch. So `/conversations/search`
//! matches `POST /conversations/search`, and `/conversations/123` matches
//! `GET /conversations/{id}`.
//!
//! ```
//! use intercom_authz_core::router::{Method, Router};
//! let mut r = Router::default();
//! r.insert(Method::Get, "/conversations/{id}", 0).unwrap();
//! r.insert(Method::Post, "/conversations/search", 1).unwrap();
//! r.insert(Method::Get, "/conversations/search/{x}", 2).unwrap();
//! assert_eq!(r.find(Method::Post, "/conversations/search").map(|m| m.value), Some(1));
//! assert_eq!(r.find(Method::Get, "/conversations/search").map(|m| m.value), Some(0));
//! assert!(r.find(Method::Get, "/conversations").is_none());
//! // A duplicate is refused, naming the route it collides with.
//! assert!(r.insert(Method::Get, "/conversations/{conversation_id}", 3).is_err());
//! ```
//!
//! Lookup cost follows the number of path segments (a binary search among a node's literal
//! children per segment), not the number of routes.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// The HTTP methods Intercom's API uses. `HEAD` is judged as `GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET` (and `HEAD`)
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in index order.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// Parses a method token (exact, upper case, as HTTP requires).
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "GET" | "HEAD" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }

    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a template could not be inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertError {
    /// The template is malformed (the reason says how).
    Malformed(&'static str),
    /// The same method and template (parameter names aside) is already there.
    Conflict {
        /// The template already inserted.
        with: String,
    },
}

/// A literal segment with its first 8 bytes as an integer: most comparisons during a lookup
/// are decided by one integer compare, without a call to `memcmp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    prefix: u64,
    text: Box<str>,
}

pub(crate) fn prefix8(s: &str) -> u64 {
    let b = s.as_bytes();
    let n = b.len().min(8);
    let mut buf = [0u8; 8];
    if let (Some(d), Some(src)) = (buf.get_mut(..n), b.get(..n)) {
        d.copy_from_slice(src);
    }
    u64::from_be_bytes(buf)
}

impl Key {
    pub(crate) fn new(s: &str) -> Key {
        Key {
            prefix: prefix8(s),
            text: Box::from(s),
        }
    }

    /// Orders like `(prefix8, len, text)`: consistent for sorting and searching.
    pub(crate) fn cmp_str(&self, s: &str) -> core::cmp::Ordering {
        self.cmp_probe(prefix8(s), s)
    }

    /// [`Key::cmp_str`] with the probe's prefix computed once per search. Orders by prefix,
    /// then length, then text: the byte comparison runs only when both already agree.
    pub(crate) fn cmp_probe(&self, prefix: u64, s: &str) -> core::cmp::Ordering {
        self.prefix
            .cmp(&prefix)
            .then_with(|| self.text.len().cmp(&s.len()))
            .then_with(|| (*self.text).cmp(s))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Default, Debug)]
struct Node {
    /// Literal children, sorted by [`Key`] for binary search.
    literals: Vec<(Key, u32)>,
    param: Option<u32>,
    values: [Option<u32>; 5],
    templates: [Option<Box<str>>; 5],
}

/// The most path parameters a match records.
pub const MAX_PARAMS: usize = 6;
/// The most segments a path may have to match anything.
pub const MAX_SEGMENTS: usize = 24;

/// A successful match: the route's value and its parameters' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'p> {
    /// What was inserted with the template.
    pub value: u32,
    params: [&'p str; MAX_PARAMS],
    n_params: usize,
}

impl<'p> Match<'p> {
    /// The values of the template's parameters, in order.
    pub fn params(&self) -> &[&'p str] {
        self.params.get(..self.n_params).unwrap_or(&[])
    }
}

/// A segment-trie of route templates.
#[derive(Debug)]
pub struct Router {
    nodes: Vec<Node>,
}

impl Default for Router {
    fn default() -> Self {
        Router {
            nodes: alloc::vec![Node::default()],
        }
    }
}

enum Seg<'t> {
    Lit(&'t str),
    Param,
}

fn parse_segment(s: &str) -> Result<Seg<'_>, &'static str> {
    if s.is_empty() {
        return Err("empty segment");
    }
    if let Some(inner) = s.strip_prefix('{') {
        let name = inner
            .strip_suffix('}')
            .ok_or("a parameter must span the whole segment, as `{id}`")?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err("a parameter name is letters, digits and `_`");
        }
        return Ok(Seg::Param);
    }
    if s.contains(['{', '}']) {
        return Err("a parameter must span the whole segment, as `{id}`");
    }
    if s == "."
        || s == ".."
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    {
        return Err("a literal segment is letters, digits and `-_.~`");
    }
    Ok(Seg::Lit(s))
}

impl Router {
    /// Inserts `template` for `method` with `value`.
    pub fn insert(
        &mut self,
        method: Method,
        template: &str,
        value: u32,
    ) -> Result<(), InsertError> {
        let rest = template
            .strip_prefix('/')
            .ok_or(InsertError::Malformed("a template starts with `/`"))?;
        let mut node = 0usize;
        if !rest.is_empty() {
            let segs: Vec<&str> = rest.split('/').collect();
            if segs.len() > MAX_SEGMENTS {
                return Err(InsertError::Malformed("too many segments"));
            }
            let n_params = segs.iter().filter(|s| s.starts_with('{')).count();
            if n_params > MAX_PARAMS {
                return Err(InsertError::Malformed("too many parameters"));
            }
            for s in segs {
                let seg = parse_segment(s).map_err(InsertError::Malformed)?;
                node = self.child(node, seg);
            }
        }
        let n = self
            .nodes
            .get_mut(node)
            .ok_or(InsertError::Malformed("internal"))?;
        let i = method.index();
        if let Some(Some(existing)) = n.templates.get(i) {
            return Err(InsertError::Conflict {
                with: String::from(&**existing),
            });
        }
        if let (Some(v), Some(t)) = (n.values.get_mut(i), n.templates.get_mut(i)) {
            *v = Some(value);
            *t = Some(Box::from(template));
        }
        Ok(())
    }

    fn child(&mut self, node: usize, seg: Seg<'_>) -> usize {
        let fresh = self.nodes.len();
        let Some(n) = self.nodes.get_mut(node) else {
            return 0;
        };
        let next = match seg {
            Seg::Param => match n.param {
                Some(p) => return p as usize,
                None => {
                    n.param = Some(fresh as u32);
                    fresh
                }
            },
            Seg::Lit(s) => match n.literals.binary_search_by(|(k, _)| k.cmp_str(s)) {
                Ok(i) => return n.literals.get(i).map_or(0, |(_, c)| *c as usize),
                Err(i) => {
                    n.literals.insert(i, (Key::new(s), fresh as u32));
                    fresh
                }
            },
        };
        self.nodes.push(Node::default());
        next
    }

    /// Finds the route for `method` and a canonical `path` (see [`crate::path`]).
    pub fn find<'p>(&self, method: Method, path: &'p str) -> Option<Match<'p>> {
        let mut segs = [""; MAX_SEGMENTS];
        let mut n = 0;
        // A byte loop, not `split`: this is the hot path.
        let bytes = path.as_bytes();
        let mut start = 0;
        for i in 0..=bytes.len() {
            if i == bytes.len() || bytes.get(i) == Some(&b'/') {
                if i > start {
                    *segs.get_mut(n)? = path.get(start..i)?;
                    n += 1;
                }
                start = i + 1;
            }
        }
        let mut m = Match {
            value: 0,
            params: [""; MAX_PARAMS],
            n_params: 0,
        };
        let v = self.walk(0, segs.get(..n)?, method.index(), &mut m)?;
        m.value = v;
        Some(m)
    }

    fn walk<'p>(
        &self,
        node: usize,
        segs: &[&'p str],
        method: usize,
        m: &mut Match<'p>,
    ) -> Option<u32> {
        let n = self.nodes.get(node)?;
        let Some((first, rest)) = segs.split_first() else {
            return n.values.get(method).copied().flatten();
        };
        let probe = prefix8(first);
        if let Ok(i) = n
            .literals
            .binary_search_by(|(k, _)| k.cmp_probe(probe, first))
        {
            if let Some((_, c)) = n.literals.get(i) {
                if let Some(v) = self.walk(*c as usize, rest, method, m) {
                    return Some(v);
                }
            }
        }
        let p = n.param?;
        let slot = m.n_params;
        *m.params.get_mut(slot)? = first;
        m.n_params += 1;
        let found = self.walk(p as usize, rest, method, m);
        if found.is_none() {
            m.n_params = slot;
        }
        found
    }

    /// Whether any method has a route for this canonical path (to tell "no such path" from
    /// "method not allowed" in messages).
    pub fn any_method(&self, path: &str) -> bool {
        Method::ALL.iter().any(|m| self.find(*m, path).is_some())
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    fn router(routes: &[(Method, &str)]) -> Router {
        let mut r = Router::default();
        for (i, (m, t)) in routes.iter().enumerate() {
            r.insert(*m, t, i as u32).unwrap();
        }
        r
    }

    #[test]
    fn table() {
        use Method::*;
        let r = router(&[
            (Get, "/admins"),
            (Get, "/admins/{id}"),
            (Get, "/admins/activity_logs"),
            (Put, "/admins/{id}/away"),
            (Get, "/conversations/{id}"),
            (Get, "/conversations/deleted"),
            (Post, "/conversations/search"),
            (Get, "/custom_object_instances/{type}"),
            (Get, "/custom_object_instances/{type}/{id}"),
            (Post, "/conversations/{id}/reply"),
            (Get, "/"),
        ]);
        let cases: &[(Method, &str, Option<(u32, &[&str])>)] = &[
            (Get, "/admins", Some((0, &[]))),
            (Get, "/admins/7", Some((1, &["7"]))),
            (Get, "/admins/activity_logs", Some((2, &[]))),
            (
                Put,
                "/admins/activity_logs/away",
                Some((3, &["activity_logs"])),
            ),
            (Put, "/admins/7/away", Some((3, &["7"]))),
            (Get, "/conversations/deleted", Some((5, &[]))),
            (Get, "/conversations/search", Some((4, &["search"]))),
            (Post, "/conversations/search", Some((6, &[]))),
            (Post, "/conversations/last/reply", Some((9, &["last"]))),
            (
                Get,
                "/custom_object_instances/Order/9",
                Some((8, &["Order", "9"])),
            ),
            (Get, "/", Some((10, &[]))),
            (Delete, "/admins/7", None),
            (Get, "/admins/7/away", None),
            (Get, "/nothing", None),
            (Get, "/admins/7/away/extra", None),
        ];
        for (m, p, want) in cases {
            let got = r.find(*m, p).map(|x| (x.value, x.params().to_vec()));
            let want = want.map(|(v, ps)| (v, ps.to_vec()));
            assert_eq!(got, want, "{} {p}", m.as_str());
        }
    }

    #[test]
    fn conflicts_and_malformed() {
        let mut r = router(&[(Method::Get, "/contacts/{id}")]);
        assert_eq!(
            r.insert(Method::Get, "/contacts/{contact_id}", 9),
            Err(InsertError::Conflict {
                with: "/contacts/{id}".into()
            })
        );
        assert!(r
            .insert(Method::Delete, "/contacts/{contact_id}", 9)
            .is_ok());
        for bad in [
            "contacts",
            "/contacts//x",
            "/contacts/{",
            "/contacts/x{id}",
            "/contacts/{a-b}",
            "/a/../b",
            "/a b",
        ] {
            assert!(
                matches!(
                    r.insert(Method::Get, bad, 0),
                    Err(InsertError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn too_many_segments_is_no_match() {
        let r = router(&[(Method::Get, "/{a}")]);
        let long: String = "/x".repeat(MAX_SEGMENTS + 1);
        assert!(r.find(Method::Get, &long).is_none());
    }
}
