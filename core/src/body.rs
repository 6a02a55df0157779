//! Routes whose action depends on the request body (or the query string).
//!
//! `POST /conversations/{id}/parts` closes, assigns, snoozes or reopens depending on
//! `message_type`; `POST /tags` creates a tag or tags contacts; `POST /content/bulk_actions`
//! publishes or deletes. Such a route names a [`BodyRule`]; the rule reads the JSON body and
//! returns the permissions the request needs, which replace the route's own.
//!
//! The body is parsed strictly: a JSON object, no duplicate key at any depth (Rails keeps the
//! last duplicate, other parsers the first: either way two readers could disagree).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A rule that picks a route's permissions from its JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRule {
    /// `POST /conversations/{id}/parts`: `message_type` `close` | `assignment` | `snoozed` | `open`.
    ConversationParts,
    /// `POST /conversations/{id}/reply`: `message_type` `comment` | `quick_reply` (reply),
    /// `note` (note); and, as API versions up to 2.6 accepted them here, `close` | `assignment`
    /// | `snoozed` | `open` with the same permissions as through `/parts`.
    ConversationReply,
    /// `POST /tickets/{id}/reply`: `comment` | `quick_reply` (reply) or `note`.
    TicketReply,
    /// `PUT /tickets/{id}`: `open`/`state`/`ticket_state_id` (close), `assignee_id`/`admin_id`
    /// (assign), `snoozed_until` (snooze), anything else (update). Several fields need all.
    TicketUpdate,
    /// `POST /tags`: `{name}` or `{name,id}` creates or renames (manage); with `users` or
    /// `companies` (tag or untag) it applies.
    Tags,
    /// `POST /content/bulk_actions`: `action` `delete` | `publish`/`unpublish` | other (write).
    ContentBulkActions,
    /// `POST /messages`: recipients in `to`, `cc`, `bcc` (one: send; more: bulk send); `from`
    /// a contact: a conversation opened as that contact.
    Messages,
    /// `POST /news/news_items`, `PUT /news/news_items/{id}`: `state` `live` also needs publish.
    NewsItem,
    /// `POST /articles`, `PUT /articles/{id}` (and its draft): `state` `published`, a
    /// scheduled (un)publish, or a published translation also need publish.
    Article,
    /// `POST /tickets`, `POST /tickets/enqueue`: an `assignment` also needs assign.
    TicketCreate,
}

impl BodyRule {
    /// Every rule, for listings.
    pub const ALL: [BodyRule; 10] = [
        BodyRule::ConversationParts,
        BodyRule::ConversationReply,
        BodyRule::TicketReply,
        BodyRule::TicketUpdate,
        BodyRule::Tags,
        BodyRule::ContentBulkActions,
        BodyRule::Messages,
        BodyRule::NewsItem,
        BodyRule::Article,
        BodyRule::TicketCreate,
    ];

