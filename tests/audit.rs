//! `oms audit`: exit 0 on journals of a correct engine (a replay, a manual-clock engine with a
//! journal, a threaded engine on the TSC with the simulated exchange), exit 1 naming the rule
//! on journals tampered so that each rule breaks — every tampered journal has valid checksums,
//! so `oms verify` passes it — and exit 2 when the journal or the configuration cannot be used.
//! (Every golden journal is audited by `tests/replay_golden.rs`, journals of a running engine by
//! `tests/audit_live.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oms::journal::{Journal, JournalMeta, JournalSettings, JournalWriter, SyncPolicy, WriterOptions};
use oms::{EventKind as K, EventRecord};

const MS: u64 = 1_000_000;

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// 2/s, burst 1; a 10 s window at 10:00 UTC.
const CONFIG: &str = r#"
[session]
username = "trader"
password = "audit-secret"
timezone = "UTC"
start = "10:00:00"
end = "10:00:10"
[throttle]
max_orders_per_sec = 2
burst = 1
[engine]
ring_capacity = 1024
max_queued_orders = 8
max_in_flight = 1024
[journal]
segment_bytes = 65536
"#;

/// From 09:59:59 (@1000 is the window start). Every rule has something to check, and every
/// order ends (filled, cancelled, rejected) before the run does.
const SCENARIO: &str = "\
@500   new id=1 sym=1 side=B px=10 qty=5   # outside_window
@1000  new id=2 sym=1 side=B px=10 qty=5   # logon, sent at once
@1000  new id=3 sym=1 side=S px=10 qty=5   # queued, sent @1500
@1000  new id=4 sym=1 side=B px=10 qty=5   # queued, modified, sent @2000 as 7 @ 11
@1000  new id=5 sym=1 side=B px=10 qty=5   # queued, cancelled
@1100  modify id=4 px=11 qty=7
@1200  cancel id=5
@1300  response id=2 accept                # latency 300 ms
@1400  fill id=2 qty=2 px=10               # partially filled
@2050  response id=3 accept
@2100  response id=4 reject
@2600  cancel id=3                         # a cancel of a working order, sent at once
@2700  cancelled id=3                      # its round trip: 100 ms
@3100  modify id=2 px=10 qty=8             # a replace, sent at once
@3250  replaced id=2                       # its round trip: 150 ms
@3300  fill id=2 qty=6 px=10               # filled: 8
@10000 new id=6 sym=1 side=B px=10 qty=5   # sent at once
@10000 new id=7 sym=1 side=B px=10 qty=5   # queued, sent @10500
@10000 new id=8 sym=1 side=B px=10 qty=5   # queued at the logout @11000: session_ended
@10000 new id=9 sym=1 side=S px=10 qty=5   # session_ended
@10200 response id=6 reject
@10700 response id=7 reject
@12000 new id=10 sym=1 side=B px=10 qty=5  # outside_window; nothing is left for the shutdown
";

/// Replays the scenario into `dir/good.journal`.
fn good_journal(dir: &Path) -> PathBuf {
    let (config, scenario, journal) =
        (dir.join("audit.toml"), dir.join("audit.scenario"), dir.join("good.journal"));
    std::fs::write(&config, CONFIG).expect("write config");
    std::fs::write(&scenario, SCENARIO).expect("write scenario");
    let o = oms(&[
        "replay",
        p(&scenario),
        "--config",
        p(&config),
        "--journal",
        p(&journal),
        "--start",
        "2026-11-23T09:59:59Z",
    ]);
    assert!(o.status.success(), "replay: {}", text(&o.stderr));
    journal
}

fn read(path: &Path) -> (JournalMeta, u64, Vec<EventRecord>) {
    let j = Journal::open(path).expect("journal opens");
    let records = j.records().collect::<Result<Vec<_>, _>>().expect("every record valid");
    (j.header().meta.clone(), j.header().segment_bytes, records)
}

