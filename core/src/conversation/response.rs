//! Judging a read's response: one conversation, or a list whose items another teammate's are
//! redacted in.
//!
//! The body is not built into a JSON tree. Each conversation is read for the few fields the
//! judgement needs (the assignee ids; what a redaction keeps), everything else is checked as
//! JSON and skipped, and the answer is written from the original bytes: an item the teammate
//! may see goes on byte for byte. A field the judgement reads that appears twice, in a
//! conversation or at the top of a list, makes the answer unjudgeable (two readers could
//! disagree); so does anything that is not JSON.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{Assignment, Kind, Viewer};

/// What the judged response becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Forward it as it came.
    Unchanged,
    /// Forward this body instead: `count` conversations were redacted.
    Redacted {
        /// The new body.
        body: Vec<u8>,
        /// How many conversations were redacted.
        count: usize,
    },
    /// A single conversation the teammate may not see: answer 403
    /// `conversation_not_accessible` instead.
    NotAccessible,
}

/// What a redacted conversation keeps: what identifies it and why it is hidden.
pub const KEPT: [&str; 6] = [
    "type",
    "id",
    "created_at",
    "updated_at",
    "admin_assignee_id",
    "team_assignee_id",
];

/// The top-level fields of a list answer that are passed on (anything else is dropped: it
/// could hold conversations the filter did not judge).
pub const LIST_FIELDS: [&str; 4] = ["type", "conversations", "total_count", "pages"];

/// A conversation's assignment seen in a response, with its id.
pub type Seen<'s> = dyn FnMut(&str, &Assignment) + 's;

/// A field that was present (`null` included), as its JSON text; absent is `None`.
#[derive(Default, Clone, Copy)]
struct Field<'a>(Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(|r| Field(Some(r)))
    }
}

/// A conversation, as far as judging it goes. A repeated field is an error (serde's derive).
#[derive(Deserialize)]
struct Conversation<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Field<'a>,
    #[serde(default, borrow)]
    id: Field<'a>,
    #[serde(default, borrow)]
    created_at: Field<'a>,
    #[serde(default, borrow)]
    updated_at: Field<'a>,
    #[serde(default, borrow)]
    admin_assignee_id: Field<'a>,
    #[serde(default, borrow)]
    team_assignee_id: Field<'a>,
}

impl Conversation<'_> {
    fn kept(&self) -> [Field<'_>; 6] {
        [
            self.kind,
            self.id,
            self.created_at,
            self.updated_at,
            self.admin_assignee_id,
            self.team_assignee_id,
        ]
    }

    /// Both assignee fields must be present (`null` when nobody).
    fn assignment(&self) -> Result<Assignment, &'static str> {
        let (Field(Some(admin)), Field(Some(team))) =
            (self.admin_assignee_id, self.team_assignee_id)
        else {
            return Err("a conversation lacks `admin_assignee_id` or `team_assignee_id`");
        };
        Ok(Assignment {
            admin: raw_id(admin)?,
            team: raw_id(team)?,
        })
    }

    /// `{"type":…,"id":…,…,"redacted":true}`: the kept fields, as they came.
    fn redacted(&self) -> String {
        let mut out = String::from("{");
        for (name, Field(v)) in KEPT.iter().zip(self.kept()) {
            if let Some(v) = v {
                out.push('"');
                out.push_str(name);
                out.push_str("\":");
                out.push_str(v.get());
                out.push(',');
            }
        }
        out.push_str("\"redacted\":true}");
        out
    }
}

/// An id: a number or a non-empty string; `null` is nobody; anything else cannot be read.
fn raw_id(v: &RawValue) -> Result<Option<String>, &'static str> {
    let bad = "an assignee id is neither a number, a string nor null";
    match serde_json::from_slice::<serde_json::Value>(v.get().as_bytes()).map_err(|_| bad)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        serde_json::Value::String(s) if !s.is_empty() => Ok(Some(s)),
        _ => Err(bad),
    }
}

fn is_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// Reads one conversation object; `None` when it is not an object.
fn conversation(text: &str) -> Result<Option<Conversation<'_>>, &'static str> {
    if !is_object(text) {
        return Ok(None);
    }
    serde_json::from_slice(text.as_bytes())
        .map(Some)
        .map_err(|_| "a conversation is not strict JSON, or repeats a field the judgement reads")
}

