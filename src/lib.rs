//! # intercom-authz
//!
//! Authorization in front of Intercom's REST API. One evaluator, several front-ends; the
//! workspace's crates are its layers, and the arrows run one way, down:
//!
//! ```text
//!  front-ends   intercom-authz-filter (filter/)   Proxy-Wasm for Envoy / Istio (wasm32-wasip1)
//!               intercom-authz-js (js/)           the npm package (wasm-bindgen)
//!               intercom-authz-component          the WebAssembly component (wit-bindgen, wit/)
//!               intercom-authz-cli (cli/)         the `intercom-authz` command
//!                          │
//!  std layer    intercom-authz (src/, this crate)
//!               token        JWT verification (jsonwebtoken), claim mapping, verified-token cache
//!               pem          public keys from PEM by a strict DER reader
//!               ring_verify  every signature by ring (feature `ring-verify`: every shipped module)
//!               authorizer   the configuration every front-end loads, and the one call they make
//!               config_read  the configuration's JSON reader (held to serde's derive)
//!               guard        conversation lookups and responses, judged for the front-ends
//!               identity     who the caller is in Intercom: the token, or the teammate directory
//!                          │
//!  core         intercom-authz-core (core/): no_std, no host crate; re-exported here
//!               perm catalog router path rack version body net conversation policy eval
//! ```
//!
//! Start with [`policy::Policy::compile`] and [`eval::evaluate`] (the core), or
//! [`authorizer::Authorizer`], which every front-end wraps. A Rust user who wants only the
//! evaluator depends on `intercom-authz-core` alone.
#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(missing_docs))]

extern crate alloc;

pub use intercom_authz_core::{
    acting, body, catalog, conversation, eval, json_path, net, path, perm, policy, rack, router,
    sort, version,
};

pub mod audit;
pub mod authorizer;
pub mod config;
pub mod config_read;
pub mod identity;
/// Conversation lookups and responses, judged for the front-ends (part of the authorizer).
pub use authorizer::guard;
pub mod pem;
pub mod token;
pub mod upstream;

#[cfg(feature = "ring-verify")]
pub mod ring_verify;

// The token layer verifies with ring (`ring-verify`: every shipped module) or jsonwebtoken's
// RustCrypto provider (`rust-crypto`: the default, for tests and the CLI); with neither,
// jsonwebtoken would panic at the first key.
#[cfg(not(any(feature = "ring-verify", feature = "rust-crypto")))]
compile_error!("the token layer needs `ring-verify` or `rust-crypto`");

pub use conversation::Lookup;
pub use eval::{evaluate, Body, Code, Decision, Effect, Principal, Request};
pub use policy::{Policy, PolicyConfig, PolicyError};
