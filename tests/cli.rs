//! The `intercom-authz` binary, end to end, against golden outputs in `tests/cli/golden/`
//! (`UPDATE_GOLDEN=1 cargo test -p intercom-authz-cli --test cli` rewrites them). Bad inputs must give
//! one clear line and a non-zero exit, never a panic or a debug dump.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_intercom-authz"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn golden(name: &str, args: &[&str], want_code: i32) {
    let (code, stdout, stderr) = run(args);
    let got = format!(
        "$ intercom-authz {}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{got}"
    );
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .join("tests/cli/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}: run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(got, want, "{name}");
    assert_eq!(code, want_code, "{name}");
}

#[test]
fn check() {
    golden("check-ok", &["check", "tests/configs/strict.json"], 0);
    golden(
        "check-policy-only",
        &["check", "tests/cli/small-new.json"],
        0,
    );
    golden(
        "check-json",
        &["check", "--format", "json", "tests/configs/default.json"],
        0,
    );
    golden(
        "check-missing-file",
        &["check", "tests/cli/missing.json"],
        1,
    );
    golden("check-bad-json", &["check", "tests/cli/bad.json"], 1);
    golden("check-typo", &["check", "tests/cli/typo-policy.json"], 1);
    golden(
        "check-typo-json",
        &["check", "--format", "json", "tests/cli/typo-policy.json"],
        1,
    );
    // Every problem in one run: shapes, permissions, roles (and the roles that extend them,
    // and a cycle), allowlists, routes, keys, the default role.
    golden("check-many", &["check", "tests/cli/many-problems.json"], 1);
    // The configurations an Envoy bootstrap, an ECDS resource and an Istio WasmPlugin embed.
    golden("check-envoy-yaml", &["check", "envoy/envoy.yaml"], 0);
    golden(
        "check-ecds-yaml",
        &["check", "envoy/ecds/intercom_authz.ecds.yaml"],
        0,
    );
    golden("check-istio-yaml", &["check", "istio/wasmplugin.yaml"], 0);
    // The filter refuses a configuration whose Intercom token comes from an environment
    // variable the VM is not given: an error for `check` too (`lint` L018).
    golden(
        "check-token-env",
        &["check", "tests/cli/wiring/token-env.yaml"],
        1,
    );
    golden(
        "check-yaml-without-ours",
        &["check", "envoy/ecds/envoy.yaml"],
        1,
    );
    golden(
        "check-yaml-problems-json",
        &[
            "check",
            "--format",
            "json",
            "tests/cli/embedded-problems.yaml",
        ],
        1,
    );
    golden(
        "check-many-json",
        &["check", "--format", "json", "tests/cli/many-problems.json"],
        1,
    );
    // Every bad grant and revoke of a role, with its suggestion, not only the first.
    golden("check-typos", &["check", "tests/cli/typos.json"], 1);
    golden(
        "check-typos-json",
        &["check", "--format", "json", "tests/cli/typos.json"],
        1,
    );
}

