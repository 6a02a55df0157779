//! Attribution: the request fields that say which teammate acts.
//!
//! Intercom records a reply, a note, a tag, a message or an article as the work of the admin a
//! field of the request names (`admin_id`, `from.id` when `from.type` is `admin`, `author_id`,
//! `sender_id`, …). The filter speaks to Intercom with one workspace token, so without a check
//! anyone could write Intercom's own record of who did what. The evaluator's attribution step
//! holds every such field to the caller's Intercom admin id ([`crate::eval::Principal::subject`]);
//! only a role granted `admins:act_as` may name someone else (bots, migrations).
//!
//! The fields come from Intercom's OpenAPI descriptions (2.7–2.16), extracted by
//! `tests/spec-acting/extract.py` into [`ACTING_TSV`] (what it rejected, with a reason each, is in
//! `tests/spec-acting/rejected.tsv`); `tests/acting.rs` holds the table to the catalog's routes.
//!
//! A field is a dotted path into the JSON body: `*` is any key of an object (the locales of
//! `translated_content`), `[]` every item of an array. An id is a JSON string or a non-negative
//! integer; it names the caller when it is exactly the caller's id (`"42"` or `42`). `null` or
//! an absent field names nobody (Intercom then attributes the action to the token's own admin,
//! or refuses a required field); any other value is not the caller.
//!
//! ```
//! use intercom_authz_core::acting::{fields, other_actor};
//! let reply = fields("POST", "/conversations/{}/reply");
//! let body = serde_json::json!({"message_type": "comment", "type": "admin", "admin_id": "99"});
//! let other = other_actor(&body, &reply, Some("42")).unwrap();
//! assert_eq!((other.field.as_str(), other.named.as_str()), ("admin_id", "99"));
//! assert!(other_actor(&body, &reply, Some("99")).is_none());
//! let message = fields("POST", "/messages");
//! let from_user = serde_json::json!({"from": {"type": "user", "id": "5"}, "body": "hi"});
//! assert!(other_actor(&from_user, &message, Some("42")).is_none()); // a contact, not a teammate
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

/// The table, generated from the specs: method, path shape (`{}` for each parameter), where
/// (`body`/`query`), field, condition (`-` or `path=value`). The same rows with whether the spec
/// requires the field, its versions and its description: `tests/spec-acting/acting.tsv`.
pub const ACTING_TSV: &str = include_str!("acting.tsv");

/// A request field that names the acting teammate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActingField {
    /// The dotted path into the body (`admin_id`, `from.id`, `translated_content.*.author_id`).
    pub path: &'static str,
    /// Only where this sibling of the field has this value: `from.type=admin` is
    /// `("type", "admin")`.
    pub when: Option<(&'static str, &'static str)>,
}

impl ActingField {
    /// The top-level name of the field (what a query string would have to spell to reach it).
    pub fn top(&self) -> &'static str {
        let first = self.path.split('.').next().unwrap_or(self.path);
        first.strip_suffix("[]").unwrap_or(first)
    }
}

/// The acting fields of the route `method` `shape` (its template with every parameter `{}`).
pub fn fields(method: &str, shape: &str) -> Vec<ActingField> {
    rows()
        .filter(|r| r.0 == method && r.1 == shape)
        .map(|r| r.2)
        .collect()
}

/// Every row of [`ACTING_TSV`]: (method, shape, field).
pub fn rows() -> impl Iterator<Item = (&'static str, &'static str, ActingField)> {
    ACTING_TSV.lines().skip(1).filter_map(|line| {
        let mut c = line.split('\t');
        let (method, shape, place, path, cond) =
            (c.next()?, c.next()?, c.next()?, c.next()?, c.next()?);
        if place != "body" {
            return None;
        }
        let when = cond.split_once('=').map(|(p, v)| {
            let sibling = p.rsplit('.').next().unwrap_or(p);
            (sibling, v)
        });
        Some((method, shape, ActingField { path, when }))
    })
}

/// A value that names someone other than the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherActor {
    /// Where, as a concrete path (`translated_content.fr.author_id`).
    pub field: String,
    /// What it says (the id, or the JSON text of a value that is not an id).
    pub named: String,
}

