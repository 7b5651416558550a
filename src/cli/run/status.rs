//! What `oms run` tells on standard error once a second, read from the journal it writes (the
//! engine keeps no shared counters): the trading window and the exchange session, orders sent,
//! queued, rejected, responses, the queue depth and the orders in flight, and the round-trip
//! percentiles of the last second. It also notes the logouts (`--once` stops after one).
//!
//! ```text
//! oms run: 10:00:01 window open | exchange logged on | sent 12 queued 3 ... | round trip p50 812µs p99 1.3ms
//! ```
//!
//! The window and the exchange are two things ([`Sessions`]): the window is the engine's (its
//! `logon` and `logout` records: open, or closed with the time it opens next); the exchange is
//! what a session adapter reports (`exchange_session` records): `logging on` from the window's
//! logon until it answers (connecting, or the Logon sent and not yet answered: the journal does
//! not tell them apart), `logged on`, `refused the logon` or `disconnected (cause)` with the time
//! to the next attempt (then `logging on again`), `logging out`, `logged out`, `not connected`. The
//! simulated exchange has no session of its own (it takes orders from the logon on): it is named
//! (`simulated exchange`), with no state.

use std::path::Path;

use hdrhistogram::Histogram;
use jiff::tz::TimeZone;

use crate::journal::{Follower, JournalError, JournalWatch, Poll};
use crate::lifecycle::Lifecycle;
use crate::model::DisconnectCause;
use crate::record::{Event, SessionReport};
use crate::window::TradingWindow;

/// Records read per call of [`Status::follow`], so that the run loop stays responsive.
const SLICE: usize = 65_536;

/// The journal's story so far.
pub(super) struct Status {
    follower: Follower,
    orders: Lifecycle,
    sent: u64,
    queued: u64,
    rejected: u64,
    responses: u64,
    fills: u64,
    round_trip: Option<Histogram<u64>>,
    last_logout_ns: Option<i64>,
    closed: bool,
    tz: TimeZone,
    sessions: Sessions,
    /// The writer's preparation of space (a full disk), told as soon as it changes.
    journal: Option<JournalWatch>,
}

