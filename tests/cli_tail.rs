//! `oms tail` in every format, on a live journal across segment roll-overs and on one already
//! closed: every record's line appears exactly once, in order, exactly as `oms decode` prints
//! it, and tail exits 0 once the journal is closed.

mod journal_common;

use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use journal_common::*;
use oms::EventSink;
use oms::journal::{JournalWriter, SyncPolicy};

const FORMATS: [&str; 3] = ["csv", "jsonl", "text"];
/// The longest any one wait may take.
const PATIENCE: Duration = Duration::from_secs(120);

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The sequence number a line of `format` shows.
fn seq_of(format: &str, line: &str) -> u64 {
    let parsed = match format {
        "csv" => line.split(',').next().and_then(|s| s.parse().ok()),
        "jsonl" => serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| v["seq"].as_u64()),
        _ => line.strip_prefix('#').and_then(|r| r.split(' ').next()).and_then(|s| s.parse().ok()),
    };
    parsed.unwrap_or_else(|| panic!("{format}: no sequence number in {line:?}"))
}

/// What `oms decode --format FORMAT` prints for the (closed) journal at `base`.
fn decoded(format: &str, base: &Path) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["decode", "--format", format, p(base)])
        .output()
        .expect("run oms decode");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8").lines().map(String::from).collect()
}

/// A running `oms tail` and its output, line by line.
struct Tail {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Tail {
    fn spawn(format: &str, base: &Path) -> Tail {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(["tail", "--format", format, p(base)])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run oms tail");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.expect("UTF-8 output")).is_err() {
                    break;
                }
            }
        });
        Tail { child, lines, seen: Vec::new() }
    }

    /// Collects lines until one shows `seq` (or the output ends, or the deadline passes).
    fn until_seq(&mut self, format: &str, seq: u64, deadline: Instant) {
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let is_it = !(format == "csv" && self.seen.is_empty()) && seq_of(format, &line) == seq;
                    self.seen.push(line);
                    if is_it {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{format}: no line for seq {seq} within {PATIENCE:?}")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("{format}: tail ended before seq {seq}"),
            }
        }
    }

    /// Waits for tail to exit 0 and collects the rest of its output.
    fn finish(mut self, format: &str, deadline: Instant) -> Vec<String> {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{format}: tail exited with {status}");
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{format}: tail did not exit after the journal was closed");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => return self.seen,
                Err(RecvTimeoutError::Timeout) => panic!("{format}: output not closed after tail exited"),
            }
        }
    }
}

/// Every record 1..=n once, in order (after the CSV header), and the same lines `decode` prints.
fn check_output(format: &str, base: &Path, lines: &[String], n: u64) {
    let body = if format == "csv" { &lines[1..] } else { lines };
    let seqs: Vec<u64> = body.iter().map(|l| seq_of(format, l)).collect();
    if seqs != (1..=n).collect::<Vec<_>>() {
        let dup = seqs.windows(2).find(|w| w[1] != w[0] + 1);
        panic!("{format}: {} lines for {n} records; first break in the sequence: {dup:?}", seqs.len());
    }
    assert!(lines == decoded(format, base), "{format}: tail's lines differ from decode's");
}

#[test]
fn tail_follows_a_live_journal_across_segments_every_line_once_in_order() {
    for format in FORMATS {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().join("oms.journal");
        let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
        let mut w = JournalWriter::create(&journal(&c), &meta(&c)).expect("create");
        let mut tail = Tail::spawn(format, &base);
        let deadline = Instant::now() + PATIENCE;
        let mut seq = 0u64;
        // A few records, then enough for two roll-overs; each batch shows up while the writer
        // is still open.
        for batch in [3u64, 2000] {
            for _ in 0..batch {
                if !w.takes_requests() {
                    w.prepare(0).expect("journal space");
                }
                seq += 1;
                w.record(&event(seq));
            }
            tail.until_seq(format, seq, deadline);
        }
        w.close().expect("close");
        let lines = tail.finish(format, deadline);
        check_output(format, &base, &lines, seq);
    }
}

#[test]
fn tail_of_a_closed_journal_prints_it_all_and_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("oms.journal");
    write_journal(&base, 2500, SMALL_SEGMENT, SyncPolicy::None);
    for format in FORMATS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(["tail", "--format", format, p(&base)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run oms tail");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).map(|_| s)
        });
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{format}: tail of a closed journal did not exit");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(status.success(), "{format}: {status}");
        let err = err_reader.join().expect("stderr reader").expect("UTF-8 stderr");
        assert!(
            err.contains("the writer closed the journal; 2500 records followed"),
            "{format}: tail says why it stopped: {err:?}"
        );
        let out = reader.join().expect("reader thread").expect("UTF-8 output");
        let lines: Vec<String> = out.lines().map(String::from).collect();
        check_output(format, &base, &lines, 2500);
    }
}