#[test]
fn explain() {
    golden(
        "explain-allow",
        &[
            "explain",
            "tests/configs/default.json",
            "GET",
            "/contacts/1",
            "--role",
            "agent",
            "--now",
            "1800000000",
        ],
        0,
    );
    golden(
        "explain-deny",
        &[
            "explain",
            "tests/cli/small-old.json",
            "DELETE",
            "/contacts/1",
            "--role",
            "tier1",
            "--now",
            "1800000000",
        ],
        3,
    );
    golden(
        "explain-body",
        &[
            "explain",
            "tests/cli/small-old.json",
            "POST",
            "/conversations/9/parts",
            "--role",
            "tier1",
            "--body",
            r#"{"message_type":"assignment"}"#,
            "--now",
            "1800000000",
        ],
        3,
    );
    golden(
        "explain-claims",
        &[
            "explain",
            "tests/configs/strict.json",
            "DELETE",
            "/contacts/1",
            "--claims",
            r#"{"role":"admin","workspace_id":"ws_acme","iat":1800000000,"scope":"write_users_companies","amr":["otp"]}"#,
            "--ip",
            "10.1.1.1",
            "--now",
            "1800000000",
        ],
        3,
    );
    golden(
        "explain-unknown-role",
        &[
            "explain",
            "tests/configs/default.json",
            "GET",
            "/contacts",
            "--role",
            "superuser",
            "--now",
            "1800000000",
        ],
        3,
    );
    // A permission the role lacks, granted by the token's `permissions` claim: named as such
    // where the role's provenance is, and in the reasons.
    golden(
        "explain-token-grant",
        &[
            "explain",
            "tests/configs/default.json",
            "DELETE",
            "/contacts/1",
            "--claims",
            r#"{"role":"agent","permissions":["contacts:delete"],"iat":1800000000}"#,
            "--now",
            "1800000000",
        ],
        0,
    );
    golden(
        "explain-no-principal",
        &["explain", "tests/configs/default.json", "GET", "/contacts"],
        1,
    );
    golden(
        "explain-bad-claims",
        &[
            "explain",
            "tests/configs/default.json",
            "GET",
            "/contacts",
            "--claims",
            "{role",
        ],
        1,
    );
}

#[test]
fn matrix() {
    golden("matrix-md", &["matrix", "tests/cli/small-old.json"], 0);
    // Conditions: MFA for every request or for some permissions (✓ᴹ), IP allowlist, session
    // age; and a diff that drops MFA and widens an allowlist, in each format.
    golden(
        "matrix-conditions",
        &["matrix", "tests/cli/conditions-old.json"],
        0,
    );
    for format in ["md", "json", "csv"] {
        golden(
            &format!("matrix-diff-conditions-{format}"),
            &[
                "matrix",
                "--diff",
                "tests/cli/conditions-old.json",
                "tests/cli/conditions-new.json",
                "--format",
                format,
            ],
            0,
        );
    }
    golden(
        "matrix-csv-permission",
        &[
            "matrix",
            "tests/cli/small-new.json",
            "--format",
            "csv",
            "--by",
            "permission",
        ],
        0,
    );
    golden(
        "matrix-json",
        &["matrix", "tests/cli/small-new.json", "--format", "json"],
        0,
    );
    golden(
        "matrix-diff",
        &[
            "matrix",
            "--diff",
            "tests/cli/small-old.json",
            "tests/cli/small-new.json",
        ],
        0,
    );
    // What an auditor found missing: a route remapped to a permission every role has, a
    // conversation access widened, a global allowlist dropped, a default role added; and,
    // outside the policy, enforcement turned off.
    for format in ["md", "json", "csv"] {
        golden(
            &format!("matrix-diff-dangerous-{format}"),
            &[
                "matrix",
                "--diff",
                "tests/cli/dangerous-old.json",
                "tests/cli/dangerous-new.json",
                "--format",
                format,
            ],
            0,
        );
    }
    golden(
        "matrix-diff-dry-run",
        &[
            "matrix",
            "--diff",
            "tests/cli/dangerous-old.json",
            "tests/cli/dangerous-dry-run.json",
        ],
        0,
    );
    // The policy's allowlist in every role's conditions; a restricted conversation access.
    golden(
        "matrix-global-conditions",
        &["matrix", "tests/cli/dangerous-old.json"],
        0,
    );
    // By permission: the roles' permissions, and only the routes whose definition changed.
    golden(
        "matrix-diff-dangerous-by-permission",
        &[
            "matrix",
            "--diff",
            "tests/cli/dangerous-old.json",
            "tests/cli/dangerous-new.json",
            "--by",
            "permission",
        ],
        0,
    );
    golden(
        "matrix-diff-none",
        &[
            "matrix",
            "--diff",
            "tests/cli/dangerous-old.json",
            "tests/cli/dangerous-old.json",
        ],
        0,
    );
}

