//! [`Auditor`]: replays records, one at a time, against a model of the session, the queue and
//! the orders in flight, and notes the first violation of each rule.

use crate::model::{EventKind, OrderRequest, RejectReason, RequestType, SessionEvent};
use crate::record::{Event, EventRecord};
use crate::session::{TradingWindow, WindowSpan};
use crate::throttle::{ThrottleMode, ThrottleSettings};

use super::bounds::{Excess, SlidingWindowBound, TokenBucketBound};
use super::orders::{InFlight, Live, Orders, Queued};
use super::{AuditOptions, AuditReport, Rule, RuleReport, Violation};

/// The throttle bound of the configured mode.
#[derive(Debug)]
enum Bound {
    Sliding(SlidingWindowBound),
    Bucket(TokenBucketBound),
}

/// A logged-on session.
#[derive(Clone, Copy, Debug)]
struct Open {
    span: WindowSpan,
    logon_seq: u64,
}

/// What the journal says about the exchange session since the engine's last logon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExchangeState {
    /// No `exchange_session` record since the logon: either an exchange without a session of
    /// its own (ready as soon as the engine logs on) or one that has not reported yet.
    Silent {
        /// The first send since the logon (seq, order id) and how many followed, to be judged
        /// if an `exchange_session` record shows the exchange has a session of its own.
        sends: Option<(u64, u64, u64)>,
    },
    /// Logged on at this record.
    Ready,
    /// Down since this record (refused, disconnected, logged out) with this event.
    Down(u64, SessionEvent),
}

/// Per-rule tally.
#[derive(Debug, Default)]
struct Tally {
    checked: u64,
    violations: u64,
    first: Option<Violation>,
}

/// Checks a sequence of records against the rules; see the [module docs](super).
///
/// Feed it with [`push`](Auditor::push) (records in journal order), then call
/// [`finish`](Auditor::finish) once the journal is complete. [`report`](Auditor::report) reads
/// the state so far (every rule except the end-of-journal checks).
#[derive(Debug)]
pub struct Auditor {
    window: TradingWindow,
    throttle: ThrottleSettings,
    options: AuditOptions,
    tally: [Tally; Rule::ALL.len()],
    records: u64,
    last_time: Option<i64>,
    last_seq: u64,
    session: Option<Open>,
    /// After a logout before its window's end (a shutdown): that window's end. Until the next
    /// logon, a record earlier than it can only be an `unanswered`.
    stopped_until: Option<i64>,
    /// A shutdown was seen since the last logon (a `shutdown` reject, an `unanswered`, an early
    /// logout): the next logon may be late (the engine restarted).
    shutdown_seen: bool,
    /// After a `recovered` record, until the next logon (over any number of restarts without a
    /// logon): the window of the session the engine was logged on in when it stopped (it died
    /// with the process). A logon into that same
    /// window continues its session (the token bucket is not refilled); `session_ended`
    /// rejects after that window's end need no session and no logout (the restarted engine
    /// rejects the orders the ended window left queued).
    crashed: Option<WindowSpan>,
    /// Inside a run of `session_ended` rejects: the seq of its first.
    ending: Option<u64>,
    orders: Orders,
    bound: Bound,
    exchange: ExchangeState,
}

impl Auditor {
    /// An auditor for the rules of `window` and `throttle`.
    pub fn new(window: &TradingWindow, throttle: &ThrottleSettings, options: AuditOptions) -> Self {
        let bound = match throttle.mode {
            ThrottleMode::SlidingWindow => {
                Bound::Sliding(SlidingWindowBound::new(u64::from(throttle.rate.get())))
            }
            ThrottleMode::TokenBucket => {
                Bound::Bucket(TokenBucketBound::new(throttle.rate.get(), throttle.burst.get()))
            }
        };
        Auditor {
            window: window.clone(),
            throttle: *throttle,
            options,
            tally: Default::default(),
            records: 0,
            last_time: None,
            last_seq: 0,
            session: None,
            stopped_until: None,
            shutdown_seen: false,
            crashed: None,
            ending: None,
            orders: Orders::default(),
            bound,
            exchange: ExchangeState::Silent { sends: None },
        }
    }

