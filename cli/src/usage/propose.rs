//! `usage --propose OUT`: the configuration narrowed to what the logs show in use.
//!
//! Each role gets a target. A role with allowed requests in the logs keeps what it used of its
//! own grants, and what the roles extending it used through it (what they inherit, not what
//! they grant themselves); a role without keeps exactly what it has: no evidence either way.
//! Each role's `grant` and `revoke` are then rewritten to reach its target from what it starts
//! from (its parent's target, the built-in role, or nothing), changing only what must change:
//! - a grant no longer wanted is dropped; a wildcard (`articles:*`) or an alias (`Can manage
//!   tags`) that covers one gives way to the members kept, by name (the compiler refuses a
//!   role that grants and revokes one permission: the wildcard cannot stay beside a revoke);
//! - what the role starts from but should lose is revoked by name;
//! - what the parent lost but the role keeps (a role without traffic under a narrowed parent)
//!   is granted by name.
//!
//! The result is compiled and every role checked against its target before it is written, in
//! the form it was read: a bare policy stays bare, a full configuration without `policy` (the
//! built-in policy) gets one.

use std::collections::BTreeMap;

use intercom_authz::authorizer::Config;
use intercom_authz::perm::{self, PermSet};
use intercom_authz::policy::{Policy, PolicyConfig, Role, BUILTIN_ROLES};
use serde_json::{Map, Value};

use super::RoleReport;
use crate::common::*;

/// Writes the configuration at `path` (whose policy `p` compiles), narrowed, to `out`.
pub fn write(
    p: &Policy,
    path: &str,
    policy: &PolicyConfig,
    reports: &[RoleReport],
    out: &str,
) -> Result<()> {
    let targets = targets(p, reports);
    let builtin = builtin_bases(p, policy)?;
    let mut cfg = load_value(path)?;
    let bare = is_bare(path, &cfg)?;
    let roles = roles_of(&mut cfg)?;
    for role in p.roles() {
        let base = match role.extends.as_deref() {
            Some(parent) => targets.get(parent),
            None => builtin.get(&role.name),
        };
        let base = base.copied().unwrap_or_default();
        if let Some(target) = targets.get(&role.name) {
            narrow(p, role, base, *target, roles)?;
        }
    }
    verify(&cfg, &targets, reports)?;
    let cfg = match cfg.get_mut("policy") {
        Some(policy) if bare => policy.take(),
        _ => cfg,
    };
    let text = serde_json::to_string_pretty(&cfg).map_err(|e| e.to_string())?;
    std::fs::write(out, text + "\n").map_err(|e| format!("cannot write `{out}`: {e}"))
}

/// Whether the file at `path` holds a bare policy (which `load_value` wrapped). What an Envoy
/// or Istio YAML file embeds is a full configuration; the proposal is written as JSON.
fn is_bare(path: &str, loaded: &Value) -> Result<bool> {
    if crate::embedded::is_yaml(path) {
        return Ok(false);
    }
    let as_read: Value = serde_json::from_str(&read(path)?).map_err(|e| e.to_string())?;
    Ok(as_read != *loaded)
}

/// What each role of the policy keeps.
fn targets(p: &Policy, reports: &[RoleReport]) -> BTreeMap<String, PermSet> {
    let used: BTreeMap<&str, PermSet> = reports
        .iter()
        .filter(|r| r.known && !r.used.is_empty())
        .map(|r| (r.role.as_str(), ids(p, r.used.keys())))
        .collect();
    let target = |role: &Role| {
        if !used.contains_key(role.name.as_str()) {
            return role.permissions;
        }
        let wanted = used.iter().fold(PermSet::new(), |all, (user, theirs)| {
            all.union(&through(p, user, &role.name, *theirs))
        });
        intersection(role.permissions, wanted)
    };
    p.roles()
        .iter()
        .map(|r| (r.name.clone(), target(r)))
        .collect()
}

/// What `user` used through `role`: all it used when it is `role`; when it extends `role`,
/// what neither it nor the roles between them grant themselves; otherwise nothing.
fn through(p: &Policy, user: &str, role: &str, used: PermSet) -> PermSet {
    let mut own = PermSet::new();
    let mut cur = p.role(user);
    for _ in 0..p.roles().len() {
        let Some(r) = cur else { break };
        if r.name == role {
            return used.difference(&own);
        }
        own = own.union(&r.granted);
        cur = r.extends.as_deref().and_then(|e| p.role(e));
    }
    PermSet::new()
}

