//! What the `intercom-authz` command shares with its tests: the configuration's JSON Schema and
//! TypeScript declarations ([`schema`]). The commands themselves are the binary's (`main.rs`,
//! a file per command).

pub mod schema;