#[test]
fn lint() {
    golden("lint-lax", &["lint", "tests/cli/lax.json"], 4);
    golden("lint-strict", &["lint", "tests/configs/strict.json"], 4);
    golden("lint-fail-open", &["lint", "tests/cli/fail-open.yaml"], 4);
    golden(
        "lint-fail-closed",
        &["lint", "tests/cli/fail-closed.yaml"],
        4,
    );
    // The shipped bootstrap: FAIL_RELOAD passes; its policy keeps the built-in roles, whose
    // sensitive permissions have no MFA (L001), accepted here as a team would.
    golden("lint-demo-envoy", &["lint", "envoy/envoy.yaml"], 4);
    // An ip_allowlist behind a connection manager that trusts X-Forwarded-For (L012), next to
    // the same allowlist behind `use_remote_address: true` (no L012).
    golden(
        "lint-client-address",
        &["lint", "tests/cli/client-address.yaml", "--accept", "L001"],
        4,
    );
    golden(
        "lint-demo-envoy-accepted",
        &["lint", "envoy/envoy.yaml", "--accept", "L001"],
        0,
    );
    // Istio's failStrategy, the deprecated fail_open, flow style; another team's Wasm filter
    // is left alone. Accepting every finding but one still exits 4; accepting all exits 0.
    golden(
        "lint-fail-open-json",
        &["lint", "--format", "json", "tests/cli/fail-open.yaml"],
        4,
    );
    let accept_but_one = [
        "lint",
        "tests/cli/fail-open.yaml",
        "--accept",
        "L001",
        "--accept",
        "L005",
        "--accept",
        "L007",
        "--accept",
        "L009:WasmPlugin/intercom-authz",
        "--accept",
        "L009:http_filters[1]",
    ];
    golden("lint-accept-but-one", &accept_but_one, 4);
    let mut accept_all = accept_but_one.to_vec();
    accept_all.extend(["--accept", "L009:http_filters[0]"]);
    golden("lint-accept-all", &accept_all, 0);
}

/// The wiring rules (L011 for Istio, L013–L019), one fixture each in `tests/cli/wiring/`, each
/// otherwise wired right: only its rule fires.
#[test]
fn lint_wiring() {
    for fixture in [
        "buffer-missing",
        "buffer-first",
        "buffer-too-small",
        "no-header-hold",
        "unverified-payload",
        "token-env",
        "istio-buffer-missing",
        "istio-fail-close",
        "istio-authn-payload",
        "istio-not-inserted",
    ] {
        golden(
            &format!("lint-wiring-{fixture}"),
            &["lint", &format!("tests/cli/wiring/{fixture}.yaml")],
            4,
        );
    }
}

