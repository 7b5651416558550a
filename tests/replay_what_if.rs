//! What-if: "which orders would these limits have stopped?", answered from a day's journal with
//! two commands: `oms decode --format scenario` turns the journal into the day's requests and
//! the exchange's answers, and `oms replay` of that scenario under a configuration with other
//! `[risk]` limits refuses what those limits refuse. The day here was traded without limits
//! (written by `oms replay` on virtual time, so the test is exact); its replay under the
//! limits refuses exactly the fat finger, the order far from its symbol's last fill and the
//! Modify that would have made an order too large, names each limit, sends everything else as
//! the day did, and is audited clean under those limits, while the day's own journal breaks
//! them (rule `risk`).

use std::path::Path;
use std::process::{Command, Output};

use oms::journal::Journal;
use oms::{EventKind as K, EventRecord, RejectReason as R, RequestType};

fn oms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oms")).args(args).output().expect("run oms")
}

fn ok(args: &[&str]) -> String {
    let o = oms(args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "oms {args:?}: {}\n{out}", String::from_utf8_lossy(&o.stderr));
    out
}

fn records(path: &str) -> Vec<EventRecord> {
    Journal::open(Path::new(path)).expect("journal").records().collect::<Result<_, _>>().expect("sound")
}

const DAY: &str = "[session]\nusername = \"trader\"\ntimezone = \"UTC\"\nstart = \"10:00:00\"\nend = \"12:00:00\"\n\
                   [throttle]\nmax_orders_per_sec = 100\nburst = 10\n";

/// The same day's configuration with limits.
fn with_limits() -> String {
    format!("{DAY}[risk]\nmax_order_qty = 1000\nprice_band_bps = 1000\nmax_position = 20000\n")
}

/// The day, as the producers and the exchange made it: no limits stopped anything.
const FLOW: &str = "\
@0  new id=1 sym=7 side=B px=100 qty=100
@1  response id=1 accept
@2  fill id=1 qty=100 px=100                # symbol 7's last fill: 100
@10 new id=2 sym=7 side=B px=100 qty=5000   # a fat finger
@11 response id=2 accept
@20 new id=3 sym=7 side=S px=130 qty=10     # 30 % above the last fill
@21 response id=3 accept
@30 new id=4 sym=7 side=B px=101 qty=50
@31 response id=4 accept
@40 modify id=4 px=101 qty=2000             # a replace to 2000
@41 replaced id=4
@50 new id=5 sym=8 side=S px=20 qty=800
@51 response id=5 accept
@60 cancel id=5
@61 cancelled id=5
@70 advance
";

#[test]
fn a_days_journal_replayed_under_other_limits_names_the_orders_they_would_have_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("UTF-8 path").to_owned();
    let (day_cfg, risk_cfg, flow) = (path("day.toml"), path("risk.toml"), path("flow.txt"));
    std::fs::write(&day_cfg, DAY).expect("write");
    std::fs::write(&risk_cfg, with_limits()).expect("write");
    std::fs::write(&flow, FLOW).expect("write");

    // The day's journal: nothing refused.
    let day = path("day.journal");
    ok(&["replay", &flow, "--config", &day_cfg, "--journal", &day, "--start", "2026-11-23T10:00:00Z"]);
    let day_records = records(&day);
    assert!(!day_records.iter().any(|r| r.kind == K::Rejected), "the day refused nothing");

    // The journal as a scenario, replayed under the limits from the start its first line names.
    let text = ok(&["decode", "--format", "scenario", &day]);
    let start = text
        .lines()
        .next()
        .and_then(|l| l.split("--start ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the first line names the start:\n{text}"))
        .to_owned();
    let scenario = path("day.scenario");
    std::fs::write(&scenario, &text).expect("write the scenario");
    let what_if = path("what-if.journal");
    ok(&["replay", &scenario, "--config", &risk_cfg, "--journal", &what_if, "--start", &start]);

    let ev = records(&what_if);
    let stopped: Vec<(u64, RequestType, Option<R>)> =
        ev.iter().filter(|r| r.kind == K::Rejected).map(|r| (r.order_id, r.request, r.reason)).collect();
    assert_eq!(
        stopped,
        [
            (2, RequestType::New, Some(R::MaxOrderQty)),
            (3, RequestType::New, Some(R::PriceBand)),
            (4, RequestType::Modify, Some(R::MaxOrderQty)),
        ],
        "{text}"
    );
    let sent = |ev: &[EventRecord]| -> Vec<u64> {
        ev.iter().filter(|r| r.kind == K::Sent).map(|r| r.order_id).collect()
    };
    assert_eq!(sent(&day_records), [1, 2, 3, 4, 5]);
    assert_eq!(sent(&ev), [1, 4, 5], "the rest went out as the day's did");
    assert!(!ev.iter().any(|r| r.kind == K::ReplaceSent), "the replace was stopped");
    // The answers the exchange gave the orders the limits stop answer nothing now.
    let unmatched: Vec<u64> =
        ev.iter().filter(|r| r.kind == K::UnmatchedResponse).map(|r| r.order_id).collect();
    assert_eq!(unmatched, [2, 3]);

    // The CLI answers the question in one line per order: the decode of the refusals.
    let refusals = ok(&["decode", &what_if, "--kind", "rejected"]);
    // Each with the limit (from the configuration in the journal's header) and the value it
    // refused: 5000 shares, 3000 bps off the last fill, a replace to 2000 shares.
    for want in [
        "new order=2 sym=7 B 5000@100 reason=max_order_qty limit=1000 value=5000",
        "new order=3 sym=7 S 10@130 reason=price_band limit=1000 value=3000",
        "modify order=4 sym=7 B 2000@101 reason=max_order_qty limit=1000 value=2000",
    ] {
        assert!(refusals.contains(want), "{want:?} in:\n{refusals}");
    }

    // The replay keeps the limits (audited under them); the day itself broke them.
    let audit = |journal: &str| oms(&["audit", journal, "--config", &risk_cfg, "--virtual-time"]);
    assert_eq!(
        audit(&what_if).status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit(&what_if).stdout)
    );
    let day_audit = audit(&day);
    let report = String::from_utf8_lossy(&day_audit.stdout);
    assert_eq!(day_audit.status.code(), Some(1), "{report}");
    assert!(report.lines().any(|l| l.starts_with("FAIL") && l.contains("risk")), "{report}");
}
