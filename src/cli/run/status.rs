//! What `oms run` tells on standard error once a second, read from the journal it writes (the
//! engine keeps no shared counters): orders sent, queued, rejected, responses, the queue depth
//! and the orders in flight, and the round-trip percentiles of the last second. It also
//! notes the logouts (`--once` stops after one).

use std::num::NonZeroU32;
use std::path::Path;

use hdrhistogram::Histogram;
use jiff::tz::TimeZone;

use crate::journal::{Follower, JournalError, JournalWatch, Poll};
use crate::model::EventKind;
use crate::recovery::StateBuilder;
use crate::session::TradingWindow;
use crate::throttle::{ThrottleMode, ThrottleSettings};

/// Records read per call of [`Status::follow`], so that the run loop stays responsive.
const SLICE: usize = 65_536;

/// The journal's story so far.
pub(super) struct Status {
    follower: Follower,
    model: StateBuilder,
    sent: u64,
    queued: u64,
    rejected: u64,
    responses: u64,
    round_trip: Option<Histogram<u64>>,
    last_logout_ns: Option<i64>,
    closed: bool,
    tz: TimeZone,
    /// The writer's preparation of space (a full disk), told as soon as it changes.
    journal: Option<JournalWatch>,
}

impl Status {
    /// Follows the journal at `path` from its first record.
    pub(super) fn open(path: &Path, window: &TradingWindow) -> Result<Status, JournalError> {
        // Only the queue and the orders in flight are shown: a one-token throttle keeps the
        // model small (a sliding window's history would hold a send time per permit).
        let one = NonZeroU32::MIN;
        let throttle = ThrottleSettings { mode: ThrottleMode::TokenBucket, rate: one, burst: one };
        Ok(Status {
            follower: Follower::open(path)?,
            model: StateBuilder::new(window, &throttle),
            sent: 0,
            queued: 0,
            rejected: 0,
            responses: 0,
            // 1 ns to an hour, 3 significant digits; `None` only if those bounds were invalid.
            round_trip: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).ok(),
            last_logout_ns: None,
            closed: false,
            tz: window.timezone().clone(),
            journal: None,
        })
    }

    /// Watches the writer's preparation of space too ([`Status::journal_news`]).
    pub(super) fn watch_journal(&mut self, watch: JournalWatch) {
        self.journal = Some(watch);
    }

    /// A line for standard error when the journal's writer starts or stops failing to prepare
    /// space (a full disk: why, and what the engine does about it), once per change.
    pub(super) fn journal_news(&mut self) -> Option<String> {
        self.journal.as_mut().and_then(JournalWatch::news).map(|n| format!("oms run: {n}"))
    }

    /// Reads what the journal has committed since the last call (a bounded slice of it).
    pub(super) fn follow(&mut self) -> Result<(), JournalError> {
        for _ in 0..SLICE {
            let r = match self.follower.poll()? {
                Poll::Record(r) => r,
                Poll::Pending => return Ok(()),
                Poll::Closed => {
                    self.closed = true;
                    return Ok(());
                }
            };
            self.model.push(&r);
            match r.kind {
                EventKind::Sent => self.sent += 1,
                EventKind::Queued => self.queued += 1,
                EventKind::Rejected => self.rejected += 1,
                EventKind::Response => {
                    self.responses += 1;
                    if let Some(h) = &mut self.round_trip {
                        let _ = h.record(r.latency_ns.max(1));
                    }
                }
                EventKind::Logout => self.last_logout_ns = Some(r.time_ns),
                EventKind::Logon
                | EventKind::Modified
                | EventKind::Cancelled
                | EventKind::UnmatchedResponse
                | EventKind::Unanswered
                | EventKind::ClockStep
                | EventKind::Recovered
                | EventKind::SyncFailed
                | EventKind::ExchangeSession
                | EventKind::Execution
                | EventKind::ExchangeReject => {}
            }
        }
        Ok(())
    }

    /// Whether the writer has closed the journal and everything was read.
    pub(super) fn closed(&self) -> bool {
        self.closed
    }

    /// Whether a logout at or after wall time `t_ns` has been read.
    pub(super) fn logout_since(&self, t_ns: i64) -> bool {
        self.last_logout_ns.is_some_and(|l| l >= t_ns)
    }

    /// The status line at wall time `now_ns`; starts a new second of round trips.
    pub(super) fn line(&mut self, now_ns: i64) -> String {
        let time = jiff::Timestamp::from_nanosecond(i128::from(now_ns))
            .map(|t| t.to_zoned(self.tz.clone()).strftime("%H:%M:%S").to_string())
            .unwrap_or_default();
        let session = if self.model.logged_on() { "logged on" } else { "logged out" };
        let rt = match &mut self.round_trip {
            Some(h) if !h.is_empty() => {
                let text = format!(
                    "round trip p50 {} p99 {}",
                    duration(h.value_at_quantile(0.5)),
                    duration(h.value_at_quantile(0.99))
                );
                h.reset();
                text
            }
            _ => "round trip -".into(),
        };
        format!(
            "oms run: {time} {session} | sent {} queued {} rejected {} responses {} | queue depth {} in flight {} | {rt}",
            self.sent,
            self.queued,
            self.rejected,
            self.responses,
            self.model.queued_len(),
            self.model.in_flight_len(),
        )
    }
}

/// `812µs`, `1.3ms`, `2.0s`.
fn duration(ns: u64) -> String {
    match ns {
        0..1_000_000 => format!("{}µs", ns / 1_000),
        1_000_000..1_000_000_000 => format!("{:.1}ms", ns as f64 / 1e6),
        _ => format!("{:.1}s", ns as f64 / 1e9),
    }
}
