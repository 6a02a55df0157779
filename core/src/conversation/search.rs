//! Conversation search for a role with restricted conversation access: the caller's query is
//! sent on with the teammate's assignment condition added, so that counts and pages only
//! ever cover what they may see (the results are still judged on the way back).
//!
//! The condition, by level (`me`: the teammate's admin id, `T`: their teams, `0`/`null`: how
//! the request's API version says nobody, [`Nobody`]):
//!
//! | level | condition |
//! |---|---|
//! | `assigned_to_me` | `admin_assignee_id = me` |
//! | `assigned_to_me_or_my_teams` | `admin_assignee_id = me OR team_assignee_id IN T` |
//! | `assigned_to_me_my_teams_or_unassigned` | `(admin_assignee_id IN [me, 0] OR team_assignee_id IN T) AND (admin_assignee_id = me OR team_assignee_id IN T OR team_assignee_id = 0)` |
//!
//! (the last is `me OR T OR (unassigned admin AND unassigned team)` in conjunctive form, which
//! nests one level less). Intercom limits a query to 2 levels of nesting and 15 filters per
//! `AND`/`OR` group ([`MAX_DEPTH`], [`MAX_GROUP`]). The condition is added by the first of
//! these that fits the limits:
//!
//! 1. `AND(caller's query, condition's clauses)`, the caller's `AND` group flattened into it;
//! 2. when the caller's query is an `OR` group: `OR` of each of its branches `AND`ed with each
//!    way the condition can hold (its disjunctive form), each branch's `AND` flattened;
//!
//! and when none does, the request is refused (`search_too_complex`, naming the limit). The
//! body keeps `pagination` and `sort` as they came; any other field is refused (a field
//! Intercom reads that the filter does not could change what is searched).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use super::{Access, Nobody, Viewer};

/// Intercom's limit on nesting: a filter is depth 0, a group one more than its deepest item.
pub const MAX_DEPTH: usize = 2;
/// Intercom's limit on the items of one `AND` or `OR` group.
pub const MAX_GROUP: usize = 15;

/// Why a search cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// The body is not a search Intercom documents (what is wrong).
    Invalid(String),
    /// No rewrite fits Intercom's limits (which one).
    TooComplex(String),
    /// The teammate can see no conversation (no admin id, no team).
    Nothing,
}

/// A query, as far as the rewrite reads it: a filter is kept as it came.
#[derive(Debug, Clone, PartialEq)]
enum Query {
    Filter(Value),
    Group(Op, Vec<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::And => "AND",
            Op::Or => "OR",
        }
    }
}

/// The body Intercom gets instead of the caller's: see the module docs.
pub fn rewrite(viewer: &Viewer, body: &Value) -> Result<Vec<u8>, SearchError> {
    let Value::Object(top) = body else {
        return Err(invalid("the search body is not a JSON object"));
    };
    if let Some(k) = top
        .keys()
        .find(|k| !matches!(k.as_str(), "query" | "pagination" | "sort"))
    {
        return Err(invalid(&format!(
            "`{k}` is not a field of a conversation search (query, pagination, sort)"
        )));
    }
    let q = read(
        top.get("query")
            .ok_or_else(|| invalid("the search has no `query`"))?,
    )?;
    let clauses = condition(viewer).ok_or(SearchError::Nothing)?;
    let wrapped = wrap(q, &clauses)?;
    let mut out = top.clone();
    out.insert("query".into(), write(&wrapped));
    Ok(serde_json::to_vec(&Value::Object(out)).unwrap_or_default())
}

fn invalid(why: &str) -> SearchError {
    SearchError::Invalid(why.to_string())
}

/// Reads the caller's query strictly: a filter is exactly `field`, `operator`, `value`; a group
/// exactly `operator` (`AND`/`OR`) and a non-empty `value` array.
fn read(v: &Value) -> Result<Query, SearchError> {
    let Value::Object(m) = v else {
        return Err(invalid("a search query item is not a JSON object"));
    };
    let op = m.get("operator").and_then(Value::as_str);
    let is_group = matches!(op, Some("AND" | "OR"));
    if is_group {
        let items = match (m.len(), m.get("value")) {
            (2, Some(Value::Array(items))) if !items.is_empty() => items,
            _ => {
                return Err(invalid(
                    "an AND/OR group has exactly `operator` and a non-empty `value` array",
                ))
            }
        };
        let op = if op == Some("AND") { Op::And } else { Op::Or };
        let items = items.iter().map(read).collect::<Result<Vec<_>, _>>()?;
        return Ok(Query::Group(op, items));
    }
    let filter = m.len() == 3
        && m.get("field").is_some_and(Value::is_string)
        && op.is_some()
        && m.contains_key("value");
    if !filter {
        return Err(invalid(
            "a search filter has exactly `field`, `operator` and `value`",
        ));
    }
    Ok(Query::Filter(v.clone()))
}