    /// Orders the journal shows in the queue so far.
    pub fn queued(&self) -> usize {
        self.orders.queued_len()
    }

    /// Orders the journal shows in flight so far.
    pub fn in_flight(&self) -> usize {
        self.orders.in_flight_len()
    }

    /// Whether the journal shows a session logged on.
    pub fn logged_on(&self) -> bool {
        self.session.is_some()
    }

    /// Whether every rule holds so far (cheaper than [`report`](Auditor::report), for checking
    /// after every step).
    pub fn is_clean(&self) -> bool {
        self.tally.iter().all(|t| t.first.is_none())
    }

    /// The rules as checked so far (no end-of-journal checks).
    pub fn report(&self) -> AuditReport {
        let rules = Rule::ALL
            .iter()
            .zip(&self.tally)
            .map(|(rule, t)| RuleReport {
                rule: *rule,
                statement: rule.statement(&self.throttle, &self.options),
                checked: t.checked,
                first: t.first.clone(),
                violations: t.violations,
            })
            .collect();
        AuditReport { records: self.records, complete: false, rules }
    }

    /// Ends the audit: every order must have its fate and no session may be left open.
    pub fn finish(mut self) -> AuditReport {
        if let Some(seq) = self.ending {
            self.fail(Rule::SessionEnd, seq, None, || {
                "session_ended rejects at the end of the journal, with no logout after them".into()
            });
        }
        if let Some(open) = self.session {
            self.fail(Rule::Sessions, open.logon_seq, None, || {
                "the journal ends while this session is logged on: no logout at its end or at shutdown".into()
            });
        }
        if let Some((id, live)) = self.orders.oldest() {
            let n = self.orders.len();
            self.fail(Rule::Fates, live.since_seq(), Some(id), || {
                format!(
                    "{n} order(s) without a fate at the end of the journal; the earliest is still {} \
                     (was the engine still running, or are records missing?)",
                    live.state()
                )
            });
        }
        let mut report = self.report();
        report.complete = true;
        report
    }

    /// Notes a violation of `rule` at record `seq`; the message is built only for the first.
    fn fail(&mut self, rule: Rule, seq: u64, order_id: Option<u64>, message: impl FnOnce() -> String) {
        let t = &mut self.tally[rule as usize];
        t.violations += 1;
        if t.first.is_none() {
            t.first = Some(Violation { rule, seq, order_id, message: message() });
        }
    }

    fn count(&mut self, rule: Rule) {
        self.tally[rule as usize].checked += 1;
    }

    /// Checks one record (records in journal order).
    pub fn push(&mut self, r: &EventRecord) {
        self.check_record(r);
        if let Some(first) = self.ending
            && !(r.kind == EventKind::Logout
                || r.kind == EventKind::Recovered
                || (r.kind == EventKind::Rejected && r.reason == Some(RejectReason::SessionEnded)))
        {
            self.ending = None;
            self.fail(Rule::SessionEnd, r.seq, id_of(r), || {
                format!(
                    "a {} record interrupts the session_ended rejects begun at seq {first}: they \
                         come right before the logout",
                    r.kind.name()
                )
            });
        }
        if let Some(end) = self.stopped_until
            && !after_shutdown_logout(r.kind)
            && r.time_ns < end
        {
            self.stopped_until = None;
            self.fail(Rule::Sessions, r.seq, id_of(r), || {
                format!(
                    "a {} record after a logout before the window's end: only a shutdown logs out \
                         early, and after it only what the exchange answers while the logout goes \
                         out, and unanswered records, follow",
                    r.kind.name()
                )
            });
        }
        match r.kind {
            EventKind::Logon => self.on_logon(r),
            EventKind::Logout => self.on_logout(r),
            EventKind::Queued => self.on_queued(r),
            EventKind::Sent => self.on_sent(r),
            EventKind::Modified => self.on_modified(r),
            EventKind::Cancelled => self.on_cancelled(r),
            EventKind::Rejected => self.on_rejected(r),
            EventKind::Response => self.on_response(r),
            EventKind::UnmatchedResponse => self.on_unmatched(r),
            EventKind::Unanswered => self.on_unanswered(r),
            // Record sanity only (above): the step itself moves no order.
            EventKind::ClockStep => {}
            EventKind::Recovered => self.on_recovered(r),
            // The journal's own note that a flush failed: it moves no order (`oms verify` is
            // what fails such a journal).
            EventKind::SyncFailed => {}
            EventKind::ExchangeSession => self.on_exchange_session(r),
            EventKind::Execution | EventKind::ExchangeReject => self.on_exchange_order_event(r),
        }
    }

