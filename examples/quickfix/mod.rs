//! The QuickFIX acceptor's Python (examples/fix_acceptor.py runs on it): the venv in
//! `target/quickfix-venv`, installed by `.ci/quickfix-setup` the first time something needs it.
//!
//! Shared by the FIX tests (`tests/fix_common`), the demo (`examples/harness`) and the FIX
//! latency examples (`examples/fix_common`), so none of them needs a set-up step run by hand.
//! The script takes a lock, so test binaries (and test threads) starting at once install the
//! venv once and reuse it; a venv that is ready costs one file check. When it cannot be
//! installed, the error is one line saying what is missing (Python 3.11, its venv module, the
//! PyPI registry).
#![allow(dead_code)] // each user takes a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository: `.ci/quickfix-setup` and `target/` are found from it.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python (`target/quickfix-venv/bin/python`), installing the venv first if it is
/// not ready. The first call in a process does the work (other threads wait for it); later
/// calls return its answer. `Err` is one line, for a person.
pub fn python() -> Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| ensure(&root().join("target/quickfix-venv"), &[])).clone()
}

/// The python of the venv at `venv` (absolute), installed by `.ci/quickfix-setup` unless it is
/// ready, with `env` added to the script's environment. `Err` is one line.
pub fn ensure(venv: &Path, env: &[(&str, &str)]) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    if venv.join(".ready").is_file() && python.exists() {
        return Ok(python);
    }
    let script = root().join(".ci/quickfix-setup");
    let out = Command::new("bash")
        .arg(&script)
        .env("OMS_QUICKFIX_VENV", venv)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| {
            format!("the QuickFIX acceptor is not installed: cannot run bash {}: {e}", script.display())
        })?;
    if out.status.success() && python.exists() {
        return Ok(python);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines = stderr.lines().rev();
    match lines.clone().find_map(|l| l.strip_prefix("quickfix-setup: ")) {
        Some(said) => Err(format!("the QuickFIX acceptor cannot be installed by .ci/quickfix-setup: {said}")),
        None => Err(format!(
            "the QuickFIX acceptor cannot be installed: .ci/quickfix-setup failed ({}): {}",
            out.status,
            lines.find(|l| !l.trim().is_empty()).unwrap_or("it printed nothing")
        )),
    }
}
