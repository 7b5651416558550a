//! Zero heap allocations per order on the FIX send path: a counting global allocator counts this
//! thread's allocations while `FixExchange::send` encodes 100k NewOrderSingles and `poll` writes
//! them and takes the counterparty's ExecutionReports back through the responder. The
//! counterparty is a small in-process acceptor on loopback (its own thread's allocations are not
//! counted); the tests against QuickFIX are in fix_session.rs and fix_recovery.rs.
//!
//! This file holds a single test so no other test thread allocates while it measures.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use oms::exchange::{Exchange, FixExchange, FixSettings, response_tap};
use oms::{Config, EngineClock, Logon, OrderRequest, ResponseType, Secret, Side};

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

    let mut answered = 0u64;
    let mut run = |fix: &mut FixExchange, from: u64, n: u64, answered: &mut u64| {
        for id in from..from + n {
            let side = if id % 2 == 0 { Side::Buy } else { Side::Sell };
            fix.send(&OrderRequest::new(id, 7, side, 100.0 + (id % 100) as f64 * 0.25, 1 + id % 1000))
                .expect("logged on: the session takes the order");
            if id % 64 == 0 {
                fix.poll(clock.now_ns(), &mut |_| {});
                while let Some((r, _)) = tap.pop() {
                    assert!(
                        matches!(r, oms::Answer::Response(a) if a.response_type == ResponseType::Accept),
                        "{r:?}"
                    );
                    *answered += 1;
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while *answered < from + n - 1 {
            assert!(Instant::now() < deadline, "only {answered} answers: {fix:?}");
            fix.poll(clock.now_ns(), &mut |_| {});
            while tap.pop().is_some() {
                *answered += 1;
            }
        }
    };
    run(&mut fix, 1, 5_000, &mut answered);
    // The counter counts this thread's allocations.
    let probe = counting_alloc::this_thread();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert_eq!(counting_alloc::this_thread(), probe + 1);
    let before = counting_alloc::this_thread();
    run(&mut fix, 5_001, 100_000, &mut answered);
    let after = counting_alloc::this_thread();
    assert_eq!(after - before, 0, "{} allocations for 100k orders", after - before);
    assert_eq!(answered, 105_000);
    assert_eq!(fix.stats().orders_sent, 105_000);
    assert!(fix.stats().writes < 105_000 / 32, "orders coalesced into few writes: {:?}", fix.stats());
}
