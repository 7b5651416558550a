//! [`Lifecycle`]: the life of every order a journal names, folded record by record — which
//! orders wait in the queue (in order, every modify applied) and which are in flight — and what
//! each record was: the answer to a request as the engine took it from a ring, or a later fate
//! of an order taken before.
//!
//! It follows the engine's own bookkeeping: `queued` appends to the queue, `modified` rewrites
//! a queued order in place, `cancelled` and the `session_ended` / `shutdown` rejects of queued
//! orders (always the oldest first) remove it, `sent` moves an order in flight, `response` and
//! `unanswered` end it. The engine answers every request it takes with exactly one record when
//! it takes it (a New with `queued`, `sent` at once or `rejected`; a Modify with `modified` or
//! `rejected`; a Cancel with `cancelled` or `rejected`); the other order records are later
//! fates. Telling the two apart needs only the queue, which is why the one fold serves
//! recovery ([`crate::recovery::StateBuilder`] adds the throttle and the session), `oms run`'s
//! lines already taken from an `--orders` file, and its status line.
//!
//! O(1) per record (amortized): the queue is a deque whose removed entries go stale (skipped
//! when they reach the front), indexed by order id.

use std::collections::VecDeque;

use crate::idmap::IdMap;
use crate::model::{OrderRequest, RejectReason, RequestType};
use crate::record::{Event, EventRecord};

/// A live order: the order as it stands (queued: modifies applied; in flight: as sent), the
/// producer whose New request it is, and since when (wall ns: queued, or sent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveOrder {
    /// The order as it will be sent (queued: modifies applied) or as it was sent (in flight).
    pub order: OrderRequest,
    /// The producer whose New request it is.
    pub producer: u16,
    /// Wall-clock ns: when it was queued (a queued order) or sent (in flight).
    pub since_ns: i64,
}

/// What a record was, to the life of the orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The engine's answer to a request as it took it from a ring: which request.
    Took(RequestType),
    /// A later fate of an order taken before (a queued order sent, rejected at a logout or a
    /// shutdown; an answer; unanswered at shutdown).
    Fate,
    /// Not about a producer's request (a logon, a clock step, an exchange report ...).
    Other,
}

/// The queue and the orders in flight, record by record. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// The queue in order; `None` where an order left it from the middle.
    queue: VecDeque<Option<LiveOrder>>,
    /// Position (since the start) of `queue[0]`.
    queue_base: u64,
    /// Queued order id → its position.
    queued: IdMap<u64>,
    in_flight: IdMap<LiveOrder>,
}

impl Lifecycle {
    /// No order yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record (records in journal order); what it was.
    pub fn push(&mut self, r: &EventRecord) -> Step {
        let live = |order| LiveOrder { order, producer: r.producer, since_ns: r.time_ns };
        match r.event() {
            Event::Queued { order } => {
                // The engine never queues a live id; if a journal does, the later one stands.
                let id = order.order_id;
                self.unqueue(id);
                self.in_flight.remove(&id);
                self.queued.insert(id, self.queue_base + self.queue.len() as u64);
                self.queue.push_back(Some(live(order)));
                Step::Took(RequestType::New)
            }
            Event::Sent { order, .. } => {
                let from_queue = self.unqueue(order.order_id);
                self.in_flight.insert(order.order_id, live(order));
                if from_queue { Step::Fate } else { Step::Took(RequestType::New) }
            }
            Event::Modified { order } => {
                if let Some(q) = self.queued_mut(order.order_id) {
                    (q.order.price, q.order.qty) = (order.price, order.qty);
                }
                Step::Took(RequestType::Modify)
            }
            Event::Cancelled { order } => {
                self.unqueue(order.order_id);
                Step::Took(RequestType::Cancel)
            }
            Event::Rejected { order, request, reason } => {
                // A queued order is rejected only at a logout or a shutdown (the queue, oldest
                // first), or when the exchange does not take it as it leaves the queue's front
                // (`not_sent`); a New rejected for its own reasons (a duplicate of a queued id
                // among them) never touches the queue.
                let ends_queued = request == RequestType::New
                    && matches!(
                        reason,
                        RejectReason::SessionEnded | RejectReason::Shutdown | RejectReason::NotSent
                    )
                    && self.front() == Some(order.order_id);
                if ends_queued {
                    self.unqueue(order.order_id);
                    Step::Fate
                } else {
                    Step::Took(request)
                }
            }
            Event::Response { order, .. } | Event::Unanswered { order } => {
                self.in_flight.remove(&order.order_id);
                Step::Fate
            }
            // An exchange report follows its order's response (or concerns no order), and the
            // engine's, the journal's and the session's own records move no order.
            Event::Logon
            | Event::Logout
            | Event::UnmatchedResponse { .. }
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::Unfit(_) => Step::Other,
        }
    }

    /// Orders in the queue.
    pub fn queued_len(&self) -> usize {
        self.queued.len()
    }

    /// Orders in flight.
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether order `id` waits in the queue.
    pub fn is_queued(&self, id: u64) -> bool {
        self.queued.contains_key(&id)
    }

