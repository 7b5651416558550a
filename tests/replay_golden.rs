//! The golden suite: each `tests/golden/NAME.scenario` is replayed by `oms replay` under its
//! config, start and auto-response into a journal, and
//! - the journal must satisfy the scenario's `# expect:` annotations (every record claimed by
//!   one; see `golden_expect`): what the scenario says must happen, written by hand, checked
//!   without the CSV;
//! - `oms audit --virtual-time` must find every rule kept;
//! - `oms decode --format csv` of that journal must equal `tests/golden/NAME.csv` byte for byte
//!   (the decoder's output format and everything the annotations leave out);
//! - a second replay must give byte-identical CSV.
//!
//! To regenerate the CSV files after an intended change: `OMS_BLESS=1 cargo test --test
//! replay_golden` (exactly `1`; refused when `CI` is set), then review the diff. Blessing writes
//! only cases whose annotations hold, so a regenerated golden never contradicts its scenario.

mod golden_expect;

use std::path::{Path, PathBuf};
use std::process::Command;

use oms::EventRecord;
use oms::journal::Journal;

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
    Case { name: "lifecycle", config: "bucket.toml", start: MON_0959_59, auto: None },
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

/// What one replay of a case gives: the decoded CSV and the journal's records.
struct Replayed {
    csv: String,
    records: Vec<EventRecord>,
}

/// Replays a case with `oms replay` into a fresh journal, decodes it with `oms decode` and
/// reads its records back with the library's reader.
fn run(case: &Case) -> Replayed {
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
    // Every golden journal keeps every rule, exactly (virtual time); `oms` asserts exit 0.
    oms(&["audit", "--virtual-time", &journal]);
    let csv = oms(&["decode", "--format", "csv", &journal]);
    let j = Journal::open(&journal).expect("the replay's journal opens");
    let records = j.records().map(|r| r.expect("a valid record")).collect();
    Replayed { csv, records }
}

/// The run's start as wall-clock ns (`@0` of the scenario).
fn start_ns(case: &Case) -> i64 {
    let t: jiff::Timestamp = case.start.parse().expect("an RFC 3339 start");
    i64::try_from(t.as_nanosecond()).expect("start within i64 ns")
}

/// The annotation problems of one case's replay.
fn annotation_problems(case: &Case, records: &[EventRecord]) -> Vec<String> {
    let file = golden(&format!("{}.scenario", case.name));
    let text = std::fs::read_to_string(&file).expect("scenario file");
    match golden_expect::parse(&text) {
        Ok(expectations) => golden_expect::check(&expectations, records, start_ns(case)),
        Err(e) => vec![format!("malformed annotation: {e}")],
    }
}

/// `OMS_BLESS=1` (and nothing else) asks to rewrite the CSV files; never under CI.
fn bless_requested() -> bool {
    let bless = std::env::var_os("OMS_BLESS").is_some_and(|v| v == "1");
    assert!(
        !(bless && std::env::var_os("CI").is_some()),
        "OMS_BLESS=1 with CI set: golden files are never rewritten in CI"
    );
    bless
}

#[test]
fn golden_cases() {
    let bless = bless_requested();
    let mut failed = Vec::new();
    for case in CASES {
        let got = run(case);
        assert_eq!(got.csv, run(case).csv, "{}: a second replay differs", case.name);
        let problems = annotation_problems(case, &got.records);
        if !problems.is_empty() {
            eprintln!("--- {}.scenario: the replay contradicts its annotations:", case.name);
            for p in &problems {
                eprintln!("  {p}");
            }
            failed.push(case.name);
            continue;
        }
        let path = golden(&format!("{}.csv", case.name));
        if bless {
            std::fs::write(&path, &got.csv).expect("write expected CSV");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got.csv != want {
            eprintln!("--- {} differs from {}:\n{}", case.name, path.display(), got.csv);
            failed.push(case.name);
        }
    }
    assert!(
        failed.is_empty(),
        "golden cases fail: {failed:?} (see above; OMS_BLESS=1 rewrites the CSV files)"
    );
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

fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).expect("a case of that name")
}

/// The problems the annotations of `name` find in its replay after `change`.
fn problems_after(name: &str, change: impl FnOnce(&mut Vec<EventRecord>)) -> Vec<String> {
    let c = case(name);
    let mut records = run(c).records;
    change(&mut records);
    annotation_problems(c, &records)
}

fn position(records: &[EventRecord], kind: oms::EventKind, id: u64) -> usize {
    records.iter().position(|r| r.kind == kind && r.order_id == id).expect("such a record")
}

fn edit(records: &mut [EventRecord], kind: oms::EventKind, id: u64, f: impl FnOnce(&mut EventRecord)) {
    let i = position(records, kind, id);
    f(&mut records[i]);
}

