//! Inputs the fuzz targets (`fuzz/`, `cargo fuzz`) crashed on, replayed through the very entry
//! points that found them (this file includes `fuzz/src/lib.rs`), so CI runs them without the
//! fuzzer.
//!
//! Each input is a file `tests/fuzz_regressions/<target>/<name>`; next to it,
//! `<name>.expected` holds lines that must each appear in what the entry point reports (the
//! clean error, or the records read). An input that panics, or reports something else, fails.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)] // the fuzz targets use the rest
mod harness;

use std::path::{Path, PathBuf};

/// The inputs of `target` with their expectations.
fn cases(target: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_none())
        .collect();
    inputs.sort();
    inputs
        .into_iter()
        .map(|p| {
            let expected = p.with_extension("expected");
            let text = std::fs::read_to_string(&expected)
                .unwrap_or_else(|e| panic!("{}: every input needs its expectation: {e}", expected.display()));
            (p, text)
        })
        .collect()
}

fn replay(target: &str) {
    let cases = cases(target);
    assert!(!cases.is_empty(), "no regression inputs for {target}");
    for (input, expected) in cases {
        let data = std::fs::read(&input).expect("read the input");
        let dir = tempfile::tempdir().expect("a scratch directory");
        let outcome = harness::run(target, dir.path(), &data);
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                outcome.contains(line),
                "{}: expected {line:?} in what it reports:\n{outcome}",
                input.display()
            );
        }
    }
}

#[test]
fn journal() {
    replay("journal");
}

#[test]
fn scenario() {
    replay("scenario");
}

#[test]
fn config() {
    replay("config");
}

#[test]
fn fix_decode() {
    replay("fix_decode");
}

#[test]
fn fix_session() {
    replay("fix_session");
}