fn write(q: &Query) -> Value {
    match q {
        Query::Filter(v) => v.clone(),
        Query::Group(op, items) => {
            let mut m = Map::new();
            m.insert("operator".into(), Value::String(op.as_str().into()));
            m.insert(
                "value".into(),
                Value::Array(items.iter().map(write).collect()),
            );
            Value::Object(m)
        }
    }
}

fn filter(field: &str, operator: &str, value: Value) -> Query {
    let mut m = Map::new();
    m.insert("field".into(), Value::String(field.into()));
    m.insert("operator".into(), Value::String(operator.into()));
    m.insert("value".into(), value);
    Query::Filter(Value::Object(m))
}

/// An id as the search takes it: a number when it is one (the fields are integers).
fn id(s: &str) -> Value {
    // Only a plain number (`7`, never `007` or `+7`, which would name someone else than the
    // string the answer is judged against).
    match s.parse::<u64>() {
        Ok(n) if super::is_conversation_number(s) => Value::from(n),
        _ => Value::String(s.into()),
    }
}

/// What says nobody in a filter, by version.
fn nobody(n: Nobody) -> Vec<Value> {
    match n {
        Nobody::Null => vec![Value::Null],
        Nobody::Zero => vec![Value::from(0)],
        Nobody::NullOrZero => vec![Value::from(0), Value::Null],
    }
}

/// One clause of the condition: filters `OR`ed.
type Clause = Vec<Query>;

/// The condition in conjunctive form (clauses `AND`ed); `None` when it can hold for nothing.
fn condition(v: &Viewer) -> Option<Vec<Clause>> {
    let me: Vec<Query> = v
        .admin
        .as_deref()
        .filter(|m| *m != "0")
        .map(|m| filter("admin_assignee_id", "=", id(m)))
        .into_iter()
        .collect();
    let teams: Vec<Value> = v
        .teams
        .iter()
        .filter(|t| *t != "0")
        .map(|t| id(t))
        .collect();
    let mine_or_teams: Vec<Query> = me
        .iter()
        .cloned()
        .chain((!teams.is_empty()).then(|| filter("team_assignee_id", "IN", Value::Array(teams))))
        .collect();
    let clauses = match v.access {
        Access::All => return Some(Vec::new()),
        Access::AssignedToMe => vec![me],
        Access::AssignedToMeOrMyTeams => vec![mine_or_teams],
        Access::AssignedToMeMyTeamsOrUnassigned => {
            let none = |field: &str| -> Vec<Query> {
                nobody(v.nobody)
                    .into_iter()
                    .map(|n| filter(field, "=", n))
                    .collect()
            };
            let mut a = mine_or_teams.clone();
            a.extend(none("admin_assignee_id"));
            let mut b = mine_or_teams;
            b.extend(none("team_assignee_id"));
            vec![a, b]
        }
    };
    (!clauses.iter().any(Vec::is_empty)).then_some(clauses)
}

/// The condition in disjunctive form: each way it can hold, as filters `AND`ed.
fn disjunctive(clauses: &[Clause]) -> Vec<Vec<Query>> {
    let mut out: Vec<Vec<Query>> = vec![Vec::new()];
    for clause in clauses {
        let mut next = Vec::new();
        for conj in &out {
            for f in clause {
                let mut c = conj.clone();
                if !c.contains(f) {
                    c.push(f.clone());
                }
                next.push(c);
            }
        }
        out = next;
    }
    // Absorption: a way that holds every filter of another way adds nothing (`me OR (me AND
    // T)` is `me`), so the conjunctive form's product shrinks back to the condition's ways.
    let mut kept: Vec<Vec<Query>> = Vec::new();
    for (i, w) in out.iter().enumerate() {
        let absorbed = out.iter().enumerate().any(|(j, other)| {
            j != i && other.iter().all(|f| w.contains(f)) && (other.len() < w.len() || j < i)
        });
        if !absorbed {
            kept.push(w.clone());
        }
    }
    kept
}

fn group_or_single(op: Op, mut items: Vec<Query>) -> Query {
    if items.len() == 1 {
        if let Some(q) = items.pop() {
            return q;
        }
    }
    Query::Group(op, items)
}