impl Status {
    /// Follows the journal at `path` from its first record. `session_venue`: the exchange
    /// reports its own session (FIX), rather than taking orders from the logon on (simulated).
    pub(super) fn open(
        path: &Path,
        window: &TradingWindow,
        session_venue: bool,
    ) -> Result<Status, JournalError> {
        Ok(Status {
            follower: Follower::open(path)?,
            orders: Lifecycle::new(),
            sent: 0,
            queued: 0,
            rejected: 0,
            responses: 0,
            fills: 0,
            // 1 ns to an hour, 3 significant digits; `None` only if those bounds were invalid.
            round_trip: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).ok(),
            last_logout_ns: None,
            closed: false,
            tz: window.timezone().clone(),
            sessions: Sessions::new(window.clone(), session_venue),
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
            self.orders.push(&r);
            let e = r.event();
            self.sessions.push(r.time_ns, &e);
            match e {
                Event::Sent { .. } => self.sent += 1,
                Event::Queued { .. } => self.queued += 1,
                Event::Rejected { .. } => self.rejected += 1,
                Event::Response { round_trip_ns, .. } => {
                    self.responses += 1;
                    if let Some(h) = &mut self.round_trip {
                        let _ = h.record(round_trip_ns.max(1));
                    }
                }
                Event::Logout => self.last_logout_ns = Some(r.time_ns),
                Event::Fill { .. } => self.fills += 1,
                Event::Logon
                | Event::Halted
                | Event::Resumed
                | Event::ClientAttached { .. }
                | Event::ClientDetached { .. }
                | Event::Reference { .. }
                | Event::CancelQueued { .. }
                | Event::CancelSent { .. }
                | Event::ReplaceQueued { .. }
                | Event::ReplaceSent { .. }
                | Event::VenueCancelled { .. }
                | Event::Replaced { .. }
                | Event::CancelRejected { .. }
                | Event::Expired { .. }
                | Event::UnexpectedReport { .. }
                | Event::Modified { .. }
                | Event::Cancelled { .. }
                | Event::UnmatchedResponse { .. }
                | Event::Unanswered { .. }
                | Event::ClockStep { .. }
                | Event::Recovered { .. }
                | Event::SyncFailed
                | Event::ExchangeSession(_)
                | Event::Execution { .. }
                | Event::ExchangeReject { .. }
                | Event::Unfit(_) => {}
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
        let session = self.sessions.describe(now_ns);
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
        // Orders at the exchange: awaiting their first answer, or accepted and working.
        let in_flight = self.orders.in_flight_len();
        format!(
            "oms run: {time} {session} | sent {} queued {} rejected {} responses {} fills {} | queue depth {} in flight {} working {} | {rt}",
            self.sent,
            self.queued,
            self.rejected,
            self.responses,
            self.fills,
            self.orders.queued_len(),
            in_flight,
            self.orders.open_len() - in_flight,
        )
    }
}

/// The trading window and the exchange session as the journal tells them.
#[derive(Debug)]
pub(super) struct Sessions {
    window: TradingWindow,
    /// The exchange reports its own session (`exchange_session` records).
    session_venue: bool,
    /// Between the engine's `logon` and its `logout` (or a restart).
    open: bool,
    exchange: Link,
}

/// The exchange session, as its records tell it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Link {
    /// No session: before the first logon, after a logout that found none, after a restart.
    NotConnected,
    /// From the window's logon (or a retry) until the exchange answers, wall ns.
    LoggingOn {
        since_ns: i64,
    },
    LoggedOn,
    /// The Logon was refused; the next attempt at this wall time.
    Refused {
        retry_ns: i64,
    },
    /// The connection ended (or could not be made); the next attempt at this wall time.
    Disconnected {
        cause: Option<DisconnectCause>,
        retry_ns: i64,
    },
    /// The window's logout went out while logged on; not answered yet.
    LoggingOut,
    LoggedOut,
}

impl Sessions {
    pub(super) fn new(window: TradingWindow, session_venue: bool) -> Sessions {
        Sessions { window, session_venue, open: false, exchange: Link::NotConnected }
    }

    /// Applies one record's event, recorded at wall time `time_ns` (records in journal order).
    pub(super) fn push(&mut self, time_ns: i64, e: &Event) {
        let at = |wait_ns: u64| time_ns.saturating_add(i64::try_from(wait_ns).unwrap_or(i64::MAX));
        match *e {
            Event::Logon => {
                self.open = true;
                self.exchange = Link::LoggingOn { since_ns: time_ns };
            }
            Event::Logout => {
                self.open = false;
                self.exchange =
                    if self.exchange == Link::LoggedOn { Link::LoggingOut } else { Link::NotConnected };
            }
            // The kill switch moves neither the window nor the exchange session.
            Event::Halted
            | Event::Resumed
            | Event::Reference { .. }
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. } => {}
            // A restarted engine: the old process's session died with it; the engine logs on
            // again if a window is open.
            Event::Recovered { .. } => (self.open, self.exchange) = (false, Link::NotConnected),
            Event::ExchangeSession(report) => {
                self.exchange = match report {
                    SessionReport::LoggedOn { .. } => Link::LoggedOn,
                    SessionReport::LogonRefused { retry_in_ns } => {
                        Link::Refused { retry_ns: at(retry_in_ns) }
                    }
                    SessionReport::Disconnected { cause, retry_in_ns } => {
                        Link::Disconnected { cause: Some(cause), retry_ns: at(retry_in_ns) }
                    }
                    SessionReport::LoggedOut => Link::LoggedOut,
                    // Sequence repairs and rejects happen inside a live session.
                    SessionReport::ResendRequested { .. }
                    | SessionReport::GapFilled { .. }
                    | SessionReport::SequenceReset { .. }
                    | SessionReport::SessionRejected { .. }
                    | SessionReport::Unhandled { .. } => return,
                };
            }
            // Orders, the clock and the journal's own notes do not move the sessions.
            Event::Queued { .. }
            | Event::Sent { .. }
            | Event::Modified { .. }
            | Event::Cancelled { .. }
            | Event::Rejected { .. }
            | Event::Response { .. }
            | Event::UnmatchedResponse { .. }
            | Event::Unanswered { .. }
            | Event::ClockStep { .. }
            | Event::SyncFailed
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::CancelQueued { .. }
            | Event::CancelSent { .. }
            | Event::ReplaceQueued { .. }
            | Event::ReplaceSent { .. }
            | Event::Fill { .. }
            | Event::VenueCancelled { .. }
            | Event::Replaced { .. }
            | Event::CancelRejected { .. }
            | Event::Expired { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_) => {}
        }
    }