/// The assignment of one conversation's JSON text (a lookup's answer). Both fields must be
/// present (`null` when nobody): a conversation without them cannot be judged.
pub fn assignment(text: &str) -> Result<Assignment, &'static str> {
    conversation(text)?
        .ok_or("a conversation is not a JSON object")?
        .assignment()
}

/// Tells `seen` of a conversation with an id.
fn tell(seen: &mut Seen<'_>, c: &Conversation<'_>, a: &Assignment) {
    if let Some(id) = c.id.0.and_then(|v| raw_id(v).ok().flatten()) {
        seen(&id, a);
    }
}

/// Judges a successful response's JSON body (`kind` [`Kind::One`] or [`Kind::List`]) for
/// `viewer`. The error says why it cannot be judged: the front-end must not pass it on.
pub fn judge_response(kind: Kind, viewer: &Viewer, body: &[u8]) -> Result<Judged, &'static str> {
    judge_response_seen(kind, viewer, body, &mut |_, _| {})
}

/// [`judge_response`], telling `seen` the assignment of every conversation it judged (the
/// filter remembers them: a write after a read needs no lookup).
pub fn judge_response_seen(
    kind: Kind,
    viewer: &Viewer,
    body: &[u8],
    seen: &mut Seen<'_>,
) -> Result<Judged, &'static str> {
    // Each reading below checks the whole text as JSON (nothing after it either).
    let text = core::str::from_utf8(body).map_err(|_| "the response is not strict JSON")?;
    match kind {
        Kind::One => judge_one(viewer, text, seen),
        Kind::List => judge_list(viewer, text, seen),
        _ => Err("this route's response is not judged"),
    }
}

fn judge_one(viewer: &Viewer, text: &str, seen: &mut Seen<'_>) -> Result<Judged, &'static str> {
    let c = conversation(text)?.ok_or("a conversation is not a JSON object")?;
    let a = c.assignment()?;
    tell(seen, &c, &a);
    Ok(if viewer.may_access(&a) {
        Judged::Unchanged
    } else {
        Judged::NotAccessible
    })
}

/// The top of a list answer: every field, in order, as it came; a repeated name is an error.
struct Top<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Top<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Top<'a>, M::Error> {
                let mut out: Vec<(String, &'a RawValue)> = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(serde::de::Error::custom("a repeated field"));
                    }
                    out.push((k, m.next_value()?));
                }
                Ok(Top(out))
            }
        }
        d.deserialize_map(V(core::marker::PhantomData))
    }
}

fn judge_list(viewer: &Viewer, text: &str, seen: &mut Seen<'_>) -> Result<Judged, &'static str> {
    if !is_object(text) {
        return Err("the list is not a JSON object");
    }
    let Top(fields) = serde_json::from_slice(text.as_bytes())
        .map_err(|_| "the list is not strict JSON, or repeats a field at its top")?;
    let items = fields
        .iter()
        .find(|(k, _)| k == "conversations")
        .and_then(|(_, v)| serde_json::from_slice::<Vec<&RawValue>>(v.get().as_bytes()).ok())
        .ok_or("the list has no `conversations` array")?;
    let dropped = fields
        .iter()
        .any(|(k, _)| !LIST_FIELDS.contains(&k.as_str()));
    let mut count = 0;
    let mut judged = Vec::with_capacity(items.len());
    for item in items {
        judged.push(judge_item(viewer, item, seen, &mut count)?);
    }
    if count == 0 && !dropped {
        return Ok(Judged::Unchanged);
    }
    Ok(Judged::Redacted {
        body: write_list(&fields, &judged).into_bytes(),
        count,
    })
}

/// An item as it goes on: its own text, or its redaction (an item that cannot be judged is
/// redacted, never passed on).
enum Item<'a> {
    Keep(&'a RawValue),
    Redact(String),
}

fn judge_item<'a>(
    viewer: &Viewer,
    item: &'a RawValue,
    seen: &mut Seen<'_>,
    count: &mut usize,
) -> Result<Item<'a>, &'static str> {
    let Some(c) = conversation(item.get())? else {
        *count += 1;
        return Ok(Item::Redact("{\"redacted\":true}".into()));
    };
    let a = c.assignment();
    if let Ok(a) = &a {
        tell(seen, &c, a);
    }
    if a.is_ok_and(|a| viewer.may_access(&a)) {
        return Ok(Item::Keep(item));
    }
    *count += 1;
    Ok(Item::Redact(c.redacted()))
}