    /// Sequence numbers, times, and the fields each kind must have.
    fn check_record(&mut self, r: &EventRecord) {
        self.records += 1;
        self.count(Rule::Records);
        // Wrapping: after a (crafted) u64::MAX, 0 is due, which no record holds.
        let expected = self.last_seq.wrapping_add(1);
        if r.seq != expected {
            self.fail(Rule::Records, r.seq, None, || {
                format!(
                    "sequence number {} where {expected} was due: records are missing or out of order",
                    r.seq
                )
            });
        }
        self.last_seq = r.seq;
        // A clock step re-anchors wall time at a logon: a backward step may put its record (and
        // what follows) before the previous record, by at most the step.
        let allowed_back = if r.kind == EventKind::ClockStep { (r.latency_ns as i64).min(0) } else { 0 };
        if let Some(last) = self.last_time
            && r.time_ns < last.saturating_add(allowed_back)
        {
            self.fail(Rule::Records, r.seq, id_of(r), || {
                format!("time goes back by {} ns from the previous record", last.abs_diff(r.time_ns))
            });
        }
        self.last_time = Some(match self.last_time {
            Some(t) if r.kind != EventKind::ClockStep => t.max(r.time_ns),
            _ => r.time_ns,
        });
        let request = match r.kind {
            EventKind::Logon
            | EventKind::Logout
            | EventKind::UnmatchedResponse
            | EventKind::ClockStep
            | EventKind::Recovered
            | EventKind::SyncFailed
            | EventKind::ExchangeSession
            | EventKind::Execution
            | EventKind::ExchangeReject => Some(RequestType::Unknown),
            EventKind::Queued | EventKind::Sent | EventKind::Response | EventKind::Unanswered => {
                Some(RequestType::New)
            }
            EventKind::Modified => Some(RequestType::Modify),
            EventKind::Cancelled => Some(RequestType::Cancel),
            EventKind::Rejected => None,
        };
        if request.is_some_and(|q| q != r.request) {
            self.fail(Rule::Records, r.seq, id_of(r), || {
                format!("a {} record answering a {} request", r.kind.name(), r.request.name())
            });
        }
        if (r.kind == EventKind::Rejected) != r.reason.is_some() {
            self.fail(Rule::Records, r.seq, id_of(r), || {
                format!(
                    "a {} record {} a reject reason",
                    r.kind.name(),
                    if r.reason.is_some() { "with" } else { "without" }
                )
            });
        }
    }

