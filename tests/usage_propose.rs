//! `intercom-authz usage … --propose OUT`, the built binary on temporary files: what the
//! auditor found (a test each, fixtures in `tests/cli/propose/`), then a property over random
//! policies and logs. The proposal compiles; every role with allowed requests keeps what it
//! used of its own grants, gains nothing, and keeps nothing that neither it nor a role
//! extending it used; a role without any keeps exactly what it had.
//!
//! `PROPOSE_CASES=3000 PROPOSE_SEED=7 cargo test -p intercom-authz-cli --test usage_propose`
//! draws more; a failing case's files stay in `target/tmp/usage-propose/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use intercom_authz::authorizer::Authorizer;
use intercom_authz::perm::{ALIASES, PERMISSIONS};
use intercom_authz::policy::{Policy, BUILTIN_ROLES};
use serde_json::{json, Map, Value};

type Names = BTreeSet<String>;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `target/tmp/usage-propose/NAME`.
fn tmp(name: &str) -> PathBuf {
    let dir = root().join("target/tmp/usage-propose");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_intercom-authz"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

/// Keys for the checks' own compiles: `Authorizer::from_json` wants something to verify with.
fn token() -> Value {
    json!({"keys": [{"kid": "k", "alg": "HS256", "secret": "usage-propose-test-secret-0123456789"}]})
}

/// Whether a configuration is a bare policy (one key of a full configuration says it is not).
fn bare(cfg: &Value) -> bool {
    ["policy", "token", "mode", "audit"]
        .iter()
        .all(|k| cfg.get(k).is_none())
}

/// A configuration in full, with keys: `Authorizer::from_json` wants something to verify with.
fn full(cfg: &Value) -> Value {
    let full = if bare(cfg) {
        json!({"policy": cfg})
    } else {
        cfg.clone()
    };
    let mut full = full.as_object().unwrap().clone();
    full.entry("token").or_insert_with(token);
    Value::Object(full)
}

/// A configuration (full, or a bare policy) compiled as the filter would.
fn compiled(cfg: &Value) -> Authorizer {
    let text = full(cfg).to_string();
    Authorizer::from_json(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// What each role of the policy has, by name.
fn effective(p: &Policy) -> BTreeMap<String, Names> {
    let names = |set| p.names(set).map(String::from).collect();
    p.roles()
        .iter()
        .map(|r| (r.name.clone(), names(&r.permissions)))
        .collect()
}

/// `usage FIXTURE.json FIXTURE.log --propose …`: the proposal and stdout.
fn propose(fixture: &str, extra: &[&str]) -> (Value, String) {
    let out = tmp(&format!("{fixture}.proposed.json"));
    let cfg = format!("tests/cli/propose/{fixture}.json");
    let log = format!("tests/cli/propose/{fixture}.log");
    let mut args = vec!["usage", &cfg, &log, "--propose", out.to_str().unwrap()];
    args.extend(extra);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{fixture}: {stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    (serde_json::from_str(&text).unwrap(), stdout)
}

fn set(names: &[&str]) -> Names {
    names.iter().map(|n| n.to_string()).collect()
}

/// Regression: a wildcard or alias grant made the proposal revoke its members beside it, and
/// the compiler refused ("role `cm` both grants and revokes `articles:publish`").
#[test]
fn wildcard_and_alias_grants_give_way_to_the_members_used() {
    let (proposed, _) = propose("wildcard", &[]);
    assert!(proposed.get("policy").is_none(), "a bare policy stays bare");
    let cm = &proposed["roles"]["cm"];
    assert_eq!(
        cm["grant"],
        json!(["articles:publish", "data_attributes:manage"])
    );
    assert!(cm.get("revoke").is_none(), "{cm}");
    let roles = effective(compiled(&proposed).policy());
    let want = [
        "articles:publish",
        "contacts:read",
        "data_attributes:manage",
    ];
    assert_eq!(roles["cm"], set(&want));
    assert_eq!(roles["agent"], set(&["contacts:read"]));
}

/// Regression: a full configuration without `policy` (the built-in one) came back unchanged.
#[test]
fn a_full_configuration_without_policy_is_narrowed() {
    let (proposed, _) = propose("full-no-policy", &[]);
    assert_eq!(proposed["mode"], "enforce");
    assert_eq!(
        proposed["token"]["trusted_payload_header"],
        "x-intercom-claims"
    );
    let roles = effective(compiled(&proposed).policy());
    assert_eq!(
        roles["agent"],
        set(&["contacts:read", "conversations:reply"])
    );
    let builtin = effective(compiled(&json!({})).policy());
    assert_eq!(
        roles["observer"], builtin["observer"],
        "no traffic: unchanged"
    );
}

/// Regression: a role without traffic lost what its narrowed parent lost (46 grants).
#[test]
fn a_role_without_traffic_keeps_what_it_had_under_a_narrowed_parent() {
    let (proposed, _) = propose("quiet-child", &[]);
    let before: Value = read_json("tests/cli/propose/quiet-child.json");
    let had = effective(compiled(&before).policy());
    let roles = effective(compiled(&proposed).policy());
    assert_eq!(roles["tier1"], set(&["contacts:read"]));
    assert_eq!(roles["tier1-night"], had["tier1-night"]);
    assert_eq!(proposed["roles"]["tier1-night"]["extends"], "tier1");
}

/// Regression: a permission from the token counted as the role's, and the proposal aborted
/// ("would take `tags:manage` from role `tier2`, which used it").
#[test]
fn permissions_from_the_token_are_not_evidence_about_the_role() {
    let (proposed, text) = propose("token", &[]);
    assert!(
        text.contains("  token   tags:manage: 1 times, last 2026-09-21 (granted by the token's permissions claim)"),
        "{text}"
    );
    // A record without `grantedByToken` (written before it existed): not the role's either.
    assert!(text.contains("role `observer`: 1 subjects\n  token   contacts:delete"));
    assert!(text.contains("contacts:delete: 1 times, last 2026-09-21 (not granted by the role: the token's claim, or the reassign rule)"), "{text}");
    let roles = effective(compiled(&proposed).policy());
    assert_eq!(roles["tier2"], set(&["contacts:read"]));
    let builtin = effective(compiled(&json!({})).policy());
    assert_eq!(
        roles["observer"], builtin["observer"],
        "only the token used"
    );
    let (_, json) = propose("token", &["--format", "json"]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let mut roles = report["roles"].as_array().unwrap().iter();
    let tier2 = roles.find(|r| r["role"] == "tier2").unwrap();
    assert_eq!(tier2["from_token"]["tags:manage"]["count"], 1);
    assert_eq!(tier2["recorded_by_token"], json!(["tags:manage"]));
    assert!(tier2["used"].get("tags:manage").is_none());
}

/// The configuration an Envoy file embeds is proposed in full, as JSON.
#[test]
fn an_embedded_configuration_is_proposed_as_json() {
    let out = tmp("envoy.proposed.json");
    let log = "tests/cli/propose/full-no-policy.log";
    let args = [
        "usage",
        "envoy/envoy.yaml",
        log,
        "--propose",
        out.to_str().unwrap(),
    ];
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let proposed: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let roles = effective(compiled(&proposed).policy());
    assert_eq!(
        roles["agent"],
        set(&["contacts:read", "conversations:reply"])
    );
}

fn read_json(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(rel)).unwrap()).unwrap()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A grant or revoke entry: a permission, `resource:*`, an alias (label or id), or `*`.
fn entry(rng: &mut Rng) -> String {
    let (perm, _) = *rng.pick(PERMISSIONS);
    let (label, id, _) = *rng.pick(ALIASES);
    match rng.below(20) {
        0..=9 => perm.into(),
        10..=14 => format!("{}:*", perm.split(':').next().unwrap()),
        15..=16 => label.into(),
        17..=18 => id.into(),
        _ => "*".into(),
    }
}

fn entries(rng: &mut Rng, most: usize) -> Vec<String> {
    (0..rng.below(most + 1)).map(|_| entry(rng)).collect()
}

/// Custom roles extending built-in roles and each other (never in a cycle), grants and
/// revokes of every form, adjustments to built-in roles, `token_grants` on or off.
fn random_policy(rng: &mut Rng) -> Value {
    let mut roles = Map::new();
    let mut parents: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
    for i in 0..rng.below(6) {
        let mut role = Map::new();
        if rng.chance(85) {
            role.insert("extends".into(), rng.pick(&parents).clone().into());
        }
        role.insert("grant".into(), entries(rng, 3).into());
        role.insert("revoke".into(), entries(rng, 2).into());
        parents.push(format!("c{i}"));
        roles.insert(format!("c{i}"), role.into());
    }
    if rng.chance(25) {
        let builtin = *rng.pick(&BUILTIN_ROLES);
        let adjust = json!({"grant": entries(rng, 2), "revoke": entries(rng, 2)});
        roles.insert(builtin.into(), adjust);
    }
    json!({"roles": roles, "token_grants": rng.chance(50)})
}

/// A configuration as a file holds it (a bare policy, a full one, or for the built-in policy
/// a full one without `policy`), compiled. A policy that grants and revokes one permission
/// does not compile: drawn again.
fn written(rng: &mut Rng) -> (Value, Authorizer) {
    loop {
        let cfg = match rng.below(20) {
            0..=2 => json!({"mode": "enforce", "token": token()}),
            3..=11 => random_policy(rng),
            _ => json!({"mode": "enforce", "policy": random_policy(rng), "token": token()}),
        };
        if let Ok(a) = Authorizer::from_json(&full(&cfg).to_string()) {
            return (cfg, a);
        }
    }
}

/// One audit record, in the form `usage` reads.
fn record(time: u64, role: &str, success: bool, permissions: &[&str]) -> String {
    json!({"time": time, "adminId": format!("{role}-{}", time % 3), "role": role,
        "success": success, "code": if success { "allowed" } else { "missing_permission" },
        "permissions": permissions, "action": permissions.first()})
    .to_string()
}

/// Random traffic: some roles none, others allowed requests for what they have (and, with
/// `token_grants`, for what only the token gives), denials, and a role the policy lacks.
fn random_log(rng: &mut Rng, had: &BTreeMap<String, Names>, token_grants: bool) -> String {
    let all: Vec<&str> = PERMISSIONS.iter().map(|(n, _)| *n).collect();
    let mut lines = Vec::new();
    let mut time = 1_790_000_000;
    for (role, perms) in had {
        if perms.is_empty() || rng.chance(40) {
            continue;
        }
        let mine: Vec<&str> = perms.iter().map(String::as_str).collect();
        for _ in 0..1 + rng.below(6) {
            time += 1 + rng.below(100) as u64;
            let used: Vec<&str> = (0..1 + rng.below(2)).map(|_| *rng.pick(&mine)).collect();
            let line = match rng.below(10) {
                0 if token_grants => {
                    let other = all.iter().find(|p| !perms.contains(**p) && rng.chance(10));
                    record(time, role, true, &[*other.unwrap_or(&mine[0]), used[0]])
                }
                1 => record(time, role, false, &[*rng.pick(&all)]),
                _ => record(time, role, true, &used),
            };
            lines.push(line);
        }
    }
    if rng.chance(10) {
        lines.push(record(time + 1, "ghost", true, &["contacts:read"]));
    }
    lines.join("\n") + "\n"
}

/// What the log shows each role allowed, by role.
fn allowed(log: &str) -> BTreeMap<String, Names> {
    let mut by_role: BTreeMap<String, Names> = BTreeMap::new();
    for line in log.lines().filter(|l| !l.is_empty()) {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["success"] == true {
            let perms = r["permissions"].as_array().unwrap().iter();
            let perms = perms.map(|p| p.as_str().unwrap().to_string());
            let role = r["role"].as_str().unwrap().to_string();
            by_role.entry(role).or_default().extend(perms);
        }
    }
    by_role
}

/// Whether `role` extends `ancestor`, directly or not.
fn descends(p: &Policy, role: &str, ancestor: &str) -> bool {
    let mut cur = p.role(role).and_then(|r| r.extends.clone());
    while let Some(name) = cur {
        if name == ancestor {
            return true;
        }
        cur = p.role(&name).and_then(|r| r.extends.clone());
    }
    false
}

/// How often the draws reach what the auditor found, summed over the cases: a property that
/// never meets them proves nothing.
#[derive(Debug, Default)]
struct Reached {
    narrowed_roles: usize,
    quiet_roles_under_narrowed: usize,
    wildcard_or_alias_rewritten: usize,
    roles_using_the_token: usize,
    full_without_policy: usize,
}

/// One case: `usage` runs, the proposal holds every property, the report splits the token's
/// permissions off, the proposal keeps the configuration's form. Returns what is wrong.
fn check_case(
    cfg: &Value,
    before: &Authorizer,
    log: &str,
    seen: &mut Reached,
) -> Result<(), String> {
    let (proposed, stdout) = run_usage(cfg, log)?;
    let text = full(&proposed).to_string();
    let after = Authorizer::from_json(&text).map_err(|e| format!("the proposal: {e}"))?;
    let logged = allowed(log);
    let (had, now) = (effective(before.policy()), effective(after.policy()));
    check_roles(before.policy(), &had, &now, &logged)?;
    seen.roles_using_the_token += check_from_token(&stdout, &had, &logged)?;
    if !same_form(cfg, &proposed) {
        return Err(format!(
            "the proposal changed the configuration's form: {proposed}"
        ));
    }
    tally(
        seen,
        before.policy(),
        (&had, &now),
        &logged,
        (cfg, &proposed),
    );
    Ok(())
}

fn tally(
    seen: &mut Reached,
    p: &Policy,
    (had, now): (&BTreeMap<String, Names>, &BTreeMap<String, Names>),
    logged: &BTreeMap<String, Names>,
    (cfg, proposed): (&Value, &Value),
) {
    let narrowed = |r: &String| had[r] != now[r];
    seen.narrowed_roles += had.keys().filter(|r| narrowed(r)).count();
    let quiet = had
        .keys()
        .filter(|r| logged.get(*r).is_none_or(|l| l.is_disjoint(&had[*r])));
    seen.quiet_roles_under_narrowed += quiet
        .filter(|r| had.keys().any(|a| narrowed(a) && descends(p, r, a)))
        .count();
    let grants = |cfg: &Value| -> Vec<(String, String)> {
        let policy = if bare(cfg) { cfg } else { &cfg["policy"] };
        let roles = policy["roles"].as_object().into_iter().flatten();
        let grant = |(r, c): (&String, &Value)| {
            let entries = c["grant"].as_array().into_iter().flatten();
            entries
                .map(|e| (r.clone(), e.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        };
        roles.flat_map(grant).collect()
    };
    let after = grants(proposed);
    let wide = |e: &str| e.contains('*') || !e.contains(':');
    seen.wildcard_or_alias_rewritten += grants(cfg)
        .into_iter()
        .filter(|(r, e)| wide(e) && !after.contains(&(r.clone(), e.clone())))
        .count();
    seen.full_without_policy += usize::from(!bare(cfg) && cfg.get("policy").is_none());
}

/// Whether the proposal has the configuration's form: a bare policy stays bare, a full
/// configuration keeps its keys and has a `policy` (the built-in one's included).
fn same_form(cfg: &Value, proposed: &Value) -> bool {
    let keys = |c: &Value| -> Names {
        c.as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect()
    };
    let mut want = keys(cfg);
    want.insert("policy".into());
    bare(cfg) == bare(proposed) && (bare(cfg) || keys(proposed) == want)
}

/// `usage CONFIG LOG --format json --propose OUT` on the case's files: OUT and stdout.
fn run_usage(cfg: &Value, log: &str) -> Result<(Value, String), String> {
    let paths = ["case.json", "case.log", "case.out.json"].map(tmp);
    std::fs::write(&paths[0], cfg.to_string()).unwrap();
    std::fs::write(&paths[1], log).unwrap();
    let [cfg_path, log_path, out] = paths.each_ref().map(|p| p.to_str().unwrap());
    let args = [
        "usage",
        cfg_path,
        log_path,
        "--format",
        "json",
        "--propose",
        out,
    ];
    let (code, stdout, stderr) = run(&args);
    if code != 0 {
        return Err(format!("exit {code}: {stderr}"));
    }
    let proposed = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    Ok((proposed, stdout))
}

/// Every role of the policy `p`, which `had`, has `now`.
fn check_roles(
    p: &Policy,
    had: &BTreeMap<String, Names>,
    now: &BTreeMap<String, Names>,
    logged: &BTreeMap<String, Names>,
) -> Result<(), String> {
    let used: BTreeMap<String, Names> = had
        .iter()
        .map(|(r, perms)| {
            let theirs = logged.get(r).cloned().unwrap_or_default();
            (r.clone(), theirs.intersection(perms).cloned().collect())
        })
        .collect();
    for (role, perms) in had {
        let heirs = used.iter().filter(|(h, _)| descends(p, h, role));
        let heirs_used: Names = heirs.flat_map(|(_, u)| u.iter().cloned()).collect();
        check_role(role, perms, &now[role], &used[role], &heirs_used)?;
    }
    Ok(())
}

/// One role: it `had`, has `now`, used `mine` of its own grants; roles extending it used
/// `heirs_used`.
fn check_role(
    role: &str,
    had: &Names,
    now: &Names,
    mine: &Names,
    heirs_used: &Names,
) -> Result<(), String> {
    if mine.is_empty() && now != had {
        return Err(format!("role `{role}` had no traffic but changed: {now:?}"));
    }
    if !mine.is_subset(now) {
        return Err(format!("role `{role}` lost some of {mine:?}: {now:?}"));
    }
    if !now.is_subset(had) {
        return Err(format!("role `{role}` gained: {now:?}"));
    }
    let unused = now
        .iter()
        .find(|g| !mine.contains(*g) && !heirs_used.contains(*g));
    match unused {
        Some(g) if !mine.is_empty() => Err(format!("role `{role}` kept `{g}`, which nobody used")),
        _ => Ok(()),
    }
}

/// The JSON report's `from_token`: what each role used that it does not grant. Returns how
/// many roles have some.
fn check_from_token(
    stdout: &str,
    had: &BTreeMap<String, Names>,
    logged: &BTreeMap<String, Names>,
) -> Result<usize, String> {
    let mut roles = 0;
    let report: Value = serde_json::from_str(stdout).unwrap();
    for r in report["roles"].as_array().unwrap() {
        let role = r["role"].as_str().unwrap();
        let Some(perms) = had.get(role) else { continue };
        let theirs = logged.get(role).cloned().unwrap_or_default();
        let want: Names = theirs.difference(perms).cloned().collect();
        let from_token = r["from_token"].as_object().into_iter().flatten();
        let got: Names = from_token.map(|(k, _)| k.clone()).collect();
        if got != want {
            return Err(format!(
                "role `{role}`: from the token {got:?}, want {want:?}"
            ));
        }
        roles += usize::from(!got.is_empty());
    }
    Ok(roles)
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| v.parse().unwrap())
}

#[test]
fn proposals_keep_what_was_used_and_compile() {
    let seed = env_or("PROPOSE_SEED", 1);
    let cases = env_or("PROPOSE_CASES", 300);
    let mut rng = Rng(seed);
    let started = std::time::Instant::now();
    let mut seen = Reached::default();
    for case in 0..cases {
        let (cfg, p) = written(&mut rng);
        let token_grants = p.config().policy.token_grants;
        let log = random_log(&mut rng, &effective(p.policy()), token_grants);
        if let Err(e) = check_case(&cfg, &p, &log, &mut seen) {
            panic!("seed {seed}, case {case}: {e}\nconfiguration and log: target/tmp/usage-propose/case.*");
        }
    }
    let time = started.elapsed();
    eprintln!("seed {seed}: {cases} cases in {time:.1?}; reached {seen:?}");
    assert!(
        cases < 100
            || (seen.quiet_roles_under_narrowed > 0 && seen.wildcard_or_alias_rewritten > 0),
        "the draws miss what the auditor found: {seen:?}"
    );
}
