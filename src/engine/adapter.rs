//! The exchange adapter's part of a loop turn, and what it reports, recorded.
//!
//! [`Exchange::poll`] runs once per turn, after the last dispatch: a session adapter (FIX)
//! writes what the turn's sends encoded in one `write`, reads what arrived, runs its timers,
//! pushes each order's first answer into the response ring and hands its other reports
//! ([`ExchangeEvent`]) to the engine, which records each as an `exchange_session`, `execution`
//! or `exchange_reject` record ([`record_of`]). Numbers and codes go into the journal; the
//! counterparty's text goes to standard error only ([`say`]), never into the journal.
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

use super::{Engine, EngineStats};
use crate::clock::EngineClock;
use crate::exchange::{Exchange, ExchangeEvent};
use crate::inflight::InFlight;
use crate::model::{FixCode, OrderResponse};
use crate::record::{Event, EventRecord, SessionReport};
use crate::ring::InboundResponse;
use crate::sink::EventSink;

/// How long a shutdown keeps polling the adapter for its logout to go out and be answered.
pub(super) const SHUTDOWN_LOGOUT_WAIT: Duration = Duration::from_secs(2);

impl<E: Exchange, S: EventSink> Engine<E, S> {
    /// The adapter's work for this turn (see the module docs); returns how much it did.
    #[inline]
    pub(super) fn poll_exchange(&mut self, now: u64) -> usize {
        let Engine { exchange, responses, in_flight, clock, stats, sink, .. } = self;
        exchange.poll(now, &mut |e| {
            let order_report = matches!(e, ExchangeEvent::Execution(_) | ExchangeEvent::OrderRejected { .. });
            if order_report {
                // The order's answer may be in the ring: record it first.
                for ring in responses.iter_mut() {
                    while let Some(r) = ring.pop() {
                        let time = clock.now_ns();
                        let rec = matched(r, time, in_flight, clock, stats);
                        stats.events += 1;
                        sink.record(&rec);
                    }
                }
            }
            let rec = record_of(&e, clock.wall_ns(clock.now_ns()));
            stats.events += 1;
            sink.record(&rec);
            say(&e);
        })
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
                break;
            }
            if work == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

/// Matches a response to its in-flight order: the one path of both the loop's response step
/// (`Engine::on_response`) and a response drained ahead of an order's report. The record is
/// stamped with the later of `now` (the turn's reading) and the response's arrival, which keeps
/// journal times non-decreasing without another TSC read; latency = arrival − send.
#[inline(always)]
pub(super) fn matched(
    r: InboundResponse,
    now: u64,
    in_flight: &mut InFlight,
    clock: &EngineClock,
    stats: &mut EngineStats,
) -> EventRecord {
    stats.responses_in += 1;
    let arrival_ns = clock.mono_ns(r.arrival_raw);
    let time = clock.wall_ns(now.max(arrival_ns));
    let OrderResponse { order_id, response_type } = r.response;
    match in_flight.take(order_id) {
        Some(sent) => {
            stats.matched += 1;
            let round_trip_ns = arrival_ns.saturating_sub(sent.sent_ns);
            let event = Event::Response { order: sent.order, response: response_type, round_trip_ns };
            EventRecord::new(time, event).from_producer(sent.producer)
        }
        None => {
            stats.unmatched += 1;
            EventRecord::new(time, Event::UnmatchedResponse { order_id, response: response_type })
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
/// text, escaped (it comes from the network). Reports without one (a logon, an execution, a
/// sequence repair) are in the journal only.
#[cold]
#[inline(never)]
fn say(e: &ExchangeEvent<'_>) {
    if let Some(line) = text_line(e) {
        eprintln!("{line}");
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
