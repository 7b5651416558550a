//! [`Lifecycle`]: the life of every order a journal names, folded record by record — which
//! orders wait in the queue (in order, every modify applied; a replace of an open order waits
//! there too, in its place among the New orders), which are at the exchange and where each
//! stands ([`OrderLife`]), which cancels wait for a permit — and what each record was: the
//! answer to a request as the engine took it from a ring, or a later fate of an order taken
//! before.
//!
//! It follows the engine's own bookkeeping (`src/engine.rs`, `engine/open_requests.rs`,
//! `engine/answers.rs`). The engine answers every request it takes with exactly one record when
//! it takes it: a New with `queued`, `sent` (at once) or `rejected`; a Modify with `modified`
//! (in the queue), `replace_queued`, `replace_sent` (at once) or `rejected`; a Cancel with
//! `cancelled` (in the queue), `cancel_queued`, `cancel_sent` (at once) or `rejected`. The other
//! order records are later fates: a queued order's `sent`, a queued replace's `replace_sent`, a
//! waiting cancel's `cancel_sent`, the rejects of what waited (at a logout or a shutdown, an
//! exchange that did not take it, a queued replace a fill made pointless, a cancel or replace
//! still waiting when its order ended), and every answer of the exchange. The one fold serves recovery ([`crate::recovery::StateBuilder`] adds the
//! throttle and the session), `oms run`'s lines already taken from an `--orders` file, and its
//! status line.
//!
//! O(1) per record (amortized): the queue is a deque whose removed entries go stale (skipped
//! when they reach the front), indexed by order id.

use std::collections::VecDeque;

use crate::idmap::IdMap;
use crate::model::{OrderLife, OrderRequest, OrderState, RejectReason, RequestType, ResponseType, Waiting};
use crate::record::{ENGINE, Event, EventRecord};

/// An order waiting in the queue: the order as it stands (modifies applied), the producer whose
/// request it is, and since when (wall ns). A replace of an open order (`replace`) waits with
/// the order as it would become.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveOrder {
    /// The order as it will be sent (modifies applied).
    pub order: OrderRequest,
    /// The producer whose request it is.
    pub producer: u16,
    /// Wall-clock ns: when it was queued.
    pub since_ns: i64,
    /// A replace of an order open at the exchange, not a New order.
    pub replace: bool,
}

/// An order at the exchange and where it stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenLife {
    /// Its id, symbol and side (its price and quantity: the life's live version).
    pub order: OrderRequest,
    /// The producer whose New request it is.
    pub producer: u16,
    /// Wall-clock ns: when it was sent.
    pub sent_ns: i64,
    /// Where it stands.
    pub life: OrderLife,
    /// Wall-clock ns: when the pending cancel or replace was sent (0 if none).
    pub request_ns: i64,
    /// A cancel or replace taken and waiting for a permit.
    pub waiting: Waiting,
    /// Wall-clock ns: when the waiting cancel was taken.
    pub wait_ns: i64,
    /// Cancels and replaces sent for it so far (its `cancel_sent` and `replace_sent` records).
    pub requests_sent: u32,
    /// The request live at the exchange: the number (from 1, in the order sent) of the one its
    /// last `replaced` record carried out; 0 while the New is live.
    pub live_request: u32,
}

impl OpenLife {
    /// The order as it is live.
    pub fn live(&self) -> OrderRequest {
        OrderRequest { price: self.life.price(), qty: self.life.qty(), ..self.order }
    }
}

/// What a record was, to the life of the orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The engine's answer to a request as it took it from a ring: which request.
    Took(RequestType),
    /// A later fate of an order (or request) taken before.
    Fate,
    /// Not about a producer's request (a logon, a clock step, an exchange session report ...).
    Other,
}

/// What a fold leaves: the queue in order, the orders at the exchange (oldest send first), and
/// the waiting cancels in line order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lives {
    /// The queue, oldest first (New orders and replaces).
    pub queued: Vec<LiveOrder>,
    /// The orders at the exchange, oldest send first (then id).
    pub open: Vec<OpenLife>,
    /// The cancels waiting for a permit, in line order: the order id and the producer whose
    /// Cancel it is.
    pub cancels: Vec<(u64, u16)>,
}

