//! The conventional design, as typical implementations of this system build it, measured by the
//! same driver on the same cores:
//!
//! - `on_data` (any upstream thread) locks one `Mutex` over a `VecDeque` of order ids and a
//!   `HashMap` id → order (so Modify / Cancel can find a queued order), checks the trading window
//!   against `SystemTime::now()`, pushes, and wakes the sender with `Condvar::notify_one`;
//! - one sender thread waits on the `Condvar` while the queue is empty, applies a per-second
//!   counter throttle, pops the oldest order, releases the lock, records it in a
//!   `Mutex<HashMap>` of in-flight orders (id → send `Instant`) and calls the exchange;
//! - the exchange answers at once (inline, as for the oms design); the response handler locks
//!   the in-flight map, computes the round trip, and writes a text line
//!   `order_id,response,latency_ns` through a `Mutex<BufWriter<File>>`.
//!
//! Only the shape that matters for latency is here (New orders; Modify / Cancel paths exist but
//! the driver does not use them). It is bench code, not library code.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oms::{OrderRequest, RequestType};

use crate::driver::{self, Probe, Schedule};

struct State {
    queue: VecDeque<u64>,
    orders: HashMap<u64, OrderRequest>,
    window: (u128, u128),
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    in_flight: Mutex<HashMap<u64, Instant>>,
    log: Mutex<BufWriter<File>>,
}

/// Wall clock in ns since the epoch (a vDSO call, as typical window checks do per order).
fn now_epoch_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

impl Shared {
    /// `onData(OrderRequest&&, RequestType)`; `false` when rejected (typical code returns a bool).
    fn on_data(&self, order: OrderRequest, request: RequestType) -> bool {
        let mut st = self.state.lock().expect("baseline state lock");
        let now = now_epoch_ns();
        if now < st.window.0 || now >= st.window.1 {
            return false;
        }
        let ok = match request {
            RequestType::New => {
                st.queue.push_back(order.order_id);
                st.orders.insert(order.order_id, order);
                true
            }
            RequestType::Modify => match st.orders.get_mut(&order.order_id) {
                Some(o) => {
                    o.price = order.price;
                    o.qty = order.qty;
                    true
                }
                None => false,
            },
            RequestType::Cancel => st.orders.remove(&order.order_id).is_some(),
            RequestType::Unknown => false,
        };
        drop(st);
        self.wake.notify_one();
        ok
    }

    /// `onData(OrderResponse&&)`: match, then log a text line.
    fn on_response(&self, order_id: u64, accept: bool) {
        let sent = self.in_flight.lock().expect("baseline in-flight lock").remove(&order_id);
        let latency = sent.map(|t| t.elapsed().as_nanos()).unwrap_or(0);
        let kind = if accept { "Accept" } else { "Reject" };
        let mut log = self.log.lock().expect("baseline log lock");
        let _ = writeln!(log, "{order_id},{kind},{latency}");
    }

    /// The sender thread: wait, throttle, pop, send; the exchange answers inline.
    fn sender(&self, probe: &mut Probe, limit_per_sec: u64) {
        let mut second = Instant::now();
        let mut sent_this_second = 0u64;
        loop {
            let order = {
                let mut st = self.state.lock().expect("baseline state lock");
                loop {
                    if st.stop {
                        return;
                    }
                    if second.elapsed() >= Duration::from_secs(1) {
                        second = Instant::now();
                        sent_this_second = 0;
                    }
                    if sent_this_second >= limit_per_sec {
                        let left = Duration::from_secs(1).saturating_sub(second.elapsed());
                        st = self.wake.wait_timeout(st, left).expect("baseline state lock").0;
                        continue;
                    }
                    let next = st.queue.pop_front().and_then(|id| st.orders.remove(&id));
                    match next {
                        Some(o) => break o,
                        None if st.queue.is_empty() => {
                            st = self.wake.wait(st).expect("baseline state lock");
                        }
                        None => {} // a cancelled id: skip it
                    }
                }
            };
            sent_this_second += 1;
            self.in_flight.lock().expect("baseline in-flight lock").insert(order.order_id, Instant::now());
            // The exchange `send`, then its immediate answer.
            probe.on_send(order.order_id);
            self.on_response(order.order_id, true);
            probe.on_response(order.order_id);
        }
    }
}

/// Outcome of one baseline run.
pub struct Outcome {
    /// Sends and round trips (one probe: both points are on the sender thread).
    pub probe: Probe,
    /// Whether every order was answered before the timeout.
    pub complete: bool,
}

/// One run of the baseline on `schedule`; the sender thread is pinned to `sender_core`.
pub fn run(schedule: &Schedule, sender_core: Option<core_affinity::CoreId>, dir: &Path) -> Outcome {
    driver::settle();
    let now = now_epoch_ns();
    let hour = 3_600_000_000_000u128;
    let file = File::create(dir.join("baseline-responses.log")).expect("create the baseline response log");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            orders: HashMap::new(),
            window: (now - hour, now + 3 * hour),
            stop: false,
        }),
        wake: Condvar::new(),
        in_flight: Mutex::new(HashMap::new()),
        log: Mutex::new(BufWriter::new(file)),
    });
    let schedule = &schedule.restarted();
    let mut probe = Probe::new(schedule);
    let done = probe.done.clone();
    let s2 = shared.clone();
    let sender = std::thread::Builder::new()
        .name("baseline-sender".into())
        .spawn(move || {
            driver::pin(sender_core);
            s2.sender(&mut probe, 2_000_000_000);
            probe
        })
        .expect("spawn the baseline sender");
    driver::produce(schedule, |o| {
        shared.on_data(o, RequestType::New);
        Ok(())
    });
    let complete = driver::wait_for(&done, schedule.orders, Duration::from_secs(60));
    shared.state.lock().expect("baseline state lock").stop = true;
    shared.wake.notify_all();
    let probe = sender.join().expect("baseline sender thread");
    let _ = shared.log.lock().expect("baseline log lock").flush();
    Outcome { probe, complete }
}
