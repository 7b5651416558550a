//! Follows the engine's own records (the session: logon, logout, clock steps, restarts,
//! responses that match no order) and tells them; each desk tells its own orders' fates.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use oms::journal::{JournalError, Outcomes, Poll};
use oms::model::SessionEvent;
use oms::record::{ENGINE, ExchangeDetail};
use oms::{EngineClock, EventKind, EventRecord};

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
    match r.kind {
        EventKind::Logon => "ENGINE   LOGON      window open: orders may go to the exchange".to_string(),
        EventKind::Logout => "ENGINE   LOGOUT     window closed".to_string(),
        EventKind::ClockStep => {
            format!("ENGINE   CLOCK      wall clock re-anchored by {:+} ns", r.latency_ns as i64)
        }
        EventKind::Recovered => {
            format!("ENGINE   RESTART    {} queued and {} in flight restored", r.qty, r.order_id)
        }
        EventKind::UnmatchedResponse => {
            format!("ENGINE   unmatched  response for #{} matches no order in flight", r.order_id)
        }
        EventKind::SyncFailed => "JOURNAL  SYNC FAIL  the journal could not flush to disk".to_string(),
        EventKind::ExchangeSession => exchange_session(r),
        EventKind::Execution => {
            let what = match r.exchange() {
                ExchangeDetail::Execution { exec_type, .. } => exec_type.exec_type_name().unwrap_or("report"),
                _ => "report",
            };
            format!(
                "EXCHANGE execution #{} {what}: {} @ {:.2} (after its response)",
                r.order_id, r.qty, r.price
            )
        }
        EventKind::ExchangeReject => {
            let source = match r.exchange() {
                ExchangeDetail::Reject { source } => source.name(),
                _ => "?",
            };
            format!("EXCHANGE REJECTED #{} by the exchange ({source}, code {})", r.order_id, r.qty)
        }
        k @ (EventKind::Queued
        | EventKind::Sent
        | EventKind::Modified
        | EventKind::Cancelled
        | EventKind::Rejected
        | EventKind::Response
        | EventKind::Unanswered) => format!("ENGINE   {} #{} (answers no producer)", k.name(), r.order_id),
    }
}

fn exchange_session(r: &EventRecord) -> String {
    let ExchangeDetail::Session { event, cause } = r.exchange() else {
        return "EXCHANGE session report".into();
    };
    let secs = r.latency_ns as f64 / 1e9;
    match event {
        SessionEvent::LoggedOn => format!(
            "EXCHANGE FIX session logged on (next MsgSeqNum out {}, in {}): orders flow",
            r.qty, r.order_id
        ),
        SessionEvent::LogonRefused => {
            format!("EXCHANGE logon refused, retrying in {secs:.1} s (orders wait in the queue)")
        }
        SessionEvent::Disconnected => format!(
            "EXCHANGE disconnected ({}), reconnecting in {secs:.1} s (orders wait in the queue)",
            cause.map_or("?", |c| c.name())
        ),
        SessionEvent::LoggedOut => "EXCHANGE FIX session logged out".into(),
        other => format!("EXCHANGE {} (numbers {}, {})", other.name(), r.qty, r.order_id),
    }
}