/// The queue, the orders at the exchange and the cancel line, record by record. See the
/// [module docs](self).
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// The queue in order; `None` where an entry left it from the middle.
    queue: VecDeque<Option<LiveOrder>>,
    /// Position (since the start) of `queue[0]`.
    queue_base: u64,
    /// Queued id → its position.
    queued: IdMap<u64>,
    open: IdMap<OpenLife>,
    /// Waiting cancels (id, producer), in line order (stale ones skipped at the end).
    cancels: VecDeque<(u64, u16)>,
    /// Where the order the last record was about stands after it.
    last: Option<OrderLife>,
}

impl Lifecycle {
    /// No order yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// No order yet, with room for `orders` live orders (queued or at the exchange) before a
    /// table grows.
    pub fn with_capacity(orders: usize) -> Self {
        Lifecycle {
            queue: VecDeque::with_capacity(orders),
            queued: IdMap::with_capacity_and_hasher(orders, Default::default()),
            open: IdMap::with_capacity_and_hasher(orders, Default::default()),
            cancels: VecDeque::with_capacity(orders),
            ..Self::default()
        }
    }

    /// Where the order the last [`push`](Self::push)ed record was about stands after it, by the
    /// one state machine ([`OrderLife`]): queued, sent, working, pending, or the final state the
    /// record put it in (filled, cancelled, rejected, expired, unanswered). For a refused Modify
    /// or Cancel, the order as it goes on (as for a report that did not fit its state). `None`
    /// for a record about no order (the engine's own, the session's) or about an order whose
    /// earlier records the fold did not see.
    pub fn last_life(&self) -> Option<OrderLife> {
        self.last
    }

    /// Applies one record (records in journal order); what it was.
    pub fn push(&mut self, r: &EventRecord) -> Step {
        self.push_event(r, r.event())
    }

    /// [`push`](Self::push) for a caller that has the record's typed view already
    /// (`event` is `r.event()`): the record is decoded once.
    pub fn push_event(&mut self, r: &EventRecord, event: Event) -> Step {
        self.last = None;
        self.apply(r, event)
    }

    /// Order `id` as it stands, if it is live: at the exchange, or waiting in the queue as a
    /// New order.
    pub fn life(&self, id: u64) -> Option<OrderLife> {
        match self.open.get(&id) {
            Some(x) => Some(x.life),
            None => self
                .queued_entry(id)
                .filter(|q| !q.replace)
                .map(|q| OrderLife::queued(q.order.price, q.order.qty)),
        }
    }

    /// Order `id`'s life at the exchange after `step`, kept as the last life; the order leaves
    /// the exchange if that ended it.
    fn step_open(&mut self, id: u64, step: impl FnOnce(&mut OrderLife)) {
        let Some(x) = self.open.get_mut(&id) else { return };
        step(&mut x.life);
        let life = x.life;
        self.last = Some(life);
        if life.state().is_final() {
            self.end(id);
        }
    }

