//! # intercom-authz-core
//!
//! The `no_std` evaluator of intercom-authz: everything a decision needs that does not touch a
//! host. No proxy-wasm, wasm-bindgen, wit-bindgen or jsonwebtoken: the only dependencies are
//! `serde` and `serde_json` (alloc), and `schemars` behind the `schema` feature. Built for
//! `x86_64-unknown-none` by `make test`, which a wasm32 build would not prove.
//!
//! ```text
//! perm          permission vocabulary, Intercom aliases, bitsets
//! catalog       every Intercom API route → permission, scope, rule (catalog.tsv, compacted by build.rs)
//! router        segment-trie route index (literal beats {param})
//! path          canonicalization (the anti-bypass layer)
//! rack          how Intercom's Rails upstream reads a request
//! version       Intercom-Version and the catalog's version ranges
//! body          body/query-dependent routes, strict JSON
//! acting        the request fields that name the acting teammate (attribution)
//! net           CIDR allowlists
//! conversation  conversation access: who sees which conversation, responses judged
//! policy        PolicyConfig (serde) → Policy (compiled)
//! eval          evaluate(policy, principal, request, now) → Decision
//! json_path     a configuration error's path, from the JSON text
//! sort          the one sort instance (module size)
//! ```
//!
//! Start with [`policy::Policy::compile`] and [`eval::evaluate`]. The std layer (crate
//! `intercom-authz`: tokens, the `Authorizer` every front-end loads) is built on this one.
#![no_std]
#![cfg_attr(not(test), warn(missing_docs))]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod acting;
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

pub use conversation::Lookup;
pub use eval::{evaluate, Body, Code, Decision, Effect, Principal, Request};
pub use policy::{Policy, PolicyConfig, PolicyError};
