//! The Proxy-Wasm ABI (0.2.1) from the module's side: the values the host and the module
//! exchange, and the `proxy_on_*` entry points, which hand each callback to its context.
//!
//! In place of the proxy-wasm SDK's dispatcher, for three reasons (`make size`, `make
//! bench-filter`, envoy/bench):
//! - **Fewer calls into the VM.** The host calls into the module only for the entry points it
//!   exports (proxy-wasm-cpp-host: a missing `proxy_on_log`, `proxy_on_done` or
//!   `proxy_on_vm_start` is skipped, `onDone` and `onStart` answer `true`). The SDK exports all
//!   of them, so every request crossed into the VM twice more for callbacks the filter leaves
//!   empty; this module exports only what the filter handles.
//! - **No panics.** The SDK's dispatcher panics on a context id it does not know and on a
//!   second `borrow_mut` of its maps; here an unknown request context is answered 503 (as an
//!   unconfigured one, fail closed), a callback for a context that is gone is ignored, and a
//!   re-entered context resets its request.
//! - **Less code.** No TCP-stream, gRPC or queue callbacks, no trait objects, and context ids
//!   hashed as the integers they are (the SDK's maps hash them with SipHash on every callback).
//!
//! Memory the host returns from a host call is allocated by [`proxy_on_memory_allocate`] as a
//! boxed slice of exactly the requested size (`host` takes it back as a `Vec` of that length
//! and capacity).
#![allow(
    unsafe_code,
    reason = "the Proxy-Wasm entry points are exported C functions (`no_mangle`)"
)]

use std::boxed::Box;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::MaybeUninit;
use std::thread_local;
use std::time::Duration;
use std::vec::Vec;

use super::host::{self, Action, LogLevel};
use super::{Root, Stream};

/// Context ids are the host's small sequential integers: a multiplication spreads them over
/// the table (the SDK hashes them with SipHash on every callback).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ById<T> = HashMap<u32, T, BuildHasherDefault<IdHasher>>;

/// The VM's contexts: roots (one per plugin configuration), streams (one per request), and
/// which context each outstanding HTTP call answers to.
#[derive(Default)]
struct Vm {
    roots: RefCell<ById<Root>>,
    streams: RefCell<ById<Stream>>,
    callouts: RefCell<Vec<(u32, u32)>>,
}

thread_local! {
    static VM: Vm = Vm::default();
}

/// Runs `f` on request context `id`: `None` when there is none; `busy` when the requests are
/// already in a callback (a host that re-enters the VM: Envoy defers such calls), after
/// resetting the request (fail closed).
fn on_stream<R>(id: u32, busy: R, f: impl FnOnce(&mut Stream) -> R) -> Option<R> {
    VM.with(|vm| {
        let Ok(mut streams) = vm.streams.try_borrow_mut() else {
            host::log(
                LogLevel::Critical,
                "intercom-authz: a request callback re-entered the VM; the request is reset",
            );
            host::reset_request();
            return Some(busy);
        };
        streams.get_mut(&id).map(f)
    })
}

/// Asks root `root_id` for a JWKS fetch now (see [`super::keys`]): whether one is out.
pub fn fetch_keys_now(root_id: u32) -> bool {
    on_root(root_id, false, |r| r.fetch_keys_now())
}

/// Request `id`'s JWKS fetch is over: judged again.
pub fn keys_refreshed(id: u32) {
    on_stream(id, (), Stream::keys_refreshed);
}

/// Answers request `id`'s overdue body, `408` (from the root's tick).
pub fn body_timed_out(id: u32) {
    on_stream(id, (), Stream::body_timed_out);
}

/// Runs `f` on root context `id`; `missing` when there is none or it is in a callback.
fn on_root<R>(id: u32, missing: R, f: impl FnOnce(&mut Root) -> R) -> R {
    VM.with(|vm| {
        let Ok(mut roots) = vm.roots.try_borrow_mut() else {
            return missing;
        };
        roots.get_mut(&id).map_or(missing, f)
    })
}

