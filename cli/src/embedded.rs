//! The intercom-authz configurations inside an Envoy or Istio YAML file (for `check` and
//! `lint`): every Envoy Wasm filter that is ours (`root_id` `intercom_authz`, or a module or VM
//! named after it) wherever it sits (a listener, an ECDS resource, an Istio EnvoyFilter patch),
//! with its plugin configuration and failure policy; and every Istio `WasmPlugin` that is ours,
//! with its `pluginConfig` and `failStrategy`. Documents are separated by `---`. For `lint`'s
//! wiring rules it also collects what the host gives each one (the Wasm filter's
//! `allow_on_headers_stop_iteration`, the VM's environment variables) and the HTTP filter
//! chains of the file (Envoy `http_filters` lists, Istio WasmPlugins and EnvoyFilter
//! `HTTP_FILTER` patches), and places each configuration in them (`wiring.rs`).

use serde::Deserialize as _;
use serde_json::{Map, Value};

use crate::wiring::{self, Filter, Layout, Patch, Place, Plugin, Site};

const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const HCM: &str =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const EXTENSION_CONFIG: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

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

/// What the host gives the filter and where it runs: facts for `lint`'s wiring rules (judged
/// in `wiring.rs` and `lint.rs`).
#[derive(Debug, Clone)]
pub struct Host {
    /// Where the configuration sits in the file.
    pub site: Site,
    /// Where the filter runs: the HTTP filter chain around it, when the file says.
    pub place: Place,
    /// The Wasm filter's `allow_on_headers_stop_iteration: true` (a WasmPlugin cannot set it).
    pub header_hold: bool,
    /// The environment variables its VM gets (Envoy `vm_config.environment_variables`, a
    /// WasmPlugin's `vmConfig.env`).
    pub env: Vec<String>,
}

/// One configuration found in the file.
#[derive(Debug)]
pub struct Embedded {
    /// Where: the document and the path to the filter or resource.
    pub at: String,
    /// A short name for it: the path (`http_filters[0]`) or `WasmPlugin/<name>`; what
    /// `FILE.yaml#ID` names.
    pub id: String,
    /// The plugin configuration, or why it cannot be read.
    pub config: Result<Value, String>,
    /// The failure knob.
    pub failure: Failure,
    /// Inside a connection manager that takes the client address from `X-Forwarded-For`
    /// (`use_remote_address` not `true`); `false` where no connection manager encloses it.
    pub trusts_forwarded_for: bool,
    /// Its host and its place in it.
    pub host: Host,
}

/// What the documents read so far hold: our configurations, and what shapes filter chains.
#[derive(Default)]
struct Scan {
    /// Our configurations, not yet placed.
    out: Vec<Embedded>,
    /// Every chain, WasmPlugin and `HTTP_FILTER` patch.
    layout: Layout,
}

/// Every configuration of ours in the YAML `text`, each placed in its filter chain.
pub fn find(text: &str) -> Result<Vec<Embedded>, String> {
    let mut scan = Scan::default();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(doc).map_err(|e| format!("not valid YAML: {e}"))?;
        let at = if i == 0 {
            String::new()
        } else {
            format!("document {}: ", i + 1)
        };
        match v.get("kind").and_then(Value::as_str) {
            Some("WasmPlugin") => scan.wasm_plugin(&v, &at),
            Some("EnvoyFilter") => scan.envoy_filter(&v, at.trim_end_matches(": ")),
            _ => scan.walk(
                &v,
                &mut at.trim_end_matches(": ").to_string(),
                false,
                &Site::Unknown,
            ),
        }
    }
    Ok(scan.finish())
}

/// Whether `v` names intercom-authz anywhere (a root id, a module, a VM, an image).
fn mentions_us(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("intercom_authz") || s.contains("intercom-authz"),
        Value::Array(a) => a.iter().any(mentions_us),
        Value::Object(o) => o.values().any(mentions_us),
        _ => false,
    }
}

/// `base.rest`, or `rest` at the top.
fn join(base: &str, rest: &str) -> String {
    if base.is_empty() {
        rest.to_string()
    } else {
        format!("{base}.{rest}")
    }
}

impl Scan {
    /// Each configuration placed in the chains of the whole file.
    fn finish(self) -> Vec<Embedded> {
        let layout = self.layout;
        self.out
            .into_iter()
            .map(|mut e| {
                e.host.place = wiring::locate(&layout, &e.host.site);
                e
            })
            .collect()
    }

