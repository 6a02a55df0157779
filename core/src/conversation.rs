//! Conversation access by assignment (seed 004, Intercom's first teammate permission).
//!
//! A role may see every conversation ([`Access::All`], the default) or only those assigned to
//! the teammate (always), to one of their teams, or nobody. Which conversation a request
//! touches, and how it is judged, is the route's [`Kind`]:
//!
//! - **reads** (`GET /conversations/{id}`, the list) are judged on the response: a
//!   conversation the teammate may not see is refused (one) or redacted (in a list) by
//!   [`judge_response`];
//! - **writes and reads of a conversation's parts** (`/conversations/{id}/…`) are judged before
//!   the request goes on, from the conversation's current assignment, which the front-end looks
//!   up ([`read_lookup`]) and the evaluator judges ([`Lookup`]);
//! - **search** goes to Intercom with the teammate's assignment added to the query
//!   ([`search`]); its answer is judged as a list;
//! - **routes that reach a conversation some other way** (tickets, calls, merges, Fin, the body
//!   of `POST /conversations/redact`, a query parameter naming a conversation
//!   ([`QUERY_PARAMS`])) are [`Kind::Unjudged`]: refused for a restricted role; reporting
//!   exports ([`Kind::Export`]) unless the role says `reporting_exports: allow`.
//!
//! Without "Can reassign conversations" (`conversations:assign`), a role with
//! [`Reassign::OwnUnassignedOrTeam`] may still reassign a conversation from its own inbox, the
//! unassigned inbox or a team inbox (seed 004): the lookup decides that too.
//!
//! `tests/spec-conversations/reach.tsv`, extracted from the OpenAPI descriptions, lists every
//! operation that reaches a conversation; `tests/conversations.rs` checks that none is
//! [`Kind::Free`].

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::router::Method;
use crate::version::ApiVersion;

/// Which conversations a role may see and act on (Intercom's "Conversation access").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Access {
    /// Every conversation (the default).
    #[default]
    All,
    /// Only conversations assigned to the teammate.
    AssignedToMe,
    /// Conversations assigned to the teammate or to one of their teams.
    AssignedToMeOrMyTeams,
    /// Conversations assigned to the teammate, to one of their teams, or to nobody.
    AssignedToMeMyTeamsOrUnassigned,
}

impl Access {
    /// The name as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::All => "all",
            Access::AssignedToMe => "assigned_to_me",
            Access::AssignedToMeOrMyTeams => "assigned_to_me_or_my_teams",
            Access::AssignedToMeMyTeamsOrUnassigned => "assigned_to_me_my_teams_or_unassigned",
        }
    }
}

/// Whom a role lacking `conversations:assign` may reassign from (seed 004).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Reassign {
    /// Assigning needs `conversations:assign` (the default).
    #[default]
    WithPermission,
    /// Without `conversations:assign`, only a conversation in the teammate's own inbox, the
    /// unassigned inbox or a team inbox (no teammate assigned): Intercom's rule.
    OwnUnassignedOrTeam,
}

/// Whether a role with restricted conversation access may export reporting data (the
/// conversation dataset carries every conversation's assignee, state and channel, and the
/// export cannot be narrowed to the teammate's conversations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ReportingExports {
    /// Refused: `403 reporting_export_restricted` (the default).
    #[default]
    Refuse,
    /// Allowed (with `reports:export`): the role's teammates see every conversation's
    /// metadata in the export, as Intercom's own "Can export CSV" lets them.
    Allow,
}

/// How a route reaches conversations, for a role with restricted access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It does not reach a conversation.
    Free,
    /// It creates one (the new conversation is the caller's to see).
    Created,
    /// It answers one conversation: judged on the response.
    One,
    /// It answers a list (`conversations`): each item judged on the response.
    List,
    /// It reads or changes the conversation named by its first path parameter: judged before
    /// it goes on, from a lookup.
    ById,
    /// It reaches conversations the filter does not judge by assignment: refused.
    Unjudged,
    /// A reporting export (every conversation's assignee, state, channel): refused unless
    /// the role says `reporting_exports: allow`.
    Export,
    /// Conversation search: the teammate's assignment condition is added to the query
    /// ([`search::rewrite`]) and the answer judged as a list.
    Search,
}

