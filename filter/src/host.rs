//! The Proxy-Wasm host calls the filter makes, none of which can panic.
//!
//! The proxy-wasm SDK's `hostcalls` functions (which this module replaced) are not safe to
//! call from a filter that must never trap:
//! `get_map_value` converts header values with `String::from_utf8(..).unwrap()` (one 0xFF byte
//! in a header traps the VM), and every one of them ends with `status => panic!(..)` for a
//! status it did not expect. So the filter declares the ABI functions it uses itself and maps
//! *every* status other than `Ok` (and `NotFound` where it means "absent") to an error,
//! and reads every value as bytes. The ABI statuses are read as plain `u32`, never as a Rust
//! enum (a value outside the enum would be undefined behaviour).
//!
//! Why each call cannot panic, one by one:
//!
//! | call | ABI function | why it cannot panic |
//! |---|---|---|
//! | [`log`] | `proxy_log` | status ignored; the message is a `&str` we built |
//! | [`now_nanos`] | `proxy_get_current_time_nanoseconds` | any non-`Ok` status → `None` |
//! | [`set_tick_period`] | `proxy_set_tick_period_milliseconds` | status → `Result`; `u32::try_from` saturates |
//! | [`buffer`] | `proxy_get_buffer_bytes` | bytes, any status → `None`; the host allocated exactly `size` bytes through `proxy_on_memory_allocate` |
//! | [`header`] | `proxy_get_header_map_value` | bytes (no UTF-8 conversion), any status → `None` |
//! | [`header_pairs`] | `proxy_get_header_map_pairs` | bytes, any status → `None`; read by [`pairs`], which stops at the first size that does not fit (never indexes past the end) |
//! | [`set_header`] / [`remove_header`] | `proxy_replace_header_map_value` / `proxy_remove_header_map_value` | status → `Result` |
//! | [`property`] | `proxy_get_property` | bytes, any status → `None` |
//! | [`set_property`] | `proxy_set_property` | status → `Result` |
//! | [`send_response`] | `proxy_send_local_response` | status → `Result`; headers serialized here, sizes from `u32::try_from` (a header over 4 GiB is skipped) |
//! | [`reset_request`] | `proxy_close_stream` (the request stream) | status ignored |
//! | [`define_counter`] / [`increment`] | `proxy_define_metric` / `proxy_increment_metric` | status → `Result` |
//! | [`resume_request`] | `proxy_continue_stream` (the request stream) | status → `Result` |
//! | [`set_buffer`] | `proxy_set_buffer_bytes` | status → `Result`; the bytes are ours |
//! | [`shared_data`] / [`set_shared_data`] | `proxy_get_shared_data` / `proxy_set_shared_data` | bytes and CAS token, any status → `None` / status → `Result` |
//! | [`set_effective_context`] | `proxy_set_effective_context` | status → `Result` (a stream that has ended is `NotFound`) |
//! | [`http_call`] (JWKS from the root; conversation lookups from a request, through [`abi::http_call`](super::abi::http_call), which records who gets the answer) | `proxy_http_call` | status → `Result`; headers serialized here; the timeout saturates at `u32::MAX` ms |
//!
//! Memory the host hands back (`return_data`) was allocated by the exported
//! [`proxy_on_memory_allocate`](super::abi::proxy_on_memory_allocate) as a boxed slice of exactly
//! `return_size` bytes, so it is taken back as a `Vec` of that length and capacity. Its size is bounded by what
//! Envoy holds: header values (Envoy's header limits, 60 KiB by default), bodies (the filter asks
//! for at most `max_body_bytes`), the plugin configuration and the JWKS (`remote_jwks.max_bytes`).
#![allow(
    unsafe_code,
    reason = "the Proxy-Wasm ABI is a set of C functions; this module is the one place that calls them"
)]

use std::ptr::null_mut;
use std::vec::Vec;

use std::time::Duration;

// The ABI's values, as the host reads them (the entry points in `abi` use them too).
/// What a request or response callback tells the host: go on, or hold the stream.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "the ABI's names")]
pub enum MapType {
    HttpRequestHeaders = 0,
    HttpResponseHeaders = 2,
    HttpCallResponseHeaders = 6,
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    HttpCallResponseBody = 4,
    PluginConfiguration = 7,
}

