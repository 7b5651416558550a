//! The `oms` commands over several journals at once, and writing into a pipe whose reader has
//! gone (`oms decode … | head`).

mod journal_common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use journal_common::*;
use oms::journal::{SyncPolicy, segment_path};
use oms::{EventKind, EventRecord};

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The count `oms stats` prints for `name` (a kind or a reason).
fn count(out: &str, name: &str) -> u64 {
    let line =
        out.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name}"));
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn stats_verify_and_decode_take_several_journals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a.journal"), dir.path().join("b.journal"));
    let ea = write_journal(&a, 1200, SMALL_SEGMENT, SyncPolicy::None);
    let eb = write_journal(&b, 700, SMALL_SEGMENT, SyncPolicy::None);
    let both: Vec<&EventRecord> = ea.iter().chain(&eb).collect();

    let o = oms(&["stats", p(&a), p(&b)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("records: 1900\n"), "{out}");
    for k in EventKind::ALL {
        let want = both.iter().filter(|e| e.kind == k).count() as u64;
        assert_eq!(count(&out, k.name()), want, "{}: {out}", k.name());
    }
    let responses = both.iter().filter(|e| e.kind == EventKind::Response).count();
    assert!(out.contains(&format!("response latency ({responses} responses):")), "{out}");
    // The same journal twice (base path and one of its segments) counts once.
    let o = oms(&["stats", p(&a), p(&segment_path(&a, 1)), p(&b)]);
    assert!(text(&o.stdout).contains("records: 1900\n"), "{}", text(&o.stdout));

    let o = oms(&["verify", p(&a), p(&b)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let verdicts: Vec<&str> = out.lines().filter(|l| l.contains(": ok: ")).collect();
    assert_eq!(verdicts.len(), 2, "{out}");
    assert!(
        verdicts[0].starts_with(p(&a)) && verdicts[0].contains("ok: 1200 records, seq 1..1200 in 2 segment")
    );
    assert!(
        verdicts[1].starts_with(p(&b)) && verdicts[1].contains("ok: 700 records, seq 1..700 in 1 segment")
    );

    let o = oms(&["decode", "--format", "csv", p(&a), p(&b)]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    let seqs: Vec<u64> =
        out.lines().skip(1).map(|l| l.split(',').next().and_then(|s| s.parse().ok()).expect("seq")).collect();
    let want: Vec<u64> = (1..=1200).chain(1..=700).collect();
    assert!(seqs == want, "decode prints a's records, then b's, once each ({} lines)", seqs.len());
    assert_eq!(out.lines().filter(|l| l.starts_with("seq,")).count(), 1, "one CSV header");
}

#[test]
fn one_bad_journal_among_several_fails_the_run_but_the_others_are_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (good, bad) = (dir.path().join("good.journal"), dir.path().join("bad.journal"));
    let missing = dir.path().join("missing.journal");
    write_journal(&good, 300, SMALL_SEGMENT, SyncPolicy::None);
    write_journal(&bad, 300, SMALL_SEGMENT, SyncPolicy::None);
    // Flip a byte of record 100 (slot 99, after the 4096-byte header).
    let mut bytes = std::fs::read(&bad).expect("read");
    bytes[4096 + 99 * 64 + 20] ^= 1;
    std::fs::write(&bad, &bytes).expect("write");

    let o = oms(&["verify", p(&good), p(&bad), p(&missing)]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(out.contains(&format!("{}: ok: 300 records", p(&good))), "{out}");
    assert!(out.contains(&format!("{}: CORRUPT", p(&bad))), "{out}");
    assert!(
        err.contains("bad.journal: offset") && err.contains("checksum mismatch in record seq 100"),
        "{err}"
    );
    assert!(err.contains("missing.journal: cannot open"), "{err}");

    let o = oms(&["stats", p(&good), p(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    // Everything before the damage still counts: 300 + 99 records.
    assert!(text(&o.stdout).contains("records: 399\n"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("bad.journal"), "{}", text(&o.stderr));
}

/// Runs `oms ARGS` with its stdout into a pipe, reads one line, closes the pipe, and returns
/// the exit status and stderr.
fn read_one_line_then_close(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oms");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut first).expect("a line");
    // The reader (and with it the pipe's only read end) is gone now.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oms {args:?} kept running after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status, first, err_reader.join().expect("stderr reader"))
}

#[test]
fn a_closed_pipe_ends_decode_and_tail_quietly_with_exit_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("big.journal");
    // ~4 MB of CSV: far more than a pipe (64 KiB) and the CLI's output buffer (1 MiB) hold, so
    // the writes must meet the closed pipe.
    write_journal(&base, 60_000, 4 << 20, SyncPolicy::None);
    for args in [
        ["decode", "--format", "csv"],
        ["decode", "--format", "jsonl"],
        ["decode", "--format", "text"],
        ["tail", "--format", "csv"],
    ] {
        let mut args = args.to_vec();
        args.push(p(&base));
        let (status, first, err) = read_one_line_then_close(&args);
        assert!(!first.is_empty(), "{args:?}: no first line");
        assert!(status.success(), "{args:?}: {status}, stderr: {err}");
        assert!(err.is_empty(), "{args:?}: a closed pipe is not an error: {err}");
    }
}