    /// `window open | exchange logged on`, at wall time `now_ns`.
    pub(super) fn describe(&self, now_ns: i64) -> String {
        let window = if self.open {
            "window open".to_string()
        } else {
            match self.window.current_or_next(now_ns).filter(|span| span.start_ns > now_ns) {
                Some(span) => format!("window closed, opens {}", self.when(span.start_ns, now_ns)),
                None => "window closed".to_string(),
            }
        };
        if !self.session_venue {
            return format!("{window} | simulated exchange");
        }
        let secs = |from: i64, to: i64| duration(u64::try_from(to.saturating_sub(from)).unwrap_or(0));
        let exchange = match self.exchange {
            Link::NotConnected => "not connected".to_string(),
            Link::LoggingOn { since_ns } => format!("logging on ({})", secs(since_ns, now_ns)),
            Link::LoggedOn => "logged on".to_string(),
            Link::Refused { retry_ns } if retry_ns > now_ns => {
                format!("refused the logon, retry in {}", secs(now_ns, retry_ns))
            }
            Link::Disconnected { cause, retry_ns } if retry_ns > now_ns || !self.open => {
                let cause = cause.map_or("", DisconnectCause::name);
                if self.open {
                    format!("disconnected ({cause}), retry in {}", secs(now_ns, retry_ns))
                } else {
                    format!("disconnected ({cause})")
                }
            }
            Link::Refused { retry_ns } => {
                format!("logging on again ({}) after a refused logon", secs(retry_ns, now_ns))
            }
            Link::Disconnected { cause, retry_ns } => format!(
                "logging on again ({}) after a disconnect ({})",
                secs(retry_ns, now_ns),
                cause.map_or("", DisconnectCause::name)
            ),
            Link::LoggingOut => "logging out".to_string(),
            Link::LoggedOut => "logged out".to_string(),
        };
        format!("{window} | exchange {exchange}")
    }