/// The shipped Envoy and Istio files are wired right: no failure-policy or wiring finding
/// (their policies may still have others, such as L001).
#[test]
fn shipped_examples_are_wired_right() {
    let wiring = [
        "L009", "L011", "L013", "L014", "L015", "L016", "L017", "L018", "L019",
    ];
    for file in [
        "envoy/envoy.yaml",
        "envoy/ecds/intercom_authz.ecds.yaml",
        "istio/envoyfilter.yaml",
        "istio/wasmplugin.yaml",
    ] {
        let (code, stdout, stderr) = run(&["lint", "--format", "json", file]);
        assert!(code == 0 || code == 4, "{file}: exit {code}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let codes: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .filter(|c| wiring.contains(c))
            .collect();
        assert!(codes.is_empty(), "{file}: {codes:?}\n{stdout}");
    }
}

#[test]
fn routes() {
    golden(
        "routes-new-api",
        &[
            "routes",
            "tests/configs/default.json",
            "--openapi",
            "tests/cli/new-api.yaml",
        ],
        4,
    );
    golden(
        "routes-bad-spec",
        &[
            "routes",
            "tests/configs/default.json",
            "--openapi",
            "tests/cli/bad.json",
        ],
        1,
    );
}

#[test]
fn token_is_a_valid_hs256_token() {
    let (code, stdout, _) = run(&[
        "token",
        "--secret",
        "0123456789abcdef0123456789abcdef",
        "--role",
        "agent",
        "--kid",
        "k",
        "--ttl",
        "30m",
        "--claims",
        r#"{"email":"a@example.com"}"#,
    ]);
    assert_eq!(code, 0);
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(
        stdout.trim(),
        &jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        &v,
    )
    .unwrap();
    assert_eq!(data.header.kid.as_deref(), Some("k"));
    assert_eq!(data.claims["role"], "agent");
    assert_eq!(data.claims["email"], "a@example.com");
    let ttl = data.claims["exp"].as_u64().unwrap() - data.claims["iat"].as_u64().unwrap();
    assert_eq!(ttl, 1800);
    let (code, _, stderr) = run(&[
        "token", "--secret", "s", "--role", "agent", "--ttl", "forever",
    ]);
    assert_eq!(
        (code, stderr.trim()),
        (
            1,
            "error: `--ttl forever` is not a duration (use `3600`, `30m`, `1h`)"
        )
    );
}

/// `routes --openapi` suggests only safe rows: pasted into the policy they pass `check`, every
/// suggested permission exists (or is declared by the fragment), nothing is weaker than the
/// operation (a delete is never a `:write` or `:read`, a new permission is the owner's alone),
/// and afterwards every operation is classified.
#[test]
fn routes_suggestions_paste_into_a_policy_that_checks() {
    let (code, stdout, _) = run(&[
        "routes",
        "tests/configs/default.json",
        "--openapi",
        "tests/cli/new-api.yaml",
    ]);
    assert_eq!(code, 4, "{stdout}");
    assert!(stdout.contains("GUESS"), "{stdout}");
    let json = &stdout[stdout.find("\n{").unwrap() + 1..];
    let fragment: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .join("tests/configs/default.json"),
        )
        .unwrap(),
    )
    .unwrap();
    cfg["policy"]["permissions"] = fragment["permissions"].clone();
    cfg["policy"]["routes"] = fragment["routes"].clone();
    let merged = std::env::temp_dir().join(format!("routes-merged-{}.json", std::process::id()));
    std::fs::write(&merged, cfg.to_string()).unwrap();
    let merged_s = merged.to_str().unwrap();
    let (code, out, err) = run(&["check", merged_s]);
    assert_eq!(code, 0, "{out}{err}");
    let routes = fragment["routes"].as_array().unwrap();
    let perm_of = |m: &str, p: &str| {
        routes
            .iter()
            .find(|r| r["method"] == m && r["path"] == p)
            .map(|r| r["permission"].as_str().unwrap().to_string())
            .unwrap()
    };
    // A read of a known resource is its read permission; everything else is new, owner-only.
    assert_eq!(perm_of("GET", "/contacts/{id}/timeline"), "contacts:read");
    for (m, p) in [
        ("POST", "/conversations/bulk/delete"),
        ("POST", "/conversations/{conversation_id}/summaries"),
        ("GET", "/workspaces/{id}/billing"),
        ("POST", "/widgets/search"),
    ] {
        let perm = perm_of(m, p);
        assert!(
            fragment["permissions"].get(&perm).is_some(),
            "{m} {p}: {perm} is not a new permission"
        );
        let sample = p.replace("{conversation_id}", "12").replace("{id}", "12");
        for (role, want) in [("owner", 0), ("admin", 3), ("agent", 3)] {
            let (code, out, _) = run(&["explain", merged_s, m, &sample, "--role", role]);
            assert_eq!(code, want, "{role} {m} {p}: {out}");
        }
    }
    let (code, out, _) = run(&["routes", merged_s, "--openapi", "tests/cli/new-api.yaml"]);
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_file(&merged);
}