    /// The queue in order, and the orders in flight by send time (then id).
    pub fn finish(self) -> (Vec<LiveOrder>, Vec<LiveOrder>) {
        let queued: Vec<LiveOrder> = self.queue.into_iter().flatten().collect();
        let mut in_flight: Vec<LiveOrder> = self.in_flight.into_values().collect();
        in_flight.sort_by_key(|o| (o.since_ns, o.order.order_id));
        (queued, in_flight)
    }

    /// The id at the front of the queue.
    fn front(&self) -> Option<u64> {
        self.queue.front().and_then(|q| q.map(|q| q.order.order_id))
    }

    fn queued_mut(&mut self, id: u64) -> Option<&mut LiveOrder> {
        let pos = *self.queued.get(&id)?;
        let at = usize::try_from(pos - self.queue_base).ok()?;
        self.queue.get_mut(at).and_then(Option::as_mut)
    }

    /// Removes order `id` from the queue; whether it was there.
    fn unqueue(&mut self, id: u64) -> bool {
        let Some(pos) = self.queued.remove(&id) else { return false };
        if let Some(slot) = usize::try_from(pos - self.queue_base).ok().and_then(|at| self.queue.get_mut(at))
        {
            *slot = None;
        }
        while matches!(self.queue.front(), Some(None)) {
            self.queue.pop_front();
            self.queue_base += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FixCode, RejectSource, ResponseType, Side};

    fn o(id: u64) -> OrderRequest {
        OrderRequest::new(id, 1, Side::Buy, 10.0, 1)
    }

    fn at(p: u16, e: Event) -> EventRecord {
        EventRecord::new(0, e).from_producer(p)
    }

    fn rejected(id: u64, request: RequestType, reason: RejectReason) -> EventRecord {
        at(1, Event::Rejected { order: o(id), request, reason })
    }

    /// What each record was, and the queue it leaves.
    #[test]
    fn requests_taken_and_later_fates() {
        use RequestType::{Cancel, Modify, New};
        let mut f = Lifecycle::new();
        let steps: Vec<Step> = [
            at(0, Event::Queued { order: o(1) }),
            at(1, Event::Sent { order: o(2), in_oms_ns: 0 }), // at once
            at(0, Event::Queued { order: o(3) }),
            at(0, Event::Modified { order: OrderRequest { qty: 9, ..o(3) } }),
            at(0, Event::Sent { order: o(1), in_oms_ns: 0 }), // from the queue
            at(0, Event::Response { order: o(1), response: ResponseType::Accept, round_trip_ns: 1 }),
            EventRecord::new(
                0,
                Event::Execution {
                    order_id: 1,
                    last_qty: 1,
                    last_px: 10.0,
                    exec_type: FixCode::new(b'F').expect("valid"),
                    ord_status: FixCode::new(b'2').expect("valid"),
                },
            ),
            EventRecord::new(
                0,
                Event::ExchangeReject { order_id: 2, source: RejectSource::BusinessReject, code: 1 },
            ),
            rejected(3, New, RejectReason::DuplicateOrderId), // a duplicate of a queued id
            at(1, Event::Queued { order: o(4) }),
            rejected(9, Cancel, RejectReason::NotQueued),
            at(1, Event::Cancelled { order: o(4) }),
            rejected(5, Modify, RejectReason::NotQueued),
            rejected(3, New, RejectReason::SessionEnded), // order 3 leaves the queue at the logout
            rejected(6, New, RejectReason::Shutdown),     // a ring request drained at shutdown
        ]
        .iter()
        .map(|r| f.push(r))
        .collect();
        assert_eq!(
            steps,
            [
                Step::Took(New),
                Step::Took(New),
                Step::Took(New),
                Step::Took(Modify),
                Step::Fate,
                Step::Fate,
                Step::Other,
                Step::Other,
                Step::Took(New),
                Step::Took(New),
                Step::Took(Cancel),
                Step::Took(Cancel),
                Step::Took(Modify),
                Step::Fate,
                Step::Took(New),
            ]
        );
        assert_eq!((f.queued_len(), f.in_flight_len()), (0, 1), "order 2 still in flight");
        let (queued, in_flight) = f.finish();
        assert!(queued.is_empty());
        assert_eq!(in_flight.iter().map(|l| (l.order.order_id, l.producer)).collect::<Vec<_>>(), [(2, 1)]);
    }

    #[test]
    fn the_queue_keeps_its_order_and_every_modify() {
        let mut f = Lifecycle::new();
        for id in 1..=5 {
            f.push(&at(0, Event::Queued { order: o(id) }));
        }
        f.push(&at(0, Event::Modified { order: OrderRequest { price: 11.0, qty: 7, ..o(4) } }));
        f.push(&at(0, Event::Cancelled { order: o(2) }));
        f.push(&at(0, Event::Sent { order: o(1), in_oms_ns: 0 }));
        assert!(f.is_queued(3) && !f.is_queued(2) && !f.is_queued(1));
        let (queued, in_flight) = f.finish();
        let q: Vec<(u64, f64, u64)> =
            queued.iter().map(|l| (l.order.order_id, l.order.price, l.order.qty)).collect();
        assert_eq!(q, [(3, 10.0, 1), (4, 11.0, 7), (5, 10.0, 1)]);
        assert_eq!(in_flight.len(), 1);
    }
}
