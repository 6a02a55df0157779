//! One model of what a role may do, read from the compiled policy: the settings every request
//! is judged by, each role's permissions and conditions, each route's definition, and the access
//! each role has on each route. `matrix --diff` and `report --previous` compare two models
//! ([`diff`]); a test (`tests/access_diff.rs`) holds the comparison to the evaluator: every
//! request whose decision changes between two policies is covered by a reported difference.
//!
//! Every fact is text naming permissions by name, so two policies whose permissions were
//! numbered differently compare by meaning.

use std::collections::{BTreeMap, BTreeSet};

use intercom_authz::perm::PermSet;
use intercom_authz::policy::{Policy, Role, Route};

/// A named fact and its value as text (`None`: the fact does not apply, e.g. no allowlist).
pub type Fact = (&'static str, Option<String>);

/// What a compiled policy lets each role do.
pub struct Model {
    /// The policy-wide settings.
    pub settings: Vec<Fact>,
    /// Per role: its permissions and its conditions.
    pub roles: BTreeMap<String, RoleModel>,
    /// Per route (`METHOD template`): its definition.
    pub routes: BTreeMap<String, Vec<Fact>>,
    /// Per route, per role: the access the role has there.
    pub access: BTreeMap<String, BTreeMap<String, Cell>>,
}

/// A role: what it grants and the conditions its requests meet.
pub struct RoleModel {
    pub permissions: BTreeSet<String>,
    pub conditions: Vec<Fact>,
}

fn words<'a>(list: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let v: Vec<&str> = list.into_iter().collect();
    (!v.is_empty()).then(|| v.join(", "))
}

fn named<T: serde::Serialize>(v: T) -> Option<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Some(s),
        Ok(other) => Some(other.to_string()),
        Err(_) => None,
    }
}

/// A duration as a policy writes it (`8h`, `1d`).
pub fn duration(s: u64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn settings(p: &Policy) -> Vec<Fact> {
    let s = p.settings();
    let mfa = p.mfa_permissions();
    let ips: Vec<String> = s.ip_allowlist.iter().map(ToString::to_string).collect();
    vec![
        ("workspace", s.workspace.map(str::to_string)),
        ("default_role", s.default_role.map(str::to_string)),
        ("ip_allowlist", words(ips.iter().map(String::as_str))),
        ("token_grants", Some(s.token_grants.to_string())),
        ("mfa.permissions", words(p.names(&mfa))),
        (
            "mfa.methods",
            words(s.mfa_methods.iter().map(String::as_str)),
        ),
        (
            "mfa.acr_values",
            words(s.mfa_acr_values.iter().map(String::as_str)),
        ),
        ("max_session_age", s.max_session_age.map(duration)),
        ("scopes", named(s.scopes)),
        ("scope_source", named(s.scope_source)),
        (
            "workspace_scopes",
            s.workspace_scopes.map(|w| format!("[{}]", w.join(" "))),
        ),
        ("unknown_versions", named(s.unknown_versions)),
        (
            "known versions",
            s.known_versions.map(|(a, b)| format!("{a} to {b}")),
        ),
        ("paths", named(s.paths)),
    ]
}

/// The role's permissions that need MFA (all of them when the role needs it everywhere).
pub fn mfa_for(p: &Policy, r: &Role) -> PermSet {
    if r.mfa {
        return r.permissions;
    }
    let mut out = PermSet::new();
    for id in p
        .mfa_permissions()
        .iter()
        .filter(|id| r.permissions.contains(*id))
    {
        out.insert(id);
    }
    out
}

/// A role's MFA condition: every request, some permissions, or none.
fn mfa_condition(p: &Policy, r: &Role) -> Option<String> {
    if r.mfa {
        return Some("every request".into());
    }
    words(p.names(&mfa_for(p, r))).map(|w| format!("for {w}"))
}

/// The model of one role.
pub fn role_model(p: &Policy, r: &Role) -> RoleModel {
    let ips: Vec<String> = r.ip_allowlist.iter().map(ToString::to_string).collect();
    RoleModel {
        permissions: p.names(&r.permissions).map(str::to_string).collect(),
        conditions: vec![
            ("mfa", mfa_condition(p, r)),
            ("ip_allowlist", words(ips.iter().map(String::as_str))),
            ("max_session_age", r.max_session_age.map(duration)),
            (
                "conversation_access",
                Some(r.conversation_access.as_str().to_string()),
            ),
            ("reassign", named(r.reassign)),
            ("reporting_exports", named(r.reporting_exports)),
        ],
    }
}

/// A route's name across policies: `METHOD template` (a policy has one route per method and
/// template shape; a custom route that replaces a catalog one keeps its name).
pub fn route_key(r: &Route) -> String {
    r.display.clone()
}

fn route_model(p: &Policy, r: &Route) -> Vec<Fact> {
    let acting: Vec<String> = r
        .acting
        .iter()
        .map(|f| match f.when {
            Some((k, v)) => format!("{} (when {k}={v})", f.path),
            None => f.path.to_string(),
        })
        .collect();
    vec![
        (
            "requires",
            words(p.names(&r.required)).or(Some("nothing".into())),
        ),
        (
            "body",
            r.body
                .map(|b| format!("{} ({})", b.name(), b.possible().join(", "))),
        ),
        ("query", r.query.map(|q| q.name().to_string())),
        (
            "on the caller's own id",
            match (r.self_permission, r.not_self) {
                (Some(id), _) => Some(format!("requires {}", p.permission_name(id))),
                (None, true) => Some("refused".into()),
                (None, false) => None,
            },
        ),
        ("versions", r.versions.clone()),
        ("scope", r.scope.clone()),
        ("scope documented", Some(r.scope_documented.to_string())),
        ("parameters", Some(format!("{:?}", r.params))),
        ("conversations", Some(format!("{:?}", r.conversation))),
        (
            "conversation query",
            words(r.conversation_query.iter().copied()),
        ),
        ("acting fields", words(acting.iter().map(String::as_str))),
    ]
}

/// The permission sets a request on `r` may need: one per action its body may ask for, else
/// the route's own.
fn variants(p: &Policy, r: &Route) -> Vec<(String, PermSet)> {
    let Some(rule) = r.body else {
        return vec![(String::new(), r.required)];
    };
    rule.possible()
        .iter()
        .map(|n| {
            let mut s = PermSet::new();
            if let Some(id) = p.permission_id(n) {
                s.insert(id);
            }
            (n.to_string(), s)
        })
        .collect()
}

/// What a role may do on a route: which of its actions (one, or one per action its body may
/// ask for), which of those need MFA, and, where the route has a self rule, whether the role
/// holds its permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The actions allowed (the body's action names; `""` for a route without a body rule).
    pub allowed: BTreeSet<String>,
    /// How many actions the route has.
    pub of: usize,
    /// The allowed actions that need MFA.
    pub mfa: BTreeSet<String>,
    /// The self rule's permission held (`None`: the route has no self rule).
    pub on_own_id: Option<bool>,
}

