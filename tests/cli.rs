//! The `oms` binary: decode formats and filters, stats, verify exit codes and messages, foreign
//! and empty files, `--help` everywhere. (`tail`: `cli_tail.rs`; several paths and a closed
//! pipe: `cli_paths.rs`.)

mod journal_common;

use std::path::Path;
use std::process::{Command, Output};

use journal_common::*;
use oms::journal::SyncPolicy;
use oms::journal::segment_path;
use oms::{EventKind, RejectReason};

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        &["--help"][..],
        &["decode", "--help"],
        &["stats", "--help"],
        &["verify", "--help"],
        &["tail", "--help"],
    ] {
        let o = oms(args);
        assert!(o.status.success(), "{args:?}");
        assert!(text(&o.stdout).contains("Usage: oms"), "{args:?}: {}", text(&o.stdout));
    }
    let o = oms(&["decode", "--help"]);
    for needle in ["--format", "--kind", "--order", "jsonl"] {
        assert!(text(&o.stdout).contains(needle), "{needle}");
    }
    assert!(text(&oms(&["stats", "--help"]).stdout).contains("--hgrm"));
    assert_eq!(oms(&["decode"]).status.code(), Some(2), "PATH is required");
}

#[test]
fn csv_header_and_exact_lines() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 20, SMALL_SEGMENT, SyncPolicy::None);
    let o = oms(&["decode", "--format", "csv", p(&base)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "seq,time,kind,order_id,symbol,side,price,qty,response,latency_ns,reason,producer,detail"
    );
    assert_eq!(lines.len(), 21);
    assert_eq!(lines[3], "3,2024-01-02T04:30:00.000003000Z,sent,1001,3,S,100.75,4,,503,,0,");
    assert_eq!(lines[5], "5,2024-01-02T04:30:00.000005000Z,response,1001,5,S,101.25,6,accept,139595,,2,");
    assert_eq!(lines[7], "7,2024-01-02T04:30:00.000007000Z,rejected,1002,0,S,101.75,8,,,outside_window,1,");
    assert_eq!(lines[10], "10,2024-01-02T04:30:00.000010000Z,logon,,,,,,,,,,");
    // Text: session time zone (Asia/Kolkata), latency in µs.
    let o = oms(&["decode", p(&base)]);
    let out = text(&o.stdout);
    let line5 = out.lines().nth(4).unwrap();
    assert_eq!(
        line5,
        "#5 2024-01-02 10:00:00.000005000+05:30 response order=1001 sym=5 S 6@101.25 accept latency=139.595µs p=2"
    );
}

#[test]
fn jsonl_parses_with_the_csv_names() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 50, SMALL_SEGMENT, SyncPolicy::None);
    let o = oms(&["decode", "--format", "jsonl", p(&base)]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    let keys = [
        "seq",
        "time",
        "kind",
        "order_id",
        "symbol",
        "side",
        "price",
        "qty",
        "response",
        "latency_ns",
        "reason",
        "producer",
        "detail",
    ];
    let mut n = 0;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), keys.len());
        for k in keys {
            assert!(obj.contains_key(k), "{k} in {line}");
        }
        n += 1;
        assert_eq!(obj["seq"], n);
    }
    assert_eq!(n, 50);
    let v: serde_json::Value = serde_json::from_str(out.lines().nth(4).unwrap()).unwrap();
    assert_eq!(v["kind"], "response");
    assert_eq!(v["response"], "accept");
    assert_eq!(v["side"], "S");
    assert_eq!(v["price"], 101.25);
    assert_eq!(v["latency_ns"], 139595);
    assert_eq!(v["reason"], serde_json::Value::Null);
    assert_eq!(v["time"], "2024-01-02T04:30:00.000005000Z");
}