/// The list again: its known top-level fields in their order, the judged items.
fn write_list(fields: &[(String, &RawValue)], items: &[Item<'_>]) -> String {
    let mut out = String::from("{");
    for (k, v) in fields
        .iter()
        .filter(|(k, _)| LIST_FIELDS.contains(&k.as_str()))
    {
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(k);
        out.push_str("\":");
        if k == "conversations" {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(match item {
                    Item::Keep(raw) => raw.get(),
                    Item::Redact(text) => text,
                });
            }
            out.push(']');
        } else {
            out.push_str(v.get());
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::conversation::Access;
    use alloc::format;

    fn mine() -> Viewer {
        Viewer {
            access: Access::AssignedToMe,
            admin: Some("7".into()),
            teams: Vec::new(),
            nobody: super::super::Nobody::Null,
        }
    }

    fn list(items: &str) -> String {
        format!(r#"{{"type":"conversation.list","conversations":[{items}],"total_count":2}}"#)
    }

    #[test]
    fn an_item_they_may_see_goes_on_byte_for_byte() {
        // Spacing, key order and escapes of the teammate's own item are kept as sent.
        let own =
            r#"{ "id" : "1", "team_assignee_id":null, "admin_assignee_id":7, "x":"caf\u00e9" }"#;
        let other =
            r#"{"id":"2","admin_assignee_id":9,"team_assignee_id":null,"source":{"body":"s"}}"#;
        let body = list(&format!("{own},{other}"));
        let Ok(Judged::Redacted { body, count }) =
            judge_response(Kind::List, &mine(), body.as_bytes())
        else {
            panic!()
        };
        assert_eq!(count, 1);
        let want = list(&format!(
            r#"{own},{{"id":"2","admin_assignee_id":9,"team_assignee_id":null,"redacted":true}}"#
        ));
        assert_eq!(String::from_utf8(body).unwrap(), want);
    }

    #[test]
    fn a_field_read_twice_or_trailing_bytes_cannot_be_judged() {
        let v = mine();
        for body in [
            // An escaped spelling is the same name: two readers could disagree.
            r#"{"id":"1","admin_assignee_id":7,"admin_assignee\u005fid":9,"team_assignee_id":null}"#,
            r#"{"id":"1","admin_assignee_id":7,"team_assignee_id":null} {}"#,
            r#"{"id":"1","admin_assignee_id":7,"team_assignee_id":null"#,
        ] {
            assert!(
                judge_response(Kind::One, &v, body.as_bytes()).is_err(),
                "{body}"
            );
        }
        let twice = r#"{"conversations":[],"conversations":[{"id":"2","admin_assignee_id":9,"team_assignee_id":null}]}"#;
        assert!(judge_response(Kind::List, &v, twice.as_bytes()).is_err());
        let item_twice = list(
            r#"{"id":"1","admin_assignee_id":7,"team_assignee_id":null,"team_assignee_id":5}"#,
        );
        assert!(judge_response(Kind::List, &v, item_twice.as_bytes()).is_err());
        assert!(judge_response(Kind::One, &v, b"{\"id\":\"1\",\xff}").is_err());
    }

    #[test]
    fn an_item_that_is_not_an_object_is_redacted() {
        let body = list(r#""1",{"id":"2","admin_assignee_id":7,"team_assignee_id":null}"#);
        let Ok(Judged::Redacted { body, count }) =
            judge_response(Kind::List, &mine(), body.as_bytes())
        else {
            panic!()
        };
        assert_eq!(count, 1);
        assert!(String::from_utf8(body)
            .unwrap()
            .contains(r#"[{"redacted":true},{"id":"2""#));
    }
}