/// The items of `q` when it is an `AND` group, else `q` alone.
fn and_items(q: Query) -> Vec<Query> {
    match q {
        Query::Group(Op::And, items) => items,
        q => vec![q],
    }
}

fn wrap(q: Query, clauses: &[Clause]) -> Result<Query, SearchError> {
    if clauses.is_empty() {
        return Ok(q);
    }
    let own = depth(&q);
    if own > MAX_DEPTH {
        return Err(SearchError::TooComplex(format!(
            "the query itself nests {own} levels deep; Intercom allows {MAX_DEPTH}"
        )));
    }
    // 1. AND(query, clauses…).
    let mut items = and_items(q.clone());
    items.extend(clauses.iter().map(|c| group_or_single(Op::Or, c.clone())));
    let first = Query::Group(Op::And, items);
    let mut why = match over_limits(&first) {
        None => return Ok(first),
        Some(why) => why,
    };
    // 2. OR over the query's branches × the condition's ways.
    if let Query::Group(Op::Or, branches) = q {
        let ways = disjunctive(clauses);
        let mut items = Vec::with_capacity(branches.len() * ways.len());
        for b in &branches {
            for w in &ways {
                let mut conj = and_items(b.clone());
                conj.extend(w.iter().cloned());
                items.push(group_or_single(Op::And, conj));
            }
        }
        let second = Query::Group(Op::Or, items);
        match over_limits(&second) {
            None => return Ok(second),
            Some(w) => why = w,
        }
    }
    Err(SearchError::TooComplex(why))
}

fn depth(q: &Query) -> usize {
    match q {
        Query::Filter(_) => 0,
        Query::Group(_, items) => 1 + items.iter().map(depth).max().unwrap_or(0),
    }
}

fn widest(q: &Query) -> usize {
    match q {
        Query::Filter(_) => 0,
        Query::Group(_, items) => items.iter().map(widest).max().unwrap_or(0).max(items.len()),
    }
}

