//! `oms replay` as a command: usage errors (exit 2, naming the file and line), journal errors
//! (exit 1), the default start, and a decoded journal with exact virtual times and latencies.

use std::path::Path;
use std::process::{Command, Output};

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

const CONFIG: &str = "[session]\nusername = \"t\"\ntimezone = \"UTC\"\nstart = \"10:00:00\"\nend = \"10:00:10\"\n\
                      [throttle]\nmax_orders_per_sec = 2\nburst = 1\n";

struct Files {
    _dir: tempfile::TempDir,
    config: String,
    scenario: String,
    journal: String,
}

fn files(scenario: &[u8]) -> Files {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).expect("write");
    let sc = dir.path().join("s.scenario");
    std::fs::write(&sc, scenario).expect("write");
    let journal = dir.path().join("out.journal");
    Files { config: p(&config).into(), scenario: p(&sc).into(), journal: p(&journal).into(), _dir: dir }
}

#[test]
fn help_lists_every_option() {
    let o = oms(&["replay", "--help"]);
    assert!(o.status.success());
    for needle in ["SCENARIO", "--config", "--journal", "--start", "--auto-response", "--overwrite"] {
        assert!(text(&o.stdout).contains(needle), "{needle}");
    }
}

#[test]
fn a_run_writes_a_journal_with_exact_latencies() {
    let f = files(b"@0 new id=1 sym=7 side=B px=100.5 qty=10\n@150 response id=1 accept\n");
    let o = oms(&[
        "replay",
        &f.scenario,
        "--config",
        &f.config,
        "--journal",
        &f.journal,
        "--start",
        "2026-11-23T10:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("1 sent"), "{}", text(&o.stdout));
    let o = oms(&["decode", "--format", "csv", &f.journal]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = text(&o.stdout);
    let response = csv.lines().skip(1).find(|l| l.contains(",response,")).expect("a response line");
    assert!(response.contains("2026-11-23T10:00:00.150000000Z"), "{response}");
    assert!(response.contains(",150000000,"), "{response}");
    assert!(oms(&["verify", &f.journal]).status.success());
}

#[test]
fn auto_response_answers_every_order() {
    let f = files(b"@0 new id=1 sym=7 side=B px=1 qty=1\n@0 new id=2 sym=7 side=S px=1 qty=1\n");
    let o = oms(&[
        "replay",
        &f.scenario,
        "--config",
        &f.config,
        "--journal",
        &f.journal,
        "--start",
        "2026-11-23T10:00:00Z",
        "--auto-response",
        "150:reject",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = text(&oms(&["decode", "--format", "csv", "--kind", "response", &f.journal]).stdout);
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines.iter().all(|l| l.contains(",reject,150000000,")), "{csv}");
}

/// `:fill` accepts and fills every order; cancels and replaces are carried out.
#[test]
fn auto_response_fills_and_carries_out_cancels_and_replaces() {
    let f = files(b"@0 new id=1 sym=7 side=B px=1.5 qty=3\n@0 new id=2 sym=7 side=S px=1 qty=1\n");
    let args = |auto: &'static str| {
        let f = &f;
        move || {
            oms(&[
                "replay",
                &f.scenario,
                "--config",
                &f.config,
                "--journal",
                &f.journal,
                "--start",
                "2026-11-23T10:00:00Z",
                "--auto-response",
                auto,
                "--overwrite",
            ])
        }
    };
    let o = args("150:fill")();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("2 fills"), "{}", text(&o.stdout));
    let csv = text(&oms(&["decode", "--format", "csv", "--kind", "filled", &f.journal]).stdout);
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].contains("T10:00:00.150000000Z,filled,1,7,B,1.5,3,"), "{csv}");
    assert!(oms(&["audit", "--virtual-time", &f.journal]).status.success());

    std::fs::write(
        &f.scenario,
        "@0 new id=1 sym=7 side=B px=1.5 qty=3\n@600 modify id=1 px=1.25 qty=4\n@1200 cancel id=1\n",
    )
    .expect("write");
    let o = args("150")();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("1 cancels and 1 replaces sent"), "{}", text(&o.stdout));
    let csv = text(&oms(&["decode", "--format", "csv", &f.journal]).stdout);
    for (kind, at) in [("replaced", "10:00:00.750000000"), ("venue_cancelled", "10:00:01.350000000")] {
        assert!(csv.lines().any(|l| l.contains(&format!("T{at}Z,{kind},1,"))), "{kind} at {at}:\n{csv}");
    }
    assert!(oms(&["audit", "--virtual-time", &f.journal]).status.success());
}

