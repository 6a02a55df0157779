//! # intercom-authz
//!
//! Authorization in front of Intercom's REST API. One evaluator, several front-ends:
//!
//! ```text
//!            ┌──────────── core: no_std + alloc, no host crate ────────────┐
//!            │ perm     permission vocabulary, Intercom aliases, bitsets    │
//!            │ catalog  every Intercom API route → permission, scope, rule  │
//!            │ router   segment-trie route index (literal beats {param})    │
//!            │ path     canonicalization (the anti-bypass layer)            │
//!            │ rack     how Intercom's Rails upstream reads a request        │
//!            │ version  Intercom-Version and the catalog's version ranges   │
//!            │ body     body/query-dependent routes, strict JSON            │
//!            │ net      CIDR allowlists                                     │
//!            │ policy   PolicyConfig (serde) → Policy (compiled)            │
//!            │ eval     evaluate(policy, principal, request, now) → Decision│
//!            │ json_path  a configuration error's path, from the JSON text  │
//!            │ sort     the one sort instance (module size)                 │
//!            └──────────────────────────────────────────────────────────────┘
//!   std:     token (JWT verification, claim mapping, cache), pem (public keys from PEM),
//!            authorizer (config + HTTP view), config_read (the configuration's JSON reader);
//!            ring_verify (every signature by ring)
//!   filter:  Proxy-Wasm filter for Envoy / Istio (wasm32-wasip1)
//! ```
//!
//! Start with [`policy::Policy::compile`] and [`eval::evaluate`], or, with the `std` feature,
//! [`authorizer::Authorizer`], which every front-end wraps.
#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(not(test), warn(missing_docs))]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod body;
pub mod catalog;
pub mod conversation;
pub mod eval;
pub mod json_path;
pub mod net;
pub mod path;
pub mod perm;
pub mod policy;
pub mod rack;
pub mod router;
pub mod sort;
pub mod version;

#[cfg(feature = "std")]
pub mod authorizer;
#[cfg(feature = "std")]
pub mod config_read;
#[cfg(feature = "std")]
pub mod guard;
#[cfg(feature = "std")]
pub mod pem;
#[cfg(feature = "std")]
pub mod token;

#[cfg(feature = "ring-verify")]
pub mod ring_verify;

// The token layer verifies with ring (`ring-verify`: every shipped module) or jsonwebtoken's
// RustCrypto provider (`rust-crypto`: the default, for tests and the CLI); with neither,
// jsonwebtoken would panic at the first key.
#[cfg(all(
    feature = "std",
    not(any(feature = "ring-verify", feature = "rust-crypto"))
))]
compile_error!("the `std` token layer needs `ring-verify` or `rust-crypto`");

#[cfg(feature = "schema")]
pub mod schema;

#[cfg(feature = "filter")]
pub mod filter;

#[cfg(feature = "js")]
pub mod js;

#[cfg(feature = "component")]
pub mod component;

pub use conversation::Lookup;
pub use eval::{evaluate, Body, Code, Decision, Effect, Principal, Request};
pub use policy::{Policy, PolicyConfig, PolicyError};
