//! The kill switch on a manual clock: a halt is one journaled decision (the queue rejected
//! `halted`, a cancel of every working order sent ahead of everything within the throttle),
//! News and Modifies are refused `halted` until the resume while Cancels pass, the switch works
//! from a handle on another thread, a halt survives a crash, and the audit proves that nothing
//! but cancels went out in between (and fails a journal where something did).

mod common;

use common::*;
use oms::EventKind as K;
use oms::audit::{AuditOptions, Auditor, Rule};
use oms::{Config, Event, EventRecord, OrderRequest, RejectReason as R, RequestType, ResponseType, Side};

const MON_0959_59: &str = "2026-11-23T09:59:59Z";

/// 10:00-13:00 UTC, 2 orders a second (burst 2): a queue forms.
fn cfg() -> Config {
    config("10:00:00", "13:00:00", 2, Some(2))
}

fn buy(id: u64) -> OrderRequest {
    OrderRequest::new(id, 7, Side::Buy, 10.0, 5)
}

fn audited(c: &Config, records: &[EventRecord]) -> oms::audit::AuditReport {
    let (window, throttle) = c.rules().expect("rules");
    let mut a = Auditor::new(&window, &throttle, AuditOptions::LIVE);
    for r in records {
        a.push(r);
    }
    a.report()
}

/// Orders 1 and 2 working, 3 and 4 queued.
fn trading(c: &Config) -> Rig {
    let mut rig = Rig::new(c, MON_0959_59, 1);
    rig.advance(SEC);
    for id in 1..=4 {
        rig.submit(0, buy(id), RequestType::New);
    }
    rig.respond(1, ResponseType::Accept);
    rig.respond(2, ResponseType::Accept);
    assert_eq!((rig.sent_ids(), rig.ids(K::Queued)), (vec![1, 2], vec![3, 4]));
    rig
}

#[test]
fn a_halt_rejects_the_queue_cancels_the_working_orders_and_refuses_news_until_the_resume() {
    let c = cfg();
    let mut rig = trading(&c);
    rig.engine.halt();
    assert!(rig.engine.is_halted());
    let kinds = rig.kinds();
    let at = kinds.iter().position(|k| *k == K::Halted).expect("a halted record");
    assert_eq!(&kinds[at..at + 3], [K::Halted, K::Rejected, K::Rejected], "the queue, right after");
    assert_eq!((rig.rejects(3), rig.rejects(4)), (vec![R::Halted], vec![R::Halted]));
    // The throttle is spent: the cancels wait in line, then go out ahead of everything.
    assert_eq!(rig.ids(K::CancelQueued), [1, 2]);
    rig.submit(0, buy(5), RequestType::New);
    rig.submit(0, OrderRequest { qty: 6, ..buy(1) }, RequestType::Modify);
    assert_eq!(rig.rejects(5), [R::Halted]);
    assert_eq!(rig.rejects(1), [R::Halted]);
    rig.advance(SEC);
    assert_eq!(rig.ids(K::CancelSent), [1, 2]);
    rig.answer(oms::Answer::Cancelled { order_id: 1 });
    rig.answer(oms::Answer::Cancelled { order_id: 2 });
    assert_eq!(rig.engine.open_len(), 0);
    rig.engine.resume();
    rig.submit(0, buy(6), RequestType::New);
    rig.advance(SEC);
    assert_eq!(rig.sent_ids(), [1, 2, 6]);
    assert!(rig.kinds().contains(&K::Resumed));
    let report = audited(&c, rig.events());
    assert!(report.is_clean(), "{report}");
    // Six New orders, each counted once (the queue's halted rejections are their fates).
    assert_eq!(report.rule(Rule::Fates).checked, 6, "{report}");
}

#[test]
fn the_switch_halts_from_another_thread_and_an_order_accepted_later_is_cancelled() {
    let c = cfg();
    let valid = c.validate().expect("valid");
    let (clock, _mock) = oms::EngineClock::manual(wall("2026-11-23T10:00:01Z"));
    let (mut b, mut responder) = oms::EngineBuilder::new(&valid.engine, clock);
    let mut p = b.producer().expect("a producer");
    let switch = b.halt_switch();
    let mut e = b.build(oms::exchange::RecordingExchange::default(), oms::MemorySink::default());
    e.poll();
    p.on_data(buy(1), RequestType::New).expect("room");
    e.poll();
    std::thread::spawn(move || switch.halt()).join().expect("the thread");
    e.poll();
    assert!(e.is_halted());
    // Order 1 was sent before the halt: accepted now, it is cancelled.
    responder.on_data(oms::OrderResponse { order_id: 1, response_type: ResponseType::Accept }).expect("room");
    e.poll();
    let kinds: Vec<K> = e.sink().events().iter().map(|r| r.kind).collect();
    assert_eq!(&kinds[kinds.len() - 4..], [K::Halted, K::Response, K::CancelQueued, K::CancelSent]);
}

