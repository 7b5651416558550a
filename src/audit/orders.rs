//! The audit's model of the live orders: the queue (in order) and the orders in flight, as the
//! journal tells them. Each operation is O(1) (amortized), so a journal of millions of orders is
//! checked in one pass.
//!
//! A cancelled or rejected order leaves the middle of the queue; rather than search for it, its
//! queue entry goes stale (its ticket no longer matches a queued order) and is skipped when it
//! reaches the front.

use std::collections::VecDeque;

use crate::idmap::IdMap;

/// An order waiting in the queue, with the values it would be sent with.
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

/// An order sent and not answered yet.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent {
    /// Its `sent` record.
    pub since_seq: u64,
    /// Its send time, ns.
    pub sent_ns: i64,
}

/// A live order.
#[derive(Clone, Copy, Debug)]
pub(super) enum Live {
    Queued(Queued),
    InFlight(Sent),
}

impl Live {
    pub(super) fn since_seq(&self) -> u64 {
        match self {
            Live::Queued(q) => q.since_seq,
            Live::InFlight(f) => f.since_seq,
        }
    }

    pub(super) fn state(&self) -> &'static str {
        match self {
            Live::Queued(_) => "queued",
            Live::InFlight(_) => "in flight",
        }
    }
}

/// The live orders by id, and the queue in order.
#[derive(Debug, Default)]
pub(super) struct Orders {
    live: IdMap<Live>,
    /// `(id, ticket)` in queue order; entries whose ticket no longer matches are stale.
    queue: VecDeque<(u64, u64)>,
    queued: usize,
    next_ticket: u64,
}

impl Orders {
    pub(super) fn get(&self, id: u64) -> Option<&Live> {
        self.live.get(&id)
    }

    pub(super) fn queued_mut(&mut self, id: u64) -> Option<&mut Queued> {
        match self.live.get_mut(&id) {
            Some(Live::Queued(q)) => Some(q),
            Some(Live::InFlight(_)) | None => None,
        }
    }

    pub(super) fn is_queued(&self, id: u64) -> bool {
        matches!(self.live.get(&id), Some(Live::Queued(_)))
    }

    /// Orders in the queue.
    pub(super) fn queued_len(&self) -> usize {
        self.queued
    }

    /// Orders in flight.
    pub(super) fn in_flight_len(&self) -> usize {
        self.live.len() - self.queued
    }

    /// Puts `id` at the back of the queue (replacing whatever was live under that id).
    pub(super) fn enqueue(&mut self, id: u64, mut q: Queued) {
        q.ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((id, q.ticket));
        self.put(id, Live::Queued(q));
    }

    /// Marks `id` in flight (replacing whatever was live under that id).
    pub(super) fn fly(&mut self, id: u64, f: Sent) {
        self.put(id, Live::InFlight(f));
    }

    fn put(&mut self, id: u64, live: Live) {
        let new_queued = matches!(live, Live::Queued(_));
        let old_queued = matches!(self.live.insert(id, live), Some(Live::Queued(_)));
        self.queued = self.queued + usize::from(new_queued) - usize::from(old_queued);
    }

    /// The order at the front of the queue (dropping stale entries on the way).
    pub(super) fn front(&mut self) -> Option<u64> {
        while let Some(&(id, ticket)) = self.queue.front() {
            match self.live.get(&id) {
                Some(Live::Queued(q)) if q.ticket == ticket => return Some(id),
                Some(Live::Queued(_) | Live::InFlight(_)) | None => {
                    self.queue.pop_front();
                }
            }
        }
        None
    }

    /// Ends `id` whatever its state; what it was.
    pub(super) fn end(&mut self, id: u64) -> Option<Live> {
        let old = self.live.remove(&id);
        if matches!(old, Some(Live::Queued(_))) {
            self.queued -= 1;
        }
        old
    }

    /// Ends every queued order; the first in queue order and how many there were.
    pub(super) fn drop_queue(&mut self) -> Option<(u64, usize)> {
        let first = self.front()?;
        let n = self.queued;
        while let Some(id) = self.front() {
            self.end(id);
        }
        Some((first, n))
    }

    /// The live order recorded earliest: (id, order), for the end-of-journal report.
    pub(super) fn oldest(&self) -> Option<(u64, Live)> {
        self.live.iter().min_by_key(|(_, l)| l.since_seq()).map(|(id, l)| (*id, *l))
    }

    /// Live orders.
    pub(super) fn len(&self) -> usize {
        self.live.len()
    }
}
