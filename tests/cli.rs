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
        &["matrix", "--diff", "tests/cli/usage-policy.json", proposed],
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