    fn on_logon(&mut self, r: &EventRecord) {
        self.count(Rule::Sessions);
        if let Some(open) = self.session {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logon while the session logged on at seq {} is still on: sessions overlap",
                    open.logon_seq
                )
            });
        }
        let t = r.time_ns;
        let span = match self.window.current_or_next(t) {
            Some(span) if span.contains(t) => span,
            other => {
                self.fail(Rule::Sessions, r.seq, None, || match other {
                    Some(next) => format!(
                        "logon while no trading window is open (the next opens in {}): a logon for a \
                         window already over, or before its start",
                        between(next.start_ns, t)
                    ),
                    None => "logon while no trading window is open or ahead".into(),
                });
                WindowSpan { start_ns: t, end_ns: t }
            }
        };
        let start_up = self.records == 1 || self.shutdown_seen;
        if self.options.exact_timers && t != span.start_ns && span.contains(t) && !start_up {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logon {} after its window opened, though the engine was running (not a start-up)",
                    between(t, span.start_ns)
                )
            });
        }
        // A logon into the window the engine was logged on in when it stopped continues that
        // session: the restarted engine restores its bucket instead of refilling it.
        let continues = self.crashed.take() == Some(span);
        if let Bound::Bucket(b) = &mut self.bound
            && !continues
        {
            b.reset();
        }
        self.session = Some(Open { span, logon_seq: r.seq });
        self.stopped_until = None;
        self.shutdown_seen = false;
        self.exchange = ExchangeState::Silent { sends: None };
    }

    fn on_logout(&mut self, r: &EventRecord) {
        self.count(Rule::SessionEnd);
        // The engine's logout ends the exchange session too (until the next logon).
        self.exchange = ExchangeState::Down(r.seq, SessionEvent::LoggedOut);
        let t = r.time_ns;
        let ending = self.ending.take();
        if let Some((first, n)) = self.orders.drop_queue() {
            self.fail(Rule::SessionEnd, r.seq, Some(first), || {
                format!(
                    "{n} order(s) still queued at the logout without a reject (session_ended at the window's \
                     end, shutdown at shutdown); this one is the oldest"
                )
            });
        }
        let Some(open) = self.session.take() else {
            self.fail(Rule::Sessions, r.seq, None, || "logout with no session logged on".into());
            return;
        };
        let span = open.span;
        if t < span.end_ns {
            // Only a shutdown logs out before the window's end.
            if let Some(first) = ending {
                self.fail(Rule::SessionEnd, first, None, || {
                    format!(
                        "orders rejected session_ended at a logout {} before the window's end",
                        between(span.end_ns, t)
                    )
                });
            }
            self.stopped_until = Some(span.end_ns);
            self.shutdown_seen = true;
            return;
        }
        if self.options.exact_timers && t != span.end_ns {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!("logout {} after the window's end", between(t, span.end_ns))
            });
        }
        if let Some(next) = self.window.current_or_next(span.end_ns)
            && t >= next.start_ns
        {
            self.fail(Rule::Sessions, r.seq, None, || {
                format!(
                    "logout {} after the next window opened: the session ran into it",
                    between(t, next.start_ns)
                )
            });
        }
    }

    /// The window rule for an order sent or queued at `r`.
    fn check_window(&mut self, r: &EventRecord) {
        self.count(Rule::Window);
        match self.session {
            None => self.fail(Rule::Window, r.seq, Some(r.order_id), || {
                format!("{} while no session is logged on", r.kind.name())
            }),
            Some(open) if !open.span.contains(r.time_ns) => {
                self.fail(Rule::Window, r.seq, Some(r.order_id), || {
                    let (start, end) = (open.span.start_ns, open.span.end_ns);
                    if r.time_ns >= end {
                        format!("{} {} after the window closed", r.kind.name(), between(r.time_ns, end))
                    } else {
                        format!("{} {} before the window opened", r.kind.name(), between(start, r.time_ns))
                    }
                })
            }
            Some(_) => {}
        }
    }

    /// A send needs the exchange session up: never after it reported itself down (until it
    /// logs on again); sends before its first report are judged when that report comes.
    fn check_exchange_ready(&mut self, r: &EventRecord) {
        match &mut self.exchange {
            ExchangeState::Ready => {}
            ExchangeState::Silent { sends: Some((_, _, n)) } => *n += 1,
            ExchangeState::Silent { sends } => *sends = Some((r.seq, r.order_id, 1)),
            ExchangeState::Down(since, event) => {
                let (since, event) = (*since, *event);
                self.fail(Rule::Window, r.seq, Some(r.order_id), || {
                    format!(
                        "sent while the exchange session was down ({} at seq {since}): orders wait \
                         in the queue until it logs on again",
                        event.name()
                    )
                });
            }
        }
    }

    fn on_exchange_session(&mut self, r: &EventRecord) {
        let Event::ExchangeSession(report) = r.event() else {
            // Decoding guarantees the detail of this kind; a hand-made record may not.
            self.fail(Rule::Records, r.seq, None, || "an exchange_session record without its event".into());
            return;
        };
        let event = report.event();
        if let ExchangeState::Silent { sends: Some((seq, id, n)) } = self.exchange {
            self.fail(Rule::Window, seq, Some(id), || {
                format!(
                    "{n} order(s) sent after the logon before the exchange session reported anything \
                     (its first report, {} at seq {}, shows it has a session of its own: orders wait \
                     for it to log on)",
                    event.name(),
                    r.seq
                )
            });
        }
        self.exchange = match event.ready_after() {
            Some(true) => ExchangeState::Ready,
            Some(false) => ExchangeState::Down(r.seq, event),
            None => match self.exchange {
                ExchangeState::Silent { .. } => ExchangeState::Ready,
                other => other,
            },
        };
    }

    /// An execution report or an exchange reject names an order whose first answer (its
    /// `response`) is already recorded, or one this journal does not know.
    fn on_exchange_order_event(&mut self, r: &EventRecord) {
        self.count(Rule::Responses);
        let id = r.order_id;
        match self.orders.get(id).copied() {
            None => {}
            Some(Live::InFlight(f)) => self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "a {} record for an order in flight since seq {} without its response: the \
                     response (its first answer) is recorded first",
                    r.kind.name(),
                    f.since_seq
                )
            }),
            Some(Live::Queued(q)) => self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "a {} record for an order queued since seq {}: it never reached the exchange",
                    r.kind.name(),
                    q.since_seq
                )
            }),
        }
    }

    fn check_well_formed(&mut self, r: &EventRecord) {
        self.count(Rule::WellFormed);
        let price_ok = r.price.is_finite() && r.price > 0.0;
        if !price_ok || r.qty == 0 || !matches!(r.side, 'B' | 'S') {
            self.fail(Rule::WellFormed, r.seq, Some(r.order_id), || {
                format!("{} with price {}, qty {}, side {:?}", r.kind.name(), r.price, r.qty, r.side)
            });
        }
    }

    fn on_queued(&mut self, r: &EventRecord) {
        self.count(Rule::Fates);
        self.check_window(r);
        self.check_well_formed(r);
        if let Some(live) = self.orders.get(r.order_id).copied() {
            self.fail(Rule::Fates, r.seq, Some(r.order_id), || {
                format!("queued while an order with this id is still {} (since seq {}): that is a duplicate_order_id",
                    live.state(), live.since_seq())
            });
        }
        let q = Queued {
            ticket: 0,
            since_seq: r.seq,
            symbol_id: r.symbol_id,
            side: r.side,
            price: r.price,
            qty: r.qty,
            modified: false,
        };
        self.orders.enqueue(r.order_id, q);
    }

    fn on_sent(&mut self, r: &EventRecord) {
        let id = r.order_id;
        self.check_window(r);
        self.check_exchange_ready(r);
        self.check_well_formed(r);
        self.count(Rule::Throttle);
        let excess = match &mut self.bound {
            Bound::Sliding(b) => b.push(r.time_ns),
            Bound::Bucket(b) => b.push(r.time_ns),
        };
        if let Some(e) = excess {
            self.fail(Rule::Throttle, r.seq, Some(id), || excess_message(&e));
        }
        self.count(Rule::Fifo);
        match self.orders.get(id).copied() {
            Some(Live::Queued(q)) => {
                let front = self.orders.front();
                if front != Some(id) {
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!(
                            "sent from the queue before order {}, which was queued earlier",
                            front.unwrap_or_default()
                        )
                    });
                }
                let same = q.price.to_bits() == r.price.to_bits()
                    && q.qty == r.qty
                    && q.symbol_id == r.symbol_id
                    && q.side == r.side;
                if !same {
                    self.fail(Rule::Modify, r.seq, Some(id), || {
                        format!(
                            "sent as {} {} @ {} (symbol {}) but its {} values are {} {} @ {} (symbol {})",
                            r.side,
                            r.qty,
                            r.price,
                            r.symbol_id,
                            if q.modified { "last modified" } else { "queued" },
                            q.side,
                            q.qty,
                            q.price,
                            q.symbol_id
                        )
                    });
                }
                self.orders.fly(id, InFlight { since_seq: r.seq, sent_ns: r.time_ns });
            }
            Some(Live::InFlight(f)) => {
                self.fail(Rule::Fates, r.seq, Some(id), || {
                    format!("sent twice: it is in flight since seq {}", f.since_seq)
                });
            }
            None => {
                // Sent at once: a New request of its own.
                self.count(Rule::Fates);
                if let Some(front) = self.orders.front() {
                    let n = self.orders.queued_len();
                    self.fail(Rule::Fifo, r.seq, Some(id), || {
                        format!("sent at once while {n} order(s) waited in the queue (oldest: order {front})")
                    });
                }
                self.orders.fly(id, InFlight { since_seq: r.seq, sent_ns: r.time_ns });
            }
        }
    }

    fn on_modified(&mut self, r: &EventRecord) {
        self.count(Rule::Modify);
        let id = r.order_id;
        if order_of(r).validate_modify().is_err() {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!(
                    "modified to price {} and qty {}: a modify with these values must be rejected",
                    r.price, r.qty
                )
            });
        }
        let Some(q) = self.orders.queued_mut(id) else {
            self.fail(Rule::Modify, r.seq, Some(id), || "modified while not in the queue".into());
            return;
        };
        let (symbol_id, side) = (q.symbol_id, q.side);
        (q.price, q.qty, q.modified) = (r.price, r.qty, true);
        if (symbol_id, side) != (r.symbol_id, r.side) {
            self.fail(Rule::Modify, r.seq, Some(id), || {
                format!("a modify changed symbol/side from {symbol_id}/{side} to {}/{}: it changes only price and qty",
                    r.symbol_id, r.side)
            });
        }
    }

    fn on_cancelled(&mut self, r: &EventRecord) {
        if !self.orders.is_queued(r.order_id) {
            self.fail(Rule::Fates, r.seq, Some(r.order_id), || "cancelled while not in the queue".into());
        }
        self.orders.end(r.order_id);
    }

    fn on_rejected(&mut self, r: &EventRecord) {
        let Some(reason) = r.reason else { return }; // reported under `records`
        match r.request {
            RequestType::New => self.on_rejected_new(r, reason),
            RequestType::Modify => {
                let fits = match reason {
                    RejectReason::InvalidPrice | RejectReason::InvalidQty => {
                        order_of(r).validate_modify() == Err(reason)
                    }
                    RejectReason::NotQueued => {
                        order_of(r).validate_modify().is_ok() && !self.orders.is_queued(r.order_id)
                    }
                    RejectReason::OutsideWindow
                    | RejectReason::InvalidSide
                    | RejectReason::InvalidRequestType
                    | RejectReason::DuplicateOrderId
                    | RejectReason::QueueFull
                    | RejectReason::JournalFull
                    | RejectReason::SessionEnded
                    | RejectReason::Shutdown => false,
                };
                if !fits {
                    self.reason_unfit(Rule::Modify, r, reason);
                }
            }
            RequestType::Cancel => {
                let fits = match reason {
                    RejectReason::NotQueued => !self.orders.is_queued(r.order_id),
                    RejectReason::OutsideWindow
                    | RejectReason::InvalidPrice
                    | RejectReason::InvalidQty
                    | RejectReason::InvalidSide
                    | RejectReason::InvalidRequestType
                    | RejectReason::DuplicateOrderId
                    | RejectReason::QueueFull
                    | RejectReason::JournalFull
                    | RejectReason::SessionEnded
                    | RejectReason::Shutdown => false,
                };
                if !fits {
                    self.reason_unfit(Rule::Fates, r, reason);
                }
            }
            RequestType::Unknown => {
                if reason != RejectReason::InvalidRequestType {
                    self.reason_unfit(Rule::Fates, r, reason);
                }
            }
        }
    }

    fn reason_unfit(&mut self, rule: Rule, r: &EventRecord, reason: RejectReason) {
        let state = match self.orders.get(r.order_id) {
            Some(live) => live.state(),
            None => "not live",
        };
        let session = if self.session.is_some() { "logged on" } else { "logged out" };
        self.fail(rule, r.seq, Some(r.order_id), || {
            format!(
                "a {} request rejected {} does not fit: price {}, qty {}, side {:?}, the order is {state}, {session}",
                r.request.name(),
                reason.name(),
                r.price,
                r.qty,
                r.side
            )
        });
    }

    fn on_rejected_new(&mut self, r: &EventRecord, reason: RejectReason) {
        let id = r.order_id;
        let valid = order_of(r).validate_new();
        let logged_on = self.session.is_some();
        let fits = match reason {
            RejectReason::InvalidPrice | RejectReason::InvalidQty | RejectReason::InvalidSide => {
                valid == Err(reason)
            }
            RejectReason::OutsideWindow => valid.is_ok() && !logged_on,
            RejectReason::JournalFull => valid.is_ok() && logged_on,
            RejectReason::DuplicateOrderId => valid.is_ok() && logged_on && self.orders.get(id).is_some(),
            RejectReason::QueueFull => {
                valid.is_ok() && logged_on && self.orders.get(id).is_none() && self.orders.queued_len() > 0
            }
            RejectReason::InvalidRequestType | RejectReason::NotQueued => false,
            RejectReason::SessionEnded => return self.on_session_ended(r),
            RejectReason::Shutdown => {
                self.shutdown_seen = true;
                if self.orders.front() == Some(id) {
                    // The queue emptied at shutdown, oldest first.
                    self.orders.end(id);
                    return;
                }
                // A New still in a ring at shutdown (not validated).
                true
            }
        };
        self.count(Rule::Fates);
        if !fits {
            self.reason_unfit(Rule::Fates, r, reason);
        }
    }

    fn on_session_ended(&mut self, r: &EventRecord) {
        let id = r.order_id;
        // A restarted engine rejects what a window that ended while it was down left queued:
        // no session is on, and no logout follows (the session died with the process).
        let after_restart = self.session.is_none() && self.crashed.is_some_and(|s| r.time_ns >= s.end_ns);
        if !after_restart {
            if self.ending.is_none() {
                self.ending = Some(r.seq);
            }
            if self.session.is_none() {
                self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                    "rejected session_ended while no session is logged on".into()
                });
            }
        }
        let front = self.orders.front();
        if front == Some(id) {
            self.orders.end(id);
            return;
        }
        if self.orders.is_queued(id) {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                format!(
                    "rejected session_ended out of queue order: order {} was queued earlier",
                    front.unwrap_or_default()
                )
            });
            self.orders.end(id);
        } else {
            self.fail(Rule::SessionEnd, r.seq, Some(id), || {
                "rejected session_ended but it is not in the queue".into()
            });
        }
    }

    fn on_response(&mut self, r: &EventRecord) {
        self.count(Rule::Responses);
        let id = r.order_id;
        let Some(Live::InFlight(f)) = self.orders.get(id).copied() else {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                "a response matched to an order that is not in flight (it should be unmatched_response)"
                    .into()
            });
            return;
        };
        self.orders.end(id);
        let elapsed = i128::from(r.time_ns) - i128::from(f.sent_ns);
        let latency = i128::from(r.latency_ns);
        let ok = if self.options.exact_latency { latency == elapsed } else { latency <= elapsed };
        if !ok {
            self.fail(Rule::Responses, r.seq, Some(id), || {
                format!(
                    "latency {} ns, but the response is recorded {elapsed} ns after the send (seq {})",
                    r.latency_ns, f.since_seq
                )
            });
        }
    }

    fn on_unmatched(&mut self, r: &EventRecord) {
        self.count(Rule::Responses);
        if let Some(Live::InFlight(f)) = self.orders.get(r.order_id).copied() {
            self.fail(Rule::Responses, r.seq, Some(r.order_id), || {
                format!("unmatched_response for an order in flight since seq {}", f.since_seq)
            });
        }
    }

    /// The engine restarted: the counts it states must be the journal's; the session it was
    /// logged on in (if any) died with the process, and what it had begun (a run of
    /// `session_ended` rejects, a shutdown) was cut short.
    fn on_recovered(&mut self, r: &EventRecord) {
        // Checked under `fates` but not counted: its count is of New orders.
        let queued = self.orders.queued_len() as u64;
        let in_flight = self.orders.in_flight_len() as u64;
        if (r.qty, r.order_id) != (queued, in_flight) {
            self.fail(Rule::Fates, r.seq, None, || {
                format!(
                    "recovered states {} queued and {} in flight, but the journal before it shows {queued} \
                     queued and {in_flight} in flight",
                    r.qty, r.order_id
                )
            });
        }
        self.ending = None;
        self.stopped_until = None;
        self.shutdown_seen = true;
        // A restart that dies before it logs on leaves the interrupted session as it was: the
        // next restart's logon into its window still continues it.
        self.crashed = self.session.take().map(|open| open.span).or(self.crashed);
    }

    fn on_unanswered(&mut self, r: &EventRecord) {
        self.shutdown_seen = true;
        let id = r.order_id;
        if !matches!(self.orders.get(id), Some(Live::InFlight(_))) {
            self.fail(Rule::Fates, r.seq, Some(id), || "unanswered, but it is not in flight".into());
        }
        self.orders.end(id);
        if self.session.is_some() || self.orders.queued_len() > 0 {
            self.fail(Rule::Fates, r.seq, Some(id), || {
                "unanswered while a session is on or orders are queued: it is recorded only at shutdown, after both"
                    .into()
            });
        }
    }
}

