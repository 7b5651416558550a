//! The fuzz targets' entry points, shared with the regression test (`tests/fuzz_regressions.rs`
//! includes this file), so that a crash input replays through exactly the code that found it.
//!
//! Each entry point takes the raw input, runs it through the library, panics on a crash or a
//! broken promise, and returns what happened in words (the regression test checks that text).

pub mod config;
pub mod fix;
pub mod journal;
pub mod scenario;

use std::path::Path;

/// The targets, by name (the directory names under `fuzz_targets/` and
/// `tests/fuzz_regressions/`).
pub const TARGETS: [&str; 5] = ["journal", "scenario", "config", "fix_decode", "fix_session"];

/// Runs `data` through target `name` (`dir`: a scratch directory for the journal target).
pub fn run(name: &str, dir: &Path, data: &[u8]) -> String {
    match name {
        "journal" => journal::run(dir, data),
        "scenario" => scenario::run(data),
        "config" => config::run(data),
        "fix_decode" => fix::decode_stream(data),
        "fix_session" => fix::session(data),
        other => panic!("no fuzz target {other:?}"),
    }
}
