//! Where the filter runs in its host, for `lint`'s wiring rules (L013–L019): the HTTP filter
//! chain around each intercom-authz filter a YAML file embeds. `embedded.rs` collects the facts
//! (every Envoy `http_filters` list, every Istio WasmPlugin and EnvoyFilter `HTTP_FILTER` patch,
//! and where each configuration of ours sits); this module places them. Envoy's chain is the
//! list as written. Istio's is built as istiod builds it (pilot/pkg/networking/core,
//! `listener_builder.go`): AUTHN-phase WasmPlugins, jwt_authn, AUTHZ-phase WasmPlugins, RBAC,
//! STATS-phase WasmPlugins, the other WasmPlugins, the router; then each `HTTP_FILTER` patch in
//! file order. A patch anchored on a filter this model does not know is left unplaced, and the
//! rules that would need its position are not judged.

/// The HTTP buffer filter, by name and by type.
const BUFFER: (&str, &str) = (
    "envoy.filters.http.buffer",
    "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
);
/// The JWT authentication filter, by name and by type.
const JWT_AUTHN: (&str, &str) = (
    "envoy.filters.http.jwt_authn",
    "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
);
/// The router, by name and by type.
const ROUTER: (&str, &str) = (
    "envoy.filters.http.router",
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
);
/// Istio's RBAC filter (AuthorizationPolicy).
const RBAC: &str = "envoy.filters.http.rbac";

/// One HTTP filter, as far as the wiring rules care.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Its `name` (with `config_discovery`, the extension config it asks for).
    pub name: String,
    /// Its `typed_config` type (`@type`, or a TypedStruct's `type_url`).
    pub type_url: Option<String>,
    /// Its configuration comes from an extension config named `name` (`config_discovery`).
    pub discovered: bool,
    /// A buffer filter's `max_request_bytes`.
    pub max_request_bytes: Option<u64>,
}

impl Filter {
    /// A filter known by its name only.
    pub fn named(name: &str) -> Filter {
        Filter {
            name: name.to_string(),
            ..Filter::default()
        }
    }

    /// Whether it is the filter `(name, type)`.
    fn is(&self, (name, type_url): (&str, &str)) -> bool {
        self.name == name || self.type_url.as_deref() == Some(type_url)
    }

    /// `envoy.filters.http.buffer`.
    pub fn is_buffer(&self) -> bool {
        self.is(BUFFER)
    }

    /// `envoy.filters.http.jwt_authn`.
    pub fn is_jwt_authn(&self) -> bool {
        self.is(JWT_AUTHN)
    }

    /// `envoy.filters.http.router`.
    pub fn is_router(&self) -> bool {
        self.is(ROUTER)
    }

    /// Whether it asks for the extension config `name`.
    fn asks_for(&self, name: &str) -> bool {
        self.discovered && self.name == name
    }
}

/// An Istio WasmPlugin of type HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// The filter's name in the chain (`namespace.name`).
    pub name: String,
    /// `phase` (`AUTHN`, `AUTHZ`, `STATS`; none: after them all).
    pub phase: Option<String>,
}

/// An Istio EnvoyFilter `HTTP_FILTER` patch.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// `patch.operation` (`INSERT_BEFORE`, `INSERT_AFTER`, `INSERT_FIRST`, `ADD`, …).
    pub operation: String,
    /// The filter it is anchored on (`match.listener.filterChain.filter.subFilter.name`).
    pub anchor: Option<String>,
    /// `patch.value`.
    pub value: Filter,
}

/// Everything in a file that shapes an HTTP filter chain.
#[derive(Debug, Default)]
pub struct Layout {
    /// Every Envoy `http_filters` list.
    pub chains: Vec<Vec<Filter>>,
    /// Every Istio WasmPlugin of type HTTP, in file order.
    pub plugins: Vec<Plugin>,
    /// Every Istio EnvoyFilter `HTTP_FILTER` patch, in file order.
    pub patches: Vec<Patch>,
}

/// Where a configuration of ours sits in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Site {
    /// Entry `index` of Envoy chain `chain` (an index into [`Layout::chains`]).
    Inline { chain: usize, index: usize },
    /// An extension config named `name`: an ECDS resource, or (`patch`) an EnvoyFilter
    /// `EXTENSION_CONFIG` patch.
    Extension { name: String, patch: bool },
    /// The value of an EnvoyFilter `HTTP_FILTER` patch (an index into [`Layout::patches`]).
    Patch(usize),
    /// A WasmPlugin (an index into [`Layout::plugins`]).
    Plugin(usize),
    /// Somewhere else (a fragment): not judged.
    Unknown,
}