/// Writes `records` into a fresh journal with the header of `like` (the writer numbers them).
fn write_like(like: &Path, path: &Path, records: &[EventRecord]) {
    let (meta, segment_bytes, _) = read(like);
    let cfg = JournalSettings {
        path: path.to_path_buf(),
        sync: SyncPolicy::None,
        segment_bytes,
        prepare_records: None,
    };
    let mut w = JournalWriter::create_with(&cfg, &meta, WriterOptions::default()).expect("create journal");
    for r in records {
        w.append(r);
    }
    w.close().expect("close journal");
}

/// Runs `oms audit PATH [extra]`: exit code, stdout, and the names of the broken rules.
fn audit(path: &Path, extra: &[&str]) -> (i32, String, Vec<String>) {
    let mut args = vec!["audit", p(path)];
    args.extend(extra);
    let o = oms(&args);
    let out = text(&o.stdout);
    let broken = out
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL"))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect();
    (o.status.code().unwrap_or(-1), format!("{out}{}", text(&o.stderr)), broken)
}

fn index(records: &[EventRecord], kind: K, id: u64) -> usize {
    records.iter().position(|r| r.kind == kind && r.order_id == id).expect("the scenario has this record")
}

#[test]
fn a_replayed_journal_passes_live_and_virtual() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = good_journal(dir.path());
    let (_, _, records) = read(&good);
    // The scenario does what its comments say (so each tamper below has its target).
    let reasons: Vec<_> = records.iter().filter_map(|r| r.reason.map(|x| (r.order_id, x.name()))).collect();
    assert_eq!(
        reasons,
        [(1, "outside_window"), (8, "session_ended"), (9, "session_ended"), (10, "outside_window")]
    );
    let count = |k: K| records.iter().filter(|r| r.kind == k).count();
    assert_eq!(count(K::Unanswered), 0, "every order ends");
    let life = [K::Fill, K::Filled, K::CancelSent, K::VenueCancelled, K::ReplaceSent, K::Replaced];
    assert_eq!(life.map(count), [1; 6], "a life at the exchange to audit");
    for extra in [&[][..], &["--virtual-time"]] {
        let (code, out, broken) = audit(&good, extra);
        assert_eq!((code, broken.len()), (0, 0), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 13, "one line per rule: {out}");
        assert!(out.contains("all 13 rules hold"), "{out}");
    }
}

/// Sets the latency of order `id`'s response to the time from its (tampered) send: a tampering
/// of sends breaks its own rule, not the round trip's too.
fn round_trip_from_send(r: &mut [EventRecord], id: u64) {
    let sent = r[index(r, K::Sent, id)].time_ns;
    let i = index(r, K::Response, id);
    r[i].latency_ns = (r[i].time_ns - sent) as u64;
}

/// One tampering: what it does to the good records, the rules it must break (in the order the
/// audit lists them), and the index of the record the audit must name as a first violation.
struct Tamper {
    name: &'static str,
    rules: &'static [&'static str],
    apply: fn(&mut Vec<EventRecord>) -> (usize, u64),
}