const OK: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(ret: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        kind: u32,
        start: usize,
        max: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map: u32, ret_data: *mut *mut u8, ret_size: *mut usize) -> u32;
    fn proxy_replace_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
    fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    #[allow(clippy::too_many_arguments, reason = "the ABI's signature")]
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_close_stream(stream_type: u32) -> u32;
    fn proxy_define_metric(kind: u32, name: *const u8, name_size: usize, ret_id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_http_call(
        upstream: *const u8,
        upstream_size: usize,
        headers: *const u8,
        headers_size: usize,
        body: *const u8,
        body_size: usize,
        trailers: *const u8,
        trailers_size: usize,
        timeout_ms: u32,
        ret_token: *mut u32,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        kind: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key: *const u8,
        key_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
        ret_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
}

/// A host call answered with this (non-`Ok`) status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError(pub u32);

fn result(status: u32) -> Result<(), HostError> {
    if status == OK {
        Ok(())
    } else {
        Err(HostError(status))
    }
}

/// Takes ownership of what the host returned (`Ok` with data), or `None`.
///
/// SAFETY (the caller's): `data`/`size` come from a host call that returned `Ok`, so `data` is
/// null or a block of `size` bytes allocated by `abi::proxy_on_memory_allocate`.
unsafe fn owned(status: u32, data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if status != OK {
        return None;
    }
    if data.is_null() {
        return Some(Vec::new());
    }
    Some(Vec::from_raw_parts(data, size, size))
}

/// Logs a line; a host that refuses is ignored (there is nowhere else to say it).
pub fn log(level: LogLevel, msg: &str) {
    unsafe {
        proxy_log(level as u32, msg.as_ptr(), msg.len());
    }
}

/// The host's clock, in nanoseconds since the Unix epoch.
pub fn now_nanos() -> Option<u64> {
    let mut t: u64 = 0;
    let status = unsafe { proxy_get_current_time_nanoseconds(&mut t) };
    (status == OK).then_some(t)
}

/// Calls `on_tick` every `ms` milliseconds.
pub fn set_tick_period(ms: u64) -> Result<(), HostError> {
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    result(unsafe { proxy_set_tick_period_milliseconds(ms) })
}

/// Up to `max` bytes of a buffer from `start`; `None` when absent or refused.
pub fn buffer(kind: BufferType, start: usize, max: usize) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    unsafe {
        let status = proxy_get_buffer_bytes(kind as u32, start, max, &mut data, &mut size);
        owned(status, data, size)
    }
}

/// A header's value, as the bytes Envoy holds.
pub fn header(map: MapType, name: &str) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    unsafe {
        let status =
            proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size);
        owned(status, data, size)
    }
}

/// Every header of a map, in one host call, in the Proxy-Wasm map encoding (see [`pairs`]).
pub fn header_pairs(map: MapType) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    unsafe {
        let status = proxy_get_header_map_pairs(map as u32, &mut data, &mut size);
        owned(status, data, size)
    }
}