/// The HTTP filter chain around a filter of ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The filters in order.
    pub filters: Vec<Filter>,
    /// Ours, an index into `filters`.
    pub ours: usize,
    /// Filters the file inserts at a place this model does not know.
    pub unplaced: Vec<Filter>,
    /// Built by Istio (WasmPlugins, EnvoyFilter patches) rather than written out.
    pub istio: bool,
}

/// What the file says about where a filter of ours runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// In this chain.
    Chain(Chain),
    /// The file does not say (a fragment, a standalone ECDS resource, an unknown anchor).
    Unknown,
    /// An extension config that no HTTP filter of the file asks for: it never runs.
    Unreferenced { name: String, patch: bool },
}

/// The place of the configuration at `site`.
pub fn locate(layout: &Layout, site: &Site) -> Place {
    match site {
        Site::Inline { chain, index } => layout.chains.get(*chain).map_or(Place::Unknown, |f| {
            Place::Chain(Chain {
                filters: f.clone(),
                ours: *index,
                unplaced: Vec::new(),
                istio: false,
            })
        }),
        Site::Extension { name, patch } => extension(layout, name, *patch),
        Site::Patch(p) => istio(layout, Slot::Patch(*p)),
        Site::Plugin(i) => istio(layout, Slot::Plugin(*i)),
        Site::Unknown => Place::Unknown,
    }
}

/// An extension config: in the Envoy chain whose filter asks for it, or where the Istio patch
/// asking for it puts that filter; unreferenced when nothing asks for it (a standalone ECDS
/// resource, in a file without chains or patches, is simply not placed).
fn extension(layout: &Layout, name: &str, patch: bool) -> Place {
    for filters in &layout.chains {
        if let Some(ours) = filters.iter().position(|f| f.asks_for(name)) {
            return Place::Chain(Chain {
                filters: filters.clone(),
                ours,
                unplaced: Vec::new(),
                istio: false,
            });
        }
    }
    if let Some(p) = layout.patches.iter().position(|p| p.value.asks_for(name)) {
        return istio(layout, Slot::Patch(p));
    }
    if patch || !layout.chains.is_empty() || !layout.patches.is_empty() {
        return Place::Unreferenced {
            name: name.to_string(),
            patch,
        };
    }
    Place::Unknown
}

/// One entry of the chain Istio builds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// A filter of Istio's own.
    Istio(&'static str),
    /// A WasmPlugin ([`Layout::plugins`]).
    Plugin(usize),
    /// A patch's value ([`Layout::patches`]).
    Patch(usize),
}

/// The chain Istio builds, placed around `ours`.
fn istio(layout: &Layout, ours: Slot) -> Place {
    let (order, unplaced) = istio_order(layout);
    let Some(at) = order.iter().position(|s| *s == ours) else {
        return Place::Unknown;
    };
    let filter = |s: &Slot| slot_filter(layout, *s);
    Place::Chain(Chain {
        filters: order.iter().map(filter).collect(),
        ours: at,
        unplaced: unplaced.iter().map(filter).collect(),
        istio: true,
    })
}

/// The filter a slot stands for.
fn slot_filter(layout: &Layout, slot: Slot) -> Filter {
    match slot {
        Slot::Istio(name) => Filter::named(name),
        Slot::Plugin(i) => layout
            .plugins
            .get(i)
            .map(|p| Filter::named(&p.name))
            .unwrap_or_default(),
        Slot::Patch(p) => layout
            .patches
            .get(p)
            .map(|p| p.value.clone())
            .unwrap_or_default(),
    }
}

/// Istio's chain: its own order, then every patch; and the patches it could not place.
fn istio_order(layout: &Layout) -> (Vec<Slot>, Vec<Slot>) {
    let mut order = istio_base(&layout.plugins);
    let mut unplaced = Vec::new();
    for (p, patch) in layout.patches.iter().enumerate() {
        let names: Vec<String> = order.iter().map(|s| slot_filter(layout, *s).name).collect();
        if !apply(&mut order, &names, Slot::Patch(p), patch) {
            unplaced.push(Slot::Patch(p));
        }
    }
    (order, unplaced)
}

/// The chain before any patch: WasmPlugins by phase around Istio's own filters.
fn istio_base(plugins: &[Plugin]) -> Vec<Slot> {
    let in_phase = |phase: Option<&str>| -> Vec<Slot> {
        let known = ["AUTHN", "AUTHZ", "STATS"];
        plugins
            .iter()
            .enumerate()
            .filter(|(_, p)| match phase {
                Some(ph) => p.phase.as_deref() == Some(ph),
                None => !p.phase.as_deref().is_some_and(|ph| known.contains(&ph)),
            })
            .map(|(i, _)| Slot::Plugin(i))
            .collect()
    };
    let mut order = in_phase(Some("AUTHN"));
    order.push(Slot::Istio(JWT_AUTHN.0));
    order.extend(in_phase(Some("AUTHZ")));
    order.push(Slot::Istio(RBAC));
    order.extend(in_phase(Some("STATS")));
    order.extend(in_phase(None));
    order.push(Slot::Istio(ROUTER.0));
    order
}