const TAMPERS: &[Tamper] = &[
    Tamper {
        name: "a send (and its response) moved after the logout",
        rules: &["window"],
        apply: |r| {
            let mut sent = r.remove(index(r, K::Sent, 6));
            let mut response = r.remove(index(r, K::Response, 6));
            let logout = r.iter().position(|x| x.kind == K::Logout).expect("logout");
            (sent.time_ns, response.time_ns, response.latency_ns) = (r[logout].time_ns, r[logout].time_ns, 0);
            r.insert(logout + 1, sent);
            r.insert(logout + 2, response);
            (logout + 1, 6)
        },
    },
    Tamper {
        name: "two sends bunched into the same instant",
        rules: &["throttle"],
        apply: |r| {
            let (a, b) = (index(r, K::Sent, 3), index(r, K::Sent, 4));
            assert_eq!(b, a + 1, "nothing between the two sends");
            r[b].time_ns = r[a].time_ns;
            round_trip_from_send(r, 4);
            (b, 4)
        },
    },
    Tamper {
        name: "two queued orders swapped",
        rules: &["fifo"],
        apply: |r| {
            let (a, b) = (index(r, K::Sent, 3), index(r, K::Sent, 4));
            let (ta, tb) = (r[a].time_ns, r[b].time_ns);
            r.swap(a, b);
            (r[a].time_ns, r[b].time_ns) = (ta, tb);
            round_trip_from_send(r, 3);
            round_trip_from_send(r, 4);
            (a, 4)
        },
    },
    Tamper {
        name: "an order with two fates (answered, then unanswered too)",
        rules: &["fates"],
        apply: |r| {
            let mut extra = r[index(r, K::Sent, 2)];
            extra.kind = K::Unanswered;
            extra.latency_ns = 0;
            extra.time_ns = r[r.len() - 1].time_ns;
            r.push(extra);
            (r.len() - 1, 2)
        },
    },
    Tamper {
        name: "a wrong latency",
        rules: &["responses"],
        apply: |r| {
            let i = index(r, K::Response, 2);
            r[i].latency_ns += MS;
            (i, 2)
        },
    },
    Tamper {
        name: "a modified order sent with its old qty",
        rules: &["modify"],
        apply: |r| {
            let i = index(r, K::Sent, 4);
            r[i].qty = 5;
            (i, 4)
        },
    },
    Tamper {
        // The audit does not apply a fill it refuses, so the order never ends either: the
        // lifecycle rule says both (the fates rule counts the `filled` record as the order's end).
        name: "a fill beyond the quantity of the live version",
        rules: &["lifecycle"],
        apply: |r| {
            let i = index(r, K::Filled, 2);
            (r[i].qty, r[i].latency_ns) = (7, 9);
            (i, 2)
        },
    },
    Tamper {
        name: "a cancel sent for an order the exchange rejected (not working)",
        rules: &["lifecycle"],
        apply: |r| {
            // At 10:00:03, when a permit is free: only the order's state is wrong.
            let mut cancel = r[index(r, K::CancelSent, 3)];
            let four = r[index(r, K::Sent, 4)];
            (cancel.order_id, cancel.price, cancel.qty, cancel.side) = (4, four.price, four.qty, four.side);
            cancel.time_ns = r[index(r, K::Filled, 2)].time_ns + 700 * MS as i64;
            let at = index(r, K::Filled, 2) + 1;
            r.insert(at, cancel);
            (at, 4)
        },
    },
    Tamper {
        name: "a fill stating more filled than its fills add up to",
        rules: &["lifecycle"],
        apply: |r| {
            let i = index(r, K::Fill, 2);
            r[i].latency_ns += 1;
            (i, 2)
        },
    },
    Tamper {
        name: "a missing session_ended",
        rules: &["session_end"],
        apply: |r| {
            r.remove(index(r, K::Rejected, 9));
            (r.iter().position(|x| x.kind == K::Logout).expect("logout"), 9)
        },
    },
];

#[test]
fn each_tampered_journal_passes_verify_and_breaks_its_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = good_journal(dir.path());
    let (_, _, records) = read(&good);
    for (n, t) in TAMPERS.iter().enumerate() {
        let mut r = records.clone();
        let (at, id) = (t.apply)(&mut r);
        let path = dir.path().join(format!("tampered{n}.journal"));
        write_like(&good, &path, &r);
        let v = oms(&["verify", p(&path)]);
        assert!(v.status.success(), "{}: oms verify: {}{}", t.name, text(&v.stdout), text(&v.stderr));
        for extra in [&[][..], &["--virtual-time"]] {
            let (code, out, broken) = audit(&path, extra);
            assert_eq!(code, 1, "{}: {out}", t.name);
            assert_eq!(broken, t.rules, "{} {extra:?}: exactly its rules break: {out}", t.name);
            let named = format!("first violation: seq {}, order {id}:", at + 1);
            assert!(out.contains(&named), "{}: expected `{named}` in\n{out}", t.name);
            let summary = format!("{} of 13 rules broken: {}", t.rules.len(), t.rules.join(", "));
            assert!(out.contains(&summary), "{out}");
        }
    }
}

