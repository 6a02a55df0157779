//! The README's generated tables (built-in roles, decision codes) match the code, so the
//! documentation cannot drift. `UPDATE_README=1 cargo test --test readme` rewrites them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use intercom_authz::policy::{Policy, PolicyConfig, BUILTIN_ROLES, CHAIN};
use intercom_authz::Code;

fn roles_table() -> String {
    let p = Policy::compile(&PolicyConfig::default()).unwrap();
    let mut out = String::from("| permission | what it allows |");
    for r in BUILTIN_ROLES {
        out.push_str(&format!(" {r} |"));
    }
    out.push_str("\n|---|---|");
    for _ in BUILTIN_ROLES {
        out.push_str(":-:|");
    }
    out.push('\n');
    for (id, name) in p.permissions() {
        out.push_str(&format!("| `{name}` | {} |", p.permission_description(id)));
        for r in BUILTIN_ROLES {
            let has = p.role(r).unwrap().permissions.contains(id);
            out.push_str(if has { " ✓ |" } else { " · |" });
        }
        out.push('\n');
    }
    out.push_str("| **total** | |");
    for r in BUILTIN_ROLES {
        out.push_str(&format!(
            " {} |",
            p.role(r).unwrap().permissions.iter().count()
        ));
    }
    out.push('\n');
    out
}

/// What each step of the chain takes away, and why.
fn chain_table() -> String {
    let p = Policy::compile(&PolicyConfig::default()).unwrap();
    let mut out = String::from("| step | the role below lacks | why |\n|---|---|---|\n");
    for (above, below, why) in CHAIN {
        let up = p.role(above).unwrap().permissions;
        let down = p.role(below).unwrap().permissions;
        assert!(up.contains_all(&down), "{below} is not within {above}");
        let lost: Vec<String> = p
            .names(&up.difference(&down))
            .map(|n| format!("`{n}`"))
            .collect();
        out.push_str(&format!(
            "| {above} → {below} | {} | {why} |\n",
            lost.join(", ")
        ));
    }
    out
}

fn codes_table() -> String {
    let mut out = String::from("| code | status | meaning |\n|---|---|---|\n");
    for c in Code::ALL {
        let doc = match c {
            Code::NeedBody | Code::NeedLookup => continue,
            _ => code_doc(*c),
        };
        out.push_str(&format!("| `{}` | {} | {doc} |\n", c.as_str(), c.status()));
    }
    out
}

fn code_doc(c: Code) -> String {
    // The meaning is the code's doc comment, kept in one place (core/src/eval/decision.rs).
    let src = include_str!("../core/src/eval/decision.rs");
    let needle = format!("{:?} => (\"{}\", {}, \"", c, c.as_str(), c.status());
    let start = src
        .find(&needle)
        .unwrap_or_else(|| panic!("no entry for {c:?}"))
        + needle.len();
    src[start..].split('"').next().unwrap().to_string()
}

fn splice(readme: &str, name: &str, body: &str) -> String {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.md has no `{begin}`"))
        + begin.len();
    let b = readme
        .find(&end)
        .unwrap_or_else(|| panic!("README.md has no `{end}`"));
    format!("{}{}{}", &readme[..a], body, &readme[b..])
}

#[test]
fn readme_tables_match_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = splice(
        &splice(
            &splice(&readme, "roles", &roles_table()),
            "chain",
            &chain_table(),
        ),
        "codes",
        &codes_table(),
    );
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        readme == want,
        "README.md tables are out of date: run `UPDATE_README=1 cargo test --test readme`"
    );
}