/// What may follow a logout before the window's end (a shutdown): the next logon, and what the
/// engine records while the logout goes out: answers and reports from the exchange, then the
/// orders left unanswered.
fn after_shutdown_logout(kind: EventKind) -> bool {
    match kind {
        EventKind::Logon
        | EventKind::Unanswered
        | EventKind::Response
        | EventKind::UnmatchedResponse
        | EventKind::ExchangeSession
        | EventKind::Execution
        | EventKind::ExchangeReject
        // A restart on the journal, or the writer's note of a failed flush.
        | EventKind::Recovered
        | EventKind::SyncFailed => true,
        EventKind::Logout
        | EventKind::Queued
        | EventKind::Sent
        | EventKind::Modified
        | EventKind::Cancelled
        | EventKind::Rejected
        | EventKind::ClockStep => false,
    }
}

/// The order id of a record about an order.
fn id_of(r: &EventRecord) -> Option<u64> {
    match r.kind {
        EventKind::Logon
        | EventKind::Logout
        | EventKind::ClockStep
        | EventKind::Recovered
        | EventKind::SyncFailed
        | EventKind::ExchangeSession => None,
        EventKind::Queued
        | EventKind::Sent
        | EventKind::Modified
        | EventKind::Cancelled
        | EventKind::Rejected
        | EventKind::Response
        | EventKind::UnmatchedResponse
        | EventKind::Unanswered
        | EventKind::Execution
        | EventKind::ExchangeReject => Some(r.order_id),
    }
}

/// The order a record carries, to run the engine's own validation on it.
fn order_of(r: &EventRecord) -> OrderRequest {
    OrderRequest { symbol_id: r.symbol_id, price: r.price, qty: r.qty, side: r.side, order_id: r.order_id }
}

/// A duration in seconds, for messages.
fn secs(ns: i64) -> String {
    format!("{:.9} s", ns as f64 / 1e9)
}

/// `later − earlier` in seconds, exact for any two instants (a crafted journal can hold times
/// at both ends of the `i64` range, whose difference does not fit an `i64`).
fn between(later: i64, earlier: i64) -> String {
    format!("{:.9} s", (i128::from(later) - i128::from(earlier)) as f64 / 1e9)
}

fn excess_message(e: &Excess) -> String {
    format!(
        "{} orders sent within {} (from {} to this send), where at most {} are allowed",
        e.count,
        secs(e.span_ns),
        crate::audit::wall_text(e.first_ns),
        e.allowed
    )
}