    fn apply(&mut self, r: &EventRecord, event: Event) -> Step {
        let (t, p) = (r.time_ns, r.producer);
        match event {
            Event::Queued { order } => {
                // The engine never queues a live id; if a journal does, the later one stands.
                self.unqueue(order.order_id);
                self.open.remove(&order.order_id);
                self.enqueue(LiveOrder { order, producer: p, since_ns: t, replace: false });
                self.last = Some(OrderLife::queued(order.price, order.qty));
                Step::Took(RequestType::New)
            }
            Event::Sent { order, .. } => {
                let from_queue = self.unqueue(order.order_id);
                let life = OrderLife::sent(order.price, order.qty);
                let open = OpenLife {
                    order,
                    producer: p,
                    sent_ns: t,
                    life,
                    request_ns: 0,
                    waiting: Waiting::Nothing,
                    wait_ns: 0,
                    requests_sent: 0,
                    live_request: 0,
                };
                self.open.insert(order.order_id, open);
                self.last = Some(life);
                if from_queue { Step::Fate } else { Step::Took(RequestType::New) }
            }
            Event::Modified { order } => {
                if let Some(q) = self.queued_mut(order.order_id) {
                    (q.order.price, q.order.qty) = (order.price, order.qty);
                }
                self.last = self.life(order.order_id);
                Step::Took(RequestType::Modify)
            }
            Event::Cancelled { order } => {
                self.unqueue(order.order_id);
                let mut life = OrderLife::queued(order.price, order.qty);
                let _ = life.cancel_queued();
                self.last = Some(life);
                Step::Took(RequestType::Cancel)
            }
            Event::Rejected { order, request, reason, .. } => {
                let step = self.rejected(order.order_id, request, reason);
                self.last = if request == RequestType::New {
                    // The New request's own life ends here (a duplicate id's order goes on).
                    let mut life = OrderLife::queued(order.price, order.qty);
                    let _ = life.reject();
                    Some(life)
                } else {
                    self.life(order.order_id)
                };
                step
            }
            Event::Response { order, response, .. } => {
                let accepted = response == ResponseType::Accept;
                self.step_open(order.order_id, |life| {
                    let _ = if accepted { life.accept() } else { life.reject() };
                });
                Step::Fate
            }
            Event::Unanswered { order } => {
                self.step_open(order.order_id, |life| {
                    let _ = life.unanswered();
                });
                // Whatever it was, the order's life in this session is over.
                self.end(order.order_id);
                Step::Fate
            }
            Event::CancelQueued { order } => {
                let id = order.order_id;
                self.drop_replace(id);
                if let Some(x) = self.open.get_mut(&id) {
                    (x.waiting, x.wait_ns) = (Waiting::Cancel, t);
                }
                self.cancels.push_back((id, p));
                self.last = self.life(id);
                // The engine's own cancel of a working order after the window's end.
                if p == ENGINE { Step::Other } else { Step::Took(RequestType::Cancel) }
            }
            Event::CancelSent { order, .. } => {
                let id = order.order_id;
                let from_line = self.open.get(&id).is_some_and(|x| x.waiting == Waiting::Cancel);
                if from_line {
                    self.leave_line(id);
                } else {
                    self.drop_replace(id);
                }
                if let Some(x) = self.open.get_mut(&id) {
                    x.waiting = Waiting::Nothing;
                    x.request_ns = t;
                    x.requests_sent = x.requests_sent.saturating_add(1);
                    let _ = x.life.cancel_sent();
                }
                self.last = self.life(id);
                if from_line { Step::Fate } else { Step::Took(RequestType::Cancel) }
            }
            Event::ReplaceQueued { order } => {
                let id = order.order_id;
                if let Some(x) = self.open.get_mut(&id) {
                    x.waiting = Waiting::Replace;
                }
                self.enqueue(LiveOrder { order, producer: p, since_ns: t, replace: true });
                self.last = self.life(id);
                Step::Took(RequestType::Modify)
            }
            Event::ReplaceSent { order, .. } => {
                let id = order.order_id;
                let from_queue = self.is_queued(id) && self.unqueue(id);
                if let Some(x) = self.open.get_mut(&id) {
                    x.waiting = Waiting::Nothing;
                    x.request_ns = t;
                    x.requests_sent = x.requests_sent.saturating_add(1);
                    let _ = x.life.replace_sent(order.price, order.qty);
                }
                self.last = self.life(id);
                if from_queue { Step::Fate } else { Step::Took(RequestType::Modify) }
            }
            Event::Fill { order_id, last_qty, last_px, complete, .. } => {
                self.step_open(order_id, |life| {
                    let _ = life.fill(last_qty, last_px);
                });
                if complete {
                    self.end(order_id);
                }
                Step::Fate
            }
            Event::VenueCancelled { order, .. } => {
                self.step_open(order.order_id, |life| {
                    let _ = life.cancelled();
                });
                self.end(order.order_id);
                Step::Fate
            }
            Event::Expired { order } => {
                self.step_open(order.order_id, |life| {
                    let _ = life.expired();
                });
                self.end(order.order_id);
                Step::Fate
            }
            Event::Replaced { order, .. } => {
                if let Some(x) = self.open.get_mut(&order.order_id) {
                    x.live_request = x.requests_sent;
                }
                self.step_open(order.order_id, |life| {
                    let _ = life.replaced();
                });
                Step::Fate
            }
            Event::CancelRejected { order, .. } => {
                self.step_open(order.order_id, |life| {
                    let _ = life.cancel_rejected();
                });
                Step::Fate
            }
            // An exchange report follows its order's response (or concerns no order), an answer
            // that did not fit changed nothing, and the engine's, the journal's and the
            // session's own records move no order.
            Event::Logon
            | Event::Logout
            | Event::Halted
            | Event::Resumed
            | Event::ClientAttached { .. }
            | Event::ClientDetached { .. }
            | Event::Reference { .. }
            | Event::UnmatchedResponse { .. }
            | Event::ClockStep { .. }
            | Event::Recovered { .. }
            | Event::SyncFailed
            | Event::ExchangeSession(_)
            | Event::Execution { .. }
            | Event::ExchangeReject { .. }
            | Event::UnexpectedReport { .. }
            | Event::Unfit(_) => Step::Other,
        }
    }

