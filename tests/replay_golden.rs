//! The golden suite: each `tests/golden/NAME.scenario` is replayed by `oms replay` under its
//! config, start and auto-response into a journal, and `oms decode --format csv` of that journal
//! must equal `tests/golden/NAME.csv` byte for byte. Each case runs twice and must give
//! byte-identical CSV.
//!
//! To regenerate the expected files after an intended change: `OMS_BLESS=1 cargo test --test
//! replay_golden`, then review the diff: the CSV files are the assertions.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One case: scenario name, config file, `--start`, `--auto-response`.
struct Case {
    name: &'static str,
    config: &'static str,
    start: &'static str,
    auto: Option<&'static str>,
}

const MON_0959_59: &str = "2026-11-23T09:59:59Z";

const CASES: &[Case] = &[
    Case { name: "window_edges", config: "bucket.toml", start: MON_0959_59, auto: None },
    Case {
        name: "midnight_weekdays",
        config: "midnight.toml",
        start: "2026-11-26T23:59:58+05:30",
        auto: None,
    },
    Case { name: "token_bucket", config: "bucket.toml", start: MON_0959_59, auto: None },
    Case { name: "sliding_window", config: "sliding.toml", start: MON_0959_59, auto: None },
    Case { name: "modify_cancel", config: "slow.toml", start: MON_0959_59, auto: None },
    Case { name: "responses", config: "bucket.toml", start: MON_0959_59, auto: None },
    Case { name: "auto_accept", config: "slow.toml", start: MON_0959_59, auto: Some("250") },
    Case {
        name: "auto_reject_window_end",
        config: "slow.toml",
        start: MON_0959_59,
        auto: Some("1500:reject"),
    },
    Case { name: "reject_reasons", config: "bucket.toml", start: MON_0959_59, auto: None },
    Case { name: "session_end", config: "slow.toml", start: MON_0959_59, auto: None },
    Case { name: "producers", config: "bucket.toml", start: MON_0959_59, auto: None },
    Case { name: "docs_example", config: "docs_example.toml", start: "2026-11-23T10:00:00Z", auto: None },
    Case { name: "sliding_across_sessions", config: "sliding_sessions.toml", start: MON_0959_59, auto: None },
    Case { name: "dst_overlap", config: "dst_overlap.toml", start: "2024-03-10T06:50:00Z", auto: None },
];

fn golden(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file)
}

/// Runs `oms` with `args`; panics with its stderr unless it succeeds. Returns stdout.
fn oms(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms");
    assert!(o.status.success(), "oms {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// Replays a case with `oms replay` into a fresh journal and decodes it with `oms decode`.
fn run(case: &Case) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join(format!("{}.journal", case.name));
    let (scenario, config) = (golden(&format!("{}.scenario", case.name)), golden(case.config));
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
    let (scenario, config, journal) = (path(&scenario), path(&config), path(&journal));
    let mut args =
        vec!["replay", &scenario, "--config", &config, "--journal", &journal, "--start", case.start];
    if let Some(a) = case.auto {
        args.extend(["--auto-response", a]);
    }
    oms(&args);
    oms(&["decode", "--format", "csv", &journal])
}

#[test]
fn golden_cases() {
    let bless = std::env::var_os("OMS_BLESS").is_some();
    let mut failed = Vec::new();
    for case in CASES {
        let got = run(case);
        assert_eq!(got, run(case), "{}: a second replay differs", case.name);
        let path = golden(&format!("{}.csv", case.name));
        if bless {
            std::fs::write(&path, &got).expect("write expected CSV");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            eprintln!("--- {} differs from {}:\n{got}", case.name, path.display());
            failed.push(case.name);
        }
    }
    assert!(failed.is_empty(), "golden cases differ: {failed:?} (OMS_BLESS=1 regenerates; review the diff)");
}

#[test]
fn every_scenario_file_is_a_case() {
    let mut files: Vec<String> = std::fs::read_dir(golden(""))
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".scenario").map(String::from))
        .collect();
    files.sort();
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort();
    assert_eq!(files, names);
}
