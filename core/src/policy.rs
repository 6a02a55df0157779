//! The policy: its configuration ([`PolicyConfig`], serde) and its compiled form ([`Policy`]).
//!
//! Compiling resolves every name once (permissions, aliases, roles, routes), so evaluation only
//! compares bitsets. Anything wrong is a [`PolicyError`] naming the culprit:
//!
//! ```
//! use intercom_authz_core::policy::{Policy, PolicyConfig};
//! let cfg: PolicyConfig = serde_json::from_str(r#"{
//!     "roles": { "tier1": { "extends": "agent", "grant": ["contacts:destroy"] } }
//! }"#).unwrap();
//! let err = Policy::compile(&cfg).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "unknown permission `contacts:destroy` in role `tier1` (did you mean `contacts:delete`?)"
//! );
//! ```

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::acting::{self, ActingField};
use crate::body::{BodyRule, QueryRule};
use crate::catalog;
use crate::conversation::{self, Access, Kind, Reassign, ReportingExports};
use crate::net::Cidr;
use crate::perm::{self, PermSet, PERMISSIONS};
use crate::router::{InsertError, Method, Router};
use crate::version::{ApiVersion, VersionRange};

pub mod config;
mod names;
pub use config::*;

/// The built-in roles, in order of decreasing power.
pub const BUILTIN_ROLES: [&str; 5] = ["owner", "admin", "restricted", "agent", "observer"];

/// A configuration the compiler refused, with a one-line message naming the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: String) -> Result<T, PolicyError> {
    Err(PolicyError(msg))
}

fn hint(name: &str, near: Option<&str>) -> String {
    near.filter(|n| *n != name)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default()
}

/// A compiled role.
#[derive(Debug, Clone)]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// What the role grants.
    pub permissions: PermSet,
    /// Whether every request needs MFA.
    pub mfa: bool,
    /// The oldest a session may be (the stricter of the policy's and the role's).
    pub max_session_age: Option<u64>,
    /// Allowed source addresses (empty: any).
    pub ip_allowlist: Vec<Cidr>,
    /// The role it extends, if any.
    pub extends: Option<String>,
    /// What its own configuration granted and revoked (for `explain`).
    pub granted: PermSet,
    /// See `granted`.
    pub revoked: PermSet,
    /// The role's description.
    pub description: Option<String>,
    /// Which conversations it may see and act on.
    pub conversation_access: Access,
    /// Whom it may reassign from without `conversations:assign`.
    pub reassign: Reassign,
    /// Whether, with restricted conversation access, it may export reporting data.
    pub reporting_exports: ReportingExports,
}

/// A compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The template as written, e.g. `/contacts/{id}`.
    pub template: String,
    /// `METHOD template`, as decisions report it.
    pub display: String,
    /// The permissions needed (unless a body or self rule says otherwise).
    pub required: PermSet,
    /// The OAuth scope.
    pub scope: Option<String>,
    /// Whether Intercom documents the scope.
    pub scope_documented: bool,
    /// The body rule.
    pub body: Option<BodyRule>,
    /// The query rule.
    pub query: Option<QueryRule>,
    /// See [`RouteConfig::self_permission`].
    pub self_permission: Option<u16>,
    /// See [`RouteConfig::not_self`].
    pub not_self: bool,
    /// The API versions that have it, as written.
    pub versions: Option<String>,
    /// The same, parsed (`None`: every version).
    pub version_range: Option<VersionRange>,
    /// What each `{param}` of the template accepts, in order.
    pub params: Vec<ParamKind>,
    /// How it reaches conversations (for roles with restricted conversation access).
    pub conversation: Kind,
    /// Query parameters that make it reach a conversation unjudged
    /// ([`conversation::QUERY_PARAMS`]).
    pub conversation_query: Vec<&'static str>,
    /// The fields that name the acting teammate ([`crate::acting`]), by method and shape: a
    /// custom route of the same shape has them too.
    pub acting: Vec<ActingField>,
}

/// What a `{param}` of a route template accepts.
///
/// Intercom's ids are numbers, hex strings and UUIDs; the API's literal segments are lower-case
/// words (`search`, `activity_logs`). An id parameter never accepts a word-shaped segment, so
/// a literal that a *later* API version adds next to `{id}` (`GET /admins/activity_log_event_types`
/// next to `GET /admins/{id}`) is `unknown_route` rather than judged as the `{id}` route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// An id: anything but a word-shaped segment, except the words listed (documented values,
    /// such as `last` for a conversation to reply to).
    Id(&'static [&'static str]),
    /// Free text (external ids, emails, identifiers, names): any segment.
    Free,
}

