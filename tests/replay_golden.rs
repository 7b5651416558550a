//! The golden suite: each `tests/golden/NAME.scenario` is replayed under its config and start,
//! and the decoded events must equal `tests/golden/NAME.csv` byte for byte. Each case also runs
//! twice and must give identical output.
//!
//! To regenerate the expected files after an intended change: `OMS_BLESS=1 cargo test --test
//! replay_golden`, then review the diff: the CSV files are the assertions.

use std::path::{Path, PathBuf};

use oms::replay::{AutoResponse, parse_scenario, parse_start, replay};
use oms::{Config, EventRecord, MemorySink};

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
];

fn golden(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file)
}

/// Replays a case and renders its events as CSV.
fn run(case: &Case) -> String {
    let cfg = Config::load_valid(golden(case.config)).expect("golden config is valid");
    let text = std::fs::read_to_string(golden(&format!("{}.scenario", case.name))).expect("scenario");
    let scenario = parse_scenario(&text).expect("golden scenario parses");
    let start = parse_start(case.start).expect("valid start");
    let auto = case.auto.map(|a| a.parse::<AutoResponse>().expect("valid auto-response"));
    let report = replay(&cfg, &scenario, start, auto, MemorySink::default()).expect("replay runs");
    csv(report.sink.events())
}

/// The journal's CSV columns.
fn csv(events: &[EventRecord]) -> String {
    let mut out =
        String::from("seq,time,kind,order_id,symbol,side,price,qty,request,response,reason,latency_ns\n");
    for e in events {
        let time = jiff::Timestamp::from_nanosecond(i128::from(e.time_ns)).expect("time in range");
        let side = e.side_char().map(String::from).unwrap_or_default();
        let reason = e.reason().map(|r| r.name()).unwrap_or_default();
        let response = if e.response == 0 { "" } else { e.response().name() };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.seq,
            time,
            e.kind().map(|k| k.name()).unwrap_or("?"),
            e.order_id,
            e.symbol,
            side,
            e.price,
            e.qty,
            e.request().name(),
            response,
            reason,
            e.latency_ns
        ));
    }
    out
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
