//! What the `intercom-authz` command shares with its tests: the configuration's JSON Schema and
//! TypeScript declarations ([`schema`]), and the model of what a role may do that `matrix
//! --diff` and `report` compare ([`access`]). The commands themselves are the binary's
//! (`main.rs`, a file per command).

pub mod access;
pub mod schema;
