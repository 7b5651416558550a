//! Recovery, one state piece per test, on manual clocks: an engine runs, stops without a
//! shutdown (its records are all that is left, as after a crash), and a second engine restarts
//! from those records. Each test also audits the two runs as one journal (`oms::audit`, as
//! `oms audit` would read it after a restart).

mod common;

use common::*;
use oms::EventKind as K;
use oms::audit::{AuditOptions, audit};
use oms::engine::{EngineBuilder, RecoverError, RecoveredState};
use oms::exchange::RecordingExchange;
use oms::journal::JournalWriter;
use oms::recovery::{self, RecoveryError, StateBuilder};
use oms::{Config, EngineClock, EventRecord, EventSink, MemorySink, OrderRequest, RejectReason as R};
use oms::{RequestType, ResponseType, Side};

/// The state the records of a stopped run leave, for an engine configured as `cfg`.
fn fold(cfg: &Config, records: &[EventRecord]) -> RecoveredState {
    let valid = cfg.validate().expect("valid config");
    let mut b = StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle);
    for r in records {
        b.push(r);
    }
    b.finish()
}

/// A run's records then its restart's, numbered on as one journal.
fn joined(before: &[EventRecord], after: &[EventRecord]) -> Vec<EventRecord> {
    let last = before.last().map_or(0, |r| r.seq);
    let later = after.iter().map(|r| EventRecord { seq: r.seq + last, ..*r });
    before.iter().copied().chain(later).collect()
}

/// Audits the two runs as one journal: every rule holds and every order has its fate.
fn assert_audit_clean(cfg: &Config, before: &[EventRecord], after: &[EventRecord]) {
    let (window, throttle) = cfg.rules().expect("rules");
    let all = joined(before, after);
    let report = audit(&all, &window, &throttle, AuditOptions::LIVE);
    assert!(report.is_clean(), "{report}");
}

/// Stops the rig's engine cleanly and returns its records.
fn shutdown(rig: Rig) -> Vec<EventRecord> {
    let report = rig.engine.shutdown();
    report.sink.events().to_vec()
}

fn order(id: u64, price: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, price, qty)
}

fn at(rig: &Rig, ts: &str) -> u64 {
    rig.engine.clock().mono_at_wall(wall(ts))
}

