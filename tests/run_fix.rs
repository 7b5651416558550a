//! `oms run` trading with the QuickFIX acceptor (examples/fix_acceptor.py) over FIX 4.4 on
//! loopback, configured the way a user would (`[exchange] kind = "fix"`): the window's logon
//! logs the session on, orders from a file go out and are answered by execution reports, a
//! fill and a business reject become records, a Modify and a Cancel of working orders go out
//! as a replace (35=G) and a cancel (35=F) and are carried out, the window's end logs out;
//! `oms audit` and `oms verify` accept the journal, `oms decode` shows the session, and the
//! password appears nowhere (journal, decode, stderr).
//!
//! Real time (the counterparty runs in it): the window opens a couple of seconds from now, and
//! every wait has a deadline and says what it waited for.

mod fix_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fix_common::{Acceptor, PASSWORD, USER, free_port, tempdir};
use oms::journal::Journal;
use oms::{EventKind as K, EventRecord, ResponseType};

const OMS: &str = env!("CARGO_BIN_EXE_oms");

/// `HH:MM:SS.mmm` in UTC, `secs` from now.
fn tod(secs: f64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(secs);
    t.to_zoned(jiff::tz::TimeZone::UTC).time().strftime("%H:%M:%S%.3f").to_string()
}

/// A config for the acceptor on `port`, its window `open`..`close` s from now.
fn write_config(dir: &Path, port: u16, open: f64, close: f64) -> PathBuf {
    let path = dir.join("oms.toml");
    let text = format!(
        "[session]\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\ntimezone = \"UTC\"\n\
         start = \"{}\"\nend = \"{}\"\n\
         [throttle]\nmax_orders_per_sec = 50\n\
         [engine]\nidle = \"park\"\npark_max_us = 200\nring_capacity = 1024\nmax_queued_orders = 1024\n\
         max_in_flight = 1024\n\
         [journal]\nsegment_bytes = 1048576\n\
         [exchange]\nkind = \"fix\"\nhost = \"127.0.0.1\"\nport = {port}\nsender_comp_id = \"OMS\"\n\
         target_comp_id = \"EXCH\"\nheartbeat_secs = 5\nstore = \"{}\"\n\
         [exchange.symbols]\n1 = \"ACME\"\n2 = \"FILL\"\n3 = \"BMR\"\n",
        tod(open),
        tod(close),
        dir.join("store").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn records(path: &Path) -> Vec<EventRecord> {
    Journal::open(path).expect("journal").records().collect::<Result<_, _>>().expect("sound journal")
}

#[test]
fn oms_run_trades_with_the_quickfix_acceptor() {
    let dir = tempdir();
    let mut acc = Acceptor::start(free_port(), &dir.path().join("acceptor"), &[]);
    let config = write_config(dir.path(), acc.port, 2.0, 5.0);
    let orders = dir.path().join("flow.txt");
    let flow = [
        "@2600 new id=1 sym=1 side=B px=100.25 qty=10",
        "@2610 new id=2 sym=1 side=S px=100.5 qty=20",
        "@2620 new id=3 sym=2 side=B px=99.75 qty=300   # FILL: accepted, then filled",
        "@2630 new id=4 sym=3 side=B px=1 qty=10        # BMR: a BusinessMessageReject",
        "@2800 modify id=1 px=100.5 qty=15              # working: replaced at the exchange",
        "@2900 cancel id=2                              # working: cancelled at the exchange",
        "@3000 advance",
    ];
    std::fs::write(&orders, flow.join("\n") + "\n").expect("orders");
    let journal = dir.path().join("oms.journal");

    let mut child = Command::new(OMS)
        .args(["run", "--once", "--config"])
        .arg(&config)
        .arg("--journal")
        .arg(&journal)
        .arg("--orders")
        .arg(&orders)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oms run");
    acc.expect("LOGON", Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("oms run still running after 60 s: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}\nacceptor:\n{}", acc.dump());
    assert!(!err.contains(PASSWORD), "the password reached stderr: {err}");

    let ev = records(&journal);
    let of = |k: K| ev.iter().filter(move |r| r.kind == k).collect::<Vec<_>>();
    let dump = || ev.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join("\n");
    assert_eq!(of(K::Logon).len(), 1, "{}", dump());
    assert_eq!(of(K::Logout).len(), 1, "--once stops after the window's logout");
    assert!(!of(K::ExchangeSession).is_empty(), "the session's logon is journaled: {}", dump());
    assert_eq!(of(K::Sent).len(), 4, "{}", dump());
    let answer = |id| of(K::Response).iter().find(|r| r.order_id == id).map(|r| (r.response, r.latency_ns));
    for id in 1..=4 {
        let want = if id == 4 { ResponseType::Reject } else { ResponseType::Accept };
        let (got, latency) = answer(id).unwrap_or_else(|| panic!("order {id} unanswered: {}", dump()));
        assert_eq!(got, want, "order {id}");
        assert!(latency > 0, "order {id}: a round trip is journaled");
    }
    assert_eq!(of(K::Filled).iter().map(|r| (r.order_id, r.qty)).collect::<Vec<_>>(), [(3, 300)]);
    assert_eq!(of(K::ExchangeReject).iter().map(|r| r.order_id).collect::<Vec<_>>(), [4]);
    let ids = |k: K| of(k).iter().map(|r| r.order_id).collect::<Vec<_>>();
    assert_eq!((ids(K::ReplaceSent), ids(K::Replaced)), (vec![1], vec![1]), "{}", dump());
    assert_eq!((of(K::Replaced)[0].qty, of(K::Replaced)[0].price), (15, 100.5));
    // Order 2 cancelled on request; order 1 works on until the window's end, where the engine
    // cancels it before the Logout (cancel_on_logout, on by default).
    assert_eq!(ids(K::CancelSent), [2, 1], "{}", dump());
    assert_eq!(of(K::CancelSent)[1].producer, u16::MAX, "the engine's own cancel: {}", dump());
    assert_eq!(ids(K::VenueCancelled), [2, 1], "{}", dump());
    let logout = of(K::Logout)[0].seq;
    assert!(of(K::VenueCancelled)[1].seq < logout, "cancelled before the Logout: {}", dump());
    let requests: Vec<String> =
        acc.lines_starting("REPLACE").into_iter().chain(acc.lines_starting("CANCEL")).collect();
    assert_eq!(requests[..2], ["REPLACE 1.1 1 15 100.5 replaced", "CANCEL 2.1 2 canceled"], "{}", acc.dump());
    acc.expect("LOGOUT", Duration::from_secs(10));

    let audit =
        Command::new(OMS).arg("audit").arg(&journal).arg("--config").arg(&config).output().expect("audit");
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
    let verify = Command::new(OMS).arg("verify").arg(&journal).output().expect("verify");
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
    let decode = Command::new(OMS).arg("decode").arg(&journal).output().expect("decode");
    let text = String::from_utf8_lossy(&decode.stdout);
    for kind in [
        "logon",
        "exchange_session",
        "sent",
        "response",
        "filled",
        "exchange_reject",
        "replace_sent",
        "replaced",
        "cancel_sent",
        "venue_cancelled",
        "logout",
    ] {
        assert!(text.contains(kind), "oms decode shows {kind}:\n{text}");
    }
    assert!(!text.contains(PASSWORD), "the password reached oms decode");
    // Every file of the journal and of our side's FIX store (not the config, which holds it,
    // nor the acceptor's own files).
    let mut files: Vec<PathBuf> = Vec::new();
    for d in [dir.path().to_path_buf(), dir.path().join("store")] {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("list {}: {e}", d.display())) {
            let p = entry.expect("entry").path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if p.is_file() && (name.starts_with("oms.journal") || d.ends_with("store")) {
                files.push(p);
            }
        }
    }
    assert!(files.iter().any(|p| p.ends_with("oms.journal")), "{files:?}");
    for p in files {
        let bytes = std::fs::read(&p).expect("read");
        assert!(
            !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
            "{} holds the password",
            p.display()
        );
    }
}