impl Cell {
    /// What `role` may do on `route`.
    pub fn of(p: &Policy, route: &Route, role: &Role) -> Cell {
        // A held action's permissions are the role's: it needs MFA if the role always does, or
        // if one of them does.
        let mfa = mfa_for(p, role);
        let needs_mfa = |set: &PermSet| role.mfa || set.iter().any(|id| mfa.contains(id));
        let vs = variants(p, route);
        let held: Vec<&(String, PermSet)> = vs
            .iter()
            .filter(|(_, s)| role.permissions.contains_all(s))
            .collect();
        Cell {
            allowed: held.iter().map(|(n, _)| n.clone()).collect(),
            of: vs.len(),
            mfa: held
                .iter()
                .filter(|(_, s)| needs_mfa(s))
                .map(|(n, _)| n.clone())
                .collect(),
            on_own_id: route
                .self_permission
                .map(|id| role.permissions.contains(id)),
        }
    }

    /// Whether `self` lets through something `old` did not: an action, an action without MFA,
    /// or the caller's own id.
    pub fn widens(&self, old: &Cell) -> bool {
        !self.allowed.is_subset(&old.allowed)
            || self
                .allowed
                .iter()
                .any(|a| !self.mfa.contains(a) && old.mfa.contains(a))
            || (self.on_own_id == Some(true) && old.on_own_id != Some(true))
    }
}

impl std::fmt::Display for Cell {
    /// `allowed`, `allowed with MFA`, `denied`, `partly: comment, note`, `…; on own id denied`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list =
            |s: &BTreeSet<String>| s.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        match self.allowed.len() {
            0 => f.write_str("denied")?,
            n if n == self.of => f.write_str("allowed")?,
            _ => write!(f, "partly: {}", list(&self.allowed))?,
        }
        if !self.mfa.is_empty() {
            f.write_str(" with MFA")?;
            if self.mfa.len() < self.allowed.len() {
                write!(f, " ({})", list(&self.mfa))?;
            }
        }
        match self.on_own_id {
            Some(true) => f.write_str("; on own id allowed"),
            Some(false) => f.write_str("; on own id denied"),
            None => Ok(()),
        }
    }
}