impl Kind {
    /// The name, for `explain` and the spec test.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Free => "free",
            Kind::Created => "created",
            Kind::One => "one",
            Kind::List => "list",
            Kind::ById => "by_id",
            Kind::Unjudged => "unjudged",
            Kind::Export => "export",
            Kind::Search => "search",
        }
    }
}

/// The route's kind, from its method and template shape (`{}` for each parameter).
pub fn kind(method: Method, shape: &str) -> Kind {
    let mut segs = shape.trim_start_matches('/').split('/');
    let first = segs.next().unwrap_or_default();
    let second = segs.next();
    let third = segs.next();
    match (first, second, third, method) {
        ("conversations", None, _, Method::Get) => Kind::List,
        ("conversations", None, _, _) => Kind::Created,
        // Search runs the caller's query on every conversation before anything is judged: a
        // query on another teammate's conversation (`id = 99 AND source.body ~ "…"`) would
        // answer through the number of matches. The teammate's assignment goes into the query.
        ("conversations", Some("search"), None, Method::Post) => Kind::Search,
        ("conversations", Some("attributes"), _, _) => Kind::Free,
        ("conversations", Some("{}"), None, Method::Get) => Kind::One,
        ("conversations", Some("{}"), Some("merge"), _) => Kind::Unjudged,
        ("conversations", Some("{}"), _, _) => Kind::ById,
        ("conversations", _, _, _) => Kind::Unjudged,
        ("messages", None, _, Method::Post) => Kind::Created,
        ("tickets" | "calls" | "fin" | "fin_voice" | "data_connectors", _, _, _) => {
            if first == "data_connectors" && third != Some("execution_results") {
                Kind::Free
            } else {
                Kind::Unjudged
            }
        }
        ("messages", Some("status" | "whatsapp"), _, _) => Kind::Unjudged,
        // The job's data (`download`), its status (which links to the data) and the request
        // for it; `get_datasets` describes the datasets only.
        ("export", Some("reporting_data"), Some(t), _) if t != "get_datasets" => Kind::Export,
        ("download", Some("reporting_data"), _, _) => Kind::Export,
        _ => Kind::Free,
    }
}

/// Query parameters that name a conversation (or a ticket), by route (method, shape). With
/// one of them in the query, in any Rack spelling, the route reaches that conversation
/// without an assignment to judge ([`Kind::Unjudged`]). Hand-kept, and checked against every
/// query parameter of 2.7–2.16 that mentions a conversation or a ticket
/// (`tests/spec-conversations/query.tsv`, by `extract.py`) by `tests/conversations.rs`.
pub const QUERY_PARAMS: &[(Method, &str, &str)] = &[
    // 2.16: "Return instances associated with the given conversation ID".
    (
        Method::Get,
        "/custom_object_instances/{}",
        "references_conversation_id",
    ),
];

/// The query parameters of [`QUERY_PARAMS`] on this route.
pub fn query_params(method: Method, shape: &str) -> Vec<&'static str> {
    QUERY_PARAMS
        .iter()
        .filter(|(m, s, _)| *m == method && *s == shape)
        .map(|(_, _, p)| *p)
        .collect()
}

/// Whether a conversation id in a path is one Intercom can only read as that conversation:
/// decimal digits, no leading zero, at most 20 (a `u64`). Anything else (`last`, which
/// Intercom resolves from the body, `012`, `+12`) cannot be looked up as the conversation
/// the request acts on.
pub fn is_conversation_number(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 20
        && b.iter().all(u8::is_ascii_digit)
        && (b.first() != Some(&b'0') || b.len() == 1)
        && id.parse::<u64>().is_ok()
}

/// A conversation's current assignment, ids as decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The teammate (admin) it is assigned to.
    pub admin: Option<String>,
    /// The team it is assigned to.
    pub team: Option<String>,
}

