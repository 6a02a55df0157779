//! The intercom-authz configurations inside an Envoy or Istio YAML file (for `check` and
//! `lint`): every Envoy Wasm filter that is ours (`root_id` `intercom_authz`, or a module or VM
//! named after it) wherever it sits (a listener, an ECDS resource, an Istio EnvoyFilter patch),
//! with its plugin configuration and failure policy; and every Istio `WasmPlugin` that is ours,
//! with its `pluginConfig` and `failStrategy`. Documents are separated by `---`.

use serde::Deserialize as _;
use serde_json::Value;

const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const HCM: &str =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/// Which knob decides what happens when the plugin fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An Envoy Wasm filter: `failure_policy` (unset: Envoy's default, FAIL_CLOSED), and the
    /// deprecated `fail_open`.
    Envoy {
        policy: Option<String>,
        fail_open: bool,
    },
    /// An Istio WasmPlugin: `failStrategy` (unset: FAIL_CLOSE).
    Istio { strategy: Option<String> },
}

/// One configuration found in the file.
#[derive(Debug)]
pub struct Embedded {
    /// Where: the document and the path to the filter or resource.
    pub at: String,
    /// A short name for it: the path (`http_filters[0]`) or `WasmPlugin/<name>`.
    pub id: String,
    /// The plugin configuration, or why it cannot be read.
    pub config: Result<Value, String>,
    /// The failure knob.
    pub failure: Failure,
    /// Inside a connection manager that takes the client address from `X-Forwarded-For`
    /// (`use_remote_address` not `true`); `false` where no connection manager encloses it.
    pub trusts_forwarded_for: bool,
}

/// Every configuration of ours in the YAML `text`.
pub fn find(text: &str) -> Result<Vec<Embedded>, String> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(doc).map_err(|e| format!("not valid YAML: {e}"))?;
        let at = if i == 0 {
            String::new()
        } else {
            format!("document {}: ", i + 1)
        };
        if v.get("kind").and_then(Value::as_str) == Some("WasmPlugin") {
            if let Some(e) = wasm_plugin(&v, &at) {
                out.push(e);
            }
            continue;
        }
        walk(
            &v,
            &mut at.trim_end_matches(": ").to_string(),
            false,
            &mut out,
        );
    }
    Ok(out)
}

fn mentions_us(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("intercom_authz") || s.contains("intercom-authz"),
        Value::Array(a) => a.iter().any(mentions_us),
        Value::Object(o) => o.values().any(mentions_us),
        _ => false,
    }
}

fn wasm_plugin(v: &Value, at: &str) -> Option<Embedded> {
    let spec = v.get("spec")?;
    let ours = ["pluginName", "url"]
        .iter()
        .any(|k| spec.get(k).is_some_and(mentions_us))
        || v.pointer("/metadata/name").is_some_and(mentions_us);
    if !ours {
        return None;
    }
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Some(Embedded {
        at: format!("{at}WasmPlugin `{name}`"),
        id: format!("WasmPlugin/{name}"),
        config: spec
            .get("pluginConfig")
            .cloned()
            .ok_or_else(|| "the WasmPlugin has no `pluginConfig`".to_string()),
        failure: Failure::Istio {
            strategy: spec
                .get("failStrategy")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        trusts_forwarded_for: false,
    })
}

/// `xff`: whether the nearest enclosing connection manager trusts `X-Forwarded-For`.
fn walk(v: &Value, at: &mut String, xff: bool, out: &mut Vec<Embedded>) {
    let len = at.len();
    match v {
        Value::Object(o) => {
            let ty = o.get("@type").and_then(Value::as_str);
            if ty == Some(WASM_FILTER) {
                if let Some(e) = envoy_filter(v, at) {
                    out.push(Embedded {
                        trusts_forwarded_for: xff,
                        ..e
                    });
                }
                return;
            }
            let xff = match ty {
                Some(HCM) => o.get("use_remote_address").and_then(Value::as_bool) != Some(true),
                _ => xff,
            };
            for (k, child) in o {
                at.push_str(if at.is_empty() { "" } else { "." });
                at.push_str(k);
                walk(child, at, xff, out);
                at.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push_str(&format!("[{i}]"));
                walk(child, at, xff, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

fn envoy_filter(typed: &Value, at: &str) -> Option<Embedded> {
    let config = typed.get("config")?;
    let ours = config.get("root_id").is_some_and(mentions_us)
        || config.get("vm_config").is_some_and(mentions_us)
        || config.get("name").is_some_and(mentions_us);
    if !ours {
        return None;
    }
    let plugin = match config.get("configuration") {
        None => Err("the Wasm filter has no `configuration`".to_string()),
        Some(c) => match c.get("value") {
            Some(Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| format!("the plugin configuration is not valid JSON: {e}")),
            Some(other) => Ok(other.clone()),
            None => Err("the plugin configuration has no `value`".to_string()),
        },
    };
    Some(Embedded {
        at: format!("Wasm filter at `{}`", at.trim_end_matches(".typed_config")),
        id: at.trim_end_matches(".typed_config").to_string(),
        config: plugin,
        failure: Failure::Envoy {
            policy: config
                .get("failure_policy")
                .and_then(Value::as_str)
                .map(str::to_string),
            fail_open: config.get("fail_open").and_then(Value::as_bool) == Some(true),
        },
        trusts_forwarded_for: false,
    })
}

/// Whether `path` names a YAML file (by its extension).
pub fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Every configuration of ours in the YAML file `path`; none at all is an error.
pub fn read(path: &str) -> Result<Vec<Embedded>, String> {
    let found = find(&crate::common::read(path)?).map_err(|e| format!("`{path}` is {e}"))?;
    if found.is_empty() {
        return Err(format!("`{path}` holds no intercom-authz configuration (an Envoy Wasm filter with `root_id: intercom_authz`, or an Istio WasmPlugin of intercom-authz)"));
    }
    Ok(found)
}