#[test]
fn a_halt_survives_a_crash_and_nothing_but_cancels_goes_out_after_the_restart() {
    let c = cfg();
    let mut a = trading(&c);
    a.engine.halt();
    let before = a.events().to_vec();
    let valid = c.validate().expect("valid");
    let mut fold = oms::recovery::StateBuilder::new(&valid.engine.session.window, &valid.engine.throttle);
    for r in &before {
        fold.push(r);
    }
    let state = fold.finish();
    assert!(state.halted);
    let mut b = Rig::recovered(&c, "2026-11-23T10:00:05Z", 1, state).expect("restart");
    assert!(b.engine.is_halted(), "still halted");
    b.submit(0, buy(7), RequestType::New);
    assert_eq!(b.rejects(7), [R::Halted]);
    b.advance(SEC);
    assert_eq!(b.ids(K::CancelSent), [1, 2], "the waiting cancels go out");
    assert!(b.ids(K::Sent).is_empty());
    let last = before.last().map_or(0, |r| r.seq);
    let after = b.events().iter().map(|r| EventRecord { seq: r.seq + last, ..*r });
    let joined: Vec<EventRecord> = before.iter().copied().chain(after).collect();
    let report = audited(&c, &joined);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn the_audit_fails_an_order_sent_while_halted_and_a_halted_refusal_without_a_halt() {
    let c = cfg();
    let mut rig = trading(&c);
    rig.engine.halt();
    rig.engine.resume();
    rig.submit(0, buy(8), RequestType::New);
    let records = rig.events().to_vec();
    assert!(audited(&c, &records).is_clean());
    // The resume taken out: order 8 went out while halted.
    let resumed = records.iter().position(|r| r.kind == K::Resumed).expect("resumed");
    let mut tampered: Vec<EventRecord> = records.clone();
    tampered.remove(resumed);
    let tampered: Vec<EventRecord> =
        tampered.into_iter().enumerate().map(|(i, r)| EventRecord { seq: i as u64 + 1, ..r }).collect();
    let report = audited(&c, &tampered);
    assert_eq!(report.broken(), [Rule::Risk], "{report}");
    assert_eq!(report.rule(Rule::Risk).first.as_ref().and_then(|v| v.order_id), Some(8));
    // A New refused halted with no halt.
    let mut rig = trading(&c);
    let t = rig.events().last().map_or(0, |r| r.time_ns);
    let seq = rig.events().len() as u64 + 1;
    let forged = EventRecord {
        seq,
        ..EventRecord::new(
            t,
            Event::Rejected { order: buy(9), request: RequestType::New, reason: R::Halted, value: 0.0 },
        )
    };
    let mut records = rig.events().to_vec();
    records.push(forged);
    assert_eq!(audited(&c, &records).broken(), [Rule::Fates]);
    rig.poll();
}

#[test]
fn halt_and_resume_lines_in_a_scenario() {
    let c = cfg();
    let valid = c.validate().expect("valid");
    let text = "@0 new id=1 sym=7 side=B px=10 qty=5\n@1 response id=1 accept\n@2 new id=2 sym=7 side=B px=10 qty=5\n\
                @3 new id=3 sym=7 side=B px=10 qty=5\n@4 halt\n@5 new id=4 sym=7 side=B px=10 qty=5\n\
                @600 cancelled id=1\n@700 resume\n@800 new id=5 sym=7 side=B px=10 qty=5\n";
    let scenario = oms::replay::parse_scenario(text).expect("parses");
    let start = wall("2026-11-23T10:00:00Z");
    let report =
        oms::replay::replay(&valid, &scenario, start, None, oms::MemorySink::default()).expect("runs");
    let events = report.sink.events();
    let kinds: Vec<K> = events.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&K::Halted) && kinds.contains(&K::Resumed), "{kinds:?}");
    let reasons =
        |id| -> Vec<R> { events.iter().filter(|r| r.order_id == id).filter_map(|r| r.reason).collect() };
    // Order 3 waited for the throttle (2/s, burst 2): rejected with the queue; 4 refused.
    assert_eq!((reasons(3), reasons(4), reasons(5)), (vec![R::Halted], vec![R::Halted], vec![]));
    let cancels: Vec<u64> = events.iter().filter(|r| r.kind == K::CancelSent).map(|r| r.order_id).collect();
    assert_eq!(cancels, [1]);
    let sent: Vec<u64> = events.iter().filter(|r| r.kind == K::Sent).map(|r| r.order_id).collect();
    assert_eq!(sent, [1, 2, 5]);
    let report = oms::audit::audit(
        events,
        &valid.engine.session.window,
        &valid.engine.throttle,
        AuditOptions::VIRTUAL_TIME,
    );
    assert!(report.is_clean(), "{report}");
}