    /// The rule's name in catalogs and configurations.
    pub fn name(self) -> &'static str {
        match self {
            BodyRule::ConversationParts => "conversation_parts",
            BodyRule::ConversationReply => "conversation_reply",
            BodyRule::TicketReply => "ticket_reply",
            BodyRule::TicketUpdate => "ticket_update",
            BodyRule::Tags => "tags",
            BodyRule::ContentBulkActions => "content_bulk_actions",
            BodyRule::Messages => "messages",
            BodyRule::NewsItem => "news_item",
            BodyRule::Article => "article",
            BodyRule::TicketCreate => "ticket_create",
        }
    }

    /// The rule named `name`.
    pub fn parse(name: &str) -> Option<BodyRule> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The top-level body fields that decide; the same names in the query string make the
    /// request ambiguous (Rails merges query and body parameters).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            BodyRule::ConversationParts => &["message_type"],
            BodyRule::ConversationReply | BodyRule::TicketReply => &["message_type", "type"],
            BodyRule::TicketUpdate => TICKET_FIELDS,
            BodyRule::Tags => &["id", "users", "companies", "name"],
            BodyRule::ContentBulkActions => &["action"],
            BodyRule::Messages => &["to", "cc", "bcc", "from", "message_type"],
            BodyRule::NewsItem => &["state"],
            BodyRule::Article => ARTICLE_FIELDS,
            BodyRule::TicketCreate => &["assignment"],
        }
    }

    /// Every permission a body could ask for under this rule (for access matrices).
    pub fn possible(self) -> &'static [&'static str] {
        const STATE: [&str; 4] = [
            "conversations:close",
            "conversations:assign",
            "conversations:snooze",
            "conversations:open",
        ];
        match self {
            BodyRule::ConversationParts => &STATE,
            BodyRule::ConversationReply => &[
                "conversations:reply",
                "conversations:note",
                "conversations:close",
                "conversations:assign",
                "conversations:snooze",
                "conversations:open",
            ],
            BodyRule::TicketReply => &["tickets:reply", "tickets:note"],
            BodyRule::TicketUpdate => &[
                "tickets:update",
                "tickets:close",
                "tickets:assign",
                "tickets:snooze",
            ],
            BodyRule::Tags => &["tags:apply", "tags:manage"],
            BodyRule::ContentBulkActions => &["content:write", "content:publish", "content:delete"],
            BodyRule::Messages => &[
                "messages:send",
                "messages:bulk_send",
                "conversations:create",
            ],
            BodyRule::NewsItem => &["news:write", "news:publish"],
            BodyRule::Article => &["articles:write", "articles:publish"],
            BodyRule::TicketCreate => &["tickets:create", "tickets:assign"],
        }
    }

    /// The permissions a body asks for, by name, or why the body cannot be judged.
    pub fn required(self, body: &Value) -> Result<Vec<&'static str>, BodyError> {
        let obj = body.as_object().ok_or(BodyError::NotAnObject)?;
        let str_field = |k: &'static str| -> Result<Option<&str>, BodyError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(BodyError::WrongType(k)),
            }
        };
        let state_change = |mt: &str| -> Option<&'static str> {
            Some(match mt {
                "close" => "conversations:close",
                "assignment" => "conversations:assign",
                "snoozed" => "conversations:snooze",
                "open" => "conversations:open",
                _ => return None,
            })
        };
        Ok(match self {
            BodyRule::ConversationParts => {
                let mt = str_field("message_type")?.ok_or(BodyError::Missing("message_type"))?;
                alloc::vec![state_change(mt).ok_or_else(|| unknown(
                    "message_type",
                    mt,
                    PART_TYPES
                ))?]
            }
            BodyRule::ConversationReply => {
                let mt = str_field("message_type")?.ok_or(BodyError::Missing("message_type"))?;
                let _ = str_field("type")?;
                if let Some(p) = state_change(mt) {
                    alloc::vec![p]
                } else {
                    alloc::vec![match mt {
                        "comment" | "quick_reply" => "conversations:reply",
                        "note" => "conversations:note",
                        _ => return Err(unknown("message_type", mt, REPLY_TYPES)),
                    }]
                }
            }
            BodyRule::TicketReply => {
                let mt = str_field("message_type")?.ok_or(BodyError::Missing("message_type"))?;
                let _ = str_field("type")?;
                alloc::vec![match mt {
                    "comment" | "quick_reply" => "tickets:reply",
                    "note" => "tickets:note",
                    _ => return Err(unknown("message_type", mt, TICKET_REPLY_TYPES)),
                }]
            }
            BodyRule::TicketUpdate => {
                let mut out = Vec::new();
                for key in obj.keys() {
                    let p = match key.as_str() {
                        "open" | "state" | "ticket_state_id" => "tickets:close",
                        "assignee_id" | "admin_id" | "assignment" => "tickets:assign",
                        "snoozed_until" => "tickets:snooze",
                        _ => "tickets:update",
                    };
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
                if out.is_empty() {
                    out.push("tickets:update");
                }
                out
            }
            BodyRule::Tags => tags(obj)?,
            BodyRule::ContentBulkActions => {
                let action = str_field("action")?.ok_or(BodyError::Missing("action"))?;
                alloc::vec![match action {
                    "delete" => "content:delete",
                    "publish" | "unpublish" => "content:publish",
                    "set_availability" | "set_audience" | "update_tags" => "content:write",
                    _ => return Err(unknown("action", action, BULK_ACTIONS)),
                }]
            }
            BodyRule::Messages => messages(obj)?,
            BodyRule::NewsItem => match str_field("state")? {
                Some("live") => alloc::vec!["news:write", "news:publish"],
                None | Some("draft") => alloc::vec!["news:write"],
                Some(other) => return Err(unknown("state", other, &["draft", "live"])),
            },
            BodyRule::Article => {
                if article_publishes(obj)? {
                    alloc::vec!["articles:write", "articles:publish"]
                } else {
                    alloc::vec!["articles:write"]
                }
            }
            BodyRule::TicketCreate => match obj.get("assignment") {
                None | Some(Value::Null) => alloc::vec!["tickets:create"],
                Some(Value::Object(_)) => alloc::vec!["tickets:create", "tickets:assign"],
                Some(_) => return Err(BodyError::WrongType("assignment")),
            },
        })
    }
}

