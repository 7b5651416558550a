//! One journal, one verdict: the readers (`Journal`, `oms verify|decode|stats`), recovery
//! (`oms::recovery::read`), `JournalWriter::resume` and, on a closed journal, the follower
//! (`Follower`, `oms tail`) judge every journal by the same rules. A journal one of them
//! refuses, all refuse, with the same message; one that one accepts, all accept.
//!
//! Each case damages a fresh copy of a pristine journal: one left by a killed writer (records in
//! segments 0 and 1, segments prepared ahead and never used after them), or one closed cleanly
//! (35 records in one segment). Every judge runs with a deadline, so a judge that blocks (a FIFO
//! among the segments, a follower waiting on a closed journal) fails the case instead of hanging
//! the test.

mod journal_common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use journal_common::*;
use oms::journal::{
    Follower, Journal, JournalSettings, JournalWriter, Poll, SyncPolicy, WriterOptions, segment_path,
};

const CHILD_ENV: &str = "OMS_VERDICT_CHILD";
/// Slots of a 64 KiB segment after its 4096-byte header.
const CAP: u64 = 960;
/// Records of the killed writer's journal: segment 0 full, 540 in segment 1.
const KILLED_RECORDS: u64 = 1500;
/// Records of the closed journal (one segment).
const CLOSED_RECORDS: u64 = 35;
/// The longest a judge may take.
const PATIENCE: Duration = Duration::from_secs(30);

fn settings(base: &Path) -> JournalSettings {
    journal(&config(base, SMALL_SEGMENT, SyncPolicy::None))
}

/// Options with a small reserve, so that a writer maps a few segments ahead, not a hundred.
fn options() -> WriterOptions {
    WriterOptions { reserve_records: 64, ..WriterOptions::default() }
}

/// In the child: create a journal at `$OMS_VERDICT_CHILD` with three segments' worth of records
/// prepared, write [`KILLED_RECORDS`], and exit without closing the writer (as under SIGKILL: no
/// destructor runs, the segments prepared ahead stay, nothing is marked closed).
#[test]
fn verdict_child() {
    let Ok(base) = std::env::var(CHILD_ENV) else { return };
    let base = PathBuf::from(base);
    let c = config(&base, SMALL_SEGMENT, SyncPolicy::None);
    let mut s = settings(&base);
    s.prepare_records = Some((4 * CAP).try_into().expect("non-zero"));
    let mut w = JournalWriter::create_with(&s, &meta(&c), options()).expect("create");
    for seq in 1..=KILLED_RECORDS {
        if !oms::EventSink::takes_requests(&w) {
            w.prepare(0).expect("journal space");
        }
        oms::EventSink::record(&mut w, &event(seq));
    }
    std::process::exit(0);
}

/// The pristine journals, built once: (file name, bytes) of every file.
type Files = Vec<(String, Vec<u8>)>;

fn files_of(base: &Path) -> Files {
    journal_files(base)
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn killed_pristine() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "verdict_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &base)
            .output()
            .expect("run the child");
        assert!(out.status.success(), "child: {}", String::from_utf8_lossy(&out.stderr));
        let files = files_of(&base);
        assert!(
            files.len() >= 4,
            "segments prepared ahead: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        files
    })
}

fn closed_pristine() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("oms.journal");
        write_journal(&base, CLOSED_RECORDS, SMALL_SEGMENT, SyncPolicy::None);
        files_of(&base)
    })
}

/// A fresh copy of `files` in a new directory; its base path.
fn copy(files: &Files) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let base = dir.path().join("oms.journal");
    (dir, base)
}

/// What a judge said: `Ok` (sound), or the error's message.
type Verdict = Result<(), String>;

/// Runs `judge` on a thread; a judge that takes longer than [`PATIENCE`] is a verdict too.
fn within_deadline(what: &str, judge: impl FnOnce() -> Verdict + Send + 'static) -> Verdict {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(judge());
    });
    rx.recv_timeout(PATIENCE).unwrap_or_else(|_| Err(format!("{what} did not answer within {PATIENCE:?}")))
}

