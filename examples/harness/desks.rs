//! The three upstream desks (producer threads) and their script, laid out in time relative to
//! the window's opening.

use std::time::{Duration, Instant};

use oms::{OrderRequest, Producer, RequestType, Side};

/// What a step should lead to, whatever the timing (checked against the journal afterwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// No fixed outcome (it depends on the throttle and the clock).
    Any,
    /// Rejected with this reason.
    Reject(&'static str),
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
        flow.push(step(w + 0.5, new(1301, 100.0, 1), New, "a New after logout", Reject("outside_window")));

        let amend = vec![
            step(0.5, new(1108, 101.0, 15), Modify, "modify #1108 while it waits in the queue", Any),
            step(0.6, new(1108, 101.5, 20), Modify, "modify #1108 again (repeated modify)", Any),
            step(0.7, new(1109, 0.0, 0), Cancel, "cancel #1109 while it waits in the queue", Any),
            step(0.8, new(1101, 90.0, 1), Modify, "modify #1101, already sent", Reject("not_queued")),
            step(0.9, new(9999, 0.0, 0), Cancel, "cancel #9999, never seen", Reject("not_queued")),
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

    /// Runs each desk on its own thread; returns when the last step is due plus a margin for
    /// the window's end and the last responses.
    pub fn run(&self, producers: [Producer; 3]) -> Instant {
        let names = ["desk A (flow)", "desk B (amend)", "desk C (checks)"];
        let opens = self.opens();
        std::thread::scope(|s| {
            for ((mut producer, steps), name) in producers.into_iter().zip(self.desks.iter()).zip(names) {
                s.spawn(move || {
                    let mut last_note = "";
                    for st in steps {
                        let due = if st.at >= 0.0 {
                            opens + Duration::from_secs_f64(st.at)
                        } else {
                            opens.checked_sub(Duration::from_secs_f64(-st.at)).unwrap_or(opens)
                        };
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        if st.note != last_note {
                            println!("           {name} > {}", st.note);
                            last_note = st.note;
                        }
                        let (mut o, mut t) = (st.order, st.request);
                        // A full ring hands the request back: retry, never drop.
                        while let Err(back) = producer.on_data(o, t) {
                            (o, t) = (back.order, back.request);
                            std::thread::yield_now();
                        }
                    }
                });
            }
        });
        let last = self.steps().map(|s| s.at).fold(0.0, f64::max);
        opens + Duration::from_secs_f64(last.max(self.window.as_secs_f64()) + 0.5)
    }
}