/// The `message_type`s of `POST /conversations/{id}/parts`.
const PART_TYPES: &[&str] = &["close", "assignment", "snoozed", "open"];
/// The `message_type`s of `POST /conversations/{id}/reply`.
const REPLY_TYPES: &[&str] = &[
    "comment",
    "quick_reply",
    "note",
    "close",
    "assignment",
    "snoozed",
    "open",
];
/// The `message_type`s of a ticket reply.
const TICKET_REPLY_TYPES: &[&str] = &["comment", "quick_reply", "note"];
/// The `action`s of `POST /content/bulk_actions`.
const BULK_ACTIONS: &[&str] = &[
    "delete",
    "publish",
    "unpublish",
    "set_availability",
    "set_audience",
    "update_tags",
];

/// The fields of an article body that can publish it.
const ARTICLE_FIELDS: &[&str] = &[
    "state",
    "scheduled_publish_at",
    "scheduled_unpublish_at",
    "translated_content",
];

/// Whether an article body publishes (or schedules publishing) the article or a translation.
fn article_publishes(
    obj: &serde_json::Map<alloc::string::String, Value>,
) -> Result<bool, BodyError> {
    let state = |v: Option<&Value>, field: &'static str| match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s == "published" => Ok(true),
        Some(Value::String(s)) if s == "draft" => Ok(false),
        Some(Value::String(other)) => Err(unknown(field, other, &["draft", "published"])),
        Some(_) => Err(BodyError::WrongType(field)),
    };
    let mut publishes = state(obj.get("state"), "state")?;
    for k in ["scheduled_publish_at", "scheduled_unpublish_at"] {
        publishes |= obj.get(k).is_some_and(|v| !v.is_null());
    }
    match obj.get("translated_content") {
        None | Some(Value::Null) => {}
        Some(Value::Object(locales)) => {
            for t in locales.values() {
                if let Value::Object(t) = t {
                    publishes |= state(t.get("state"), "translated_content")?;
                }
            }
        }
        Some(_) => return Err(BodyError::WrongType("translated_content")),
    }
    Ok(publishes)
}

/// The fields of `POST /messages` that name recipients (2.16 added `cc` and `bcc`).
pub const RECIPIENT_FIELDS: [&str; 3] = ["to", "cc", "bcc"];

/// `POST /messages`: an admin's message to contacts (`to`, `cc`, `bcc`: more than one
/// recipient in all is a bulk send), or a contact's message (`from` a user or lead, no
/// recipients: it opens a conversation as that contact). A body that is both needs both.
fn messages(
    obj: &serde_json::Map<alloc::string::String, Value>,
) -> Result<Vec<&'static str>, BodyError> {
    let mut recipients = 0usize;
    let mut named = false;
    for f in RECIPIENT_FIELDS {
        match obj.get(f) {
            None | Some(Value::Null) => {}
            Some(v) => {
                named = true;
                let n = count_recipients(v).ok_or(BodyError::WrongType(f))?;
                if n == 0 {
                    return Err(BodyError::Empty(f));
                }
                recipients += n;
            }
        }
    }
    let from_contact = match obj.get("from") {
        None | Some(Value::Null) => false,
        Some(Value::Object(from)) => match from.get("type") {
            Some(Value::String(t)) => t != "admin",
            None | Some(Value::Null) => false,
            Some(_) => return Err(BodyError::WrongType("from")),
        },
        Some(_) => return Err(BodyError::WrongType("from")),
    };
    let mut out = Vec::new();
    if from_contact {
        out.push("conversations:create");
    }
    if named {
        out.push(if recipients > 1 {
            "messages:bulk_send"
        } else {
            "messages:send"
        });
    }
    if out.is_empty() {
        return Err(BodyError::Missing("to"));
    }
    Ok(out)
}

