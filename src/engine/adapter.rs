//! The exchange adapter's part of a loop turn, and what it reports, recorded.
//!
//! [`Exchange::poll`] runs once per turn, after the last dispatch: a session adapter (FIX)
//! writes what the turn's sends encoded in one `write`, reads what arrived, runs its timers,
//! pushes each order's first answer into the response ring and hands its other reports
//! ([`ExchangeEvent`]) to the engine, which records each as an `exchange_session`, `execution`
//! or `exchange_reject` record ([`record_of`]). Numbers and codes go into the journal; the
//! counterparty's text goes to standard error only ([`say`]), never into the journal.
//!
//! **Standard error is limited, the journal is not.** A flow the exchange turns down order by
//! order (200 "unknown security" rejects in two seconds) would bury everything else on standard
//! error. [`Said`] lets [`SAY_BURST`] lines of each kind of report through per second and counts
//! the rest; when the second is over (at the next report, in an idle turn, or at shutdown) one
//! line says how many were not shown and how to list them from the journal, which has every one.
//! All of it runs in the cold `say` path or in idle turns: the send path is untouched.
//!
//! **An order's response comes before its other reports.** The adapter answers an order
//! through the response ring and may report a fill or a reject of the same order in the same
//! `poll`; the ring is drained (every answer matched, as in the loop's response step) before an
//! order's report is recorded, so a journal never shows an execution before the response of its
//! order.
//!
//! While the adapter is not [`ready`](Exchange::ready) (logging on, refused, reconnecting),
//! nothing is sent: orders wait in the queue and the throttle is not consulted
//! (`Engine::can_send_now`).

use std::time::{Duration, Instant};

use super::Engine;
use super::answers::answered;
use crate::exchange::{Exchange, ExchangeEvent};
use crate::model::FixCode;
use crate::record::{Event, EventRecord, SessionReport};
use crate::sink::EventSink;

