//! Writes the seed corpora, `fuzz/seeds/<target>/`, from the decision corpus materialized at
//! the targets' fixed clock (so its tokens are valid when the targets run) and from
//! `tests/configs/`. `make fuzz` runs it first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use intercom_authz::body::BodyRule;
use intercom_authz_fuzz::{authorizers, corpus, Frame, NOW};

fn write(dir: &Path, seeds: BTreeSet<Vec<u8>>) {
    std::fs::create_dir_all(dir).unwrap();
    for old in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(old.unwrap().path()).unwrap();
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:04}")), s).unwrap();
    }
}

fn main() {
    let out = corpus::root().join("fuzz/seeds");
    let configs = authorizers();
    let m = corpus::materialize(NOW);
    let (mut path, mut body, mut token, mut config, mut request) =
        <[BTreeSet<Vec<u8>>; 5]>::default().into();
    for c in &m.cases {
        path.insert(c.bytes(&c.path));
        request.insert(Frame::from_case(c, &configs).to_bytes());
        if let Some(b) = &c.body {
            for (i, _) in BodyRule::ALL.iter().enumerate() {
                let mut seed = vec![u8::try_from(i).unwrap(), 0];
                seed.extend(c.bytes(b));
                body.insert(seed);
            }
        }
        if let Some(cred) = c
            .headers
            .get("authorization")
            .filter(|_| c.config == "default")
        {
            let t = cred.strip_prefix("Bearer ").unwrap_or(cred);
            token.insert(t.as_bytes().to_vec());
            if let Some(payload) = t
                .split('.')
                .nth(1)
                .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            {
                token.insert(payload);
            }
        }
    }
    for i in 0..=255u8 {
        // Generated-JSON mode: a few bytes each for the generator to grow from.
        body.insert(vec![0x80 | (i % 10), i, 5, 3, i, 5, 2, i / 3]);
    }
    for (name, _) in &configs {
        let cfg = corpus::load_config(name);
        config.insert(serde_json::to_vec_pretty(&cfg).unwrap());
        config.insert(serde_json::to_vec(&cfg["policy"]).unwrap());
    }
    // pem: a label/algorithm byte, then the DER of each test key (see fuzz_targets/pem.rs).
    let mut pem = BTreeSet::new();
    for (file, picks) in [
        ("rsa.pub.pem", [0u8, 1, 2, 3]),
        ("rsa.cert.pem", [2, 5, 2, 5]),
        ("ec.pub.pem", [6, 6, 6, 6]),
        ("ec384.pub.pem", [9, 9, 9, 9]),
        ("ed.pub.pem", [12, 12, 12, 12]),
    ] {
        let text = std::fs::read_to_string(corpus::root().join("tests/keys").join(file)).unwrap();
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        for p in picks {
            let mut seed = vec![p];
            seed.extend(&der);
            pem.insert(seed);
        }
    }
    for (name, set) in [
        ("pem", pem),
        ("path", path),
        ("body", body),
        ("token", token),
        ("config", config),
        ("request", request),
    ] {
        write(&out.join(name), set);
    }
}
