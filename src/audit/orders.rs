//! The audit's model of the live orders as the journal tells them: the queue (in order: New
//! orders and replaces of open orders), the orders at the exchange with where each stands
//! ([`OrderLife`]), and the line of cancels waiting for a permit. Each operation is O(1)
//! (amortized), so a journal of millions of orders is checked in one pass.
//!
//! An entry that leaves the middle of the queue (or of the cancel line) is not searched for:
//! it goes stale (its ticket no longer matches) and is skipped when it reaches the front.

use std::collections::VecDeque;

use crate::idmap::IdMap;
use crate::model::{OrderLife, OrderRequest};

/// A New order, or a replace, waiting in the queue with the values it would be sent with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Queued {
    /// Its place in the queue (increasing in queue order).
    pub ticket: u64,
    /// Record that put it in the queue.
    pub since_seq: u64,
    pub symbol_id: i32,
    pub side: char,
    pub price: f64,
    pub qty: u64,
    /// Whether a modify has changed it.
    pub modified: bool,
}

impl Queued {
    /// Order `o` as its record `seq` puts it in the queue (its ticket given on enqueueing).
    pub(super) fn from_record(o: &OrderRequest, seq: u64) -> Queued {
        Queued {
            ticket: 0,
            since_seq: seq,
            symbol_id: o.symbol_id,
            side: o.side,
            price: o.price,
            qty: o.qty,
            modified: false,
        }
    }
}

/// An order at the exchange.
#[derive(Clone, Copy, Debug)]
pub(super) struct Open {
    /// Its `sent` record.
    pub since_seq: u64,
    /// Its send time, ns.
    pub sent_ns: i64,
    pub symbol_id: i32,
    pub side: char,
    /// Where it stands.
    pub life: OrderLife,
    /// When the pending cancel or replace was sent, ns.
    pub request_ns: i64,
    /// A cancel of it waits in the cancel line: its place there.
    pub cancel_ticket: Option<u64>,
    /// A replace of it waits in the queue.
    pub replace: Option<Queued>,
}

impl Open {
    /// Whether a cancel of it waits in the cancel line.
    pub(super) fn cancel_waits(&self) -> bool {
        self.cancel_ticket.is_some()
    }
}

/// A live order.
#[derive(Clone, Copy, Debug)]
pub(super) enum Live {
    Queued(Queued),
    Open(Open),
}

impl Live {
    pub(super) fn since_seq(&self) -> u64 {
        match self {
            Live::Queued(q) => q.since_seq,
            Live::Open(o) => o.since_seq,
        }
    }

    /// Whether the exchange has answered the order (it is working, filled in part, or has a
    /// cancel or replace pending): its life is the `lifecycle` rule's.
    pub(super) fn answered(&self) -> bool {
        matches!(self, Live::Open(o) if o.life.state() != crate::model::OrderState::Sent)
    }

    pub(super) fn state(&self) -> &'static str {
        match self {
            Live::Queued(_) => "queued",
            Live::Open(o) => o.life.state().name(),
        }
    }
}

/// What is at the front of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Front {
    /// A New order.
    New(u64),
    /// A replace of an open order.
    Replace(u64),
}

impl Front {
    pub(super) fn id(self) -> u64 {
        match self {
            Front::New(id) | Front::Replace(id) => id,
        }
    }
}

/// The live orders by id, the queue in order, the cancel line.
#[derive(Debug, Default)]
pub(super) struct Orders {
    live: IdMap<Live>,
    /// `(id, ticket)` in queue order; entries whose ticket no longer matches are stale.
    queue: VecDeque<(u64, u64)>,
    /// New orders and replaces in the queue.
    queued: usize,
    /// Replaces in the queue.
    replaces: usize,
    next_ticket: u64,
    /// `(id, ticket)` of the waiting cancels in line order; entries whose ticket no longer
    /// matches are stale (the cancel went out or was rejected, perhaps followed by another).
    cancels: VecDeque<(u64, u64)>,
    /// Cancels waiting.
    waiting_cancels: usize,
}

impl Orders {
    pub(super) fn get(&self, id: u64) -> Option<&Live> {
        self.live.get(&id)
    }

    /// Order `id` if it is at the exchange.
    pub(super) fn open(&self, id: u64) -> Option<&Open> {
        match self.live.get(&id) {
            Some(Live::Open(o)) => Some(o),
            Some(Live::Queued(_)) | None => None,
        }
    }

    /// Order `id`'s life, if it is at the exchange (the queue and the cancel line change only
    /// through the other methods).
    pub(super) fn life_mut(&mut self, id: u64) -> Option<&mut OrderLife> {
        match self.live.get_mut(&id) {
            Some(Live::Open(o)) => Some(&mut o.life),
            Some(Live::Queued(_)) | None => None,
        }
    }

    /// Notes when order `id`'s cancel or replace went out.
    pub(super) fn set_request_ns(&mut self, id: u64, t: i64) {
        if let Some(Live::Open(o)) = self.live.get_mut(&id) {
            o.request_ns = t;
        }
    }

    /// The New order `id` waiting in the queue, or the replace of it waiting there.
    pub(super) fn queued_mut(&mut self, id: u64) -> Option<&mut Queued> {
        match self.live.get_mut(&id) {
            Some(Live::Queued(q)) => Some(q),
            Some(Live::Open(o)) => o.replace.as_mut(),
            None => None,
        }
    }

    /// Whether New order `id` waits in the queue.
    pub(super) fn is_queued(&self, id: u64) -> bool {
        matches!(self.live.get(&id), Some(Live::Queued(_)))
    }

