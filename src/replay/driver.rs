//! The replay driver: runs the real [`Engine`] on a manual clock through a parsed scenario.
//!
//! The loop is the one a live engine thread would run, with idle time skipped: before each
//! scenario event at time `t`, virtual time jumps from wake-up to wake-up — every
//! [`Engine::next_deadline_ns`] (logon, logout, the next throttle permit) and every
//! auto-response due time — up to and including `t`, polling the engine at each. Then the clock
//! is set to `t`, the event is pushed through its producer ring (or the response ring) — which
//! stamps it with the clock's reading, `t` — and the engine is polled until its rings are empty.
//! So at equal times: timers and due auto-responses first, then scenario lines in file order.
//!
//! Every loop makes progress or fails: a deadline that is not after the current time would mean
//! the engine idles with work due (an engine bug) and is reported as
//! [`ReplayError::Stalled`] instead of spinning.

use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;

use quanta::Mock;

use super::scenario::{Action, ScenarioEvent, parse_ms};
use crate::clock::EngineClock;
use crate::config::ValidConfig;
use crate::engine::{BATCH, Engine, EngineBuilder, EngineStats};
use crate::exchange::{AutoAnswer, ScriptedExchange};
use crate::ring::{Producer, Responder};
use crate::sink::EventSink;

/// `--auto-response MS[:accept|reject|fill]`: answer every message sent this long after its
/// send: each order as `kind` says, each cancel and replace carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoResponse {
    /// Delay after the send, ns.
    pub delay_ns: u64,
    /// How each order is answered (accept by default).
    pub kind: AutoAnswer,
}

impl FromStr for AutoResponse {
    type Err = String;

    /// Parses `MS` or `MS:accept` / `MS:reject` / `MS:fill` (MS as in a scenario `@<ms>`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (ms, kind) = match s.split_once(':') {
            None => (s, AutoAnswer::Accept),
            Some((ms, k)) => match AutoAnswer::from_name(k) {
                Some(kind) => (ms, kind),
                None => return Err(format!("{k:?}: expected `accept`, `reject` or `fill` after the ':'")),
            },
        };
        Ok(AutoResponse { delay_ns: parse_ms(ms)?, kind })
    }
}

/// What a finished replay hands back.
#[derive(Debug)]
pub struct ReplayReport<S> {
    /// The engine's final counters.
    pub stats: EngineStats,
    /// The sink, after the engine's shutdown (e.g. a journal to close).
    pub sink: S,
    /// Scenario events replayed.
    pub events: usize,
    /// Virtual wall-clock time at the start, ns since the Unix epoch.
    pub start_wall_ns: i64,
    /// Virtual wall-clock time at shutdown.
    pub end_wall_ns: i64,
    /// Automatic answers still scheduled at shutdown (their orders are `unanswered`).
    pub answers_pending: usize,
}

/// A replay that could not run to the end. None of these depend on the orders' fates (those
/// are in the journal); they mean bad arguments or an engine bug.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The engine reported work due at a time not after the current one, yet did nothing.
    #[error("engine bug: at {now_ns} ns it reports work due at {deadline_ns} ns but does nothing")]
    Stalled {
        /// Virtual monotonic time, ns since the start.
        now_ns: u64,
        /// The deadline it reported.
        deadline_ns: u64,
    },
    /// The engine left messages in its rings after many polls.
    #[error("engine bug: its rings are not empty after {turns} polls at {now_ns} ns")]
    NotDraining {
        /// Virtual monotonic time, ns since the start.
        now_ns: u64,
        /// Polls made.
        turns: usize,
    },
    /// A ring was still full after the engine drained it.
    #[error("line {line}: ring full right after the engine drained it (engine bug)")]
    RingFull {
        /// Scenario line (0 for an auto-response).
        line: usize,
    },
    /// The engine refused a line that is not a request of a producer (a `reference` with a
    /// price that is not one: the parser refuses those first).
    #[error("line {line}: refused {what}")]
    Refused {
        /// Scenario line.
        line: usize,
        /// The reason's name.
        what: &'static str,
    },
    /// The scenario runs past the end of the `i64` nanosecond range (year 2262).
    #[error("line {line}: start + {at_ns} ns is beyond the year 2262 (ns since 1970 overflow an i64)")]
    TimeOutOfRange {
        /// Scenario line.
        line: usize,
        /// Its time, ns since the start.
        at_ns: u64,
    },
}

