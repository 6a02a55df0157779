//! Replays the whole decision corpus (`tests/cases/*.json`) against the core, through the
//! [`Authorizer`] every front-end wraps. A failure names the file and the case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod corpus;

use std::collections::BTreeMap;

use intercom_authz::authorizer::{Authorizer, Outcome};

/// The response half of a conversation-access case: the body the client gets, how many
/// conversations were redacted, whether a lookup decided.
fn check_response(
    c: &corpus::Concrete,
    out: &Outcome,
    resp: &Option<(u16, Vec<u8>)>,
    redacted: usize,
    diffs: &mut Vec<String>,
) {
    let e = &c.expect;
    if let Some(want) = &e.response {
        match resp {
            None => diffs.push(format!("no response (want {})", want.status)),
            Some((status, body)) => {
                let got: serde_json::Value = serde_json::from_slice(body)
                    .unwrap_or_else(|_| String::from_utf8_lossy(body).into());
                if *status != want.status || got != want.body {
                    diffs.push(format!(
                        "response {status} {got} (want {} {})",
                        want.status, want.body
                    ));
                }
            }
        }
    }
    if let Some(n) = e.redacted {
        if n != redacted {
            diffs.push(format!("redacted {redacted} (want {n})"));
        }
    }
    if let Some(l) = e.looked_up {
        if l != out.looked_up {
            diffs.push(format!("looked_up {} (want {l})", out.looked_up));
        }
    }
    let sent: Option<serde_json::Value> = out
        .forward_body
        .as_deref()
        .map(|b| serde_json::from_str(b).unwrap_or_else(|_| b.into()));
    if sent != e.forward_body {
        diffs.push(format!("forward_body {sent:?} (want {:?})", e.forward_body));
    }
}

fn check(
    c: &corpus::Concrete,
    out: &Outcome,
    resp: &Option<(u16, Vec<u8>)>,
    redacted: usize,
) -> Result<(), String> {
    let e = &c.expect;
    let decision = if out.allow { "allow" } else { "deny" };
    let mut diffs = Vec::new();
    if decision != e.decision {
        diffs.push(format!("decision {decision} (want {})", e.decision));
    }
    if out.status != e.status {
        diffs.push(format!("status {} (want {})", out.status, e.status));
    }
    if out.code != e.code {
        diffs.push(format!("code {} (want {})", out.code, e.code));
    }
    let opt = |name: &str, got: &Option<String>, want: &Option<String>, diffs: &mut Vec<String>| {
        if want.is_some() && got != want {
            diffs.push(format!("{name} {got:?} (want {want:?})"));
        }
    };
    opt("required", &out.required, &e.required, &mut diffs);
    opt("route", &out.route, &e.route, &mut diffs);
    opt(
        "canonical_path",
        &out.canonical_path,
        &e.canonical_path,
        &mut diffs,
    );
    opt("role", &out.role, &e.role, &mut diffs);
    check_response(c, out, resp, redacted, &mut diffs);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} / {}: {} — {}",
            c.file,
            c.description,
            diffs.join(", "),
            out.message
        ))
    }
}

#[test]
fn corpus_against_the_core() {
    let now = corpus::now();
    let mut m = corpus::materialize(now);
    let mut authorizers: BTreeMap<String, Authorizer> = BTreeMap::new();
    for (name, cfg) in &m.configs {
        let a = Authorizer::from_json(&cfg.to_string())
            .unwrap_or_else(|e| panic!("tests/configs/{name}.json: {e}"));
        authorizers.insert(name.clone(), a);
    }
    let mut failures = Vec::new();
    let mut codes = BTreeMap::<String, usize>::new();
    for (i, c) in m.cases.iter_mut().enumerate() {
        let (out, resp, redacted) = corpus::run_core_response(&authorizers[&c.config], c, now);
        if !out.allow {
            c.deny_body = Some(out.deny_body(Some(&format!("case-{i}"))));
        }
        *codes.entry(out.code.to_string()).or_default() += 1;
        if let Err(e) = check(c, &out, &resp, redacted) {
            failures.push(e);
        }
        // Every denial has a JSON body with the same code.
        if !out.allow {
            let body: serde_json::Value =
                serde_json::from_str(&out.deny_body(Some("req-1"))).unwrap();
            assert_eq!(body["code"], out.code, "{}", c.description);
            assert_eq!(body["requestId"], "req-1");
            assert_eq!(
                out.www_authenticate().is_some(),
                out.status == 401,
                "{}",
                c.description
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        m.cases.len(),
        failures.join("\n")
    );
    // The front-end harnesses (Envoy, JS, component) replay exactly these requests.
    corpus::write(
        &m,
        &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus.json"),
    );
    assert!(
        m.cases.len() >= 200,
        "the corpus has only {} cases",
        m.cases.len()
    );
    // Every code the core can produce appears in the corpus (need_body is internal).
    for code in intercom_authz::Code::ALL {
        let s = code.as_str();
        if matches!(
            s,
            "need_body"
                | "need_lookup"
                | "body_too_large"
                | "keys_unavailable"
                | "body_timeout"
                | "body_hold_misconfigured"
        ) {
            // Front-end codes: covered by the Envoy tests (SlowBodies for body_timeout,
            // tests/istio for body_hold_misconfigured).
            continue;
        }
        assert!(codes.contains_key(s), "no corpus case produces `{s}`");
    }
}

/// Every deny body's `error` is the reason phrase of its status (issue 33: a 503 and a 502
/// said "Forbidden"), in every front-end: they all send the core's body.
#[test]
fn every_code_is_titled_by_its_status() {
    let phrase = |status: u16| match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        other => panic!("no reason phrase listed for {other}"),
    };
    for code in intercom_authz::Code::ALL {
        let status = code.status();
        if status < 400 {
            continue; // need_body, need_lookup, allowed: never sent
        }
        let d = intercom_authz::eval::error_title(status);
        assert_eq!(d, phrase(status), "`{}` ({status})", code.as_str());
    }
}