/// Parameter names that hold free text, not ids (from the specs: external ids are UUIDs or the
/// customer's own keys, job and object-type identifiers are names, phone numbers are numbers
/// with punctuation). Custom routes may use them too.
pub const FREE_TEXT_PARAMS: &[&str] = &[
    "external_id",
    "job_identifier",
    "custom_object_type_identifier",
    "phone_number",
    "email",
    "name",
    "key",
    "slug",
];

/// Words an id parameter accepts on one route, where the spec documents them:
/// `(method, template, words)`.
pub const ID_WORDS: &[(&str, &str, &[&str])] = &[("POST", "/conversations/{id}/reply", &["last"])];

impl ParamKind {
    /// Whether the parameter accepts the (canonical) segment `value`.
    pub fn accepts(self, value: &str) -> bool {
        let word = value.bytes().any(|b| b.is_ascii_lowercase())
            && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        match self {
            ParamKind::Free => true,
            ParamKind::Id(words) => !word || words.contains(&value),
        }
    }
}

fn param_kinds(method: Method, template: &str) -> Vec<ParamKind> {
    let words = ID_WORDS
        .iter()
        .find(|(m, t, _)| *m == method.as_str() && *t == template)
        .map_or(&[][..], |(_, _, w)| *w);
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            if FREE_TEXT_PARAMS.contains(&name) {
                ParamKind::Free
            } else {
                ParamKind::Id(words)
            }
        })
        .collect()
}

