//! The route catalog as the modules carry it (`core/src/catalog.rs`, `catalog::rows`): the text of
//! `src/catalog.tsv` is 19 KB, of which each column's distinct values are 7 KB. This writes them
//! once, in one string, and each row as one byte per column naming its value; the test
//! `catalog::tests::rows_are_the_tsv` holds the result to the TSV, row by row.
// A build script fails the build by panicking, with the message: that is what it should do here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt::Write as _;

const COLUMNS: usize = 7;

fn main() {
    println!("cargo:rerun-if-changed=src/catalog.tsv");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let text = std::fs::read_to_string(format!("{dir}/src/catalog.tsv")).expect("src/catalog.tsv");
    let mut values: [Vec<&str>; COLUMNS] = Default::default();
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), COLUMNS, "src/catalog.tsv line {}", n + 1);
        for (c, v) in cols.into_iter().enumerate() {
            let i = match values[c].iter().position(|x| *x == v) {
                Some(i) => i,
                None => {
                    values[c].push(v);
                    values[c].len() - 1
                }
            };
            let byte = u8::try_from(i).expect("at most 256 distinct values per column");
            rows.push(byte);
        }
    }
    let (mut pool, mut ends, mut firsts) = (String::new(), Vec::new(), Vec::new());
    for column in &values {
        firsts.push(ends.len());
        for v in column {
            pool.push_str(v);
            ends.push(u16::try_from(pool.len()).expect("the values fit in 64 KB"));
        }
    }
    let mut out = String::new();
    writeln!(
        out,
        "/// Every column's distinct values, one after the other."
    )
    .unwrap();
    writeln!(out, "const POOL: &str = {pool:?};").unwrap();
    writeln!(out, "/// Where each value ends in `POOL`.").unwrap();
    writeln!(out, "const ENDS: &[u16] = &{ends:?};").unwrap();
    writeln!(
        out,
        "/// Each column's first value, as an index into `ENDS`."
    )
    .unwrap();
    writeln!(out, "const FIRSTS: [usize; {COLUMNS}] = {firsts:?};").unwrap();
    writeln!(
        out,
        "/// Each row: a byte per column, its value's index in that column."
    )
    .unwrap();
    writeln!(out, "const ROWS: &[u8] = &{rows:?};").unwrap();
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("catalog.rs");
    std::fs::write(dest, out).unwrap();
}