/// How an API version says "nobody" in an assignee id: 2.7–2.15 return `null` ("If it's not
/// assigned to an admin it will return null"), 2.16 returns `0` ("… it will return 0").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nobody {
    /// 2.7–2.15: `null`. A `0` is no documented id: it is someone, but never the teammate or
    /// one of their teams.
    Null,
    /// 2.16 on: `0` (and `null`, which the shape no longer allows but a reader must not
    /// mistake for an id).
    Zero,
    /// The version is not known (no `Intercom-Version`: the workspace's default, which may be
    /// 2.16): `null` and `0` both.
    #[default]
    NullOrZero,
}

impl Nobody {
    /// The first version whose assignee ids say nobody with `0`.
    pub const ZERO_SINCE: ApiVersion = ApiVersion {
        major: 2,
        minor: 16,
    };

    /// What the requested version (`None`: not named or not known) says nobody with.
    pub fn of(version: Option<ApiVersion>) -> Nobody {
        match version {
            Some(v) if v >= Self::ZERO_SINCE => Nobody::Zero,
            Some(_) => Nobody::Null,
            None => Nobody::NullOrZero,
        }
    }

    /// The name as handed to a front-end's caller.
    pub fn as_str(self) -> &'static str {
        match self {
            Nobody::Null => "null",
            Nobody::Zero => "zero",
            Nobody::NullOrZero => "null_or_zero",
        }
    }

    /// The id as someone: `None` when it says nobody.
    pub fn someone(self, id: Option<&str>) -> Option<&str> {
        match id {
            Some("0") if self != Nobody::Null => None,
            other => other,
        }
    }
}

/// Who is asking, and what their role may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The role's level.
    pub access: Access,
    /// The teammate's Intercom admin id (the subject claim).
    pub admin: Option<String>,
    /// Their team ids (the teams claim).
    pub teams: Vec<String>,
    /// How the answers judged for them say nobody (by the request's API version).
    pub nobody: Nobody,
}

/// `0` is never a teammate's or a team's own id: in 2.16 it is nobody, before that no id.
fn own(id: &str) -> bool {
    id != "0"
}

impl Viewer {
    /// Whether the teammate may see and act on a conversation with this assignment. A
    /// conversation assigned directly to them always (seed 004).
    pub fn may_access(&self, a: &Assignment) -> bool {
        let admin = self.nobody.someone(a.admin.as_deref());
        let team = self.nobody.someone(a.team.as_deref());
        let mine = self
            .admin
            .as_deref()
            .is_some_and(|me| own(me) && admin == Some(me));
        let my_team = team.is_some_and(|t| own(t) && self.teams.iter().any(|m| m == t));
        let unassigned = admin.is_none() && team.is_none();
        match self.access {
            Access::All => true,
            Access::AssignedToMe => mine,
            Access::AssignedToMeOrMyTeams => mine || my_team,
            Access::AssignedToMeMyTeamsOrUnassigned => mine || my_team || unassigned,
        }
    }

    /// Whether the teammate may reassign it without `conversations:assign`: it is in their own
    /// inbox, the unassigned inbox or a team inbox, i.e. no other teammate has it.
    pub fn may_reassign(&self, a: &Assignment) -> bool {
        let admin = self.nobody.someone(a.admin.as_deref());
        admin.is_none()
            || self
                .admin
                .as_deref()
                .is_some_and(|me| own(me) && admin == Some(me))
    }
}

/// What a front-end knows of the conversation a [`Kind::ById`] request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Not looked up yet: the decision asks for it (`need_lookup`).
    NotDone,
    /// Its current assignment.
    Known(&'a Assignment),
    /// The lookup failed (why): the request is refused (fail closed).
    Failed(&'a str),
    /// Intercom answered 404: no such conversation, nothing to grant access to.
    NotFound,
}

/// Reads Intercom's answer to `GET /conversations/{id}` (status and body).
pub fn read_lookup(status: u16, body: &[u8]) -> Result<Assignment, &'static str> {
    if status != 200 {
        return Err(NO_ANSWER);
    }
    let text = core::str::from_utf8(body).map_err(|_| "the lookup's answer is not strict JSON")?;
    assignment(text)
}