#[test]
fn bunched_sends_break_the_sliding_window_given_with_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = good_journal(dir.path());
    let sliding = dir.path().join("sliding.toml");
    std::fs::write(&sliding, CONFIG.replace("burst = 1", "mode = \"sliding-window\"")).expect("write");
    let (code, out, _) = audit(&good, &["--config", p(&sliding)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("at most 2 orders sent in any one-second interval"), "{out}");
    let (_, _, mut r) = read(&good);
    let (a, b) = (index(&r, K::Sent, 3), index(&r, K::Sent, 4));
    r[b].time_ns = r[a].time_ns + 499 * MS as i64; // 2 @1000, 3 @1500, 4 @1999: three in [1000, 2000)
    let path = dir.path().join("bunched.journal");
    write_like(&good, &path, &r);
    let (code, out, broken) = audit(&path, &["--config", p(&sliding)]);
    assert_eq!((code, broken), (1, vec!["throttle".to_string()]), "{out}");
    assert!(out.contains(&format!("seq {}, order 4: 3 orders sent within 0.999000000 s", b + 1)), "{out}");
    // The header's token bucket (2/s, burst 1) refuses it too: 2 @1000 to 4 @1999 are three
    // sends within 0.999 s, where 1 + floor(2 x 0.999) = 2 are allowed.
    let (code, out, broken) = audit(&path, &[]);
    assert_eq!((code, broken), (1, vec!["throttle".to_string()]), "{out}");
    assert!(out.contains(&format!("seq {}, order 4: 3 orders sent within 0.999000000 s", b + 1)), "{out}");
}

#[test]
fn unusable_journal_or_config_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_a_journal = dir.path().join("notes.txt");
    std::fs::write(&not_a_journal, "not a journal at all, just some text that is long enough")
        .expect("write");
    let (code, out, _) = audit(&not_a_journal, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("notes.txt"), "names the file: {out}");
    let (code, out, _) = audit(&dir.path().join("missing.journal"), &[]);
    assert_eq!(code, 2, "{out}");

    let good = good_journal(dir.path());
    let (code, out, _) = audit(&good, &["--config", p(&dir.path().join("missing.toml"))]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("missing.toml"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, CONFIG.replace("max_orders_per_sec = 2", "max_orders_per_sec = 0")).expect("write");
    let (code, out, _) = audit(&good, &["--config", p(&bad)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad.toml") && out.contains("max_orders_per_sec"), "{out}");
    // A corrupt record: the audit needs every record.
    let (_, _, records) = read(&good);
    let bytes = std::fs::read(&good).expect("read journal");
    let target = records[3].to_bytes();
    let at = bytes.windows(64).position(|w| w == target).expect("record 4 in the file");
    let mut damaged = bytes.clone();
    damaged[at + 20] ^= 0x40;
    std::fs::write(&good, damaged).expect("write damaged journal");
    let (code, out, _) = audit(&good, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("every record"), "{out}");
}

#[test]
fn help_names_the_options_and_the_exit_codes() {
    let o = oms(&["audit", "--help"]);
    assert!(o.status.success());
    let help = text(&o.stdout);
    for needle in ["JOURNAL", "--config", "--virtual-time"] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
    let top = text(&oms(&["--help"]).stdout);
    assert!(top.contains("audit") && top.contains("exit 1 naming each broken rule"), "{top}");
    assert_eq!(oms(&["audit"]).status.code(), Some(2), "JOURNAL is required");
}
