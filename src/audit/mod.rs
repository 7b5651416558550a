//! The rule checker: proves from a journal (or any sequence of [`EventRecord`]s) that the
//! engine kept its rules — the trading window, the throttle, the queue, the orders' fates. It
//! is the one checker behind `oms audit`, the property tests, the replay tests and the demo.
//!
//! ```
//! use std::num::NonZeroU32;
//! use jiff::civil::time;
//! use oms::audit::{AuditOptions, Rule, audit};
//! use oms::throttle::{ThrottleMode, ThrottleSettings};
//! use oms::{DaySet, Event, EventRecord, OrderRequest, Side, TradingWindow};
//!
//! let window = TradingWindow::new(jiff::tz::TimeZone::UTC, time(10, 0, 0, 0), time(11, 0, 0, 0), DaySet::ALL);
//! let one = NonZeroU32::MIN;
//! let throttle = ThrottleSettings { mode: ThrottleMode::SlidingWindow, rate: one, burst: one };
//! let t0: i64 = 1_763_892_000_000_000_000; // 2025-11-23T10:00:00Z
//! let o = |id| OrderRequest::new(id, 7, Side::Buy, 10.0, 1);
//! let mut records = vec![
//!     EventRecord::new(t0, Event::Logon),
//!     EventRecord::new(t0, Event::Sent { order: o(1), in_oms_ns: 0 }),
//!     EventRecord::new(t0 + 500_000_000, Event::Sent { order: o(2), in_oms_ns: 0 }),
//! ];
//! for (i, r) in records.iter_mut().enumerate() {
//!     r.seq = i as u64 + 1;
//! }
//! let report = audit(&records, &window, &throttle, AuditOptions::default());
//! // Two sends within half a second at 1/s; and the journal ends logged on, both orders in flight.
//! assert_eq!(report.broken(), [Rule::Sessions, Rule::Throttle, Rule::Fates]);
//! let throttle = report.rule(Rule::Throttle).first.as_ref().expect("broken");
//! assert_eq!((throttle.seq, throttle.order_id), (3, Some(2)));
//! ```
//!
//! # The rules
//!
//! Each [`Rule`] has a name and a one-line statement ([`Rule::statement`]); `docs/audit.md`
//! explains them for a reader who does not read Rust. A report ([`AuditReport`]) gives, per
//! rule, pass or the **first** violation (sequence number, order id, what is wrong) and how many
//! items were checked. Every record kind is handled explicitly, and a reject is checked against
//! the state it claims (a `duplicate_order_id` needs a live order of that id, `not_queued` an
//! order not in the queue, `invalid_qty` a qty of 0, …).
//!
//! # One pass, O(1) per record
//!
//! Journals hold millions of sends. [`Auditor`] keeps a model of the session, the queue (in
//! order) and the orders in flight, fed one record at a time with [`Auditor::push`]; nothing
//! is searched. The throttle bounds are one-pass checks too (two pointers for the sliding window,
//! a running minimum in `i128` for the token bucket; see `bounds.rs`). The cost above reading
//! the journal is the hash table of live orders (`docs/BENCHMARKS.md`). Order ids
//! may be reused once an order has ended: fates are tracked per live order, not per id over
//! the whole journal.
//!
//! # What a journal cannot show
//!
//! - An order sent at once leaves no record of its arrival, so a cancelled order sent later
//!   reads as a new order reusing the id — unless other orders were queued then (a `fifo`
//!   violation). A New that left no record at all is invisible; tests compare the number of New
//!   orders the audit saw ([`Rule::Fates`]' count) with the number they submitted.
//! - On live time a timer fires on the first loop turn at or after its instant, so the audit
//!   checks that a logon is inside its window and a logout after its end, not how late they are
//!   (the demo checks its own bound). On virtual time (`oms replay`) timers are exact and the
//!   response latency equals the time between send and response:
//!   [`AuditOptions::VIRTUAL_TIME`] checks both exactly.
//! - A New still in a producer ring at shutdown is rejected `shutdown` without validation; one
//!   that names the order at the front of the queue reads as that order's reject.

pub(crate) mod bounds;
mod checker;
mod orders;
mod owners;
mod report;
mod risk;
mod rules;

pub use checker::Auditor;
pub use report::{AuditReport, RuleReport, Violation};
pub use rules::Rule;

use crate::record::EventRecord;
use crate::throttle::ThrottleSettings;
use crate::window::TradingWindow;

/// How strict the audit is about time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditOptions {
    /// A response's `latency_ns` must equal its time minus its order's send time (virtual
    /// time). Off: at most that (live: the record is stamped at the loop turn that took the
    /// response, latency is measured to its arrival).
    pub exact_latency: bool,
    /// A logon is exactly at its window's start (later only as the first record of the journal
    /// or after a shutdown) and a logout at the end exactly at the window's end (virtual time).
    pub exact_timers: bool,
}

impl AuditOptions {
    /// For a journal of a live engine: timers and latencies as a loop turn allows.
    pub const LIVE: AuditOptions = AuditOptions { exact_latency: false, exact_timers: false };
    /// For a journal written on virtual time (`oms replay`): timers and latencies exact.
    pub const VIRTUAL_TIME: AuditOptions = AuditOptions { exact_latency: true, exact_timers: true };
}

/// Audits a complete sequence of records (a whole journal, in order) against the trading
/// `window` and the `throttle` ([`Config::rules`](crate::config::Config::rules) gives both).
pub fn audit<'a>(
    records: impl IntoIterator<Item = &'a EventRecord>,
    window: &TradingWindow,
    throttle: &ThrottleSettings,
    options: AuditOptions,
) -> AuditReport {
    let mut a = Auditor::new(window, throttle, options);
    for r in records {
        a.push(r);
    }
    a.finish()
}
