//! Zero heap allocations per order on the FIX send path: a counting global allocator counts this
//! thread's allocations while `FixExchange` encodes 100k NewOrderSingles, as many
//! OrderCancelReplaceRequests and OrderCancelRequests, and `poll` writes them and takes the
//! counterparty's ExecutionReports (new, replaced, a fill, canceled) back through the responder. The
//! counterparty is a small in-process acceptor on loopback (its own thread's allocations are not
//! counted); the tests against QuickFIX are in fix_session.rs and fix_recovery.rs.
//!
//! This file holds a single test so no other test thread allocates while it measures.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use oms::exchange::{Exchange, FixExchange, FixSettings, response_tap};
use oms::{Answer, Config, EngineClock, Logon, OrderRequest, ResponseType, Secret, Side};

mod counting_alloc;
mod fix_echo;

use fix_echo::acceptor;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAllocator = counting_alloc::CountingAllocator;

#[test]
fn the_fix_send_path_allocates_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || acceptor(listener));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = FixSettings::new("127.0.0.1", port, "OMS", "EXCH");
    settings.store = dir.path().to_path_buf();
    settings.symbols = vec![(7, "ACME".into())];
    let mut c = Config::default();
    c.session.timezone = "UTC".into();
    c.session.start = "00:00:00".into();
    c.session.end = "23:59:59.999".into();
    let window = c.validate().expect("config").engine.session.window;
    let clock = EngineClock::system();
    let (responder, mut tap) = response_tap(1 << 16, &clock);
    let mut fix = FixExchange::new(&settings, window, responder, clock.clone(), 1 << 16).expect("fix");
    fix.send_logon(&Logon { username: "trader".into(), password: Secret::new("pw") });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = 0u64;
    while !fix.logged_on() {
        assert!(Instant::now() < deadline, "no logon within 10 s: {fix:?}");
        fix.poll(clock.now_ns(), &mut |_| events += 1);
    }

    let mut answers = [0u64; 4]; // first answers, replaced, fills, cancelled
    let take = |tap: &mut oms::exchange::ResponseTap, answers: &mut [u64; 4]| {
        while let Some((a, _)) = tap.pop() {
            let i = match a {
                Answer::Response(r) if r.response_type == ResponseType::Accept => 0,
                Answer::Replaced { .. } => 1,
                Answer::Fill { last_qty: 1, .. } => 2,
                Answer::Cancelled { .. } => 3,
                other => panic!("{other:?}"),
            };
            answers[i] += 1;
        }
    };
    // Each order's life in three steps, a batch of orders at a time: the New, answered; a
    // replace, answered replaced and then a fill of 1; a cancel, answered cancelled.
    let mut run = |fix: &mut FixExchange, from: u64, n: u64, answers: &mut [u64; 4]| {
        let order = |id: u64, step: u64| {
            let side = if id.is_multiple_of(2) { Side::Buy } else { Side::Sell };
            let price = 100.0 + (id % 100) as f64 * 0.25 + step as f64 * 0.5;
            OrderRequest::new(id, 7, side, price, 1 + id % 1000 + step)
        };
        for batch in (from..from + n).step_by(5_000) {
            let ids = batch..(batch + 5_000).min(from + n);
            for (step, want) in [(0, 0), (1, 2), (2, 3)] {
                let before = answers[want];
                for id in ids.clone() {
                    let sent = match step {
                        0 => fix.send(&order(id, 0)),
                        1 => fix.send_replace(&order(id, 1)),
                        _ => fix.send_cancel(&order(id, 1)),
                    };
                    sent.expect("logged on and following the order: the session takes it");
                    if id % 64 == 0 {
                        fix.poll(clock.now_ns(), &mut |_| {});
                        take(&mut tap, answers);
                    }
                }
                let deadline = Instant::now() + Duration::from_secs(20);
                while answers[want] < before + ids.end - ids.start {
                    assert!(Instant::now() < deadline, "answers {answers:?} at step {step}: {fix:?}");
                    fix.poll(clock.now_ns(), &mut |_| {});
                    take(&mut tap, answers);
                }
            }
        }
    };
    run(&mut fix, 1, 5_000, &mut answers);
    // The counter counts this thread's allocations.
    let probe = counting_alloc::this_thread();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert_eq!(counting_alloc::this_thread(), probe + 1);
    let before = counting_alloc::this_thread();
    run(&mut fix, 5_001, 100_000, &mut answers);
    let after = counting_alloc::this_thread();
    assert_eq!(after - before, 0, "{} allocations for 100k orders, replaces and cancels", after - before);
    assert_eq!(answers, [105_000; 4]);
    let stats = fix.stats();
    assert_eq!((stats.orders_sent, stats.replaces_sent, stats.cancels_sent), (105_000, 105_000, 105_000));
    assert_eq!(fix.tracked(), 0, "every cancelled order left the session's table");
    assert!(fix.stats().writes < 3 * 105_000 / 32, "messages coalesced into few writes: {:?}", fix.stats());
}