/// A compiled policy: immutable, shared by every request.
#[derive(Debug)]
pub struct Policy {
    pub(crate) perm_names: Vec<Cow<'static, str>>,
    pub(crate) perm_descriptions: Vec<Cow<'static, str>>,
    /// (name, id), sorted by name.
    perm_lookup: Vec<(Cow<'static, str>, u16)>,
    pub(crate) routes: Vec<Route>,
    pub(crate) router: Router,
    pub(crate) roles: Vec<Role>,
    /// (name, index), sorted by key.
    role_lookup: Vec<(crate::router::Key, usize)>,
    pub(crate) workspace: Option<String>,
    pub(crate) scopes: ScopeMode,
    pub(crate) scope_source: ScopeSource,
    pub(crate) workspace_scopes: Option<Vec<String>>,
    pub(crate) unknown_versions: UnknownVersions,
    /// The first and last version any route names (`None`: no route names one).
    pub(crate) known_versions: Option<(ApiVersion, ApiVersion)>,
    pub(crate) mfa_permissions: PermSet,
    pub(crate) mfa_methods: Vec<String>,
    pub(crate) mfa_acr_values: Vec<String>,
    pub(crate) ip_allowlist: Vec<Cidr>,
    pub(crate) paths: PathMode,
    pub(crate) token_grants: bool,
    pub(crate) default_role: Option<String>,
    pub(crate) max_session_age: Option<u64>,
    /// `conversations:assign`, for the reassign rule.
    pub(crate) assign_permission: Option<u16>,
    /// `admins:act_as`: acting for another teammate ([`crate::acting`]).
    pub(crate) act_as: Option<u16>,
}

fn parse_cidrs(list: &[String], owner: &str) -> Result<Vec<Cidr>, PolicyError> {
    list.iter()
        .map(|c| {
            c.parse::<Cidr>()
                .map_err(|_| PolicyError(format!("invalid address block `{c}` in {owner}")))
        })
        .collect()
}

impl Policy {
    /// Compiles a policy.
    pub fn compile(cfg: &PolicyConfig) -> Result<Policy, PolicyError> {
        // Permissions: built in, then custom.
        let mut perm_names: Vec<Cow<'static, str>> =
            PERMISSIONS.iter().map(|(n, _)| Cow::Borrowed(*n)).collect();
        let mut perm_descriptions: Vec<Cow<'static, str>> =
            PERMISSIONS.iter().map(|(_, d)| Cow::Borrowed(*d)).collect();
        for (name, desc) in &cfg.permissions {
            let well_formed = name.split_once(':').is_some_and(|(r, a)| {
                !r.is_empty()
                    && !a.is_empty()
                    && name.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':'
                    })
            }) && name.matches(':').count() == 1;
            if !well_formed {
                return err(format!(
                    "invalid permission name `{name}` (use `resource:action`, lower case)"
                ));
            }
            if perm_names.iter().any(|n| n == name) {
                return err(format!("permission `{name}` is already defined"));
            }
            if perm_names.len() >= PermSet::CAPACITY {
                return err(format!(
                    "too many permissions at `{name}` (at most {})",
                    PermSet::CAPACITY
                ));
            }
            perm_names.push(Cow::Owned(name.clone()));
            perm_descriptions.push(Cow::Owned(desc.clone()));
        }
        let mut perm_lookup: Vec<(Cow<'static, str>, u16)> = perm_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u16))
            .collect();
        crate::sort::sort_by(&mut perm_lookup, |a, b| a.cmp(b));

        let mut policy = Policy {
            perm_names,
            perm_descriptions,
            perm_lookup,
            routes: Vec::new(),
            router: Router::default(),
            roles: Vec::new(),
            role_lookup: Vec::new(),
            workspace: cfg.workspace.clone(),
            scopes: cfg.scopes,
            scope_source: cfg.scope_source,
            workspace_scopes: cfg.workspace_scopes.clone(),
            unknown_versions: cfg.unknown_versions,
            known_versions: None,
            mfa_permissions: PermSet::new(),
            mfa_acr_values: cfg.mfa.acr_values.clone(),
            mfa_methods: cfg.mfa.methods.clone().unwrap_or_else(|| {
                ["mfa", "otp", "hwk", "sms"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
            ip_allowlist: parse_cidrs(&cfg.ip_allowlist, "`ip_allowlist`")?,
            paths: cfg.paths,
            token_grants: cfg.token_grants,
            default_role: cfg.default_role.clone(),
            max_session_age: cfg.max_session_age.map(|s| s.0),
            assign_permission: None,
            act_as: None,
        };
        policy.assign_permission = policy.permission_id("conversations:assign");
        policy.act_as = policy.permission_id("admins:act_as");
        policy.mfa_permissions = policy.resolve_all(&cfg.mfa.permissions, "`mfa.permissions`")?;
        policy.compile_routes(cfg)?;
        policy.known_versions = policy.version_span();
        policy.check_workspace_scopes()?;
        policy.compile_roles(cfg)?;
        if let Some(r) = &cfg.default_role {
            if policy.role(r).is_none() {
                return err(format!("unknown role `{r}` in `default_role`"));
            }
        }
        Ok(policy)
    }

    /// The first and last API version the routes name.
    fn version_span(&self) -> Option<(ApiVersion, ApiVersion)> {
        let ends = self
            .routes
            .iter()
            .filter_map(|r| r.version_range)
            .flat_map(|r| [Some(r.since), r.until])
            .flatten();
        let lo = ends.clone().min()?;
        let hi = ends.max()?;
        Some((lo, hi))
    }

    /// Whether `v` is a version the catalog knows (between its first and last, same major).
    pub fn knows_version(&self, v: ApiVersion) -> bool {
        self.known_versions
            .is_some_and(|(lo, hi)| v.major == lo.major && lo <= v && v <= hi)
    }

    /// Every name in `workspace_scopes` is a scope some route needs (a typo would deny).
    fn check_workspace_scopes(&self) -> Result<(), PolicyError> {
        let known = || self.routes.iter().filter_map(|r| r.scope.as_deref());
        for s in self.workspace_scopes.iter().flatten() {
            if !known().any(|k| k == s) {
                let near = perm::nearest(s, known());
                return err(format!(
                    "unknown OAuth scope `{s}` in `workspace_scopes`{}",
                    hint(s, near)
                ));
            }
        }
        Ok(())
    }

    /// The id of a permission name (not an alias).
    pub fn permission_id(&self, name: &str) -> Option<u16> {
        self.perm_lookup
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .and_then(|i| self.perm_lookup.get(i))
            .map(|(_, id)| *id)
    }

    /// The name of permission `id`.
    pub fn permission_name(&self, id: u16) -> &str {
        self.perm_names.get(usize::from(id)).map_or("?", |n| n)
    }

    /// The description of permission `id`.
    pub fn permission_description(&self, id: u16) -> &str {
        self.perm_descriptions
            .get(usize::from(id))
            .map_or("", |n| n)
    }

    /// Every permission: `(id, name)`.
    pub fn permissions(&self) -> impl Iterator<Item = (u16, &str)> {
        self.perm_names
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u16, &**n))
    }

    fn compile_routes(&mut self, cfg: &PolicyConfig) -> Result<(), PolicyError> {
        let mut all: Vec<RouteConfig> = Vec::new();
        if cfg.catalog {
            all.extend(catalog::rows().iter().map(|r| r.to_config()));
        }
        // (method, template shape) -> index in `all`: one lookup per configured route.
        // Inserted one by one: collecting a map sorts its entries first (a sort instantiated
        // for this one type, `make size`).
        let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (i, e) in all.iter().enumerate() {
            index.insert((e.method.clone(), template_shape(&e.path)), i);
        }
        for rc in &cfg.routes {
            let key = (rc.method.clone(), template_shape(&rc.path));
            match (index.get(&key).copied(), rc.replace) {
                (Some(i), true) => {
                    if let Some(slot) = all.get_mut(i) {
                        *slot = rc.clone();
                    }
                }
                (Some(i), false) => {
                    let with = all.get(i).map(|e| e.path.clone()).unwrap_or_default();
                    return err(format!(
                        "route `{} {}` conflicts with `{} {with}` (set `replace: true` to override it)",
                        rc.method, rc.path, rc.method
                    ));
                }
                (None, true) => {
                    return err(format!(
                        "route `{} {}` has `replace: true` but replaces nothing",
                        rc.method, rc.path
                    ))
                }
                (None, false) => {
                    index.insert(key, all.len());
                    all.push(rc.clone());
                }
            }
        }
        for rc in all {
            let owner = format!("route `{} {}`", rc.method, rc.path);
            let method = Method::parse(&rc.method)
                .filter(|_| rc.method != "HEAD")
                .ok_or_else(|| PolicyError(format!("unknown method `{}` in {owner}", rc.method)))?;
            if rc.permission.is_empty() {
                return err(format!("{owner} names no permission"));
            }
            let required = self.resolve_all(&rc.permission, &owner)?;
            let body = match &rc.body {
                None => None,
                Some(b) => Some(BodyRule::parse(b).ok_or_else(|| {
                    let near = perm::nearest(b, BodyRule::ALL.iter().map(|r| r.name()));
                    PolicyError(format!(
                        "unknown body rule `{b}` in {owner}{}",
                        hint(b, near)
                    ))
                })?),
            };
            let query =
                match &rc.query {
                    None => None,
                    Some(q) => Some(QueryRule::parse(q).ok_or_else(|| {
                        PolicyError(format!("unknown query rule `{q}` in {owner}"))
                    })?),
                };
            let self_permission = match &rc.self_permission {
                None => None,
                Some(p) => Some(self.permission_id(p).ok_or_else(|| {
                    let near = perm::nearest(p, self.perm_names.iter().map(|n| &**n));
                    PolicyError(format!(
                        "unknown permission `{p}` in {owner}{}",
                        hint(p, near)
                    ))
                })?),
            };
            if (self_permission.is_some() || rc.not_self) && !rc.path.contains('{') {
                return err(format!("{owner} has a self rule but no path parameter"));
            }
            let idx = self.routes.len() as u32;
            self.router
                .insert(method, &rc.path, idx)
                .map_err(|e| match e {
                    InsertError::Malformed(why) => {
                        PolicyError(format!("invalid path template in {owner}: {why}"))
                    }
                    InsertError::Conflict { with } => PolicyError(format!(
                        "{owner} conflicts with `{} {with}`",
                        method.as_str()
                    )),
                })?;
            self.routes.push(Route {
                params: param_kinds(method, &rc.path),
                conversation: conversation::kind(method, &template_shape(&rc.path)),
                conversation_query: conversation::query_params(method, &template_shape(&rc.path)),
                acting: acting::fields(method.as_str(), &template_shape(&rc.path)),
                method,
                display: format!("{} {}", method.as_str(), rc.path),
                template: rc.path,
                required,
                scope: rc.scope,
                scope_documented: rc.scope_documented,
                body,
                query,
                self_permission,
                not_self: rc.not_self,
                version_range: match rc.versions.as_deref() {
                    None => None,
                    Some(v) => Some(VersionRange::parse(v).ok_or_else(|| {
                        PolicyError(format!(
                            "invalid `versions` `{v}` in {owner} (write `2.7-` or `2.7-2.11`)"
                        ))
                    })?),
                },
                versions: rc.versions,
            });
        }
        Ok(())
    }

    fn builtin_permissions(&self, name: &str) -> Option<PermSet> {
        let mut all = PermSet::new();
        for i in 0..self.perm_names.len() {
            all.insert(i as u16);
        }
        let ids = |names: &[&str]| -> PermSet {
            let mut s = PermSet::new();
            for n in names {
                if let Some(id) = self.permission_id(n) {
                    s.insert(id);
                }
            }
            s
        };
        // A chain, each step built on the next: observer ⊆ agent ⊆ restricted ⊆ admin ⊆ owner.
        // Custom permissions are the owner's alone until the policy grants them to a role.
        let mut shipped = PermSet::new();
        for i in 0..PERMISSIONS.len() {
            shipped.insert(i as u16);
        }
        let shipped = shipped.difference(&ids(NO_BUILTIN_ROLE));
        let admin = shipped.difference(&ids(ADMIN_LACKS));
        let observer = self.reads().difference(&ids(OBSERVER_READ_LACKS));
        Some(match name {
            "owner" => all.difference(&ids(NO_BUILTIN_ROLE)),
            "admin" => admin,
            "restricted" => admin.difference(&ids(RESTRICTED_LACKS)),
            "agent" => observer.union(&ids(AGENT_WRITES)),
            "observer" => observer,
            _ => return None,
        })
    }

    fn reads(&self) -> PermSet {
        let mut s = PermSet::new();
        for (i, n) in self.perm_names.iter().enumerate().take(PERMISSIONS.len()) {
            if n.ends_with(":read") {
                s.insert(i as u16);
            }
        }
        s
    }

    // Not inlined into `compile`: V8 needs memory by the size of a function body (the
    // filter's test keeps every body under 24 KB).
    #[inline(never)]
    fn compile_roles(&mut self, cfg: &PolicyConfig) -> Result<(), PolicyError> {
        let mut names: Vec<String> = BUILTIN_ROLES.iter().map(|s| s.to_string()).collect();
        for name in cfg.roles.keys() {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
            {
                return err(format!(
                    "invalid role name `{name}` (letters, digits and `_-.:`)"
                ));
            }
            // The map's keys are distinct: only a built-in name can repeat.
            if !BUILTIN_ROLES.contains(&name.as_str()) {
                names.push(name.clone());
            }
        }
        // Each role once, after the role it extends: linear in the policy, and without
        // recursion (a chain of ten thousand `extends` is a loop, not a deep stack).
        let mut done: BTreeMap<String, Role> = BTreeMap::new();
        for name in &names {
            for role in self.unresolved_chain(name, cfg, &done)?.iter().rev() {
                let built = self.build_role(role, cfg, &done)?;
                done.insert(role.to_string(), built);
            }
        }
        let mut roles: Vec<Role> = Vec::new();
        for name in &names {
            if let Some(r) = done.remove(name) {
                roles.push(r);
            }
        }
        self.role_lookup = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (crate::router::Key::new(&r.name), i))
            .collect();
        crate::sort::sort_by(&mut self.role_lookup, |(a, _), (b, _)| {
            a.cmp_str(b.as_str())
        });
        self.roles = roles;
        Ok(())
    }