/// The `(name, value)` pairs of a map in the Proxy-Wasm encoding: a `u32` count, `count`
/// pairs of `u32` sizes, then each name and value followed by a NUL. A truncated or
/// inconsistent buffer ends the iteration early.
pub fn pairs(buf: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let word = move |at: usize| -> Option<usize> {
        let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let count = word(0).unwrap_or(0);
    let mut data = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .unwrap_or(usize::MAX);
    (0..count).map_while(move |i| {
        let name_len = word(4 + i * 8)?;
        let value_len = word(8 + i * 8)?;
        let name = buf.get(data..data.checked_add(name_len)?)?;
        let v0 = data.checked_add(name_len)?.checked_add(1)?;
        let value = buf.get(v0..v0.checked_add(value_len)?)?;
        data = v0.checked_add(value_len)?.checked_add(1)?;
        Some((name, value))
    })
}

/// Sets (replaces) a header.
pub fn set_header(map: MapType, name: &str, value: &[u8]) -> Result<(), HostError> {
    result(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Removes every value of a header.
pub fn remove_header(map: MapType, name: &str) -> Result<(), HostError> {
    result(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// Property paths are NUL-separated segments.
fn property_path(path: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, seg) in path.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(seg.as_bytes());
    }
    out
}

/// A host property (`source.address`, …), as bytes.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    let p = property_path(path);
    let (mut data, mut size) = (null_mut(), 0usize);
    unsafe {
        let status = proxy_get_property(p.as_ptr(), p.len(), &mut data, &mut size);
        owned(status, data, size)
    }
}

/// Sets a property (filter state), readable from access logs.
pub fn set_property(path: &[&str], value: &[u8]) -> Result<(), HostError> {
    let p = property_path(path);
    result(unsafe { proxy_set_property(p.as_ptr(), p.len(), value.as_ptr(), value.len()) })
}

/// The Proxy-Wasm map encoding: count, then (key size, value size) pairs, then each key and
/// value followed by a NUL. `None` if a size does not fit in `u32`.
fn serialize_map(pairs: &[(&str, &str)]) -> Option<Vec<u8>> {
    let len = |n: usize| u32::try_from(n).ok().map(u32::to_le_bytes);
    let mut out = Vec::new();
    out.extend_from_slice(&len(pairs.len())?);
    for (k, v) in pairs {
        out.extend_from_slice(&len(k.len())?);
        out.extend_from_slice(&len(v.len())?);
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    Some(out)
}

/// Answers the request locally. `details` fills `%RESPONSE_CODE_DETAILS%` (no spaces).
pub fn send_response(
    status: u16,
    details: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), HostError> {
    let Some(h) = serialize_map(headers) else {
        return Err(HostError(u32::MAX));
    };
    result(unsafe {
        proxy_send_local_response(
            u32::from(status),
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            h.as_ptr(),
            h.len(),
            -1,
        )
    })
}

/// Resets the request stream (the last resort when a denial cannot be sent).
pub fn reset_request() {
    const HTTP_REQUEST: u32 = 0;
    unsafe {
        proxy_close_stream(HTTP_REQUEST);
    }
}

const COUNTER: u32 = 0;

/// Defines a counter; its id, or an error.
pub fn define_counter(name: &str) -> Result<u32, HostError> {
    let mut id = 0u32;
    let status = unsafe { proxy_define_metric(COUNTER, name.as_ptr(), name.len(), &mut id) };
    result(status).map(|()| id)
}

/// Adds `by` to a counter.
pub fn increment(id: u32, by: i64) -> Result<(), HostError> {
    result(unsafe { proxy_increment_metric(id, by) })
}

/// Makes the following host calls act on context `id` (the root acting on a request it times
/// out); `Err` when that stream is gone.
pub fn set_effective_context(id: u32) -> Result<(), HostError> {
    result(unsafe { proxy_set_effective_context(id) })
}

/// Lets a paused request go on (after a conversation lookup).
pub fn resume_request() -> Result<(), HostError> {
    const HTTP_REQUEST: u32 = 0;
    result(unsafe { proxy_continue_stream(HTTP_REQUEST) })
}

/// Replaces `size` bytes of a buffer from `start` with `data` (the whole buffer: `0`, its size).
pub fn set_buffer(
    kind: BufferType,
    start: usize,
    size: usize,
    data: &[u8],
) -> Result<(), HostError> {
    result(unsafe { proxy_set_buffer_bytes(kind as u32, start, size, data.as_ptr(), data.len()) })
}

/// A shared-data value (every worker's VM of this VM id sees it) and its CAS token; `None`
/// when absent or refused.
pub fn shared_data(key: &str) -> Option<(Vec<u8>, u32)> {
    let (mut data, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    unsafe {
        let status = proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas);
        owned(status, data, size).map(|v| (v, cas))
    }
}

/// Sets a shared-data value; with `cas` other than 0, only if nobody set it since that token
/// was read (else an error: `CasMismatch`).
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), HostError> {
    result(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

/// Starts an HTTP call to `cluster` (headers only, no body): its token, or the host's refusal.
/// Only [`abi::http_call`](super::abi::http_call) calls it, which records who gets the answer.
pub fn http_call(
    cluster: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<u32, HostError> {
    let Some(h) = serialize_map(headers) else {
        return Err(HostError(u32::MAX));
    };
    let trailers = [0u8; 4]; // no trailers: a count of 0
    let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
    let mut token = 0u32;
    let status = unsafe {
        proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            h.as_ptr(),
            h.len(),
            std::ptr::null(),
            0,
            trailers.as_ptr(),
            trailers.len(),
            ms,
            &mut token,
        )
    };
    result(status).map(|()| token)
}