/// The first of `fields` in `body` that names someone other than `caller` (`None`: nobody
/// else is named; with no `caller`, any id is someone else).
pub fn other_actor(
    body: &Value,
    fields: &[ActingField],
    caller: Option<&str>,
) -> Option<OtherActor> {
    let mut found = None;
    for f in fields {
        let segs: Vec<&str> = f.path.split('.').collect();
        walk(body, &segs, f.when, &mut String::new(), &mut |at, v| {
            if found.is_none() && !names_caller(v, caller) {
                found = Some(OtherActor {
                    field: at.into(),
                    named: shown(v),
                });
            }
        });
        if found.is_some() {
            break;
        }
    }
    found
}

/// Calls `seen` with every value the path `segs` reaches in `v`, where `when` holds.
fn walk(
    v: &Value,
    segs: &[&str],
    when: Option<(&str, &str)>,
    at: &mut String,
    seen: &mut dyn FnMut(&str, &Value),
) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    let Value::Object(map) = v else { return };
    let len = at.len();
    let (key, items) = match seg.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*seg, false),
    };
    let children: Vec<(&String, &Value)> = if key == "*" {
        map.iter().collect()
    } else {
        map.get_key_value(key).into_iter().collect()
    };
    for (k, child) in children {
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(k);
        if rest.is_empty() {
            let applies =
                when.is_none_or(|(s, want)| map.get(s).and_then(Value::as_str) == Some(want));
            if applies && !child.is_null() {
                seen(at, child);
            }
        } else if items {
            if let Value::Array(list) = child {
                for (i, item) in list.iter().enumerate() {
                    let l = at.len();
                    at.push_str(&alloc::format!("[{i}]"));
                    walk(item, rest, when, at, seen);
                    at.truncate(l);
                }
            }
        } else {
            walk(child, rest, when, at, seen);
        }
        at.truncate(len);
    }
}

/// Whether the id `v` is exactly `caller`'s.
fn names_caller(v: &Value, caller: Option<&str>) -> bool {
    let Some(caller) = caller else { return false };
    match v {
        Value::String(s) => s == caller,
        Value::Number(n) => n.as_u64().is_some_and(|n| n.to_string() == caller),
        _ => false,
    }
}

/// What a value says, for the deny message (at most 64 bytes of it).
fn shown(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::from("null"),
        Value::Array(_) => String::from("an array"),
        Value::Object(_) => String::from("an object"),
    };
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    String::from(s.get(..end).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_row_is_read() {
        let n = ACTING_TSV.lines().skip(1).filter(|l| !l.is_empty()).count();
        assert_eq!(rows().count(), n, "every row is a body field today");
        assert!(n >= 29);
    }

    #[test]
    fn nested_locales_and_conditions() {
        let article = fields("PUT", "/articles/{}");
        let body =
            json!({"translated_content": {"en": {"author_id": 42}, "fr": {"author_id": "7"}}});
        let o = other_actor(&body, &article, Some("42")).unwrap();
        assert_eq!(o.field, "translated_content.fr.author_id");
        assert_eq!(o.named, "7");
        let msg = fields("POST", "/messages");
        let admin = json!({"from": {"type": "admin", "id": 9}});
        assert_eq!(
            other_actor(&admin, &msg, Some("42")).unwrap().field,
            "from.id"
        );
        assert!(other_actor(&admin, &msg, Some("9")).is_none());
        // Not an id: never the caller; null: nobody.
        let odd = json!({"admin_id": {"id": "42"}});
        assert!(
            other_actor(&odd, &fields("POST", "/conversations/{}/reply"), Some("42")).is_some()
        );
        let null = json!({"admin_id": null});
        assert!(other_actor(
            &null,
            &fields("POST", "/conversations/{}/reply"),
            Some("42")
        )
        .is_none());
        // No caller id: any id names someone else.
        assert!(other_actor(
            &json!({"admin_id": "42"}),
            &fields("POST", "/conversations/{}/reply"),
            None
        )
        .is_some());
        // 42.0 and "042" are not 42.
        assert!(other_actor(
            &json!({"admin_id": 42.0}),
            &fields("POST", "/conversations/{}/reply"),
            Some("42")
        )
        .is_some());
        assert!(other_actor(
            &json!({"admin_id": "042"}),
            &fields("POST", "/conversations/{}/reply"),
            Some("42")
        )
        .is_some());
    }
}
