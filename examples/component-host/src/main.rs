//! A Rust host of `dist/intercom_authz.component.wasm`: typed bindings generated from `wit/`
//! by `wasmtime::component::bindgen!`. Run by `make test-component`:
//!
//! ```sh
//! cargo run --release --manifest-path examples/component-host/Cargo.toml -- dist/intercom_authz.component.wasm
//! ```
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({ path: "../../wit", world: "intercom-authz" });

use exports::intercom::authz::authz::{Header, Request};

/// What the component's WASI imports need (it reads the clock; nothing else is granted).
struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn request(method: &str, path: &str, claims: &str) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: Some(vec![Header { name: "content-type".into(), value: "application/json".into() }]),
        body: None,
        token: None,
        claims_json: Some(claims.into()),
        source_ip: None,
        now: None,
        request_id: Some("host-1".into()),
        lookup: None,
        forwards_body: None,
    }
}

fn main() -> wasmtime::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "dist/intercom_authz.component.wasm".into());
    let engine = Engine::default();
    let component = Component::from_file(&engine, &path)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let host = Host { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
    let mut store = Store::new(&engine, host);
    let world = IntercomAuthz::instantiate(&mut store, &component, &linker)?;
    let authz = world.intercom_authz_authz();
    let authorizer = authz.authorizer();

    // No keys: a claims-only authorizer (this host verified the caller itself).
    let a = authorizer.call_create(&mut store, r#"{"policy": {}}"#)?.map_err(wasmtime::Error::msg)?;
    for (method, path) in [("GET", "/contacts/7"), ("DELETE", "/contacts/7")] {
        let d = authorizer
            .call_authorize(&mut store, a, &request(method, path, r#"{"role": "agent"}"#))?
            .map_err(wasmtime::Error::msg)?;
        println!("{method} {path}: {} {} {}", d.status, d.code, d.deny_body.unwrap_or_default());
    }
    // A mistake of the caller is an error naming it, not a trap.
    let e = authorizer.call_authorize(&mut store, a, &request("get", "/contacts", "{}"))?.unwrap_err();
    println!("error: {e}");
    let e = authorizer.call_create(&mut store, r#"{"mode": "shadow"}"#)?.err().unwrap_or_default();
    println!("error: {e}");
    Ok(())
}