    /// A `rejected` record: a request refused as the engine took it, or the end of something
    /// that waited (see the module docs).
    fn rejected(&mut self, id: u64, request: RequestType, reason: RejectReason) -> Step {
        let front = self.front().filter(|q| q.order.order_id == id);
        match request {
            // A cancel or replace that waited when its order's life ended (the record before
            // ended it, and the replace with it); a waiting cancel's line entry is skipped.
            RequestType::Cancel | RequestType::Modify if reason == RejectReason::OrderEnded => Step::Fate,
            // A queued order is rejected only at a logout, a shutdown or a halt (the queue,
            // oldest first), or when the exchange does not take it as it leaves the queue's front; a
            // New rejected for its own reasons (a duplicate of a queued id among them) never
            // touches the queue.
            RequestType::New
                if front.is_some_and(|q| !q.replace)
                    && matches!(
                        reason,
                        RejectReason::SessionEnded
                            | RejectReason::Shutdown
                            | RejectReason::NotSent
                            | RejectReason::Halted
                    ) =>
            {
                self.unqueue(id);
                Step::Fate
            }
            RequestType::Modify if self.queued_replace(id).is_some() => {
                let at_front = front.is_some_and(|q| q.replace);
                let cum = self.open.get(&id).map_or(0, |x| x.life.cum_qty());
                let pointless = self.queued_replace(id).is_some_and(|q| q.qty <= cum);
                let ends = match reason {
                    RejectReason::SessionEnded
                    | RejectReason::Shutdown
                    | RejectReason::NotSent
                    | RejectReason::Halted => at_front,
                    // A fill made the waiting replace pointless: dropped at once. (A new Modify
                    // asking for that little is refused with the replace left as it was.)
                    RejectReason::ReplaceBelowFilled => pointless,
                    _ => false,
                };
                if !ends {
                    return Step::Took(request);
                }
                self.drop_replace(id);
                Step::Fate
            }
            // A waiting cancel the exchange did not take as it went out, or rejected at a
            // logout or a shutdown (a new Cancel of an order whose cancel waits is refused
            // `request_pending`).
            RequestType::Cancel
                if matches!(
                    reason,
                    RejectReason::SessionEnded | RejectReason::Shutdown | RejectReason::NotSent
                ) && self.open.get(&id).is_some_and(|x| x.waiting == Waiting::Cancel) =>
            {
                if let Some(x) = self.open.get_mut(&id) {
                    x.waiting = Waiting::Nothing;
                }
                self.leave_line(id);
                Step::Fate
            }
            _ => Step::Took(request),
        }
    }

    /// Orders (New orders and replaces) in the queue.
    pub fn queued_len(&self) -> usize {
        self.queued.len()
    }

    /// Orders at the exchange whose first answer is awaited.
    pub fn in_flight_len(&self) -> usize {
        self.open.values().filter(|x| x.life.state() == OrderState::Sent).count()
    }