/// How long a shutdown keeps polling the adapter for its logout to go out and be answered.
pub(super) const SHUTDOWN_LOGOUT_WAIT: Duration = Duration::from_secs(2);

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// The adapter's work for this turn (see the module docs); returns how much it did.
    #[inline]
    pub(super) fn poll_exchange(&mut self, now: u64) -> usize {
        let Engine { exchange, responses, open, queue, risk, clock, stats, sink, said, .. } = self;
        exchange.poll(now, &mut |e| {
            let order_report = matches!(e, ExchangeEvent::Execution(_) | ExchangeEvent::OrderRejected { .. });
            if order_report {
                // The order's answer may be in the ring: record it first.
                for ring in responses.iter_mut() {
                    while let Some(r) = ring.pop() {
                        let time = clock.now_ns();
                        let (rec, dropped) = answered(r, time, open, queue, risk, clock, stats);
                        for rec in std::iter::once(rec).chain(dropped) {
                            stats.events += 1;
                            sink.record(&rec);
                        }
                    }
                }
            }
            let rec = record_of(&e, clock.wall_ns(clock.now_ns()));
            stats.events += 1;
            sink.record(&rec);
            say(said, &e, now);
        })
    }

    /// In an idle turn: the count of the reports not shown, once their second is over.
    #[cold]
    #[inline(never)]
    pub(super) fn say_held(&mut self, now: u64) {
        if let Some(summary) = self.said.roll(now) {
            eprintln!("{summary}");
        }
    }

    /// At shutdown, after the logout: polls the adapter until it has nothing scheduled (its
    /// Logout went out and was answered) or [`SHUTDOWN_LOGOUT_WAIT`] has passed, recording what
    /// it reports and matching the answers it gives meanwhile. An adapter without a session of
    /// its own returns after one poll.
    #[cold]
    pub(super) fn finish_exchange(&mut self) {
        let until = Instant::now() + SHUTDOWN_LOGOUT_WAIT;
        loop {
            let work = self.poll_exchange(self.clock.now_ns());
            for i in 0..self.responses.len() {
                while let Some(r) = self.responses[i].pop() {
                    let now = self.clock.now_ns();
                    self.on_response(r, now);
                }
            }
            if (work == 0 && self.exchange.next_deadline_ns().is_none()) || Instant::now() >= until {
                if let Some(summary) = self.said.finish(self.clock.now_ns()) {
                    eprintln!("{summary}");
                }
                break;
            }
            if work == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

/// The record of an exchange report at wall time `time_ns` (the text is left out: the
/// counterparty's words go to standard error only).
pub(super) fn record_of(e: &ExchangeEvent<'_>, time_ns: i64) -> EventRecord {
    let event = match *e {
        ExchangeEvent::LoggedOn { next_out_seq, next_in_seq } => {
            Event::ExchangeSession(SessionReport::LoggedOn { next_out_seq, next_in_seq })
        }
        ExchangeEvent::LogonRefused { retry_in_ns, .. } => {
            Event::ExchangeSession(SessionReport::LogonRefused { retry_in_ns })
        }
        ExchangeEvent::Disconnected { cause, retry_in_ns, .. } => {
            Event::ExchangeSession(SessionReport::Disconnected { cause, retry_in_ns })
        }
        ExchangeEvent::LoggedOut { .. } => Event::ExchangeSession(SessionReport::LoggedOut),
        ExchangeEvent::ResendRequested { begin, end } => {
            Event::ExchangeSession(SessionReport::ResendRequested { begin, end })
        }
        ExchangeEvent::GapFilled { begin, new_seq } => {
            Event::ExchangeSession(SessionReport::GapFilled { begin, new_seq })
        }
        ExchangeEvent::SequenceReset { new_seq } => {
            Event::ExchangeSession(SessionReport::SequenceReset { new_seq })
        }
        ExchangeEvent::SessionRejected { ref_seq, reason, .. } => {
            Event::ExchangeSession(SessionReport::SessionRejected { ref_seq, code: reason.into() })
        }
        ExchangeEvent::Unhandled { seq, .. } => Event::ExchangeSession(SessionReport::Unhandled { seq }),
        ExchangeEvent::Execution(x) => Event::Execution {
            order_id: x.order_id,
            last_qty: x.last_qty,
            last_px: x.last_px,
            exec_type: FixCode::lossy(x.exec_type),
            ord_status: FixCode::lossy(x.ord_status),
        },
        ExchangeEvent::OrderRejected { order_id, source, reason, .. } => {
            Event::ExchangeReject { order_id, source, code: reason.into() }
        }
    };
    EventRecord::new(time_ns, event)
}

/// The counterparty's words (and ours about what happened) on standard error: a report with a
/// text, escaped (it comes from the network), within [`Said`]'s limit. Reports without one (a
/// logon, an execution, a sequence repair) are in the journal only.
#[cold]
#[inline(never)]
fn say(said: &mut Said, e: &ExchangeEvent<'_>, now: u64) {
    let Some(topic) = topic(e) else { return };
    let (summary, shown) = said.note(topic, now);
    if let Some(summary) = summary {
        eprintln!("{summary}");
    }
    if shown && let Some(line) = text_line(e) {
        eprintln!("{line}");
    }
}

/// Lines of one kind of report shown per [`SAY_INTERVAL_NS`]; past these, counted.
pub(super) const SAY_BURST: u32 = 5;

/// The interval of [`SAY_BURST`], ns (one second, the status line's).
const SAY_INTERVAL_NS: u64 = 1_000_000_000;

/// The kinds of report that have words for standard error, each limited on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Topic {
    LogonRefused,
    Disconnected,
    LoggedOut,
    OrderRejected,
    SessionRejected,
    Unhandled,
}

impl Topic {
    const ALL: [Topic; 6] = [
        Topic::LogonRefused,
        Topic::Disconnected,
        Topic::LoggedOut,
        Topic::OrderRejected,
        Topic::SessionRejected,
        Topic::Unhandled,
    ];

    /// What they are, in the plural, and the record kind that holds them in the journal.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Topic::LogonRefused => ("logon refusals", "exchange_session"),
            Topic::Disconnected => ("disconnects", "exchange_session"),
            Topic::LoggedOut => ("logouts", "exchange_session"),
            Topic::OrderRejected => ("orders rejected by the exchange", "exchange_reject"),
            Topic::SessionRejected => ("messages rejected by the exchange", "exchange_session"),
            Topic::Unhandled => ("exchange messages not handled", "exchange_session"),
        }
    }
}

