//! A no-op Proxy-Wasm HTTP filter: the cost of a Wasm filter that does nothing but read
//! `:method`, `:path` and `authorization` (what any authorization filter must read).
//!
//! Built with `NOOP_PROBE=<call>` (`make bench-hostcalls`), it also makes one more host call
//! per request, the ones intercom-authz makes for an allowed request, so that `make
//! bench-envoy` can price each inside Envoy:
//! - `pairs`: every request header in one call (`proxy_get_header_map_pairs`);
//! - `path`: `:path` replaced by itself (`proxy_replace_header_map_value`);
//! - `remove`: `authorization` removed (`proxy_remove_header_map_value`);
//! - `property`: a filter-state value written (`proxy_set_property`);
//! - `time`: the clock read (`proxy_get_current_time_nanoseconds`).

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

/// The extra host call, chosen when the module is built (none for the floor).
const PROBE: Option<&str> = option_env!("NOOP_PROBE");

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Noop))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Noop;

impl Context for Noop {}

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let mut path = None;
        for name in [":method", ":path", "authorization"] {
            let value = self.get_http_request_header(name);
            if name == ":path" {
                path = value.clone();
            }
            std::hint::black_box(value);
        }
        probe(path.unwrap_or_default());
        Action::Continue
    }
}

/// The probe's one host call; a status other than `Ok` panics (a benchmark, not a filter).
fn probe(path: String) {
    let headers = MapType::HttpRequestHeaders;
    match PROBE.unwrap_or("") {
        "" => {}
        "pairs" => drop(std::hint::black_box(hostcalls::get_map_bytes(headers))),
        "path" => hostcalls::set_map_value(headers, ":path", Some(&path)).unwrap(),
        "remove" => hostcalls::set_map_value(headers, "authorization", None).unwrap(),
        "property" => {
            hostcalls::set_property(vec!["intercom_authz.decision"], Some(b"allowed")).unwrap()
        }
        "time" => drop(std::hint::black_box(hostcalls::get_current_time())),
        other => panic!("unknown NOOP_PROBE `{other}`"),
    }
}