/// The keys by which a recipient or a tag target is named (the specs' examples use each:
/// `tests/spec_examples.rs` judges every documented body).
const SELECTOR_KEYS: [&str; 7] = [
    "id",
    "email",
    "user_id",
    "intercom_user_id",
    "external_id",
    "company_id",
    "phone",
];

/// Whether `v` is an object that names someone (a non-null `id`, `email`, …).
fn names_someone(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        SELECTOR_KEYS
            .iter()
            .any(|k| o.get(*k).is_some_and(|x| !x.is_null()))
    })
}

/// How many recipients a recipient field names, counting lists hidden anywhere: an array
/// (each element counted), a recipient object whose `id`/`email`/`user_id` is itself a list,
/// or a string listing several (`"a@x.io, b@y.io"`). `None`: not a recipient shape.
fn count_recipients(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => a.iter().map(count_recipients).sum(),
        Value::String(s) => Some(list_len(s)),
        Value::Number(_) => Some(1),
        // An object that names nobody (`{}`, `{"type":"user"}`) is not a recipient: refused
        // rather than counted as one.
        Value::Object(_) if !names_someone(v) => None,
        Value::Object(o) => {
            let mut n = 1usize;
            for k in SELECTOR_KEYS {
                match o.get(k) {
                    Some(Value::Array(a)) => n = n.max(a.len()),
                    Some(Value::String(s)) => n = n.max(list_len(s)),
                    _ => {}
                }
            }
            Some(n)
        }
        Value::Null | Value::Bool(_) => None,
    }
}

/// The items of a list written in a string (`,` `;` or whitespace separated).
fn list_len(s: &str) -> usize {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .count()
}

/// `POST /tags`: create or rename (`name`, `id`: manage tags) and/or tag or untag (`users`,
/// `companies`: apply tags). A body that is both needs both. A target list is judged by its
/// shape as well as its emptiness: a non-empty array of objects, each naming its target
/// (`id`, `email`, …); an empty one, or any other shape (`"users": {}`, `["5"]`), which
/// Intercom's Rails could read as no targets at all (a create or rename), is refused.
fn tags(
    obj: &serde_json::Map<alloc::string::String, Value>,
) -> Result<Vec<&'static str>, BodyError> {
    let mut targets = false;
    for k in ["users", "companies"] {
        match obj.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => return Err(BodyError::Empty(k)),
            Some(Value::Array(a)) if a.iter().all(names_someone) => targets = true,
            Some(_) => return Err(BodyError::WrongType(k)),
        }
    }
    let renames = obj.get("id").is_some_and(|v| !v.is_null());
    Ok(match (targets, renames) {
        (true, true) => alloc::vec!["tags:apply", "tags:manage"],
        (true, false) => alloc::vec!["tags:apply"],
        (false, _) => alloc::vec!["tags:manage"],
    })
}

const TICKET_FIELDS: &[&str] = &[
    "open",
    "state",
    "ticket_state_id",
    "assignee_id",
    "admin_id",
    "assignment",
    "snoozed_until",
];

/// The most characters of a client's value an error message repeats.
pub const SHOWN_VALUE: usize = 40;

