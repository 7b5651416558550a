//! `.ci/quickfix-setup`, as the FIX tests and the demo run it (`examples/quickfix`): when the
//! acceptor cannot be installed, the failure is one line naming what is missing (Python 3.11,
//! its venv module, the PyPI registry). Each case installs into a venv of its own, in a
//! temporary directory; the real one (`target/quickfix-venv`) is never touched.

#[path = "../examples/quickfix/mod.rs"]
mod quickfix;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A stand-in for a Python interpreter: a shell script in `dir`.
fn fake_python(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("python");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the fake python");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod the fake python");
    path
}

/// Installs into a fresh venv in `dir` with `env`; the error it must give.
fn failure(dir: &Path, env: &[(&str, &str)]) -> String {
    let venv = dir.join("venv");
    let err = match quickfix::ensure(&venv, env) {
        Ok(python) => panic!("installed {} although it could not be", python.display()),
        Err(e) => e,
    };
    assert!(!err.contains('\n'), "one line, not {err:?}");
    assert!(err.starts_with("the QuickFIX acceptor cannot be installed"), "{err}");
    assert!(!venv.join(".ready").exists(), "a venv that failed is not marked ready");
    err
}

#[test]
fn no_python_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("no-such-python3.11");
    let err = failure(dir.path(), &[("PYTHON", missing.to_str().expect("utf-8 path"))]);
    assert!(err.contains("Python 3.11 is missing") && err.contains("not found"), "{err}");
    assert!(err.contains("PYTHON"), "says how to point at one: {err}");
}

#[test]
fn a_python_other_than_3_11_is_named_with_its_version() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let python = fake_python(dir.path(), "echo 3.12");
    let err = failure(dir.path(), &[("PYTHON", python.to_str().expect("utf-8 path"))]);
    assert!(err.contains("Python 3.11 is missing") && err.contains(": 3.12)"), "{err}");
}

#[test]
fn a_python_without_venv_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // Says 3.11, but `import venv, ensurepip` fails (as on Debian without python3.11-venv).
    let python = fake_python(dir.path(), "case \"$2\" in *ensurepip*) exit 1;; esac\necho 3.11");
    let err = failure(dir.path(), &[("PYTHON", python.to_str().expect("utf-8 path"))]);
    assert!(err.contains("no venv module") && err.contains("python3.11-venv"), "{err}");
}

#[test]
fn an_unreachable_registry_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // A loopback port nothing listens on, as the package index; no other source of wheels.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let index = format!("http://127.0.0.1:{port}/simple");
    let env = [
        ("PIP_INDEX_URL", index.as_str()),
        ("PIP_FIND_LINKS", ""),
        ("PIP_CONFIG_FILE", "/dev/null"),
        ("PIP_RETRIES", "0"),
        ("PIP_TIMEOUT", "2"),
    ];
    let err = failure(dir.path(), &env);
    assert!(err.contains("from the PyPI registry") && err.contains("is PyPI reachable?"), "{err}");
    assert!(err.contains("No matching distribution found for quickfix-ssl"), "pip's own words: {err}");
    assert!(dir.path().join("venv.log").is_file(), "pip's full output is kept: {err}");
}

#[test]
fn a_ready_venv_is_reused_without_running_the_script() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let venv = dir.path().join("venv");
    std::fs::create_dir_all(venv.join("bin")).expect("venv/bin");
    std::fs::write(venv.join("bin/python"), "").expect("venv/bin/python");
    std::fs::write(venv.join(".ready"), "").expect("venv/.ready");
    // The script would fail here (no such Python): it is not run.
    let python = quickfix::ensure(&venv, &[("PYTHON", "/nonexistent")]).expect("the ready venv");
    assert_eq!(python, venv.join("bin/python"));
}
