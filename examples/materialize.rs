//! Writes the decision corpus with concrete requests (tokens minted now) as JSON, for the
//! front-end test harnesses: `cargo run --example materialize -- target/corpus.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/corpus/mod.rs"]
mod corpus;

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/corpus.json".into());
    let m = corpus::materialize(corpus::now());
    corpus::write(&m, std::path::Path::new(&out));
    eprintln!(
        "{} cases, {} configurations -> {out}",
        m.cases.len(),
        m.configs.len()
    );
}