/// `intercom-authz matrix … | head`: a reader that closes the pipe early is not a panic.
#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let log = audit_log(3000, "pipe.log", false);
    let strict = "tests/configs/strict.json";
    let (old, new) = (
        "tests/cli/conditions-old.json",
        "tests/cli/conditions-new.json",
    );
    let secret = "0123456789abcdef0123456789abcdef";
    // Each command, and its exit code when its output is read.
    let commands: [(&[&str], i32); 12] = [
        (&["matrix", strict], 0),
        (&["matrix", "--diff", old, new], 0),
        (&["schema"], 0),
        (&["schema", "--typescript"], 0),
        (&["lint", "tests/cli/lax.json"], 4),
        (&["lint", "--format", "json", "tests/cli/fail-open.yaml"], 4),
        (&["check", strict], 0),
        (
            &["check", "--format", "json", "tests/cli/many-problems.json"],
            1,
        ),
        (
            &["explain", strict, "GET", "/contacts", "--role", "agent"],
            3,
        ),
        (
            &[
                "routes",
                "tests/cli/small-old.json",
                "--openapi",
                "tests/cli/new-api.yaml",
            ],
            4,
        ),
        (&["usage", "tests/cli/usage-policy.json", &log], 0),
        (&["token", "--secret", secret, "--role", "agent"], 0),
    ];
    for (args, normal) in commands {
        assert_eq!(run(args).0, normal, "{args:?}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_intercom-authz"))
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // closed before the first line is written
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // The closed pipe ends it quietly with 0 (or, had a write won the race against the
        // close, with its usual code).
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(normal),
            "{args:?}: {code:?} {stderr}"
        );
    }
}

/// Writes `target/tmp/usage/NAME` with `tests/cli/gen_audit_log.py` (deterministic).
fn audit_log(lines: usize, name: &str, gzip: bool) -> String {
    let rel = format!("target/tmp/usage/{name}");
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    std::fs::create_dir_all(root.join("target/tmp/usage")).unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["tests/cli/gen_audit_log.py", &lines.to_string(), &rel])
        .current_dir(root);
    if gzip {
        cmd.arg("--gzip");
    }
    assert!(cmd.status().unwrap().success());
    rel
}

/// `usage` on a generated log (plain and gzip): used and unused grants per role, denials,
/// skipped and malformed lines; the proposed policy keeps every grant in use (usage checks
/// it, and `explain` here), and `matrix --diff` shows what it takes away.
#[test]
fn usage() {
    let plain = audit_log(3000, "audit.log", false);
    let gz = audit_log(2000, "audit.log.gz", true);
    let proposed = "target/tmp/usage/proposed.json";
    // The same facts, a row each, for a spreadsheet.
    golden(
        "usage-csv",
        &[
            "usage",
            "tests/cli/usage-policy.json",
            &plain,
            "--format",
            "csv",
        ],
        0,
    );
    golden(
        "usage",
        &[
            "usage",
            "tests/cli/usage-policy.json",
            &plain,
            &gz,
            "--propose",
            proposed,
        ],
        0,
    );
    golden(
        "usage-proposed-diff",
        &[
            "matrix",
            "--diff",
            "tests/cli/usage-policy.json",
            proposed,
            "--by",
            "permission",
        ],
        0,
    );
    // tier2 extends observer and used tags:read: still allowed under the proposal.
    let (code, out, _) = run(&["explain", proposed, "GET", "/tags", "--role", "tier2"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run(&["explain", proposed, "GET", "/tags", "--role", "observer"]);
    assert_eq!(code, 0, "observer keeps tags:read for tier2's sake");
    let (code, _, _) = run(&[
        "explain",
        proposed,
        "GET",
        "/companies/1",
        "--role",
        "tier2",
    ]);
    assert_eq!(code, 3, "an unused grant is revoked");
    let (code, out, _) = run(&[
        "usage",
        "--format",
        "json",
        "tests/cli/usage-policy.json",
        &plain,
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["malformed"].as_u64().unwrap() > 0 && v["skipped"].as_u64().unwrap() > 0,
        "{v}"
    );
}

/// The repository root, where the tests run the command.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The plugin configuration a YAML file embeds (a Wasm filter's `configuration.value`, a
/// WasmPlugin's `pluginConfig`), found here independently of `embedded.rs`.
fn plugin_config(v: &serde_json::Value) -> Option<serde_json::Value> {
    match v {
        serde_json::Value::Object(o) => {
            let value = o.get("configuration").and_then(|c| c.get("value"));
            if let Some(serde_json::Value::String(s)) = value {
                return serde_json::from_str(s).ok();
            }
            if let Some(c) = o.get("pluginConfig") {
                return Some(c.clone());
            }
            o.values().find_map(plugin_config)
        }
        serde_json::Value::Array(a) => a.iter().find_map(plugin_config),
        _ => None,
    }
}

/// The configuration `yaml` embeds, written as JSON to `target/tmp/embedded/NAME.json`.
fn embedded_as_json(yaml: &str, name: &str) -> String {
    use serde::Deserialize as _;
    let text = std::fs::read_to_string(root().join(yaml)).unwrap();
    let config = serde_yaml_ng::Deserializer::from_str(&text)
        .find_map(|doc| plugin_config(&serde_json::Value::deserialize(doc).unwrap()))
        .unwrap_or_else(|| panic!("{yaml} embeds no configuration"));
    let rel = format!("target/tmp/embedded/{name}.json");
    std::fs::create_dir_all(root().join("target/tmp/embedded")).unwrap();
    std::fs::write(root().join(&rel), config.to_string()).unwrap();
    rel
}

/// `page` without what differs between two runs on equal inputs: each date, time and digest
/// (a word of digits with `-` or `:`, or of 64 hex digits).
fn stable(page: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in page.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '-' || c == ':' {
            word.push(c);
            continue;
        }
        let digest = word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit());
        let moment = word.contains(['-', ':'])
            && word.chars().any(|c| c.is_ascii_digit())
            && word
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ':');
        out.push_str(if digest || moment { "#" } else { &word });
        out.push(c);
        word.clear();
    }
    out
}