/// Makes an HTTP call (`cluster`, headers, no body) on behalf of context `context_id`, whose
/// `on_http_call_response` gets the answer; the call's token, or the host's refusal.
pub fn http_call(
    context_id: u32,
    cluster: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<u32, host::HostError> {
    let token = host::http_call(cluster, headers, timeout)?;
    VM.with(|vm| {
        if let Ok(mut c) = vm.callouts.try_borrow_mut() {
            c.push((token, context_id));
        }
    });
    Ok(token)
}

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

#[cfg(target_os = "wasi")]
extern "C" {
    fn __wasm_call_ctors();
}

/// The module's start (a WASI reactor): constructors, then the panic hook.
#[no_mangle]
pub extern "C" fn _initialize() {
    #[cfg(target_os = "wasi")]
    unsafe {
        __wasm_call_ctors();
    }
    super::install_panic_hook();
}

/// A block of `size` bytes for the host to write into (host call results, by `host`).
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let block: Box<[MaybeUninit<u8>]> = Box::new_uninit_slice(size);
    Box::into_raw(block).cast::<u8>()
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(id: u32, root_id: u32) {
    VM.with(|vm| {
        if root_id == 0 {
            if let Ok(mut roots) = vm.roots.try_borrow_mut() {
                roots.insert(id, Root::new(id));
            }
            return;
        }
        // A request of a root this VM does not know is refused like an unconfigured one.
        let stream = on_root(root_id, Stream::Unconfigured, |root| root.create_stream(id));
        if let Ok(mut streams) = vm.streams.try_borrow_mut() {
            streams.insert(id, stream);
        }
    });
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(id: u32, size: usize) -> bool {
    on_root(id, false, |root| root.on_configure(size))
}

#[no_mangle]
pub extern "C" fn proxy_on_tick(id: u32) {
    on_root(id, (), Root::on_tick);
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(
    id: u32,
    _headers: usize,
    end_of_stream: bool,
) -> Action {
    // An unknown request context (a host breaking the ABI) is answered as unconfigured: 503.
    on_stream(id, Action::Pause, |s| s.on_request_headers(end_of_stream))
        .unwrap_or_else(super::refuse_unconfigured)
}

#[no_mangle]
pub extern "C" fn proxy_on_request_body(id: u32, size: usize, end_of_stream: bool) -> Action {
    on_stream(id, Action::Pause, |s| {
        s.on_request_body(size, end_of_stream)
    })
    .unwrap_or(Action::Pause)
}

#[no_mangle]
pub extern "C" fn proxy_on_request_trailers(id: u32, _trailers: usize) -> Action {
    on_stream(id, Action::Pause, Stream::on_request_trailers).unwrap_or(Action::Pause)
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(
    id: u32,
    _headers: usize,
    end_of_stream: bool,
) -> Action {
    on_stream(id, Action::Pause, |s| s.on_response_headers(end_of_stream))
        .unwrap_or(Action::Continue)
}

#[no_mangle]
pub extern "C" fn proxy_on_response_body(id: u32, size: usize, end_of_stream: bool) -> Action {
    on_stream(id, Action::Pause, |s| {
        s.on_response_body(size, end_of_stream)
    })
    .unwrap_or(Action::Continue)
}

#[no_mangle]
pub extern "C" fn proxy_on_response_trailers(id: u32, _trailers: usize) -> Action {
    on_stream(id, Action::Pause, Stream::on_response_trailers).unwrap_or(Action::Continue)
}

/// The answer to an HTTP call, delivered to the context that made it (if it is still there),
/// with the host's effective context set to it.
#[no_mangle]
pub extern "C" fn proxy_on_http_call_response(
    _root_id: u32,
    token: u32,
    _headers: usize,
    body_size: usize,
    _trailers: usize,
) {
    let owner = VM.with(|vm| {
        let mut c = vm.callouts.try_borrow_mut().ok()?;
        let at = c.iter().position(|&(t, _)| t == token)?;
        Some(c.swap_remove(at).1)
    });
    let Some(id) = owner else { return };
    if host::set_effective_context(id).is_err() {
        return;
    }
    let is_stream = VM.with(|vm| vm.streams.try_borrow().is_ok_and(|s| s.contains_key(&id)));
    if is_stream {
        on_stream(id, (), |s| s.on_http_call_response(token, body_size));
    } else {
        on_root(id, (), |r| r.on_http_call_response(token, body_size));
    }
}

/// The context is gone: drop it (a request still waiting for its body leaves the wait list in
/// its `Drop`), and forget the HTTP calls it made.
#[no_mangle]
pub extern "C" fn proxy_on_delete(id: u32) {
    VM.with(|vm| {
        let stream = vm
            .streams
            .try_borrow_mut()
            .ok()
            .and_then(|mut s| s.remove(&id));
        let root = match stream {
            Some(_) => None,
            None => vm
                .roots
                .try_borrow_mut()
                .ok()
                .and_then(|mut r| r.remove(&id)),
        };
        if let Ok(mut c) = vm.callouts.try_borrow_mut() {
            c.retain(|&(_, owner)| owner != id);
        }
        // Dropped here, after every borrow of the maps has ended.
        drop((stream, root));
    });
}
