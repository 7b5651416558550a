//! Follows the journal while it is written and tells what the engine decided, one line per event.

use std::collections::HashSet;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use oms::journal::{Follower, Poll};
use oms::model::SessionEvent;
use oms::record::ExchangeDetail;
use oms::{EngineClock, EventKind, EventRecord, RejectReason, RequestType};

/// The narrator thread.
pub struct Narrator {
    thread: JoinHandle<()>,
}

impl Narrator {
    /// Starts following `path` (which must exist).
    pub fn start(
        path: PathBuf,
        clock: EngineClock,
        tz: jiff::tz::TimeZone,
    ) -> Result<Narrator, oms::journal::JournalError> {
        let mut follower = Follower::open(&path)?;
        let thread = std::thread::Builder::new()
            .name("narrator".into())
            .spawn(move || {
                let mut queued: HashSet<u64> = HashSet::new();
                let mut printed_wait = false;
                loop {
                    match follower.poll() {
                        Ok(Poll::Record(r)) => println!("{}", line(&r, &tz, &mut queued)),
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
            .map_err(|e| oms::journal::JournalError::io(&path, "start the narrator thread", e))?;
        Ok(Narrator { thread })
    }

    /// Waits until the narrator has told everything (the journal is closed).
    pub fn finish(self) {
        let _ = self.thread.join();
    }
}

fn time(ns: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_nanosecond(ns as i128) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%H:%M:%S%.3f").to_string(),
        Err(_) => format!("{ns}ns"),
    }
}

fn order(r: &EventRecord) -> String {
    let side = if r.side == '\0' { "-".to_string() } else { r.side.to_string() };
    format!("#{} {side} {} @ {:.2}", r.order_id, r.qty, r.price)
}

fn line(r: &EventRecord, tz: &jiff::tz::TimeZone, queued: &mut HashSet<u64>) -> String {
    let t = time(r.time_ns, tz);
    let what = match r.kind {
        EventKind::Logon => "LOGON      window open: orders may go to the exchange".to_string(),
        EventKind::Logout => "LOGOUT     window closed".to_string(),
        EventKind::Queued => {
            queued.insert(r.order_id);
            format!("queued     {} waits for the throttle ({} in queue)", order(r), queued.len())
        }
        EventKind::Sent => {
            let from_queue = queued.remove(&r.order_id);
            let waited = r.latency_ns as f64 / 1e6;
            if from_queue {
                format!("SENT       {} after {waited:.0} ms in the queue ({} left)", order(r), queued.len())
            } else {
                format!("SENT       {} at once", order(r))
            }
        }
        EventKind::Modified => format!("modified   {} in place, keeps its place in line", order(r)),
        EventKind::Cancelled => {
            queued.remove(&r.order_id);
            format!("cancelled  #{} removed from the queue ({} left)", r.order_id, queued.len())
        }
        EventKind::Rejected => {
            // A queued order leaves the queue rejected only at logout or shutdown (a duplicate
            // New for a queued id is rejected without touching the queued one).
            if r.request == RequestType::New
                && matches!(r.reason, Some(RejectReason::SessionEnded | RejectReason::Shutdown))
            {
                queued.remove(&r.order_id);
            }
            let reason = r.reason.map_or("?", |x| x.name());
            format!("REJECTED   {} #{}: {reason}", r.request.name(), r.order_id)
        }
        EventKind::Response => format!(
            "response   #{} {} after {:.0} us round trip",
            r.order_id,
            r.response.name(),
            r.latency_ns as f64 / 1e3
        ),
        EventKind::UnmatchedResponse => {
            format!("unmatched  response for #{} matches no order in flight", r.order_id)
        }
        EventKind::Unanswered => {
            format!("unanswered #{} was sent but got no response before shutdown", r.order_id)
        }
        EventKind::ClockStep => format!("CLOCK      wall clock re-anchored by {:+} ns", r.latency_ns as i64),
        EventKind::ExchangeSession => exchange_session(r),
        EventKind::Execution => {
            let what = match r.exchange() {
                ExchangeDetail::Execution { exec_type, .. } => exec_type.exec_type_name().unwrap_or("report"),
                _ => "report",
            };
            format!("execution  #{} {what}: {} @ {:.2} (after its response)", r.order_id, r.qty, r.price)
        }
        EventKind::ExchangeReject => {
            let source = match r.exchange() {
                ExchangeDetail::Reject { source } => source.name(),
                _ => "?",
            };
            format!("REJECTED   #{} by the exchange ({source}, code {})", r.order_id, r.qty)
        }
    };
    format!("{t}  {what}")
}

fn exchange_session(r: &EventRecord) -> String {
    let ExchangeDetail::Session { event, cause } = r.exchange() else {
        return "EXCHANGE   session report".into();
    };
    let secs = r.latency_ns as f64 / 1e9;
    match event {
        SessionEvent::LoggedOn => format!(
            "EXCHANGE   FIX session logged on (next MsgSeqNum out {}, in {}): orders flow",
            r.qty, r.order_id
        ),
        SessionEvent::LogonRefused => {
            format!("EXCHANGE   logon refused, retrying in {secs:.1} s (orders wait in the queue)")
        }
        SessionEvent::Disconnected => format!(
            "EXCHANGE   disconnected ({}), reconnecting in {secs:.1} s (orders wait in the queue)",
            cause.map_or("?", |c| c.name())
        ),
        SessionEvent::LoggedOut => "EXCHANGE   FIX session logged out".into(),
        other => format!("EXCHANGE   {} (numbers {}, {})", other.name(), r.qty, r.order_id),
    }
}