    /// `name` and the roles it extends, up to the first one already built (or the top of
    /// the chain): what must be built, child first. Refuses a cycle, an unknown parent and a
    /// built-in role that extends another.
    #[inline(never)] // see `compile_roles`
    fn unresolved_chain<'c>(
        &self,
        name: &'c str,
        cfg: &'c PolicyConfig,
        done: &BTreeMap<String, Role>,
    ) -> Result<Vec<&'c str>, PolicyError> {
        let mut chain: Vec<&str> = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut cur = name;
        while !done.contains_key(cur) {
            if !seen.insert(cur) {
                let mut cycle: Vec<&str> = chain.clone();
                cycle.push(cur);
                return err(format!(
                    "role `{cur}` extends itself: {}",
                    cycle.join(" -> ")
                ));
            }
            chain.push(cur);
            let Some(parent) = cfg.roles.get(cur).and_then(|r| r.extends.as_deref()) else {
                break;
            };
            if BUILTIN_ROLES.contains(&cur) {
                return err(format!("built-in role `{cur}` cannot extend another role"));
            }
            if !cfg.roles.contains_key(parent) && !BUILTIN_ROLES.contains(&parent) {
                let near = perm::nearest(
                    parent,
                    BUILTIN_ROLES
                        .iter()
                        .copied()
                        .chain(cfg.roles.keys().map(|k| k.as_str())),
                );
                return err(format!(
                    "unknown role `{parent}` extended by role `{cur}`{}",
                    hint(parent, near)
                ));
            }
            cur = parent;
        }
        Ok(chain)
    }

    /// Role `name`, whose parent (if any) is already in `done`.
    #[inline(never)] // see `compile_roles`
    fn build_role(
        &self,
        name: &str,
        cfg: &PolicyConfig,
        done: &BTreeMap<String, Role>,
    ) -> Result<Role, PolicyError> {
        let rc = cfg.roles.get(name);
        let owner = format!("role `{name}`");
        let extends = rc.and_then(|r| r.extends.as_deref());
        let parent = extends.and_then(|p| done.get(p));
        let base = match (parent, self.builtin_permissions(name)) {
            (Some(p), _) => p.permissions,
            (None, Some(b)) => b,
            (None, None) => PermSet::new(),
        };
        let empty = RoleConfig::default();
        let rc = rc.unwrap_or(&empty);
        let mut bad = Vec::new();
        let granted = self.resolve_names(&rc.grant, &mut bad);
        let revoked = self.resolve_names(&rc.revoke, &mut bad);
        names::refuse(&bad, &owner)?;
        let both = granted.difference(&granted.difference(&revoked));
        if let Some(id) = both.first() {
            return err(format!(
                "{owner} both grants and revokes `{}`",
                self.permission_name(id)
            ));
        }
        let ages = [
            self.max_session_age,
            rc.max_session_age.map(|s| s.0),
            parent.and_then(|p| p.max_session_age),
        ];
        let mut ip_allowlist = parse_cidrs(&rc.ip_allowlist, &owner)?;
        if ip_allowlist.is_empty() {
            if let Some(p) = parent {
                ip_allowlist = p.ip_allowlist.clone();
            }
        }
        Ok(Role {
            name: name.to_string(),
            permissions: base.union(&granted).difference(&revoked),
            mfa: rc.mfa || parent.is_some_and(|p| p.mfa),
            max_session_age: ages.iter().flatten().min().copied(),
            ip_allowlist,
            extends: rc.extends.clone(),
            granted,
            revoked,
            description: rc.description.clone(),
            conversation_access: rc
                .conversation_access
                .or(parent.map(|p| p.conversation_access))
                .unwrap_or_default(),
            reassign: rc
                .reassign
                .or(parent.map(|p| p.reassign))
                .unwrap_or_default(),
            reporting_exports: rc
                .reporting_exports
                .or(parent.map(|p| p.reporting_exports))
                .unwrap_or_default(),
        })
    }

    /// The compiled role named `name`.
    pub fn role(&self, name: &str) -> Option<&Role> {
        let probe = crate::router::prefix8(name);
        let i = self
            .role_lookup
            .binary_search_by(|(k, _)| k.cmp_probe(probe, name))
            .ok()?;
        let (_, idx) = self.role_lookup.get(i)?;
        self.roles.get(*idx)
    }

    /// Every role, built-in first.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Whether any role's conversation access depends on assignment (or its reassigning on
    /// the current assignee): a front-end must then judge responses and look conversations up.
    pub fn restricts_conversations(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.conversation_access != Access::All || r.reassign != Reassign::WithPermission)
    }

    /// Whether any decision reads the client's address (an `ip_allowlist` somewhere): a
    /// front-end that must ask its host for the address can skip asking when none does.
    pub fn reads_source_ip(&self) -> bool {
        !self.ip_allowlist.is_empty() || self.roles.iter().any(|r| !r.ip_allowlist.is_empty())
    }

    /// Every route.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The names of the permissions in `set`.
    pub fn names<'a>(&'a self, set: &'a PermSet) -> impl Iterator<Item = &'a str> + 'a {
        set.iter().map(move |id| self.permission_name(id))
    }

    /// The permissions that need MFA whoever asks (`mfa.permissions`, resolved).
    pub fn mfa_permissions(&self) -> PermSet {
        self.mfa_permissions
    }

    /// The name nearest to an unknown role, for messages.
    pub fn nearest_role(&self, name: &str) -> Option<&str> {
        perm::nearest(name, self.roles.iter().map(|r| r.name.as_str()))
    }

    /// What every request is judged by beyond its role and route (for reviews and diffs).
    pub fn settings(&self) -> Settings<'_> {
        Settings {
            workspace: self.workspace.as_deref(),
            scopes: self.scopes,
            scope_source: self.scope_source,
            workspace_scopes: self.workspace_scopes.as_deref(),
            unknown_versions: self.unknown_versions,
            mfa_methods: &self.mfa_methods,
            mfa_acr_values: &self.mfa_acr_values,
            ip_allowlist: &self.ip_allowlist,
            paths: self.paths,
            token_grants: self.token_grants,
            default_role: self.default_role.as_deref(),
            max_session_age: self.max_session_age,
            known_versions: self.known_versions,
        }
    }
}

