//! Follows the engine's own records (the session: logon, logout, clock steps, restarts,
//! responses that match no order) and tells them; each desk tells its own orders' fates.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use oms::journal::{JournalError, Outcomes, Poll};
use oms::record::{ENGINE, Event, SessionReport};
use oms::{AnswerKind, EngineClock, EventRecord, RequestType};

use crate::desks::time;

/// The narrator thread.
pub struct Narrator {
    thread: JoinHandle<()>,
}

impl Narrator {
    /// Starts following the engine's records in `path` (which must exist).
    pub fn start(
        path: PathBuf,
        clock: EngineClock,
        tz: jiff::tz::TimeZone,
    ) -> Result<Narrator, JournalError> {
        let mut engine = Outcomes::follow(&path, ENGINE)?;
        let thread = std::thread::Builder::new()
            .name("narrator".into())
            .spawn(move || {
                let mut printed_wait = false;
                loop {
                    match engine.poll_record() {
                        Ok(Poll::Record(r)) => println!("{}  {}", time(r.time_ns, &tz), line(&r)),
                        Ok(Poll::Pending) => {
                            if !printed_wait {
                                let now = clock.wall_ns(clock.now_ns());
                                println!("{}  waiting for the window to open ...", time(now, &tz));
                                printed_wait = true;
                            }
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Ok(Poll::Closed) => return,
                        Err(e) => {
                            eprintln!("narrator: {e}");
                            return;
                        }
                    }
                }
            })
            .map_err(|e| JournalError::io(&path, "start the narrator thread", e))?;
        Ok(Narrator { thread })
    }

    /// Waits until the narrator has told everything (the journal is closed).
    pub fn finish(self) {
        let _ = self.thread.join();
    }
}

/// One of the engine's own records, told.
fn line(r: &EventRecord) -> String {
    match r.event() {
        Event::Logon => "ENGINE   LOGON      window open: orders may go to the exchange".to_string(),
        Event::Logout => "ENGINE   LOGOUT     window closed".to_string(),
        Event::Halted => {
            "ENGINE   HALTED     kill switch: queue rejected, working orders cancelled".to_string()
        }
        Event::Resumed => "ENGINE   RESUMED    trading resumed after a halt".to_string(),
        Event::ClientAttached { pid } => {
            format!("CLIENT   ATTACHED   process {pid} is producer {}", r.producer)
        }
        Event::ClientDetached { pid, cause, .. } => {
            format!("CLIENT   DETACHED   process {pid} ({}), producer {}", cause.name(), r.producer)
        }
        Event::Reference { symbol, price } => {
            format!("ENGINE   REFERENCE  symbol {symbol}: reference price {price} (the price band's centre)")
        }
        Event::ClockStep { step_ns } => {
            format!("ENGINE   CLOCK      wall clock re-anchored by {step_ns:+} ns")
        }
        Event::Recovered { queued, open } => {
            format!("ENGINE   RESTART    {queued} queued and {open} open at the exchange restored")
        }
        Event::UnmatchedResponse { order_id, .. } => {
            format!("ENGINE   unmatched  response for #{order_id} matches no order in flight")
        }
        Event::SyncFailed => "JOURNAL  SYNC FAIL  the journal could not flush to disk".to_string(),
        Event::ExchangeSession(report) => exchange_session(&report),
        Event::Execution { order_id, last_qty, last_px, exec_type, .. } => format!(
            "EXCHANGE execution #{order_id} {}: {last_qty} @ {last_px:.2} (after its response)",
            exec_type.exec_type_name().unwrap_or("report")
        ),
        Event::ExchangeReject { order_id, source, code } => {
            format!("EXCHANGE REJECTED #{order_id} by the exchange ({}, code {code})", source.name())
        }
        // A cancel that reached the exchange after the order's last fill: it lost the race.
        Event::UnexpectedReport { order_id, answer: AnswerKind::CancelRejected, state: None, .. } => format!(
            "EXCHANGE cancel     #{order_id} refused: the order had filled first (the cancel lost the \
             race; recorded unexpected_report, nothing changed)"
        ),
        Event::UnexpectedReport { order_id, answer, state, .. } => format!(
            "EXCHANGE unexpected {} for #{order_id}, which is {}: recorded, nothing changed",
            answer.name(),
            state.map_or("not at the exchange", |s| s.name())
        ),
        // The engine's own cancels at the window's end (cancel_on_logout).
        Event::CancelQueued { order, .. } => format!(
            "ENGINE   cancel     #{}: still working at the window's end, cancelled before the logout",
            order.order_id
        ),
        Event::CancelSent { order, .. } => format!("ENGINE   cancel     #{} sent", order.order_id),
        Event::Rejected { order, request: RequestType::Cancel, reason, .. } => format!(
            "ENGINE   cancel     #{} {}: no permit for it before the logout",
            order.order_id,
            reason.name()
        ),
        e @ (Event::Queued { .. }
        | Event::ReplaceQueued { .. }
        | Event::ReplaceSent { .. }
        | Event::Fill { .. }
        | Event::VenueCancelled { .. }
        | Event::Replaced { .. }
        | Event::CancelRejected { .. }
        | Event::Expired { .. }
        | Event::Sent { .. }
        | Event::Modified { .. }
        | Event::Cancelled { .. }
        | Event::Rejected { .. }
        | Event::Response { .. }
        | Event::Unanswered { .. }
        | Event::Unfit(_)) => {
            format!("ENGINE   {} #{} (answers no producer)", e.kind().name(), r.order_id)
        }
    }
}

fn exchange_session(report: &SessionReport) -> String {
    match *report {
        SessionReport::LoggedOn { next_out_seq, next_in_seq } => format!(
            "EXCHANGE FIX session logged on (next MsgSeqNum out {next_out_seq}, in {next_in_seq}): orders flow"
        ),
        SessionReport::LogonRefused { retry_in_ns } => format!(
            "EXCHANGE logon refused, retrying in {:.1} s (orders wait in the queue)",
            retry_in_ns as f64 / 1e9
        ),
        SessionReport::Disconnected { cause, retry_in_ns } => format!(
            "EXCHANGE disconnected ({}), reconnecting in {:.1} s (orders wait in the queue)",
            cause.name(),
            retry_in_ns as f64 / 1e9
        ),
        SessionReport::LoggedOut => "EXCHANGE FIX session logged out".into(),
        other => format!("EXCHANGE {} ({other:?})", other.event().name()),
    }
}