impl Model {
    /// The model of a compiled policy.
    pub fn of(p: &Policy) -> Model {
        let roles = p
            .roles()
            .iter()
            .map(|r| (r.name.clone(), role_model(p, r)))
            .collect();
        let routes = p
            .routes()
            .iter()
            .map(|r| (route_key(r), route_model(p, r)))
            .collect();
        let access = p
            .routes()
            .iter()
            .map(|route| {
                let cells = p
                    .roles()
                    .iter()
                    .map(|role| (role.name.clone(), Cell::of(p, route, role)))
                    .collect();
                (route_key(route), cells)
            })
            .collect();
        Model {
            settings: settings(p),
            roles,
            routes,
            access,
        }
    }
}

/// One fact that changed: its old and new value, and whether a restriction went away.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// A condition or restriction that no longer applies (or widened): access grew.
    pub widens: bool,
}

/// What changed for one role.
#[derive(Debug, serde::Serialize)]
pub struct RoleDiff {
    pub role: String,
    /// `new role`, `removed role`, or empty.
    pub status: &'static str,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
    pub conditions: Vec<Change>,
}

/// What changed for one route: its definition, and the access each role has there.
#[derive(Debug, serde::Serialize)]
pub struct RouteDiff {
    pub route: String,
    /// `new route`, `removed route`, or empty.
    pub status: &'static str,
    pub changes: Vec<Change>,
    /// Roles whose access changed: (role, old, new); `None` where the role or route is absent.
    pub access: Vec<AccessChange>,
}

/// A role's access to a route, before and after.
#[derive(Debug, serde::Serialize)]
pub struct AccessChange {
    pub role: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub widens: bool,
}

/// Everything that changed between two policies.
#[derive(Debug, Default, serde::Serialize)]
pub struct Diff {
    pub settings: Vec<Change>,
    pub roles: Vec<RoleDiff>,
    pub routes: Vec<RouteDiff>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty() && self.roles.is_empty() && self.routes.is_empty()
    }

    /// The diff without the routes whose access changed only through what the roles grant and
    /// require (their permissions and conditions, or the policy's MFA list: each listed under
    /// its role or setting); a route whose definition changed stays, with its access.
    pub fn by_permission(mut self) -> Diff {
        self.routes
            .retain(|r| !r.status.is_empty() || !r.changes.is_empty());
        self
    }

    /// How many reported changes let more through.
    pub fn widening(&self) -> usize {
        let roles = self.roles.iter().map(|d| {
            usize::from(d.status == "new role")
                + d.gained.len()
                + d.conditions.iter().filter(|c| c.widens).count()
        });
        let routes = self.routes.iter().map(|d| {
            usize::from(d.status == "new route") + d.access.iter().filter(|c| c.widens).count()
        });
        self.settings.iter().filter(|c| c.widens).count()
            + roles.sum::<usize>()
            + routes.sum::<usize>()
    }
}

/// Conversation access levels, narrowest first.
const ACCESS_ORDER: &[&str] = &[
    "assigned_to_me",
    "assigned_to_me_or_my_teams",
    "assigned_to_me_my_teams_or_unassigned",
    "all",
];

/// Whether going from `old` to `new` lets more through.
fn widens(name: &str, old: Option<&str>, new: Option<&str>) -> bool {
    let rank = |v: Option<&str>| v.and_then(|v| ACCESS_ORDER.iter().position(|a| *a == v));
    let items = |v: Option<&str>| -> BTreeSet<String> {
        v.unwrap_or_default()
            .split([',', ' ', '[', ']'])
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let added = || !items(new).is_subset(&items(old));
    match name {
        "conversation_access" => rank(new) > rank(old),
        "token_grants" => new == Some("true"),
        "default_role" => new.is_some(),
        // An allowlist or a list of accepted proofs: dropped, or a new entry.
        "ip_allowlist" | "mfa.methods" | "mfa.acr_values" | "workspace_scopes" => {
            old.is_some() && (new.is_none() || added())
        }
        // A list of what needs MFA: an entry gone.
        "mfa.permissions" => !items(old).is_subset(&items(new)),
        "reporting_exports" | "reassign" | "unknown_versions" | "paths" | "scopes" => {
            old.is_some() && new != old
        }
        "max_session_age" => match (old, new) {
            (Some(_), None) => true,
            (Some(a), Some(b)) => parse_duration(b) > parse_duration(a),
            _ => false,
        },
        _ => old.is_some() && new.is_none(),
    }
}

fn parse_duration(s: &str) -> u64 {
    intercom_authz::policy::parse_duration(s).unwrap_or(0)
}

/// The facts of two lists (same names, same order) that differ.
fn fact_changes(old: &[Fact], new: &[Fact]) -> Vec<Change> {
    old.iter()
        .zip(new)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, b)| Change {
            name: a.0.to_string(),
            old: a.1.clone(),
            new: b.1.clone(),
            widens: widens(a.0, a.1.as_deref(), b.1.as_deref()),
        })
        .collect()
}

