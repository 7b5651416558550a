//! [`Auditor`]: replays records, one at a time, against a model of the session, the queue, the
//! cancel line and the orders at the exchange, and notes the first violation of each rule.

use crate::model::{EventKind, RequestType, SessionEvent};
use crate::record::{Event, EventRecord};
use crate::throttle::{ThrottleMode, ThrottleSettings};
use crate::window::{TradingWindow, WindowSpan};

use super::bounds::{Excess, SlidingWindowBound, TokenBucketBound};
use super::orders::{Live, Orders};
use super::owners::Owners;
use super::risk::RiskModel;
use super::{AuditOptions, AuditReport, Rule, RuleReport, Violation};
use crate::risk::RiskSettings;

mod life_rules;
mod order_rules;
mod risk_rules;
mod session_rules;

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
    /// From the first record at or after the window's end (the logout aside) while the session
    /// is still on: whether orders were open at the exchange then. With orders open the engine
    /// may cancel them before the Logout, which then comes late; with none it logs out at the
    /// end.
    after_end: Option<AfterEnd>,
}

/// What the journal showed at the first record after a logged-on window's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AfterEnd {
    /// Orders were open at the exchange (the engine may cancel them before its Logout).
    orders_open: bool,
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
    /// An order's life ended at the exchange with a cancel or replace of it waiting for a
    /// permit: the next record must answer that request, `rejected` `order_ended` (the order
    /// id, the request, the seq of the answer that ended it).
    owed: Option<(u64, RequestType, u64)>,
    /// While one record is checked: what it must be (`owed` as it came to it).
    owing: Option<(u64, RequestType, u64)>,
    orders: Orders,
    bound: Bound,
    exchange: ExchangeState,
    /// The risk limits' model, when limits are configured.
    risk: Option<RiskModel>,
    /// The last logon continued the session a restart interrupted.
    logon_continues: bool,
    /// Trading is halted: a `halted` record without its `resumed`.
    halted: bool,
    /// The live orders' owners and the producer numbers' holders (the `ownership` rule).
    owners: Owners,
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
            owed: None,
            owing: None,
            orders: Orders::default(),
            bound,
            exchange: ExchangeState::Silent { sends: None },
            risk: None,
            logon_continues: false,
            halted: false,
            owners: Owners::default(),
        }
    }

    /// The same auditor, checking the pre-trade risk limits `risk` too (none: no limits, and
    /// no refusal for one fits).
    pub fn with_risk(mut self, risk: Option<&RiskSettings>) -> Self {
        self.risk = risk.map(RiskModel::new);
        self
    }

    /// Orders the journal shows in the queue so far.
    pub fn queued(&self) -> usize {
        self.orders.queued_len()
    }

    /// Orders the journal shows at the exchange so far.
    pub fn open(&self) -> usize {
        self.orders.open_len()
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
        if let Some((id, live, n)) = self.orders.oldest(|l| !l.answered()) {
            self.fail(Rule::Fates, live.since_seq(), Some(id), || {
                format!(
                    "{n} order(s) without a fate at the end of the journal; the earliest is still {} \
                     (was the engine still running, or are records missing?)",
                    live.state()
                )
            });
        }
        if let Some((id, live, n)) = self.orders.oldest(Live::answered) {
            self.fail(Rule::Lifecycle, live.since_seq(), Some(id), || {
                format!(
                    "{n} order(s) still open at the exchange at the end of the journal, without a final \
                     state (filled, cancelled, expired) or unanswered; the earliest is {} (was the \
                     engine still running, or are records missing?)",
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

    /// Whether record `r` is after the logged-on window's end (the session still on).
    fn after_end(&self, r: &EventRecord) -> bool {
        self.session.is_some_and(|s| r.time_ns >= s.span.end_ns)
    }

    /// Checks one record (records in journal order).
    pub fn push(&mut self, r: &EventRecord) {
        self.check_record(r);
        let e = r.event();
        let id = e.order_id();
        if r.kind != EventKind::Logout
            && let Some(s) = &mut self.session
            && r.time_ns >= s.span.end_ns
            && s.after_end.is_none()
        {
            s.after_end = Some(AfterEnd { orders_open: self.orders.open_len() > 0 });
        }
        if let Some(first) = self.ending
            && !after_session_ended(r.kind)
        {
            self.ending = None;
            self.fail(Rule::SessionEnd, r.seq, id, || {
                format!(
                    "a {} record after the session_ended rejects begun at seq {first}: they come right \
                     before the logout, with only the cancels of open orders, the exchange's answers and \
                     unanswered records between",
                    r.kind.name()
                )
            });
        }
        if let Some(end) = self.stopped_until
            && !after_shutdown_logout(r.kind)
            && r.time_ns < end
        {
            self.stopped_until = None;
            self.fail(Rule::Sessions, r.seq, id, || {
                format!(
                    "a {} record after a logout before the window's end: only a shutdown logs out \
                         early, and after it only what the exchange answers while the logout goes \
                         out, and unanswered records, follow",
                    r.kind.name()
                )
            });
        }
        self.owing = self.owed.take();
        let live_before = id.is_some_and(|id| self.orders.get(id).is_some());
        self.check_owner(r, id);
        self.dispatch(r, e);
        self.follow_owners(r, e, id, live_before);
        self.on_risk(r, &e);
        if let Some((id, request, seq)) = self.owing.take() {
            self.fail(Rule::Fates, r.seq, Some(id), || {
                format!(
                    "order {id} ended at seq {seq} with a {} of it waiting for a permit, but the next \
                     record, a {}, is not that request's rejected order_ended",
                    request.name(),
                    r.kind.name()
                )
            });
        }
    }

    /// The `ownership` rule: a Modify or Cancel applied for `r.producer` of an order it owns.
    fn check_owner(&mut self, r: &EventRecord, id: Option<u64>) {
        let (Some(id), Some(cancel)) = (id, Owners::applies(r.kind)) else { return };
        if !self.owners.is_client(r.producer) {
            return;
        }
        self.count(Rule::Ownership);
        if let Some((owner, earlier)) = self.owners.check(id, r.producer, cancel) {
            self.fail(Rule::Ownership, r.seq, Some(id), || {
                let whose = if earlier {
                    format!(
                        "an earlier client of producer {owner}, which detached (not under \
                         on_client_exit = \"keep\") before producer {owner} was attached again"
                    )
                } else {
                    format!("producer {owner}")
                };
                format!(
                    "a {} applied for producer {} of order {id}, which is {whose}'s",
                    r.kind.name(),
                    r.producer
                )
            });
        }
    }

    /// After record `r`: who holds the producer numbers, who owns order `id`.
    fn follow_owners(&mut self, r: &EventRecord, e: Event, id: Option<u64>, live_before: bool) {
        match e {
            Event::ClientAttached { .. } => self.owners.attached(r.producer),
            Event::ClientDetached { cancel, .. } => self.owners.detached(r.producer, cancel),
            Event::Recovered { .. } => self.owners.recovered(),
            _ => {}
        }
        let Some(id) = id else { return };
        let live = self.orders.get(id).is_some();
        if !live {
            self.owners.ended(id);
        } else if !live_before && matches!(r.kind, EventKind::Queued | EventKind::Sent) {
            self.owners.made_live(id, r.producer);
        }
    }

    /// Checks record `r`, event `e`, by its kind.
    fn dispatch(&mut self, r: &EventRecord, e: Event) {
        match e {
            Event::Logon => self.on_logon(r),
            // The kill switch: the `risk` rule follows it (`risk_rules.rs`).
            Event::Halted
            | Event::Resumed
            | Event::Reference { .. }
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. } => {}
            Event::Logout => self.on_logout(r),
            Event::Queued { order } => self.on_queued(r, &order),
            Event::Sent { order, .. } => self.on_sent(r, &order),
            Event::Modified { order } => self.on_modified(r, &order),
            Event::Cancelled { order } => self.on_cancelled(r, order.order_id),
            Event::Rejected { order, request, reason, .. } => self.on_rejected(r, &order, request, reason),
            Event::Response { order, response, round_trip_ns } => {
                self.on_response(r, order.order_id, response, round_trip_ns)
            }
            Event::UnmatchedResponse { order_id, .. } => self.on_unmatched(r, order_id),
            Event::Unanswered { order } => self.on_unanswered(r, order.order_id),
            // Record sanity only (above): the step itself moves no order.
            Event::ClockStep { .. } => {}
            Event::Recovered { queued, open } => self.on_recovered(r, queued, open),
            // The journal's own note that a flush failed: it moves no order (`oms verify` is
            // what fails such a journal).
            Event::SyncFailed => {}
            Event::ExchangeSession(report) => self.on_exchange_session(r, report.event()),
            // A Pending New (ExecType A) is the venue's word that it has the order, before it
            // answers it: the only report that may come before the order's response.
            Event::Execution { exec_type, .. } if exec_type.byte() == b'A' => self.count(Rule::Responses),
            Event::Execution { order_id, .. } | Event::ExchangeReject { order_id, .. } => {
                self.on_exchange_order_event(r, order_id)
            }
            Event::CancelQueued { order } => self.on_cancel_queued(r, &order),
            Event::CancelSent { order, .. } => self.on_cancel_sent(r, &order),
            Event::ReplaceQueued { order } => self.on_replace_queued(r, &order),
            Event::ReplaceSent { order, .. } => self.on_replace_sent(r, &order),
            Event::Fill { order_id, last_qty, last_px, cum_qty, complete, .. } => {
                self.on_fill(r, order_id, last_qty, last_px, cum_qty, complete)
            }
            Event::VenueCancelled { order, solicited, round_trip_ns } => {
                self.on_venue_cancelled(r, order.order_id, solicited, round_trip_ns)
            }
            Event::Replaced { order, round_trip_ns } => self.on_replaced(r, &order, round_trip_ns),
            Event::CancelRejected { order, request, .. } => {
                self.on_cancel_rejected(r, order.order_id, request)
            }
            Event::Expired { order } => self.on_expired(r, order.order_id),
            Event::UnexpectedReport { order_id, answer, state, qty, price } => {
                self.on_unexpected(r, order_id, answer, state, qty, price)
            }
            // Reported under `records` (above).
            Event::Unfit(_) => {}
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
        let allowed_back = match r.event() {
            Event::ClockStep { step_ns } => step_ns.min(0),
            _ => 0,
        };
        if let Some(last) = self.last_time
            && r.time_ns < last.saturating_add(allowed_back)
        {
            self.fail(Rule::Records, r.seq, r.event().order_id(), || {
                format!("time goes back by {} ns from the previous record", last.abs_diff(r.time_ns))
            });
        }
        self.last_time = Some(match self.last_time {
            Some(t) if r.kind != EventKind::ClockStep => t.max(r.time_ns),
            _ => r.time_ns,
        });
        if let Some(misfit) = r.misfit() {
            self.fail(Rule::Records, r.seq, None, || {
                format!("a {} record {}", r.kind.name(), misfit.describe())
            });
        }
    }
}

/// What may follow `session_ended` rejects (the window's end) until the logout: more rejects,
/// the cancels of the working orders and their answers, the orders left `unanswered`.
fn after_session_ended(kind: EventKind) -> bool {
    match kind {
        EventKind::Logout
        | EventKind::Recovered
        | EventKind::Rejected
        | EventKind::CancelQueued
        | EventKind::CancelSent
        | EventKind::Unanswered
        | EventKind::Response
        | EventKind::UnmatchedResponse
        | EventKind::ExchangeSession
        | EventKind::Execution
        | EventKind::ExchangeReject
        | EventKind::Fill
        | EventKind::Filled
        | EventKind::VenueCancelled
        | EventKind::Replaced
        | EventKind::CancelRejected
        | EventKind::Expired
        | EventKind::UnexpectedReport
        | EventKind::Halted
        | EventKind::Resumed
        | EventKind::ClientAttached
        | EventKind::ClientDetached
        | EventKind::Reference
        | EventKind::SyncFailed => true,
        EventKind::Logon
        | EventKind::Queued
        | EventKind::Sent
        | EventKind::Modified
        | EventKind::Cancelled
        | EventKind::ReplaceQueued
        | EventKind::ReplaceSent
        | EventKind::ClockStep => false,
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
        | EventKind::Fill
        | EventKind::Filled
        | EventKind::VenueCancelled
        | EventKind::Replaced
        | EventKind::CancelRejected
        | EventKind::Expired
        | EventKind::UnexpectedReport
        // A restart on the journal, or the writer's note of a failed flush; a reference price
        // (the operator's, moving no order).
        | EventKind::Recovered
        | EventKind::Reference
        | EventKind::SyncFailed => true,
        EventKind::Logout
        | EventKind::Queued
        | EventKind::Sent
        | EventKind::Modified
        | EventKind::Cancelled
        | EventKind::Rejected
        | EventKind::CancelQueued
        | EventKind::CancelSent
        | EventKind::ReplaceQueued
        | EventKind::ReplaceSent
        | EventKind::Halted
        | EventKind::Resumed
        | EventKind::ClientAttached
        | EventKind::ClientDetached
        | EventKind::ClockStep => false,
    }
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
        crate::clock::wall_text(e.first_ns),
        e.allowed
    )
}