/// Every command reads what `check` and `lint` read: the configuration an Envoy bootstrap, an
/// ECDS resource or an Istio manifest embeds gives the same output as the same configuration
/// as JSON.
#[test]
fn every_command_reads_embedded_configurations() {
    for (yaml, name) in [
        ("envoy/envoy.yaml", "envoy"),
        ("envoy/ecds/intercom_authz.ecds.yaml", "ecds"),
        ("istio/wasmplugin.yaml", "wasmplugin"),
    ] {
        let json = embedded_as_json(yaml, name);
        for args in [
            &["matrix"][..],
            &["matrix", "--by", "permission", "--format", "csv"],
        ] {
            let (code, want, err) = run(&[args, &[json.as_str()]].concat());
            assert_eq!(code, 0, "{json}: {err}");
            assert_eq!(
                run(&[args, &[yaml]].concat()),
                (0, want, String::new()),
                "{yaml}"
            );
        }
        let unchanged = run(&["matrix", "--diff", &json, &json]);
        assert_eq!(run(&["matrix", "--diff", yaml, &json]), unchanged, "{yaml}");
    }
    let log = audit_log(300, "embedded.log", false);
    let json = embedded_as_json("envoy/envoy.yaml", "envoy");
    let (code, want, _) = run(&["usage", &json, &log]);
    assert_eq!(code, 0);
    assert_eq!(
        run(&["usage", "envoy/envoy.yaml", &log]),
        (0, want, String::new())
    );
    let html = |name: &str| root().join(format!("target/tmp/embedded/{name}.html"));
    for (config, name) in [("envoy/envoy.yaml", "yaml"), (json.as_str(), "json")] {
        let out = format!("target/tmp/embedded/{name}.html");
        let (code, _, err) = run(&["report", config, "--previous", config, "-o", &out]);
        assert_eq!(code, 0, "{config}: {err}");
    }
    let page = |name: &str, config: &str| {
        stable(
            &std::fs::read_to_string(html(name))
                .unwrap()
                .replace(config, "CONFIG"),
        )
    };
    assert_eq!(page("yaml", "envoy/envoy.yaml"), page("json", &json));
    let (code, out, err) = run(&[
        "explain",
        "envoy/envoy.yaml",
        "GET",
        "/contacts",
        "--role",
        "agent",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("GET /contacts: ALLOW (200 allowed)"),
        "{out}"
    );
    let (code, out, err) = run(&[
        "routes",
        "envoy/envoy.yaml",
        "--openapi",
        "tests/cli/new-api.yaml",
    ]);
    assert_eq!(code, 4, "{out}{err}");
}

/// A YAML file that embeds several different configurations: the commands that judge one
/// refuse it in one line naming each as `FILE#ID`, and take the one so named.
#[test]
fn one_of_several_embedded_configurations_is_named() {
    golden(
        "matrix-several-embedded",
        &["matrix", "tests/cli/fail-open.yaml"],
        1,
    );
    golden(
        "explain-embedded-by-id",
        &[
            "explain",
            "tests/cli/fail-open.yaml#WasmPlugin/intercom-authz",
            "GET",
            "/contacts",
            "--role",
            "agent",
            "--now",
            "1800000000",
        ],
        0,
    );
    golden(
        "matrix-embedded-unknown-id",
        &["matrix", "tests/cli/fail-open.yaml#http_filters[7]"],
        1,
    );
}

/// Every positional argument of every command is described in its `--help`.
#[test]
fn help_describes_every_positional_argument() {
    for command in [
        "check", "explain", "matrix", "lint", "usage", "report", "routes",
    ] {
        let (code, out, _) = run(&[command, "--help"]);
        assert_eq!(code, 0);
        let args = out
            .split("Arguments:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or_else(|| panic!("{command}: no arguments section\n{out}"));
        for line in args.lines() {
            let (name, help) = line.trim().split_once("  ").unwrap_or((line.trim(), ""));
            assert!(
                !help.trim().is_empty(),
                "{command} {name} has no description"
            );
        }
    }
    let (_, out, _) = run(&["explain", "--help"]);
    assert!(
        out.contains("<CONFIG>  The configuration: a full configuration or a bare policy"),
        "{out}"
    );
    assert!(out.contains("<PATH>    The request's path"), "{out}");
}

/// Without `--ip` the source address is unknown: an `ip_allowlist` is reported as not
/// evaluated, never judged against an address nobody gave (the rest of the decision is judged:
/// `strict.json`'s `auditor` is allowed only from 10.20.0.0/16, within the policy's list).
#[test]
fn explain_without_ip_does_not_judge_the_allowlist() {
    let claims = r#"{"role":"auditor","workspace_id":"ws_acme","iat":1800000000,"scope":"read_users_companies"}"#;
    let explain = |ip: Option<&'static str>| {
        let mut args = vec![
            "explain",
            "tests/configs/strict.json",
            "GET",
            "/contacts/1",
            "--claims",
            claims,
            "--now",
            "1800000000",
        ];
        args.extend(ip.map(|a| ["--ip", a]).into_iter().flatten());
        args
    };
    golden("explain-no-ip", &explain(None), 3);
    let (code, out, _) = run(&explain(None));
    assert!(
        !out.contains("this address") && !out.contains("ip_not_allowed"),
        "{code}: {out}"
    );
    let (code, out, _) = run(&explain(Some("10.20.1.1")));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("address"), "{out}");
    let (code, out, _) = run(&explain(Some("10.1.1.1")));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("DENY (403 ip_not_allowed)"), "{out}");
}

/// `token` refuses a secret every front-end would refuse as a configured key's `secret`, in
/// the same words.
#[test]
fn token_refuses_a_secret_the_configuration_would() {
    let (code, out, err) = run(&["token", "--secret", "too-short", "--role", "agent"]);
    assert_eq!((code, out.as_str()), (1, ""));
    let why = "has a 9-byte secret; `HS256` needs at least 32 bytes (RFC 7518 §3.2)";
    assert_eq!(err.trim(), format!("error: `--secret` {why}"));
    // `many-problems.json` configures the same secret as `token.keys[0]`.
    let (_, _, check) = run(&["check", "tests/cli/many-problems.json"]);
    assert!(check.contains(&format!("`token.keys[0]` {why}")), "{check}");
}