#[test]
fn malformed_scenario_exits_2_naming_file_and_line_and_writes_nothing() {
    let f = files(b"# fine\n@0 new id=1 sym=7 side=B px=1 qty=1\n@1 new id=2 sym=7 side=B px=1\n");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{}:3: new: missing qty", f.scenario)), "{err}");
    assert!(!Path::new(&f.journal).exists(), "nothing happens before the scenario is known good");

    let f = files(b"@0 new id=1 sym=7 side=B px=1 qty=1\n@1 fill id=1 qty=1\n");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{}:2: fill: missing px", f.scenario)), "{err}");
    assert!(!Path::new(&f.journal).exists());

    let f = files(b"@0 advance\n@1 advance \xff\n");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains(&format!("{}:2: not UTF-8", f.scenario)), "{}", text(&o.stderr));
}

#[test]
fn bad_config_start_auto_response_and_missing_files_exit_2() {
    let f = files(b"@0 advance\n");
    std::fs::write(&f.config, "[throttle]\nmax_orders_per_sec = 0\n").expect("write");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(&f.config) && err.contains("max_orders_per_sec"), "{err}");

    let f = files(b"@0 advance\n");
    for (flag, value) in [
        ("--start", "tomorrow"),
        ("--auto-response", "soon"),
        ("--auto-response", "5:maybe"),
        ("--auto-response", "5:filled"),
    ] {
        let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal, flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
    }
    let o = oms(&["replay", "/nonexistent.scenario", "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent.scenario"));
    let o = oms(&["replay", &f.scenario, "--config", "/nonexistent.toml", "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent.toml"));
}

#[test]
fn default_start_and_existing_journal() {
    let f = files(b"@0 new id=1 sym=7 side=B px=1 qty=1\n");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // Default start: today's window start, so the order is sent at 10:00:00 UTC.
    let csv = text(&oms(&["decode", "--format", "csv", "--kind", "sent", &f.journal]).stdout);
    assert!(csv.lines().nth(1).is_some_and(|l| l.contains("T10:00:00.000000000Z,sent,1,")), "{csv}");
    // The journal exists now: refused (exit 1, naming it) unless --overwrite.
    let before = std::fs::read(&f.journal).expect("journal");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{}: a journal already exists", f.journal)), "{err}");
    // The way out is the command line's, not the library's.
    assert!(err.contains("--overwrite") && !err.contains("WriterOptions"), "{err}");
    assert_eq!(
        std::fs::read(&f.journal).expect("journal"),
        before,
        "a refused replay leaves the journal alone"
    );
    // --overwrite replaces it: another scenario's records, not the old ones.
    std::fs::write(&f.scenario, "@0 new id=2 sym=8 side=S px=3 qty=4\n").expect("write");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal, "--overwrite"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = text(&oms(&["decode", "--format", "csv", &f.journal]).stdout);
    let orders: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(3).unwrap_or_default()).collect();
    assert_eq!(orders, ["", "2", "", "2"], "logon, sent 2, logout, unanswered 2:\n{csv}");
    assert!(oms(&["verify", &f.journal]).status.success());
}

/// A configuration whose text does not fit the journal header with room for records: a usage
/// error naming the configuration file and the key to change, before any journal file exists.
#[test]
fn a_segment_too_small_for_the_header_names_the_config_and_the_key() {
    let f = files(b"@0 new id=1 sym=7 side=B px=1 qty=1\n");
    let long_user = "u".repeat(70_000);
    let config = format!("{CONFIG}[journal]\nsegment_bytes = 65536\n")
        .replace("username = \"t\"", &format!("username = \"{long_user}\""));
    std::fs::write(&f.config, config).expect("write");
    let o = oms(&["replay", &f.scenario, "--config", &f.config, "--journal", &f.journal]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{}: [journal] segment_bytes", f.config)), "{err}");
    assert!(err.contains("raise segment_bytes"), "{err}");
    assert!(!Path::new(&f.journal).exists(), "no journal file is left behind");
}