/// The topic of a report that has words for standard error ([`text_line`]); `None` for the
/// others.
fn topic(e: &ExchangeEvent<'_>) -> Option<Topic> {
    Some(match e {
        ExchangeEvent::LogonRefused { .. } => Topic::LogonRefused,
        ExchangeEvent::Disconnected { .. } => Topic::Disconnected,
        ExchangeEvent::LoggedOut { text } if !text.is_empty() => Topic::LoggedOut,
        ExchangeEvent::OrderRejected { .. } => Topic::OrderRejected,
        ExchangeEvent::SessionRejected { .. } => Topic::SessionRejected,
        ExchangeEvent::Unhandled { .. } => Topic::Unhandled,
        ExchangeEvent::LoggedOut { .. }
        | ExchangeEvent::LoggedOn { .. }
        | ExchangeEvent::Execution(_)
        | ExchangeEvent::ResendRequested { .. }
        | ExchangeEvent::GapFilled { .. }
        | ExchangeEvent::SequenceReset { .. } => return None,
    })
}

/// How many lines of each topic standard error has had this interval, and how many were held
/// back. Fixed-size: nothing is allocated but a summary when one is written.
#[derive(Debug, Default)]
pub(super) struct Said {
    /// Start of the current interval, monotonic ns (`None`: none yet).
    since_ns: Option<u64>,
    shown: [u32; Topic::ALL.len()],
    held: [u32; Topic::ALL.len()],
    /// Whether any line was held back this interval (checked in idle turns).
    pub(super) holding: bool,
}

impl Said {
    /// A report of `topic` at `now`: the summary of an interval that has ended, if lines were
    /// held back in it, and whether this report's line is shown.
    fn note(&mut self, topic: Topic, now: u64) -> (Option<String>, bool) {
        let summary = self.roll(now);
        let i = topic as usize;
        if self.shown[i] < SAY_BURST {
            self.shown[i] += 1;
            (summary, true)
        } else {
            self.held[i] += 1;
            self.holding = true;
            (summary, false)
        }
    }

    /// If the interval has ended at `now` (or none has begun): its summary, if lines were held
    /// back, and a new interval from `now`.
    pub(super) fn roll(&mut self, now: u64) -> Option<String> {
        if self.since_ns.is_some_and(|since| now < since.saturating_add(SAY_INTERVAL_NS)) {
            return None;
        }
        let summary = self.summary(now);
        *self = Said { since_ns: Some(now), ..Said::default() };
        summary
    }

    /// At shutdown (`now`): the summary of the interval so far, if lines were held back.
    pub(super) fn finish(&mut self, now: u64) -> Option<String> {
        let summary = self.summary(now);
        *self = Said::default();
        summary
    }

    fn summary(&self, now: u64) -> Option<String> {
        if !self.holding {
            return None;
        }
        let secs = now.saturating_sub(self.since_ns.unwrap_or(now)) as f64 / 1e9;
        let lines: Vec<String> = Topic::ALL
            .iter()
            .filter(|t| self.held[**t as usize] > 0)
            .map(|t| {
                let (what, kind) = t.words();
                format!(
                    "oms: {} more {what} in the last {secs:.1} s not shown here; the journal has each one \
                     (oms decode JOURNAL --kind {kind})",
                    self.held[*t as usize]
                )
            })
            .collect();
        Some(lines.join("\n"))
    }
}