#[test]
fn kind_order_and_producer_filters() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let events = write_journal(&base, 3000, SMALL_SEGMENT, SyncPolicy::None);
    let o = oms(&["decode", "--format", "csv", "--kind", "sent", "--kind", "rejected", p(&base)]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    let want = events.iter().filter(|e| matches!(e.kind, EventKind::Sent | EventKind::Rejected)).count();
    assert_eq!(out.lines().count(), want + 1);
    assert!(out.lines().skip(1).all(|l| l.contains(",sent,") || l.contains(",rejected,")));
    let o = oms(&["decode", "--format", "csv", "--order", "1001", p(&base)]);
    let out = text(&o.stdout);
    let seqs: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(seqs, ["3", "4", "5"]);
    // Producer 1's events, exactly: every line, in order, and nothing else.
    let o = oms(&["decode", "--format", "csv", "--producer", "1", p(&base)]);
    let got: Vec<u64> =
        text(&o.stdout).lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    let want: Vec<u64> = events.iter().filter(|e| e.producer == 1).map(|e| e.seq).collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let o = oms(&["decode", "--kind", "bogus", p(&base)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unmatched_response"), "{}", text(&o.stderr));
    // Base path plus one of its segments: no duplicates.
    let o = oms(&["decode", "--format", "csv", p(&base), p(&segment_path(&base, 1))]);
    assert_eq!(text(&o.stdout).lines().count(), 3001);
}

#[test]
fn stats_counts_and_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let events = write_journal(&base, 5000, SMALL_SEGMENT, SyncPolicy::None);
    let hgrm = dir.path().join("lat.hgrm");
    let o = oms(&["stats", p(&base), "--hgrm", p(&hgrm)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("records: 5000"), "{out}");
    for k in EventKind::ALL {
        let n = events.iter().filter(|e| e.kind == k).count();
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(k.name())).unwrap();
        assert_eq!(line.split_whitespace().nth(1).unwrap(), n.to_string(), "{line}");
    }
    let outside = events
        .iter()
        .filter(|e| e.reason == Some(RejectReason::OutsideWindow) && e.kind == EventKind::Rejected)
        .count();
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["outside_window", &outside.to_string()])
    );
    // Expected percentiles computed independently of hdrhistogram: sort the latencies and take
    // the nearest rank (the smallest value with at least q% of all values at or below it). The
    // CLI reports hdrhistogram's value, the highest value of the 3-significant-digit bucket that
    // holds the exact one: at least the exact value and less than 1/1000 above it.
    let mut lat: Vec<u64> =
        events.iter().filter(|e| e.kind == EventKind::Response).map(|e| e.latency_ns).collect();
    lat.sort_unstable();
    let n = lat.len() as u64;
    assert!(n >= 1000, "{n} responses");
    let within = |exact: u64, got: u64| exact <= got && got <= exact + exact / 1000;
    // (name, q in thousandths of a percent)
    for (name, q) in
        [("p50", 50_000u64), ("p90", 90_000), ("p99", 99_000), ("p99.9", 99_900), ("p99.99", 99_990)]
    {
        let rank = (q * n).div_ceil(100_000).max(1);
        let exact = lat[rank as usize - 1];
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ns: u64 = fields[fields.len() - 2].parse().unwrap();
        assert!(within(exact, ns), "{name}: exact nearest-rank value {exact} ns, reported {ns} ns: {line}");
        let us: f64 = fields[1].parse().unwrap();
        assert!((us * 1000.0 - ns as f64).abs() < 1.0, "{line}");
    }
    let max = *lat.last().unwrap();
    let line = out.lines().find(|l| l.split_whitespace().next() == Some("max")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ns: u64 = fields[fields.len() - 2].parse().unwrap();
    assert!(within(max, ns), "max {max} ns, reported {ns} ns: {line}");
    assert!(out.contains(&format!("response latency ({n} responses):")), "{out}");
    let hg = std::fs::read_to_string(&hgrm).unwrap();
    assert!(hg.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"), "{hg}");
    assert!(hg.contains("#[Max     ="), "{hg}");
    assert!(hg.contains(&format!("Total count    = {n:>12}]")), "{hg}");
}

#[test]
fn verify_exit_codes_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 2500, SMALL_SEGMENT, SyncPolicy::None);
    let o = oms(&["verify", p(&base)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains(": ok: 2500 records, seq 1..2500 in 3 segment(s), closed cleanly"), "{out}");
    assert!(out.contains("last good record: seq 2500"), "{out}");

    // Flip one byte of record 1000 (segment 1, slot 39).
    let seg1 = segment_path(&base, 1);
    let mut bytes = std::fs::read(&seg1).unwrap();
    let at = 4096 + 39 * 64 + 20;
    bytes[at] ^= 1;
    std::fs::write(&seg1, &bytes).unwrap();
    let o = oms(&["verify", p(&base)]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("oms.journal.000001: offset 6592: checksum mismatch in record seq 1000"), "{err}");
    assert!(text(&o.stdout).contains("last good record: seq 999"), "{}", text(&o.stdout));
    // decode prints what precedes and fails the same way.
    let o = oms(&["decode", "--format", "csv", p(&base)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout).lines().count(), 1000);

    // A missing middle segment.
    std::fs::remove_file(&seg1).unwrap();
    let o = oms(&["verify", p(&base)]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("oms.journal.000001: segment 1 is missing"), "{err}");
}

