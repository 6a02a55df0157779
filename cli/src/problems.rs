//! Every problem of a configuration in one run (for `check`). The loaders stop at the first
//! error, so each part is judged on its own:
//!
//! 1. shape: each role, route and key, then each other field, deserialized alone; a broken
//!    part is reported and left out of what follows;
//! 2. meaning: the policy compiled one piece at a time on top of the pieces already accepted
//!    (custom permissions, allowlists, MFA permissions, routes, scopes, then roles in `extends`
//!    order, then `default_role`);
//! 3. keys one by one, then the whole configuration (remote JWKS, upstream, …).

use std::collections::{BTreeMap, BTreeSet};

use intercom_authz::authorizer::{Authorizer, Config};
use intercom_authz::policy::{Policy, PolicyConfig, RoleConfig, RouteConfig, BUILTIN_ROLES};
use intercom_authz::token::{load_key, KeyConfig};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// One problem: where, and what.
#[derive(Debug, serde::Serialize)]
pub struct Problem {
    /// In a YAML file, which embedded configuration (an Envoy filter, a WasmPlugin).
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// The culprit, as a path into the configuration (`policy.roles.tier1.grant[0]`).
    pub at: String,
    /// What is wrong with it.
    pub message: String,
}

fn problem(at: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        within: None,
        at: at.into(),
        message: message.into(),
    }
}

/// `at` joined with serde's inner path (`.` when the error is at the top).
fn join(at: &str, inner: &str) -> String {
    match (at, inner) {
        (a, ".") => a.to_string(),
        ("", i) => i.to_string(),
        (a, i) if i.starts_with('[') => format!("{a}{i}"),
        (a, i) => format!("{a}.{i}"),
    }
}

fn shape<T: DeserializeOwned>(v: &Value, at: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let at = join(at, &e.path().to_string());
        problem(at, e.into_inner().to_string())
    })
}

/// Keeps the fields of `map` that deserialize alone as a `T` (`{field: value}`).
fn sift_fields<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    at: &str,
    out: &mut Vec<Problem>,
) {
    map.retain(|k, v| {
        shape::<T>(&json!({ k.as_str(): v }), at)
            .map_err(|p| out.push(p))
            .is_ok()
    });
}

/// Keeps the entries of `map` whose value deserializes as a `T`.
fn sift_entries<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    at: &str,
    out: &mut Vec<Problem>,
) {
    map.retain(|k, v| shape::<T>(v, &join(at, k)).map_err(|p| out.push(p)).is_ok());
}

/// Keeps the items of `items` that deserialize as a `T`.
fn sift_items<T: DeserializeOwned>(items: &mut Vec<Value>, at: &str, out: &mut Vec<Problem>) {
    let mut i = 0;
    items.retain(|v| {
        let ok = shape::<T>(v, &format!("{at}[{i}]"))
            .map_err(|p| out.push(p))
            .is_ok();
        i += 1;
        ok
    });
}

/// Stage 1: the configuration with every part that does not deserialize left out.
fn sound_shape(mut v: Value, out: &mut Vec<Problem>) -> Config {
    let Some(top) = v.as_object_mut() else {
        out.push(problem("", "the configuration is not a JSON object"));
        return Config::default();
    };
    if let Some(Value::Object(policy)) = top.get_mut("policy") {
        if let Some(Value::Object(roles)) = policy.get_mut("roles") {
            sift_entries::<RoleConfig>(roles, "policy.roles", out);
        }
        if let Some(Value::Array(routes)) = policy.get_mut("routes") {
            sift_items::<RouteConfig>(routes, "policy.routes", out);
        }
        sift_fields::<PolicyConfig>(policy, "policy", out);
    }
    if let Some(Value::Object(token)) = top.get_mut("token") {
        if let Some(Value::Array(keys)) = token.get_mut("keys") {
            sift_items::<KeyConfig>(keys, "token.keys", out);
        }
    }
    sift_fields::<Config>(top, "", out);
    shape::<Config>(&v, "").unwrap_or_else(|p| {
        out.push(p);
        Config::default()
    })
}

/// A policy being rebuilt piece by piece: a piece is kept only if the policy still compiles.
struct Builder<'a> {
    acc: PolicyConfig,
    /// `acc`, compiled.
    compiled: Policy,
    out: &'a mut Vec<Problem>,
}