/// Which of Intercom's limits `q` exceeds, as a sentence.
fn over_limits(q: &Query) -> Option<String> {
    let (d, w) = (depth(q), widest(q));
    if d > MAX_DEPTH {
        return Some(format!(
            "with the assignment condition added the query nests {d} levels deep; Intercom allows {MAX_DEPTH}"
        ));
    }
    if w > MAX_GROUP {
        return Some(format!(
            "with the assignment condition added a group holds {w} filters; Intercom allows {MAX_GROUP} per AND/OR group"
        ));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn viewer(access: Access, nobody: Nobody) -> Viewer {
        Viewer {
            access,
            admin: Some("7".into()),
            teams: vec!["50".into(), "51".into()],
            nobody,
        }
    }

    fn run(v: &Viewer, body: Value) -> Result<Value, SearchError> {
        rewrite(v, &body).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn a_single_filter_is_anded_with_the_condition() {
        let v = viewer(Access::AssignedToMe, Nobody::Zero);
        let got = run(
            &v,
            json!({"query": {"field": "open", "operator": "=", "value": true}, "pagination": {"per_page": 5}}),
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"query": {"operator": "AND", "value": [
                {"field": "open", "operator": "=", "value": true},
                {"field": "admin_assignee_id", "operator": "=", "value": 7}
            ]}, "pagination": {"per_page": 5}})
        );
    }

    #[test]
    fn unassigned_in_conjunctive_form_by_version() {
        let v = viewer(Access::AssignedToMeMyTeamsOrUnassigned, Nobody::Zero);
        let got = run(
            &v,
            json!({"query": {"operator": "AND", "value": [{"field": "state", "operator": "=", "value": "open"}]}}),
        )
        .unwrap();
        let me = json!({"field": "admin_assignee_id", "operator": "=", "value": 7});
        let t = json!({"field": "team_assignee_id", "operator": "IN", "value": [50, 51]});
        assert_eq!(
            got["query"],
            json!({"operator": "AND", "value": [
                {"field": "state", "operator": "=", "value": "open"},
                {"operator": "OR", "value": [me, t, {"field": "admin_assignee_id", "operator": "=", "value": 0}]},
                {"operator": "OR", "value": [me, t, {"field": "team_assignee_id", "operator": "=", "value": 0}]}
            ]})
        );
        let old = viewer(Access::AssignedToMeMyTeamsOrUnassigned, Nobody::Null);
        let got = run(
            &old,
            json!({"query": {"field": "open", "operator": "=", "value": true}}),
        )
        .unwrap();
        assert_eq!(got["query"]["value"][1]["value"][2]["value"], Value::Null);
    }

    #[test]
    fn an_or_of_ands_is_distributed() {
        let v = viewer(Access::AssignedToMe, Nobody::Zero);
        let f = |n: u32| json!({"field": "created_at", "operator": ">", "value": n});
        let q = json!({"operator": "OR", "value": [
            {"operator": "AND", "value": [f(1), f(2)]},
            f(3)
        ]});
        let got = run(&v, json!({"query": q})).unwrap();
        let me = json!({"field": "admin_assignee_id", "operator": "=", "value": 7});
        assert_eq!(
            got["query"],
            json!({"operator": "OR", "value": [
                {"operator": "AND", "value": [f(1), f(2), me]},
                {"operator": "AND", "value": [f(3), me]}
            ]})
        );
        // With teams, each branch × each way: depth 2 still.
        let v = viewer(Access::AssignedToMeOrMyTeams, Nobody::Zero);
        let q = json!({"operator": "OR", "value": [
            {"operator": "AND", "value": [f(1), f(2)]},
            {"operator": "AND", "value": [f(3), f(4)]}
        ]});
        let got = run(&v, json!({"query": q})).unwrap();
        assert_eq!(got["query"]["value"].as_array().unwrap().len(), 4);
        // With the unassigned inbox: three ways (me, T, nobody's), not the 3 × 3 product.
        let v = viewer(Access::AssignedToMeMyTeamsOrUnassigned, Nobody::Zero);
        let got = run(&v, json!({"query": q})).unwrap();
        let branches = got["query"]["value"].as_array().unwrap();
        assert_eq!(branches.len(), 6, "{}", got["query"]);
        assert_eq!(
            branches[2],
            json!({"operator": "AND", "value": [f(1), f(2),
                {"field": "admin_assignee_id", "operator": "=", "value": 0},
                {"field": "team_assignee_id", "operator": "=", "value": 0}]})
        );
    }

    #[test]
    fn limits_are_named() {
        let v = viewer(Access::AssignedToMeOrMyTeams, Nobody::Zero);
        let f = |n: u32| json!({"field": "created_at", "operator": ">", "value": n});
        // A query deeper than Intercom allows on its own.
        let q = json!({"operator": "OR", "value": [
            {"operator": "AND", "value": [f(3), {"operator": "OR", "value": [f(4), f(5)]}]}, f(1)
        ]});
        let Err(SearchError::TooComplex(why)) = run(&v, json!({"query": q})) else {
            panic!()
        };
        assert!(why.contains("itself nests 3 levels"), "{why}");
        // An OR of 8 ANDs: nesting the OR is 3 levels, distributing it 16 branches.
        let ands: Vec<Value> = (0..8)
            .map(|n| json!({"operator": "AND", "value": [f(n), f(n + 100)]}))
            .collect();
        let Err(SearchError::TooComplex(why)) =
            run(&v, json!({"query": {"operator": "OR", "value": ands}}))
        else {
            panic!()
        };
        assert!(why.contains("16 filters"), "{why}");
        let items: Vec<Value> = (0..15).map(f).collect();
        let q = json!({"operator": "AND", "value": items});
        let Err(SearchError::TooComplex(why)) = run(&v, json!({"query": q})) else {
            panic!()
        };
        assert!(why.contains("16 filters"), "{why}");
    }

    #[test]
    fn anything_unexpected_is_refused() {
        let v = viewer(Access::AssignedToMe, Nobody::Zero);
        for body in [
            json!([]),
            json!({}),
            json!({"query": {"field": "id", "operator": "=", "value": "1"}, "scope": "all"}),
            json!({"query": {"field": "id", "operator": "=", "value": "1", "extra": 1}}),
            json!({"query": {"operator": "AND", "value": []}}),
            json!({"query": {"operator": "AND", "value": [{"field": "id"}]}}),
            json!({"query": {"operator": "OR", "value": [1]}}),
            json!({"query": {"operator": "AND", "field": "id", "value": [{"field": "id", "operator": "=", "value": "1"}]}}),
        ] {
            assert!(
                matches!(run(&v, body.clone()), Err(SearchError::Invalid(_))),
                "{body}"
            );
        }
        let nobody = Viewer { admin: None, ..v };
        assert_eq!(
            run(
                &nobody,
                json!({"query": {"field": "id", "operator": "=", "value": "1"}})
            ),
            Err(SearchError::Nothing)
        );
    }
}