fn role_diffs(a: &Model, b: &Model) -> Vec<RoleDiff> {
    let names: BTreeSet<&String> = a.roles.keys().chain(b.roles.keys()).collect();
    let empty = BTreeSet::new();
    names
        .into_iter()
        .map(|name| {
            let (ra, rb) = (a.roles.get(name), b.roles.get(name));
            let pa = ra.map_or(&empty, |r| &r.permissions);
            let pb = rb.map_or(&empty, |r| &r.permissions);
            RoleDiff {
                role: name.clone(),
                status: match (ra, rb) {
                    (None, Some(_)) => "new role",
                    (Some(_), None) => "removed role",
                    _ => "",
                },
                gained: pb.difference(pa).cloned().collect(),
                lost: pa.difference(pb).cloned().collect(),
                conditions: match (ra, rb) {
                    (Some(ra), Some(rb)) => fact_changes(&ra.conditions, &rb.conditions),
                    _ => Vec::new(),
                },
            }
        })
        .filter(|d| {
            !(d.status.is_empty()
                && d.gained.is_empty()
                && d.lost.is_empty()
                && d.conditions.is_empty())
        })
        .collect()
}

fn access_changes(
    a: Option<&BTreeMap<String, Cell>>,
    b: Option<&BTreeMap<String, Cell>>,
) -> Vec<AccessChange> {
    let none = BTreeMap::new();
    let (a, b) = (a.unwrap_or(&none), b.unwrap_or(&none));
    let roles: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    roles
        .into_iter()
        .filter(|r| a.get(*r) != b.get(*r))
        .map(|r| {
            let (old, new) = (a.get(r), b.get(r));
            AccessChange {
                role: r.clone(),
                old: old.map(ToString::to_string),
                new: new.map(ToString::to_string),
                widens: match (old, new) {
                    (Some(o), Some(n)) => n.widens(o),
                    (None, Some(n)) => !n.allowed.is_empty(),
                    _ => false,
                },
            }
        })
        .collect()
}

fn route_diffs(a: &Model, b: &Model) -> Vec<RouteDiff> {
    let keys: BTreeSet<&String> = a.routes.keys().chain(b.routes.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let (ra, rb) = (a.routes.get(k), b.routes.get(k));
            RouteDiff {
                route: k.clone(),
                status: match (ra, rb) {
                    (None, Some(_)) => "new route",
                    (Some(_), None) => "removed route",
                    _ => "",
                },
                changes: match (ra, rb) {
                    (Some(ra), Some(rb)) => fact_changes(ra, rb),
                    _ => Vec::new(),
                },
                access: access_changes(a.access.get(k), b.access.get(k)),
            }
        })
        .filter(|d| !(d.status.is_empty() && d.changes.is_empty() && d.access.is_empty()))
        .collect()
}

/// Everything the evaluator could decide differently between policy `a` and policy `b`.
pub fn diff(a: &Policy, b: &Policy) -> Diff {
    let (ma, mb) = (Model::of(a), Model::of(b));
    Diff {
        settings: fact_changes(&ma.settings, &mb.settings),
        roles: role_diffs(&ma, &mb),
        routes: route_diffs(&ma, &mb),
    }
}

impl Diff {
    /// Whether a request judged as `role` on `route` (either policy's match) could decide
    /// differently by what this diff reports: a setting, the role, the route, or its cell.
    pub fn covers(&self, roles: &[&str], routes: &[&str]) -> bool {
        !self.settings.is_empty()
            || self.roles.iter().any(|d| roles.contains(&d.role.as_str()))
            || self.routes.iter().any(|d| {
                routes.contains(&d.route.as_str())
                    && (!d.status.is_empty()
                        || !d.changes.is_empty()
                        || d.access.iter().any(|c| roles.contains(&c.role.as_str())))
            })
    }
}
