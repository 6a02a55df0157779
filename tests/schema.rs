//! The shipped JSON Schema (`envoy/config.schema.json`) and the npm package's TypeScript
//! declarations (`js/package/config.d.ts`) are what `cli/src/schema.rs` generates from the Rust
//! configuration types, so they cannot drift. `UPDATE_SCHEMA=1 cargo test --test schema
//! -p intercom-authz-cli` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(file);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{file} is not what cli/src/schema.rs generates: run `UPDATE_SCHEMA=1 cargo test --test schema -p intercom-authz-cli`"
    );
}

#[test]
fn the_json_schema_is_generated() {
    let schema = intercom_authz_cli::schema::json_schema();
    check(
        "envoy/config.schema.json",
        serde_json::to_string_pretty(&schema).unwrap() + "\n",
    );
    // What the Rust types cannot say comes from the code: every body rule, every algorithm.
    let bodies = schema
        .pointer("/$defs/RouteConfig/properties/body/enum")
        .unwrap();
    for rule in intercom_authz::body::BodyRule::ALL {
        assert!(
            bodies.as_array().unwrap().contains(&rule.name().into()),
            "{}",
            rule.name()
        );
    }
}

#[test]
fn the_typescript_declarations_are_generated() {
    let ts = intercom_authz_cli::schema::typescript();
    for (name, _) in intercom_authz::perm::PERMISSIONS {
        assert!(ts.contains(&format!("\"{name}\"")), "{name}");
    }
    assert!(ts.contains(
        "export interface AuthzConfig<C extends string = never, R extends string = string>"
    ));
    assert!(ts.contains("grant?: readonly Permission<NoInfer<C>>[];"));
    assert!(ts.contains("extends?: RoleName<NoInfer<R>> | null;"));
    for name in intercom_authz::policy::BUILTIN_ROLES {
        assert!(ts.contains(&format!("\"{name}\"")), "{name}");
    }
    check("js/package/config.d.ts", ts);
}