    /// An Istio WasmPlugin: its place among the others (an HTTP one), and ours if it is (a
    /// NETWORK one of ours is not placed).
    fn wasm_plugin(&mut self, v: &Value, at: &str) {
        let Some(spec) = v.get("spec") else {
            return;
        };
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let site = if spec.get("type").and_then(Value::as_str) == Some("NETWORK") {
            Site::Unknown
        } else {
            let namespace = v.pointer("/metadata/namespace").and_then(Value::as_str);
            self.layout.plugins.push(Plugin {
                name: namespace.map_or(name.to_string(), |ns| format!("{ns}.{name}")),
                phase: spec
                    .get("phase")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
            Site::Plugin(self.layout.plugins.len() - 1)
        };
        let ours = ["pluginName", "url"]
            .iter()
            .any(|k| spec.get(k).is_some_and(mentions_us))
            || v.pointer("/metadata/name").is_some_and(mentions_us);
        if ours {
            self.out.push(plugin_config(spec, name, at, site));
        }
    }

    /// An Istio EnvoyFilter: each `HTTP_FILTER` patch recorded, each patch value walked as the
    /// filter or extension config it adds.
    fn envoy_filter(&mut self, v: &Value, at: &str) {
        let patches = v.pointer("/spec/configPatches").and_then(Value::as_array);
        for (i, p) in patches.into_iter().flatten().enumerate() {
            let value = p.pointer("/patch/value");
            let site = match p.get("applyTo").and_then(Value::as_str) {
                Some("HTTP_FILTER") => {
                    self.layout.patches.push(http_patch(p));
                    Site::Patch(self.layout.patches.len() - 1)
                }
                Some("EXTENSION_CONFIG") => value
                    .and_then(|v| v.get("name"))
                    .and_then(Value::as_str)
                    .map_or(Site::Unknown, |name| Site::Extension {
                        name: name.to_string(),
                        patch: true,
                    }),
                _ => Site::Unknown,
            };
            if let Some(value) = value {
                let mut at = join(at, &format!("spec.configPatches[{i}].patch.value"));
                self.walk(value, &mut at, false, &site);
            }
        }
    }

    /// `xff`: whether the nearest enclosing connection manager trusts `X-Forwarded-For`;
    /// `entry`: the filter entry `v` is (or whose `typed_config` it is).
    fn walk(&mut self, v: &Value, at: &mut String, xff: bool, entry: &Site) {
        let len = at.len();
        match v {
            Value::Object(o) => {
                let ty = o.get("@type").and_then(Value::as_str);
                if ty == Some(WASM_FILTER) {
                    if let Some(e) = wasm_filter(v, at, entry.clone()) {
                        self.out.push(Embedded {
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
                    match (k.as_str(), child) {
                        ("http_filters", Value::Array(list)) => self.chain(list, at, xff),
                        ("typed_config", _) => self.walk(child, at, xff, &resource(o, entry)),
                        _ => self.walk(child, at, xff, &Site::Unknown),
                    }
                    at.truncate(len);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    at.push_str(&format!("[{i}]"));
                    self.walk(child, at, xff, &Site::Unknown);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// An Envoy `http_filters` list: recorded as a chain, each entry walked as an entry of it.
    fn chain(&mut self, list: &[Value], at: &mut String, xff: bool) {
        let chain = self.layout.chains.len();
        self.layout.chains.push(list.iter().map(filter).collect());
        let len = at.len();
        for (index, child) in list.iter().enumerate() {
            at.push_str(&format!("[{index}]"));
            self.walk(child, at, xff, &Site::Inline { chain, index });
            at.truncate(len);
        }
    }
}

/// The site of the `typed_config` of object `o`: the entry `o` is, or the ECDS resource
/// (a TypedExtensionConfig) it is.
fn resource(o: &Map<String, Value>, entry: &Site) -> Site {
    if *entry != Site::Unknown {
        return entry.clone();
    }
    let name = o.get("name").and_then(Value::as_str);
    match (o.get("@type").and_then(Value::as_str), name) {
        (Some(EXTENSION_CONFIG), Some(name)) => Site::Extension {
            name: name.to_string(),
            patch: false,
        },
        _ => Site::Unknown,
    }
}

/// An HTTP filter entry (`name`, `typed_config`, `config_discovery`) as the wiring rules see
/// it; a TypedStruct `typed_config` is read through its `type_url` and `value`.
fn filter(v: &Value) -> Filter {
    let typed = v.get("typed_config");
    let ty = typed.and_then(|t| t.get("@type")).and_then(Value::as_str);
    let (type_url, body) = match ty {
        Some(t) if t.ends_with("TypedStruct") => (
            typed
                .and_then(|t| t.get("type_url"))
                .and_then(Value::as_str),
            typed.and_then(|t| t.get("value")),
        ),
        _ => (ty, typed),
    };
    Filter {
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        type_url: type_url.map(str::to_string),
        discovered: v.get("config_discovery").is_some(),
        max_request_bytes: body
            .and_then(|b| b.get("max_request_bytes"))
            .and_then(|n| n.as_u64().or_else(|| n.as_str()?.parse().ok())),
    }
}

/// An EnvoyFilter `HTTP_FILTER` patch: its operation, its anchor, the filter it adds.
fn http_patch(p: &Value) -> Patch {
    let text = |pointer: &str| p.pointer(pointer).and_then(Value::as_str);
    Patch {
        operation: text("/patch/operation").unwrap_or_default().to_string(),
        anchor: text("/match/listener/filterChain/filter/subFilter/name").map(str::to_string),
        value: p.pointer("/patch/value").map(filter).unwrap_or_default(),
    }
}

/// Our WasmPlugin's configuration (`spec`), at `site`.
fn plugin_config(spec: &Value, name: &str, at: &str, site: Site) -> Embedded {
    let env = spec
        .pointer("/vmConfig/env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    Embedded {
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
        host: Host {
            site,
            place: Place::Unknown,
            header_hold: false,
            env,
        },
    }
}

/// The environment variables an Envoy Wasm VM gets: `host_env_keys` and `key_values`.
fn envoy_env(config: &Value) -> Vec<String> {
    let vars = config.pointer("/vm_config/environment_variables");
    let keys = vars
        .and_then(|v| v.get("host_env_keys"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let values = vars
        .and_then(|v| v.get("key_values"))
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|o| o.keys().map(String::as_str));
    keys.chain(values).map(str::to_string).collect()
}

/// The Envoy Wasm filter `typed` at `at`, sitting at `site`, if it is ours.
fn wasm_filter(typed: &Value, at: &str, site: Site) -> Option<Embedded> {
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
        host: Host {
            site,
            place: Place::Unknown,
            header_hold: config
                .get("allow_on_headers_stop_iteration")
                .and_then(Value::as_bool)
                == Some(true),
            env: envoy_env(config),
        },
    })
}

/// Whether `path` names a YAML file (by its extension), alone or as `FILE.yaml#ID`.
pub fn is_yaml(path: &str) -> bool {
    yaml_name(split(path).0)
}

fn yaml_name(file: &str) -> bool {
    file.ends_with(".yaml") || file.ends_with(".yml")
}

/// `FILE.yaml#ID`: the file, and the [`Embedded::id`] of the one configuration in it meant.
fn split(path: &str) -> (&str, Option<&str>) {
    match path.rsplit_once('#') {
        Some((file, id)) if yaml_name(file) => (file, Some(id)),
        _ => (path, None),
    }
}

/// Every configuration of ours in the YAML file `path` (`FILE#ID`: that one); none at all is
/// an error.
pub fn read(path: &str) -> Result<Vec<Embedded>, String> {
    let (file, id) = split(path);
    let found = find(&crate::files::read(file)?).map_err(|e| format!("`{file}` is {e}"))?;
    if found.is_empty() {
        return Err(format!("`{file}` holds no intercom-authz configuration (an Envoy Wasm filter with `root_id: intercom_authz`, or an Istio WasmPlugin of intercom-authz)"));
    }
    let Some(id) = id else {
        return Ok(found);
    };
    let ids = choices(file, &found, "and");
    let one: Vec<Embedded> = found.into_iter().filter(|e| e.id == id).collect();
    if one.is_empty() {
        return Err(format!(
            "`{file}` holds no intercom-authz configuration `{id}`: it holds {ids}"
        ));
    }
    Ok(one)
}

/// The configurations of `found`, each as `FILE#ID`, listed with `and` or `or`.
fn choices(file: &str, found: &[Embedded], and: &str) -> String {
    let names: Vec<String> = found.iter().map(|e| format!("`{file}#{}`", e.id)).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {and} {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// The one configuration the YAML file `path` holds, for the commands that judge one (`explain`,
/// `matrix`, `usage`, `report`, `routes`); several that differ are refused, naming each as
/// `FILE#ID` (`check` and `lint` take them all).
pub fn one(path: &str) -> Result<Value, String> {
    let found = read(path)?;
    match found.as_slice() {
        [first, rest @ ..] if rest.iter().all(|e| e.config == first.config) => first
            .config
            .clone()
            .map_err(|m| format!("`{path}` ({}): {m}", first.at)),
        many => Err(format!(
            "`{path}` holds {} different intercom-authz configurations: name one, as {}",
            many.len(),
            choices(split(path).0, many, "or")
        )),
    }
}
