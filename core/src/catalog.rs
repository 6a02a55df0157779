//! The shipped route catalog: every operation of Intercom's REST API, versions 2.7 to 2.16.
//!
//! The data lives in [`CATALOG_TSV`] (`src/catalog.tsv`), one route per line:
//!
//! | column | meaning |
//! |---|---|
//! | `method` | `GET` `POST` `PUT` `PATCH` `DELETE` |
//! | `template` | the path template, see [`crate::router`] |
//! | `permission` | the permission(s) it needs, comma-separated (all are needed) |
//! | `scope` | the OAuth scope it needs, or `-` where nothing public says |
//! | `scope_source` | `spec` (the OpenAPI text names it), `docs217` (2.17 docs), `inferred`, `-` |
//! | `rule` | `-`, `body:<rule>` ([`crate::body::BodyRule`]), `query:<rule>`, `self:<permission>` |
//! | `versions` | the API versions that have it: `2.7-` (still there), `2.7-2.11` (removed after) |
//!
//! A policy's own `routes` use the same fields (see [`crate::policy::config::RouteConfig`]).
//!
//! The modules carry it compacted by `build.rs` (each column's distinct values once, a byte per
//! column per row: 9 KB instead of 19) and read it with [`rows`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::policy::config::RouteConfig;

/// The catalog, as shipped.
pub const CATALOG_TSV: &str = include_str!("catalog.tsv");

/// One catalog line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow<'a> {
    /// `METHOD`
    pub method: &'a str,
    /// `/path/{param}`
    pub template: &'a str,
    /// The permissions it needs.
    pub permissions: Vec<&'a str>,
    /// The OAuth scope, if one is known.
    pub scope: Option<&'a str>,
    /// Where the scope comes from.
    pub scope_source: &'a str,
    /// The rule column.
    pub rule: Option<&'a str>,
    /// The versions column.
    pub versions: &'a str,
}

/// Parses catalog text; an error names the line.
pub fn parse(text: &str) -> Result<Vec<CatalogRow<'_>>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let Ok(cols) = <[&str; 7]>::try_from(cols) else {
            return Err(alloc::format!(
                "catalog line {}: expected 7 tab-separated columns",
                n + 1
            ));
        };
        rows.push(row(cols));
    }
    Ok(rows)
}

// POOL, ENDS, FIRSTS and ROWS: `src/catalog.tsv` as `build.rs` compacts it.
include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// The shipped catalog's rows: the same as `parse(CATALOG_TSV)`, from the compact form the
/// modules carry.
pub fn rows() -> Vec<CatalogRow<'static>> {
    ROWS.chunks_exact(7)
        .filter_map(|r| <[u8; 7]>::try_from(r).ok())
        .map(|r| {
            let mut cols = [""; 7];
            for ((c, i), col) in r.iter().enumerate().zip(cols.iter_mut()) {
                *col = value(c, *i);
            }
            row(cols)
        })
        .collect()
}

/// Value `i` of column `c`.
fn value(c: usize, i: u8) -> &'static str {
    let k = FIRSTS.get(c).map_or(0, |f| f + usize::from(i));
    let start = k
        .checked_sub(1)
        .and_then(|p| ENDS.get(p))
        .copied()
        .unwrap_or(0);
    let end = ENDS.get(k).copied().unwrap_or(0);
    POOL.get(usize::from(start)..usize::from(end)).unwrap_or("")
}

/// One row from its seven columns.
fn row(cols: [&str; 7]) -> CatalogRow<'_> {
    let [method, template, perms, scope, scope_source, rule, versions] = cols;
    let dash = |s: &str| -> bool { s == "-" || s.is_empty() };
    CatalogRow {
        method,
        template,
        permissions: perms.split(',').map(str::trim).collect(),
        scope: (!dash(scope)).then_some(scope),
        scope_source,
        rule: (!dash(rule)).then_some(rule),
        versions,
    }
}

impl CatalogRow<'_> {
    /// The row as a route configuration.
    pub fn to_config(&self) -> RouteConfig {
        let (mut body, mut query, mut self_permission) = (None, None, None);
        match self.rule.and_then(|r| r.split_once(':')) {
            Some(("body", r)) => body = Some(r.to_string()),
            Some(("query", r)) => query = Some(r.to_string()),
            Some(("self", p)) => self_permission = Some(p.to_string()),
            _ => {}
        }
        RouteConfig {
            method: self.method.to_string(),
            path: self.template.to_string(),
            permission: self.permissions.iter().map(|p| p.to_string()).collect(),
            scope: self.scope.map(str::to_string),
            scope_documented: matches!(self.scope_source, "spec" | "docs217"),
            body,
            query,
            self_permission,
            not_self: false,
            replace: false,
            versions: Some(self.versions.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact form (`build.rs`) gives back the TSV, row by row.
    #[test]
    fn rows_are_the_tsv() {
        let tsv = parse(CATALOG_TSV).unwrap();
        assert!(tsv.len() >= 231);
        assert_eq!(rows(), tsv);
    }

    #[test]
    fn shipped_catalog_parses() {
        let rows = parse(CATALOG_TSV).unwrap();
        assert!(rows.len() >= 231, "{}", rows.len());
        for r in &rows {
            assert!(
                crate::router::Method::parse(r.method).is_some(),
                "{}",
                r.method
            );
            assert!(
                matches!(r.scope_source, "spec" | "docs217" | "inferred" | "-"),
                "{r:?}"
            );
            assert_eq!(r.scope.is_none(), r.scope_source == "-", "{r:?}");
        }
    }
}