    /// `10:00:00` the same day in the window's zone, else `Mon 10:00:00`.
    fn when(&self, at_ns: i64, now_ns: i64) -> String {
        let zoned = |ns: i64| {
            jiff::Timestamp::from_nanosecond(i128::from(ns))
                .map(|t| t.to_zoned(self.window.timezone().clone()))
        };
        match (zoned(at_ns), zoned(now_ns)) {
            (Ok(at), Ok(now)) if at.date() == now.date() => at.strftime("%H:%M:%S").to_string(),
            (Ok(at), _) => at.strftime("%a %H:%M:%S").to_string(),
            (Err(_), _) => format!("at {at_ns} ns"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::DaySet;

    const S: i64 = 1_000_000_000;
    const LOGGED_ON: SessionReport = SessionReport::LoggedOn { next_out_seq: 1, next_in_seq: 1 };

    /// 10:00-13:00 UTC, and 2026-11-23 (a Monday) at `h:m:s` in ns.
    fn window() -> (TradingWindow, impl Fn(i64, i64, i64) -> i64) {
        let tz = jiff::tz::TimeZone::UTC;
        let w = TradingWindow::new(tz, "10:00".parse().unwrap(), "13:00".parse().unwrap(), DaySet::ALL);
        let day = "2026-11-23T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64;
        (w, move |h, m, s| day + ((h * 60 + m) * 60 + s) * S)
    }

    /// Feeds `e` at `t`.
    fn push(s: &mut Sessions, t: i64, e: Event) {
        s.push(t, &e);
    }

    #[test]
    fn the_window_and_a_fix_session_are_told_apart() {
        let (w, at) = window();
        let mut s = Sessions::new(w, true);
        assert_eq!(s.describe(at(9, 0, 0)), "window closed, opens 10:00:00 | exchange not connected");
        push(&mut s, at(10, 0, 0), Event::Logon);
        assert_eq!(s.describe(at(10, 0, 4)), "window open | exchange logging on (4.0s)");
        let refused = SessionReport::LogonRefused { retry_in_ns: 2 * S as u64 };
        push(&mut s, at(10, 0, 10), Event::ExchangeSession(refused));
        assert_eq!(s.describe(at(10, 0, 11)), "window open | exchange refused the logon, retry in 1.0s");
        assert_eq!(
            s.describe(at(10, 0, 13)),
            "window open | exchange logging on again (1.0s) after a refused logon"
        );
        push(&mut s, at(10, 0, 14), Event::ExchangeSession(LOGGED_ON));
        assert_eq!(s.describe(at(10, 0, 15)), "window open | exchange logged on");
        // Sequence repairs and rejects happen inside a live session.
        push(
            &mut s,
            at(10, 0, 16),
            Event::ExchangeSession(SessionReport::GapFilled { begin: 1, new_seq: 2 }),
        );
        assert_eq!(s.describe(at(10, 0, 17)), "window open | exchange logged on");
        let down = SessionReport::Disconnected { cause: DisconnectCause::PeerClosed, retry_in_ns: S as u64 };
        push(&mut s, at(10, 1, 0), Event::ExchangeSession(down));
        assert_eq!(
            s.describe(at(10, 1, 0)),
            "window open | exchange disconnected (peer_closed), retry in 1.0s"
        );
        assert_eq!(
            s.describe(at(10, 1, 3)),
            "window open | exchange logging on again (2.0s) after a disconnect (peer_closed)"
        );
        push(&mut s, at(10, 1, 4), Event::ExchangeSession(LOGGED_ON));
        push(&mut s, at(13, 0, 0), Event::Logout);
        assert_eq!(s.describe(at(13, 0, 0)), "window closed, opens Tue 10:00:00 | exchange logging out");
        push(&mut s, at(13, 0, 1), Event::ExchangeSession(SessionReport::LoggedOut));
        assert_eq!(s.describe(at(13, 0, 1)), "window closed, opens Tue 10:00:00 | exchange logged out");
        // A logout that finds no session (never logged on) leaves it not connected.
        push(&mut s, at(34, 0, 0), Event::Logon);
        push(&mut s, at(35, 0, 0), Event::Logout);
        assert!(s.describe(at(35, 0, 0)).ends_with("| exchange not connected"));
    }

    #[test]
    fn a_restart_starts_the_session_again() {
        let (w, at) = window();
        let mut s = Sessions::new(w, true);
        push(&mut s, at(10, 0, 0), Event::Logon);
        push(&mut s, at(10, 0, 1), Event::ExchangeSession(LOGGED_ON));
        push(&mut s, at(11, 0, 0), Event::Recovered { queued: 0, open: 0 });
        assert_eq!(s.describe(at(11, 0, 0)), "window closed | exchange not connected");
        push(&mut s, at(11, 0, 0), Event::Logon);
        assert_eq!(s.describe(at(11, 0, 0)), "window open | exchange logging on (0µs)");
    }

    #[test]
    fn the_simulated_exchange_is_named_without_a_state() {
        let (w, at) = window();
        let mut s = Sessions::new(w, false);
        assert_eq!(s.describe(at(9, 59, 59)), "window closed, opens 10:00:00 | simulated exchange");
        push(&mut s, at(10, 0, 0), Event::Logon);
        assert_eq!(s.describe(at(10, 0, 1)), "window open | simulated exchange");
    }
}
