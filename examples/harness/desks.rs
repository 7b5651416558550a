//! The three upstream desks (producer threads) and their script, laid out in time relative to
//! the window's opening. Each desk follows its own outcomes in the journal
//! ([`oms::journal::Outcomes`]) and tells what became of its requests: no desk reads the
//! others' records.

use std::collections::HashSet;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use oms::journal::{JournalError, Outcome, OutcomeKind, OutcomePoll, Outcomes};
use oms::{OrderRequest, Producer, RejectReason, RequestType, Side};

/// What a step should lead to, whatever the timing (checked against the journal afterwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// No fixed outcome (it depends on the throttle and the clock).
    Any,
    /// Rejected with this reason.
    Reject(&'static str),
    /// Refused by a pre-trade risk limit (which one is the configuration's: the demo's own
    /// `[risk]` refuses it `max_order_qty`).
    Limit,
}

/// One request at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Seconds after the window opens (negative: before).
    pub at: f64,
    /// The request.
    pub order: OrderRequest,
    /// Its type.
    pub request: RequestType,
    /// What the narration says.
    pub note: &'static str,
    /// The outcome that must follow.
    pub expect: Expect,
}

/// The whole script.
pub struct Script {
    t0: Instant,
    open_after: Duration,
    window: Duration,
    desks: [Vec<Step>; 3],
}

/// The one symbol the desks trade.
pub const SYM: i32 = 42;

/// The demo's `[risk]` limit on one order's quantity (when its configuration has no `[risk]`):
/// the desks' orders are 1 to 20 shares; the fat finger is [`FAT_FINGER_QTY`].
pub const MAX_ORDER_QTY: u64 = 1000;

/// The fat finger's quantity (order [`FAT_FINGER_ID`]): refused by a limit, never sent.
pub const FAT_FINGER_QTY: u64 = 1_000_000;

/// The fat finger's order id.
pub const FAT_FINGER_ID: u64 = 1406;

/// Seconds after the window opens: the operator halts trading (the kill switch), then resumes.
pub const HALT_AT: f64 = 5.0;
/// See [`HALT_AT`].
pub const RESUME_AT: f64 = 6.0;

fn new(id: u64, price: f64, qty: u64) -> OrderRequest {
    OrderRequest::new(id, SYM, if id.is_multiple_of(2) { Side::Buy } else { Side::Sell }, price, qty)
}

fn step(at: f64, order: OrderRequest, request: RequestType, note: &'static str, expect: Expect) -> Step {
    Step { at, order, request, note, expect }
}

impl Script {
    /// The script for a window opening `open_after` after `t0` and lasting `window`.
    pub fn new(t0: Instant, open_after: Duration, window: Duration) -> Script {
        use Expect::*;
        use RequestType::*;
        let w = window.as_secs_f64();
        let mut flow = vec![step(
            -1.5,
            new(1001, 100.0, 10),
            New,
            "a New before the window opens",
            Reject("outside_window"),
        )];
        for id in 1101..=1110 {
            flow.push(step(
                0.2,
                new(id, 100.0 + (id - 1100) as f64 * 0.25, 10),
                New,
                "burst of 10 at logon",
                Any,
            ));
        }
        for id in 1201..=1220 {
            flow.push(step(4.0, new(id, 99.0, 5), New, "burst of 20", Any));
        }
        // The operator halts at HALT_AT (the queue rejected `halted`, the working orders
        // cancelled) and resumes at RESUME_AT; trading goes on after it.
        for id in 1501..=1510 {
            flow.push(step(RESUME_AT + 0.2, new(id, 99.5, 4), New, "burst of 10 after the resume", Any));
        }
        flow.push(step(w + 0.5, new(1301, 100.0, 1), New, "a New after logout", Reject("outside_window")));

        let amend = vec![
            step(0.5, new(1108, 101.0, 15), Modify, "modify #1108 while it waits in the queue", Any),
            step(0.6, new(1108, 101.5, 20), Modify, "modify #1108 again (repeated modify)", Any),
            step(0.7, new(1109, 0.0, 0), Cancel, "cancel #1109 while it waits in the queue", Any),
            step(0.9, new(9999, 0.0, 0), Cancel, "cancel #9999, never seen", Reject("not_open")),
            // At the exchange (the simulated one: each answer 50 ms after its request, fills in
            // two halves 1 s and 2 s after the acceptance; seed 1 accepts #1105, #1108, #1110):
            // #1110 goes out at ~2.2 s and works; #1105's last half fills at ~2.92 s, while a
            // cancel sent at 2.89 s is still on its way (it arrives too late); #1108 is half
            // filled at ~2.92 s and cancelled after.
            step(2.4, new(1110, 100.5, 12), Modify, "modify #1110, working: a replace at the exchange", Any),
            step(2.89, new(1105, 0.0, 0), Cancel, "cancel #1105 just before its last fill: a race", Any),
            step(2.95, new(1108, 0.0, 0), Cancel, "cancel #1108, working and half filled", Any),
            step(4.5, new(1215, 0.0, 0), Cancel, "cancel #1215 from the second burst", Any),
            step(4.6, new(1220, 98.5, 7), Modify, "modify #1220, last in line", Any),
        ];

        let bad = |id, price, qty, side| OrderRequest { symbol_id: SYM, price, qty, side, order_id: id };
        let checks = vec![
            step(
                1.0,
                new(1110, 100.0, 10),
                New,
                "a New reusing #1110 (still queued)",
                Reject("duplicate_order_id"),
            ),
            step(1.2, bad(1401, f64::NAN, 10, 'B'), New, "price NaN", Reject("invalid_price")),
            step(1.3, bad(1402, -5.0, 10, 'B'), New, "negative price", Reject("invalid_price")),
            step(1.4, bad(1403, 100.0, 0, 'S'), New, "quantity 0", Reject("invalid_qty")),
            step(1.5, bad(1404, 100.0, 10, 'X'), New, "side 'X'", Reject("invalid_side")),
            step(
                1.6,
                bad(1405, 100.0, 10, 'B'),
                Unknown,
                "request type Unknown",
                Reject("invalid_request_type"),
            ),
            step(
                1.7,
                new(FAT_FINGER_ID, 100.0, FAT_FINGER_QTY),
                New,
                "a fat finger: 1 000 000 shares",
                Limit,
            ),
            step(5.3, new(1407, 100.0, 5), New, "a New while trading is halted", Reject("halted")),
        ];
        Script { t0, open_after, window, desks: [flow, amend, checks] }
    }