    /// Orders at the exchange.
    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    /// Whether order `id` waits in the queue (a New order, or a replace of it).
    pub fn is_queued(&self, id: u64) -> bool {
        self.queued.contains_key(&id)
    }

    /// Order `id`, if it is at the exchange.
    pub fn open(&self, id: u64) -> Option<&OpenLife> {
        self.open.get(&id)
    }

    /// What the fold leaves (see [`Lives`]).
    pub fn finish(self) -> Lives {
        let queued: Vec<LiveOrder> = self.queue.into_iter().flatten().collect();
        let cancels: Vec<(u64, u16)> = self
            .cancels
            .iter()
            .copied()
            .filter(|(id, _)| self.open.get(id).is_some_and(|x| x.waiting == Waiting::Cancel))
            .collect();
        let mut open: Vec<OpenLife> = self.open.into_values().collect();
        open.sort_by_key(|o| (o.sent_ns, o.order.order_id));
        Lives { queued, open, cancels }
    }

    /// The waiting cancel of order `id` left the line (the engine serves it front first; the
    /// entries before it are of orders whose life ended while their cancel waited).
    fn leave_line(&mut self, id: u64) {
        if self.cancels.iter().any(|(c, _)| *c == id) {
            while let Some((c, _)) = self.cancels.pop_front() {
                if c == id {
                    break;
                }
            }
        }
    }

    fn enqueue(&mut self, q: LiveOrder) {
        self.queued.insert(q.order.order_id, self.queue_base + self.queue.len() as u64);
        self.queue.push_back(Some(q));
    }

    /// The entry at the front of the queue.
    fn front(&self) -> Option<LiveOrder> {
        self.queue.front().copied().flatten()
    }

    fn queued_entry(&self, id: u64) -> Option<&LiveOrder> {
        let pos = *self.queued.get(&id)?;
        let at = usize::try_from(pos - self.queue_base).ok()?;
        self.queue.get(at).and_then(Option::as_ref)
    }

    /// The new version a replace of `id` waiting in the queue asks for.
    fn queued_replace(&self, id: u64) -> Option<OrderRequest> {
        self.queued_entry(id).filter(|q| q.replace).map(|q| q.order)
    }

    fn queued_mut(&mut self, id: u64) -> Option<&mut LiveOrder> {
        let pos = *self.queued.get(&id)?;
        let at = usize::try_from(pos - self.queue_base).ok()?;
        self.queue.get_mut(at).and_then(Option::as_mut)
    }

    /// Drops a replace of `id` waiting in the queue, if there is one.
    fn drop_replace(&mut self, id: u64) {
        if self.queued_replace(id).is_some() {
            self.unqueue(id);
            if let Some(x) = self.open.get_mut(&id) {
                x.waiting = Waiting::Nothing;
            }
        }
    }

    /// Order `id`'s life at the exchange ended: it leaves, with a replace of it that waited.
    fn end(&mut self, id: u64) {
        self.drop_replace(id);
        self.open.remove(&id);
    }

    /// Removes the queue's entry for `id`; whether there was one.
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
        at(1, Event::Rejected { order: o(id), request, reason, value: 0.0 })
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
        assert_eq!((f.queued_len(), f.in_flight_len(), f.open_len()), (0, 1, 2), "order 2 still in flight");
        let lives = f.finish();
        assert!(lives.queued.is_empty() && lives.cancels.is_empty());
        let open: Vec<(u64, u16, OrderState)> =
            lives.open.iter().map(|l| (l.order.order_id, l.producer, l.life.state())).collect();
        assert_eq!(
            open,
            [(1, 0, OrderState::Working), (2, 1, OrderState::Sent)],
            "order 1 accepted: working"
        );
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
        let lives = f.finish();
        let q: Vec<(u64, f64, u64)> =
            lives.queued.iter().map(|l| (l.order.order_id, l.order.price, l.order.qty)).collect();
        assert_eq!(q, [(3, 10.0, 1), (4, 11.0, 7), (5, 10.0, 1)]);
        assert_eq!(lives.open.len(), 1);
    }
}