/// Replays `scenario` through a fresh engine built from `cfg`, starting at virtual wall-clock
/// `start_wall_ns`, and returns once the engine has shut down. Before each event, virtual time
/// runs through every engine deadline and due auto-response up to the event's time; the event is
/// then pushed through its ring, stamped with that time. See [`crate::replay`] for the semantics
/// (same-time order, what happens after the last line).
///
/// Errors only for an out-of-range start or an engine that does not make progress; never hangs.
pub fn replay<S: EventSink>(
    cfg: &ValidConfig,
    scenario: &[ScenarioEvent],
    start_wall_ns: i64,
    auto: Option<AutoResponse>,
    sink: S,
) -> Result<ReplayReport<S>, ReplayError> {
    if let Some(last) = scenario.last()
        && start_wall_ns.checked_add_unsigned(last.at_ns).is_none()
    {
        return Err(ReplayError::TimeOutOfRange { line: last.line, at_ns: last.at_ns });
    }
    let producers = scenario
        .iter()
        .map(|e| match e.action {
            Action::Request { producer, .. } => producer + 1,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    let mut d = Driver::new(cfg, start_wall_ns, auto, producers, sink);
    d.settle()?;
    for ev in scenario {
        d.run_until(ev.at_ns)?;
        match ev.action {
            Action::Request { producer, request, order } => {
                let ring = d.producers.get_mut(producer).ok_or(ReplayError::RingFull { line: ev.line })?;
                if ring.on_data(order, request).is_err() {
                    return Err(ReplayError::RingFull { line: ev.line });
                }
            }
            Action::Answer(a) => {
                if d.responder.on_answer(a).is_err() {
                    return Err(ReplayError::RingFull { line: ev.line });
                }
            }
            Action::Advance => {}
            Action::Halt => d.engine.halt(),
            Action::Resume => d.engine.resume(),
            Action::Reference { symbol, price } => {
                d.engine
                    .set_reference(symbol, price)
                    .map_err(|reason| ReplayError::Refused { line: ev.line, what: reason.name() })?;
            }
        }
        d.settle()?;
    }
    d.run_tail()?;
    let end_wall_ns = d.engine.clock().wall_ns(d.now());
    let answers_pending = d.engine.exchange().pending();
    let report = d.engine.shutdown();
    Ok(ReplayReport {
        stats: report.stats,
        sink: report.sink,
        events: scenario.len(),
        start_wall_ns,
        end_wall_ns,
        answers_pending,
    })
}

/// The engine, its clock and its handles.
struct Driver<S: EventSink> {
    engine: Engine<ScriptedExchange, S>,
    mock: Arc<Mock>,
    producers: Vec<Producer>,
    responder: Responder,
    /// Most polls `settle` makes before calling the engine stuck.
    max_turns: usize,
}

impl<S: EventSink> Driver<S> {
    fn new(cfg: &ValidConfig, start: i64, auto: Option<AutoResponse>, producers: usize, sink: S) -> Self {
        let (clock, mock) = EngineClock::manual(start);
        let exchange = ScriptedExchange::new(clock.clone(), auto.map(|a| (a.delay_ns, a.kind)));
        let (mut b, responder) = EngineBuilder::new(&cfg.engine, clock);
        let producers = (0..producers).map(|_| b.producer().expect("a producer handle")).collect();
        let engine = b.build(exchange, sink);
        // Each poll takes up to BATCH messages per ring; the rings hold at most ring_capacity.
        let max_turns = cfg.engine.capacities.ring_capacity.get() / BATCH + 2;
        let max_turns = NonZeroUsize::new(max_turns.saturating_mul(2)).map_or(2, NonZeroUsize::get);
        Driver { engine, mock, producers, responder, max_turns }
    }

    #[inline]
    fn now(&self) -> u64 {
        self.engine.clock().now_ns()
    }

    /// Moves the clock forward to `t` (never back).
    #[inline]
    fn set_time(&mut self, t: u64) {
        let now = self.now();
        if t > now {
            self.mock.increment(t - now);
        }
    }

    /// Polls until the rings are empty and no queued order could go now (a turn sends at most
    /// a batch of queued orders).
    #[inline]
    fn settle(&mut self) -> Result<(), ReplayError> {
        for _ in 0..self.max_turns {
            self.engine.poll();
            let now = self.now();
            if self.engine.rings_empty() && self.engine.next_send_ns().is_none_or(|t| t > now) {
                return Ok(());
            }
        }
        Err(ReplayError::NotDraining { now_ns: self.now(), turns: self.max_turns })
    }

    /// The next instant something happens without input: an engine deadline or an auto-response.
    #[inline]
    fn next_wake(&self) -> Result<Option<u64>, ReplayError> {
        let now = self.now();
        let engine = self.engine.next_deadline_ns();
        if let Some(d) = engine
            && d <= now
        {
            return Err(ReplayError::Stalled { now_ns: now, deadline_ns: d });
        }
        let due = self.engine.exchange().next_due_ns();
        Ok(match (engine, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Runs every wake-up at or before `target`, then sets the clock to `target`.
    #[inline]
    fn run_until(&mut self, target: u64) -> Result<(), ReplayError> {
        while let Some(wake) = self.next_wake()?.filter(|w| *w <= target) {
            self.set_time(wake);
            self.deliver_due()?;
            self.settle()?;
        }
        self.set_time(target);
        Ok(())
    }

    /// Pushes every automatic answer due now into the response ring (draining it when full).
    fn deliver_due(&mut self) -> Result<(), ReplayError> {
        let now = self.now();
        while let Some(a) = self.engine.exchange_mut().pop_due(now) {
            if self.responder.on_answer(a).is_err() {
                self.settle()?;
                if self.responder.on_answer(a).is_err() {
                    return Err(ReplayError::RingFull { line: 0 });
                }
            }
        }
        Ok(())
    }

    /// After the last line: keep time running while the session is on and the queue holds orders
    /// (or replaces), cancels wait for a permit, or automatic answers are owed, but not past the
    /// window end (the logout is a wake-up).
    fn run_tail(&mut self) -> Result<(), ReplayError> {
        while self.engine.logged_on()
            && (self.engine.queue_len() > 0
                || self.engine.next_send_ns().is_some()
                || self.engine.exchange().pending() > 0)
        {
            match self.next_wake()? {
                Some(wake) => self.run_until(wake)?,
                None => break,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::{EventKind as K, RejectReason as R};
    use crate::record::EventRecord;
    use crate::replay::{parse_scenario, parse_start};
    use crate::sink::MemorySink;

    const MS: u64 = 1_000_000;

    fn run(window: (&str, &str), rate: u32, text: &str, auto: Option<&str>) -> Vec<EventRecord> {
        run_closing(window, rate, text, auto, true)
    }

    /// [`run`], choosing whether the working orders are cancelled at the window's end.
    fn run_closing(
        window: (&str, &str),
        rate: u32,
        text: &str,
        auto: Option<&str>,
        cancel_on_logout: bool,
    ) -> Vec<EventRecord> {
        let mut c = Config::default();
        c.session.cancel_on_logout = cancel_on_logout;
        c.session.timezone = "UTC".into();
        (c.session.start, c.session.end) = (window.0.into(), window.1.into());
        c.throttle.max_orders_per_sec = rate;
        c.throttle.burst = Some(1);
        let cfg = c.validate().unwrap();
        let sc = parse_scenario(text).unwrap();
        let start = parse_start("2026-11-23T10:00:00Z").unwrap();
        let auto = auto.map(|a| a.parse().unwrap());
        let r = replay(&cfg, &sc, start, auto, MemorySink::default()).unwrap();
        r.sink.events().to_vec()
    }

    fn kinds(ev: &[EventRecord]) -> Vec<(K, u64)> {
        ev.iter().map(|e| (e.kind, e.order_id)).collect()
    }

    fn at(ev: &[EventRecord], k: K, id: u64) -> i64 {
        let start = parse_start("2026-11-23T10:00:00Z").unwrap();
        ev.iter().find(|e| e.kind == k && e.order_id == id).map(|e| e.time_ns - start).unwrap()
    }

    #[test]
    fn scripted_response_latency_is_exact() {
        let ev = run(
            ("10:00", "11:00"),
            10,
            "@0 new id=1 sym=1 side=B px=1 qty=1\n@150 response id=1 accept\n@160 fill id=1 qty=1 px=1\n",
            None,
        );
        let r = ev.iter().find(|e| e.kind == K::Response).unwrap();
        assert_eq!((r.latency_ns, at(&ev, K::Response, 1)), (150 * MS, 150 * MS as i64));
        assert_eq!(
            kinds(&ev),
            [(K::Logon, 0), (K::Sent, 1), (K::Response, 1), (K::Filled, 1), (K::Logout, 0)]
        );
    }

    /// Scripted answers for three orders: a partial fill, a replace and the rest filled on the
    /// new quantity; a cancel of a working order; a cancel that loses the race to a fill. Round
    /// trips are exact.
    #[test]
    fn scripted_answers_drive_a_whole_life_with_exact_round_trips() {
        let text = "@0 new id=1 sym=1 side=B px=10 qty=10\n@0 new id=2 sym=1 side=B px=10 qty=10\n\
                    @0 new id=3 sym=1 side=B px=10 qty=10\n\
                    @5 response id=1 accept\n@5 response id=2 accept\n@5 response id=3 accept\n\
                    @20 fill id=1 qty=4 px=10\n@30 modify id=1 px=11 qty=20\n@45 replaced id=1\n\
                    @50 fill id=1 qty=16 px=11\n\
                    @60 cancel id=2\n@60 cancel id=3\n@65 fill id=3 qty=10 px=10\n\
                    @70 cancel_rejected id=3\n@72 cancelled id=2\n";
        // 1000/s, burst 1: one permit a ms (the cancel of 3 waits for @61).
        let ev = run(("10:00", "11:00"), 1000, text, None);
        let of = |id: u64| ev.iter().filter(|e| e.order_id == id).map(|e| e.kind).collect::<Vec<_>>();
        assert_eq!(of(1), [K::Sent, K::Response, K::Fill, K::ReplaceSent, K::Replaced, K::Filled]);
        assert_eq!(of(2), [K::Queued, K::Sent, K::Response, K::CancelSent, K::VenueCancelled]);
        let race =
            [K::Queued, K::Sent, K::Response, K::CancelQueued, K::CancelSent, K::Filled, K::UnexpectedReport];
        assert_eq!(of(3), race);
        assert_eq!(at(&ev, K::CancelSent, 3), 61 * MS as i64);
        let find = |k: K, id: u64| *ev.iter().find(|e| e.kind == k && e.order_id == id).unwrap();
        assert_eq!(find(K::Replaced, 1).latency_ns, 15 * MS);
        assert_eq!((find(K::Filled, 1).qty, find(K::Filled, 1).latency_ns), (16, 20), "16 filled, 20 done");
        assert_eq!(find(K::VenueCancelled, 2).latency_ns, 12 * MS);
        assert!(!ev.iter().any(|e| e.kind == K::Unanswered));
    }

    #[test]
    fn automatic_answers_carry_out_cancels_and_replaces_and_may_fill() {
        let text = "@0 new id=1 sym=1 side=B px=10 qty=10\n@10 modify id=1 px=11 qty=12\n@20 cancel id=1\n";
        let ev = run(("10:00", "11:00"), 1000, text, Some("5"));
        let want = [
            K::Logon,
            K::Sent,
            K::Response,
            K::ReplaceSent,
            K::Replaced,
            K::CancelSent,
            K::VenueCancelled,
            K::Logout,
        ];
        assert_eq!(ev.iter().map(|e| e.kind).collect::<Vec<_>>(), want);
        assert_eq!(
            [at(&ev, K::Response, 1), at(&ev, K::Replaced, 1), at(&ev, K::VenueCancelled, 1)],
            [5, 15, 25].map(|m| m * MS as i64)
        );
        let ev = run(("10:00", "11:00"), 1000, "@0 new id=1 sym=1 side=S px=9.5 qty=7\n", Some("5:fill"));
        assert_eq!(
            kinds(&ev),
            [(K::Logon, 0), (K::Sent, 1), (K::Response, 1), (K::Filled, 1), (K::Logout, 0)]
        );
        let filled = ev.iter().find(|e| e.kind == K::Filled).unwrap();
        assert_eq!((filled.qty, filled.price, at(&ev, K::Filled, 1)), (7, 9.5, 5 * MS as i64));
    }

    #[test]
    fn queued_orders_go_at_throttle_times_and_the_tail_waits_for_auto_answers() {
        // 10/s, burst 1: permits every 100 ms.
        let text = "@0 new id=1 sym=1 side=B px=1 qty=1\n@0 new id=2 sym=1 side=B px=1 qty=1\n\
                    @0 new id=3 sym=1 side=B px=1 qty=1\n";
        let ev = run(("10:00", "11:00"), 10, text, Some("5:reject"));
        assert_eq!(
            [at(&ev, K::Sent, 1), at(&ev, K::Sent, 2), at(&ev, K::Sent, 3)],
            [0, 100, 200].map(|m| m * MS as i64)
        );
        assert_eq!(at(&ev, K::Response, 3), 205 * MS as i64);
        assert!(ev.iter().filter(|e| e.kind == K::Response).all(|e| e.latency_ns == 5 * MS));
        assert!(!ev.iter().any(|e| e.kind == K::Unanswered));
        // The shutdown logout happens when the last answer is in, not at the window end.
        assert_eq!(at(&ev, K::Logout, 0), 205 * MS as i64);
    }

    #[test]
    fn the_tail_stops_at_the_window_end() {
        // A 1 s window at 1/s: order 2 is still queued at the end, order 1 still unanswered.
        // Without cancel_on_logout the Logout goes at the window's end.
        let text = "@0 new id=1 sym=1 side=B px=1 qty=1\n@0 new id=2 sym=1 side=B px=1 qty=1\n";
        let ev = run_closing(("10:00:00", "10:00:01"), 1, text, Some("2000"), false);
        assert_eq!(at(&ev, K::Logout, 0), 1_000 * MS as i64);
        let rej: Vec<_> =
            ev.iter().filter(|e| e.kind == K::Rejected).map(|e| (e.order_id, e.reason)).collect();
        assert_eq!(rej, [(2, Some(R::SessionEnded))]);
        assert_eq!(at(&ev, K::Unanswered, 1), 1_000 * MS as i64, "its answer was due after the end");
    }

    #[test]
    fn at_the_window_end_working_orders_are_cancelled_before_the_logout() {
        let text = "@0 new id=1 sym=1 side=B px=1 qty=1\n@0 new id=2 sym=1 side=B px=1 qty=1\n";
        let ev = run(("10:00:00", "10:00:01"), 1, text, Some("2000"));
        // Order 2 never went out; order 1 is accepted inside the 2 s grace and its cancel goes
        // at once, but its answer (2 s later) is due after the grace: unanswered at the Logout.
        let k: Vec<_> = kinds(&ev).into_iter().filter(|&(k, _)| k != K::Queued).collect();
        assert_eq!(
            k,
            [
                (K::Logon, 0),
                (K::Sent, 1),
                (K::Rejected, 2),
                (K::Response, 1),
                (K::CancelQueued, 1),
                (K::CancelSent, 1),
                (K::Unanswered, 1),
                (K::Logout, 0)
            ]
        );
        assert_eq!(at(&ev, K::Rejected, 2), 1_000 * MS as i64, "the queue is rejected at the end");
        assert_eq!(at(&ev, K::CancelSent, 1), 2_000 * MS as i64, "cancelled as soon as it works");
        assert_eq!(at(&ev, K::Logout, 0), 3_000 * MS as i64, "the grace ends the closing");
        assert_eq!(at(&ev, K::Unanswered, 1), 3_000 * MS as i64);
    }

    #[test]
    fn timers_at_an_events_time_run_before_it() {
        // The window opens at 10:00:01 (1000 ms in): an order at exactly 1000 ms is inside.
        let ev = run(
            ("10:00:01", "11:00"),
            10,
            "@999.999999 new id=1 sym=1 side=B px=1 qty=1\n@1000 new id=2 sym=1 side=B px=1 qty=1\n",
            None,
        );
        assert_eq!(kinds(&ev)[..3], [(K::Rejected, 1), (K::Logon, 0), (K::Sent, 2)]);
    }

    #[test]
    fn a_full_sink_rejects_journal_full() {
        let mut c = Config::default();
        c.session.timezone = "UTC".into();
        let cfg = c.validate().unwrap();
        let sc = parse_scenario("@0 new id=1 sym=1 side=B px=1 qty=1\n@0 new id=2 sym=1 side=B px=1 qty=1\n")
            .unwrap();
        let start = parse_start("2026-11-23T10:00:00Z").unwrap();
        // Room for the logon and one send; the reserve keeps the rest.
        let r = replay(&cfg, &sc, start, None, MemorySink::with_capacity(2)).unwrap();
        let ev = r.sink.events();
        assert_eq!(kinds(ev)[..3], [(K::Logon, 0), (K::Sent, 1), (K::Rejected, 2)]);
        assert_eq!(ev[2].reason, Some(R::JournalFull));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert_eq!(
            "150".parse::<AutoResponse>(),
            Ok(AutoResponse { delay_ns: 150 * MS, kind: AutoAnswer::Accept })
        );
        assert_eq!("0.5:reject".parse::<AutoResponse>().map(|a| a.kind), Ok(AutoAnswer::Reject));
        assert_eq!("2:fill".parse::<AutoResponse>().map(|a| a.kind), Ok(AutoAnswer::Fill));
        assert_eq!("2:accept".parse::<AutoResponse>().map(|a| a.kind), Ok(AutoAnswer::Accept));
        for bad in ["", "x", "1:maybe", "-1", "1:", "1:FILL"] {
            assert!(bad.parse::<AutoResponse>().is_err(), "{bad:?}");
        }
        let cfg = Config::default().validate().unwrap();
        let sc = parse_scenario("@18446744073709 advance\n").unwrap();
        let err = replay(&cfg, &sc, i64::MAX - 5, None, MemorySink::default()).unwrap_err();
        assert!(matches!(err, ReplayError::TimeOutOfRange { line: 1, .. }));
    }
}
