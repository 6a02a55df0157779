//! `check CONFIG`: does the configuration load, and what is in it. Every problem is listed
//! in one run (see `problems.rs`), one line each naming the culprit; `--format json` gives
//! the same as `{"ok", "file", "problems": [{"at", "message"}]}`.

use std::process::ExitCode;

use crate::common::*;
use crate::problems::{find, Problem};
use crate::CheckFormat;
use intercom_authz::policy::{Policy, BUILTIN_ROLES};

pub fn check(path: &str, format: CheckFormat) -> Result<ExitCode> {
    let (problems, loaded) = match load_value(path) {
        Ok(v) => find(v, has_keys),
        Err(e) => (
            vec![Problem {
                at: String::new(),
                message: e,
            }],
            None,
        ),
    };
    match (loaded, format) {
        (Some((cfg, p)), CheckFormat::Text) => {
            outln!(
                "ok: `{path}`: {}{}",
                summary(&p),
                if has_keys(&cfg) {
                    ""
                } else {
                    " (a bare policy: no token settings checked)"
                }
            );
        }
        (Some((_, p)), CheckFormat::Json) => {
            let v = serde_json::json!({"ok": true, "file": path, "roles": p.roles().len(), "routes": p.routes().len(), "permissions": p.permissions().count(), "problems": []});
            outln!("{v}");
        }
        (None, CheckFormat::Text) => {
            for p in &problems {
                match p.at.as_str() {
                    "" => eprintln!("error: {}", p.message),
                    at => eprintln!("error: `{path}` at `{at}`: {}", p.message),
                }
            }
            eprintln!(
                "{} problem{} in `{path}`",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
        }
        (None, CheckFormat::Json) => {
            outln!(
                "{}",
                serde_json::json!({"ok": false, "file": path, "problems": problems})
            );
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(p: &Policy) -> String {
    let custom = p.roles().len() - BUILTIN_ROLES.len();
    format!(
        "{} roles ({} custom), {} routes, {} permissions",
        p.roles().len(),
        custom,
        p.routes().len(),
        p.permissions().count()
    )
}