/// A value the rule does not know, as [`BodyError::UnknownValue`] shows it.
fn unknown(field: &'static str, value: &str, accepted: &'static [&'static str]) -> BodyError {
    let mut shown: alloc::string::String = value.chars().take(SHOWN_VALUE).collect();
    if value.chars().nth(SHOWN_VALUE).is_some() {
        shown.push('…');
    }
    BodyError::UnknownValue(field, shown, accepted)
}

/// Why a body could not be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON, or a duplicate key, or nested too deep.
    Unparsable,
    /// Not a JSON object.
    NotAnObject,
    /// A deciding field is absent.
    Missing(&'static str),
    /// A deciding field has the wrong JSON type.
    WrongType(&'static str),
    /// A deciding field has a value the rule does not know: the field, the value (cut to
    /// [`SHOWN_VALUE`] characters) and the values the rule accepts.
    UnknownValue(&'static str, alloc::string::String, &'static [&'static str]),
    /// A deciding field also appears in the query string.
    InQuery(&'static str),
    /// A selector is present but empty (no recipients, no targets): refused, never judged by
    /// its cheapest reading.
    Empty(&'static str),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Unparsable => f.write_str("the body is not valid JSON (or repeats a key)"),
            BodyError::NotAnObject => f.write_str("the body is not a JSON object"),
            BodyError::Missing(k) => write!(f, "the body has no `{k}`"),
            BodyError::WrongType(k) => write!(f, "the body's `{k}` has the wrong type"),
            BodyError::UnknownValue(k, value, accepted) => {
                write!(f, "the body's `{k}` is \"{value}\", which this route does not accept (it accepts ")?;
                for (i, a) in accepted.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}\"{a}\"")?;
                }
                f.write_str(")")
            }
            BodyError::Empty(k) => write!(f, "the body's `{k}` is present but empty"),
            BodyError::InQuery(k) => write!(
                f,
                "`{k}` decides this route and must not be in the query string"
            ),
        }
    }
}

/// The deepest nesting a body may have.
pub const MAX_DEPTH: usize = 64;

/// Parses a body as strict JSON: no duplicate keys at any depth, at most [`MAX_DEPTH`] deep.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Strict::deserialize(&mut de).map_err(|_| BodyError::Unparsable)?;
    de.end().map_err(|_| BodyError::Unparsable)?;
    if depth(&v.0, 0) > MAX_DEPTH {
        return Err(BodyError::Unparsable);
    }
    Ok(v.0)
}

fn depth(v: &Value, d: usize) -> usize {
    if d > MAX_DEPTH {
        return d;
    }
    match v {
        Value::Array(a) => a.iter().map(|x| depth(x, d + 1)).max().unwrap_or(d + 1),
        Value::Object(o) => o.values().map(|x| depth(x, d + 1)).max().unwrap_or(d + 1),
        _ => d,
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(String::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // Built in place (a map collected from an iterator is sorted again).
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k, v).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(out))
    }
}

/// A rule that picks extra permissions from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryRule {
    /// `DELETE /conversations/{id}`: any `retain_metrics` other than `true` also deletes the
    /// conversation's metrics, which needs `conversations:delete_metrics` (and the
    /// `delete_conversations_and_metrics` scope).
    RetainMetrics,
}