/// What each built-in role has before the policy's own `grant` and `revoke` (compiled again
/// without them, when it has some).
fn builtin_bases(p: &Policy, policy: &PolicyConfig) -> Result<BTreeMap<String, PermSet>> {
    let builtin = |name: &String| BUILTIN_ROLES.contains(&name.as_str());
    let plain = if policy.roles.keys().any(builtin) {
        let mut plain = policy.clone();
        plain.roles.retain(|name, _| !builtin(name));
        Some(Policy::compile(&plain).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let q = plain.as_ref().unwrap_or(p);
    let base = |name: &str| q.role(name).map(|r| r.permissions).unwrap_or_default();
    Ok(BUILTIN_ROLES
        .iter()
        .map(|name| (name.to_string(), base(name)))
        .collect())
}

fn ids<'a>(p: &Policy, names: impl Iterator<Item = &'a String>) -> PermSet {
    let mut set = PermSet::new();
    names
        .filter_map(|n| p.permission_id(n))
        .for_each(|id| set.insert(id));
    set
}

fn intersection(a: PermSet, b: PermSet) -> PermSet {
    a.difference(&a.difference(&b))
}

/// The configuration's `policy.roles`, created if absent (a full configuration without
/// `policy` has the built-in policy: `{}`).
fn roles_of(cfg: &mut Value) -> Result<&mut Map<String, Value>> {
    let empty = || Value::Object(Map::new());
    let root = cfg
        .as_object_mut()
        .ok_or("the configuration is not an object")?;
    let policy = root.entry("policy").or_insert_with(empty);
    let policy = policy.as_object_mut().ok_or("`policy` is not an object")?;
    let roles = policy.entry("roles").or_insert_with(empty);
    roles
        .as_object_mut()
        .ok_or_else(|| "`policy.roles` is not an object".to_string())
}

/// Rewrites `role`'s configuration to reach `target` from `base` (what it starts from: its
/// parent's target, the built-in role, or nothing).
fn narrow(
    p: &Policy,
    role: &Role,
    base: PermSet,
    target: PermSet,
    roles: &mut Map<String, Value>,
) -> Result<()> {
    let start = base.union(&role.granted).difference(&role.revoked);
    if start == target {
        return Ok(());
    }
    let written = roles
        .entry(role.name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    let written = written
        .as_object_mut()
        .ok_or_else(|| format!("role `{}` is not an object", role.name))?;
    let drop = start.difference(&target);
    // INVARIANT: the grants lose all of `drop`, the revokes gain only some: never both.
    let mut grant = kept_grants(p, &strings(written.get("grant")), drop);
    add_names(&mut grant, p, target.difference(&start));
    let mut revoke = strings(written.get("revoke"));
    add_names(&mut revoke, p, intersection(drop, base));
    for (key, list) in [("grant", grant), ("revoke", revoke)] {
        if !list.is_empty() || written.contains_key(key) {
            written.insert(key.into(), list.into());
        }
    }
    Ok(())
}

/// The grants as written, without those in `drop`: a plain name goes, a wildcard or an alias
/// gives way to its members that stay.
fn kept_grants(p: &Policy, written: &[String], drop: PermSet) -> Vec<String> {
    let mut kept = Vec::new();
    for entry in written {
        let covers = members(p, entry);
        if intersection(covers, drop).is_empty() {
            add(&mut kept, entry);
        } else if p.permission_id(entry).is_none() {
            add_names(&mut kept, p, covers.difference(&drop));
        }
    }
    kept
}

/// What a grant names: a permission, `resource:*`, `*` or an alias (as `Policy::compile`
/// resolves it; `verify` holds the two to the same result).
fn members(p: &Policy, entry: &str) -> PermSet {
    let mut set = PermSet::new();
    let resource = entry.strip_suffix(":*");
    let matches = |name: &str| {
        entry == "*"
            || name == entry
            || resource.is_some_and(|res| name.split_once(':').is_some_and(|(r, _)| r == res))
    };
    p.permissions()
        .filter(|(_, name)| matches(name))
        .for_each(|(id, _)| set.insert(id));
    if set.is_empty() {
        let aliased = perm::alias(entry).unwrap_or_default().iter();
        aliased
            .filter_map(|n| p.permission_id(n))
            .for_each(|id| set.insert(id));
    }
    set
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn add(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_string());
    }
}

fn add_names(list: &mut Vec<String>, p: &Policy, set: PermSet) {
    p.names(&set).for_each(|n| add(list, n));
}

/// The proposal compiles, and every role has exactly its target: checked, not assumed.
fn verify(cfg: &Value, targets: &BTreeMap<String, PermSet>, reports: &[RoleReport]) -> Result<()> {
    let cfg: Config = serde_json::from_value(cfg.clone())
        .map_err(|e| format!("the proposal does not load: {e}"))?;
    let q =
        Policy::compile(&cfg.policy).map_err(|e| format!("the proposal does not compile: {e}"))?;
    for (name, want) in targets {
        let got = q.role(name).map(|r| r.permissions).unwrap_or_default();
        if let Some(id) = want.difference(&got).first() {
            let perm = q.permission_name(id);
            let used = reports
                .iter()
                .any(|r| r.role == *name && r.used.contains_key(perm));
            let why = if used { ", which used it" } else { "" };
            return Err(format!(
                "the proposal would take `{perm}` from role `{name}`{why}"
            ));
        }
        if let Some(id) = got.difference(want).first() {
            return Err(format!(
                "the proposal would give role `{name}` `{}`, which it does not need",
                q.permission_name(id)
            ));
        }
    }
    Ok(())
}