/// The standard-error line for a report, if it has words to say.
fn text_line(e: &ExchangeEvent<'_>) -> Option<String> {
    let secs = |ns: u64| ns as f64 / 1e9;
    Some(match *e {
        ExchangeEvent::LogonRefused { text, retry_in_ns } => format!(
            "oms: exchange logon refused: {}; retrying in {:.1} s",
            text.escape_debug(),
            secs(retry_in_ns)
        ),
        ExchangeEvent::Disconnected { cause, text, retry_in_ns } => format!(
            "oms: exchange disconnected ({}): {}; reconnecting in {:.1} s",
            cause.name(),
            text.escape_debug(),
            secs(retry_in_ns)
        ),
        ExchangeEvent::LoggedOut { text } if !text.is_empty() => {
            format!("oms: exchange logged out: {}", text.escape_debug())
        }
        ExchangeEvent::OrderRejected { order_id, source, reason, text } => format!(
            "oms: order {order_id} rejected by the exchange ({}, code {reason}): {}",
            source.name(),
            text.escape_debug()
        ),
        ExchangeEvent::SessionRejected { ref_seq, reason, text } => format!(
            "oms: the exchange rejected our message {ref_seq} (code {reason}): {}",
            text.escape_debug()
        ),
        ExchangeEvent::Unhandled { msg_type, seq, reason } => format!(
            "oms: exchange message {} (MsgSeqNum {seq}) not handled: {reason}",
            msg_type.escape_debug()
        ),
        ExchangeEvent::LoggedOut { .. }
        | ExchangeEvent::LoggedOn { .. }
        | ExchangeEvent::Execution(_)
        | ExchangeEvent::ResendRequested { .. }
        | ExchangeEvent::GapFilled { .. }
        | ExchangeEvent::SequenceReset { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{DisconnectCause, ExecutionReport};

    /// A flood of one kind of report shows its first lines, then one line that counts the rest
    /// once the second is over; another kind has its own allowance; a quiet second starts again.
    #[test]
    fn a_flood_of_reports_is_limited_and_counted() {
        let mut said = Said::default();
        let t0 = 5_000_000_000;
        let mut shown = 0;
        let mut summaries = Vec::new();
        for i in 0..200u64 {
            let (summary, show) = said.note(Topic::OrderRejected, t0 + i * 2_000_000); // 0.4 s
            summaries.extend(summary);
            shown += usize::from(show);
        }
        assert_eq!((shown, summaries.len()), (SAY_BURST as usize, 0));
        assert!(said.holding);
        let (summary, show) = said.note(Topic::LogonRefused, t0 + 500_000_000);
        assert!(show && summary.is_none(), "a logon refusal has its own allowance");
        assert_eq!(said.roll(t0 + 900_000_000), None, "the second is not over");
        let summary = said.roll(t0 + 1_000_000_000).expect("the count once the second is over");
        assert_eq!(
            summary,
            "oms: 195 more orders rejected by the exchange in the last 1.0 s not shown here; the \
             journal has each one (oms decode JOURNAL --kind exchange_reject)"
        );
        assert!(!said.holding && said.roll(t0 + 5_000_000_000).is_none(), "said once");
        assert_eq!(said.note(Topic::OrderRejected, t0 + 5_100_000_000), (None, true), "a new second");
        // At shutdown, what was held back in the last interval is said too.
        for i in 0..10 {
            said.note(Topic::Unhandled, t0 + 5_200_000_000 + i);
        }
        let last = said.finish(t0 + 5_300_000_000).expect("the count at shutdown");
        assert!(last.starts_with("oms: 5 more exchange messages not handled"), "{last}");
        assert_eq!(topic(&ExchangeEvent::LoggedOut { text: "" }), None, "nothing to say");
    }

    #[test]
    fn the_counterpartys_text_goes_to_standard_error_escaped() {
        let refused = ExchangeEvent::LogonRefused { text: "wrong password\x1b[2J", retry_in_ns: 500_000_000 };
        assert_eq!(
            text_line(&refused).as_deref(),
            Some("oms: exchange logon refused: wrong password\\u{1b}[2J; retrying in 0.5 s")
        );
        let down = ExchangeEvent::Disconnected { cause: DisconnectCause::Io, text: "reset", retry_in_ns: 0 };
        assert_eq!(
            text_line(&down).as_deref(),
            Some("oms: exchange disconnected (io_error): reset; reconnecting in 0.0 s")
        );
        assert_eq!(text_line(&ExchangeEvent::LoggedOut { text: "" }), None);
        let fill =
            ExecutionReport { order_id: 1, exec_type: b'F', ord_status: b'2', last_qty: 1, last_px: 1.0 };
        assert_eq!(text_line(&ExchangeEvent::Execution(fill)), None);
    }
}