#[test]
fn the_queue_comes_back_in_order_with_every_modify_applied() {
    let cfg = config("10:00:00", "13:00:00", 1, Some(1));
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=5 {
        a.new_order(id);
    }
    a.submit(0, order(3, 101.0, 20), RequestType::Modify);
    a.submit(0, order(2, 0.0, 0), RequestType::Cancel);
    a.submit(0, order(5, 99.0, 1), RequestType::Modify);
    a.submit(0, order(5, 98.0, 2), RequestType::Modify);
    a.advance(500 * MS);
    assert_eq!(a.sent_ids(), [1]);
    let before = a.events().to_vec();
    drop(a); // a crash: no shutdown, the records are all that is left

    let state = fold(&cfg, &before);
    let queued: Vec<(u64, f64, u64)> =
        state.queued.iter().map(|q| (q.order.order_id, q.order.price, q.order.qty)).collect();
    assert_eq!(queued, [(3, 101.0, 20), (4, 100.0, 10), (5, 98.0, 2)]);
    assert_eq!(state.open.iter().map(|s| s.order.order_id).collect::<Vec<_>>(), [1]);

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:30:00.700Z", 1, state).expect("recovers");
    assert_eq!(b.kinds(), [K::Recovered, K::Logon]);
    let rec = b.of(K::Recovered)[0];
    assert_eq!((rec.qty, rec.order_id), (3, 1), "3 queued, 1 in flight");
    let ids: Vec<u64> = b.engine.queued().map(|q| q.order.order_id).collect();
    assert_eq!(ids, [3, 4, 5]);
    // Order 1 took the only token at 10:30:00; the next is due at 10:30:01, restart or not.
    let second = at(&b, "2026-11-23T10:30:01Z");
    b.advance_to(second - 1);
    assert!(b.sent_ids().is_empty(), "the restart does not refill the bucket");
    b.advance(1);
    b.advance(2 * SEC);
    let sent: Vec<(u64, f64, u64)> =
        b.engine.exchange().sent().map(|o| (o.order_id, o.price, o.qty)).collect();
    assert_eq!(sent, [(3, 101.0, 20), (4, 100.0, 10), (5, 98.0, 2)], "in queue order, as modified");
    let times: Vec<i64> = b.of(K::Sent).iter().map(|r| r.time_ns).collect();
    let secs = ["01", "02", "03"].map(|s| wall(&format!("2026-11-23T10:30:{s}Z")));
    assert_eq!(times, secs);
    assert_eq!(b.of(K::Sent)[0].latency_ns, SEC, "time inside the OMS counts from its queuing");
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn an_order_in_flight_at_the_crash_matches_its_late_response_with_its_latency() {
    let cfg = config("10:00:00", "13:00:00", 100, None);
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    a.new_order(1);
    a.new_order(2);
    a.advance(10 * MS);
    let before = a.events().to_vec();
    let sent_at = wall("2026-11-23T10:30:00Z");
    drop(a);

    // Without reaching back, the clock cannot express the send time.
    let valid = cfg.validate().expect("valid");
    let (clock, _mock) = EngineClock::manual(wall("2026-11-23T10:30:00.050Z"));
    let (builder, _responder) = EngineBuilder::new(&valid.engine, clock);
    let refused = builder.recover(fold(&cfg, &before), RecordingExchange::default(), MemorySink::default());
    assert!(
        matches!(refused, Err(RecoverError::ClockStartsLate { earliest_ns, .. }) if earliest_ns == sent_at)
    );

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:30:00.050Z", 1, fold(&cfg, &before)).expect("recovers");
    assert!(b.engine.clock().wall_ns(0) <= sent_at);
    assert_eq!(b.engine.in_flight_len(), 2);
    b.advance(30 * MS);
    b.respond(2, ResponseType::Reject);
    let r = b.of(K::Response)[0];
    assert_eq!((r.order_id, r.response, r.latency_ns), (2, ResponseType::Reject, 80 * MS));
    assert_eq!((r.price, r.qty, r.side), (100.0, 10, 'B'), "the response carries the order as sent");
    b.respond(2, ResponseType::Accept);
    assert_eq!(b.ids(K::UnmatchedResponse), [2], "answered once only");
    b.new_order(1);
    assert_eq!(b.rejects(1), [R::DuplicateOrderId], "order 1 is still in flight");
    let after = shutdown(b);
    assert_eq!(after.iter().filter(|r| r.kind == K::Unanswered).map(|r| r.order_id).collect::<Vec<_>>(), [1]);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn the_token_bucket_carries_over_a_restart_in_the_same_window() {
    let cfg = config("10:00:00", "13:00:00", 2, Some(4));
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=5 {
        a.new_order(id);
    }
    assert_eq!(a.sent_ids(), [1, 2, 3, 4], "the burst");
    a.advance(100 * MS);
    let before = a.events().to_vec();
    drop(a);

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:30:00.200Z", 1, fold(&cfg, &before)).expect("recovers");
    assert!(b.engine.logged_on());
    assert!(b.sent_ids().is_empty(), "a refilled bucket would send order 5 at once");
    assert_eq!(b.engine.next_deadline_ns(), Some(at(&b, "2026-11-23T10:30:00.500Z")));
    b.advance_to(at(&b, "2026-11-23T10:30:00.600Z"));
    b.new_order(6);
    b.new_order(7);
    b.advance(2 * SEC);
    assert_eq!(b.sent_ids(), [5, 6, 7]);
    let times: Vec<i64> = b.of(K::Sent).iter().map(|r| r.time_ns).collect();
    let expected = ["00.500", "01.000", "01.500"].map(|s| wall(&format!("2026-11-23T10:30:{s}Z")));
    assert_eq!(times, expected, "one token every 0.5 s since the burst before the crash");
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn clock_steps_at_the_restart_keep_the_bound_in_the_journals_time() {
    let cfg = config("10:00:00", "13:00:00", 2, Some(4));
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=5 {
        a.new_order(id);
    }
    a.advance(100 * MS);
    let before = a.events().to_vec();
    drop(a);

    // The restarted engine's TSC-derived wall time is 1 ms ahead of the OS clock when it
    // recovers (the re-anchor then steps it back), and 2 ms more by its first poll (the logon's
    // re-anchor steps again, after the throttle was restored: the throttle moves with it).
    let valid = cfg.validate().expect("valid");
    let (mut clock, mock) = EngineClock::manual(wall("2026-11-23T10:30:00.200Z"));
    let os = clock.manual_wall_offset().expect("a manual clock");
    os.set(-(MS as i64));
    let state = fold(&cfg, &before);
    state.prepare_clock(&mut clock);
    let (builder, _responder) = EngineBuilder::new(&valid.engine, clock);
    let mut b =
        builder.recover(state, RecordingExchange::default(), MemorySink::default()).expect("recovers");
    os.set(-3 * MS as i64);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.sink().events().iter().all(|r| r.kind != K::Sent) {
        assert!(std::time::Instant::now() < deadline, "order 5 never sent");
        b.poll();
        let now = b.clock().now_ns();
        let next = b.next_deadline_ns().expect("order 5 waits for a token");
        mock.increment(next.saturating_sub(now).max(1));
    }
    let after = b.shutdown().sink.take();
    let kinds: Vec<K> = after.iter().map(|r| r.kind).take(5).collect();
    assert_eq!(kinds, [K::Recovered, K::ClockStep, K::ClockStep, K::Logon, K::Sent]);
    let steps: Vec<i64> =
        after.iter().filter(|r| r.kind == K::ClockStep).map(|r| r.latency_ns as i64).collect();
    assert_eq!(steps, [-(MS as i64), -2 * MS as i64]);
    // The next token 0.5 s after the burst at 10:30:00.000, in the journal's (wall) time (not
    // 10:30:00.497 or .499, where a throttle left on the old anchor would put it).
    let sent = after.iter().find(|r| r.kind == K::Sent).expect("sent");
    assert_eq!((sent.order_id, sent.time_ns), (5, wall("2026-11-23T10:30:00.500Z")));
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn the_sliding_window_carries_over_a_restart() {
    let mut cfg = config("10:00:00", "13:00:00", 3, None);
    cfg.throttle.mode = "sliding-window".into();
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=3 {
        a.new_order(id);
        a.advance(100 * MS);
    }
    a.new_order(4);
    assert_eq!(a.sent_ids(), [1, 2, 3]);
    let before = a.events().to_vec();
    drop(a);

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:30:00.400Z", 1, fold(&cfg, &before)).expect("recovers");
    assert!(b.sent_ids().is_empty(), "three sends in the last second at 3/s");
    b.advance_to(at(&b, "2026-11-23T10:30:01Z") - 1);
    assert!(b.sent_ids().is_empty());
    b.advance(1);
    assert_eq!(b.sent_ids(), [4], "a second after order 1");
    b.new_order(5);
    b.new_order(6);
    b.advance(SEC);
    let times: Vec<i64> = b.of(K::Sent).iter().map(|r| r.time_ns).collect();
    let expected = ["01.000", "01.100", "01.200"].map(|s| wall(&format!("2026-11-23T10:30:{s}Z")));
    assert_eq!(times, expected);
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn a_restart_outside_the_window_waits_and_still_matches_responses() {
    let cfg = config("10:00:00", "10:00:05", 1, Some(1));
    let mut a = Rig::new(&cfg, "2026-11-23T10:00:00Z", 1);
    for id in 1..=7 {
        a.new_order(id);
    }
    a.advance(6 * SEC);
    assert_eq!(a.sent_ids(), [1, 2, 3, 4, 5]);
    assert_eq!(a.ids(K::Rejected), [6, 7], "session_ended at the logout");
    for id in 1..=4 {
        a.respond(id, ResponseType::Accept);
    }
    let before = a.events().to_vec();
    drop(a);

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:00:10Z", 1, fold(&cfg, &before)).expect("recovers");
    assert_eq!(b.kinds(), [K::Recovered], "outside the window: no logon");
    assert!(!b.engine.logged_on());
    b.new_order(8);
    assert_eq!(b.rejects(8), [R::OutsideWindow]);
    b.respond(5, ResponseType::Accept);
    let r = b.of(K::Response)[0];
    assert_eq!((r.order_id, r.latency_ns), (5, 6 * SEC), "sent at 10:00:04, answered at 10:00:10");
    // The next window logs on as usual.
    b.advance_to(at(&b, "2026-11-24T10:00:00Z"));
    assert!(b.engine.logged_on());
    b.new_order(9);
    assert_eq!(b.sent_ids(), [9]);
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn a_restart_after_the_window_ended_rejects_the_queue_session_ended() {
    let cfg = config("10:00:00", "10:00:05", 1, Some(1));
    let mut a = Rig::new(&cfg, "2026-11-23T10:00:01Z", 1);
    for id in 1..=3 {
        a.new_order(id);
    }
    a.advance(500 * MS);
    let before = a.events().to_vec();
    drop(a);

    // Restarted after the end, before the next window.
    let mut b = Rig::recovered(&cfg, "2026-11-23T10:00:07Z", 1, fold(&cfg, &before)).expect("recovers");
    assert_eq!(b.kinds(), [K::Recovered, K::Rejected, K::Rejected]);
    assert_eq!((b.rejects(2), b.rejects(3)), (vec![R::SessionEnded], vec![R::SessionEnded]));
    assert!(!b.engine.logged_on());
    assert_eq!((b.engine.exchange().logons(), b.engine.exchange().logouts()), (0, 0));
    assert_eq!((b.engine.queue_len(), b.engine.in_flight_len()), (0, 1));
    b.advance_to(at(&b, "2026-11-24T10:00:00Z"));
    b.new_order(10);
    b.new_order(11);
    assert_eq!(b.sent_ids(), [10], "a new window's bucket is full (burst 1)");
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);

    // Restarted inside the next day's window: the old queue ends, then the new session starts.
    let mut b = Rig::recovered(&cfg, "2026-11-24T10:00:02Z", 1, fold(&cfg, &before)).expect("recovers");
    assert_eq!(b.kinds(), [K::Recovered, K::Rejected, K::Rejected, K::Logon]);
    b.new_order(12);
    assert_eq!(b.sent_ids(), [12], "a new session: the bucket is full");
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}

#[test]
fn the_audit_holds_a_restart_to_its_counts_and_its_bucket() {
    let cfg = config("10:00:00", "13:00:00", 1, Some(2));
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    a.new_order(1);
    a.new_order(2);
    a.new_order(3);
    let before = a.events().to_vec();
    drop(a);
    let b = Rig::recovered(&cfg, "2026-11-23T10:30:00.100Z", 1, fold(&cfg, &before)).expect("recovers");
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
    let (window, throttle) = cfg.rules().expect("rules");

    // A `recovered` record that misstates what the journal shows is a broken fates rule.
    let mut lying = after.clone();
    lying[0].qty = 5;
    let report = audit(&joined(&before, &lying), &window, &throttle, AuditOptions::LIVE);
    assert_eq!(report.broken(), [oms::audit::Rule::Fates], "{report}");

    // After a restart in the same window the bucket is not full: orders 1 and 2 took both
    // tokens 0.1 s before, so sending order 3 at the logon breaks the bound.
    let logon = after.iter().position(|r| r.kind == K::Logon).expect("a logon");
    let mut sends = after[..=logon].to_vec();
    let o = order(3, 100.0, 10);
    sends.push(EventRecord::new(after[logon].time_ns, oms::Event::Sent { order: o, in_oms_ns: 0 }));
    let n = sends.len();
    for (i, r) in sends.iter_mut().enumerate().skip(logon + 1) {
        r.seq = i as u64 + 1;
    }
    let mut a2 = oms::audit::Auditor::new(&window, &throttle, AuditOptions::LIVE);
    for r in joined(&before, &sends[..n]) {
        a2.push(&r);
    }
    assert_eq!(a2.report().broken(), [oms::audit::Rule::Throttle], "{}", a2.report());
}

/// A journal written by an engine that stopped without closing it (the writer is leaked, as a
/// killed process leaves it), in a temporary directory.
fn crashed_journal(cfg: &mut Config, dir: &std::path::Path) -> (std::path::PathBuf, Vec<EventRecord>) {
    let path = dir.join("oms.journal");
    cfg.journal.path = path.clone();
    cfg.journal.segment_bytes = 1 << 20;
    let mut a = Rig::new(cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=4 {
        a.new_order(id);
    }
    a.submit(0, order(3, 101.0, 20), RequestType::Modify);
    let records = a.events().to_vec();
    let valid = cfg.validate().expect("valid");
    let clock = a.engine.clock().clone();
    let mut w = JournalWriter::create(&valid.journal, &cfg.journal_meta(&clock)).expect("journal");
    for r in &records {
        w.record(r);
    }
    std::mem::forget(w);
    (path, records)
}

#[test]
fn a_journal_under_another_configuration_is_refused_naming_the_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config("10:00:00", "13:00:00", 1, Some(1));
    let (path, records) = crashed_journal(&mut cfg, dir.path());

    let r = recovery::read(&path, &cfg.validate().expect("valid")).expect("the same configuration recovers");
    assert_eq!((r.records, r.last_seq, r.closed), (records.len() as u64, records.len() as u64, false));
    let ids: Vec<u64> = r.state.queued.iter().map(|q| q.order.order_id).collect();
    assert_eq!(ids, [2, 3, 4]);
    assert_eq!(r.state.queued[1].order.price, 101.0);
    assert!(r.summary().contains("restores 3 queued and 1 open at the exchange"), "{}", r.summary());

    let mut other = cfg.clone();
    other.session.start = "11:00".into();
    other.throttle.max_orders_per_sec = 5;
    other.engine.max_queued_orders = 2; // not checked while the rules differ
    let err = recovery::read(&path, &other.validate().expect("valid")).expect_err("refused");
    let fields: Vec<&str> = err.differences().iter().map(|d| d.field).collect();
    assert_eq!(fields, ["session.start", "throttle.max_orders_per_sec"]);
    let text = err.to_string();
    assert!(text.contains("session.start: 10:00:00 in the journal, 11:00:00 in the configuration"), "{text}");
    assert!(text.contains("new journal"), "{text}");

    let mut zone = cfg.clone();
    zone.session.timezone = "Asia/Kolkata".into();
    zone.throttle.burst = Some(3);
    let err = recovery::read(&path, &zone.validate().expect("valid")).expect_err("refused");
    let fields: Vec<&str> = err.differences().iter().map(|d| d.field).collect();
    assert_eq!(fields, ["session.timezone", "throttle.burst"]);

    let mut small = cfg.clone();
    small.engine.max_queued_orders = 2;
    let err = recovery::read(&path, &small.validate().expect("valid")).expect_err("refused");
    assert!(matches!(&err, RecoveryError::Mismatch { .. }));
    assert_eq!(err.differences()[0].field, "engine.max_queued_orders");
}

#[test]
fn a_torn_tail_is_not_part_of_what_is_recovered() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config("10:00:00", "13:00:00", 1, Some(1));
    let (path, records) = crashed_journal(&mut cfg, dir.path());
    // A record written but never published: a body with sequence number 0 after the last one.
    let header = oms::journal::Journal::open(&path).expect("opens").header().clone();
    let mut torn = EventRecord::new(1, oms::Event::Queued { order: order(99, 1.0, 1) }).to_bytes();
    torn[..8].fill(0);
    let file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
    file.write_at(&torn, header.header_bytes + records.len() as u64 * 64).expect("write");

    let r = recovery::read(&path, &cfg.validate().expect("valid")).expect("recovers");
    assert!(r.torn_tail.is_some());
    assert_eq!(r.last_seq, records.len() as u64);
    let ids: Vec<u64> = r.state.queued.iter().map(|q| q.order.order_id).collect();
    assert_eq!(ids, [2, 3, 4], "order 99 was never published");
    assert!(r.summary().contains("discarded"), "{}", r.summary());
}

/// Working orders come back with their fills and pending requests: a partly filled order with a
/// cancel pending, one with a replace pending, one whose cancel waits for a permit, one whose
/// replace waits in the queue. After the restart the late answers match (round trips measured
/// from the requests sent before the crash), the waiting cancel and replace go out in their
/// turn, and a fill beyond the live quantity is still refused.
#[test]
fn working_orders_come_back_with_their_fills_and_pending_requests() {
    use oms::{Answer, OrderState as S};
    // 1/s, burst 4: four orders at logon, then a permit a second.
    let cfg = config("10:00:00", "13:00:00", 1, Some(4));
    let mut a = Rig::new(&cfg, "2026-11-23T10:30:00Z", 1);
    for id in 1..=4 {
        a.new_order(id); // qty 10 each, all sent
    }
    for id in 1..=4 {
        a.respond(id, ResponseType::Accept);
    }
    a.answer(Answer::Fill { order_id: 1, last_qty: 3, last_px: 100.0 });
    a.advance(SEC);
    a.submit(0, order(1, 0.0, 0), RequestType::Cancel); // sent: pending cancel
    a.advance(SEC);
    a.submit(0, order(2, 100.5, 20), RequestType::Modify); // sent: pending replace
    a.submit(0, order(3, 0.0, 0), RequestType::Cancel); // no permit: waits in line
    a.submit(0, order(4, 99.5, 15), RequestType::Modify); // no permit: waits in the queue
    a.advance(200 * MS);
    let before = a.events().to_vec();
    let state = fold(&cfg, &before);
    let lives: Vec<(u64, S, u64, u64)> = state
        .open
        .iter()
        .map(|o| (o.order.order_id, o.life.state(), o.life.qty(), o.life.cum_qty()))
        .collect();
    assert_eq!(
        lives,
        [
            (1, S::PendingCancel, 10, 3),
            (2, S::PendingReplace, 10, 0),
            (3, S::Working, 10, 0),
            (4, S::Working, 10, 0)
        ]
    );
    assert_eq!(state.cancels.iter().map(|c| c.0).collect::<Vec<_>>(), [3]);
    let queued: Vec<(u64, bool, u64)> =
        state.queued.iter().map(|q| (q.order.order_id, q.replace, q.order.qty)).collect();
    assert_eq!(queued, [(4, true, 15)]);

    let mut b = Rig::recovered(&cfg, "2026-11-23T10:30:02.500Z", 1, state).expect("recovers");
    for id in 1..=4 {
        assert!(b.engine.open_order(id).is_some(), "order {id} open after the restart");
    }
    // The late answers to the requests sent before the crash match, with their round trips.
    b.answer(Answer::Cancelled { order_id: 1 });
    let cancelled = b.of(oms::EventKind::VenueCancelled);
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].latency_ns, 1_500 * MS, "from the cancel sent at 10:30:01");
    b.answer(Answer::Replaced { order_id: 2 });
    assert_eq!(b.engine.open_order(2).map(|l| (l.qty(), l.price())), Some((20, 100.5)));
    // The waiting cancel goes first at the next permit, then the waiting replace.
    b.advance(2 * SEC);
    assert_eq!(b.engine.exchange().cancels().map(|o| o.order_id).collect::<Vec<_>>(), [3]);
    assert_eq!(b.engine.exchange().replaces().map(|o| (o.order_id, o.qty)).collect::<Vec<_>>(), [(4, 15)]);
    // Order 3 is for 10, nothing filled: a fill of 11 would overfill it and changes nothing.
    b.answer(Answer::Fill { order_id: 3, last_qty: 11, last_px: 100.0 });
    assert_eq!(b.ids(oms::EventKind::UnexpectedReport), [3]);
    let after = shutdown(b);
    assert_audit_clean(&cfg, &before, &after);
}