    /// All steps of all desks.
    pub fn steps(&self) -> impl Iterator<Item = &Step> + '_ {
        self.desks.iter().flatten()
    }

    /// When the window opens.
    pub fn opens(&self) -> Instant {
        self.t0 + self.open_after
    }

    /// When the script is over: the last step, or the window's end, plus a margin for the last
    /// responses.
    pub fn end(&self) -> Instant {
        let last = self.steps().map(|s| s.at).fold(0.0, f64::max);
        self.opens() + Duration::from_secs_f64(last.max(self.window.as_secs_f64()) + 0.5)
    }

    /// Runs each desk on its own thread: it hands over its steps at their times and, from
    /// the journal at `journal`, prints what became of its own requests as it happens (its
    /// outcomes: no other desk's). A desk ends when the journal is closed; it returns how many
    /// outcomes it saw.
    pub fn start(
        &self,
        producers: [Producer; 3],
        journal: &Path,
        tz: &TimeZone,
    ) -> Result<Vec<JoinHandle<(u16, u64)>>, JournalError> {
        let names = ["desk A", "desk B", "desk C"];
        let notes = ["flow", "amend", "checks"];
        let opens = self.opens();
        let mut threads = Vec::new();
        for (((mut producer, steps), name), note) in
            producers.into_iter().zip(self.desks.clone()).zip(names).zip(notes)
        {
            let mut desk = Desk {
                name,
                outcomes: Outcomes::follow(journal, producer.index())?,
                tz: tz.clone(),
                queued: HashSet::new(),
                seen: 0,
                closed: false,
            };
            let thread = std::thread::Builder::new().name(format!("{name} ({note})")).spawn(move || {
                let mut last_note = "";
                for st in steps {
                    let due = if st.at >= 0.0 {
                        opens + Duration::from_secs_f64(st.at)
                    } else {
                        opens.checked_sub(Duration::from_secs_f64(-st.at)).unwrap_or(opens)
                    };
                    while Instant::now() < due {
                        if !desk.tell() {
                            std::thread::sleep(
                                due.saturating_duration_since(Instant::now()).min(Duration::from_millis(2)),
                            );
                        }
                    }
                    if st.note != last_note {
                        println!("               {name} ({note}) > {}", st.note);
                        last_note = st.note;
                    }
                    let (mut o, mut t) = (st.order, st.request);
                    // A full ring hands the request back: retry, never drop.
                    while let Err(back) = producer.on_data(o, t) {
                        (o, t) = (back.order, back.request);
                        std::thread::yield_now();
                    }
                }
                // The rest of its outcomes, until the journal is closed.
                while !desk.closed {
                    if !desk.tell() {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                (producer.index(), desk.seen)
            });
            threads.push(thread.map_err(|e| JournalError::io(journal, "start a desk thread", e))?);
        }
        Ok(threads)
    }
}

/// One desk's view of the journal: its own outcomes only.
struct Desk {
    name: &'static str,
    outcomes: Outcomes,
    tz: TimeZone,
    /// Its orders waiting in the queue.
    queued: HashSet<u64>,
    seen: u64,
    /// The journal is closed and every outcome was told (or it can no longer be read).
    closed: bool,
}

impl Desk {
    /// Prints the outcomes committed since the last call; `false` if there were none. Notes
    /// when the journal is closed: the answer of the poll that drained it, never a second poll,
    /// which could consume (and lose) an outcome committed in between.
    fn tell(&mut self) -> bool {
        let mut told = false;
        loop {
            match self.outcomes.poll() {
                Ok(OutcomePoll::Outcome(o)) => {
                    self.seen += 1;
                    told = true;
                    let what = self.what(&o);
                    println!("{}  {} < {what}", time(o.time_ns, &self.tz), self.name);
                }
                Ok(OutcomePoll::Pending) => return told,
                Ok(OutcomePoll::Closed) => {
                    self.closed = true;
                    return told;
                }
                Err(e) => {
                    eprintln!("{}: {e}", self.name);
                    self.closed = true;
                    return told;
                }
            }
        }
    }

    fn what(&mut self, o: &Outcome) -> String {
        let id = o.order.order_id;
        let order = order(o);
        match o.kind {
            OutcomeKind::Queued => {
                self.queued.insert(id);
                format!(
                    "queued     {order} waits for the throttle ({} of mine in the queue)",
                    self.queued.len()
                )
            }
            OutcomeKind::Sent { in_oms_ns } => {
                if self.queued.remove(&id) {
                    format!("SENT       {order} after {:.0} ms in the queue", in_oms_ns as f64 / 1e6)
                } else {
                    format!("SENT       {order} at once")
                }
            }
            OutcomeKind::Modified => format!("modified   {order} in place, keeps its place in line"),
            OutcomeKind::Cancelled => {
                self.queued.remove(&id);
                format!("cancelled  #{id} removed from the queue")
            }
            OutcomeKind::Rejected { request, reason } => {
                // A queued order leaves the queue rejected only at logout, shutdown or a halt (a
                // duplicate New for a queued id is rejected without touching the queued one).
                if request == RequestType::New
                    && matches!(
                        reason,
                        RejectReason::SessionEnded | RejectReason::Shutdown | RejectReason::Halted
                    )
                {
                    self.queued.remove(&id);
                }
                format!("REJECTED   {} #{id}: {}", request.name(), reason.name())
            }
            OutcomeKind::Response { response, latency_ns } => {
                format!(
                    "response   #{id} {} after {:.0} us round trip",
                    response.name(),
                    latency_ns as f64 / 1e3
                )
            }
            OutcomeKind::Unanswered => {
                format!("unanswered #{id} was still at the exchange at the logout: its fate there is unknown")
            }
            OutcomeKind::CancelQueued => format!("cancel     #{id} waits for a permit (ahead of the queue)"),
            OutcomeKind::CancelSent { in_oms_ns } => {
                format!("CANCEL     #{id} sent to the exchange after {:.0} us", in_oms_ns as f64 / 1e3)
            }
            OutcomeKind::ReplaceQueued => format!("replace    {order} waits in line with the New orders"),
            OutcomeKind::ReplaceSent { in_oms_ns } => {
                format!("REPLACE    {order} sent to the exchange after {:.0} us", in_oms_ns as f64 / 1e3)
            }
            OutcomeKind::Fill { last_qty, last_px, cum_qty, complete } => {
                let state = if complete { "FILLED" } else { "partially filled" };
                format!("FILL       #{id} {last_qty} @ {last_px:.2}: {cum_qty} done, {state}")
            }
            OutcomeKind::VenueCancelled { solicited: true, round_trip_ns } => format!(
                "CANCELLED  #{id} at the exchange, {:.0} us after the cancel went out",
                round_trip_ns as f64 / 1e3
            ),
            OutcomeKind::VenueCancelled { solicited: false, .. } => {
                format!("CANCELLED  #{id} by the exchange on its own")
            }
            OutcomeKind::Replaced { round_trip_ns } => {
                format!(
                    "REPLACED   {order} live, {:.0} us after the replace went out",
                    round_trip_ns as f64 / 1e3
                )
            }
            OutcomeKind::CancelRejected { request, code } => {
                let what = if request == RequestType::Modify { "replace" } else { "cancel" };
                format!("REFUSED    #{id} {what} refused by the exchange (code {code}): the order goes on")
            }
            OutcomeKind::Expired => format!("expired    #{id} done for the day at the exchange"),
            OutcomeKind::Other(kind) => format!("{}       #{id}", kind.name()),
        }
    }
}

/// `HH:MM:SS.mmm` in `tz`.
pub fn time(ns: i64, tz: &TimeZone) -> String {
    match jiff::Timestamp::from_nanosecond(ns as i128) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%H:%M:%S%.3f").to_string(),
        Err(_) => format!("{ns}ns"),
    }
}

fn order(o: &Outcome) -> String {
    let r = &o.order;
    let side = if r.side == '\0' { "-".to_string() } else { r.side.to_string() };
    format!("#{} {side} {} @ {:.2}", r.order_id, r.qty, r.price)
}