impl QueryRule {
    /// The rule's name in catalogs and configurations.
    pub fn name(self) -> &'static str {
        "retain_metrics"
    }

    /// The rule named `name`.
    pub fn parse(name: &str) -> Option<QueryRule> {
        (name == "retain_metrics").then_some(QueryRule::RetainMetrics)
    }

    /// Extra `(permission, scope)` the query asks for, if any.
    pub fn extra(self, query: &str) -> Option<(&'static str, &'static str)> {
        // Any value but a plainly spelled `true` may delete the metrics (a Rack spelling such as
        // `retain_metrics[]=true` reaches Rails as an array: judged as its costlier reading).
        let deletes =
            crate::rack::values(query, "retain_metrics").any(|(plain, v)| !plain || v != "true");
        deletes.then_some((
            "conversations:delete_metrics",
            "delete_conversations_and_metrics",
        ))
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use serde_json::json;

    #[test]
    fn strict_parse() {
        assert!(parse_strict(br#"{"a":1,"b":{"c":[1,2]}}"#).is_ok());
        assert_eq!(
            parse_strict(br#"{"a":1,"a":2}"#),
            Err(BodyError::Unparsable)
        );
        assert_eq!(
            parse_strict(br#"{"x":{"a":1,"a":2}}"#),
            Err(BodyError::Unparsable)
        );
        assert_eq!(parse_strict(b"{"), Err(BodyError::Unparsable));
        assert_eq!(parse_strict(b"{} x"), Err(BodyError::Unparsable));
        assert_eq!(
            parse_strict(b"message_type=close"),
            Err(BodyError::Unparsable)
        );
        let deep = alloc::format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse_strict(deep.as_bytes()), Err(BodyError::Unparsable));
    }

    #[test]
    fn rules() {
        use BodyRule::*;
        let cases: &[(BodyRule, Value, Result<&[&str], BodyError>)] = &[
            (
                ConversationParts,
                json!({"message_type":"close","type":"admin","admin_id":"1"}),
                Ok(&["conversations:close"]),
            ),
            (
                ConversationParts,
                json!({"message_type":"assignment"}),
                Ok(&["conversations:assign"]),
            ),
            (
                ConversationParts,
                json!({"message_type":"comment"}),
                Err(unknown("message_type", "comment", PART_TYPES)),
            ),
            (
                ConversationParts,
                json!({"message_type":["close"]}),
                Err(BodyError::WrongType("message_type")),
            ),
            (
                ConversationParts,
                json!({}),
                Err(BodyError::Missing("message_type")),
            ),
            (ConversationParts, json!([]), Err(BodyError::NotAnObject)),
            (
                ConversationReply,
                json!({"message_type":"note","type":"admin"}),
                Ok(&["conversations:note"]),
            ),
            (
                ConversationReply,
                json!({"message_type":"close","type":"admin"}),
                Ok(&["conversations:close"]),
            ),
            (
                TicketUpdate,
                json!({"open":false,"assignee_id":"5"}),
                Ok(&["tickets:assign", "tickets:close"]),
            ),
            (
                TicketUpdate,
                json!({"ticket_attributes":{}}),
                Ok(&["tickets:update"]),
            ),
            (Tags, json!({"name":"vip"}), Ok(&["tags:manage"])),
            (
                Tags,
                json!({"name":"vip","companies":[{"id":"1","untag":true}]}),
                Ok(&["tags:apply"]),
            ),
            (
                ContentBulkActions,
                json!({"action":"delete","content_ids":[1]}),
                Ok(&["content:delete"]),
            ),
            (
                ContentBulkActions,
                json!({"action":"nuke"}),
                Err(unknown("action", "nuke", BULK_ACTIONS)),
            ),
            (
                Messages,
                json!({"to":{"type":"user","id":"1"}}),
                Ok(&["messages:send"]),
            ),
            (
                Messages,
                json!({"to":[{"id":"1"},{"id":"2"}]}),
                Ok(&["messages:bulk_send"]),
            ),
            (
                NewsItem,
                json!({"state":"live"}),
                Ok(&["news:write", "news:publish"]),
            ),
            (NewsItem, json!({"state":"draft"}), Ok(&["news:write"])),
            (NewsItem, json!({"title":"t"}), Ok(&["news:write"])),
            (
                NewsItem,
                json!({"state":"Live"}),
                Err(unknown("state", "Live", &["draft", "live"])),
            ),
            (Article, json!({"title":"t"}), Ok(&["articles:write"])),
            (Article, json!({"state":"draft"}), Ok(&["articles:write"])),
            (
                Article,
                json!({"state":"published"}),
                Ok(&["articles:write", "articles:publish"]),
            ),
            (
                Article,
                json!({"scheduled_publish_at": 1_800_000_000}),
                Ok(&["articles:write", "articles:publish"]),
            ),
            (
                Article,
                json!({"state":"draft","translated_content":{"fr":{"title":"t","state":"published"}}}),
                Ok(&["articles:write", "articles:publish"]),
            ),
            (
                Article,
                json!({"translated_content":{"fr":{"state":"live"}}}),
                Err(unknown(
                    "translated_content",
                    "live",
                    &["draft", "published"],
                )),
            ),
            (
                Article,
                json!({"state":1}),
                Err(BodyError::WrongType("state")),
            ),
            (
                TicketCreate,
                json!({"ticket_type_id":"1"}),
                Ok(&["tickets:create"]),
            ),
            (
                TicketCreate,
                json!({"assignment":{"admin_assignee_id":"1"}}),
                Ok(&["tickets:create", "tickets:assign"]),
            ),
            (
                Messages,
                json!({"to":{"id":"1"},"bcc":[{"id":"2"}]}),
                Ok(&["messages:bulk_send"]),
            ),
            (
                Messages,
                json!({"to":"a@x.io b@y.io"}),
                Ok(&["messages:bulk_send"]),
            ),
            (Messages, json!({"to":[]}), Err(BodyError::Empty("to"))),
            (
                Messages,
                json!({"to":{"id":"1"},"cc":[]}),
                Err(BodyError::Empty("cc")),
            ),
            (
                Messages,
                json!({"from":{"type":"admin","id":"1"}}),
                Err(BodyError::Missing("to")),
            ),
            (
                Messages,
                json!({"from":{"type":"lead","id":"1"}}),
                Ok(&["conversations:create"]),
            ),
            (
                Tags,
                json!({"id":"1","name":"x","companies":[{"id":"1"}]}),
                Ok(&["tags:apply", "tags:manage"]),
            ),
            (
                Tags,
                json!({"name":"x","users":{}}),
                Err(BodyError::WrongType("users")),
            ),
            (
                Tags,
                json!({"name":"x","companies":["5"]}),
                Err(BodyError::WrongType("companies")),
            ),
            (
                Tags,
                json!({"name":"x","users":[{"untag":true}]}),
                Err(BodyError::WrongType("users")),
            ),
            (
                Messages,
                json!({"message_type":"inapp","body":"b","from":{"type":"admin","id":"1"},"to":{}}),
                Err(BodyError::WrongType("to")),
            ),
            (
                Tags,
                json!({"name":"x","users":[]}),
                Err(BodyError::Empty("users")),
            ),
        ];
        for (rule, body, want) in cases {
            let got = rule.required(body);
            assert_eq!(
                got.as_deref().map_err(Clone::clone),
                want.clone(),
                "{} {body}",
                rule.name()
            );
        }
        for r in BodyRule::ALL {
            assert_eq!(BodyRule::parse(r.name()), Some(r));
        }
        // Every permission a case above produced is among the rule's possible ones.
        for (rule, body, want) in cases {
            if let Ok(perms) = want {
                for p in *perms {
                    assert!(rule.possible().contains(p), "{} {body}: {p}", rule.name());
                }
            }
        }
    }

    /// The values an `UnknownValue` message lists are the ones the rule takes: each is
    /// accepted, and the message names the value sent and them.
    #[test]
    fn unknown_values_name_what_is_accepted() {
        use BodyRule::*;
        let lists: [(BodyRule, &str, &[&str]); 6] = [
            (ConversationParts, "message_type", PART_TYPES),
            (ConversationReply, "message_type", REPLY_TYPES),
            (TicketReply, "message_type", TICKET_REPLY_TYPES),
            (ContentBulkActions, "action", BULK_ACTIONS),
            (NewsItem, "state", &["draft", "live"]),
            (Article, "state", &["draft", "published"]),
        ];
        for (rule, field, accepted) in lists {
            for v in accepted {
                let r = rule.required(&json!({ field: v }));
                assert!(r.is_ok(), "{rule:?} {field}={v}: {r:?}");
            }
            let long = "x".repeat(100);
            let e = rule.required(&json!({ field: long })).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("\"{}…\"", "x".repeat(SHOWN_VALUE))),
                "{msg}"
            );
            for v in accepted {
                assert!(msg.contains(&format!("\"{v}\"")), "{msg} lacks {v}");
            }
        }
    }

    #[test]
    fn retain_metrics() {
        let r = QueryRule::RetainMetrics;
        assert!(r.extra("").is_none());
        assert!(r.extra("retain_metrics=true").is_none());
        assert!(r.extra("retain_metrics=false").is_some());
        assert!(r.extra("retain_metrics=FALSE").is_some());
        assert!(r.extra("retain%5fmetrics=false").is_some());
        assert!(r
            .extra("retain_metrics=true&retain_metrics=false")
            .is_some());
    }
}