/// A lookup that did not answer, or not 200. One message for both: a proxy's timeout is its
/// own 504 (Envoy's), and a front-end cannot always tell the two apart.
pub const NO_ANSWER: &str = "the lookup did not answer 200 in time";

mod response;
pub mod search;
pub use response::{
    assignment, judge_response, judge_response_seen, Judged, Seen, KEPT, LIST_FIELDS,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use serde_json::json;

    fn a(admin: Option<&str>, team: Option<&str>) -> Assignment {
        Assignment {
            admin: admin.map(String::from),
            team: team.map(String::from),
        }
    }

    fn viewer(access: Access) -> Viewer {
        Viewer {
            access,
            admin: Some("7".into()),
            teams: vec!["50".into()],
            nobody: Nobody::Null,
        }
    }

    #[test]
    fn levels() {
        let cases = [
            (a(Some("7"), None), [true, true, true, true]),
            (a(Some("7"), Some("99")), [true, true, true, true]),
            (a(Some("8"), Some("50")), [true, false, true, true]),
            (a(None, Some("50")), [true, false, true, true]),
            (a(None, None), [true, false, false, true]),
            (a(Some("8"), None), [true, false, false, false]),
            (a(None, Some("99")), [true, false, false, false]),
        ];
        let levels = [
            Access::All,
            Access::AssignedToMe,
            Access::AssignedToMeOrMyTeams,
            Access::AssignedToMeMyTeamsOrUnassigned,
        ];
        for (asg, want) in cases {
            for (lvl, w) in levels.iter().zip(want) {
                assert_eq!(viewer(*lvl).may_access(&asg), w, "{asg:?} {lvl:?}");
            }
        }
    }

    #[test]
    fn a_teammate_without_an_admin_id_owns_nothing() {
        let v = Viewer {
            access: Access::AssignedToMe,
            admin: None,
            teams: vec![],
            nobody: Nobody::NullOrZero,
        };
        assert!(!v.may_access(&a(None, None)));
        assert!(!v.may_reassign(&a(Some("7"), None)));
        assert!(v.may_reassign(&a(None, Some("3"))));
    }

    #[test]
    fn zero_is_nobody_from_2_16() {
        let zero = a(Some("0"), Some("0"));
        let team_only = a(Some("0"), Some("50"));
        for (nobody, unassigned) in [
            (Nobody::Null, false),
            (Nobody::Zero, true),
            (Nobody::NullOrZero, true),
        ] {
            let v = Viewer {
                nobody,
                ..viewer(Access::AssignedToMeMyTeamsOrUnassigned)
            };
            assert_eq!(v.may_access(&zero), unassigned, "{nobody:?}");
            assert_eq!(v.may_reassign(&zero), unassigned, "{nobody:?}");
            assert!(v.may_access(&team_only), "{nobody:?}");
            assert_eq!(v.may_reassign(&team_only), unassigned, "{nobody:?}");
            let mine_only = Viewer {
                nobody,
                ..viewer(Access::AssignedToMe)
            };
            assert!(!mine_only.may_access(&zero), "{nobody:?}");
        }
        // A teammate or team whose id is `0` owns nothing: not the unassigned, not team 0's.
        let zero_me = Viewer {
            access: Access::AssignedToMeOrMyTeams,
            admin: Some("0".into()),
            teams: vec!["0".into()],
            nobody: Nobody::Null,
        };
        assert!(!zero_me.may_access(&zero));
        assert!(!zero_me.may_access(&a(Some("8"), Some("0"))));
        assert!(!zero_me.may_reassign(&zero));
        assert_eq!(Nobody::of(ApiVersion::parse("2.15")), Nobody::Null);
        assert_eq!(Nobody::of(ApiVersion::parse("2.16")), Nobody::Zero);
        assert_eq!(Nobody::of(None), Nobody::NullOrZero);
    }

    #[test]
    fn ids_are_numbers_or_strings() {
        let c = json!({"admin_assignee_id": 7, "team_assignee_id": "50"});
        assert_eq!(
            assignment(&c.to_string()).unwrap(),
            a(Some("7"), Some("50"))
        );
        let c = json!({"admin_assignee_id": null, "team_assignee_id": null});
        assert_eq!(assignment(&c.to_string()).unwrap(), a(None, None));
        for bad in [
            json!({"admin_assignee_id": 7}),
            json!({"admin_assignee_id": 7.5, "team_assignee_id": null}),
            json!({"admin_assignee_id": [7], "team_assignee_id": null}),
            json!({"admin_assignee_id": "", "team_assignee_id": null}),
            json!([]),
        ] {
            assert!(assignment(&bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_duplicate_assignee_key_is_not_judged() {
        let body = br#"{"admin_assignee_id":8,"admin_assignee_id":7,"team_assignee_id":null}"#;
        assert!(read_lookup(200, body).is_err());
        let v = viewer(Access::AssignedToMe);
        assert!(judge_response(Kind::One, &v, body).is_err());
    }

    #[test]
    fn one_and_list() {
        let v = viewer(Access::AssignedToMe);
        let mine =
            br#"{"type":"conversation","id":"1","admin_assignee_id":7,"team_assignee_id":null}"#;
        assert_eq!(judge_response(Kind::One, &v, mine), Ok(Judged::Unchanged));
        let other = br#"{"type":"conversation","id":"2","admin_assignee_id":8,"team_assignee_id":null,"source":{"body":"secret"}}"#;
        assert_eq!(
            judge_response(Kind::One, &v, other),
            Ok(Judged::NotAccessible)
        );
        let list = json!({"type":"conversation.list","total_count":3,"extra":[{"id":"9"}],"conversations":[
            {"type":"conversation","id":"1","admin_assignee_id":7,"team_assignee_id":null,"source":{"body":"mine"}},
            {"type":"conversation","id":"2","admin_assignee_id":8,"team_assignee_id":null,"source":{"body":"secret"}},
            {"type":"conversation","id":"3"}
        ]});
        let body = serde_json::to_vec(&list).unwrap();
        let Ok(Judged::Redacted { body, count }) = judge_response(Kind::List, &v, &body) else {
            panic!("not redacted")
        };
        assert_eq!(count, 2);
        let got: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            got,
            json!({"type":"conversation.list","total_count":3,"conversations":[
                {"type":"conversation","id":"1","admin_assignee_id":7,"team_assignee_id":null,"source":{"body":"mine"}},
                {"type":"conversation","id":"2","admin_assignee_id":8,"team_assignee_id":null,"redacted":true},
                {"type":"conversation","id":"3","redacted":true}
            ]})
        );
        assert!(judge_response(Kind::List, &v, b"{\"data\":[]}").is_err());
        assert!(judge_response(Kind::List, &v, b"<html>").is_err());
    }

    #[test]
    fn kinds() {
        use Method::*;
        for (m, p, k) in [
            (Get, "/conversations", Kind::List),
            (Post, "/conversations/search", Kind::Search),
            (Get, "/conversations/{}", Kind::One),
            (Post, "/conversations/{}/reply", Kind::ById),
            (Delete, "/conversations/{}/tags/{}", Kind::ById),
            (Post, "/conversations/{}/merge", Kind::Unjudged),
            (Post, "/conversations/redact", Kind::Unjudged),
            (Post, "/conversations", Kind::Created),
            (Get, "/conversations/attributes", Kind::Free),
            (Get, "/tickets/{}", Kind::Unjudged),
            // `conversation_to_link_id` (2.14+) links an existing conversation to the ticket.
            (Post, "/tickets", Kind::Unjudged),
            (Get, "/data_connectors/{}", Kind::Free),
            (Get, "/data_connectors/{}/execution_results", Kind::Unjudged),
            (Get, "/contacts/{}", Kind::Free),
            (Post, "/export/reporting_data/enqueue", Kind::Export),
            (Get, "/export/reporting_data/{}", Kind::Export),
            (Get, "/download/reporting_data/{}", Kind::Export),
            (Get, "/export/reporting_data/get_datasets", Kind::Free),
            (Post, "/export/content/data", Kind::Free),
        ] {
            assert_eq!(kind(m, p), k, "{m:?} {p}");
        }
    }
}
