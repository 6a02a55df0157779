//! `routes CONFIG --openapi SPEC`: operations of an Intercom OpenAPI description the policy does not classify.

use intercom_authz::policy::Policy;
use intercom_authz::router::Method;
use intercom_authz::{Body, Principal};
use std::process::ExitCode;

use crate::common::*;

fn openapi_operations(text: &str) -> Vec<(String, String)> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let mut out = Vec::new();
        if let Some(paths) = v.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                for m in ["get", "put", "post", "delete", "patch"] {
                    if item.get(m).is_some() {
                        out.push((m.to_uppercase(), path.clone()));
                    }
                }
            }
        }
        return out;
    }
    let mut out = Vec::new();
    let mut in_paths = false;
    let mut path_indent = None;
    let mut current: Option<String> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if indent == 0 {
            in_paths = t == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let key = t.trim_start();
        let unquoted = key.trim_end_matches(':').trim_matches(['"', '\'']);
        if unquoted.starts_with('/') && key.ends_with(':') {
            if path_indent.is_none() {
                path_indent = Some(indent);
            }
            if Some(indent) == path_indent {
                current = Some(unquoted.to_string());
            }
            continue;
        }
        if let (Some(p), Some(pi)) = (&current, path_indent) {
            if indent == pi + 2 {
                let m = key.trim_end_matches(':');
                if ["get", "put", "post", "delete", "patch"].contains(&m) && key.ends_with(':') {
                    out.push((m.to_uppercase(), p.clone()));
                }
            }
        }
    }
    out
}

pub fn routes(path: &str, spec: &str) -> Result<ExitCode> {
    let (_, p) = compile(path)?;
    let text = read(spec)?;
    let ops = openapi_operations(&text);
    if ops.is_empty() {
        return Err(format!("`{spec}` has no `paths` with operations"));
    }
    let mut missing = Vec::new();
    for (m, route) in &ops {
        let Some(method) = Method::parse(m) else {
            continue;
        };
        // A template's parameters become a sample value, then the policy's router decides.
        let sample: String = route
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let known = p
            .routes()
            .iter()
            .any(|r| r.method == method && same_shape(&r.template, route))
            || {
                let who = Principal {
                    role: Some("owner".into()),
                    ..Default::default()
                };
                let req = intercom_authz::Request {
                    method: m,
                    path: &sample,
                    body: Body::NotRead,
                    content_type: None,
                    version: None,
                    source_ip: None,
                    lookup: intercom_authz::conversation::Lookup::NotDone,
                };
                intercom_authz::evaluate(&p, &who, &req, 0).route.is_some()
            };
        if !known {
            missing.push((m.clone(), route.clone()));
        }
    }
    outln!(
        "{} of {} operations in `{spec}` are classified",
        ops.len() - missing.len(),
        ops.len()
    );
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "unclassified ({}); every suggestion is a GUESS to review. Merge this into your policy \
(`permissions` and `routes`); until a role is granted a new permission only `owner` has it:",
        missing.len()
    );
    let mut permissions = serde_json::Map::new();
    let mut entries = Vec::new();
    for (m, r) in &missing {
        let (perm, why) = suggest(&p, m, r);
        outln!("  GUESS {m} {r} -> {perm} ({why})");
        if p.permission_id(&perm).is_none() {
            permissions.insert(
                perm.clone(),
                serde_json::json!(format!("GUESS by `routes --openapi` for {m} {r}: review")),
            );
        }
        entries.push(serde_json::json!({"method": m, "path": r, "permission": perm}));
    }
    let fragment = serde_json::json!({"permissions": permissions, "routes": entries});
    outln!(
        "{}",
        serde_json::to_string_pretty(&fragment).unwrap_or_default()
    );
    Ok(ExitCode::from(4))
}

/// The permission to suggest for an unclassified operation, never weaker than the operation:
/// a read (`GET`, or a `POST …/search`) of a resource the policy knows gets its `:read`
/// permission; anything else gets a new permission of its own (`resource:action`, declared in
/// the fragment), which no role but `owner` has until someone grants it.
fn suggest(p: &Policy, method: &str, template: &str) -> (String, &'static str) {
    let literals: Vec<&str> = template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect();
    let name = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    let resource = literals
        .first()
        .map_or_else(|| "api".to_string(), |s| name(s));
    let reads = method == "GET" || (method == "POST" && literals.last() == Some(&"search"));
    let read = format!("{resource}:read");
    if reads && p.permission_id(&read).is_some() {
        return (read, "a read of a known resource");
    }
    let action = if literals.len() > 1 {
        literals
            .iter()
            .skip(1)
            .map(|s| name(s))
            .collect::<Vec<_>>()
            .join("_")
    } else {
        match method {
            "GET" => "read".into(),
            "DELETE" => "delete".into(),
            "POST" => "create".into(),
            _ => "update".into(),
        }
    };
    let action = if method == "GET" || reads {
        action
    } else {
        format!("{}_{action}", method.to_ascii_lowercase())
    };
    let mut perm = format!("{resource}:{action}");
    let mut n = 2;
    while p.permission_id(&perm).is_some() && !reads {
        perm = format!("{resource}:{action}_{n}");
        n += 1;
    }
    (
        perm,
        "a new permission: only `owner` has it until a role is granted it",
    )
}

fn same_shape(a: &str, b: &str) -> bool {
    let shape = |t: &str| {
        t.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    shape(a) == shape(b)
}