#[test]
fn annotations_catch_a_journal_that_contradicts_them() {
    use oms::EventKind::{Modified, Rejected, Sent};
    assert_eq!(problems_after("token_bucket", |_| {}), Vec::<String>::new());
    type Change = Box<dyn FnOnce(&mut Vec<EventRecord>)>;
    let changes: Vec<(&str, &str, Change)> = vec![
        ("token_bucket", "a send 1 ns late", Box::new(|r| edit(r, Sent, 5, |e| e.time_ns += 1))),
        ("token_bucket", "two queued orders swapped", {
            Box::new(|r| {
                let (a, b) = (position(r, Sent, 5), position(r, Sent, 6));
                let (ta, tb) = (r[a].time_ns, r[b].time_ns);
                r.swap(a, b);
                (r[a].time_ns, r[b].time_ns) = (ta, tb);
            })
        }),
        ("token_bucket", "same-instant sends out of order", Box::new(|r| r.swap(1, 2))),
        (
            "token_bucket",
            "a record missing",
            Box::new(|r| {
                let i = position(r, Sent, 7);
                r.remove(i);
            }),
        ),
        (
            "token_bucket",
            "a record too many",
            Box::new(|r| {
                let extra = r[position(r, Sent, 7)];
                r.push(extra);
            }),
        ),
        ("modify_cancel", "sent with the old qty", Box::new(|r| edit(r, Sent, 2, |e| e.qty = 10))),
        ("modify_cancel", "a modify not applied", Box::new(|r| edit(r, Modified, 2, |e| e.price = 100.0))),
        (
            "reject_reasons",
            "another reject reason",
            Box::new(|r| edit(r, Rejected, 27, |e| e.reason = Some(oms::RejectReason::Shutdown))),
        ),
        (
            "responses",
            "another latency",
            Box::new(|r| edit(r, oms::EventKind::Response, 4, |e| e.latency_ns = 2)),
        ),
    ];
    for (name, what, change) in changes {
        let problems = problems_after(name, change);
        assert!(!problems.is_empty(), "{name}: {what} went unnoticed");
    }
}

#[test]
fn malformed_annotations_are_errors_naming_the_line() {
    for (text, needle) in [
        ("# expect: sent id=1\n", "no @<ms> time"),
        ("\n# expect: snet id=1 @5\n", "line 2"),
        ("# expect: sent id=1 @5 colour=red\n", "unknown key"),
        ("# expect: sent @5\n", "id= is required"),
        ("# expect: logon id=3 @5\n", "take no id"),
        ("# expect: sent id=1 id=2 @5\n", "id given twice"),
        ("# expect: sent id=1 @1.0000001\n", "bad time"),
        ("# expect: rejected id=1 @1 reason=bored\n", "bad value for reason"),
        ("# expect: sent id=1 @1 cum=3\n", "cum= does not apply to sent"),
        ("# expect: fill id=1 @1 code=3\n", "code= does not apply to fill"),
        ("# expect: filled id=1 @1 cum=x\n", "bad value for cum"),
        ("@0 new id=1 sym=1 side=B px=1 qty=1  # expect: sent id=1 @0; queued\n", "no @<ms> time"),
    ] {
        let err = golden_expect::parse(text).expect_err(text);
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let ok = golden_expect::parse("@0 advance # expect: logon @0; sent id=1 @0.5 px=NaN latency=0.000001\n")
        .expect("valid");
    assert_eq!(ok.len(), 2);
    assert_eq!((ok[1].at_ns, ok[1].latency_ns), (500_000, Some(1)));
}

/// `oms decode --format scenario` of each golden journal, replayed under the same configuration
/// from the start its first line names, gives the same records: the scenario holds every
/// request the engine took and every answer the exchange gave, at their times.
#[test]
fn a_journal_decoded_as_a_scenario_replays_to_the_same_records() {
    let mut differ = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).to_str().expect("UTF-8 path").to_owned();
        let (first, again, scenario) = (path("first.journal"), path("again.journal"), path("day.scenario"));
        let config = golden(case.config).to_str().expect("UTF-8 path").to_owned();
        let original = golden(&format!("{}.scenario", case.name)).to_str().expect("UTF-8 path").to_owned();
        let mut args =
            vec!["replay", &original, "--config", &config, "--journal", &first, "--start", case.start];
        if let Some(a) = case.auto {
            args.extend(["--auto-response", a]);
        }
        oms(&args);
        let text = oms(&["decode", "--format", "scenario", &first]);
        let start = text
            .lines()
            .next()
            .and_then(|l| l.split("--start ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: the first line names the start:\n{text}", case.name))
            .to_owned();
        std::fs::write(&scenario, &text).expect("write the scenario");
        oms(&["replay", &scenario, "--config", &config, "--journal", &again, "--start", &start]);
        let (want, got) =
            (oms(&["decode", "--format", "csv", &first]), oms(&["decode", "--format", "csv", &again]));
        if got != want {
            eprintln!("--- {}: the decoded scenario replays differently:\n{text}\n{got}", case.name);
            differ.push(case.name);
        }
    }
    assert!(differ.is_empty(), "{differ:?}");
}
