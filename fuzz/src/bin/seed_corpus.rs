//! Writes the seed corpus of every target under `fuzz/corpus/<target>/`: small real journals
//! written by `JournalWriter` (whole, trimmed, resealed), the golden scenarios and
//! configurations, and FIX messages written by the session itself.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin seed_corpus` (from the repository root).

use std::path::{Path, PathBuf};

use oms::journal::{JournalSettings, JournalWriter, SyncPolicy, WriterOptions, segment_path};
use oms::replay::{parse_scenario, parse_start, replay};
use oms::{Config, EngineClock, EventRecord, EventSink, MemorySink};
use oms_fuzz::journal::{PAD, RESEAL_HEADERS, RESEAL_RECORDS};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root").to_path_buf()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

/// Events of a real replay: logon, sends, queued, modified, cancelled, rejects, responses.
fn replayed_events() -> Vec<EventRecord> {
    let flow = "@0 new id=1 sym=1 side=B px=10 qty=1\n@0 new id=2 sym=1 side=S px=10 qty=1\n\
                @0 new id=3 sym=1 side=B px=10 qty=1\n@0 new id=4 sym=1 side=X px=10 qty=1\n\
                @1 modify id=3 px=11 qty=2\n@2 cancel id=2\n@5 response id=1 accept\n\
                @7 response id=9 reject\n@1000 new id=5 sym=2 side=S px=9.5 qty=3 p=1\n";
    let cfg = oms_fuzz::scenario::replay_config(false);
    let start = parse_start("2026-11-23T09:59:59.5Z").expect("a start");
    let scenario = parse_scenario(flow).expect("the flow parses");
    let report = replay(&cfg, &scenario, start, "2".parse().ok(), MemorySink::default()).expect("replays");
    report.sink.events().to_vec()
}

/// A journal of `n` records (the replayed events, repeated) in segments of `segment_bytes`;
/// `closed`: closed by the writer (else the closed mark is cleared, as after a crash). Returns
/// the files' bytes.
fn journal(n: usize, segment_bytes: u64, closed: bool) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let base = dir.path().join("seed.journal");
    let mut c = Config::default();
    c.session.password = Some("never-in-a-journal".into());
    let (clock, _mock) = EngineClock::manual(1_795_000_000_000_000_000);
    let settings =
        JournalSettings { path: base.clone(), sync: SyncPolicy::None, segment_bytes, prepare_records: None };
    let mut w = JournalWriter::create_with(&settings, &c.journal_meta(&clock), WriterOptions::default())
        .expect("create");
    let events = replayed_events();
    for i in 0..n {
        // A batch writer: room is made on the spot (a segment is built when one is needed).
        while !w.takes_requests() && w.housekeep() {}
        w.record(&events[i % events.len()]);
    }
    w.close().expect("close");
    let mut files = Vec::new();
    for i in 0.. {
        match std::fs::read(segment_path(&base, i)) {
            Ok(mut b) => {
                if !closed {
                    b[104..108].copy_from_slice(&[0; 4]);
                }
                files.push(b);
            }
            Err(_) => break,
        }
    }
    files
}

fn trimmed(f: &[u8]) -> &[u8] {
    let end = f.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &f[..end]
}

fn journal_seeds() {
    let cases = [
        ("one", 10, 8192, true),
        ("three", 150, 8192, true),
        ("full", 64, 8192, true),
        ("crashed", 100, 8192, false),
    ];
    for (name, n, seg, closed) in cases {
        let files = journal(n, seg, closed);
        let whole: Vec<u8> = files.concat();
        write("journal", &format!("{name}_raw"), &[[0u8].as_slice(), &whole].concat());
        let short: Vec<u8> = files.iter().flat_map(|f| trimmed(f).to_vec()).collect();
        write("journal", &format!("{name}_padded"), &[[PAD].as_slice(), &short].concat());
        let mode = PAD | RESEAL_HEADERS | RESEAL_RECORDS;
        write("journal", &format!("{name}_resealed"), &[[mode].as_slice(), &short].concat());
    }
    // The smallest segment the configuration allows, as a user's journal would be.
    let files = journal(20, 64 * 1024, true);
    write("journal", "config_minimum_raw", &[[0u8].as_slice(), &files.concat()].concat());
}

fn text_seeds(target: &str, ext: &str, extra: &[(&str, String)]) {
    let dir = root().join("tests/golden");
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("tests/golden").map(|e| e.expect("entry").path()).collect();
    if ext == "toml" {
        paths.push(root().join("examples/fix.toml"));
    }
    for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == ext)) {
        let name = p.file_stem().and_then(|s| s.to_str()).expect("a file name").to_string();
        write(target, &name, &std::fs::read(&p).expect("read a seed"));
    }
    for (name, text) in extra {
        write(target, name, text.as_bytes());
    }
}

fn fix_seeds() {
    use oms_fuzz::fix::frame;
    let bodies: [&[u8]; 9] = [
        b"35=A|34=1|49=EXCH|56=OMS|52=20261123-10:00:00.000|98=0|108=30|",
        b"35=0|34=2|49=EXCH|56=OMS|52=20261123-10:00:01.000|",
        b"35=1|34=3|49=EXCH|56=OMS|52=20261123-10:00:01.000|112=7|",
        b"35=2|34=4|49=EXCH|56=OMS|52=20261123-10:00:01.000|7=1|16=0|",
        b"35=4|34=5|49=EXCH|56=OMS|52=20261123-10:00:01.000|123=Y|36=9|",
        b"35=8|34=9|49=EXCH|56=OMS|52=20261123-10:00:02.000|11=1|17=E1|150=0|39=0|55=1|54=1|38=1|44=10.5|",
        b"35=3|34=10|49=EXCH|56=OMS|52=20261123-10:00:02.000|45=2|373=1|58=bad|",
        b"35=j|34=11|49=EXCH|56=OMS|52=20261123-10:00:02.000|45=2|379=1|380=3|58=no|",
        b"35=5|34=12|49=EXCH|56=OMS|52=20261123-10:00:03.000|58=bye|",
    ];
    let mut stream = vec![0xff, 0xff];
    let mut script = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        write("fix_decode", &format!("msg{i}"), &[[0x00, 0x01].as_slice(), &frame(b)].concat());
        stream.extend_from_slice(&frame(b));
        script.push(1u8);
        script.extend_from_slice(b);
        script.push(b'\n');
    }
    write("fix_decode", "stream", &stream);
    write(
        "fix_decode",
        "logon_with_password",
        &[[0x00, 0x10].as_slice(), &frame(b"35=A|34=1|49=OMS|56=EXCH|553=u|554=secret|")].concat(),
    );
    write("fix_session", "session", &script);
    // Silence (timers: heartbeat, TestRequest, drop), a window close and a reopen.
    let mut timers = script[..script.iter().position(|&b| b == b'\n').expect("a line") + 1].to_vec();
    timers.extend_from_slice(&[200, b'\n', 200, b'\n', 250, b'\n', 0xFF, b'\n', 0xFE, b'\n', 30, b'\n']);
    write("fix_session", "timers", &timers);
}

fn main() {
    journal_seeds();
    let default = Config::default().public_toml();
    text_seeds("config", "toml", &[("default", default)]);
    text_seeds("scenario", "scenario", &[]);
    fix_seeds();
    println!("seeds written under {}", Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").display());
}