/// Applies one patch (`names`: the names of `order`'s filters); `false` when its anchor is
/// not in the chain (Istio skips such a patch, unless the filter is one this model lacks).
fn apply(order: &mut Vec<Slot>, names: &[String], slot: Slot, patch: &Patch) -> bool {
    let anchor = patch
        .anchor
        .as_ref()
        .map(|a| names.iter().position(|n| n == a));
    match (patch.operation.as_str(), anchor) {
        ("INSERT_FIRST", _) | ("INSERT_BEFORE", None) => order.insert(0, slot),
        ("ADD", _) | ("INSERT_AFTER", None) => order.push(slot),
        ("INSERT_BEFORE", Some(Some(i))) => order.insert(i, slot),
        ("INSERT_AFTER", Some(Some(i))) => order.insert(i + 1, slot),
        ("REPLACE", Some(Some(i))) => {
            if let Some(s) = order.get_mut(i) {
                *s = slot;
            }
        }
        ("REMOVE", Some(Some(i))) => {
            order.remove(i);
        }
        ("INSERT_BEFORE" | "INSERT_AFTER" | "REPLACE", Some(None)) => return false,
        _ => {}
    }
    true
}

/// Where the buffer filter is, for `body_hold: buffer_filter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Buffer {
    /// Right after ours (before the router), large enough.
    Fine,
    /// None after ours, none before (L013).
    Missing,
    /// Before ours only (L014).
    First,
    /// After ours, holding at most this many bytes, fewer than `max_body_bytes` (L015).
    TooSmall(u64),
    /// The file inserts one somewhere this model does not know: not judged.
    Unknown,
}

/// Where the buffer filter is relative to ours, for a configuration whose `max_body_bytes`
/// is `max_body`. Only a buffer filter between ours and the router holds the headers.
pub fn buffer(chain: &Chain, max_body: usize) -> Buffer {
    let mut after = chain
        .filters
        .iter()
        .skip(chain.ours + 1)
        .take_while(|f| !f.is_router());
    if let Some(b) = after.find(|f| f.is_buffer()) {
        return match b.max_request_bytes {
            Some(n) if n < u64::try_from(max_body).unwrap_or(u64::MAX) => Buffer::TooSmall(n),
            _ => Buffer::Fine,
        };
    }
    if chain.unplaced.iter().any(Filter::is_buffer) {
        return Buffer::Unknown;
    }
    if chain.filters.iter().take(chain.ours).any(Filter::is_buffer) {
        Buffer::First
    } else {
        Buffer::Missing
    }
}