#[test]
fn foreign_and_empty_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "hello, this is not a journal\n".repeat(200)).unwrap();
    let empty = dir.path().join("empty.journal");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("nope.journal");
    for cmd in ["decode", "stats", "verify", "tail"] {
        let o = oms(&[cmd, p(&foreign)]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let e = text(&o.stderr);
        assert!(e.contains("notes.txt") && e.contains("not an oms journal"), "{cmd}: {e}");
        let o = oms(&[cmd, p(&empty)]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert!(
            text(&o.stderr).contains("empty.journal: offset 0: empty file"),
            "{cmd}: {}",
            text(&o.stderr)
        );
        let o = oms(&[cmd, p(&missing)]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert!(text(&o.stderr).contains("nope.journal: cannot open"), "{cmd}: {}", text(&o.stderr));
    }
}

/// Anything that is not a regular file is refused at once, with a message naming the path and
/// what it is: a FIFO (opening it for reading would wait for a writer), a character device (it
/// has no length: `/dev/zero` once read as an empty file), a directory. `oms audit` and
/// `oms run` open journals with the same reader.
#[test]
fn readers_refuse_what_is_not_a_regular_file_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; no memory is kept.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let subdir = dir.path().join("d.journal");
    std::fs::create_dir(&subdir).unwrap();
    let config = dir.path().join("oms.toml");
    std::fs::write(&config, "[session]\nusername = \"u\"\npassword = \"p\"\n").unwrap();
    let cases = [
        (p(&fifo), "is a named pipe (FIFO), not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
        (p(&subdir), "is a directory, not a regular file"),
    ];
    for (path, what) in cases {
        let commands: [&[&str]; 6] = [
            &["verify", path],
            &["decode", path],
            &["stats", path],
            &["tail", path],
            &["audit", path, "--config", p(&config)],
            &["run", "--config", p(&config), "--journal", path],
        ];
        for args in commands {
            let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("oms {args:?} blocks");
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let o = child.wait_with_output().unwrap();
            let err = text(&o.stderr);
            assert!(matches!(o.status.code(), Some(1 | 2)), "oms {args:?}: {:?}: {err}", o.status);
            // `oms run` says what it was doing between the path and the problem.
            let named = err.contains(&format!("{path}: {what}"))
                || (args[0] == "run"
                    && err.contains(&format!("{path}: cannot recover from the journal: {what}")));
            assert!(named, "oms {args:?}: {err}");
        }
    }
}

/// Nothing could be read: no table, no CSV header, only the error naming the file.
#[test]
fn stats_and_decode_of_a_missing_file_print_only_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.journal");
    for args in
        [&["stats"][..], &["decode", "--format", "csv"], &["decode", "--format", "jsonl"], &["decode"]]
    {
        let mut a = args.to_vec();
        a.push(p(&missing));
        let o = oms(&a);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&o.stdout), "", "{args:?}: output for a journal that could not be read");
        let err = text(&o.stderr);
        assert!(err.contains("nope.journal: cannot open"), "{args:?}: {err}");
    }
}

/// A truncated journal the writer had closed is damaged, not "closed cleanly".
#[test]
fn verify_of_a_truncated_journal_does_not_call_it_closed_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    write_journal(&base, 100, SMALL_SEGMENT, SyncPolicy::None);
    let bytes = std::fs::read(&base).unwrap();
    std::fs::write(&base, &bytes[..4096 + 50 * 64]).unwrap();
    let o = oms(&["verify", p(&base)]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(err.contains("oms.journal: offset 7296: truncated"), "{err}");
    assert!(out.contains(": CORRUPT: 50 records"), "{out}");
    assert!(!out.contains("closed cleanly"), "{out}");
    assert!(out.contains("closed by its writer, damaged since"), "{out}");
}

/// A journal whose stored configuration this build cannot use: `oms audit` names the journal
/// and says how to audit it anyway.
#[test]
fn audit_of_an_unusable_stored_configuration_says_to_pass_config() {
    use oms::journal::{JournalMeta, JournalWriter, WriterOptions};
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("oms.journal");
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let (clock, _mock) = oms::EngineClock::manual(T0);
    let stored = "[session]\ntimezone = \"Mars/Olympus\"\n";
    let meta = JournalMeta::new(&clock, "UTC", stored);
    let w = JournalWriter::create_with(&journal(&c), &meta, WriterOptions::default()).unwrap();
    w.close().unwrap();
    let o = oms(&["audit", p(&base)]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("oms.journal: the configuration stored in the journal header"), "{err}");
    assert!(err.contains("Mars/Olympus") && err.contains("pass --config FILE"), "{err}");
}

/// `oms stats` of an order's whole life (the golden lifecycle scenario, replayed on the virtual
/// clock): the fill ratio counts partial and completing fills, and the cancel and replace
/// latencies (request sent to its answer) have their own percentiles.
#[test]
fn stats_of_fills_cancels_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let journal = dir.path().join("j");
    let o = oms(&[
        "replay",
        "--config",
        p(&golden.join("bucket.toml")),
        "--start",
        "2026-11-23T09:59:59Z",
        "--journal",
        p(&journal),
        p(&golden.join("lifecycle.scenario")),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = oms(&["stats", p(&journal)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "fill ratio: 0.4667 (28 filled of 60 sent, 5 fills: 2 partial, 3 completing an order)",
        "cancel latency (1 cancels):",
        "replace latency (1 replaces):",
    ] {
        assert!(out.lines().any(|l| l == line), "no line {line:?} in:\n{out}");
    }
    // The scripted answers come 100 ms after the cancel and 200 ms after the replace was sent.
    let p50 = |section: &str| {
        let mut lines = out.lines().skip_while(|l| !l.starts_with(section));
        lines.nth(1).and_then(|l| l.split_whitespace().nth(1)).map(str::to_owned)
    };
    assert_eq!(p50("cancel latency").as_deref(), Some("100007.935"), "{out}");
    assert_eq!(p50("replace latency").as_deref(), Some("200015.871"), "{out}");
}
