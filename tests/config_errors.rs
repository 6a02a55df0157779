//! A configuration error names the culprit's path: `core/src/json_path.rs` reads it off the JSON text
//! at serde_json's error position. Here it is held to serde_path_to_error, which tracks the path
//! through every `Deserialize` call, on every configuration of `tests/configs/` broken in every
//! place: each value replaced by each JSON type, each object given an unknown key, each key
//! dropped, compact and pretty-printed; and one configuration that sets every field
//! (`tests/config_errors/every_field.json`). The shipped reader (`config_read`) is held to the
//! derived `Deserialize` on the same configurations.
//!
//! One difference is allowed, and counted: a value of the wrong shape given to a type that
//! reads it through an untagged enum or a custom `Deserialize` (`"max_session_age": [5]`) is
//! reported by serde_json after that value, as an error in the last value of a closed object
//! is; the text cannot tell the two apart, so the path may name a place *inside* the value the
//! library names (`policy.max_session_age[0]`), never another value.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use intercom_authz::authorizer::{Authorizer, Config};
use serde_json::{json, Value};

/// serde_path_to_error's message, in the form `Authorizer` writes it.
fn library_message(text: &str) -> Option<String> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let e = serde_path_to_error::deserialize::<_, Config>(de).err()?;
    let path = e.path().to_string();
    let inner = e.into_inner();
    Some(if path == "." || path == "?" {
        format!("invalid configuration: {inner}")
    } else {
        format!("invalid configuration at `{path}`: {inner}")
    })
}

/// The configurations broken here: every one of `tests/configs/`, and one that sets every field
/// of every type to something other than its default (`tests/config_errors/every_field.json`).
fn configs() -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}/tests/configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(format!("{root}/tests/config_errors/every_field.json").into());
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

/// Every node of `v`, by its JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            pointers(
                x,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn variants(config: &Value) -> Vec<Value> {
    let mut ptrs = Vec::new();
    pointers(config, String::new(), &mut ptrs);
    let replacements = [
        json!(5),
        json!(-1.5),
        json!("x"),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!([5]),
        json!({"zz": 1}),
    ];
    let mut out = Vec::new();
    for p in ptrs.iter().filter(|p| !p.is_empty()) {
        for r in &replacements {
            let mut c = config.clone();
            *c.pointer_mut(p).unwrap() = r.clone();
            out.push(c);
        }
        let (parent, key) = p.rsplit_once('/').unwrap();
        let mut c = config.clone();
        if let Some(Value::Object(m)) = c.pointer_mut(parent) {
            m.remove(&key.replace("~1", "/").replace("~0", "~"));
            out.push(c);
        }
        let mut c = config.clone();
        if let Some(Value::Object(m)) = c.pointer_mut(p) {
            m.insert("zz".into(), json!(1));
            out.push(c);
        }
    }
    out
}

/// `ours` names a place inside the value `library` names, with the same message.
fn inside(ours: &str, library: &str) -> bool {
    let split = |m: &str| -> Option<(String, String)> {
        let rest = m.strip_prefix("invalid configuration at `")?;
        let (path, msg) = rest.split_once("`: ")?;
        Some((path.to_string(), msg.to_string()))
    };
    match (split(ours), split(library)) {
        (Some((p, m)), Some((lp, lm))) => {
            m == lm
                && p.strip_prefix(lp.as_str())
                    .is_some_and(|r| r.starts_with(['.', '[']))
        }
        _ => false,
    }
}

#[test]
fn error_paths_agree_with_serde_path_to_error() {
    let (mut compared, mut deeper, mut failed) = (0, 0, Vec::new());
    for config in configs() {
        for v in variants(&config) {
            for text in [
                serde_json::to_string(&v).unwrap(),
                serde_json::to_string_pretty(&v).unwrap(),
            ] {
                let Some(want) = library_message(&text) else {
                    continue;
                };
                compared += 1;
                let got = Authorizer::from_json(&text)
                    .err()
                    .map(|e| e.0)
                    .unwrap_or_default();
                if got == want {
                    continue;
                }
                if inside(&got, &want) {
                    deeper += 1;
                } else {
                    failed.push(format!("{text}\n  library: {want}\n  ours:    {got}"));
                }
            }
        }
    }
    assert!(
        compared > 3000,
        "only {compared} broken configurations compared"
    );
    assert!(
        deeper * 100 < compared,
        "{deeper} of {compared} name a place inside the culprit"
    );
    assert!(
        failed.is_empty(),
        "{} of {compared} differ; first:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// The shipped reader (`config_read`) against the derived `Deserialize` it replaces, on the same
/// broken configurations and on every one the derive accepts: the same value, or the same
/// error (message, line and column).
#[test]
fn reader_agrees_with_the_derive() {
    let (mut accepted, mut refused, mut failed) = (0, 0, Vec::new());
    for config in configs() {
        let mut all = variants(&config);
        all.push(config);
        for v in all {
            for text in [
                serde_json::to_string(&v).unwrap(),
                serde_json::to_string_pretty(&v).unwrap(),
            ] {
                let derived = serde_json::from_str::<Config>(&text).map_err(|e| e.to_string());
                let read =
                    intercom_authz::config_read::read(text.as_bytes()).map_err(|e| e.to_string());
                match &derived {
                    Ok(_) => accepted += 1,
                    Err(_) => refused += 1,
                }
                if derived != read {
                    failed.push(format!("{text}\n  derive: {derived:?}\n  reader: {read:?}"));
                }
            }
        }
    }
    assert!(
        accepted > 500 && refused > 3000,
        "{accepted} accepted, {refused} refused"
    );
    assert!(
        failed.is_empty(),
        "{} differ; first:\n{}",
        failed.len(),
        failed
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// An unknown field's error lists the fields in the derive's order: the reader's list must
/// follow the struct's declaration (a fuzz finding: `audit_log` listed elsewhere).
#[test]
fn reader_lists_unknown_fields_as_the_derive_does() {
    for text in [
        r#"{"scope_source":"token","scopes":"documented"}"#,
        r#"{"token":{"nope":1}}"#,
        r#"{"remote_jwks":{"cluster":"c","path":"/","nope":1}}"#,
    ] {
        let derived = serde_json::from_str::<Config>(text).map_err(|e| e.to_string());
        let read = intercom_authz::config_read::read(text.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(read, derived, "{text}");
    }
}