/// Whether a jwt_authn filter runs before ours (`None`: the file inserts one somewhere this
/// model does not know).
pub fn jwt_authn_before(chain: &Chain) -> Option<bool> {
    if chain
        .filters
        .iter()
        .take(chain.ours)
        .any(Filter::is_jwt_authn)
    {
        return Some(true);
    }
    if chain.unplaced.iter().any(Filter::is_jwt_authn) {
        return None;
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_filter(bytes: u64) -> Filter {
        Filter {
            max_request_bytes: Some(bytes),
            ..Filter::named(BUFFER.0)
        }
    }

    fn envoy(filters: Vec<Filter>, ours: usize) -> Chain {
        Chain {
            filters,
            ours,
            unplaced: Vec::new(),
            istio: false,
        }
    }

    fn patch(operation: &str, anchor: Option<&str>, value: Filter) -> Patch {
        Patch {
            operation: operation.into(),
            anchor: anchor.map(str::to_string),
            value,
        }
    }

    fn plugin(name: &str, phase: Option<&str>) -> Plugin {
        Plugin {
            name: name.into(),
            phase: phase.map(str::to_string),
        }
    }

    fn chain(place: Place) -> Chain {
        match place {
            Place::Chain(c) => c,
            other => panic!("not placed: {other:?}"),
        }
    }

    fn names(c: &Chain) -> Vec<&str> {
        c.filters.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn the_buffer_filter_must_follow_ours_before_the_router() {
        let ours = Filter::named("intercom_authz");
        let router = Filter::named(ROUTER.0);
        let c = envoy(
            vec![ours.clone(), buffer_filter(1 << 20), router.clone()],
            0,
        );
        assert_eq!(buffer(&c, 65536), Buffer::Fine);
        assert_eq!(buffer(&c, 2 << 20), Buffer::TooSmall(1 << 20));
        let c = envoy(
            vec![buffer_filter(1 << 20), ours.clone(), router.clone()],
            1,
        );
        assert_eq!(buffer(&c, 65536), Buffer::First);
        let c = envoy(
            vec![ours.clone(), router.clone(), buffer_filter(1 << 20)],
            0,
        );
        assert_eq!(buffer(&c, 65536), Buffer::Missing);
        let by_type = Filter {
            type_url: Some(BUFFER.1.into()),
            ..Filter::named("my-buffer")
        };
        assert_eq!(buffer(&envoy(vec![ours, by_type], 0), 65536), Buffer::Fine);
    }

    #[test]
    fn istio_orders_plugins_by_phase_around_its_own_filters() {
        let layout = Layout {
            plugins: vec![
                plugin("ns.stats", Some("STATS")),
                plugin("ns.any", None),
                plugin("ns.authz", Some("AUTHZ")),
                plugin("ns.authn", Some("AUTHN")),
            ],
            ..Layout::default()
        };
        let c = chain(locate(&layout, &Site::Plugin(2)));
        let want = [
            "ns.authn",
            JWT_AUTHN.0,
            "ns.authz",
            RBAC,
            "ns.stats",
            "ns.any",
            ROUTER.0,
        ];
        assert_eq!(names(&c), want);
        assert_eq!((c.ours, c.istio), (2, true));
        assert_eq!(jwt_authn_before(&c), Some(true));
        let c = chain(locate(&layout, &Site::Plugin(3)));
        assert_eq!(jwt_authn_before(&c), Some(false));
    }

    #[test]
    fn istio_patches_apply_in_file_order() {
        let ours = Filter {
            discovered: true,
            ..Filter::named("ns.authz")
        };
        let layout = Layout {
            plugins: vec![plugin("ns.wp", Some("AUTHZ"))],
            patches: vec![
                patch("INSERT_BEFORE", Some(ROUTER.0), ours),
                patch("INSERT_AFTER", Some("ns.authz"), buffer_filter(1 << 20)),
                patch("INSERT_FIRST", None, Filter::named("first")),
                patch(
                    "INSERT_BEFORE",
                    Some("istio.stats"),
                    Filter::named(JWT_AUTHN.0),
                ),
            ],
            ..Layout::default()
        };
        let site = Site::Extension {
            name: "ns.authz".into(),
            patch: true,
        };
        let c = chain(locate(&layout, &site));
        let want = [
            "first",
            JWT_AUTHN.0,
            "ns.wp",
            RBAC,
            "ns.authz",
            BUFFER.0,
            ROUTER.0,
        ];
        assert_eq!(names(&c), want);
        assert_eq!(c.ours, 4);
        assert_eq!(buffer(&c, 65536), Buffer::Fine);
        // The jwt_authn anchored on a filter the model lacks: placed nowhere, judged never.
        assert_eq!(c.unplaced, vec![Filter::named(JWT_AUTHN.0)]);
        let c = chain(locate(&layout, &Site::Plugin(0)));
        assert_eq!(buffer(&c, 65536), Buffer::Fine);
    }

    #[test]
    fn ours_anchored_on_an_unknown_filter_is_not_placed() {
        let layout = Layout {
            patches: vec![patch(
                "INSERT_AFTER",
                Some("istio.stats"),
                Filter::named("x"),
            )],
            ..Layout::default()
        };
        assert_eq!(locate(&layout, &Site::Patch(0)), Place::Unknown);
        let c = chain(locate(
            &Layout {
                patches: vec![patch("INSERT_FIRST", None, Filter::named("x"))],
                ..Layout::default()
            },
            &Site::Patch(0),
        ));
        assert_eq!((c.ours, jwt_authn_before(&c)), (0, Some(false)));
    }

    #[test]
    fn an_extension_config_nothing_asks_for_never_runs() {
        let site = |patch| Site::Extension {
            name: "ns.authz".into(),
            patch,
        };
        // Alone in its file (an ECDS resource): not judged; an EnvoyFilter's: never runs.
        assert_eq!(locate(&Layout::default(), &site(false)), Place::Unknown);
        let unreferenced = |patch| Place::Unreferenced {
            name: "ns.authz".into(),
            patch,
        };
        assert_eq!(locate(&Layout::default(), &site(true)), unreferenced(true));
        // A filter of that name without `config_discovery` does not ask for it.
        let layout = Layout {
            chains: vec![vec![Filter::named("ns.authz"), Filter::named(ROUTER.0)]],
            ..Layout::default()
        };
        assert_eq!(locate(&layout, &site(false)), unreferenced(false));
        let asks = Filter {
            discovered: true,
            ..Filter::named("ns.authz")
        };
        let layout = Layout {
            chains: vec![vec![
                Filter::named(JWT_AUTHN.0),
                asks,
                Filter::named(ROUTER.0),
            ]],
            ..Layout::default()
        };
        let c = chain(locate(&layout, &site(false)));
        assert_eq!(
            (c.ours, c.istio, jwt_authn_before(&c)),
            (1, false, Some(true))
        );
    }
}