fn reader(base: &Path) -> Verdict {
    let j = Journal::open(base).map_err(|e| e.to_string())?;
    match j.verify().error {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

fn recovery(base: &Path) -> Verdict {
    let c = config(base, SMALL_SEGMENT, SyncPolicy::None);
    let valid = c.validate().expect("valid config");
    match oms::recovery::read(base, &valid) {
        Ok(_) => Ok(()),
        Err(oms::recovery::RecoveryError::Journal(e)) => Err(e.to_string()),
        Err(other) => panic!("{}: not a judgement of the journal: {other}", base.display()),
    }
}

fn resume(base: &Path) -> Verdict {
    let w = JournalWriter::resume(&settings(base), options()).map_err(|e| e.to_string())?;
    w.close().map(|_| ()).map_err(|e| e.to_string())
}

/// The follower's verdict on a closed journal: it must end (`Closed`) or fail; `Pending` on a
/// closed journal would make `oms tail` wait for ever.
fn follower(base: &Path) -> Verdict {
    let mut f = Follower::open(base).map_err(|e| e.to_string())?;
    let mut pending_since = None;
    loop {
        match f.poll().map_err(|e| e.to_string())? {
            Poll::Record(_) => pending_since = None,
            Poll::Closed => return Ok(()),
            Poll::Pending => {
                let since = *pending_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    return Err("the follower waits for records on a closed journal".into());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// `oms ARGS… base`: exit code and standard error, killed after [`PATIENCE`] (code `None`).
fn oms_cli(args: &[&str], base: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(args)
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oms");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status.and_then(|s| s.code()), err)
}

/// Every judge's verdict on the journal at `base` must be `expected` (`Ok`, or an error whose
/// message contains the text); the library judges must give the same message, and the `oms`
/// subcommands must exit 1 printing it (0 when sound). `closed`: the follower and `oms tail`
/// judge too. Resume runs last (it writes into the journal). Returns what disagrees, if anything.
fn judge(case: &str, base: &Path, closed: bool, expected: Result<(), &str>) -> Option<String> {
    let mut verdicts: Vec<(&str, Verdict)> = Vec::new();
    let b = base.to_path_buf();
    verdicts.push(("reader", within_deadline("the reader", move || reader(&b))));
    let b = base.to_path_buf();
    verdicts.push(("recovery", within_deadline("recovery", move || recovery(&b))));
    if closed {
        let b = base.to_path_buf();
        verdicts.push(("follower", within_deadline("the follower", move || follower(&b))));
    }
    let mut subcommands = vec![&["verify"][..], &["decode"], &["stats"]];
    if closed {
        subcommands.push(&["tail"]);
    }
    let mut cli = Vec::new();
    for args in subcommands {
        cli.push((args[0], oms_cli(args, base)));
    }
    let b = base.to_path_buf();
    verdicts.push(("resume", within_deadline("resume", move || resume(&b))));

    let first = &verdicts[0].1;
    let mut agree = verdicts.iter().all(|(_, v)| v == first);
    agree &= match expected {
        Ok(()) => first.is_ok(),
        Err(text) => first.as_ref().is_err_and(|msg| msg.contains(text)),
    };
    agree &= cli.iter().all(|(_, (code, err))| match first {
        Ok(()) => *code == Some(0),
        Err(msg) => *code == Some(1) && err.contains(msg.as_str()),
    });
    if agree {
        return None;
    }
    let mut s = format!("case {case:?} (expected {expected:?}):\n");
    for (who, v) in &verdicts {
        s += &format!("  {who}: {v:?}\n");
    }
    for (who, (code, err)) in &cli {
        s += &format!("  oms {who}: exit {code:?}: {}\n", err.trim_end());
    }
    Some(s)
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

fn xor_at(path: &Path, offset: u64, x: u8) {
    let f = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    f.write_all_at(&[b[0] ^ x], offset).unwrap();
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

/// The last segment file of the journal (one prepared ahead and never used).
fn last_segment(base: &Path) -> PathBuf {
    let n = journal_files(base).len() as u32;
    segment_path(base, n - 1)
}

/// Offset of the slot of sequence number `seq` in its 64 KiB segment.
fn slot_offset(seq: u64) -> u64 {
    4096 + (seq - 1) % CAP * 64
}

type Damage = fn(&Path);

/// Damage to the killed writer's journal, and the verdict every judge must reach.
fn killed_cases() -> Vec<(&'static str, Damage, Result<(), &'static str>)> {
    vec![
        ("pristine", |_| {}, Ok(())),
        (
            "a torn tail",
            |b| write_at(&segment_path(b, 1), slot_offset(KILLED_RECORDS + 1) + 8, &[9; 56]),
            Ok(()),
        ),
        (
            "a leftover .tmp file",
            |b| std::fs::write(b.with_file_name("oms.journal.000009.tmp"), b"x").unwrap(),
            Ok(()),
        ),
        (
            "a prepared segment truncated to 8192 bytes",
            |b| truncate(&last_segment(b), 8192),
            Err("offset 8192: truncated: the file is 8192 bytes, its header says 65536"),
        ),
        (
            "a prepared segment truncated to its header",
            |b| truncate(&last_segment(b), 4096),
            Err("truncated: the file is 4096 bytes"),
        ),
        (
            "a prepared segment truncated inside a slot",
            |b| truncate(&last_segment(b), 4096 + 100),
            Err("truncated: the file is 4196 bytes"),
        ),
        ("an empty prepared segment", |b| truncate(&last_segment(b), 0), Err("empty file (0 bytes)")),
        (
            "the segment being written truncated after its end",
            |b| truncate(&segment_path(b, 1), slot_offset(KILLED_RECORDS + 10)),
            Err("truncated"),
        ),
        (
            "a prepared segment whose header says another index",
            |b| rewrite_header(&last_segment(b), |h| h.segment_index += 4),
            Err("offset 24: header says segment"),
        ),
        (
            "a base file whose header says segment 5",
            |b| rewrite_header(b, |h| h.segment_index = 5),
            Err("offset 24: header says segment 5"),
        ),
        (
            "a base file that does not start at sequence number 1",
            |b| rewrite_header(b, |h| h.first_seq = 2),
            Err("offset 32: segment starts at seq 2, expected 1"),
        ),
        (
            "a prepared segment out of sequence",
            |b| rewrite_header(&last_segment(b), |h| h.first_seq += 1),
            Err("offset 32: segment starts at seq"),
        ),
        (
            "a prepared segment of another journal",
            |b| rewrite_header(&last_segment(b), |h| h.journal_id ^= 1),
            Err("offset 40: belongs to another journal"),
        ),
        (
            "a prepared segment's header checksum",
            |b| xor_at(&last_segment(b), 50, 1),
            Err("offset 88: header checksum mismatch"),
        ),
        ("the base file's header padding", |b| xor_at(b, 4000, 0x20), Err("offset 4000")),
        ("a prepared segment's header padding", |b| xor_at(&last_segment(b), 4095, 1), Err("offset 4095")),
        ("the reserved bytes after the header checksum", |b| xor_at(b, 93, 1), Err("offset 93")),
        (
            "the reserved bytes after the live flags",
            |b| xor_at(&last_segment(b), 120, 0x80),
            Err("offset 120"),
        ),
        ("a closed flag that is neither 0 nor 1", |b| write_at(b, 104, &[0x81]), Err("offset 104")),
        (
            "a closed mark on a segment that records follow",
            |b| write_at(b, 104, &[1]),
            Err("offset 104: marked closed (the writer's last segment), but record seq 961 follows"),
        ),
        (
            "a sync_failed flag that is neither 0 nor 1",
            |b| write_at(&last_segment(b), 108, &[0, 1]),
            Err("offset 108"),
        ),
        (
            "data after the end in the segment being written",
            |b| xor_at(&segment_path(b, 1), slot_offset(KILLED_RECORDS + 3) + 9, 7),
            Err("data follows at offset"),
        ),
        (
            "data in a prepared segment",
            |b| xor_at(&last_segment(b), 4096 + 64 * 10 + 5, 1),
            Err("data after the end of the journal"),
        ),
        (
            "a prepared segment missing before the last",
            |b| std::fs::remove_file(segment_path(b, 2)).unwrap(),
            Err("segment 2 is missing"),
        ),
        (
            "a directory in place of a prepared segment",
            |b| {
                let last = last_segment(b);
                std::fs::remove_file(&last).unwrap();
                std::fs::create_dir(&last).unwrap();
            },
            Err("is a directory, not a regular file"),
        ),
        (
            "a FIFO in place of a prepared segment",
            |b| {
                let last = last_segment(b);
                std::fs::remove_file(&last).unwrap();
                mkfifo(&last);
            },
            Err("is a named pipe (FIFO), not a regular file"),
        ),
        (
            "a damaged record",
            |b| xor_at(&segment_path(b, 1), slot_offset(1200) + 20, 0x10),
            Err("checksum mismatch in record seq 1200"),
        ),
    ]
}

/// Damage to the closed journal, and the verdict every judge (the follower and `oms tail`
/// too) must reach.
fn closed_cases() -> Vec<(&'static str, Damage, Result<(), &'static str>)> {
    vec![
        ("pristine", |_| {}, Ok(())),
        ("a torn tail", |b| write_at(b, slot_offset(CLOSED_RECORDS + 1) + 8, &[9; 56]), Ok(())),
        (
            "garbage in the slot after the end's",
            |b| xor_at(b, 6407, 0x40),
            Err("record seq 36 is missing (slot empty) but data follows at offset 6400"),
        ),
        ("garbage at the end of the segment", |b| xor_at(b, 65535, 1), Err("data follows at offset 65472")),
        ("the header's padding", |b| xor_at(b, 4000, 1), Err("offset 4000")),
        ("a closed flag of 0x81", |b| write_at(b, 104, &[0x81]), Err("offset 104")),
        (
            "a segment after the end",
            |b| {
                let mut bytes = std::fs::read(b).unwrap();
                bytes[4096..].fill(0);
                std::fs::write(segment_path(b, 1), &bytes).unwrap();
                rewrite_header(&segment_path(b, 1), |h| {
                    h.segment_index = 1;
                    h.first_seq = 1 + CAP;
                    h.closed = false;
                });
                xor_at(&segment_path(b, 1), 4096 + 64 * 3, 1);
            },
            Err("data after the end of the journal"),
        ),
        (
            "a truncated segment after the end",
            |b| {
                let mut bytes = std::fs::read(b).unwrap();
                bytes[4096..].fill(0);
                std::fs::write(segment_path(b, 1), &bytes[..8192]).unwrap();
                rewrite_header(&segment_path(b, 1), |h| {
                    h.segment_index = 1;
                    h.first_seq = 1 + CAP;
                    h.closed = false;
                });
            },
            Err("truncated: the file is 8192 bytes"),
        ),
    ]
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; no memory is kept.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo {}: {}", path.display(), std::io::Error::last_os_error());
}

#[test]
fn a_killed_writers_journal_gets_one_verdict_from_every_judge() {
    let mut disagreements = Vec::new();
    for (case, damage, expected) in killed_cases() {
        let (_dir, base) = copy(killed_pristine());
        damage(&base);
        disagreements.extend(judge(case, &base, false, expected));
    }
    assert!(disagreements.is_empty(), "{}", disagreements.concat());
}

#[test]
fn a_closed_journal_gets_one_verdict_from_every_judge() {
    let mut disagreements = Vec::new();
    for (case, damage, expected) in closed_cases() {
        let (_dir, base) = copy(closed_pristine());
        damage(&base);
        disagreements.extend(judge(case, &base, true, expected));
    }
    assert!(disagreements.is_empty(), "{}", disagreements.concat());
}