impl Builder<'_> {
    fn add(&mut self, at: String, piece: impl FnOnce(&mut PolicyConfig)) -> bool {
        let mut next = self.acc.clone();
        piece(&mut next);
        match Policy::compile(&next) {
            Ok(p) => {
                self.acc = next;
                self.compiled = p;
                true
            }
            Err(e) => {
                self.out.push(problem(at, e.0));
                false
            }
        }
    }

    /// One wave of roles ready to add (their parents are in, or bad: independent of each
    /// other). A role whose parent is bad is a problem of its own; the others are added as a
    /// group, split in halves only where a half fails to compile: a wave without problems is
    /// one compilation, and each problem costs a few. Problems come in the wave's order.
    fn add_wave(&mut self, wave: Vec<(String, RoleConfig)>, bad: &mut BTreeSet<String>) {
        let mut found: Vec<(usize, String, String)> = Vec::new();
        let mut group = Vec::new();
        for (i, (name, role)) in wave.into_iter().enumerate() {
            match role.extends.as_deref().filter(|p| bad.contains(*p)) {
                Some(parent) => {
                    let why = format!("extends role `{parent}`, which has a problem");
                    found.push((i, name, why));
                }
                None => group.push((i, name, role)),
            }
        }
        self.add_group(group, &mut found);
        found.sort_by_key(|(i, _, _)| *i);
        for (_, name, why) in found {
            self.out.push(problem(format!("policy.roles.{name}"), why));
            bad.insert(name);
        }
    }

    /// Adds `group` at once, or each half of it (see [`Builder::add_wave`]).
    fn add_group(
        &mut self,
        mut group: Vec<(usize, String, RoleConfig)>,
        found: &mut Vec<(usize, String, String)>,
    ) {
        if group.is_empty() {
            return;
        }
        let mut next = self.acc.clone();
        next.roles
            .extend(group.iter().map(|(_, n, r)| (n.clone(), r.clone())));
        match Policy::compile(&next) {
            Ok(p) => {
                self.acc = next;
                self.compiled = p;
            }
            Err(e) if group.len() == 1 => {
                if let Some((i, name, _)) = group.pop() {
                    found.push((i, name, e.0));
                }
            }
            Err(_) => {
                let right = group.split_off(group.len() / 2);
                self.add_group(group, found);
                self.add_group(right, found);
            }
        }
    }

    fn roles(&mut self, mut pending: BTreeMap<String, RoleConfig>) {
        let mut bad = BTreeSet::new();
        while !pending.is_empty() {
            let ready: Vec<String> = pending
                .iter()
                .filter(|(_, r)| {
                    r.extends.as_deref().is_none_or(|p| {
                        BUILTIN_ROLES.contains(&p)
                            || self.acc.roles.contains_key(p)
                            || bad.contains(p)
                            || !pending.contains_key(p)
                    })
                })
                .map(|(n, _)| n.clone())
                .collect();
            if ready.is_empty() {
                // What is left extends itself through the others: let the compiler say how.
                let rest = std::mem::take(&mut pending);
                let names: Vec<String> = rest.keys().cloned().collect();
                self.add(format!("policy.roles.{}", names.join(",")), |p| {
                    p.roles.extend(rest)
                });
                return;
            }
            let wave = ready
                .into_iter()
                .filter_map(|n| pending.remove(&n).map(|r| (n, r)))
                .collect();
            self.add_wave(wave, &mut bad);
        }
    }
}

/// Stage 2: the policy. Compiled whole first: when that succeeds (the common case), there is
/// nothing to attribute. Otherwise each piece on top of the accepted ones, roles a wave at a
/// time (see [`Builder::add_wave`]), so that every problem is found and named.
fn sound_policy(cfg: &PolicyConfig, out: &mut Vec<Problem>) -> (PolicyConfig, Option<Policy>) {
    if let Ok(p) = Policy::compile(cfg) {
        return (cfg.clone(), Some(p));
    }
    let mut empty = cfg.clone();
    empty.roles.clear();
    empty.permissions.clear();
    empty.routes.clear();
    empty.ip_allowlist.clear();
    empty.mfa.permissions.clear();
    empty.workspace_scopes = cfg.workspace_scopes.as_ref().map(|_| Vec::new());
    empty.default_role = None;
    let compiled = match Policy::compile(&empty) {
        Ok(p) => p,
        Err(e) => {
            out.push(problem("policy", e.0));
            return (empty, None);
        }
    };
    let mut b = Builder {
        acc: empty,
        compiled,
        out,
    };
    for (k, v) in &cfg.permissions {
        b.add(format!("policy.permissions.{k}"), |p| {
            p.permissions.insert(k.clone(), v.clone());
        });
    }
    for (i, c) in cfg.ip_allowlist.iter().enumerate() {
        b.add(format!("policy.ip_allowlist[{i}]"), |p| {
            p.ip_allowlist.push(c.clone())
        });
    }
    for (i, m) in cfg.mfa.permissions.iter().enumerate() {
        b.add(format!("policy.mfa.permissions[{i}]"), |p| {
            p.mfa.permissions.push(m.clone())
        });
    }
    for (i, r) in cfg.routes.iter().enumerate() {
        b.add(format!("policy.routes[{i}]"), |p| p.routes.push(r.clone()));
    }
    for (i, s) in cfg.workspace_scopes.iter().flatten().enumerate() {
        b.add(format!("policy.workspace_scopes[{i}]"), |p| {
            p.workspace_scopes
                .get_or_insert_with(Vec::new)
                .push(s.clone());
        });
    }
    b.roles(cfg.roles.clone());
    if let Some(d) = &cfg.default_role {
        b.add("policy.default_role".into(), |p| {
            p.default_role = Some(d.clone())
        });
    }
    (b.acc, Some(b.compiled))
}

/// Stage 3: each key alone, then the whole configuration.
fn sound_keys(cfg: &mut Config, out: &mut Vec<Problem>) {
    let mut i = 0;
    cfg.token.keys.retain(|k| {
        let owner = format!("`token.keys[{i}]`");
        let ok = load_key(k, &owner)
            .map_err(|e| out.push(problem(format!("token.keys[{i}]"), e)))
            .is_ok();
        i += 1;
        ok
    });
}

/// Every problem of the configuration `value` (a full configuration), and, when there is
/// none, the configuration and its compiled policy.
pub fn find(
    value: Value,
    has_keys: impl Fn(&Config) -> bool,
) -> (Vec<Problem>, Option<(Config, Policy)>) {
    let mut out = Vec::new();
    let mut cfg = sound_shape(value, &mut out);
    let (policy, compiled) = sound_policy(&cfg.policy, &mut out);
    cfg.policy = policy;
    sound_keys(&mut cfg, &mut out);
    if has_keys(&cfg) {
        if let Err(e) = Authorizer::new(cfg.clone()) {
            out.push(problem("", e.0));
        }
    }
    match compiled {
        // No problem: the policy as rebuilt is the whole policy, already compiled.
        Some(p) if out.is_empty() => (out, Some((cfg, p))),
        _ => (out, None),
    }
}