/// The policy-wide settings of a compiled policy ([`Policy::settings`]): what the fields of
/// [`PolicyConfig`] of the same names became.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)] // each field is its `PolicyConfig` namesake, compiled (but one)
pub struct Settings<'a> {
    pub workspace: Option<&'a str>,
    pub scopes: ScopeMode,
    pub scope_source: ScopeSource,
    pub workspace_scopes: Option<&'a [String]>,
    pub unknown_versions: UnknownVersions,
    pub mfa_methods: &'a [String],
    pub mfa_acr_values: &'a [String],
    pub ip_allowlist: &'a [Cidr],
    pub paths: PathMode,
    pub token_grants: bool,
    pub default_role: Option<&'a str>,
    pub max_session_age: Option<u64>,
    /// Not a field of `PolicyConfig`: the first and last API version any route names (a
    /// version outside them is `unknown_version`); `None` when no route names one.
    pub known_versions: Option<(ApiVersion, ApiVersion)>,
}

/// A template's shape, every parameter written `{}`: `/contacts/{contact_id}/notes` →
/// `/contacts/{}/notes` (two templates of one shape are one route).
pub fn template_shape(t: &str) -> String {
    t.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The built-in roles form a chain, each a subset of the one above. Each step: (role above,
/// role below, why the one below has less, from the seeds). The README's chain table lists
/// what each step takes away, generated from the compiled roles.
pub const CHAIN: [(&str, &str, &str); 4] = [
    ("owner", "admin", "the workspace's owner alone changes security and workspace settings and makes irreversible deletions (contacts, conversation metrics)"),
    ("admin", "restricted", "seed 003: a restricted teammate loses app settings, teammates and billing; here also exports, publishing and messages to many"),
    ("restricted", "agent", "seed 002: agents work conversations and tickets (reply, note, assign, close, tag, message one person) and read; they change nothing else"),
    ("agent", "observer", "seed 002: observers read conversations, reports and articles, and take no action"),
];

/// What no built-in role has, not even `owner`: a policy grants it to a role of its own.
/// Acting as another teammate forges Intercom's record of who did what (`crate::acting`).
pub const NO_BUILTIN_ROLE: &[&str] = &["admins:act_as"];

/// What `admin` lacks: owner-only security and workspace settings, irreversible deletions.
pub const ADMIN_LACKS: &[&str] = &[
    "settings:manage",
    "security:manage",
    "contacts:delete",
    "conversations:delete_metrics",
];

/// What `restricted` lacks beside what `admin` lacks (seed 003): settings, teammates, billing,
/// export, and messages to more than one person.
pub const RESTRICTED_LACKS: &[&str] = &[
    "settings:read",
    "settings:manage",
    "security:manage",
    "admins:activity_logs",
    "admins:update_away",
    "reports:export",
    "content:export",
    "workflows:export",
    "messages:bulk_send",
    "content:publish",
];

/// What `agent` may change.
pub const AGENT_WRITES: &[&str] = &[
    "admins:update_own_away",
    "conversations:create",
    "conversations:reply",
    "conversations:note",
    "conversations:assign",
    "conversations:close",
    "conversations:snooze",
    "conversations:open",
    "conversations:update",
    "tickets:create",
    "tickets:reply",
    "tickets:note",
    "tickets:update",
    "tickets:assign",
    "tickets:close",
    "tickets:snooze",
    "tags:apply",
    "notes:write",
    "messages:send",
    "fin:use",
];

/// The reads `observer` (and so every role above it but `admin`'s own) does not get: settings.
pub const OBSERVER_READ_LACKS: &[&str] = &["settings:read"];

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(json: &str) -> Result<Policy, String> {
        let cfg: PolicyConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Policy::compile(&cfg).map_err(|e| e.0)
    }

    /// A chain of `n` roles, each extending the one before (`r0` extends `agent`, or `r{n-1}`
    /// when `cycle`).
    fn chain(n: usize, cycle: bool) -> String {
        let roles: Vec<String> = (0..n)
            .map(|i| {
                let parent = match i {
                    0 if cycle => format!("r{}", n - 1),
                    0 => "agent".into(),
                    i => format!("r{}", i - 1),
                };
                format!(r#""r{i}":{{"extends":"{parent}","grant":["tags:manage"]}}"#)
            })
            .collect();
        format!(r#"{{"roles":{{{}}}}}"#, roles.join(","))
    }

    #[test]
    fn a_chain_of_ten_thousand_extends_compiles_without_recursion() {
        let p = compile(&chain(10_000, false)).unwrap();
        let last = p.role("r9999").unwrap();
        assert!(p.names(&last.permissions).any(|n| n == "tags:manage"));
        assert_eq!(p.role("r0").unwrap().extends.as_deref(), Some("agent"));
        let e = compile(&chain(10_000, true)).unwrap_err();
        assert!(
            e.starts_with("role `r0` extends itself: r0 -> r9999 -> r9998"),
            "{}",
            &e[..80]
        );
    }

    #[test]
    fn default_policy_compiles() {
        let p = compile("{}").unwrap();
        assert!(p.routes().len() >= 231);
        for r in BUILTIN_ROLES {
            assert!(p.role(r).is_some(), "{r}");
        }
        let owner = p.role("owner").unwrap().permissions;
        let admin = p.role("admin").unwrap().permissions;
        let agent = p.role("agent").unwrap().permissions;
        let observer = p.role("observer").unwrap().permissions;
        let restricted = p.role("restricted").unwrap().permissions;
        // The chain: every permission of a role is in the role above it, and each step adds.
        let chain = [owner, admin, restricted, agent, observer];
        for (i, pair) in chain.windows(2).enumerate() {
            let (above, below) = (pair[0], pair[1]);
            assert!(
                above.contains_all(&below),
                "{} ⊉ {}",
                BUILTIN_ROLES[i],
                BUILTIN_ROLES[i + 1]
            );
            assert_ne!(
                above,
                below,
                "{} = {}",
                BUILTIN_ROLES[i],
                BUILTIN_ROLES[i + 1]
            );
        }
        assert!(!agent.contains(p.permission_id("contacts:delete").unwrap()));
        assert!(observer
            .iter()
            .all(|id| p.permission_name(id).ends_with(":read")));
    }

    #[test]
    fn errors_name_the_culprit() {
        let cases = [
            (r#"{"roles":{"a":{"extends":"b"},"b":{"extends":"a"}}}"#, "role `a` extends itself: a -> b -> a"),
            (r#"{"roles":{"a":{"extends":"agnet"}}}"#, "unknown role `agnet` extended by role `a` (did you mean `agent`?)"),
            (r#"{"roles":{"a":{"grant":["contacts:read"],"revoke":["contacts:read"]}}}"#, "role `a` both grants and revokes `contacts:read`"),
            (r#"{"routes":[{"method":"GET","path":"/contacts/{contact_id}","permission":"contacts:read"}]}"#,
             "route `GET /contacts/{contact_id}` conflicts with `GET /contacts/{id}` (set `replace: true` to override it)"),
            (r#"{"routes":[{"method":"GET","path":"/x","permission":"x:y"}]}"#, "unknown permission `x:y` in route `GET /x`"),
            (r#"{"routes":[{"method":"GET","path":"/x/{a","permission":"contacts:read"}]}"#,
             "invalid path template in route `GET /x/{a`: a parameter must span the whole segment, as `{id}`"),
            (r#"{"routes":[{"method":"FETCH","path":"/x","permission":"contacts:read"}]}"#, "unknown method `FETCH` in route `FETCH /x`"),
            (r#"{"routes":[{"method":"POST","path":"/x","permission":"contacts:read","body":"tag"}]}"#,
             "unknown body rule `tag` in route `POST /x` (did you mean `tags`?)"),
            (r#"{"ip_allowlist":["10.0.0.0/40"]}"#, "invalid address block `10.0.0.0/40` in `ip_allowlist`"),
            (r#"{"default_role":"boss"}"#, "unknown role `boss` in `default_role`"),
            (r#"{"mfa":{"permissions":["contact:delete"]}}"#, "unknown permission `contact:delete` in `mfa.permissions` (did you mean `contacts:delete`?)"),
            (r#"{"permissions":{"Bad Name":"x"}}"#, "invalid permission name `Bad Name` (use `resource:action`, lower case)"),
            (r#"{"roles":{"agent":{"extends":"admin"}}}"#, "built-in role `agent` cannot extend another role"),
        ];
        for (json, want) in cases {
            assert_eq!(compile(json).err().as_deref(), Some(want), "{json}");
        }
        assert!(compile(r#"{"rolez":{}}"#)
            .unwrap_err()
            .contains("unknown field `rolez`"));
    }

    #[test]
    fn custom_roles_and_aliases() {
        let p = compile(
            r#"{"permissions":{"reports:custom":"x"},
                "roles":{
                  "tier1":{"extends":"agent","revoke":["conversations:assign"],"grant":["Can manage tags"]},
                  "tier2":{"extends":"tier1","grant":["can_export_csv","reports:custom"],"mfa":true}}}"#,
        )
        .unwrap();
        let t1 = p.role("tier1").unwrap();
        let t2 = p.role("tier2").unwrap();
        let id = |n| p.permission_id(n).unwrap();
        assert!(!t1.permissions.contains(id("conversations:assign")));
        assert!(t1.permissions.contains(id("tags:manage")));
        assert!(
            t2.permissions.contains(id("reports:export"))
                && t2.permissions.contains(id("reports:custom"))
        );
        assert!(t2.mfa && !t1.mfa);
        assert!(
            !t2.permissions.contains(id("conversations:assign")),
            "revocation is inherited"
        );
    }

    #[test]
    fn reads_the_source_ip_only_with_an_allowlist() {
        let reads = |json: &str| {
            let cfg: PolicyConfig = serde_json::from_str(json).unwrap();
            Policy::compile(&cfg).unwrap().reads_source_ip()
        };
        assert!(!reads("{}"));
        assert!(reads(r#"{"ip_allowlist":["10.0.0.0/8"]}"#));
        assert!(reads(
            r#"{"roles":{"agent":{"ip_allowlist":["10.0.0.0/8"]}}}"#
        ));
        assert!(reads(
            r#"{"roles":{"t":{"extends":"agent","ip_allowlist":["::1/128"]}}}"#
        ));
    }

    #[test]
    fn default_is_the_empty_object() {
        let parsed: PolicyConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, PolicyConfig::default());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("8h"), Some(28800));
        assert_eq!(parse_duration("1d"), Some(86400));
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(parse_duration("h"), None);
    }
}
