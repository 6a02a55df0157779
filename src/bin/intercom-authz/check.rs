//! `check CONFIG`: does the configuration load, and what is in it.

use crate::CheckFormat;
use intercom_authz::authorizer::Authorizer;
use intercom_authz::policy::{Policy, BUILTIN_ROLES};
use std::process::ExitCode;

use crate::common::*;

pub fn check(path: &str, format: CheckFormat) -> Result<ExitCode> {
    let outcome = load_config(path).and_then(|cfg| {
        let policy =
            Policy::compile(&cfg.policy).map_err(|e| format!("`{path}`: invalid policy: {e}"))?;
        let has_keys = !cfg.token.keys.is_empty()
            || cfg.token.jwks.is_some()
            || cfg.remote_jwks.is_some()
            || cfg.token.trusted_payload_header.is_some();
        if has_keys {
            Authorizer::new(cfg.clone()).map_err(|e| format!("`{path}`: {e}"))?;
        }
        Ok((policy, has_keys))
    });
    match (outcome, format) {
        (Ok((p, has_keys)), CheckFormat::Text) => {
            let custom = p.roles().len() - BUILTIN_ROLES.len();
            outln!(
                "ok: `{path}`: {} roles ({} custom), {} routes, {} permissions{}",
                p.roles().len(),
                custom,
                p.routes().len(),
                p.permissions().count(),
                if has_keys {
                    ""
                } else {
                    " (a bare policy: no token settings checked)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        (Ok((p, _)), CheckFormat::Json) => {
            let v = serde_json::json!({"ok": true, "file": path, "roles": p.roles().len(), "routes": p.routes().len(), "permissions": p.permissions().count(), "problems": []});
            outln!("{v}");
            Ok(ExitCode::SUCCESS)
        }
        (Err(e), CheckFormat::Text) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        (Err(e), CheckFormat::Json) => {
            outln!(
                "{}",
                serde_json::json!({"ok": false, "file": path, "problems": [e]})
            );
            Ok(ExitCode::from(1))
        }
    }
}