    /// New orders and replaces in the queue.
    pub(super) fn queued_len(&self) -> usize {
        self.queued
    }

    /// Orders at the exchange.
    pub(super) fn open_len(&self) -> usize {
        self.live.len() - self.queued_news()
    }

    /// Cancels waiting for a permit.
    pub(super) fn waiting_cancels(&self) -> usize {
        self.waiting_cancels
    }

    fn queued_news(&self) -> usize {
        self.queued - self.replaces
    }

    fn ticket(&mut self, id: u64, mut q: Queued) -> Queued {
        q.ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((id, q.ticket));
        self.queued += 1;
        q
    }

    /// Puts New order `id` at the back of the queue (ending whatever was live under that id).
    pub(super) fn enqueue(&mut self, id: u64, q: Queued) {
        self.end(id);
        let q = self.ticket(id, q);
        self.live.insert(id, Live::Queued(q));
    }

    /// Puts a replace of the open order `id` at the back of the queue (a replace already
    /// waiting is dropped).
    pub(super) fn enqueue_replace(&mut self, id: u64, q: Queued) {
        if !matches!(self.live.get(&id), Some(Live::Open(_))) {
            return;
        }
        self.drop_replace(id);
        let q = self.ticket(id, q);
        self.replaces += 1;
        if let Some(Live::Open(o)) = self.live.get_mut(&id) {
            o.replace = Some(q);
        }
    }

    /// The replace of `id` waiting in the queue leaves it; what it was.
    pub(super) fn drop_replace(&mut self, id: u64) -> Option<Queued> {
        let Some(Live::Open(o)) = self.live.get_mut(&id) else { return None };
        let q = o.replace.take()?;
        self.queued -= 1;
        self.replaces -= 1;
        Some(q)
    }

    /// Order `id` is at the exchange (ending whatever was live under that id).
    pub(super) fn send(&mut self, id: u64, o: Open) {
        self.end(id);
        self.live.insert(id, Live::Open(o));
    }

    /// The entry at the front of the queue (dropping stale entries on the way).
    pub(super) fn front(&mut self) -> Option<Front> {
        while let Some(&(id, ticket)) = self.queue.front() {
            match self.live.get(&id) {
                Some(Live::Queued(q)) if q.ticket == ticket => return Some(Front::New(id)),
                Some(Live::Open(Open { replace: Some(q), .. })) if q.ticket == ticket => {
                    return Some(Front::Replace(id));
                }
                Some(_) | None => {
                    self.queue.pop_front();
                }
            }
        }
        None
    }

    /// A cancel of the open order `id` waits in the line.
    pub(super) fn wait_cancel(&mut self, id: u64) {
        if let Some(Live::Open(o)) = self.live.get_mut(&id)
            && o.cancel_ticket.is_none()
        {
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            o.cancel_ticket = Some(ticket);
            self.waiting_cancels += 1;
            self.cancels.push_back((id, ticket));
        }
    }

    /// The order whose cancel is first in line (dropping stale entries on the way).
    pub(super) fn cancel_front(&mut self) -> Option<u64> {
        while let Some(&(id, ticket)) = self.cancels.front() {
            if matches!(self.live.get(&id), Some(Live::Open(o)) if o.cancel_ticket == Some(ticket)) {
                return Some(id);
            }
            self.cancels.pop_front();
        }
        None
    }

    /// The cancel of `id` no longer waits (it went out, or was rejected); whether it waited.
    pub(super) fn unwait_cancel(&mut self, id: u64) -> bool {
        let Some(Live::Open(o)) = self.live.get_mut(&id) else { return false };
        let waited = o.cancel_ticket.take().is_some();
        if waited {
            self.waiting_cancels -= 1;
        }
        waited
    }

    /// Ends `id` whatever its state (a replace or cancel of it waiting goes with it); what it
    /// was.
    pub(super) fn end(&mut self, id: u64) -> Option<Live> {
        self.drop_replace(id);
        self.unwait_cancel(id);
        let old = self.live.remove(&id);
        if matches!(old, Some(Live::Queued(_))) {
            self.queued -= 1;
        }
        old
    }

    /// Empties the queue: ends every queued New order and drops every queued replace (its
    /// order stays open); the first in queue order and how many there were.
    pub(super) fn drop_queue(&mut self) -> Option<(u64, usize)> {
        let first = self.front()?;
        let n = self.queued;
        while let Some(front) = self.front() {
            match front {
                Front::New(id) => {
                    self.end(id);
                }
                Front::Replace(id) => {
                    self.drop_replace(id);
                }
            }
        }
        Some((first.id(), n))
    }

    /// Empties the cancel line; the first in line and how many there were.
    pub(super) fn drop_cancels(&mut self) -> Option<(u64, usize)> {
        let first = self.cancel_front()?;
        let n = self.waiting_cancels;
        while let Some(id) = self.cancel_front() {
            self.unwait_cancel(id);
        }
        Some((first, n))
    }

    /// Among the live orders `which` picks, the one recorded earliest (id, order) and how many
    /// there are, for the end-of-journal report (a walk over every live order, once).
    pub(super) fn oldest(&self, which: impl Fn(&Live) -> bool) -> Option<(u64, Live, usize)> {
        let mut n = 0;
        let mut oldest: Option<(u64, Live)> = None;
        for (id, l) in self.live.iter().filter(|(_, l)| which(l)) {
            n += 1;
            if oldest.is_none_or(|(_, o)| l.since_seq() < o.since_seq()) {
                oldest = Some((*id, *l));
            }
        }
        oldest.map(|(id, l)| (id, l, n))
    }
}
